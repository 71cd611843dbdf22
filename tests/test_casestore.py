"""The reference case store keeps its contract: idempotent on the Tracking ID, typed refusals, arrival order; its
database is the gateway user's only."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from casestore.app import create_casestore_app
from casestore.storage import ReportStore
from gateway.settings import Settings
from gateway.tls import tls_context
from normalizer.envelope import STORE_FIELDS, Envelope
from normalizer.schema import SCHEMA_PATH
from tests.conftest import CASESTORE_TOKEN, CaseStoreServer
from tests.test_envelope_schema import sample_envelope

AUTH = {"Authorization": f"Bearer {CASESTORE_TOKEN}"}


def envelope(tracking_id: str, **overrides: object) -> dict[str, object]:
    document = sample_envelope(tracking_id=tracking_id, channel_message_id=f"SM{tracking_id}").model_dump(mode="json")
    document.update(overrides)
    return document


def ids(n: int) -> list[str]:
    from gateway.tracking import format_tracking_id

    return [format_tracking_id(2_000_000 + i) for i in range(n)]


@pytest.fixture
def client(casestore: CaseStoreServer) -> httpx.Client:
    with httpx.Client(verify=tls_context(), base_url=casestore.url, headers=AUTH, timeout=5) as http:
        yield http


def test_first_post_creates_and_later_posts_change_nothing(client: httpx.Client, casestore: CaseStoreServer) -> None:
    [tracking_id] = ids(1)
    first = client.post("/v1/reports", json=envelope(tracking_id))
    again = client.post("/v1/reports", json=envelope(tracking_id, text="a different text"))
    assert (first.status_code, again.status_code) == (201, 200)
    stored = client.get(f"/v1/reports/{tracking_id}").json()
    assert stored["text"] == "Jalan rusak"
    assert stored["status"] == "received"
    Envelope.model_validate({k: v for k, v in stored.items() if k not in STORE_FIELDS})
    assert casestore.store.count() == 1


@pytest.mark.parametrize(
    ("name", "mutate"),
    [
        pytest.param("bad-id", lambda d: d.update(tracking_id="12"), id="bad-tracking-id"),
        pytest.param("no-sender", lambda d: d.pop("sender"), id="missing-sender"),
        pytest.param("bad-channel", lambda d: d.update(channel="pigeon"), id="unknown-channel"),
        pytest.param("bad-from-reports-sender", lambda d: d.update(from_reports_sender="+6281234567890"),
                     id="from-reports-sender-not-a-boolean"),
        pytest.param("not-object", None, id="not-an-object"),
    ],
)
def test_an_invalid_envelope_is_refused_with_422_and_a_reason(client: httpx.Client, name: str, mutate: object) -> None:
    document: object = envelope(ids(1)[0])
    if mutate is None:
        document = ["not", "an", "object"]
    else:
        mutate(document)  # type: ignore[operator]
    response = client.post("/v1/reports", json=document)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_envelope"
    assert response.json()["detail"]


# A token whose bytes are no UTF-8 (aiohttp hands them over as lone surrogates) was a 500, not a 401.
@pytest.mark.parametrize("authorization", [b"Bearer wrong", b"Bearer \xff\xfe"], ids=["wrong", "not-utf8"])
def test_a_wrong_token_is_refused(casestore: CaseStoreServer, authorization: bytes) -> None:
    response = httpx.post(f"{casestore.url}/v1/reports", json=envelope(ids(1)[0]),
                          headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert casestore.store.count() == 0


def test_batch_reports_each_outcome(client: httpx.Client) -> None:
    a, b, c = ids(3)
    client.post("/v1/reports", json=envelope(a))
    response = client.post("/v1/reports/batch", json={"reports": [envelope(a), envelope(b), envelope(c, kind="x")]})
    assert response.status_code == 200
    statuses = {r["tracking_id"]: r["status"] for r in response.json()["results"]}
    assert statuses == {a: 200, b: 201, c: 422}


def test_a_batch_answer_is_valid_under_the_contract_whatever_its_reports_name_as_tracking_id(
        client: httpx.Client) -> None:
    """A refused report's result echoes its Tracking ID only when it is a string: one named by an object, a number
    or a list came back as sent, and the answer broke BatchResult (`tracking_id` a string or null) for every result
    of the batch to a client that checks it."""
    [good] = ids(1)
    reports = [envelope(good), {"tracking_id": {"id": good}}, {"tracking_id": 10000004}, 5]
    response = client.post("/v1/reports/batch", json={"reports": reports})
    batch = "/paths/~1v1~1reports~1batch/post/responses/200/content/application~1json/schema"
    contract_validator(batch).validate(response.json())
    assert [(r["tracking_id"], r["status"]) for r in response.json()["results"]] == [
        (good, 201), (None, 422), (None, 422), (None, 422)]


def test_listing_is_in_arrival_order_and_pages(client: httpx.Client) -> None:
    posted = ids(5)
    for tracking_id in reversed(posted):
        client.post("/v1/reports", json=envelope(tracking_id))
    page = client.get("/v1/reports", params={"after": 0, "limit": 3}).json()
    assert [r["tracking_id"] for r in page["reports"]] == list(reversed(posted))[:3]
    rest = client.get("/v1/reports", params={"after": page["next_after"]}).json()
    assert [r["tracking_id"] for r in rest["reports"]] == list(reversed(posted))[3:]



def test_a_tracking_id_another_message_is_stored_under_is_refused_with_409_not_taken_as_already_stored(
    client: httpx.Client, casestore: CaseStoreServer
) -> None:
    """Idempotent on the Tracking ID means the same report again: a gateway whose Redis came back behind (emptied,
    rolled back) mints IDs it gave before, and a new report under one was answered 200 "already had it", marked
    forwarded by the forward worker and kept nowhere. The same message again (a retry, its text or time differing,
    as a retry's may) is still 200."""
    first, second = ids(2)
    assert client.post("/v1/reports", json=envelope(first)).status_code == 201
    retried = client.post("/v1/reports", json=envelope(first, text="edited", received_at="2026-11-23T00:00:00Z"))
    assert retried.status_code == 200
    reused = client.post("/v1/reports", json=envelope(first, channel_message_id="SM-another-message"))
    assert reused.status_code == 409 and reused.json()["error"] == "tracking_id_taken"
    other_channel = client.post("/v1/reports/batch", json={"reports": [
        envelope(first, channel="email", channel_message_id=f"SM{first}"), envelope(second)]})
    assert {r["tracking_id"]: (r["status"], r.get("error")) for r in other_channel.json()["results"]} == {
        first: (409, "tracking_id_taken"), second: (201, None)}
    assert client.get(f"/v1/reports/{first}").json()["channel_message_id"] == f"SM{first}"
    assert casestore.store.count() == 2

@pytest.mark.parametrize(
    ("params", "status", "listed"),
    [
        pytest.param({"limit": "-1"}, 400, None, id="negative-limit-is-no-limit-to-sqlite"),
        pytest.param({"limit": "-1000000"}, 400, None, id="large-negative-limit"),
        pytest.param({"after": str(2**63)}, 400, None, id="after-past-sqlite-integers"),
        pytest.param({"limit": str(2**64)}, 200, 3, id="limit-past-sqlite-integers-is-the-maximum"),
        pytest.param({"after": "-1"}, 400, None, id="negative-after"),
        pytest.param({"limit": "abc"}, 400, None, id="limit-not-a-number"),
        # Only ASCII digits, as the contract's integer: `int()` took all of these.
        pytest.param({"after": "1_0"}, 400, None, id="after-with-an-underscore"),
        pytest.param({"limit": "1_0"}, 400, None, id="limit-with-an-underscore"),
        pytest.param({"after": " 1"}, 400, None, id="after-padded-with-a-space"),
        pytest.param({"limit": "2 "}, 400, None, id="limit-padded-with-a-space"),
        pytest.param({"limit": "\t2\n"}, 400, None, id="limit-padded-with-a-tab-and-a-newline"),
        pytest.param({"after": "+0"}, 400, None, id="after-with-a-plus"),
        pytest.param({"after": "-0"}, 400, None, id="after-minus-zero"),
        pytest.param({"limit": "\u0662"}, 400, None, id="limit-in-arabic-indic-digits"),
        pytest.param({"limit": "\uff12"}, 400, None, id="limit-in-fullwidth-digits"),
        pytest.param({"after": ""}, 400, None, id="after-empty"),
        pytest.param({"after": "9" * 5000}, 400, None, id="after-too-many-digits-for-int"),
        pytest.param({"after": "0", "limit": "002"}, 200, 2, id="leading-zeros-are-digits"),
        pytest.param({"limit": "0"}, 200, 0, id="empty-page"),
        pytest.param({"limit": "2"}, 200, 2, id="a-page"),
    ],
)
def test_a_listing_query_out_of_range_is_refused_with_400_never_unbounded_or_a_500(
    client: httpx.Client, params: dict[str, str], status: int, listed: int | None
) -> None:
    """SQLite reads a negative LIMIT as none (every report in one answer) and fails on an integer past 64 bits."""
    for tracking_id in ids(3):
        client.post("/v1/reports", json=envelope(tracking_id))
    response = client.get("/v1/reports", params=params)
    assert response.status_code == status
    if listed is None:
        assert response.json()["error"] == "bad_query"
    else:
        assert len(response.json()["reports"]) == listed


def test_follow_ups_appear_under_their_report(client: httpx.Client) -> None:
    parent, child = ids(2)
    client.post("/v1/reports", json=envelope(parent))
    client.post("/v1/reports", json=envelope(child, follow_up_of=parent, text="Sudah seminggu belum diperbaiki"))
    stored = client.get(f"/v1/reports/{parent}").json()
    assert [f["tracking_id"] for f in stored["follow_ups"]] == [child]


OPENAPI = Path(__file__).resolve().parent.parent / "casestore" / "openapi.yaml"


def contract_validator(pointer: str) -> jsonschema.Draft202012Validator:
    """A validator for the schema at `pointer` in casestore/openapi.yaml, its reference to the committed envelope
    schema resolved as the file names it (../schemas/envelope-v1.json)."""
    document = yaml.safe_load(OPENAPI.read_text())
    envelope_schema = json.loads(SCHEMA_PATH.read_text())
    envelope_resource = Resource.from_contents(envelope_schema, default_specification=DRAFT202012)
    registry = Registry().with_resources([
        (OPENAPI.as_uri(), Resource.from_contents(document, default_specification=DRAFT202012)),
        (SCHEMA_PATH.as_uri(), envelope_resource),
        (envelope_schema["$id"], envelope_resource),
    ])
    return jsonschema.Draft202012Validator({"$ref": f"{OPENAPI.as_uri()}#{pointer}"}, registry=registry,
                                           format_checker=jsonschema.FormatChecker())


# Served by the reference case store for its own operation, outside the contract a case store implements.
OWN_ROUTES = {("get", "/healthz")}


def test_every_request_the_reference_case_store_serves_is_in_the_contract(tmp_path: Path) -> None:
    """casestore/openapi.yaml is what the real LAPOR! core implements. The forward worker uploads each file it keeps
    with PUT /v1/attachments/{sha256} before the report listing it, and the contract had no such path: a case store
    built from it answers 404, and every report went without its files (flagged `not_uploaded`)."""
    paths = yaml.safe_load(OPENAPI.read_text())["paths"]
    documented = {(method, path) for path, item in paths.items() for method in item if method != "parameters"}
    store = ReportStore(tmp_path / "routes.db")
    try:
        served = {(route.method.lower(), route.resource.canonical)
                  for route in create_casestore_app(store, CASESTORE_TOKEN).router.routes()
                  if route.method != "HEAD" and route.resource is not None}
    finally:
        store.close()
    assert ("put", "/v1/attachments/{sha256}") in served
    assert sorted(served - OWN_ROUTES - documented) == []


def test_an_attachment_answer_is_the_contracts(client: httpx.Client) -> None:
    content = b"\xff\xd8\xff\xe0 a photo"
    sha256 = hashlib.sha256(content).hexdigest()
    stored = contract_validator("/components/schemas/AttachmentStored")
    for expected in (201, 200):
        answer = client.put(f"/v1/attachments/{sha256}", content=content, headers={"Content-Type": "image/jpeg"})
        assert answer.status_code == expected
        stored.validate(answer.json())
    refused = client.put(f"/v1/attachments/{'0' * 64}", content=content)
    assert refused.status_code == 422
    contract_validator("/components/schemas/Problem").validate(refused.json())
    fetched = client.get(f"/v1/attachments/{sha256}")
    assert (fetched.status_code, fetched.content, fetched.headers["Content-Type"]) == (200, content, "image/jpeg")


def test_an_attachment_is_served_to_be_saved_never_rendered(client: httpx.Client) -> None:
    """A named report's mailed text/html, served with its type alone, opened as a page of the case store's site."""
    content = b"<html><script>alert(document.domain)</script></html>"
    sha256 = hashlib.sha256(content).hexdigest()
    client.put(f"/v1/attachments/{sha256}", content=content, headers={"Content-Type": "text/html"})
    fetched = client.get(f"/v1/attachments/{sha256}")
    assert fetched.content == content
    assert fetched.headers["X-Content-Type-Options"] == "nosniff"
    assert fetched.headers["Content-Disposition"].startswith("attachment")
    assert fetched.headers["Content-Security-Policy"] == "sandbox"


def test_follow_ups_come_back_with_whether_their_reports_sender_sent_them_as_the_contract_says(
    client: httpx.Client,
) -> None:
    """`from_reports_sender` is how the agency tells an anonymous reporter's addition from a stranger's: stored as the
    gateway sent it and returned in the report's `follow_ups`, each valid under casestore/openapi.yaml."""
    parent, *children = ids(4)
    assert client.post("/v1/reports", json=envelope(parent, anonymous=True)).status_code == 201
    for child, told in zip(children, (True, False, None), strict=True):
        posted = client.post("/v1/reports", json=envelope(child, follow_up_of=parent, anonymous=True,
                                                          from_reports_sender=told))
        assert posted.status_code == 201, posted.text
    stored = client.get(f"/v1/reports/{parent}").json()
    assert [(f["tracking_id"], f["from_reports_sender"]) for f in stored["follow_ups"]] == [
        (children[0], True), (children[1], False), (children[2], None)]
    contract_validator("/components/schemas/StoredReport").validate(stored)
    for follow_up in stored["follow_ups"]:
        contract_validator("/components/schemas/Envelope").validate(follow_up)
    with pytest.raises(jsonschema.ValidationError):
        contract_validator("/components/schemas/Envelope").validate({**stored["follow_ups"][0],
                                                                    "from_reports_sender": "yes"})


def later_revision(tracking_id: str) -> dict[str, object]:
    """An envelope of a later revision of v1: fields this store does not know, at the top and in nested objects."""
    document = envelope(tracking_id, attachments=[{
        "content_type": "audio/amr", "size": 5120, "sha256": "0" * 64, "name": None,
        "location": "attachments/00/voice.amr", "flags": [], "duration_seconds": 12}])
    document["sender"] = {**document["sender"], "operator": "telkomsel"}  # type: ignore[dict-item]
    document["urgency"] = {"level": "high", "source": "keyword"}
    return document


def post(client: httpx.Client, document: dict[str, object], *, batch: bool) -> tuple[int, dict[str, object]]:
    """(status, the answer about this report) from the single or the batch endpoint."""
    if not batch:
        response = client.post("/v1/reports", json=document)
        return response.status_code, response.json()
    response = client.post("/v1/reports/batch", json={"reports": [document]})
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    return result["status"], result


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
def test_an_envelope_of_a_later_revision_is_stored_as_sent_once(
    client: httpx.Client, casestore: CaseStoreServer, batch: bool,
) -> None:
    """A gateway upgraded before its case store sends fields the store does not know: taken and kept, not a 422 that
    would dead-letter every report until both are upgraded together."""
    casestore.posted_by_hand = True
    [tracking_id] = ids(1)
    document = later_revision(tracking_id)
    first, _ = post(client, document, batch=batch)
    again, _ = post(client, {**document, "urgency": {"level": "low"}}, batch=batch)
    assert (first, again) == (201, 200)
    assert casestore.store.count() == 1
    stored = client.get(f"/v1/reports/{tracking_id}").json()
    assert {key: value for key, value in stored.items() if key not in STORE_FIELDS} == document
    contract_validator("/components/schemas/StoredReport").validate(stored)


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize("version", [2, 0])
def test_another_major_envelope_version_is_refused_with_its_own_error(
    client: httpx.Client, casestore: CaseStoreServer, batch: bool, version: int,
) -> None:
    status, answer = post(client, envelope(ids(1)[0], envelope_version=version), batch=batch)
    assert (status, answer["error"]) == (422, "unsupported_envelope_version")
    assert f"envelope_version {version}" in str(answer["detail"])
    assert casestore.store.count() == 0


def with_version_as_written(document: dict[str, object], written: str | None) -> bytes:
    """The envelope's JSON with `envelope_version` written exactly as `written` (None: absent), so that what is on the
    wire is what the row says, not what a JSON encoder makes of a Python value."""
    without = json.dumps({key: value for key, value in document.items() if key != "envelope_version"})
    return (without if written is None else f'{without[:-1]}, "envelope_version": {written}}}').encode()


def post_raw(client: httpx.Client, report: bytes, *, batch: bool) -> tuple[int, dict[str, object]]:
    """`post` with the report's JSON as given."""
    body = b'{"reports": [' + report + b"]}" if batch else report
    response = client.post("/v1/reports/batch" if batch else "/v1/reports", content=body,
                           headers={"Content-Type": "application/json"})
    if not batch:
        return response.status_code, response.json()
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    return result["status"], result


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize(
    ("written", "refusal"),
    [
        pytest.param("1", None, id="the-integer-1"),
        pytest.param(None, None, id="absent-is-1-as-the-schema-says"),
        pytest.param("true", "must be the JSON integer 1, not true", id="true"),
        pytest.param("false", "must be the JSON integer 1, not false", id="false"),
        pytest.param("1.0", "must be the JSON integer 1, not 1.0", id="1.0"),
        pytest.param("1e0", "must be the JSON integer 1, not 1.0", id="1e0"),
        pytest.param('"1"', 'must be the JSON integer 1, not "1"', id="string-1"),
        pytest.param("null", "must be the JSON integer 1, not null", id="null"),
        pytest.param("[1]", "must be the JSON integer 1, not [1]", id="a-list"),
        # Another major written as a float is malformed too, not a version this store could name.
        pytest.param("2.0", "must be the JSON integer 1, not 2.0", id="2.0"),
    ],
)
def test_envelope_version_is_taken_only_as_the_json_integer(
    client: httpx.Client, casestore: CaseStoreServer, written: str | None, refusal: str | None, batch: bool,
) -> None:
    """The version was read in pydantic's lax mode, by equality: `true` and `1.0` were stored as version 1, as sent.
    Only the integer 1 (or no version, which the published schema makes 1) is an envelope of this major version."""
    casestore.posted_by_hand = True  # the envelope with no version is not one this gateway makes
    [tracking_id] = ids(1)
    document = envelope(tracking_id)
    status, answer = post_raw(client, with_version_as_written(document, written), batch=batch)
    if refusal is None:
        assert status == 201, answer
        stored = client.get(f"/v1/reports/{tracking_id}").json()
        assert {key: value for key, value in stored.items() if key not in STORE_FIELDS} == (
            document if written else {key: value for key, value in document.items() if key != "envelope_version"})
        return
    assert (status, answer["error"], answer["detail"]) == (422, "invalid_envelope", f"envelope_version: {refusal}")
    assert casestore.store.count() == 0


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"status": "resolved"}, id="status"),
        pytest.param({"seq": 1}, id="seq"),
        pytest.param({"stored_at": 0}, id="stored_at"),
        pytest.param({"follow_ups": []}, id="follow_ups"),
        pytest.param({"status": None, "follow_ups": [{"text": "forged"}]}, id="two-at-once"),
    ],
)
def test_an_envelope_naming_a_stored_reports_own_field_is_refused(
    client: httpx.Client, casestore: CaseStoreServer, fields: dict[str, object], batch: bool,
) -> None:
    """`status`, `seq`, `stored_at` and `follow_ups` are the store's: an envelope naming one was taken as a later
    revision's field and stored as sent, the listing then showing its own `stored_at` and `follow_ups`, and a report
    of another store implementation arriving "resolved". Refused with its own error, naming them."""
    status, answer = post(client, envelope(ids(1)[0], **fields), batch=batch)
    assert (status, answer["error"]) == (422, "reserved_field")
    assert answer["detail"] == f"{', '.join(fields)}: a stored report's own field(s), set by the case store, never " \
                               "by an envelope"
    assert casestore.store.count() == 0


