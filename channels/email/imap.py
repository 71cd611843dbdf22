"""The IMAP poller, for a mailbox hosted elsewhere (imap-tools).

The cursor (UIDVALIDITY + last UID, in Redis) advances past a message only once that message and all before it are
durable; a NotDurable stops the round and the next round starts from the same UID. Each mail is fetched unparsed and
handled on its own: one the processor fails on any other way is quarantined and the cursor moves on, so no mail can
stop the folder's intake. A mail over `email.max_message_bytes` (the size SMTP refuses with 552) is never fetched: its
size (RFC822.SIZE) is read first, and it is passed, logged and counted. The first poll of a folder reads all of it. A
changed UIDVALIDITY means the server renumbered the folder: the poller reads again the mail it holds that is recent
enough for the dedup to remember it (`since_date`), the dedup by From and Message-ID keeping that from producing a
second report; the older mail is passed, as the mailbox is never emptied. Messages are fetched with PEEK (never
marked read) and never deleted: the mailbox stays the operator's.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr

from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessage, U
from imap_tools.errors import MailboxFetchError
from imap_tools.mailbox import BaseMailBox
from imap_tools.utils import check_command_status
from redis import Redis
from redis.exceptions import RedisError

from channels.email.processor import MailProcessor
from gateway import metrics
from gateway.errors import NotDurable, TooLarge
from gateway.health.signals import HealthSignals, SignalWriter, poll_failure
from gateway.intake import Intake
from gateway.lease import Lease, lease_account, mailbox_digest, wait_holding_async
from gateway.logs import bind_message_context, clear_message_context, get_logger, sensitive_values
from gateway.settings import EmailSettings, Settings

log = get_logger()

CURSOR_KEY = "lapor:email:imap:cursor:{account}"
BATCH = 50
# A round fetches at most this many mails' worth of bytes at the size limit (`email.max_message_bytes`), and at least
# one mail: a batch is fetched whole, in one command, before the first of it is taken.
FETCH_BUDGET_MESSAGES = 4


class RawMailMessage(MailMessage):
    """imap-tools' message as fetched, unparsed: the raw bytes and the UID. imap-tools' own constructor runs the
    standard library's parser over every mail with none of our limits (channels/email/parse.py), and a mail nested
    1,200 levels deep (80 KB) raised RecursionError inside the fetch: every round failed on it, for good. Our
    parser reads the bytes, within the limits, one mail at a time."""

    def __init__(self, fetch_data: list) -> None:  # no super().__init__: that is the parse
        self.raw, self._raw_uid_data, self._raw_flag_data = self._get_message_data_parts(fetch_data)


class _SslMailBox(MailBox):
    email_message_class = RawMailMessage


class _PlainMailBox(MailBoxUnencrypted):
    email_message_class = RawMailMessage


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the poller is in the folder. After a UIDVALIDITY change, the mail the renumbered folder held then (UIDs up
    to `until`) is read only from day `since` on; from `until` on, everything is read again."""

    uidvalidity: int
    uid: int
    since: date | None = None
    until: int = 0


@dataclass(frozen=True, slots=True)
class Fetched:
    """One round's mail, oldest first, as (UID, the raw mail or None when it is over the size limit and so never
    fetched, its size), and the cursor it starts from (a new one after a UIDVALIDITY change)."""

    start: Cursor
    messages: list[tuple[int, bytes | None, int]]
    past_the_old: bool = False  # the last of the renumbered folder's recent mail: the cursor then moves to `until`
    skipped: int | None = None  # at a UIDVALIDITY change: the renumbered folder's mails older than `since`


def cursor_key(settings: EmailSettings) -> str:
    return CURSOR_KEY.format(account=mailbox_digest(settings))


