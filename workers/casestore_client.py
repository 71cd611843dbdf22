"""The case-store HTTP client, with failures classified once.

5xx, 429, timeouts (408 too) and connection errors are RetryableError; any other 4xx is PermanentError (dead letter,
with the reason the case store gave). The Tracking ID is the idempotency key: 201 created, 200 already had it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from gateway import metrics
from gateway.errors import PermanentError, RetryableError, retryable_status
from gateway.logs import get_logger
from gateway.queries import says_no_such_report
from gateway.settings import Settings
from gateway.tls import tls_context

log = get_logger()

ACCEPTED_STATUSES = frozenset({200, 201})
# The error of a report a batch answer left out (counted as a 502, retried).
LEFT_OUT = "the case store's batch answer left this report out"
# A body that did not parse as JSON (`_json_body`), told apart from one that parsed to JSON null.
_NOT_JSON = object()
# How a case store without the batch extension (the contract's core) answers POST /v1/reports/batch: no such path
# (404), a path it serves other methods on, /v1/reports/{tracking_id} (405, as most routers answer), or 501. Each
# report then goes on its own; a 405 refused every batch, each report dead-lettered, and a 501 was retried as an outage.
NO_BATCH = frozenset({404, 405, 501})
# How long a worker posts one by one after such an answer before it tries the batch endpoint again: a case store
# upgraded, or a 404 of a deploy in progress, had every worker post one by one until it restarted.
BATCH_PROBE_SECONDS = 600.0
# A refusal of the request's credentials, never of a report in it: a batch refused so is not split to find one.
CREDENTIAL_REFUSALS = frozenset({401, 407})
# The answers that may refuse the gateway's credentials rather than a report (a rotated or revoked token): 401, a
# proxy's 407, and the 403 many APIs answer a token they no longer take (also a firewall's for one report's words,
# which `CaseStoreClient.refused_credentials` tells apart).
CREDENTIAL_STATUSES = frozenset({401, 403, 407})
# The failures of a whole request that one report in it may cause, by reason, with their status: an unhandled error
# (500), or a proxy's 502 Bad Gateway when the case-store process behind it (nginx's upstream) died on that report's
# content, the case store answering reads and other reports all the while. A job whose batch is answered so
# `workers.forward.ONE_BY_ONE_AFTER` times goes one report a request while the case store answers a read
# (`workers.forward.one_by_one_after_500s`). Not a 503 (shedding load, maintenance) nor a 504 (a timeout:
# `workers.forward.split_timing_out`): the case store's as a whole.
ONE_REPORT_FAILURES = {"casestore_500": 500, "casestore_502": 502}
# What `CaseStoreClient.answers` asks for: a Tracking ID of the contract's shape whose check digit fails (10000004 is
# the valid one), so no gateway ever mints it and the case store can only answer 404.
PROBE_TRACKING_ID = "10000000"


@dataclass(frozen=True, slots=True)
class SubmitResult:
    tracking_id: str
    status: int
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED_STATUSES

    @property
    def retryable(self) -> bool:
        return retryable_status(self.status)


class SubmitInterrupted(RetryableError):
    """A retryable failure part-way through reports posted one request after another (no batch extension, a batch
    split under the case store's size limit): `answered` holds the results of the requests answered before it. The
    forward keeps those (forwarded, dead-lettered) and retries the rest: posting them all again at every try, a case
    store that throttles saw the same first reports each time and never the others, and when the retries ran out the
    reports it had taken were dead-lettered as failed."""

    def __init__(self, error: RetryableError, answered: list[SubmitResult]) -> None:
        super().__init__(error.detail, reason=error.reason, retry_after=error.retry_after)
        self.answered = answered


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the case store asks us to wait (Retry-After: seconds or an HTTP date); None when absent or unreadable."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _describe(response: httpx.Response) -> str:
    if 300 <= response.status_code < 400:
        # A redirect is not followed (a report posted twice, or to a host the URL never named): say where it pointed,
        # as the operator needs it. Dead-lettered with an empty detail, the cause was a guess.
        location = response.headers.get("location") or "nowhere (no Location)"
        return (f"redirected to {location[:150]}: set LAPOR_CASESTORE_URL to the case store's own URL (redirects are "
                "not followed)")
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        parts = [str(body[key]) for key in ("error", "detail") if body.get(key)]
        return (": ".join(parts) or str(body))[:200]
    return str(body)[:200]


def _reason(item: dict[str, Any]) -> str | None:
    """A batch result's refusal as a single answer's reads (`error: detail`); None for an accepted one."""
    parts = [str(item[key]) for key in ("error", "detail") if item.get(key)]
    return ": ".join(parts) or None


def _http_status(value: Any) -> int:
    """A batch result's status: a JSON integer of an HTTP status, or its three digits as a string (a case store
    written in a language whose JSON has them so; the contract says integer, and refused, each stored batch was
    retried for two hours and dead-lettered); TypeError for anything else (`true`, `0`, `"ok"`, `201.0`)."""
    if type(value) is str and len(value) == 3 and value.isascii() and value.isdigit():
        value = int(value)
    if type(value) is not int or not 200 <= value <= 599:
        raise TypeError(f"a result's status is not an HTTP status: {type(value).__name__}")
    return value


def _batch_statuses(response: httpx.Response) -> dict[str, tuple[int, str | None]]:
    """Tracking ID -> (status, error) from a batch answer; a report it leaves out counts as 502 (retried).

    A 200 whose body is not the contract's (an HTML page from a proxy, a broken deploy) is retryable: raised as
    such, the job's retries run out into the dead-letter registry instead of RQ's failed registry. So is one whose
    result's status is no HTTP status (`_http_status`: `true`, `0`, `"ok"`), or that answers one report with two
    statuses, but for two that each say it is stored: read as they came, a `true` or a `0` dead-lettered its report
    at the first try as a refusal (`casestore_1`), and of a report answered 422 then 201 the last was taken, the
    refused report marked forwarded (and of 422 and 503, whichever came first decided). A report answered 201 then
    200 (twice in a batch: stored, then found stored) is stored."""
    try:
        results = response.json().get("results")
        statuses: dict[str, tuple[int, str | None]] = {}
        for item in results:
            status = _http_status(item["status"])
            if item["tracking_id"] is None:  # a refused report that named none: none of ours (they all name one)
                continue
            answer = (status, _reason(item))
            earlier = statuses.setdefault(str(item["tracking_id"]), answer)[0]
            if earlier != status and not (earlier in ACCEPTED_STATUSES and status in ACCEPTED_STATUSES):
                raise ValueError("one report answered with two statuses")  # 201 then 200: stored, then found stored
    except (ValueError, AttributeError, TypeError, KeyError) as error:
        raise RetryableError(f"batch answer is not one result per report: {_describe(response)}",
                             reason="casestore_bad_answer") from error
    return {tracking_id: (status, None if error is None else str(error)[:200])
            for tracking_id, (status, error) in statuses.items()}


def _json_body(response: httpx.Response) -> Any:
    """The answer's JSON, or `_NOT_JSON` when it does not parse."""
    try:
        return response.json()
    except ValueError:
        return _NOT_JSON