def test_a_later_revisions_nested_field_may_take_a_store_fields_name(
    client: httpx.Client, casestore: CaseStoreServer,
) -> None:
    """Only the stored report's own level is reserved: `status` inside `sender` is a later revision's field."""
    casestore.posted_by_hand = True
    [tracking_id] = ids(1)
    document = envelope(tracking_id)
    document["sender"] = {**document["sender"], "status": "verified"}  # type: ignore[dict-item]
    assert client.post("/v1/reports", json=document).status_code == 201
    stored = client.get(f"/v1/reports/{tracking_id}").json()
    assert (stored["status"], stored["sender"]["status"]) == ("received", "verified")


RESPONSES = "/paths/~1v1~1reports{path}/get/responses/200/content/application~1json/schema"


def test_stored_reports_as_the_store_answers_them_are_valid_under_the_contract(
    client: httpx.Client, casestore: CaseStoreServer,
) -> None:
    """GET /v1/reports/{tracking_id} and the list answer StoredReports: the envelope (as sent, a later revision's
    fields too) with the store's own fields."""
    casestore.posted_by_hand = True
    parent, child, later = ids(3)
    client.post("/v1/reports", json=envelope(parent))
    client.post("/v1/reports", json=envelope(child, follow_up_of=parent, from_reports_sender=True))
    client.post("/v1/reports", json=later_revision(later))
    client.patch(f"/v1/reports/{parent}", json={"status": "in_progress"})
    one = contract_validator(RESPONSES.format(path="~1{tracking_id}"))
    for tracking_id in (parent, child, later):
        one.validate(client.get(f"/v1/reports/{tracking_id}").json())
    page = client.get("/v1/reports", params={"after": 0, "limit": 10}).json()
    assert [report["tracking_id"] for report in page["reports"]] == [parent, child, later]
    contract_validator(RESPONSES.format(path="")).validate(page)
    with pytest.raises(jsonschema.ValidationError):  # the schema does check: a stored report needs its status
        one.validate({key: value for key, value in client.get(f"/v1/reports/{parent}").json().items()
                      if key != "status"})


