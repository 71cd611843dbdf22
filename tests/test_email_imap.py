"""The IMAP poller against a local fake IMAP server: reports made, cursor advanced only past durable mail."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from prometheus_client import REGISTRY
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from channels.email import imap as imap_module
from channels.email.imap import Cursor, ImapPoller, envelope_sender, since_date
from channels.email.store import Quarantine
from gateway.errors import NotDurable
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.intake import Intake, Receipt
from gateway.same_text import SameTextWindow
from gateway.settings import Settings
from normalizer.envelope import ReportDraft
from tests.conftest import TestEnvironment, async_wait_until, free_port, log_events
from tests.email_support import (
    envelope_count,
    fixture,
    mail_nested,
    mail_of_parts,
    mail_with_header_lines,
    outbox,
    run_replies,
)
from tests.fake_imap import FakeImapServer, FakeMailbox

OUTLOOK_ID = "TYZPR03MB7001E2F3A4B5C6D7@TYZPR03MB7001.apcprd03.prod.outlook.com"  # fixture outlook_pdf_attachment


class FailingIntake(Intake):
    """The real intake, except that one chosen message cannot be made durable (as if Redis failed then), or meets
    another error (`error`)."""

    fail_for: str | None = None
    error: Exception | None = None

    async def submit(self, draft: ReportDraft, same_text: SameTextWindow | None = None) -> Receipt:
        if draft.channel_meta.get("message_id") == self.fail_for:
            raise self.error or NotDurable("simulated outage", reason="redis_unavailable")
        return await super().submit(draft, same_text)


@pytest.fixture
def mailbox() -> Iterator[tuple[FakeMailbox, FakeImapServer]]:
    box = FakeMailbox(messages={3: fixture("gmail_alternative"), 7: fixture("autoreply_auto_submitted"),
                                9: fixture("yahoo_alternative")})
    with FakeImapServer(box) as server:
        yield box, server


@pytest.fixture
def imap_settings(test_env: TestEnvironment, mailbox: tuple[FakeMailbox, FakeImapServer]) -> Settings:
    return test_env.settings(LAPOR_EMAIL_IMAP_HOST="127.0.0.1", LAPOR_EMAIL_IMAP_PORT=str(mailbox[1].port),
                             LAPOR_EMAIL_IMAP_SSL="false", LAPOR_EMAIL_IMAP_USER="lapor",
                             LAPOR_EMAIL_IMAP_PASSWORD="imap-secret")


def poller(settings: Settings, redis: Redis, intake: Intake | None = None) -> ImapPoller:
    return ImapPoller(settings, redis, intake or Intake(redis, settings))


async def test_new_mail_is_reported_and_the_cursor_advances(imap_settings: Settings, redis: Redis,
                                                            mailbox: tuple[FakeMailbox, FakeImapServer]) -> None:
    box, _ = mailbox
    imap = poller(imap_settings, redis)
    assert await imap.poll_once() == 3
    assert imap.read_cursor() == Cursor(1700, 9)
    assert envelope_count(redis) == 2  # the autoreply is neither reported nor answered
    # The mailbox's read state is left alone: every fetch of a mail is a PEEK (its size alone sets no \Seen).
    assert all("PEEK" in c for c in box.commands if "FETCH" in c and not c.endswith("(RFC822.SIZE)"))
    # Nothing new: "UID 10:*" still matches UID 9 on a real server; it must not be processed again.
    assert await imap.poll_once() == 0
    box.messages[12] = fixture("base64_utf8")
    assert await imap.poll_once() == 1
    assert imap.read_cursor() == Cursor(1700, 12)
    assert envelope_count(redis) == 3
    run_replies(imap_settings, redis)
    assert sorted(str(reply["To"]) for reply in outbox(imap_settings)) == [
        "ahmad.fauzi@mail.ugm.ac.id", "budi.santoso1987@gmail.com", "wahyu_nugroho@yahoo.co.id"]


async def test_each_mail_of_a_poll_is_logged_under_its_own_tracking_id_only(
    imap_settings: Settings, redis: Redis, log_stream: io.StringIO
) -> None:
    """One poll handles its mails one after another in one task: the auto-reply between two reports must not be
    logged under the Tracking ID of the report before it (an operator grepping that ID would find it)."""
    assert await poller(imap_settings, redis).poll_once() == 3
    events = [e for e in log_events(log_stream) if e["event"] in ("message.accepted", "email.suppressed")]
    assert [e["event"] for e in events] == ["message.accepted", "email.suppressed", "message.accepted"]
    assert "tracking_id" not in events[1]
    assert events[0]["tracking_id"] != events[2]["tracking_id"]


async def test_the_cursor_stops_before_mail_that_is_not_durable(imap_settings: Settings, redis: Redis,
                                                                mailbox: tuple[FakeMailbox, FakeImapServer]) -> None:
    box, _ = mailbox
    box.messages[7] = fixture("outlook_pdf_attachment")
    failing = FailingIntake(redis, imap_settings)
    failing.fail_for = OUTLOOK_ID
    imap = poller(imap_settings, redis, failing)
    with pytest.raises(NotDurable):
        await imap.poll_once()
    assert imap.read_cursor() == Cursor(1700, 3)
    assert envelope_count(redis) == 1
    # The next round (Redis healthy again) starts at UID 7: nothing skipped, nothing repeated.
    assert await poller(imap_settings, redis).poll_once() == 2
    assert imap.read_cursor() == Cursor(1700, 9)
    assert envelope_count(redis) == 3
    failing.close()


async def test_a_mail_that_fails_for_another_reason_is_quarantined_and_the_poll_moves_on(
    imap_settings: Settings, redis: Redis, mailbox: tuple[FakeMailbox, FakeImapServer], log_stream: io.StringIO
) -> None:
    """An error no other mail meets (a bug some mail's content triggers) is that mail's alone: it is kept in the
    quarantine, and the mails after it are taken; before, every round failed on it and IMAP intake stopped there."""
    box, _ = mailbox
    box.messages[7] = fixture("outlook_pdf_attachment")
    broken = FailingIntake(redis, imap_settings)
    broken.fail_for, broken.error = OUTLOOK_ID, RecursionError("maximum recursion depth exceeded")
    imap = poller(imap_settings, redis, broken)
    assert await imap.poll_once() == 3
    assert imap.read_cursor() == Cursor(1700, 9)
    assert envelope_count(redis) == 2
    [entry] = Quarantine(imap_settings.data_dir).list()
    assert (entry.reason, entry.detail) == ("processing_error", "RecursionError: maximum recursion depth exceeded")
    assert Quarantine(imap_settings.data_dir).raw(entry) == box.messages[7]
    assert [e["error"] for e in log_events(log_stream) if e["event"] == "email.failed"] == ["RecursionError"]
    assert await imap.poll_once() == 0
    broken.close()


async def test_a_redis_error_from_one_mail_keeps_the_cursor_before_it(
    imap_settings: Settings, redis: Redis, mailbox: tuple[FakeMailbox, FakeImapServer]
) -> None:
    """A Redis error is no fault of the mail: it is not quarantined, the round stops before it."""
    box, _ = mailbox
    box.messages[7] = fixture("outlook_pdf_attachment")
    failing = FailingIntake(redis, imap_settings)
    failing.fail_for, failing.error = OUTLOOK_ID, RedisConnectionError("Connection refused")
    imap = poller(imap_settings, redis, failing)
    with pytest.raises(NotDurable):
        await imap.poll_once()
    assert imap.read_cursor() == Cursor(1700, 3)
    assert Quarantine(imap_settings.data_dir).list() == []
    assert await poller(imap_settings, redis).poll_once() == 2
    assert envelope_count(redis) == 3
    failing.close()


async def test_a_new_uidvalidity_rereads_the_folder_without_new_reports(
    imap_settings: Settings, redis: Redis, mailbox: tuple[FakeMailbox, FakeImapServer]
) -> None:
    box, _ = mailbox
    imap = poller(imap_settings, redis)
    await imap.poll_once()
    box.uidvalidity = 1800
    box.messages = {1: box.messages[3], 2: box.messages[9]}
    assert await imap.poll_once() == 2
    assert imap.read_cursor() == Cursor(1800, 2)
    assert envelope_count(redis) == 2  # dedup by Message-ID


def pass_the_dedup_window(redis: Redis, settings: Settings) -> None:
    """`intake.dedup_ttl_seconds` on: every key Redis would keep no longer than that (the dedup claims, the replied
    markers) is gone."""
    for key in list(redis.scan_iter("*")):
        if 0 < redis.ttl(key) <= settings.intake.dedup_ttl_seconds:
            redis.delete(key)


async def test_after_a_new_uidvalidity_mail_older_than_the_dedup_window_is_not_filed_again(
    test_env: TestEnvironment, redis: Redis, mailbox: tuple[FakeMailbox, FakeImapServer], log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A renumbered folder is read again, except the mail it held at the change that is older than the dedup window:
    that mail's dedup claim and replied marker have expired, and the mailbox is never emptied, so a migration filed
    every mail of the folder's past again as a new report and answered its sender again."""
    box, server = mailbox
    settings = test_env.settings(LAPOR_EMAIL_IMAP_HOST="127.0.0.1", LAPOR_EMAIL_IMAP_PORT=str(server.port),
                                 LAPOR_EMAIL_IMAP_SSL="false", LAPOR_EMAIL_IMAP_USER="lapor",
                                 LAPOR_EMAIL_IMAP_PASSWORD="imap-secret",
                                 LAPOR_INTAKE_DEDUP_TTL_SECONDS=str(10 * 86400))
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=12), now - timedelta(hours=1)
    box.messages = {3: fixture("gmail_alternative"), 7: fixture("autoreply_auto_submitted")}
    box.dates = {3: old, 7: old}
    imap = poller(settings, redis)
    assert await imap.poll_once() == 2  # the first poll of a folder reads all of it, whatever the dates
    assert envelope_count(redis) == 1
    pass_the_dedup_window(redis, settings)
    box.messages[9], box.dates[9] = fixture("yahoo_alternative"), recent
    assert await imap.poll_once() == 1
    assert envelope_count(redis) == 2
    # A mail arrives, then the server renumbers the folder, copying the recent mail first (1 Yahoo's, 2 the new one,
    # 3 and 4 the old ones): the poller reads the recent ones, one a round here, then passes the old ones at once.
    box.messages[10], box.dates[10] = fixture("base64_utf8"), recent
    box.renumber(1800, order=[9, 10, 3, 7])
    monkeypatch.setattr(imap_module, "BATCH", 1)
    assert await imap.poll_once() == 1  # Yahoo's, deduped
    [changed] = [e for e in log_events(log_stream) if e["event"] == "email.imap_uidvalidity_changed"]
    assert (changed["skipped"], changed["since"]) == (2, since_date(now.timestamp(), 10 * 86400).isoformat())
    assert await imap.poll_once() == 1  # the new one
    assert imap.read_cursor() == Cursor(1800, 4)
    assert envelope_count(redis) == 3
    # Mail that arrives after the change is read whatever its date (moved in from another folder, its date kept).
    box.messages[5], box.dates[5] = fixture("outlook_pdf_attachment"), old
    assert await imap.poll_once() == 1
    assert await imap.poll_once() == 0
    assert imap.read_cursor() == Cursor(1800, 5)
    assert envelope_count(redis) == 4
    run_replies(settings, redis)
    assert len(outbox(settings)) == 4  # one answer a report, none twice


