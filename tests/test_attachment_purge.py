"""`lapor-gateway attachments purge`: the files no report needs any more go, and nothing a report needs.

On real Redis and a real data dir: a table of kept files (their age, what in Redis names them) through the purge; a
table of the spool's quarantined records and the e-mail and SMS outboxes' replies, written by the gateway's own
writers, which go by their age alone; an anonymous report's photo through the SMTP server, the forward worker and the
reference case store, whose copy without metadata goes by its age and whose original goes once its envelope is gone;
writers racing the purge (a mail with the same file, the forward worker reusing a fetched file, a mail or a spool
record quarantined again) at the two moments that matter; and the command as an operator's cron runs it: the dry run
deletes nothing, the log line, the exit codes.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from redis import Redis

from channels.email.reply import build_reply, outbox_dir, write_to_outbox
from channels.email.store import Quarantine
from channels.sms_aggregator_send import AggregatorSender, reply_parts
from gateway.attachments import attachment_location, store_attachment
from gateway.queues import FORWARD_QUEUE, envelope_key
from gateway.settings import Settings
from gateway.spool import SPOOL_DIR, Spool, SpoolRecord
from gateway.tracking import SEQUENCE_KEY, format_tracking_id
from tests.aggregator_support import drain
from tests.cli_process import run_cli
from tests.conftest import CaseStoreServer, TestEnvironment, free_port
from tests.email_support import RECIPIENT
from tests.image_support import fixture
from tests.test_withheld_files import FileKind, mail_in, mail_with
from workers import retention
from workers.context import WorkerContext
from workers.deadletters import DeadLetters
from workers.media import fetch_provider_media, fetched_key
from workers.retention import DAY_SECONDS, NotTheGatewaysRedis, purge

PHOTO = fixture("phone.jpg")  # Exif GPS, owner and serial: the case store gets a copy without them
RAW_MAIL = b"From: \r\nTo: pengaduan@lapor.go.id\r\n\r\nPungli di loket 3, saya warga@example.net\r\n"
URL = "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/MM1/Media/ME1"
FIRST_SEQUENCE = 1_000_000


def cli(test_env: TestEnvironment, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(list(args), test_env.process_env(COLUMNS="200", **env))


def kept_file(settings: Settings, data: bytes, age_days: float) -> Path:
    """A file kept as the gateway keeps it, last used `age_days` ago."""
    sha256 = hashlib.sha256(data).hexdigest()
    path = settings.data_dir / store_attachment(settings.data_dir, sha256, data)
    aged(path, age_days)
    return path


def aged(path: Path, age_days: float) -> None:
    then = time.time() - age_days * DAY_SECONDS
    os.utime(path, (then, then))


def tracking_id(redis: Redis, offset: int = 0) -> str:
    """A Tracking ID as minted: the sequence counter is past it."""
    sequence = FIRST_SEQUENCE + offset
    redis.set(SEQUENCE_KEY, max(sequence, int(redis.get(SEQUENCE_KEY) or 0)))
    return format_tracking_id(sequence)


def stored_envelope(redis: Redis, tid: str, attachments: list[dict[str, object]], *, raw: bytes | None = None) -> None:
    """An envelope as intake stores it (no TTL until its report is forwarded)."""
    envelope = {"envelope_version": 1, "tracking_id": tid, "channel": "email", "anonymous": True,
                "text": "Pungli di loket 3", "attachments": attachments}
    redis.set(envelope_key(tid), raw if raw is not None else orjson.dumps(envelope))


def mailed(path: Path) -> dict[str, object]:
    return {"content_type": "application/pdf", "size": path.stat().st_size, "sha256": path.name,
            "name": "bukti.pdf", "location": attachment_location(path.name), "flags": []}


# -- what keeps a file ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    id: str
    age_days: float
    named_by: str  # "": nothing; "envelope", "dead letter", "fetched", "expired envelope", "spool", ... (see name_it)
    kept: bool
    older_than: int | None = None


ROWS = [
    Row("old, named by nothing", 31, "", kept=False),
    Row("old, its envelope expired", 45, "expired envelope", kept=False),
    Row("old, its report waits to be forwarded", 400, "envelope", kept=True),
    Row("old, its report dead-lettered (an operator may requeue it)", 90, "dead letter", kept=True),
    Row("old, fetched from the provider URL its envelope names", 45, "fetched", kept=True),
    Row("old, its envelope damaged but holding its sha256", 45, "damaged envelope", kept=True),
    Row("old, fetched from the provider URL its damaged envelope names", 45, "fetched, damaged envelope", kept=True),
    Row("old, its report waits in the spool (answered while Redis was down)", 45, "spool", kept=True),
    Row("old, its report waits in a spool file claimed for replay", 45, "claimed spool", kept=True),
    Row("old, its spooled record damaged but holding its sha256", 45, "damaged spool", kept=True),
    Row("new, named by nothing", 2, "", kept=True),
    Row("10 days old, named by nothing: the default retention keeps it", 10, "", kept=True),
    Row("10 days old, named by nothing, --older-than 7", 10, "", kept=False, older_than=7),
    Row("10 days old, its report waits, --older-than 7", 10, "envelope", kept=True, older_than=7),
]


def name_it(settings: Settings, redis: Redis, path: Path, named_by: str) -> None:
    tid = tracking_id(redis)
    if named_by in ("envelope", "dead letter", "expired envelope"):
        stored_envelope(redis, tid, [mailed(path)])
    if named_by == "dead letter":
        DeadLetters(redis).add_forward(tid, {"channel": "email"}, reason="casestore_422", detail="refused",
                                       attempts=1)
    if named_by == "expired envelope":
        redis.delete(envelope_key(tid))  # as its TTL does, intake.envelope_ttl_seconds after forwarding
    if named_by == "fetched":  # the gateway's copy keeps the URL; the forward worker's record names the file
        stored_envelope(redis, tid, [{"content_type": "image/jpeg", "location": URL, "flags": []}])
        redis.set(fetched_key(URL), orjson.dumps({"sha256": path.name, "size": path.stat().st_size,
                                                   "content_type": "image/jpeg"}))
    if named_by.endswith("spool"):  # not in Redis yet: only the host's spool names it
        spool = Spool(settings.data_dir / SPOOL_DIR)
        spool.check_writable()
        spool.append([SpoolRecord(tid, f"email:{tid}", {"tracking_id": tid, "attachments": [mailed(path)]})])
        spool.close()
        [pending] = spool.pending_files()
        if named_by == "claimed spool":
            pending.rename(pending.with_suffix(".replaying"))
        if named_by == "damaged spool":
            pending.write_bytes(pending.read_bytes().replace(b"bukti.pdf", b"bukti.pdX"))
    if named_by == "fetched, damaged envelope":  # cut short, as a damaged envelope is: its URL whole
        stored_envelope(redis, tid, [], raw=b'{"tracking_id": "' + tid.encode() + b'", "attachments": [{"location": "'
                        + URL.encode() + b'", "content_type": "image/jp')
        redis.set(fetched_key(URL), orjson.dumps({"sha256": path.name, "size": path.stat().st_size,
                                                   "content_type": "image/jpeg"}))
    if named_by == "damaged envelope":
        stored_envelope(redis, tid, [], raw=b'{"tracking_id": "' + tid.encode() + b'", "attachments": [{"sha256": "'
                        + path.name.encode() + b'", "location": "attachments/')


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_a_file_goes_once_nothing_names_it_and_it_is_older_than_the_retention(
        row: Row, settings: Settings, redis: Redis) -> None:
    path = kept_file(settings, b"%PDF-1.7 /Author (Budi Santoso) " + row.id.encode(), row.age_days)
    name_it(settings, redis, path, row.named_by)

    result = purge(settings, redis, older_than_days=row.older_than)

    assert path.exists() == row.kept
    assert (result.deleted.files, result.kept_named.files + result.kept_recent.files) == (
        (0, 1) if row.kept else (1, 0))
    assert result.retention_seconds == (row.older_than or 30) * DAY_SECONDS


def test_a_spool_file_claimed_for_replay_as_the_purge_lists_it_is_read_under_its_new_name(
        settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    path = kept_file(settings, b"%PDF-1.7 /Author (Budi Santoso) claimed", 45)
    name_it(settings, redis, path, "spool")
    listed = Spool(settings.data_dir / SPOOL_DIR).pending_files()

    def listed_then_claimed(spool: Spool) -> list[Path]:
        for pending in listed:  # a replayer claims it between the listing and the read
            pending.rename(pending.with_suffix(".replaying"))
        return listed

    monkeypatch.setattr(Spool, "pending_files", listed_then_claimed)
    purge(settings, redis)

    assert path.exists()


def test_a_spool_file_that_cannot_be_read_stops_the_purge(
        settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    path = kept_file(settings, b"%PDF-1.7 /Author (Budi Santoso) unreadable", 45)
    tracking_id(redis)
    cannot_be_read = settings.data_dir / SPOOL_DIR / "vm-p1-t1.spool"
    cannot_be_read.mkdir(parents=True)  # opened, it raises an OSError other than "not found"
    monkeypatch.setattr(Spool, "pending_files", lambda spool: [cannot_be_read])

    with pytest.raises(retention.SpoolUnreadable, match="nothing was deleted"):
        purge(settings, redis)
    assert path.exists()


def test_a_write_cut_short_goes_by_its_age_and_other_files_are_left(settings: Settings, redis: Redis) -> None:
    tracking_id(redis)
    folder = settings.data_dir / "attachments" / "ab"
    folder.mkdir(parents=True)
    cut_short, writing, foreign = folder / f".ab{'0' * 62}.77.88.tmp", folder / f".ab{'1' * 62}.77.88.tmp", \
        folder / "README"
    for path, age in ((cut_short, 40), (writing, 0), (foreign, 400)):
        path.write_bytes(b"part of a photo")
        aged(path, age)

    purge(settings, redis)

    assert (cut_short.exists(), writing.exists(), foreign.exists()) == (False, True, True)


def test_an_anonymous_reports_copy_goes_by_its_age_and_its_original_with_its_envelope(
        test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer) -> None:
    """The copy without metadata was the case store's: no envelope names it. The original, GPS and all, is what an
    operator may still hand over while the envelope is in Redis, and nobody can tell whose it is after."""
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    tid = mail_in(settings, redis, mail_with(FileKind(PHOTO, "image/jpeg", "IMG_2025.jpg", "removed")))
    drain(settings, (FORWARD_QUEUE,))
    got = casestore.get(tid)
    assert got is not None
    copy_sha = got["attachments"][0]["sha256"]  # type: ignore[index]
    original = settings.data_dir / attachment_location(hashlib.sha256(PHOTO).hexdigest())
    copy = settings.data_dir / attachment_location(copy_sha)
    assert original != copy and original.exists() and copy.exists()

    assert purge(settings, redis).deleted.files == 0  # both used today
    copy_size = copy.stat().st_size
    for path in (original, copy):
        aged(path, 31)
    first = purge(settings, redis)
    assert (original.exists(), copy.exists()) == (True, False)
    assert (first.deleted.files, first.deleted.bytes, first.kept_named.files) == (1, copy_size, 1)

    redis.delete(envelope_key(tid))  # its TTL, 30 days after forwarding
    assert purge(settings, redis).deleted.files == 1
    assert not original.exists()


# -- what no envelope names: the spool's quarantine and the e-mail outbox go by their age ---------------------------
SPOOLED = SpoolRecord("10000009", "aggregator:telkomsel:8f2c", {
    "tracking_id": "10000009", "channel": "sms", "sender": {"kind": "msisdn", "id": "+6281234567890"},
    "text": "Pungli di loket 3 kantor kelurahan"})


def spool_record_quarantined(settings: Settings) -> list[Path]:
    """A spooled record damaged on disk (a flipped character), quarantined as the replayer does when it reads the
    file it claimed: the line and its reason. Read again, the same record is quarantined again."""
    spool = Spool(settings.data_dir / SPOOL_DIR)
    spool.check_writable()
    claimed = next(spool.directory.glob("*.replaying"), None)
    if claimed is None:
        spool.append([SPOOLED])
        [pending] = spool.pending_files()
        pending.write_bytes(pending.read_bytes().replace(b"loket 3", b"loket 8"))
        claimed = spool.claim(pending)
        assert claimed is not None
    assert list(spool.read(claimed)) == []
    return sorted(spool.quarantine.iterdir())


def reply_in_outbox(settings: Settings) -> list[Path]:
    """The acknowledgement of a mail as the reply worker writes it without a relay: the citizen's address in it."""
    payload = {"tracking_id": format_tracking_id(FIRST_SEQUENCE), "to": "warga@example.net", "kind": "ack",
               "subject": "Pungli di loket 3", "in_reply_to": "CAF3x@mail.example.net"}
    return [write_to_outbox(build_reply(payload, settings), settings)]