def test_operators_set_the_status(client: httpx.Client) -> None:
    [tracking_id] = ids(1)
    client.post("/v1/reports", json=envelope(tracking_id))
    assert client.patch(f"/v1/reports/{tracking_id}", json={"status": "in_progress"}).status_code == 200
    assert client.get(f"/v1/reports/{tracking_id}").json()["status"] == "in_progress"
    assert client.patch(f"/v1/reports/{tracking_id}", json={"status": "lost"}).status_code == 422
    assert client.get("/v1/reports/99999994").status_code == 404


def private(path: Path) -> bool:
    """Readable and writable by the gateway's own user only."""
    return path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("older_database", [False, True],
                         ids=["new data dir", "a database an older version left readable by all"])
def test_the_database_is_readable_by_the_gateway_user_only(
    settings: Settings, tmp_path: Path, older_database: bool,
) -> None:
    """It holds every report: a named one's number and an anonymous one's words. Under a common umask (022) SQLite
    made it, its write-ahead log and its shared-memory file readable by every account of the machine."""
    data_dir = tmp_path / "var"
    path = data_dir / "casestore.sqlite3"
    previous = os.umask(0o022)
    older = None
    try:
        if older_database:  # 0755 and 0644, its -wal and -shm still there (a process of it still running, or killed)
            data_dir.mkdir(mode=0o755)
            older = sqlite3.connect(path, isolation_level=None)
            older.execute("PRAGMA journal_mode=WAL")
            older.execute("CREATE TABLE kept (x)")
            assert not private(path) and not private(path.with_name("casestore.sqlite3-wal"))
        server = CaseStoreServer(port=settings.casestore.port, token=CASESTORE_TOKEN, path=path)
        server.start()
        try:
            [tracking_id] = ids(1)
            posted = httpx.post(f"{server.url}/v1/reports", json=envelope(tracking_id), headers=AUTH,
                                verify=tls_context(), timeout=5)
            assert posted.status_code == 201
            files = sorted(p.name for p in data_dir.iterdir())
            assert files == ["casestore.sqlite3", "casestore.sqlite3-shm", "casestore.sqlite3-wal"]
            assert any(b"+6281234567890" in p.read_bytes() for p in data_dir.iterdir())  # the report was looked at
            assert private(data_dir) and [name for name in files if not private(data_dir / name)] == []
        finally:
            server.stop()
            server.store.close()
    finally:
        os.umask(previous)
        if older is not None:
            older.close()