def photo_mail(number: int, size: int) -> bytes:
    """A citizen's mail with a photo of `size` bytes (base64 makes the mail about a third larger)."""
    message = EmailMessage()
    message["From"] = f"Warga {number} <warga{number}@example.net>"
    message["To"] = "pengaduan@lapor.go.id"
    message["Subject"] = f"Jalan rusak {number}"
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content("Foto jalan berlubang terlampir.")
    message.add_attachment(os.urandom(size), maintype="image", subtype="jpeg", filename=f"jalan{number}.jpg")
    return message.as_bytes().replace(b"\n", b"\r\n")


def size_settings(test_env: TestEnvironment, server: FakeImapServer, max_message_bytes: int) -> Settings:
    return test_env.settings(LAPOR_EMAIL_IMAP_HOST="127.0.0.1", LAPOR_EMAIL_IMAP_PORT=str(server.port),
                             LAPOR_EMAIL_IMAP_SSL="false", LAPOR_EMAIL_IMAP_USER="lapor",
                             LAPOR_EMAIL_IMAP_PASSWORD="imap-secret",
                             LAPOR_EMAIL_MAX_MESSAGE_BYTES=str(max_message_bytes))


def bodies_fetched(box: FakeMailbox) -> list[str]:
    """The UID sets whose mails were fetched whole, command by command."""
    return [command.split()[3] for command in box.commands if "BODY.PEEK[]" in command]