def _body_kind(body: Any) -> str:
    """What a `_json_body` is, for a log line: its kind only, as a page or a string may quote a report's words."""
    return "not_json" if body is _NOT_JSON else type(body).__name__.replace("NoneType", "null")


def _check_stored(response: httpx.Response, tracking_id: str) -> None:
    """A 201 or 200 to one report's POST is the contract's answer: a JSON object naming this report. Anything else (a
    load balancer's maintenance page served with 200, a captive portal, a cache's answer to another report, a proxy's
    or an API gateway's own `{"status": "ok"}`) is the case store not answering properly, retried as an outage is:
    taken as stored, the report was marked forwarded, and it reached no case store, no queue and no dead letter. An
    object naming no report was taken so too."""
    body = _json_body(response)
    if isinstance(body, dict) and "tracking_id" in body and str(body["tracking_id"]) == tracking_id:
        return
    kind = ("another_report" if "tracking_id" in body else "no_report") if isinstance(body, dict) else _body_kind(body)
    log.warning("casestore.bad_answer", path="/v1/reports", status=response.status_code, body=kind,
                tracking_id=tracking_id)
    raise RetryableError(f"report answer is not the contract's ({kind})", reason="casestore_bad_answer")


def _record_latency(seconds: float) -> None:
    """A request the case store answered, or one it let run into the timeout."""
    metrics.CASESTORE_SECONDS.observe(seconds)
    metrics.CASESTORE_LATENCY.set(seconds)