def test_stored_at_is_when_the_report_was_stored_not_when_it_waited_to_be(tmp_path: Path) -> None:
    """A batch waiting 0.3 s for another forward worker's transaction: its `stored_at` is after that wait (the
    bench's webhook-to-stored latency ends there)."""
    import threading
    import time

    from casestore.storage import ReportStore

    store = ReportStore(tmp_path / "casestore.sqlite3")
    envelope = sample_envelope().model_dump(mode="json")
    with store._lock:  # another batch's transaction
        waiting = threading.Thread(target=store.store_many, args=([envelope],))
        waiting.start()
        time.sleep(0.3)
        released = time.time()
    waiting.join(5)
    stored = store.get(envelope["tracking_id"])
    store.close()
    assert stored is not None and stored["stored_at"] >= released


def test_a_report_answered_stored_is_on_the_disk_before_the_answer(tmp_path: Path) -> None:
    """201 means stored: the forward worker marks the report forwarded on it and keeps it nowhere else. With SQLite's
    `synchronous=NORMAL` in WAL mode a commit reaches the disk at the next checkpoint only, so a power loss could take
    back reports already answered; FULL (2) fsyncs the log at every commit."""
    from casestore.storage import ReportStore

    store = ReportStore(tmp_path / "casestore.sqlite3")
    try:
        connection = store._connection
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        store.close()


