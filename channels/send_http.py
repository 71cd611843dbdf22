"""What every reply sender's HTTP call shares: one request to the provider, its failure classified once.

The reply worker (`workers.reply`) acts on the kind of a failure, never on its text: `RetryableError` is tried again
with backoff, `PermanentError` goes to the dead-letter registry. Anything else a sender lets out (an
`httpx.ConnectTimeout`) is a job failing for a reason nobody expected (`workers.failures`), not a provider that is
down. So each sender (`channels/<provider>_send.py`, registered in `channels.reply_senders`) makes its request through
`send_request` instead of copying the classification, and gets the same rule as the case store's client:
`gateway.errors.retryable_status`.

Not an HTTP handler: the reply worker loads this module (tests/test_layering.py).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from gateway.errors import PermanentError, RetryableError, retryable_status
from gateway.health.signals import endpoint, poll_failure, status_failure, transport_failure


def _where(request: httpx.Request | None) -> str:
    """The host (and port the URL gives) a request went to, as a failing poll's reason names one
    (`gateway.health.signals.endpoint`): never the URL's user, password, path or query (a sendsms URL's password,
    the citizen's number and text)."""
    return endpoint(str(request.url)) if request is not None else "?"


def _request_of(error: httpx.HTTPError) -> httpx.Request | None:
    try:
        return error.request
    except RuntimeError:  # raised before a request was made
        return None


def send_request(provider: str, request: Callable[[], httpx.Response], *,
                 describe: Callable[[httpx.Response], str] = lambda response: str(response.status_code),
                 setting: str = "") -> httpx.Response:
    """The provider's 2xx answer to `request()`; else the failure as the reply worker acts on it:
    - a timeout (`<provider>_timeout`), no connection (`<provider>_unreachable`), and 5xx, 429 or 408
      (`<provider>_<status>`): RetryableError;
    - any other answer: PermanentError (`<provider>_<status>`), with `describe(response)` for a refusal (4xx): the
      provider's words, which the sender strips of secrets and of the citizen's number and text first. A redirect is
      not followed (its target would get the request's credentials and the citizen's number and text): `setting`
      names where the provider's address is configured, as the likely mistake.
    `provider` is the prefix of every reason, as the metrics, dead letters and health signals show it. Each failure
    also says where it failed and its kind (`said`, `failure`: `sms.example.id answered 401 Unauthorized`, `token`;
    `ConnectTimeout talking to sms.example.id:8443`, `timeout`), which the health views show and step by."""
    try:
        response = request()
    except httpx.TimeoutException as error:
        failure, name = transport_failure(error)
        raise RetryableError(f"{provider} send timed out", reason=f"{provider}_timeout", failure=failure,
                             said=poll_failure(_where(_request_of(error)), name, answered=False)) from error
    except httpx.TransportError as error:
        failure, name = transport_failure(error)
        raise RetryableError(f"{provider} unreachable: {type(error).__name__}", reason=f"{provider}_unreachable",
                             failure=failure,
                             said=poll_failure(_where(_request_of(error)), name, answered=False)) from error
    status = response.status_code
    # The standard phrase of its status, never the provider's own status line: that is the server's text (an
    # aggregator's "400 Rejected msisdn ... text '...' pass=..."), which quoted the number, words and password.
    said = poll_failure(_where(response.request), f"{status} {httpx.codes.get_reason_phrase(status)}".strip(),
                        answered=True)
    if retryable_status(status):
        raise RetryableError(f"{provider} answered {status}", reason=f"{provider}_{status}", said=said,
                             failure=status_failure(status))
    if status >= 400:
        raise PermanentError(f"{provider} refused with {status}: {describe(response)}",
                             reason=f"{provider}_{status}", status=status, said=said, failure=status_failure(status))
    if not response.is_success:
        check = f" (check {setting})" if setting else ""
        raise PermanentError(f"{provider} answered {status}, a redirect: nothing was sent{check}",
                             reason=f"{provider}_{status}", status=status, said=said, failure=status_failure(status))
    return response
