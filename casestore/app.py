"""The reference case store's HTTP API (see casestore/openapi.yaml).

Idempotent on the Tracking ID: the first POST of a report answers 201, every later one 200 and changes nothing; one
of another message under a Tracking ID stored (another channel or channel_message_id) 409 `tracking_id_taken`, and
changes nothing either.
A malformed envelope answers 422 with the reason (`invalid_envelope`; an `envelope_version` that is not the JSON
integer, `1.0`, `true`, `"1"` or null, is one), one of another major `envelope_version` 422
`unsupported_envelope_version`, one naming a field the store adds itself (`status`, `seq`, `stored_at`, `follow_ups`)
422 `reserved_field`, one nested deeper than the store can write it back (a listing's report, a follow-up under its
report: 254 levels in all) 422 `invalid_envelope`. Any other field this store does not know, at any level, is a later
revision's: stored and returned as sent, never refused. Every request needs the bearer token.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError

from casestore.storage import STATUSES, ReportStore
from gateway.logs import get_logger
from normalizer.envelope import ENVELOPE_VERSION, RESERVED_FIELD, accept_envelope

log = get_logger()

MAX_BATCH = 1000
MAX_PAGE = 1000
MAX_SEQ = 2**63 - 1  # SQLite's largest integer
# A query integer as the contract's schema has it (minimum 0): ASCII digits only. `int()` also takes "1_0", " 5 ",
# "+5" and other scripts' digits ("٥"), which a client's own check of the contract would refuse.
_DIGITS = re.compile(r"[0-9]+")
STORE_KEY = web.AppKey("store", ReportStore)
TOKEN_KEY = web.AppKey("token", str)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _problem(status: int, error: str, detail: str = "") -> web.Response:
    return _json({"error": error, "detail": detail}, status)


def _validate(raw: Any) -> tuple[dict[str, Any] | None, str, str]:
    """(the envelope as stored, "", "") or (None, the error, why it is refused)."""
    if not isinstance(raw, dict):
        return None, "invalid_envelope", "a report must be a JSON object"
    version = raw.get("envelope_version", ENVELOPE_VERSION)
    if type(version) is int and version != ENVELOPE_VERSION:  # another major; any other form is malformed
        detail = f"envelope_version {version}: this case store takes {ENVELOPE_VERSION}"
        return None, "unsupported_envelope_version", detail
    try:
        accept_envelope(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        refusal = RESERVED_FIELD if first["type"] == RESERVED_FIELD else "invalid_envelope"
        return None, refusal, f"{where}: {first['msg']}" if where else first["msg"]
    if not _servable(raw):
        return None, "invalid_envelope", "nested deeper than this case store writes a report back"
    return raw, "", ""


def _servable(envelope: dict[str, Any]) -> bool:
    """Whether the store can write this envelope back where it answers it deepest: a listing page's report, or a
    follow-up under its report's GET (two levels below the answer's top). orjson reads JSON 1024 levels deep but
    writes 254 at most: a later revision's field nested deeper was a 500 for its post and for every other report of
    its batch, retried by the gateway until dead-lettered, or, stored, a 500 for its report's CEK and for every
    listing page that held it, ever after."""
    try:
        orjson.dumps({"reports": [envelope]})
    except orjson.JSONEncodeError:
        return False
    return True


@web.middleware
async def bearer_auth(request: web.Request, handler: Any) -> web.StreamResponse:
    expected = request.app[TOKEN_KEY]
    given = request.headers.get("Authorization", "")
    # Constant time: a byte-by-byte comparison would tell a caller how much of the token it guessed. A header's bytes
    # that are no UTF-8 come as lone surrogates, kept as bytes here: encoded strictly, they were a 500, not a 401.
    if request.path != "/healthz" and (not given.startswith("Bearer ") or not hmac.compare_digest(
            given[7:].encode("utf-8", "surrogatepass"), expected.encode())):
        return _problem(401, "unauthorized", "a valid bearer token is required")
    return await handler(request)


async def _read_json(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError as error:
        raise web.HTTPBadRequest(text=orjson.dumps({"error": "bad_json", "detail": str(error)}).decode(),
                                 content_type="application/json") from error


async def post_report(request: web.Request) -> web.Response:
    envelope, error, detail = _validate(await _read_json(request))
    if envelope is None:
        return _problem(422, error, detail)
    [result] = await asyncio.to_thread(request.app[STORE_KEY].store_many, [envelope])
    if result.taken:
        return _taken(result.tracking_id)
    log.info("casestore.stored", tracking_id=result.tracking_id, created=result.created)
    return _json({"tracking_id": result.tracking_id, "created": result.created}, 201 if result.created else 200)


TAKEN_DETAIL = "another message is stored under this Tracking ID (its channel or channel_message_id differs)"


def _taken(tracking_id: str) -> web.Response:
    """A report under a Tracking ID another message holds: the minting gateway gave that ID twice (its Redis came back
    behind its sequence). Answered 200, the report was taken for stored and kept nowhere."""
    log.warning("casestore.tracking_id_taken", tracking_id=tracking_id)
    return _problem(409, "tracking_id_taken", TAKEN_DETAIL)


async def post_batch(request: web.Request) -> web.Response:
    body = await _read_json(request)
    reports = body.get("reports") if isinstance(body, dict) else None
    if not isinstance(reports, list) or len(reports) > MAX_BATCH:
        return _problem(422, "invalid_batch", f"'reports' must be a list of at most {MAX_BATCH} envelopes")
    # In the order of the reports: a refused one whose Tracking ID is no string is named null, and only its place
    # says which report it is (the refusals came first, and a client reading by place mistook stored and refused).
    results: list[dict[str, Any]] = []
    valid, places = [], []
    for raw in reports:
        envelope, error, detail = _validate(raw)
        if envelope is None:
            tracking_id = raw.get("tracking_id") if isinstance(raw, dict) else None
            # Echoed only as the contract's string: an object or a number there broke the whole answer's schema.
            results.append({"tracking_id": tracking_id if isinstance(tracking_id, str) else None, "status": 422,
                            "error": error, "detail": detail})
        else:
            places.append(len(results))
            results.append({})
            valid.append(envelope)
    stored = await asyncio.to_thread(request.app[STORE_KEY].store_many, valid)
    for place, result in zip(places, stored, strict=True):
        if result.taken:
            log.warning("casestore.tracking_id_taken", tracking_id=result.tracking_id)
            results[place] = {"tracking_id": result.tracking_id, "status": 409, "error": "tracking_id_taken",
                              "detail": TAKEN_DETAIL}
        else:
            results[place] = {"tracking_id": result.tracking_id, "status": 201 if result.created else 200}
    return _json({"results": results})


async def get_report(request: web.Request) -> web.Response:
    report = await asyncio.to_thread(request.app[STORE_KEY].get, request.match_info["tracking_id"])
    if report is None:
        return _problem(404, "not_found", "no report with this Tracking ID")
    return _json(report)


async def list_reports(request: web.Request) -> web.Response:
    """A page in arrival order. `after` is a seq (0 up to SQLite's largest integer, past which SQLite fails: a 500),
    `limit` 0 or more (SQLite reads a negative LIMIT as none: the whole store in one answer), at most `MAX_PAGE`."""
    after_text, limit_text = request.query.get("after", "0"), request.query.get("limit", "100")
    try:
        if not (_DIGITS.fullmatch(after_text) and _DIGITS.fullmatch(limit_text)):
            raise ValueError
        after, limit = int(after_text), min(int(limit_text), MAX_PAGE)
    except ValueError:  # also a number of more digits than Python converts
        return _problem(400, "bad_query", "after and limit must be integers written in ASCII digits")
    if not 0 <= after <= MAX_SEQ or limit < 0:
        return _problem(400, "bad_query", f"after must be 0 to {MAX_SEQ}, limit 0 to {MAX_PAGE}")
    reports = await asyncio.to_thread(request.app[STORE_KEY].list_after, after, limit)
    return _json({"reports": reports, "next_after": reports[-1]["seq"] if reports else after})


async def patch_status(request: web.Request) -> web.Response:
    body = await _read_json(request)
    status = body.get("status") if isinstance(body, dict) else None
    if status not in STATUSES:
        return _problem(422, "invalid_status", f"status must be one of {', '.join(STATUSES)}")
    tracking_id = request.match_info["tracking_id"]
    if not await asyncio.to_thread(request.app[STORE_KEY].set_status, tracking_id, status):
        return _problem(404, "not_found", "no report with this Tracking ID")
    return _json({"tracking_id": tracking_id, "status": status})


def _sha256_or_problem(request: web.Request) -> tuple[str, web.Response | None]:
    sha256 = request.match_info["sha256"].lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        return sha256, _problem(422, "invalid_sha256", "the path must end in the attachment's hex sha256")
    return sha256, None


async def put_attachment(request: web.Request) -> web.Response:
    """Idempotent, content-addressed: 201 stored, 200 already had it, 422 when the bytes do not match the hash."""
    sha256, problem = _sha256_or_problem(request)
    if problem is not None:
        return problem
    content = await request.read()
    if hashlib.sha256(content).hexdigest() != sha256:
        return _problem(422, "sha256_mismatch", "the body's sha256 differs from the one in the path")
    content_type = request.headers.get("Content-Type", "application/octet-stream")
    created = await asyncio.to_thread(request.app[STORE_KEY].put_attachment, sha256, content_type, content)
    log.info("casestore.attachment_stored", created=created, size=len(content))
    return _json({"sha256": sha256, "size": len(content), "created": created}, 201 if created else 200)


async def get_attachment(request: web.Request) -> web.Response:
    sha256, problem = _sha256_or_problem(request)
    if problem is not None:
        return problem
    found = await asyncio.to_thread(request.app[STORE_KEY].get_attachment, sha256)
    if found is None:
        return _problem(404, "not_found", "no attachment with this sha256")
    # A citizen's file as sent, whatever type it declares: to be saved, never rendered on the store's own origin (a
    # mailed text/html would have run as a page of the case store's site).
    return web.Response(body=found[1], headers={"Content-Type": found[0], "X-Content-Type-Options": "nosniff",
                                                "Content-Disposition": f'attachment; filename="{sha256}"',
                                                "Content-Security-Policy": "sandbox"})


async def healthz(_: web.Request) -> web.Response:
    return _json({"status": "ok"})


def create_casestore_app(store: ReportStore, token: str) -> web.Application:
    app = web.Application(middlewares=[bearer_auth], client_max_size=16 * 1024 * 1024)
    app[STORE_KEY] = store
    app[TOKEN_KEY] = token
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/v1/reports", post_report)
    app.router.add_post("/v1/reports/batch", post_batch)
    app.router.add_get("/v1/reports", list_reports)
    app.router.add_get("/v1/reports/{tracking_id}", get_report)
    app.router.add_patch("/v1/reports/{tracking_id}", patch_status)
    app.router.add_put("/v1/attachments/{sha256}", put_attachment)
    app.router.add_get("/v1/attachments/{sha256}", get_attachment)
    return app
