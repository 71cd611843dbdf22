"""The few error kinds every channel and worker shares, each with one meaning.

They are mapped once: to HTTP statuses in `channels.base`, to SMTP replies in the e-mail channel, and to
retry or dead-letter decisions in `workers`. Code acts on the kind, never on the message text.
"""

from __future__ import annotations

from collections.abc import Iterator

# The reason a webhook or a mail refused for an error none of these kinds names (a bug) is counted and logged under.
INTERNAL_ERROR = "internal_error"


class GatewayError(Exception):
    """Base class. `reason` is a short machine-readable code that goes into logs and metrics.

    A downstream's failure may also say where it failed and how, as the health views name it (`said`: "api.x.com
    answered 401 Unauthorized", "ReadTimeout talking to smtp.example.go.id:587", written by
    `gateway.health.signals.poll_failure`) and its kind (`failure`: one of `gateway.health.signals.REPLY_FAILURES`),
    which the views' next step follows. Neither ever quotes an answer's words, a token or a citizen."""

    reason: str = "error"
    said: str | None = None
    failure: str | None = None

    def __init__(self, detail: str = "", *, reason: str | None = None, said: str | None = None,
                 failure: str | None = None) -> None:
        super().__init__(detail or self.reason)
        self.detail = detail
        if reason is not None:
            self.reason = reason
        self.said = said
        self.failure = failure


class RejectedInput(GatewayError):
    """The input is malformed or unacceptable; retrying it will not help (HTTP 400, SMTP 550/554)."""

    reason = "rejected"


class TooLarge(RejectedInput):
    """The input exceeds a configured size limit (HTTP 413, SMTP 552)."""

    reason = "too_large"


class BodyTimeout(RejectedInput):
    """A request's body did not all arrive within the configured time: a stalled or trickling client (HTTP 408)."""

    reason = "body_timeout"


class AuthenticationFailed(GatewayError):
    """A signature, token or source address did not check out (HTTP 403). Nothing is queued."""

    reason = "authentication_failed"


class NotDurable(GatewayError):
    """The report could not be made durable; the provider must retry (HTTP 503, SMTP 451)."""

    reason = "not_durable"


class Stopping(NotDurable):
    """The process is stopping before the request's body arrived: nothing was read, the sender retries (HTTP 503).
    No refused report: nothing was there to refuse."""

    reason = "shutting_down"


def retryable_status(status: int) -> bool:
    """Whether an HTTP answer is a failure that may pass: 5xx, 429, and 408 (a request timeout: a proxy before the
    server gave up reading it is a timeout). One rule for every downstream service (the case store, the aggregator,
    a provider's CDN): a 408 taken as a refusal dead-lettered every report of the request at its first try."""
    return status >= 500 or status in (408, 429)


class RetryableError(GatewayError):
    """A downstream failure that may pass: 5xx, 429, timeouts, connection errors. Retried with backoff."""

    reason = "retryable"

    def __init__(self, detail: str = "", *, reason: str | None = None, retry_after: float | None = None,
                 said: str | None = None, failure: str | None = None) -> None:
        super().__init__(detail, reason=reason, said=said, failure=failure)
        self.retry_after = retry_after


class PermanentError(GatewayError):
    """A downstream refusal that retrying will not change (other 4xx). Goes to the dead-letter registry.

    `status` is the HTTP status the downstream answered, when there was one."""

    reason = "permanent"

    def __init__(self, detail: str = "", *, reason: str | None = None, status: int | None = None,
                 said: str | None = None, failure: str | None = None) -> None:
        super().__init__(detail, reason=reason, said=said, failure=failure)
        self.status = status


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, then each exception linked to it as a cause or a context (and theirs), once each: what a traceback
    shows of it (a ConnectError wrapping the certificate refused, a parser's error under the command's)."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(link for link in (current.__cause__, current.__context__) if link is not None)