def since_date(now: float, dedup_ttl_seconds: int) -> date:
    """The first day of mail a renumbered folder is read again from. Older mail has lost its dedup claim and replied
    marker (`intake.dedup_ttl_seconds`): read again, it would be filed again and its sender answered again. IMAP's
    SINCE compares the day alone, in the server's time zone: two days' margin (one for the time of day, one for the
    zone) keeps every mail read within the TTL. Yesterday's and today's mail is read whatever the TTL: it may have
    arrived after the last round before the change."""
    cutoff = datetime.fromtimestamp(now - dedup_ttl_seconds, UTC).date() + timedelta(days=2)
    return min(cutoff, datetime.fromtimestamp(now, UTC).date() - timedelta(days=1))


def envelope_sender(raw: bytes) -> str | None:
    """The Return-Path the delivering server recorded ("" for a bounce), or None when there is none. Its field read
    whole, folded lines too: `Return-Path:` with the address on the next line was read as a null sender, and the
    citizen's mail dropped as a bounce's."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("latin-1")
    lines = head.splitlines()
    for index, line in enumerate(lines):
        if line.lower().startswith("return-path:"):
            folded = [line.split(":", 1)[1]]
            for following in lines[index + 1:]:
                if not following[:1].isspace():
                    break
                folded.append(following)
            value = " ".join(part.strip() for part in folded).strip()
            return "" if value.strip("<> ") == "" else parseaddr(value)[1]
    return None


class ImapPoller:
    def __init__(self, settings: Settings, redis: Redis, intake: Intake, *,
                 signal_writer: SignalWriter | None = None, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock  # the health signals' time, and the next round's
        self.email = settings.email
        self.redis = redis
        self.processor = MailProcessor(settings, redis, intake, source="email-imap", signal_writer=signal_writer)
        self.key = cursor_key(settings.email)
        self.account = lease_account(settings, "email")  # the lease: one poller of this folder at a time

    def read_cursor(self) -> Cursor | None:
        raw = self.redis.hgetall(self.key)
        if not raw:
            return None
        since = raw.get(b"since", b"").decode()
        return Cursor(int(raw[b"uidvalidity"]), int(raw[b"uid"]), date.fromisoformat(since) if since else None,
                      int(raw.get(b"until", 0)))

    def _save_cursor(self, cursor: Cursor) -> None:
        self.redis.hset(self.key, mapping={"uidvalidity": cursor.uidvalidity, "uid": cursor.uid,
                                           "since": cursor.since.isoformat() if cursor.since else "",
                                           "until": cursor.until})

    async def _save(self, cursor: Cursor) -> None:
        try:
            await asyncio.to_thread(self._save_cursor, cursor)
        except RedisError as error:
            raise NotDurable("cursor not saved", reason="redis_unavailable") from error

    def _mailbox(self) -> BaseMailBox:
        mailbox_class = _SslMailBox if self.email.imap_ssl else _PlainMailBox
        return mailbox_class(self.email.imap_host, self.email.imap_port, timeout=30)

    def _fetch(self, cursor: Cursor | None) -> Fetched:
        """The messages after the cursor, at most BATCH. The first poll of a folder (no cursor) reads all of it."""
        with self._mailbox().login(self.email.imap_user, self.email.imap_password, self.email.imap_folder) as box:
            uidvalidity = int(box.folder.status(self.email.imap_folder, ["UIDVALIDITY"])["UIDVALIDITY"])
            skipped = None
            if cursor is None:
                cursor = Cursor(uidvalidity, 0)
            elif cursor.uidvalidity != uidvalidity:
                cursor, skipped = self._renumbered(box, uidvalidity)
            recent_only = cursor.since is not None and cursor.uid < cursor.until
            criteria = AND(uid=U(cursor.uid + 1, cursor.until), date_gte=cursor.since) if recent_only \
                else AND(uid=U(cursor.uid + 1, "*"))
            # "n:*" also matches the last message when it is below n
            uids = sorted(uid for uid in map(int, box.uids(criteria)) if uid > cursor.uid)
            wanted, oversized = self._within_budget(uids[:BATCH], self._sizes(box, uids[:BATCH]))
            batch = {str(uid) for uid in wanted}
            found = [(int(message.uid or 0), message.raw, len(message.raw))
                     for message in box.fetch(uid_list=sorted(batch), mark_seen=False, bulk=True)
                     if message.uid in batch] if batch else []
        messages = sorted([*found, *((uid, None, size) for uid, size in oversized)], key=lambda item: item[0])
        return Fetched(cursor, messages, recent_only and len(uids) <= len(batch) + len(oversized), skipped)

    @staticmethod
    def _sizes(box: BaseMailBox, uids: list[int]) -> dict[int, int]:
        """The sizes the server gives (RFC822.SIZE) of `uids`' mails, in one command, before any of them is fetched
        (the UIDs come from a SEARCH, which holds the date criterion of a renumbered folder: a FETCH has none)."""
        if not uids:
            return {}
        result = box.client.uid("FETCH", ",".join(map(str, uids)), "(RFC822.SIZE)")
        check_command_status(result, MailboxFetchError)
        sizes: dict[int, int] = {}
        for item in result[1]:
            line = item[0] if isinstance(item, tuple) else item
            uid, size = (re.search(rb"%s (\d+)" % key, line or b"") for key in (b"UID", rb"RFC822\.SIZE"))
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    def _within_budget(self, uids: list[int], sizes: dict[int, int]) -> tuple[list[int], list[tuple[int, int]]]:
        """The first of `uids` whose mails together fit the round's budget (FETCH_BUDGET_MESSAGES; a size the server
        did not give counts as none), and those among them over the size limit (UID, size), which are passed
        unfetched. Fifty at once, a folder's backlog of 20 MB photo mails (the first poll reads all of it) was a
        gigabyte held in memory at once, every round, by the process that also runs the SMTP server: killed for it,
        it started again on the same fifty. A mail over the limit, fetched whole and parsed, could do the same alone,
        on every round, and SMTP would have refused it (552)."""
        limit = self.email.max_message_bytes
        budget, total = FETCH_BUDGET_MESSAGES * limit, 0
        taken: list[int] = []
        oversized: list[tuple[int, int]] = []
        for uid in uids:
            size = sizes.get(uid, 0)
            if size > limit:
                oversized.append((uid, size))
                continue
            total += size
            if taken and total > budget:
                break
            taken.append(uid)
        return taken, oversized

    def _renumbered(self, box: BaseMailBox, uidvalidity: int) -> tuple[Cursor, int]:
        """The cursor of a folder the server renumbered (a new UIDVALIDITY: a migration, an index rebuild), and how
        many of its mails it passes. Its mails are read again, the Message-ID dedup keeping them from making second
        reports, but only those of the dedup window (`since_date`): the dedup claims of older ones have expired, and
        the mailbox is never emptied, so every mail of the folder's past was filed and answered again. Mail that
        arrives after the change (UIDs past the highest now) is read whatever its date, as on any round."""
        everything = [int(uid) for uid in box.uids("ALL")]
        if not everything:
            return Cursor(uidvalidity, 0), 0
        since, until = since_date(time.time(), self.settings.intake.dedup_ttl_seconds), max(everything)
        recent = box.uids(AND(uid=U(1, until), date_gte=since))
        return Cursor(uidvalidity, 0, since, until), len(everything) - len(recent)

    async def poll_once(self) -> int:
        """One round; returns how many messages were made durable. Raises NotDurable if Redis is down."""
        try:
            cursor = await asyncio.to_thread(self.read_cursor)
        except RedisError as error:
            raise NotDurable("cursor unreadable", reason="redis_unavailable") from error
        fetched = await asyncio.to_thread(self._fetch, cursor)
        start = fetched.start
        if fetched.skipped is not None:  # a count only: nothing of the mails passed is logged
            log.warning("email.imap_uidvalidity_changed", channel="email-imap", skipped=fetched.skipped,
                        since=start.since.isoformat() if start.since else None)
            await self._save(start)  # the cutoff holds for every round of this UIDVALIDITY, whatever this one does
        done = 0
        for uid, raw, size in fetched.messages:
            if raw is None:
                self._pass_oversized(uid, size)
            else:
                await self._take(raw)
                done += 1
            await self._save(replace(start, uid=uid))
        if fetched.past_the_old:  # what remains below `until` is older than `since`: passed on purpose
            await self._save(Cursor(start.uidvalidity, start.until))
        return done

    def _pass_oversized(self, uid: int, size: int) -> None:
        """A mail over `email.max_message_bytes`, passed without its body fetched: logged (its UID, size and the limit;
        nothing of its sender) and counted (`lapor_messages_rejected_total`, reason `too_large`: a size refusal's,
        SMTP's 552). No one is answered, as at SMTP: there the sending server bounces the mail to its sender, and
        the poller, which does not read the mail, does not know its sender."""
        clear_message_context()  # not under the Tracking ID of the mail before it
        bind_message_context(channel=self.processor.source)
        metrics.REJECTED.labels(self.processor.source, TooLarge.reason).inc()
        log.warning("message.rejected", reason=TooLarge.reason, uid=uid, size=size, limit=self.email.max_message_bytes)

    async def _take(self, raw: bytes) -> None:
        """One mail through the processor. NotDurable (or a Redis error) stops the round before this mail; any other
        failure is this mail's alone: it is quarantined (never lost: reprocess it once the cause is fixed) and the
        cursor moves past it, where the round failed on it again and again and no later mail was taken."""
        sender, recipients = envelope_sender(raw), list(self.email.addresses[:1])
        with sensitive_values():  # the mail's words and sender, once parsed, on every line about it
            try:
                await self.processor.process(raw, sender, recipients)
            except NotDurable:
                raise
            except RedisError as error:
                raise NotDurable(f"redis unavailable: {type(error).__name__}", reason="redis_unavailable") from error
            except Exception as error:
                log.exception("email.failed", error=type(error).__name__)
                await self.processor.quarantine_mail(raw, "processing_error", f"{type(error).__name__}: {error}",
                                                     sender, recipients)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every imap_interval_seconds until `stop` is set, while this process holds the mailbox's lease
        (another `smtp` process polling the same folder is the standby); any failure waits for the next round."""
        lease = Lease(self.redis, self.account, self.settings.pollers.lease_seconds, channel="email-imap")
        while not stop.is_set():
            if not await asyncio.to_thread(lease.hold):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=lease.check_seconds)
                continue
            await self._round()
            lease.check_round()
            await wait_holding_async(lease, stop, self.email.imap_interval_seconds)
        if lease.held:
            await asyncio.to_thread(lease.release)

    async def _round(self) -> None:
        try:
            count = await self.poll_once()
            await asyncio.to_thread(HealthSignals(self.redis, clock=self.clock).poll_succeeded, "email")
            if count:
                log.info("email.imap_polled", channel="email-imap", count=count)
        except NotDurable as error:  # the mailbox answered: what it gave could not be made durable
            log.error("email.imap_not_durable", channel="email-imap", reason=error.reason)
            self.processor.refused(error.reason)
        except Exception as error:  # a broken server or network: log, keep the cursor, try again later
            log.error("email.imap_failed", channel="email-imap", error=type(error).__name__)
            # The next round is `imap_interval_seconds` away (`run`): the views say it ("next try ..."), as the social
            # pollers' backoff; without it a mailbox back read as failing with no word of when the poller would know.
            # The server it failed at, for the views: "ConnectionRefusedError" alone left the operator to find which
            # host and port this process polls.
            reason = poll_failure(f"{self.email.imap_host}:{self.email.imap_port}", type(error).__name__,
                                  answered=False)
            await asyncio.to_thread(HealthSignals(self.redis, clock=self.clock).poll_failed, "email", reason,
                                    retry_at=self.clock() + self.email.imap_interval_seconds)
