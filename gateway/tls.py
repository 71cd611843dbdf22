"""One TLS context per process for every outbound HTTP client (the case store, the aggregator, the Graph API, the
gateway's status lookups). Building a context loads the whole CA bundle, about 50 ms of CPU: each new client paid it,
and with every worker context and gateway app building its own, it added up to seconds at start-up."""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's default context (certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR from the environment), built once;
    an SSLContext may be shared by clients and threads."""
    return httpx.create_ssl_context()