def sms_replies_in_outbox(settings: Settings) -> list[Path]:
    """A two-part SMS reply as the reply worker writes it in development (`aggregator.send_url = "outbox:"`): the
    day's file, the citizen's number and the reply's text in it."""
    development = settings.model_copy(update={"aggregator": settings.aggregator.model_copy(
        update={"send_url": "outbox:"})})
    sender = AggregatorSender(development)
    try:
        for part in reply_parts("LAPOR! Laporan Anda diterima. Nomor lacak: 10000011. " * 4, "reply-1"):
            sender.send_part("+6281234567890", part, "reply-1")
    finally:
        sender.close()
    return sorted((settings.data_dir / "outbox").iterdir())


def sms_outbox_of_earlier_versions(settings: Settings) -> list[Path]:
    """The one file earlier versions appended every SMS reply to, for ever."""
    path = settings.data_dir / "outbox" / "sms-aggregator.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b'{"to":"+6281234567890","text":"LAPOR! Laporan Anda diterima."}\n')
    return [path]


def foreign_file_in_sms_outbox(settings: Settings) -> list[Path]:
    path = settings.data_dir / "outbox" / "catatan.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"{}\n")
    return [path]


def foreign_file_in_outbox(name: str) -> Callable[[Settings], list[Path]]:
    """A file the gateway did not write, in an outbox directory an operator chose (`email.outbox_dir`)."""
    def write(settings: Settings) -> list[Path]:
        path = outbox_dir(settings) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"From: operator@example.go.id\r\n\r\ncatatan\r\n")
        return [path]
    return write


