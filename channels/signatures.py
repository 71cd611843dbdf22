"""The HMAC signature helpers every channel shares: computing one, comparing one in constant time, checking a header.

Apart from `channels.base` (which re-exports them) because the reply senders need them too, and the workers that load
the senders never load a webhook's HTTP handler or its base (`tests/test_layering.py`): the aggregator's sender signs
the dlr-url it hands out (`channels.sms_aggregator_send.dlr_token`), its adapter checks that token.
"""

from __future__ import annotations

import hashlib
import hmac

from gateway.errors import AuthenticationFailed

__all__ = ["constant_time_equals", "hmac_sha256_hex", "verify_hmac_sha256"]


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    """HMAC-SHA256 of `message` keyed with `secret`, as lower-case hex."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def constant_time_equals(expected: str | bytes, given: str | bytes) -> bool:
    """Whether `given` is `expected`, in constant time. A string is compared as UTF-8 with any surrogate in it kept
    as bytes: aiohttp hands a header's bytes that are no UTF-8 over as lone surrogates (`\\xff` as `\\udcff`), which
    a strict encode raised on, and an unsigned request with such a signature header was a 500 `internal_error`,
    counted against the channel as a refused report, instead of a 403."""
    if isinstance(expected, str):
        expected = expected.encode("utf-8", "surrogatepass")
    if isinstance(given, str):
        given = given.encode("utf-8", "surrogatepass")
    return hmac.compare_digest(expected, given)


def verify_hmac_sha256(secret: str, body: bytes, header_value: str | None, *, prefix: str = "sha256=") -> None:
    """Check a `sha256=<hex>` HMAC header over the raw body; raises AuthenticationFailed."""
    if not header_value:
        raise AuthenticationFailed("signature header missing", reason="signature_missing")
    if not header_value.startswith(prefix):
        raise AuthenticationFailed("signature header malformed", reason="signature_malformed")
    if not constant_time_equals(hmac_sha256_hex(secret, body), header_value[len(prefix):].strip().lower()):
        raise AuthenticationFailed("signature does not match", reason="signature_invalid")