async def test_a_round_fetches_a_bounded_number_of_bytes(test_env: TestEnvironment, redis: Redis,
                                                         mailbox: tuple[FakeMailbox, FakeImapServer]) -> None:
    """A batch is fetched whole before any of it is taken: fifty mails of 20 MB (a folder's backlog, which the first
    poll reads) were a gigabyte in memory at once. A round fetches four mails at the size limit's worth."""
    box, server = mailbox
    settings = size_settings(test_env, server, 25_000)
    box.messages = {uid: photo_mail(uid, 17_000) for uid in [1, 2, 3, 4, 5, 6, 9]}  # about 24 KB each: four fit 100 KB
    imap = poller(settings, redis)
    taken = [await imap.poll_once() for _ in range(3)]
    assert taken == [4, 3, 0]
    assert imap.read_cursor() == Cursor(1700, 9)
    assert envelope_count(redis) == 7
    assert bodies_fetched(box) == ["1,2,3,4", "5,6,9"]


def rejected_too_large() -> float:
    return REGISTRY.get_sample_value("lapor_messages_rejected_total",
                                     {"channel": "email-imap", "reason": "too_large"}) or 0


async def test_a_mail_over_the_size_limit_is_passed_without_fetching_it(
    test_env: TestEnvironment, redis: Redis, mailbox: tuple[FakeMailbox, FakeImapServer], log_stream: io.StringIO
) -> None:
    """SMTP refuses a mail over `email.max_message_bytes` (552); the poller fetched it whole and parsed it, and one
    large enough ran the process out of memory, then again on the same mail every round. Its size is read first: it
    is passed unfetched, once the mails before it are durable, logged without its sender, counted as SMTP's size
    refusals are (`too_large`), and not answered (SMTP's refusal is the sending server's to bounce)."""
    box, server = mailbox
    settings = size_settings(test_env, server, 25_000)
    box.messages[5] = photo_mail(5, 30_000)  # about 41 KB, between two mails within the limit
    box.messages[12] = photo_mail(12, 120_000)  # the folder's last mail
    before = rejected_too_large()
    failing = FailingIntake(redis, settings)
    failing.fail_for = "CAHx7kPq8Jd3nE1vYw2=mT0xQ9cZL5fQ@mail.gmail.com"  # UID 3's
    imap = poller(settings, redis, failing)
    with pytest.raises(NotDurable):  # the mail before it not durable: the oversized one is not passed yet
        await imap.poll_once()
    assert imap.read_cursor() is None
    assert rejected_too_large() == before
    assert await poller(settings, redis).poll_once() == 3  # UIDs 3, 7 (an auto-reply) and 9
    assert imap.read_cursor() == Cursor(1700, 12)
    assert envelope_count(redis) == 2
    assert set(bodies_fetched(box)) == {"3,7,9"}
    lines = [e for e in log_events(log_stream) if e["event"] == "message.rejected"]
    assert [(e["channel"], e["source"], e["reason"], e["uid"], e["size"], e["limit"]) for e in lines] == [
        ("email", "email-imap", "too_large", uid, len(box.messages[uid]), 25_000) for uid in (5, 12)]
    assert all("tracking_id" not in e and "@" not in str(e) for e in lines)
    assert rejected_too_large() == before + 2
    assert Quarantine(settings.data_dir).list() == []
    assert await imap.poll_once() == 0  # passed for good: neither fetched nor logged again
    assert len([e for e in log_events(log_stream) if e["event"] == "message.rejected"]) == 2
    assert set(bodies_fetched(box)) == {"3,7,9"}
    run_replies(settings, redis)
    assert sorted(str(reply["To"]) for reply in outbox(settings)) == [
        "budi.santoso1987@gmail.com", "wahyu_nugroho@yahoo.co.id"]
    failing.close()