class CaseStoreClient:
    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._batch = settings.casestore.batch
        self._clock = clock
        # What the case store answered of the `submit` in progress (or the last one), as the answers come: a caller
        # interrupted in the middle of it (RQ's job timeout) still knows which reports it took or refused.
        self.answered: list[SubmitResult] = []
        self._no_batch_until = float("-inf")
        self._client = httpx.Client(
            base_url=settings.casestore_url,
            headers={"Authorization": f"Bearer {settings.casestore.token}", "User-Agent": "lapor-gateway"},
            timeout=settings.casestore.timeout_seconds,
            transport=transport,
            verify=tls_context(),
        )

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, *, returned: frozenset[int] = frozenset(),
                 **kwargs: Any) -> httpx.Response:
        """The answer; RetryableError for a timeout, no connection, 429 or 5xx, unless its status is in `returned`."""
        started = time.perf_counter()
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as error:
            _record_latency(time.perf_counter() - started)  # it took at least that long: a slow case store
            raise RetryableError(f"case store timed out on {path}", reason="casestore_timeout") from error
        except httpx.TransportError as error:
            # No latency: a refused connection fails in a millisecond, and the status page showed "case-store
            # latency: 1 ms" all through an outage.
            raise RetryableError(f"case store unreachable: {type(error).__name__}",
                                 reason="casestore_unreachable") from error
        _record_latency(time.perf_counter() - started)
        if retryable_status(response.status_code) and response.status_code not in returned:
            raise RetryableError(f"case store answered {response.status_code}",
                                 reason=f"casestore_{response.status_code}", retry_after=_retry_after(response))
        return response

    def submit(self, reports: Sequence[dict[str, Any]], *, one_by_one: bool = False) -> list[SubmitResult]:
        """Post reports; one result per report. Raises RetryableError when the whole call must be retried.
        `one_by_one`: one request per report, whatever the batch setting (a batch the case store keeps failing whole
        for one report in it, `workers.forward.BATCH_500S_META`)."""
        self.answered = []
        if not one_by_one and self._batch and len(reports) > 1 and self._clock() >= self._no_batch_until:
            return self._submit_batch(reports)
        return self._submit_each(reports, past_500s=one_by_one)

    def _answer(self, results: list[SubmitResult]) -> list[SubmitResult]:
        """Note the case store's answers as they come (`answered`)."""
        self.answered.extend(results)
        return results

    def _in_turn(self, parts: Iterable[Sequence[dict[str, Any]]],
                 post: Callable[[Sequence[dict[str, Any]]], list[SubmitResult]], *,
                 past_500s: bool = False) -> list[SubmitResult]:
        """`post` each part in turn; a retryable failure is raised as SubmitInterrupted with what came before. A part
        refused whole (PermanentError: a firewall's 403 for one report's words) is a refusal of its own reports, under
        its status: raised, it dead-lettered the reports other parts delivered, and the parts after it never went.
        `past_500s` (a job gone one by one for a batch failing whole, `workers.forward.ONE_BY_ONE_META`): a 500 (or a
        proxy's 502, `ONE_REPORT_FAILURES`) once the case store took a report of this call is that part's answer,
        retried alone, and the next part goes; stopped there, the reports after it went untried, and on the job's last
        try into the dead letters, blamed for its 500. One before any report was taken still ends the call: a case
        store failing every write costs one post, and a 502 there is an outage's, as it always was; so is either after
        one when the case store answers no read then (`answers`)."""
        results: list[SubmitResult] = []
        for part in parts:
            try:
                results.extend(post(part))
            except PermanentError as error:
                status = error.status or 400
                results.extend(self._answer([SubmitResult(report["tracking_id"], status, error.detail)
                                             for report in part]))
            except RetryableError as error:
                # That report's only while a read is answered: the process behind a proxy dying mid-call (a deploy,
                # a crash: 502), or the database going away (500 to reads too), made every report after it "that
                # report's", the outage unnoted and, on the job's last try, each dead-lettered as the one at fault.
                if past_500s and error.reason in ONE_REPORT_FAILURES and not isinstance(error, SubmitInterrupted) \
                        and any(result.accepted for result in results) and self.answers():
                    status = ONE_REPORT_FAILURES[error.reason]
                    results.extend(self._answer([SubmitResult(report["tracking_id"], status, error.detail)
                                                 for report in part]))
                    continue
                earlier = error.answered if isinstance(error, SubmitInterrupted) else []
                raise SubmitInterrupted(error, results + earlier) from error
        return results

    def _submit_each(self, reports: Sequence[dict[str, Any]], *, past_500s: bool = False) -> list[SubmitResult]:
        return self._in_turn(([report] for report in reports), lambda part: [self._submit_one(part[0])],
                             past_500s=past_500s)

    def _submit_one(self, report: dict[str, Any]) -> SubmitResult:
        response = self._request("POST", "/v1/reports", json=report)
        if response.status_code in ACCEPTED_STATUSES:
            _check_stored(response, report["tracking_id"])
        error = None if response.status_code in ACCEPTED_STATUSES else _describe(response)
        return self._answer([SubmitResult(report["tracking_id"], response.status_code, error)])[0]

    def _submit_batch(self, reports: Sequence[dict[str, Any]]) -> list[SubmitResult]:
        response = self._request("POST", "/v1/reports/batch", json={"reports": list(reports)}, returned=NO_BATCH)
        if response.status_code in NO_BATCH:  # a case store without the batch extension: fall back, for a while
            self._no_batch_until = self._clock() + BATCH_PROBE_SECONDS
            log.warning("casestore.batch_unsupported", status=response.status_code,
                        one_by_one_seconds=BATCH_PROBE_SECONDS)
            return self._submit_each(reports)
        if response.status_code == 413:  # the batch is too large, not its reports: halves, down to one each
            return self._submit_halves(reports)
        success = response.status_code // 100 == 2
        if not success and len(reports) > 1 and response.status_code not in CREDENTIAL_REFUSALS:
            # Refused whole (a firewall's 403 for one report's words, a proxy's 400): halves, down to one each, so
            # the refusal costs the report it is about, not the other reports of the batch with it.
            log.warning("casestore.batch_refused_whole", status=response.status_code, reports=len(reports))
            return self._submit_halves(reports)
        if not success:
            raise PermanentError(f"batch refused with {response.status_code}: {_describe(response)}",
                                 reason=f"casestore_{response.status_code}", status=response.status_code)
        # Any 2xx is the batch's answer, read per report: a case store answering 201 (as for one report) or 207
        # (Multi-Status) had its batch split down to batches of one, each answer's status taken for its report's: a
        # report refused inside a 201 was marked forwarded (in no case store, queue or dead letter), and the reports
        # a 207 stored were dead-lettered. A 2xx without the contract's results is retried (`_batch_statuses`).
        statuses = _batch_statuses(response)
        return self._answer([SubmitResult(report["tracking_id"], *statuses.get(report["tracking_id"], (502, LEFT_OUT)))
                             for report in reports])

    def _submit_halves(self, reports: Sequence[dict[str, Any]]) -> list[SubmitResult]:
        if len(reports) == 1:
            return [self._submit_one(reports[0])]
        middle = len(reports) // 2
        return self._in_turn((reports[:middle], reports[middle:]), self._submit_batch)

    def get_report(self, tracking_id: str) -> dict[str, Any] | None:
        """The stored report; None only for the case store's 404, the contract's Problem (`says_no_such_report`). A
        200 whose body is not a JSON object (a proxy's page, a truncated body, a broken deploy answering `null`), or a
        404 that is not the case store's (a proxy's page), is the case store not answering properly, retried as an
        outage is: read as "no such report", the citizen was told their report does not exist."""
        response = self._request("GET", f"/v1/reports/{tracking_id}")
        if response.status_code == 404:
            if says_no_such_report(response):
                return None
            raise RetryableError("a 404 that is not the case store's", reason="casestore_bad_answer")
        if response.status_code != 200:
            raise PermanentError(
                f"case store answered {response.status_code}", reason=f"casestore_{response.status_code}"
            )
        report = _json_body(response)
        if not isinstance(report, dict):
            kind = _body_kind(report)
            log.warning("casestore.bad_answer", path="/v1/reports/{tracking_id}", status=response.status_code,
                        body=kind)
            raise RetryableError(f"report answer is not a JSON object ({kind})", reason="casestore_bad_answer")
        return report

    def read_answer(self) -> int | None:
        """How the case store answers a read of a report it cannot have (GET, authenticated): the status when it
        answers as its contract says (its own 404, `says_no_such_report`; 200 would do) or refuses our credentials
        (`CREDENTIAL_STATUSES`: the read carries no report, so a 403 to it is the token's, never a firewall's for a
        report's words); None while it fails as in an outage (5xx, 429, a timeout, not listening) or something else
        answers 404 (a framework behind a wrong path, which the status lookups retry as an outage)."""
        try:
            response = self._request("GET", f"/v1/reports/{PROBE_TRACKING_ID}")
        except RetryableError:
            return None
        status = response.status_code
        if status == 200 or (status == 404 and says_no_such_report(response)) or status in CREDENTIAL_STATUSES:
            return status
        return None

    def answers(self) -> bool:
        """Whether the case store answers the read as its contract says (`read_answer`): not while it refuses us."""
        return self.read_answer() in (200, 404)

    def refused_credentials(self) -> int | None:
        """The status with which the case store refuses our credentials to the read (`read_answer`); None while it
        answers it (or fails as in an outage)."""
        status = self.read_answer()
        return status if status in CREDENTIAL_STATUSES else None

    def put_attachment(self, sha256: str, content_type: str, content: bytes) -> int:
        """PUT /v1/attachments/{sha256} (idempotent); 201 or 200. Other 4xx are PermanentError.

        A 201 or 200 whose body is not the contract's (a JSON object naming this file) is retried as an outage is
        (`casestore_bad_answer`): a load balancer's maintenance page served with 200 was taken as the file stored,
        the job's later tries did not upload it again, and its report reached the case store naming a file the case
        store never got, without the `not_uploaded` flag that says so."""
        response = self._request("PUT", f"/v1/attachments/{sha256}", content=content,
                                 headers={"Content-Type": content_type})
        if response.status_code not in ACCEPTED_STATUSES:
            raise PermanentError(f"attachment refused with {response.status_code}: {_describe(response)}",
                                 reason=f"casestore_{response.status_code}")
        body = _json_body(response)
        if not (isinstance(body, dict) and str(body.get("sha256", "")).lower() == sha256.lower()):
            kind = "another_file" if isinstance(body, dict) else _body_kind(body)
            log.warning("casestore.bad_answer", path="/v1/attachments/{sha256}", status=response.status_code,
                        body=kind)
            raise RetryableError(f"attachment answer is not the contract's ({kind})", reason="casestore_bad_answer")
        return response.status_code
