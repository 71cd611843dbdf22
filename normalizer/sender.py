"""Senders in normal form: E.164 for phone numbers, lowercased addresses for mail."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from gateway.errors import RejectedInput
from normalizer.envelope import Sender, SenderKind


@lru_cache(maxsize=16384)  # a pure function of its arguments; a flood repeats senders (retries, several messages)
def normalize_msisdn(raw: str, default_region: str = "ID") -> str:
    """`0812-3456-789`, `62812...`, `+62 812 ...` -> `+628123456789`; RejectedInput when it is no number."""
    candidate = raw.strip()
    digits = "".join(ch for ch in candidate if ch.isdigit())
    # Aggregators often drop the "+": a bare country code is still international.
    if not candidate.startswith(("+", "0")) and digits.startswith("62") and len(digits) >= 10:
        candidate = "+" + digits
    try:
        number = phonenumbers.parse(candidate, default_region)
    except phonenumbers.NumberParseException as error:
        raise RejectedInput("sender is not a phone number", reason="bad_sender") from error
    if not phonenumbers.is_possible_number(number):
        raise RejectedInput("sender is not a possible phone number", reason="bad_sender")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_sender(kind: SenderKind, raw: str, display_name: str | None, default_region: str = "ID") -> Sender:
    if kind is SenderKind.MSISDN:
        identity = normalize_msisdn(raw, default_region)
    elif kind is SenderKind.EMAIL:
        identity = raw.strip().lower()
        if "@" not in identity:
            raise RejectedInput("sender is not an e-mail address", reason="bad_sender")
    else:
        identity = raw.strip()
        if not identity:
            raise RejectedInput("sender id is empty", reason="bad_sender")
    return Sender(kind=kind, id=identity, display_name=(display_name or None))