@pytest.mark.parametrize(("now", "ttl_days", "since"), [
    (datetime(2024, 3, 31, 12, tzinfo=UTC), 30, date(2024, 3, 3)),  # 1 March, plus a day for the time, one for the zone
    (datetime(2024, 3, 31, 0, 0, 1, tzinfo=UTC), 30, date(2024, 3, 3)),
    (datetime(2024, 3, 1, 23, 59, tzinfo=UTC), 30, date(2024, 2, 2)),  # 2024 is a leap year: 31 January
    (datetime(2024, 3, 31, 12, tzinfo=UTC), 3, date(2024, 3, 30)),
    (datetime(2024, 3, 31, 12, tzinfo=UTC), 1, date(2024, 3, 30)),  # a short TTL: yesterday's mail still read
    (datetime(2024, 3, 31, 12, tzinfo=UTC), 0, date(2024, 3, 30)),
], ids=["30-days", "30-days-just-after-midnight", "30-days-across-february", "3-days", "1-day", "no-ttl"])
def test_a_renumbered_folder_is_read_from_a_day_within_the_dedup_window(now: datetime, ttl_days: int,
                                                                       since: date) -> None:
    assert since_date(now.timestamp(), ttl_days * 86400) == since


# (the limit's setting and its value, a mail over it, the reason, the count logged: the first part, level or header
# line over the limit; the mailbox's other mails are within it)
TOO_COMPLEX = {
    "too-many-parts": ("LAPOR_EMAIL_MAX_MIME_PARTS", 10, lambda: mail_of_parts(11), "too_many_parts", "parts"),
    "nested-too-deep": ("LAPOR_EMAIL_MAX_MIME_DEPTH", 10, lambda: mail_nested(400), "too_deeply_nested", "depth"),
    # Past the standard library's recursion limit (~80 KB): a parse of the fetched mail outside our parser's limits
    # raised RecursionError in the fetch, and every round failed on it for good.
    "nested-past-the-recursion-limit": ("LAPOR_EMAIL_MAX_MIME_DEPTH", 30, lambda: mail_nested(1200),
                                        "too_deeply_nested", "depth"),
    "too-many-header-lines": ("LAPOR_EMAIL_MAX_HEADER_LINES", 100, lambda: mail_with_header_lines(400),
                              "too_many_header_lines", "header_lines"),
}


