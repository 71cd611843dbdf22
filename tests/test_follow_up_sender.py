"""A follow-up tells the case store whether its report's own sender sent it, and never who either is.

A Tracking ID is short, sequential and public: anyone may send `<id> text` by SMS or a mention. The case store gets
no sender of an anonymous report (an opaque handle per report), so without `from_reports_sender` it could not tell
the reporter's addition from a stranger's ("this report is false", by the official it names). The gateway compares
the senders where it reads the report's envelope for its flags anyway (gateway/followups.py) and sends the answer
alone: true, false, or null when it no longer holds the report, or when either answer would name an anonymous
follow-up's writer.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from redis import Redis

from channels.x_mentions import XMentionsPoller
from gateway.followups import (
    REPLY_SUBJECTS_MAX,
    remember_reply,
    remember_reply_subject,
    reply_subjects,
    resolve_follow_up,
    resolve_follow_up_now,
    thread_report,
)
from gateway.intake import Intake
from gateway.queries import casestore_client
from gateway.queues import FORWARD_QUEUE, REPLY_SUBJECTS_KEY, envelope_key
from gateway.replies import flagged, render
from gateway.settings import Settings
from gateway.tracking import SEQUENCE_KEY, format_tracking_id
from normalizer.envelope import Channel, ReportDraft, Sender, SenderKind
from tests.aggregator_support import drain
from tests.conftest import CaseStoreServer, GatewayServer, LoopbackServer, log_events
from tests.copy_support import DAMAGES, Damage, damage
from tests.social_helpers import FakeProviderServer
from tests.test_anonymity import Identity, msisdn_identity, stored_strings
from tests.test_twilio_intake import tracking_id_in, twiml_message
from workers.media import expire_report

if TYPE_CHECKING:
    from tests.conftest import TestEnvironment

REPORTER = "+6281234567001"
STRANGER = "+6285699990002"
PARENT = format_tracking_id(1_000_001)



@pytest.fixture
def settings(test_env: TestEnvironment, fake: FakeProviderServer) -> Settings:
    return test_env.settings(**fake.env())


# -- resolving a follow-up: the comparison and when it is withheld ----------------------------------------------------


def draft(kind: SenderKind, sender_id: str, *, anonymous: bool = False, channel: Channel = Channel.SMS,
          reply_to: str | None = None, follow_up_of: str | None = PARENT, name: str | None = None) -> ReportDraft:
    return ReportDraft(received_at=datetime(2026, 12, 2, 8, 0, tzinfo=UTC), channel=channel,
                       channel_message_id=f"m-{sender_id}-{follow_up_of}",
                       sender=Sender(kind=kind, id=sender_id, display_name=name),
                       anonymous=anonymous, text="ada foto baru", follow_up_of=follow_up_of,
                       channel_meta={"reply_to": reply_to} if reply_to else {})


SMS_REPORTER = (SenderKind.MSISDN, REPORTER)
# Instagram: a comment's sender is its author's user id (`from.id`), the username its display name; a post's sender,
# and any sender stored before comments were read with `from`, is the username.
IG_REPORTER_ID, IG_STRANGER_ID = "17841452907381265", "17841460128835172"


def ig(sender_id: str, name: str | None, *, parent: bool = False) -> ReportDraft:
    return draft(SenderKind.IG_USER, sender_id, name=name, channel=Channel.INSTAGRAM, anonymous=parent,
                 follow_up_of=None if parent else PARENT)



@dataclass(frozen=True)
class Row:
    id: str
    parent: ReportDraft | None  # the report as the gateway holds it; None: its envelope is gone
    follow_up: ReportDraft
    expected: bool | None
    anonymous: bool = True


ROWS = [
    Row("same-number", draft(*SMS_REPORTER, anonymous=True, follow_up_of=None), draft(*SMS_REPORTER), True),
    Row("another-number", draft(*SMS_REPORTER, anonymous=True, follow_up_of=None),
        draft(SenderKind.MSISDN, STRANGER), False),
    Row("same-number-anonim-again", draft(*SMS_REPORTER, anonymous=True, follow_up_of=None),
        draft(*SMS_REPORTER, anonymous=True), True),
    Row("same-x-account", draft(SenderKind.X_USER, "1500000000000001", anonymous=True, channel=Channel.TWITTER,
                                follow_up_of=None),
        draft(SenderKind.X_USER, "1500000000000001", channel=Channel.TWITTER), True),
    Row("another-x-account", draft(SenderKind.X_USER, "1500000000000001", anonymous=True, channel=Channel.TWITTER,
                                   follow_up_of=None),
        draft(SenderKind.X_USER, "1500000000000002", channel=Channel.TWITTER), False),
    Row("the-reporter-on-another-channel", draft(*SMS_REPORTER, anonymous=True, follow_up_of=None),
        draft(SenderKind.IG_USER, "17841400000000001", channel=Channel.INSTAGRAM), False),
    Row("mail-from-the-reply-to-the-report-asked", draft(SenderKind.EMAIL, "warga@contoh.net", anonymous=True,
                                                         channel=Channel.EMAIL, reply_to="Rumah@Contoh.NET",
                                                         follow_up_of=None),
        draft(SenderKind.EMAIL, "rumah@contoh.net", channel=Channel.EMAIL), True),
    Row("open-report-another-number", draft(*SMS_REPORTER, follow_up_of=None),
        draft(SenderKind.MSISDN, STRANGER), False, anonymous=False),
    Row("open-report-its-sender", draft(*SMS_REPORTER, follow_up_of=None), draft(*SMS_REPORTER), True,
        anonymous=False),
    # The case store knows the named report's sender: true would name the anonymous follow-up's writer, false say
    # who it was not.
    Row("anonymous-follow-up-to-a-named-report-by-its-sender", draft(*SMS_REPORTER, follow_up_of=None),
        draft(*SMS_REPORTER, anonymous=True), None),
    Row("anonymous-follow-up-to-a-named-report-by-another", draft(*SMS_REPORTER, follow_up_of=None),
        draft(SenderKind.MSISDN, STRANGER, anonymous=True), None),
    Row("report-no-longer-held", None, draft(*SMS_REPORTER), None),
    # A username can be changed, and then taken by someone else: the user id decides.
    Row("ig-the-reporter-renamed", ig(IG_REPORTER_ID, "siti.rahma", parent=True), ig(IG_REPORTER_ID, "siti.r2"),
        True),
    Row("ig-the-reporters-old-username-taken-over", ig(IG_REPORTER_ID, "siti.rahma", parent=True),
        ig(IG_STRANGER_ID, "siti.rahma"), False),
    Row("ig-no-id-to-a-report-filed-by-id", ig(IG_REPORTER_ID, "siti.rahma", parent=True),
        ig("siti.rahma", "siti.rahma"), False),
    # A report filed by username (before the user id was read, or a post's): the username is all there is.
    Row("ig-stored-by-username-its-username", ig("siti.rahma", None, parent=True), ig(IG_REPORTER_ID, "siti.rahma"),
        True),
    Row("ig-stored-by-username-another", ig("siti.rahma", None, parent=True), ig(IG_STRANGER_ID, "budi.bdg"), False),
    Row("ig-post-by-username-its-username", ig("siti.rahma", "siti.rahma", parent=True),
        ig(IG_REPORTER_ID, "siti.rahma"), True),
]


def hold(redis: Redis, row: Row) -> None:
    redis.set(SEQUENCE_KEY, 1_000_100)  # the ID was minted
    if row.parent is not None:
        redis.set(envelope_key(PARENT), row.parent.envelope_json(PARENT))


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_a_follow_up_says_whether_its_reports_sender_sent_it(row: Row, redis: Redis) -> None:
    hold(redis, row)
    resolved, unknown = resolve_follow_up_now(redis, row.follow_up)
    assert not unknown and resolved.follow_up_of == PARENT
    assert (resolved.from_reports_sender, resolved.anonymous) == (row.expected, row.anonymous)
    assert resolved.sender == row.follow_up.sender  # the gateway keeps it, to answer


@pytest.mark.parametrize("row", [row for row in ROWS if row.parent is not None], ids=lambda row: row.id)
async def test_the_webhook_path_says_the_same(row: Row, redis: Redis, settings: Settings) -> None:
    hold(redis, row)
    async with casestore_client(settings, 1.0) as client:  # not asked: the report is held
        resolved, _ = await resolve_follow_up(redis, client, row.follow_up)
    assert (resolved.from_reports_sender, resolved.anonymous) == (row.expected, row.anonymous)


# -- a report only the case store still has: its flags as the case store gives them -----------------------------------


@dataclass(frozen=True)
class Answer:
    id: str
    flags: dict[str, Any]  # what the case store's GET /v1/reports/{id} says besides the tracking ID and status
    expected: tuple[bool, bool]  # (anonymous, confidential) of the follow-up


# Only JSON true and false are flags; anything else is a flag the case store cannot tell: anonymous, not confidential,
# as when it does not answer at all.
ANSWERS = [
    Answer("flags-missing", {}, (True, False)),
    Answer("null", {"anonymous": None, "confidential": None}, (True, False)),
    Answer("false-as-a-string", {"anonymous": "false", "confidential": "false"}, (True, False)),
    Answer("zero", {"anonymous": 0, "confidential": 0}, (True, False)),
    Answer("true", {"anonymous": True, "confidential": True}, (True, True)),
    Answer("false", {"anonymous": False, "confidential": False}, (False, False)),
    Answer("anonymous-missing-confidential-true", {"confidential": True}, (True, True)),
    Answer("anonymous-false-confidential-null", {"anonymous": False, "confidential": None}, (False, False)),
]


def case_store_answering(flags: dict[str, Any]) -> Callable[[], web.Application]:
    """A case store whose report GET gives what design.md asks of it, a status, and `flags` besides."""

    def factory() -> web.Application:
        async def report(request: web.Request) -> web.Response:
            tracking_id = request.match_info["tracking_id"]
            return web.json_response({"tracking_id": tracking_id, "status": "in_progress", **flags})

        app = web.Application()
        app.router.add_get("/v1/reports/{tracking_id}", report)
        return app

    return factory


@pytest.mark.parametrize("answer", ANSWERS, ids=[answer.id for answer in ANSWERS])
async def test_a_follow_up_to_a_report_only_the_case_store_has_takes_only_the_flags_it_gives_as_booleans(
    answer: Answer, redis: Redis, settings: Settings
) -> None:
    """The gateway's copy has expired. A case store that keeps only a status (or says `null`, `"false"`, `0`) does not
    make an anonymous report's follow-up carry its sender's number: the flag was read as false."""
    hold(redis, Row("report-no-longer-held", None, draft(*SMS_REPORTER), None))
    server = LoopbackServer(case_store_answering(answer.flags), settings.casestore.port)
    server.start()
    try:
        async with casestore_client(settings, 1.0) as client:
            resolved, unknown = await resolve_follow_up(redis, client, draft(*SMS_REPORTER), lookup_seconds=1.0)
    finally:
        server.stop()
    assert not unknown and resolved.follow_up_of == PARENT
    assert (resolved.anonymous, resolved.confidential) == answer.expected
    assert resolved.from_reports_sender is None and resolved.sender == draft(*SMS_REPORTER).sender


async def test_an_addition_to_an_id_in_the_receiving_process_reserve_is_a_new_report_on_every_path(
    redis: Redis, settings: Settings
) -> None:
    """An ID leased to this process and given to no report yet (`Intake.holds_unminted`): a mention's or a mail's
    addition (`resolve_follow_up_now`) and an SMS's while Redis is away (`redis_down`; the case store down too) are
    new reports, as by SMS with Redis answering. Kept as follow-ups, they went to whichever report took the ID."""
    redis.set(SEQUENCE_KEY, 1_000_100)  # the counter past the ID, as a leased block puts it
    held = {PARENT}.__contains__
    follow_up = draft(SenderKind.MSISDN, STRANGER)
    by_mention = resolve_follow_up_now(redis, follow_up, unminted=held)
    async with casestore_client(settings, 1.0) as client:
        by_sms = await resolve_follow_up(redis, client, follow_up, lookup_seconds=1.0, redis_down=True, unminted=held)
    for resolved, unknown in (by_mention, by_sms):
        assert unknown and (resolved.follow_up_of, resolved.text) == (None, f"{PARENT} ada foto baru")


# -- a report whose copy is damaged: taken as one whose copy is gone --------------------------------------------------


OTHER = format_tracking_id(1_000_002)


def copy_damaged(stream: io.StringIO) -> list[tuple[str, str, str, str]]:
    """The warnings about a damaged copy: (level, channel, the source it was named by where the status views name it
    otherwise, the report's Tracking ID, reason), and nothing else (no field of the copy, no sender, no text)."""
    lines = [e for e in log_events(stream) if e["event"] == "follow_up.copy_damaged"]
    assert all(set(e) - {"source"} == {"event", "level", "timestamp", "channel", "tracking_id", "reason"}
               for e in lines), lines
    return [(e["level"], e["channel"], e.get("source"), e["tracking_id"], e["reason"]) for e in lines]


@pytest.mark.parametrize("row", DAMAGES, ids=[row.id for row in DAMAGES])
async def test_a_follow_up_to_a_report_whose_copy_is_damaged_is_one_to_a_report_whose_copy_is_gone(
    row: Damage, redis: Redis, settings: Settings, log_stream: io.StringIO
) -> None:
    """Mentions (`resolve_follow_up_now`), the webhook path (`resolve_follow_up`, the case store down here) and the
    answer to our public reply (`thread_report`) read a report's copy through one check (gateway/followups.py
    `readable_copy`): the flags and sender were read from it unchecked, so a copy not an object raised, and another
    report's gave its flags and sender (an open follow-up, told as the reporter's words)."""
    redis.set(SEQUENCE_KEY, 1_000_100)  # the ID was minted
    redis.set(envelope_key(PARENT), draft(*SMS_REPORTER, anonymous=True, follow_up_of=None).envelope_json(PARENT))
    redis.set(envelope_key(OTHER), draft(SenderKind.MSISDN, STRANGER, follow_up_of=None).envelope_json(OTHER))
    remember_reply(redis, "twitter", "1800000000000001", PARENT, 3600)
    damage(redis, PARENT, OTHER, row)
    follow_up = draft(SenderKind.MSISDN, STRANGER)
    resolved, unknown = resolve_follow_up_now(redis, follow_up)
    async with casestore_client(settings, 1.0) as client:
        by_webhook, unknown_by_webhook = await resolve_follow_up(redis, client, follow_up, lookup_seconds=1.0)
    for draft_, was_unknown in ((resolved, unknown), (by_webhook, unknown_by_webhook)):
        assert not was_unknown
        assert (draft_.follow_up_of, draft_.anonymous, draft_.from_reports_sender) == (PARENT, True, None)
    assert thread_report(redis, "twitter", "1800000000000001", Sender(kind=SenderKind.MSISDN, id=REPORTER)) is None
    # Read three times, once per message: each read says so.
    expected = [("warning", "sms", None, PARENT, row.reason)] * 2 + [("warning", "x", "twitter", PARENT, row.reason)]
    assert copy_damaged(log_stream) == (expected if row.reason else [])


@pytest.mark.parametrize("row", DAMAGES, ids=[row.id for row in DAMAGES])
async def test_an_sms_to_a_report_whose_copy_is_damaged_is_filed_as_one_to_a_report_whose_copy_is_gone(
    row: Damage, gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings, redis: Redis,
    log_stream: io.StringIO,
) -> None:
    """Through the Twilio webhook: the report's flags come from the case store, as once its copy is gone, and the
    follow-up cannot say whose words it is. A copy not an object failed the webhook (Twilio does not retry: the
    message was lost), and another report's copy, open and by the follow-up's number, filed that number beside the
    anonymous report as its reporter's own words."""
    parent = await post_sms(gateway, REPORTER, "WBS #anonim camat terima suap proyek jalan", "SM" + "1" * 32)
    other = await post_sms(gateway, STRANGER, "Jalan rusak di depan pasar", "SM" + "2" * 32)
    drain(settings, (FORWARD_QUEUE,))
    damage(redis, parent, other, row)
    await post_sms(gateway, STRANGER, f"{parent} laporan ini palsu", "SM" + "3" * 32)
    drain(settings, (FORWARD_QUEUE,))

    report = casestore.get(parent)
    assert report is not None
    told = [(f["text"], f["from_reports_sender"], f["anonymous"], f["sender"]["kind"]) for f in report["follow_ups"]]
    assert told == [("laporan ini palsu", None, True, "reply_handle")]
    assert copy_damaged(log_stream) == ([("warning", "sms-twilio", None, parent, row.reason)] if row.reason else [])


# -- the whole way: Twilio webhooks, the forward worker, the reference case store ------------------------------------


async def post_sms(gateway: GatewayServer, number: str, body: str, sid: str) -> str:
    form = gateway.twilio_form(From=number, Body=body, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)
    response = await gateway.post_twilio(form)
    assert response.status_code == 200
    return tracking_id_in(twiml_message(response.text))


def assert_names_nobody(casestore: CaseStoreServer, database: Path, *identities: Identity) -> None:
    strings = stored_strings(database)
    assert strings, "the search sees the stored rows"
    leaks = {value: hits for value in strings for identity in identities if (hits := identity.found_in(value))}
    assert leaks == {}, f"the case store received a sender: {leaks}"


def handles(report: dict[str, Any]) -> list[str]:
    return [report["sender"]["id"], *(follow_up["sender"]["id"] for follow_up in report["follow_ups"])]


async def test_sms_additions_to_an_anonymous_report_by_its_number_and_by_another_reach_the_case_store_told_apart(
    gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    """The reporter adds from their own number, the official the report names from another ("laporan ini palsu"):
    the agency sees which is which, and neither number. Once the gateway no longer holds the report (its copy
    expires after `intake.envelope_ttl_seconds`), it cannot tell: null. Each envelope has a handle of its own, so the
    handles do not link the reporter's addition to the report either: only `from_reports_sender` says it."""
    parent = await post_sms(gateway, REPORTER, "WBS #anonim camat terima suap proyek jalan", "SM" + "1" * 32)
    drain(settings, (FORWARD_QUEUE,))
    await post_sms(gateway, REPORTER, f"{parent} ada rekaman videonya", "SM" + "2" * 32)
    await post_sms(gateway, STRANGER, f"{parent} laporan ini palsu", "SM" + "3" * 32)
    redis.delete(envelope_key(parent))
    await post_sms(gateway, REPORTER, f"{parent} pelakunya minta lagi", "SM" + "4" * 32)
    drain(settings, (FORWARD_QUEUE,))

    report = casestore.get(parent)
    told = [(f["text"], f["from_reports_sender"], f["anonymous"], f["sender"]["kind"]) for f in report["follow_ups"]]
    assert told == [("ada rekaman videonya", True, True, "reply_handle"),
                    ("laporan ini palsu", False, True, "reply_handle"),
                    ("pelakunya minta lagi", None, True, "reply_handle")]
    assert report["from_reports_sender"] is None  # a report of its own, not a follow-up
    assert len(set(handles(report))) == 4
    assert_names_nobody(casestore, tmp_path / "casestore.db", msisdn_identity(REPORTER), msisdn_identity(STRANGER))


async def test_mentions_adding_to_an_anonymous_report_by_its_author_and_by_another_reach_the_case_store_told_apart(
    gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings, redis: Redis, fake: FakeProviderServer,
    tmp_path: Path,
) -> None:
    fake.state.add_tweet("@lapor1708 #anonim pungli di loket samsat", username="siti_rahasia", name="Siti Rahasia",
                         author_id="1500000000000001")
    intake = Intake(redis, settings)
    try:
        poller = XMentionsPoller(settings, redis, intake)
        poller.poll_once()
        drain(settings, (FORWARD_QUEUE,))
        [parent] = casestore.reports()
        tracking_id = parent["tracking_id"]
        own = fake.state.add_tweet(f"@lapor1708 {tracking_id} kejadian lagi hari ini", username="siti_rahasia",
                                   name="Siti Rahasia", author_id="1500000000000001")
        other = fake.state.add_tweet(f"@lapor1708 {tracking_id} laporan ini fitnah", username="pak_lurah",
                                     name="Pak Lurah", author_id="1500000000000002")
        poller.poll_once()
    finally:
        intake.close()
    drain(settings, (FORWARD_QUEUE,))

    report = casestore.get(tracking_id)
    told = [(f["text"], f["from_reports_sender"], f["anonymous"], f["sender"]["kind"]) for f in report["follow_ups"]]
    assert told == [("kejadian lagi hari ini", True, True, "reply_handle"),
                    ("laporan ini fitnah", False, True, "reply_handle")]
    assert len(set(handles(report))) == 3
    assert_names_nobody(casestore, tmp_path / "casestore.db",
                        Identity(("siti_rahasia", "Siti Rahasia", "1500000000000001", own["id"])),
                        Identity(("pak_lurah", "Pak Lurah", "1500000000000002", other["id"])))


@pytest.mark.parametrize(("body", "language", "text", "confidential"), [
    pytest.param("ANONIM CEK {parent} ini foto pungutannya", "id", "ini foto pungutannya", False, id="anonim-cek"),
    pytest.param("cek [rahasia] ANONIM {parent}", "id", "", True, id="flags-after-the-command"),
    pytest.param("ANONYMOUS CHECK {parent}", "en", "", False, id="english"),
])
async def test_a_witness_flagged_status_query_with_a_photo_reaches_a_named_report_without_their_number(
    body: str, language: str, text: str, confidential: bool, gateway: GatewayServer, casestore: CaseStoreServer,
    settings: Settings, tmp_path: Path,
) -> None:
    """A witness sends "ANONIM CEK <id>" and a photo about someone else's named report: "CEK <id>" with a photo adds
    it to that report, and the flag keeps it anonymous, though the report is not (it was an anonymous new report of
    "CEK <id>": the photo never reached the report). The case store gets a follow-up under an opaque handle, and
    neither the witness's number nor the MMS's ids, which Twilio maps to it."""
    parent = await post_sms(gateway, REPORTER, "Pungli di loket samsat, petugas minta 50 ribu", "SM" + "1" * 32)
    drain(settings, (FORWARD_QUEUE,))
    sid = "MM" + "5" * 32
    media_url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Messages/{sid}/Media/ME{'6' * 32}"
    form = gateway.twilio_form(From=STRANGER, Body=body.format(parent=parent), MessageSid=sid, SmsSid=sid,
                               SmsMessageSid=sid, NumMedia="1", MediaUrl0=media_url, MediaContentType0="image/jpeg")
    response = await gateway.post_twilio(form)
    # its own flags named, as an acknowledgement names them
    assert twiml_message(response.text) == render(flagged("follow_up", anonymous=True, confidential=confidential),
                                                  language, follow_up_of=parent)
    drain(settings, (FORWARD_QUEUE,))

    report = casestore.get(parent)
    assert report is not None and report["anonymous"] is False
    told = [(f["text"], f["anonymous"], f["confidential"], f["from_reports_sender"], f["sender"]["kind"],
             len(f["attachments"])) for f in report["follow_ups"]]
    assert told == [(text, True, confidential, None, "reply_handle", 1)]
    witness = msisdn_identity(STRANGER)
    assert_names_nobody(casestore, tmp_path / "casestore.db",
                        Identity((*witness.needles, sid, f"ME{'6' * 32}"), digits=witness.digits))



@pytest.mark.parametrize(("parent_text", "number", "body", "text", "from_reports_sender"), [
    # the reporter of an anonymous report adds to it: the report's flag goes to the addition
    pytest.param("WBS #anonim camat terima suap proyek jalan", REPORTER, "Tambahan: {parent} ada rekaman videonya",
                 "ada rekaman videonya", True, id="reporter-to-an-anonymous-report"),
    # a witness adds to someone else's named report, asking for anonymity
    pytest.param("Pungli di loket samsat, petugas minta 50 ribu", STRANGER,
                 "ANONIM Tambahan: {parent} saya saksi, saya juga dimintai", "saya saksi, saya juga dimintai", None,
                 id="anonim-witness-to-a-named-report"),
    # help's "Tambah ANONIM" and "<nomor lacak>" as written: it was a named new report holding the ID
    pytest.param("Pungli di loket samsat, petugas minta 50 ribu", STRANGER,
                 "Tambah ANONIM <{parent}> saya saksi, saya juga dimintai", "saya saksi, saya juga dimintai", None,
                 id="tambah-anonim-bracketed-id-witness-to-a-named-report"),
])
async def test_an_addition_labelled_as_help_shows_reaches_its_report_without_the_senders_number(
    parent_text: str, number: str, body: str, text: str, from_reports_sender: bool | None, gateway: GatewayServer,
    casestore: CaseStoreServer, settings: Settings, tmp_path: Path,
) -> None:
    """Help says "Tambahan: <nomor lacak> <isi>", and citizens type its label too. Such an SMS was a new report of the
    whole text under the sender's number: an anonymous report's reporter named beside its Tracking ID, a witness who
    asked for ANONIM named all the same. It is a follow-up of the report it names, as "<id> <isi>" is, anonymous by
    the report's flag or its own, and the case store gets no number of its sender."""
    parent = await post_sms(gateway, REPORTER, parent_text, "SM" + "1" * 32)
    drain(settings, (FORWARD_QUEUE,))
    sid = "SM" + "2" * 32
    form = gateway.twilio_form(From=number, Body=body.format(parent=parent), MessageSid=sid, SmsSid=sid,
                               SmsMessageSid=sid)
    response = await gateway.post_twilio(form)
    # its own ANONIM named; the report's, which the reporter's addition takes, never (anyone may type its ID)
    own = flagged("follow_up", anonymous="ANONIM" in body, confidential=False)
    assert twiml_message(response.text) == render(own, "id", follow_up_of=parent)
    drain(settings, (FORWARD_QUEUE,))

    assert [report["follow_up_of"] for report in casestore.reports()] == [None, parent]  # no new report
    told = [(f["text"], f["anonymous"], f["from_reports_sender"], f["sender"]["kind"])
            for f in casestore.get(parent)["follow_ups"]]
    assert told == [(text, True, from_reports_sender, "reply_handle")]
    sender = msisdn_identity(number)
    assert_names_nobody(casestore, tmp_path / "casestore.db", Identity((*sender.needles, sid), digits=sender.digits))


# -- the subjects our mail replies for a report went out under ---------------------------------------------------------


@pytest.mark.parametrize(("waiting", "subjects", "kept"), [
    # the report waits to be forwarded (its copy with no expiry): kept the default, then as long as the copy
    pytest.param(True, 1, 1, id="waiting-then-forwarded"),
    # forwarded already: as long as its copy stays
    pytest.param(False, 1, 1, id="forwarded"),
    # many additions under subjects of their own: the newest REPLY_SUBJECTS_MAX
    pytest.param(False, REPLY_SUBJECTS_MAX + 3, REPLY_SUBJECTS_MAX, id="past-the-bound"),
])
def test_the_subjects_of_our_mail_replies_for_a_report_live_as_long_as_its_copy(
        redis: Redis, waiting: bool, subjects: int, kept: int) -> None:
    """`remember_reply_subject` keeps the subjects our confirmations of a report's additions went out under (digests,
    the newest few) no longer than the report's copy, and once the report is forwarded (`expire_report`) exactly as
    long: kept the default while the copy waited with no expiry, they expired before it when forwarding took longer."""
    redis.set(envelope_key(PARENT), draft(*SMS_REPORTER, follow_up_of=None).envelope_json(PARENT))
    if not waiting:
        redis.expire(envelope_key(PARENT), 5000)
    digests = [f"{n:08x}" for n in range(subjects)]
    for digest in digests:
        assert remember_reply_subject(redis, PARENT, digest, 100)
    assert reply_subjects(redis, PARENT) == frozenset(digests[-kept:])
    key = REPLY_SUBJECTS_KEY.format(tracking_id=PARENT)
    assert (0 < redis.ttl(key) <= 100) if waiting else (4900 < redis.ttl(key) <= 5000)
    pipe = redis.pipeline(transaction=True)
    expire_report(pipe, PARENT, None, 9000)
    pipe.execute()
    assert 8900 < redis.ttl(key) <= redis.ttl(envelope_key(PARENT)) <= 9000
    redis.delete(envelope_key(PARENT))  # gone: nothing more is remembered for it
    assert not remember_reply_subject(redis, PARENT, "ffffffff", 100)