def cut_short(make: Callable[[Settings], list[Path]], how: str) -> Callable[[Settings], list[Path]]:
    """What is left of an item when a write (`how`: write_atomically's pid and thread) or a purge (`purge-<pid>`)
    was cut short: one temporary file."""
    def write(settings: Settings) -> list[Path]:
        first, *others = make(settings)
        temporary = first.with_name(f".{first.name}.{how}.tmp")
        first.rename(temporary)
        for other in others:  # deleted by the purge cut short
            other.unlink()
        return [temporary]
    return write


@dataclass(frozen=True)
class Aged:
    id: str
    files: Callable[[Settings], list[Path]]
    kind: str  # the PurgeResult tallies: "spool_quarantine", "outbox" or "sms_outbox"
    age_days: float
    kept: bool
    counted: bool = True  # a file the gateway did not write is neither deleted nor counted
    older_than: int | None = None
    one_written_since: bool = False  # one of the item's files (the .reason) written 2 days ago
    own_outbox: bool = False  # `email.outbox_dir` set to a directory outside the data dir


AGED = [
    Aged("spool record, old", spool_record_quarantined, "spool_quarantine", 31, kept=False),
    Aged("spool record, new", spool_record_quarantined, "spool_quarantine", 2, kept=True),
    Aged("spool record, old, its reason written since", spool_record_quarantined, "spool_quarantine", 31, kept=True,
         one_written_since=True),
    Aged("spool record, 10 days old, --older-than 7", spool_record_quarantined, "spool_quarantine", 10, kept=False,
         older_than=7),
    Aged("spool record cut short, old", cut_short(spool_record_quarantined, "purge-4242"),
         "spool_quarantine", 40, kept=False),
    Aged("outbox reply, old", reply_in_outbox, "outbox", 31, kept=False),
    Aged("outbox reply, new", reply_in_outbox, "outbox", 2, kept=True),
    Aged("outbox reply, 10 days old: the default retention keeps it", reply_in_outbox, "outbox", 10, kept=True),
    Aged("outbox reply, 10 days old, --older-than 7", reply_in_outbox, "outbox", 10, kept=False, older_than=7),
    Aged("outbox reply, old, in an outbox outside the data dir", reply_in_outbox, "outbox", 31, kept=False,
         own_outbox=True),
    Aged("outbox reply cut short, old", cut_short(reply_in_outbox, "4242.139872"), "outbox", 40, kept=False),
    Aged("a mail of another name in the outbox, old", foreign_file_in_outbox("20250101-catatan.eml"), "outbox", 400,
         kept=True, counted=False, own_outbox=True),
    Aged("a temporary file of another name in the outbox, old", foreign_file_in_outbox(".catatan.eml.1.2.tmp"),
         "outbox", 400, kept=True, counted=False, own_outbox=True),
    Aged("SMS outbox day, old", sms_replies_in_outbox, "sms_outbox", 31, kept=False),
    Aged("SMS outbox day, new", sms_replies_in_outbox, "sms_outbox", 2, kept=True),
    Aged("SMS outbox day, 10 days old, --older-than 7", sms_replies_in_outbox, "sms_outbox", 10, kept=False,
         older_than=7),
    Aged("SMS outbox of earlier versions, one file, old", sms_outbox_of_earlier_versions, "sms_outbox", 31,
         kept=False),
    Aged("a file of another name in the SMS outbox, old", foreign_file_in_sms_outbox, "sms_outbox", 400, kept=True,
         counted=False),
]


@pytest.mark.parametrize("row", AGED, ids=[row.id for row in AGED])
def test_quarantined_spool_records_and_outbox_replies_go_by_their_age(
        row: Aged, test_env: TestEnvironment, redis: Redis, tmp_path: Path) -> None:
    settings = test_env.settings(**({"LAPOR_EMAIL_OUTBOX_DIR": str(tmp_path / "balasan")} if row.own_outbox else {}))
    tracking_id(redis)
    paths = row.files(settings)
    assert paths
    for path in paths:
        aged(path, row.age_days)
    if row.one_written_since:
        aged(paths[-1], 2)
    size = sum(path.stat().st_size for path in paths)

    result = purge(settings, redis, older_than_days=row.older_than)

    assert [path.exists() for path in paths] == [row.kept] * len(paths)
    deleted, kept = getattr(result, f"{row.kind}_deleted"), getattr(result, f"{row.kind}_kept")
    expected = (0, 0) if not row.counted else (0, 1) if row.kept else (1, 0)
    assert (deleted.files, kept.files) == expected
    assert (deleted.bytes, kept.bytes) == ((0, 0) if not row.counted else (0, size) if row.kept else (size, 0))
    assert result.failed == 0


# -- writers racing the purge ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Race:
    id: str
    moment: str  # "after the envelopes were read" or "between the look and the removal"
    writer: Callable[[Settings, Redis, Path], None]
    kind: str = "attachment"  # or "quarantined mail", "spool record"


def mailed_again(settings: Settings, redis: Redis, path: Path) -> None:
    """The same bytes in a new report: stored as the SMTP server stores a mail's file, then its envelope."""
    store_attachment(settings.data_dir, path.name, path.read_bytes())
    stored_envelope(redis, tracking_id(redis, 1), [mailed(path)])


def mailed_through_smtp(settings: Settings, redis: Redis, path: Path) -> None:
    mail_in(settings, redis, mail_with(FileKind(path.read_bytes(), "application/pdf", "bukti.pdf", "withheld")))


def fetched_again(settings: Settings, redis: Redis, path: Path) -> None:
    """A new report naming a URL the forward worker fetched for an earlier one: it takes the file it kept."""
    tid = tracking_id(redis, 1)
    envelope = {"tracking_id": tid, "channel": "twilio", "attachments": [{"content_type": "image/jpeg",
                                                                          "location": URL, "flags": []}]}
    stored_envelope(redis, tid, envelope["attachments"])  # type: ignore[arg-type]
    context = WorkerContext.build(settings, redis)
    try:
        sent = fetch_provider_media(context, {tid: envelope}).envelopes[tid]
    finally:
        context.close()
    assert sent["attachments"][0]["sha256"] == path.name  # reused, not fetched


def quarantined_again(settings: Settings, redis: Redis, path: Path) -> None:
    """Reprocessed, and still unreadable: the entry is written again with the new reason."""
    Quarantine(settings.data_dir).add(path.read_bytes(), "parse_error", "again", "warga@example.net", [RECIPIENT])


def spool_record_quarantined_again(settings: Settings, redis: Redis, path: Path) -> None:
    """A replay cut short by another outage, retried: the claimed file read again, the damaged line quarantined again
    (its .bad and .reason written over)."""
    spool_record_quarantined(settings)