@pytest.mark.parametrize("case", list(TOO_COMPLEX), ids=list(TOO_COMPLEX))
async def test_mail_over_a_mime_limit_is_quarantined_and_the_poll_moves_on(
    test_env: TestEnvironment, redis: Redis, mailbox: tuple[FakeMailbox, FakeImapServer], log_stream: io.StringIO,
    case: str,
) -> None:
    """A poller cannot refuse a mail the way SMTP does: one over `email.max_mime_parts`, `email.max_mime_depth` or
    `email.max_header_lines` is kept unparsed in the quarantine with the reason (never lost, never parsed for
    minutes), and the cursor moves past it."""
    setting, limit, mail, reason, count = TOO_COMPLEX[case]
    box, server = mailbox
    box.messages[7] = mail()
    settings = test_env.settings(LAPOR_EMAIL_IMAP_HOST="127.0.0.1", LAPOR_EMAIL_IMAP_PORT=str(server.port),
                                 LAPOR_EMAIL_IMAP_SSL="false", LAPOR_EMAIL_IMAP_USER="lapor",
                                 LAPOR_EMAIL_IMAP_PASSWORD="imap-secret", **{setting: str(limit)})
    imap = poller(settings, redis)
    assert await imap.poll_once() == 3
    assert imap.read_cursor() == Cursor(1700, 9)
    assert envelope_count(redis) == 2  # the mails before and after it
    [entry] = Quarantine(settings.data_dir).list()
    assert (entry.reason, entry.size) == (reason, len(box.messages[7]))
    assert Quarantine(settings.data_dir).raw(entry) == box.messages[7]
    [line] = [e for e in log_events(log_stream) if e.get("event") == "email.quarantined"]
    assert (line["reason"], line[count], line["limit"]) == (reason, limit + 1, limit)
    assert await imap.poll_once() == 0


