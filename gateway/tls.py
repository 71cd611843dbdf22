"""One TLS context per process for every outbound HTTP client (the case store, the aggregator, the Graph API, the
gateway's status lookups). Building a context loads the whole CA bundle, about 50 ms of CPU: each new client paid it,
and with every worker context and gateway app building its own, it added up to seconds at start-up."""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's default context (certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR from the environment as it is at
    the first call), built once; an SSLContext may be shared by clients and threads, and by a forked child.

    It is not left untouched, though: httpcore sets its ALPN protocols at every new connection (HTTP/1.1 only, or
    HTTP/1.1 and h2 for a client made with http2=True). Every client here speaks HTTP/1.1, so they all set the same;
    a client with http2=True, or a protocol other than HTTP (SMTP, IMAP), needs a context of its own."""
    return httpx.create_ssl_context()