RACES = [
    Race("the same file mailed in a new report", "after the envelopes were read", mailed_again),
    Race("the same file mailed through the SMTP server", "after the envelopes were read", mailed_through_smtp),
    Race("the forward worker reusing a file it fetched", "after the envelopes were read", fetched_again),
    Race("the same file mailed in a new report", "between the look and the removal", mailed_again),
    Race("the forward worker reusing a file it fetched", "between the look and the removal", fetched_again),
    Race("the same mail quarantined again", "between the look and the removal", quarantined_again,
         kind="quarantined mail"),
    Race("the same spool record quarantined again", "between the look and the removal",
         spool_record_quarantined_again, kind="spool record"),
]


@pytest.mark.parametrize("race", RACES, ids=[f"{race.id}, {race.moment}" for race in RACES])
def test_a_file_a_writer_uses_while_the_purge_runs_is_kept(
        race: Race, test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    tid = tracking_id(redis)
    if race.kind == "spool record":
        path, _reason = spool_record_quarantined(settings)
        for stale in path.parent.iterdir():
            aged(stale, 31)
    elif race.kind == "quarantined mail":
        path = settings.data_dir / "email" / "quarantine" / f"{hashlib.sha256(RAW_MAIL).hexdigest()}.eml"
        Quarantine(settings.data_dir).add(RAW_MAIL, "parse_error", "first", "warga@example.net", [RECIPIENT])
        for stale in path.parent.iterdir():
            aged(stale, 31)
    elif race.writer is fetched_again:
        path = kept_file(settings, PHOTO, 31)
        redis.set(fetched_key(URL), orjson.dumps({"sha256": path.name, "size": path.stat().st_size,
                                                   "content_type": "image/jpeg"}))
    else:
        path = kept_file(settings, b"%PDF-1.7 bukti " + tid.encode(), 31)
    written = []

    def write_once() -> None:
        if not written:
            race.writer(settings, redis, path)
            written.append(True)

    if race.moment == "after the envelopes were read":
        read = retention.referenced_files

        def then_write(redis_: Redis) -> retention.References:
            references = read(redis_)
            write_once()
            return references

        monkeypatch.setattr(retention, "referenced_files", then_write)
    else:
        set_aside = retention.set_aside

        def write_first(path_: Path, aside: Path) -> None:
            write_once()
            set_aside(path_, aside)

        monkeypatch.setattr(retention, "set_aside", write_first)

    result = purge(settings, redis)

    assert written and path.exists()
    if race.kind == "spool record":
        assert path.with_suffix(".reason").exists()
        assert (result.spool_quarantine_deleted.files, result.spool_quarantine_kept.files) == (0, 1)
    elif race.kind == "quarantined mail":
        assert path.with_suffix(".json").exists()
        assert (result.quarantine_deleted.files, result.quarantine_kept.files) == (0, 1)
    else:
        assert (result.deleted.files, result.kept_recent.files) == (0, 1)
    assert not [name for name in os.listdir(path.parent) if name.endswith(".tmp")]


# -- the command -------------------------------------------------------------------------------------------------------
def test_the_dry_run_counts_what_the_purge_deletes_and_deletes_nothing(
        test_env: TestEnvironment, settings: Settings, redis: Redis) -> None:
    tid = tracking_id(redis)
    old = [kept_file(settings, f"%PDF-1.7 lama {n}".encode(), 40) for n in range(3)]
    named = kept_file(settings, b"%PDF-1.7 menunggu", 40)
    stored_envelope(redis, tid, [mailed(named)])
    young = kept_file(settings, b"%PDF-1.7 baru", 1)
    quarantine = settings.data_dir / "email" / "quarantine"
    quarantine.mkdir(parents=True)
    key = "c" * 64
    for suffix in (".eml", ".json"):
        (quarantine / f"{key}{suffix}").write_bytes(RAW_MAIL)
        aged(quarantine / f"{key}{suffix}", 40)
    for path in (*spool_record_quarantined(settings), *reply_in_outbox(settings), *sms_replies_in_outbox(settings)):
        aged(path, 40)
    spool_quarantine, outbox = settings.data_dir / "spool" / "quarantine", outbox_dir(settings)
    spool_bytes = sum(path.stat().st_size for path in spool_quarantine.iterdir())
    [reply] = outbox.iterdir()
    reply_bytes = reply.stat().st_size
    [sms_day] = (settings.data_dir / "outbox").iterdir()
    sms_bytes = sms_day.stat().st_size
    every_file = sorted(str(path) for path in settings.data_dir.rglob("*") if path.is_file())
    old_bytes = sum(path.stat().st_size for path in old)

    dry = cli(test_env, "attachments", "purge", "--dry-run")

    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert sorted(str(path) for path in settings.data_dir.rglob("*") if path.is_file()) == every_file
    assert f"would delete 3 file(s), {old_bytes:,} bytes; kept 1 named by an envelope, 1 used within 30 day(s)" \
        in dry.stdout
    assert f"quarantined mail: would delete 1 mail(s), {2 * len(RAW_MAIL)} bytes" in dry.stdout
    assert f"spool quarantine: would delete 1 record(s), {spool_bytes:,} bytes; kept 0" in dry.stdout
    assert f"e-mail outbox: would delete 1 reply(ies), {reply_bytes:,} bytes; kept 0" in dry.stdout
    assert f"SMS outbox: would delete 1 day(s) of replies, {sms_bytes:,} bytes; kept 0" in dry.stdout
    assert "envelopes in Redis: 1" in dry.stdout and "dry run: nothing was deleted" in dry.stdout
    assert '"attachments.purged"' not in dry.stdout + dry.stderr
    assert not re.search(r"[0-9a-f]{16}", dry.stdout + dry.stderr)  # no file's name, not even a sha256's start

    done = cli(test_env, "attachments", "purge")

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"deleted 3 file(s), {old_bytes:,} bytes" in done.stdout
    assert [path.exists() for path in (*old, named, young)] == [False, False, False, True, True]
    assert list(quarantine.iterdir()) == list(spool_quarantine.iterdir()) == list(outbox.iterdir()) == []
    assert list(sms_day.parent.iterdir()) == []
    line = next(orjson.loads(text) for text in done.stderr.splitlines() if '"attachments.purged"' in text)
    assert {name: line[name] for name in ("files", "megabytes", "kept_named", "kept_recent", "quarantined_mails",
                                          "spool_quarantined_records", "spool_quarantined_megabytes",
                                          "spool_quarantined_kept", "outbox_replies", "outbox_megabytes",
                                          "outbox_kept", "sms_outbox_days", "sms_outbox_megabytes",
                                          "sms_outbox_kept", "envelopes", "failed", "retention_days")} == {
        "files": 3, "megabytes": old_bytes / 1_000_000, "kept_named": 1, "kept_recent": 1, "quarantined_mails": 1,
        "spool_quarantined_records": 1, "spool_quarantined_megabytes": spool_bytes / 1_000_000,
        "spool_quarantined_kept": 0, "outbox_replies": 1, "outbox_megabytes": reply_bytes / 1_000_000,
        "outbox_kept": 0, "sms_outbox_days": 1, "sms_outbox_megabytes": sms_bytes / 1_000_000,
        "sms_outbox_kept": 0, "envelopes": 1, "failed": 0, "retention_days": 30}
    assert not re.search(r"[0-9a-f]{16}", done.stdout + done.stderr)


def test_a_purge_that_cannot_tell_what_is_needed_deletes_nothing(
        test_env: TestEnvironment, settings: Settings, redis: Redis) -> None:
    old = kept_file(settings, b"%PDF-1.7 lama", 40)

    fresh = cli(test_env, "attachments", "purge")  # a Redis that never minted a Tracking ID: the wrong one?
    assert (fresh.returncode, fresh.stdout.startswith("UNKNOWN: no sign of this deployment"), old.exists()) == \
        (2, True, True), fresh.stdout
    with pytest.raises(NotTheGatewaysRedis):
        purge(settings, redis)

    tracking_id(redis)
    port = free_port()
    unreachable = cli(test_env, "attachments", "purge", REDIS_URL=f"redis://127.0.0.1:{port}/0")
    assert (unreachable.returncode, "Redis unreachable" in unreachable.stdout, old.exists()) == (1, True, True), \
        unreachable.stdout
    assert "nothing was deleted" in unreachable.stdout and "Traceback" not in unreachable.stderr
    # Which Redis, and what then: the line named neither.
    assert (f"nothing was deleted: check the Redis server REDIS_URL names (127.0.0.1:{port}), and run it again once "
            "Redis answers (`lapor-gateway status` says when)") in " ".join(unreachable.stdout.split()), \
        unreachable.stdout

    too_short = cli(test_env, "attachments", "purge", "--older-than", "0")
    assert (too_short.returncode, old.exists()) == (2, True), too_short.stdout + too_short.stderr

    assert cli(test_env, "attachments", "purge", "--older-than", "1").returncode == 0
    assert not old.exists()


@dataclass(frozen=True)
class UnreadRedis:
    """A Redis a purge cannot read, and what the purge says of it: its trouble, and when to run it again."""

    id: str
    url: Callable[[str], str]  # from the tests' REDIS_URL
    trouble: str
    again: str


UNREAD_REDIS = [
    UnreadRedis("nothing at its port", lambda _url: f"redis://127.0.0.1:{free_port()}/0",
                "Redis unreachable (ConnectionError)", "Redis answers (`lapor-gateway status` says when)"),
    # It answered: waiting for it to answer waits for nothing.
    UnreadRedis("the password refused", lambda url: url.replace("redis://", "redis://lapor:not-the-password@", 1),
                "Redis refuses the credentials (AuthenticationError): the password (or user) in REDIS_URL is not the "
                "one its requirepass or ACL asks for", "REDIS_URL carries the password it asks for"),
]


@pytest.mark.parametrize("unread", UNREAD_REDIS, ids=[unread.id for unread in UNREAD_REDIS])
def test_a_purge_that_cannot_read_redis_says_what_is_wrong_with_it_and_when_to_run_it_again(
        test_env: TestEnvironment, settings: Settings, redis: Redis, redis_url: str, unread: UnreadRedis) -> None:
    """A password Redis refused was "run it again once Redis answers", where Redis answered all along."""
    tracking_id(redis)
    old = kept_file(settings, b"%PDF-1.7 lama", 40)

    result = cli(test_env, "attachments", "purge", REDIS_URL=unread.url(redis_url))

    said = " ".join(result.stdout.split())
    assert (result.returncode, old.exists(), "Traceback" in result.stderr) == (1, True, False), result.stdout
    assert said.startswith(f"{unread.trouble}; which files the envelopes name is unknown, so "
                           "nothing was deleted: check the Redis server REDIS_URL names (127.0.0.1:"), said
    assert said.endswith(f"and run it again once {unread.again}"), said
    assert "not-the-password" not in result.stdout + result.stderr


def test_a_redis_that_fails_on_the_unfiled_messages_leaves_the_files_and_dead_letters_purged_said_and_logged(
        test_env: TestEnvironment, settings: Settings, redis: Redis) -> None:
    """The files go before the unfiled messages and the dead letters are read: a Redis that failed then (restarted,
    a key of another type where the unfiled messages are kept) ended the command on "the command stopped there" alone,
    exit 1, with the files deleted and neither a word of them nor the `attachments.purged` line. And a failure on the
    unfiled messages stopped the dead letters' step too: a reply's letter, with its citizen's number, stayed run after
    run while one channel's key was of another type. Each step runs; the one that failed is named, exit 1."""
    tracking_id(redis)
    old = kept_file(settings, b"%PDF-1.7 lama", 40)
    dead_letter(redis, "reply-sms", 40)
    redis.set("lapor:unfiled:x", "not a hash")

    done = cli(test_env, "attachments", "purge")

    said = " ".join(done.stdout.split())
    assert done.returncode == 1 and not old.exists() and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "attachments: deleted 1 file(s), 13 bytes" in said, said
    assert "dead letters: deleted 1; kept 0 newer than 30 day(s)" in said and DeadLetters(redis).count() == 0, said
    assert "unfiled messages: deleted" not in said, said
    assert "The key lapor:unfiled:x in Redis holds another type" in said, said
    assert ": unfiled messages were not purged (what is said above was done)" in said, said
    assert "dead letters were not purged" not in said, said
    line = next(orjson.loads(text) for text in done.stderr.splitlines() if '"attachments.purged"' in text)
    assert (line["level"], line["files"], line["dead_letters"], line["redis_error"]) == (
        "warning", 1, 1, "ResponseError"), line
    assert line["not_purged"] == ["unfiled_messages"], line
    assert line["redis_errors"] == {"unfiled_messages": "ResponseError"}, line


@pytest.mark.parametrize("failing", ["unfiled_messages", "dead_letters"])
def test_each_redis_step_of_the_purge_runs_whatever_became_of_the_other(
        settings: Settings, redis: Redis, failing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Redis that fails (the connection reset) in one step of the purge: the other runs all the same."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from gateway.unfiled import UnfiledMessages

    tracking_id(redis)
    keep_unfiled(redis, "1", 40)
    dead_letter(redis, "reply-sms", 40)

    def reset(*_: object, **__: object) -> None:
        raise RedisConnectionError("Connection reset by peer")

    monkeypatch.setattr(*((UnfiledMessages, "purge") if failing == "unfiled_messages" else
                          (DeadLetters, "purge_older")), reset)
    result = purge(settings, redis)
    monkeypatch.undo()

    assert result.not_purged == (failing,) and type(result.redis_error).__name__ == "ConnectionError"
    assert (len(UnfiledMessages(redis).list()[0]), DeadLetters(redis).count()) == (
        (1, 0) if failing == "unfiled_messages" else (0, 1))
    assert (result.unfiled_deleted, result.deadletters_deleted) == ((0, 1) if failing == "unfiled_messages" else
                                                                     (1, 0))


def test_a_redis_that_fails_on_the_dead_letters_leaves_the_unfiled_messages_deleted_said(
        test_env: TestEnvironment, settings: Settings, redis: Redis) -> None:
    """The unfiled messages go before the dead letters: a Redis that failed on these (a key of another type where
    their index is kept) hid the unfiled line and said "unfiled messages and dead letters were not purged", while the
    unfiled messages were deleted and logged so (`unfiled_messages`: 1)."""
    from gateway.unfiled import UnfiledMessages

    tracking_id(redis)
    old = kept_file(settings, b"%PDF-1.7 lama", 40)
    keep_unfiled(redis, "1", 40)
    redis.set("lapor:deadletters:index", "not a sorted set")
    redis.hset("lapor:deadletters", "x", "y")

    done = cli(test_env, "attachments", "purge")

    said = " ".join(done.stdout.split())
    assert done.returncode == 1 and not old.exists() and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert UnfiledMessages(redis).list()[0] == []
    assert "unfiled messages: deleted 1; kept 0 newer than 30 day(s)" in said, said
    assert "dead letters: deleted" not in said and "unfiled messages and dead letters" not in said, said
    assert "in Redis holds another type" in said, said
    assert ": dead letters were not purged (what is said above was done)" in said, said
    line = next(orjson.loads(text) for text in done.stderr.splitlines() if '"attachments.purged"' in text)
    assert (line["level"], line["unfiled_messages"], line["redis_error"], line["not_purged"]) == (
        "warning", 1, "ResponseError", ["dead_letters"]), line


@pytest.mark.parametrize("how", ["--older-than", "LAPOR_ATTACHMENTS_RETENTION_DAYS"])
def test_a_retention_past_any_date_keeps_everything_and_ends_on_no_traceback(
        how: str, test_env: TestEnvironment, settings: Settings, redis: Redis) -> None:
    """A retention of 400 digits ended the purge on an OverflowError traceback (exit 1) as it became a float."""
    tracking_id(redis)
    old = kept_file(settings, b"%PDF-1.7 lama", 4000)
    days = str(10**400)
    options, env = (["--older-than", days], {}) if how == "--older-than" else ([], {how: days})

    done = cli(test_env, "attachments", "purge", *options, **env)

    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert "deleted 0 file(s)" in done.stdout and old.exists(), done.stdout


def quarantined_long_ago(settings: Settings) -> Path:
    """A quarantined mail (its .eml) that neither file of was written for 40 days."""
    entry = Quarantine(settings.data_dir).add(RAW_MAIL, "parse_error", "old", "warga@example.net", [RECIPIENT])
    eml = entry.eml_path(settings.data_dir)
    for path in (eml, eml.with_suffix(".json")):
        aged(path, 40)
    return eml


def test_the_quarantine_listed_while_a_purge_deletes_it_lists_what_is_left(
        settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    tracking_id(redis)
    eml = quarantined_long_ago(settings)
    glob = Path.glob
    purging = False

    def glob_then_purge(self: Path, pattern: str):  # type: ignore[no-untyped-def]
        nonlocal purging
        found = list(glob(self, pattern))
        if not purging:  # the purge globs too (the spool): as it is
            purging = True
            purge(settings, redis)
        return iter(found)

    monkeypatch.setattr(Path, "glob", glob_then_purge)

    assert Quarantine(settings.data_dir).list() == []
    assert not eml.exists()


def test_a_mail_purged_while_it_is_reprocessed_is_said_gone(
        test_env: TestEnvironment, settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch,
        log_stream: io.StringIO) -> None:
    """(`log_stream` sets the logging back after it: the command configures it on CliRunner's stdout, which is
    closed once the command returns, and every later in-process line of this test worker failed.)"""
    from typer.testing import CliRunner

    from gateway.cli import app

    tracking_id(redis)
    eml = quarantined_long_ago(settings)
    listed = Quarantine.list

    def list_then_purge(self: Quarantine) -> list[object]:
        entries = listed(self)
        purge(settings, redis)
        return entries  # type: ignore[return-value]

    monkeypatch.setattr(Quarantine, "list", list_then_purge)
    for name, value in test_env.values.items():
        monkeypatch.setenv(name, value)

    result = CliRunner().invoke(app, ["email", "quarantine", "reprocess", "--all"], env={"COLUMNS": "200"})

    assert (result.exit_code, type(result.exception)) == (1, SystemExit), result.output
    assert f"{eml.stem[:16]}: gone from the quarantine, or unreadable" in result.output
    assert "released 0 of 1 quarantined mail(s)" in result.output


# -- the mentions and comments kept unfiled, in Redis: by the time each was kept ------------------------------------
def keep_unfiled(redis: Redis, tweet_id: str, age_days: float) -> None:
    from gateway.unfiled import UnfiledMessages
    from normalizer.envelope import Channel, SenderKind
    from normalizer.inbound import InboundMessage

    message = InboundMessage(Channel.TWITTER, "x-mentions", tweet_id, SenderKind.X_USER, "1447000000000000001",
                             "@lapor1708 #anonim pungli di loket 3", datetime.now(UTC))
    UnfiledMessages(redis).keep("x", message, KeyError("pungli"), time.time() - age_days * DAY_SECONDS)


@pytest.mark.parametrize(("ages", "older_than", "dry_run", "left"), [
    pytest.param((31, 2), None, False, {"x-mentions:2"}, id="a-month-old-one-goes-a-recent-one-stays"),
    pytest.param((10,), None, False, {"x-mentions:1"}, id="ten-days-old-the-default-retention-keeps-it"),
    pytest.param((10,), 7, False, set(), id="ten-days-old-older-than-7-goes"),
    pytest.param((31, 2), None, True, {"x-mentions:1", "x-mentions:2"}, id="a-dry-run-only-counts"),
])
def test_unfiled_mentions_go_by_the_time_they_were_kept(
        settings: Settings, redis: Redis, ages: tuple[float, ...], older_than: int | None, dry_run: bool,
        left: set[str]) -> None:
    """Their words and sender wait in Redis, never a report: kept for ever, a whistleblower's mention outlived every
    envelope and file of the retention."""
    from gateway.unfiled import UnfiledMessages

    tracking_id(redis)
    for number, age in enumerate(ages, start=1):
        keep_unfiled(redis, str(number), age)
    result = purge(settings, redis, older_than_days=older_than, dry_run=dry_run)
    old = sum(1 for age in ages if age > (older_than or 30))
    assert (result.unfiled_deleted, result.unfiled_kept) == (old, len(ages) - old)
    assert {entry.key for entry in UnfiledMessages(redis).list()[0]} == left


def test_an_unfiled_entry_that_cannot_be_read_back_is_named_where_it_is(
        test_env: TestEnvironment, redis: Redis, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO) -> None:
    """A damaged entry keeps its channel degraded (the rule counts the hash), and no retry files it: `unfiled retry`
    of its key said no unfiled message had that key, and `retry --all` released "1 of 1" and exited 0 while the
    channel stayed degraded. Each command names it now, and a retry that leaves it exits 1. The HGET it said to look
    at it with printed its field as Redis holds it, the post's id the digest keeps off the screen: it names the
    command that deletes it by its digest (`unfiled drop`, logged by that name) and where it is, by its source."""
    from typer.testing import CliRunner

    from gateway import cli
    from gateway.cli import app
    from gateway.unfiled import shown_key

    post_id = "1790000000000000999"
    keep_unfiled(redis, "1", 0)
    redis.hset("lapor:unfiled:x", f"x-mentions:{post_id}", b"{not json")
    for name, value in test_env.values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli.console, "width", 200)
    first, second = (shown_key(test_env.settings(), f"x-mentions:{n}") for n in ("1", post_id))
    named = (f"{second}: cannot be read back (damaged), it stays: delete it with `lapor-gateway unfiled drop {second}`"
             "; it is among HSCAN lapor:unfiled:x 0 MATCH x-mentions:*")

    listed = CliRunner().invoke(app, ["unfiled", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and first in listed.output and named in listed.output, listed.output
    one = CliRunner().invoke(app, ["unfiled", "retry", second], env={"COLUMNS": "200"})
    assert one.exit_code == 1 and named in one.output and "no unfiled message" not in one.output, one.output
    every = CliRunner().invoke(app, ["unfiled", "retry", "--all"], env={"COLUMNS": "200"})
    assert every.exit_code == 1 and named in every.output, every.output
    assert f"{first}: filed" in every.output and "released 1 of 1" in every.output
    for result in (listed, one, every):
        assert post_id not in result.output, result.output
    assert redis.hkeys("lapor:unfiled:x") == [f"x-mentions:{post_id}".encode()]

    keep_unfiled(redis, "3", 0)
    readable = shown_key(test_env.settings(), "x-mentions:3")
    refused = CliRunner().invoke(app, ["unfiled", "drop", readable], env={"COLUMNS": "200"})
    assert refused.exit_code == 1 and f"{readable}: can be read back, not dropped" in refused.output, refused.output
    dropped = CliRunner().invoke(app, ["unfiled", "drop", second], env={"COLUMNS": "200"})
    assert dropped.exit_code == 0, dropped.output
    assert f"{second}: dropped" in dropped.output and "dropped 1 of 1" in dropped.output, dropped.output
    assert post_id not in dropped.output, dropped.output
    assert f'"key":"{second}","event":"unfiled.dropped"' in dropped.output, dropped.output  # its log line (stderr)
    assert redis.hkeys("lapor:unfiled:x") == [b"x-mentions:3"]
    again = CliRunner().invoke(app, ["unfiled", "drop", second], env={"COLUMNS": "200"})
    assert again.exit_code == 1 and f"no unfiled message has the key {second}" in again.output, again.output


@dataclass(frozen=True)
class DeniedFiling:
    """An ACL that denies a command filing runs, and how Redis says so."""

    id: str
    denied: tuple[str, ...]  # ACL SETUSER's rules taking the command(s) away
    said: str  # what the retry says of it, after "not filed. "


DENIED_FILING = [
    DeniedFiling("a command sent (EVALSHA: NOPERM)", ("-evalsha",),
                 "The Redis user in REDIS_URL lacks permission for the command EVALSHA the gateway needs "
                 "(NoPermissionError: this user has no permissions to run the 'evalsha' command"),
    # Inside intake's claim script Redis answers ERR, not NOPERM: redis-py's plain ResponseError, said "Redis answers
    # but refuses commands (... full at its maxmemory, a read-only replica ...)", to be waited out.
    DeniedFiling("a command its script runs (HSET: ERR)", ("-hset", "-hsetnx", "-hmset"),
                 "The Redis user in REDIS_URL lacks permission for a command the gateway needs (ResponseError: Error "
                 "running script (call to f_"),
]


@pytest.mark.parametrize("denied", DENIED_FILING, ids=[denied.id for denied in DENIED_FILING])
def test_an_unfiled_retry_that_redis_refuses_says_what_to_mend_not_that_redis_is_unreachable(
        denied: DeniedFiling, test_env: TestEnvironment, tmp_path: Path) -> None:
    """Redis refusing a command filing needs (an ACL without EVALSHA, which intake's claim runs, or without a command
    the claim script runs) was said "not filed, Redis unreachable ... run the command again once Redis answers": it
    answered, and refused the user's command."""
    from gateway.embedded_redis import EmbeddedRedis
    from gateway.unfiled import UnfiledMessages

    server = EmbeddedRedis(tmp_path / "redis", port=free_port()).start()
    try:
        admin = Redis.from_url(server.url)
        keep_unfiled(admin, "1", 0)
        admin.execute_command("ACL", "SETUSER", "lapor", "on", ">lapor-password", "~*", "&*", "+@all", *denied.denied)
        result = cli(test_env, "unfiled", "retry", "--all",
                     REDIS_URL=f"redis://lapor:lapor-password@127.0.0.1:{server.port}/0")
        left = len(UnfiledMessages(admin).list()[0])
    finally:
        server.stop()

    said = " ".join(result.stdout.split())
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert f"not filed. {denied.said}" in said, said
    assert ("it stays unfiled, and the rest were not tried: run the command again once the user in REDIS_URL may run "
            "the commands the gateway needs") in said, said
    assert "unreachable" not in said and "maxmemory" not in said and left == 1, said


def test_the_unfiled_rule_names_the_newest_message_left_not_one_the_retry_filed(
        test_env: TestEnvironment, settings: Settings, redis: Redis, monkeypatch: pytest.MonkeyPatch,
        log_stream: io.StringIO) -> None:
    """The rule named the newest message ever kept, its time and error: once a retry filed it, the channel still
    read "the newest <its time>: <its error>", and an operator took the retry for one that had failed."""
    from typer.testing import CliRunner

    from gateway import cli
    from gateway.cli import app
    from gateway.health.monitor import HealthMonitor
    from gateway.health.rules import load_rules
    from gateway.health.signals import HealthSignals
    from gateway.unfiled import UnfiledMessages, shown_key

    keep_unfiled(redis, "1", 1)
    HealthSignals(redis).message_unfiled("x", "KeyError")
    ((older,), _) = UnfiledMessages(redis).list()
    UnfiledMessages(redis).keep("x", replace(older.message, provider_message_id="2"), ValueError(), time.time())
    HealthSignals(redis).message_unfiled("x", "ValueError")
    for name, value in test_env.values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli.console, "width", 200)

    retried = CliRunner().invoke(app, ["unfiled", "retry", "x-mentions:2"], env={"COLUMNS": "200"})
    assert retried.exit_code == 0 and f"{shown_key(settings, 'x-mentions:2')}: filed" in retried.output, \
        retried.output

    x = {channel["channel"]: channel for channel in HealthMonitor(
        redis, load_rules(settings.health.rules_path())).status()["channels"]}["x"]
    assert "1 message(s) the gateway failed to file kept unfiled; the newest " in x["reason"], x
    assert ": KeyError: lapor-gateway unfiled list" in x["reason"] and "ValueError" not in x["reason"], x


def test_the_purge_has_redis_rewrite_its_append_only_file_so_what_expired_leaves_the_disk(
        settings: Settings, tmp_path: Path) -> None:
    """Redis's append-only file keeps every write until it is rewritten, which Redis does by itself only once the file
    doubled past 64 MB: a concatenated SMS's parts, deleted once joined, and an envelope expired after its 30 days
    stayed on the disk with the anonymous reporter's number and words, whatever the retention."""
    from gateway.embedded_redis import EmbeddedRedis
    from gateway.queues import redis_connection

    directory = tmp_path / "redis"
    directory.mkdir()
    with EmbeddedRedis(directory) as embedded:
        connection = redis_connection(embedded.url)
        connection.set(SEQUENCE_KEY, "1000")
        connection.hset("lapor:concat:sms-aggregator:0123", "p1", '{"sender":"+6281299887766","data":"ZEBRAWORD"}')
        connection.delete("lapor:concat:sms-aggregator:0123")
        connection.set(envelope_key("10000004"), '{"sender":{"id":"+6281299887766"}}', px=1)
        time.sleep(0.05)
        connection.get(envelope_key("10000004"))  # expired: deleted on this read
        aof = directory / "appendonly.aof"
        deadline = time.monotonic() + 5
        while b"81299887766" not in aof.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)  # fsynced every second
        assert b"81299887766" in aof.read_bytes()

        result = purge(settings, connection)

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            persistence = connection.info("persistence")
            if not persistence["aof_rewrite_in_progress"] and not persistence["aof_rewrite_scheduled"]:
                break
            time.sleep(0.05)
        written = aof.read_bytes()
        assert b"81299887766" not in written and b"ZEBRAWORD" not in written
        assert result.aof_rewrite == "started"
        assert connection.get(SEQUENCE_KEY) == b"1000"
        connection.close()


def test_a_dry_run_asks_for_no_rewrite_and_a_redis_without_one_is_told_apart(settings: Settings, redis: Redis) -> None:
    redis.set(SEQUENCE_KEY, "1000")
    assert purge(settings, redis, dry_run=True).aof_rewrite == "not_asked"
    appendonly = redis.config_get("appendonly")
    expected = "not_aof" if any(value in ("no", b"no") for value in appendonly.values()) else "started"
    assert purge(settings, redis).aof_rewrite in (expected, "in_progress")


# -- dead letters, in Redis: by the time each failed ---------------------------------------------------------------
NUMBER = "+6281234567890"
ADDRESS = "saksi.rahasia@example.net"


def dead_letter(redis: Redis, item: str, age_days: float, *, to: str = NUMBER, queue: str = "lapor-reply",
                tid: str = "") -> None:
    """A letter as a reply job leaves it: its arguments hold the citizen's number (an SMS status answer) or address
    and subject (an e-mail reply)."""
    from workers.deadletters import DeadLetter

    if queue == FORWARD_QUEUE:
        func, args = "workers.forward.forward_batch", [[tid]]
    elif "@" in to:
        func, args = "workers.email_reply.send_email_reply", [{"to": to, "subject": "Re: pungli di loket 3"}]
    else:
        func, args = "workers.reply.send_reply", [{"reply_id": item, "source": "sms-aggregator", "to": to,
                                                   "text": "Laporan 1000000 sedang diproses"}]
    DeadLetters(redis).add(DeadLetter(
        key=DeadLetters.entry_key(queue, item), queue=queue, func=func, args=args, tracking_id=tid, reason="failed",
        detail="refused", failed_at=time.time() - age_days * DAY_SECONDS, channel="sms"))


@pytest.mark.parametrize(("ages", "older_than", "dry_run", "left"), [
    pytest.param((31, 2), None, False, {"lapor-reply:2"}, id="a-month-old-one-goes-a-recent-one-stays"),
    pytest.param((10,), None, False, {"lapor-reply:1"}, id="ten-days-old-the-default-retention-keeps-it"),
    pytest.param((10,), 7, False, set(), id="ten-days-old-older-than-7-goes"),
    pytest.param((31, 2), None, True, {"lapor-reply:1", "lapor-reply:2"}, id="a-dry-run-only-counts"),
])
def test_dead_letters_go_by_the_time_they_failed(
        settings: Settings, redis: Redis, ages: tuple[float, ...], older_than: int | None, dry_run: bool,
        left: set[str]) -> None:
    """A reply's letter keeps its arguments, a whistleblower's number or address and subject: only an operator's
    requeue or purge took it away, and it outlived every envelope and file of the retention."""
    tracking_id(redis)
    for number, age in enumerate(ages, start=1):
        dead_letter(redis, str(number), age, to=NUMBER if number % 2 else ADDRESS)
    result = purge(settings, redis, older_than_days=older_than, dry_run=dry_run)
    old = sum(1 for age in ages if age > (older_than or 30))
    assert (result.deadletters_deleted, result.deadletters_kept) == (old, len(ages) - old)
    assert {letter.key for letter in DeadLetters(redis).select(None)} == left
    assert {key.decode() for key in redis.hkeys("lapor:deadletters")} == left
    assert {key.decode() for key in redis.zrange("lapor:deadletters:index", 0, -1)} == left


def test_the_purge_says_and_logs_the_dead_letters_it_deleted(
        test_env: TestEnvironment, settings: Settings, redis: Redis) -> None:
    """Counted in its output and its log line as the others are. A forward's letter stays however old: it is a report
    the case store never got, acknowledged to its citizen, and its envelope keeps waiting without end for an operator's
    requeue (deleted, the report was lost: nothing acknowledged may be)."""
    tid = tracking_id(redis)
    stored_envelope(redis, tid, [])
    dead_letter(redis, tid, 40, queue=FORWARD_QUEUE, tid=tid)
    dead_letter(redis, "reply-sms", 40)
    dead_letter(redis, "reply-mail", 35, to=ADDRESS)
    dead_letter(redis, "reply-new", 1, to="+6281111111111")

    dry = cli(test_env, "attachments", "purge", "--dry-run")

    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "dead letters: would delete 2; kept 2 newer than 30 day(s), or forwards" in dry.stdout
    assert DeadLetters(redis).count() == 4 and redis.ttl(envelope_key(tid)) == -1

    done = cli(test_env, "attachments", "purge")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "dead letters: deleted 2; kept 2 newer than 30 day(s), or forwards" in done.stdout
    line = next(orjson.loads(text) for text in done.stderr.splitlines() if '"attachments.purged"' in text)
    assert (line["dead_letters"], line["dead_letters_kept"]) == (2, 2)
    assert sorted(letter.key for letter in DeadLetters(redis).select(None)) == [
        f"{FORWARD_QUEUE}:{tid}", "lapor-reply:reply-new"]
    assert redis.ttl(envelope_key(tid)) == -1
    assert NUMBER.encode() not in b"".join(redis.hvals("lapor:deadletters"))
    assert ADDRESS not in done.stdout + done.stderr and NUMBER not in done.stdout + done.stderr


def test_a_redis_failing_after_the_files_ends_the_purge_on_a_line_saying_what_to_do(
        test_env: TestEnvironment, redis: Redis) -> None:
    """The envelopes were read and the files purged, then the dead letters' index is no index (a key of another
    kind, WRONGTYPE): the command says so and which Redis, and exits 1, instead of ending on a traceback."""
    tracking_id(redis)
    redis.set("lapor:deadletters:index", "not an index")

    done = cli(test_env, "attachments", "purge")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "run it again once that key is the gateway's again" in done.stdout