async def test_a_bounce_in_the_mailbox_is_not_reported(imap_settings: Settings, redis: Redis,
                                                       mailbox: tuple[FakeMailbox, FakeImapServer]) -> None:
    box, _ = mailbox
    box.messages = {4: fixture("dsn_gmail_other"), 5: b"Return-Path: <>\r\n" + fixture("gmail_alternative")}
    assert await poller(imap_settings, redis).poll_once() == 2
    assert envelope_count(redis) == 0


async def test_two_pollers_of_one_mailbox_fetch_from_one_and_the_other_takes_over_when_it_stops(
    test_env: TestEnvironment, redis: Redis, mailbox: tuple[FakeMailbox, FakeImapServer]
) -> None:
    box, server = mailbox
    settings = test_env.settings(LAPOR_EMAIL_IMAP_HOST="127.0.0.1", LAPOR_EMAIL_IMAP_PORT=str(server.port),
                                 LAPOR_EMAIL_IMAP_SSL="false", LAPOR_EMAIL_IMAP_USER="lapor",
                                 LAPOR_EMAIL_IMAP_PASSWORD="imap-secret", LAPOR_EMAIL_IMAP_INTERVAL_SECONDS="0.1",
                                 LAPOR_POLLERS_LEASE_SECONDS="3")
    # The lease long enough that a loaded machine renews it in time (0.6 s: the standby took over under load); a
    # clean stop releases it, so the take-over below waits for none of it.
    fetches: list[list[int]] = [[], []]
    pollers = [poller(settings, redis), poller(settings, redis)]
    for imap, made in zip(pollers, fetches, strict=True):
        fetch = imap._fetch
        imap._fetch = lambda cursor, fetch=fetch, made=made: made.append(1) or fetch(cursor)  # type: ignore
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(imap.run(stop)) for imap, stop in zip(pollers, stops, strict=True)]
    try:
        await async_wait_until(lambda: envelope_count(redis) == 2 and max(map(len, fetches)) >= 4)
        active = 0 if fetches[0] else 1
        assert fetches[1 - active] == [], "the standby fetched mail"
        stops[active].set()  # a clean stop releases the lease
        await tasks[active]
        before = len(fetches[active])
        box.messages[12] = fixture("base64_utf8")
        await async_wait_until(lambda: envelope_count(redis) == 3)
        assert len(fetches[active]) == before and fetches[1 - active], "the standby did not take over"
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*tasks)
    run_replies(settings, redis)
    assert len(outbox(settings)) == 3  # one reply per mail


async def test_mail_refused_for_a_used_up_id_range_takes_the_email_channel_down_at_once(
    imap_settings: Settings, redis: Redis
) -> None:
    """A round that meets a mail it cannot give a Tracking ID keeps the cursor before it; the channel said "poller
    failing" only two minutes later, and not that nothing could be filed."""
    one_id = imap_settings.model_copy(update={"intake": imap_settings.intake.model_copy(update={"id_end": 1_000_000})})
    imap = poller(one_id, redis)
    await imap._round()  # the first report takes the cell's one ID; the second mail is refused
    assert imap.read_cursor() == Cursor(1700, 7)
    await async_wait_until(lambda: redis.hget("lapor:health:signals:email", "intake_refusals") == b"1")
    monitor = HealthMonitor(redis, load_rules(one_id.health.rules_path()))
    email = {h["channel"]: h for h in monitor.status()["channels"]}["email"]
    assert email["state"] == "down"
    assert email["reason"].startswith("new reports refused (1 in a row, none taken since): id_range_exhausted")