def test_a_full_disk_is_the_error_told_and_a_failure_answered_never_stored(
        client: httpx.Client, casestore: CaseStoreServer) -> None:
    """On a full disk SQLite rolls the transaction back itself: the store's own ROLLBACK then failed ("cannot rollback
    - no transaction is active"), and that was the error the log told an operator, not the full disk. The batch is
    answered a failure (retried by the gateway), nothing of it stored, and taken whole once there is room."""
    a, b = ids(2)
    store = casestore.store
    with store._lock:  # the database may grow no further: as a disk with no room left
        size = store._connection.execute("PRAGMA page_count").fetchone()[0]
        store._connection.execute(f"PRAGMA max_page_count={size}")
    batch = [envelope(a), envelope(b, text="Jalan rusak " * 20_000)]
    with pytest.raises(sqlite3.OperationalError, match="full"):
        store.store_many(batch)
    response = client.post("/v1/reports/batch", json={"reports": batch})
    assert response.status_code == 500
    assert store.count() == 0
    with store._lock:
        store._connection.execute("PRAGMA max_page_count=1073741823")
    response = client.post("/v1/reports/batch", json={"reports": batch})
    assert [r["status"] for r in response.json()["results"]] == [201, 201]


@pytest.mark.parametrize(("body", "no_such_report"), [
    pytest.param({"error": "not_found", "detail": "no report with this Tracking ID"}, True, id="the-contracts"),
    pytest.param({"error": "unknown_tracking_id"}, False, id="another-error"),
    pytest.param({"status": 404, "error": "Not Found", "path": "/v1/reports/10000004"}, False, id="a-frameworks"),
])
def test_the_contracts_404_is_the_one_the_gateway_takes_for_no_such_report(body: dict[str, object],
                                                                           no_such_report: bool) -> None:
    """The gateway takes a 404 to GET /v1/reports/{tracking_id} as "no such report" only with the error `not_found`
    (`gateway.queries.says_no_such_report`; any other is retried as an outage). The contract asked any Problem, and a
    case store built to it with an error of its own had every CEK of an unknown ID answered "cannot check now"."""
    from gateway.queries import says_no_such_report

    schema = "/paths/~1v1~1reports~1{tracking_id}/get/responses/404/content/application~1json/schema"
    assert contract_validator(schema).is_valid(body) is no_such_report
    assert says_no_such_report(httpx.Response(404, json=body)) is no_such_report


