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
    `provider` is the prefix of every reason, as the metrics, dead letters and health signals show it."""
    try:
        response = request()
    except httpx.TimeoutException as error:
        raise RetryableError(f"{provider} send timed out", reason=f"{provider}_timeout") from error
    except httpx.TransportError as error:
        raise RetryableError(f"{provider} unreachable: {type(error).__name__}",
                             reason=f"{provider}_unreachable") from error
    status = response.status_code
    if retryable_status(status):
        raise RetryableError(f"{provider} answered {status}", reason=f"{provider}_{status}")
    if status >= 400:
        raise PermanentError(f"{provider} refused with {status}: {describe(response)}",
                             reason=f"{provider}_{status}", status=status)
    if not response.is_success:
        check = f" (check {setting})" if setting else ""
        raise PermanentError(f"{provider} answered {status}, a redirect: nothing was sent{check}",
                             reason=f"{provider}_{status}", status=status)
    return response