@pytest.mark.parametrize(
    ("failure", "says", "step"),
    [
        pytest.param("nothing_listening", "ConnectionRefusedError",
                     "check that it answers there (LAPOR_EMAIL_IMAP_HOST", id="nothing-listening"),
        pytest.param("password_refused", "MailboxLoginError", "fix LAPOR_EMAIL_IMAP_USER or LAPOR_EMAIL_IMAP_PASSWORD",
                     id="password-refused"),
    ],
)
async def test_a_failing_imap_poll_says_when_it_tries_again_where_and_what_to_do(
    test_env: TestEnvironment, mailbox: tuple[FakeMailbox, FakeImapServer], redis: Redis, failure: str, says: str,
    step: str,
) -> None:
    """The X and Instagram pollers record their next try and the views say it ("(next try ...)"); the IMAP poller
    recorded none, and a mailbox back read as failing with no word of when the poller would find out. Its next
    round is `email.imap_interval_seconds` after the failed one. The reason names the server polled, and what to do
    is the mailbox's, not "see the provider's status page": a refused login is fixed in the settings."""
    port = free_port() if failure == "nothing_listening" else mailbox[1].port
    password = "wrong" if failure == "password_refused" else "imap-secret"
    settings = test_env.settings(LAPOR_EMAIL_IMAP_HOST="127.0.0.1", LAPOR_EMAIL_IMAP_PORT=str(port),
                                 LAPOR_EMAIL_IMAP_SSL="false", LAPOR_EMAIL_IMAP_USER="lapor",
                                 LAPOR_EMAIL_IMAP_PASSWORD=password)
    interval = settings.email.imap_interval_seconds
    now = [1_800_000_000.0]
    imap = ImapPoller(settings, redis, Intake(redis, settings), clock=lambda: now[0])
    await imap._round()
    assert float(redis.hget("lapor:health:signals:email", "poll_retry_at") or 0) == now[0] + interval
    now[0] += 130  # failing for 2 min: degraded, and the round just failed again
    await imap._round()
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), clock=lambda: now[0])
    email = {h["channel"]: h for h in monitor.status()["channels"]}["email"]
    [failing] = [f for f in email["findings"] if f["rule"] == "poll_failing"]
    next_try = datetime.fromtimestamp(now[0] + interval, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    # In the words every poller's reason uses (gateway.health.signals.poll_failure): the X and Instagram pollers' too.
    assert failing["reason"] == f"poller failing for 2 min: {says} talking to 127.0.0.1:{port} (next try {next_try})"
    assert step in failing["action"] and "provider's status page" not in failing["action"], failing["action"]


@pytest.mark.parametrize(("head", "sender"), [
    (b"Return-Path: <budi@example.net>\r\nFrom: budi@example.net\r\n", "budi@example.net"),
    (b"Return-Path: <>\r\nFrom: MAILER-DAEMON@example.net\r\n", ""),
    (b"Return-Path: < >\r\n", ""),
    # folded: the address on the next line was read as a null sender, and the citizen's mail dropped as a bounce's
    (b"Return-Path:\r\n <srs0=k3x9=kelurahan.example.id=p@fwd.example>\r\nFrom: x@example.net\r\n",
     "srs0=k3x9=kelurahan.example.id=p@fwd.example"),
    (b"Return-Path:\n\t<budi@example.net>\nSubject: jalan\n", "budi@example.net"),
    (b"From: budi@example.net\r\n", None),
])
def test_the_envelope_sender_is_the_return_path_read_whole(head: bytes, sender: str | None) -> None:
    assert envelope_sender(head + b"\r\nJalan rusak.\r\n") == sender