def nested(depth: int) -> list[object]:
    """A later revision's field of `depth` arrays, one inside the other."""
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


# orjson reads JSON 1024 levels deep and writes it 254 deep at most: a report read and stored had a 500 for its post
# (and its whole batch), or, nested deep enough to be stored, broke every answer that writes it two levels further
# down (its report's GET, a CEK's, as a follow-up; each listing page holding it).
@pytest.mark.parametrize(("depth", "as_follow_up"), [
    pytest.param(300, False, id="too-deep-to-store"),
    pytest.param(252, True, id="follow-up-too-deep-to-serve-under-its-report"),
    pytest.param(252, False, id="too-deep-to-serve-in-a-listing"),
])
@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
def test_an_envelope_nested_deeper_than_the_store_writes_back_is_refused_alone(
        client: httpx.Client, casestore: CaseStoreServer, depth: int, as_follow_up: bool, batch: bool) -> None:
    casestore.posted_by_hand = True
    parent, good, deep = ids(3)
    client.post("/v1/reports", json=envelope(parent))
    document = envelope(deep, follow_up_of=parent if as_follow_up else None, later=nested(depth))
    if batch:
        response = client.post("/v1/reports/batch", json={"reports": [envelope(good), document]})
        assert response.status_code == 200, response.text
        results = {r["tracking_id"]: r for r in response.json()["results"]}
        assert results[good]["status"] == 201
        answer = results[deep]
    else:
        response = client.post("/v1/reports", json=document)
        assert response.status_code == 422, response.text
        answer = response.json()
    assert (answer.get("status", 422), answer["error"]) == (422, "invalid_envelope")
    assert casestore.store.get(deep) is None
    assert client.get(f"/v1/reports/{parent}").status_code == 200
    assert client.get("/v1/reports", params={"after": 0, "limit": 10}).status_code == 200


TOO_LARGE = b" " * (16 * 1024 * 1024 + 1)  # the reference store's body limit, one byte past it


# What the store answers a request it cannot read (no token, a body that is no JSON, one past its body limit) is in
# the contract for that operation: the real LAPOR! core is built from it, and a check of its answers against it
# (schemathesis's status_code_conformance) failed on the reference store's own 400, 401 and 413.
@pytest.mark.parametrize(("method", "path", "body", "authorized", "status"), [
    pytest.param("post", "/v1/reports", b"{", True, 400, id="report-not-json"),
    pytest.param("post", "/v1/reports/batch", b"", True, 400, id="batch-empty-body"),
    pytest.param("patch", "/v1/reports/{tracking_id}", b"\xff", True, 400, id="status-not-utf8"),
    pytest.param("post", "/v1/reports", TOO_LARGE, True, 413, id="report-too-large"),
    pytest.param("post", "/v1/reports/batch", TOO_LARGE, True, 413, id="batch-too-large"),
    pytest.param("patch", "/v1/reports/{tracking_id}", TOO_LARGE, True, 413, id="status-too-large"),
    pytest.param("post", "/v1/reports/batch", b"{}", False, 401, id="batch-no-token"),
    pytest.param("get", "/v1/reports", b"", False, 401, id="listing-no-token"),
    pytest.param("get", "/v1/reports/{tracking_id}", b"", False, 401, id="report-no-token"),
    pytest.param("patch", "/v1/reports/{tracking_id}", b"{}", False, 401, id="status-no-token"),
    pytest.param("get", "/v1/attachments/{sha256}", b"", False, 401, id="attachment-no-token"),
])
def test_a_request_the_store_cannot_read_is_answered_as_the_contract_documents(
        casestore: CaseStoreServer, method: str, path: str, body: bytes, authorized: bool, status: int) -> None:
    url = casestore.url + path.format(tracking_id="10000004", sha256="0" * 64)
    response = httpx.request(method.upper(), url, content=body, headers=AUTH if authorized else {}, timeout=30)
    assert response.status_code == status
    documented = yaml.safe_load(OPENAPI.read_text())["paths"][path][method]["responses"]
    assert str(status) in documented


def test_a_batchs_results_come_in_the_order_of_its_reports(client: httpx.Client, casestore: CaseStoreServer) -> None:
    """A refused report whose Tracking ID is no string is answered with a null one: only its place says which report
    it is. The refusals came first and the stored reports after them, so a client reading the results by place took
    a stored report for refused and a refused one for stored."""
    casestore.posted_by_hand = True
    stored, again, refused = ids(3)
    client.post("/v1/reports", json=envelope(again))
    reports = [envelope(stored), {"tracking_id": 5}, envelope(again), envelope(refused, kind="x"), []]
    response = client.post("/v1/reports/batch", json={"reports": reports})
    assert [(r["tracking_id"], r["status"]) for r in response.json()["results"]] == [
        (stored, 201), (None, 422), (again, 200), (refused, 422), (None, 422)]
