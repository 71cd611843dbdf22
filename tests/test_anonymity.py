"""An anonymous report never carries the citizen's number, address or handle to the case store.

One row per channel: a real anonymous report goes in the way the channel takes it (signed webhook, SMTP session,
X and Instagram pollers against the local fake provider), the forward queue is worked, and then every string of
every row the reference case store wrote to SQLite (every column, every key and value of the stored JSON) is
searched for the sender in any form: E.164, 62..., 08..., with spaces or dashes, the bare subscriber digits; the
address in any case and its local part; the @handle, the handle, the display name and the numeric user id. Each
report's own text names its sender too (a number to answer, a closing with the name and address, a handle), as
citizens who ask for anonymity still write: the case store gets the text with those replaced by `[anonim]`. A photo
(MMS, X, Instagram) or a mailed file reaches the case store as its bytes, fetched from the provider (under respx)
where it was left, and by nothing that names where it came from. The photos are real ones that name their taker
(Exif GPS, owner and serial, XMP, IPTC, PNG text chunks: tests/fixtures/attachments/): the case store gets a copy
without any of it that decodes to the same pixels, and never the photo as sent; a mailed document (whose Author may
name the sender) not at all.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import pytest
from redis import Redis

from channels.instagram_graph import InstagramPoller
from channels.x_mentions import XMentionsPoller
from gateway.attachments import attachment_location
from gateway.intake import Intake
from gateway.queues import FORWARD_QUEUE, REPLY_QUEUE
from gateway.settings import Settings
from normalizer.envelope import SENDER_IDENTITIES, Channel, SenderKind
from normalizer.grammar import Action
from normalizer.inbound import InboundMessage
from normalizer.keywords import parse_text
from normalizer.pipeline import normalize
from normalizer.quoted_posts import without_relayed_authors
from tests.aggregator_support import AggregatorApi, aggregator_api, drain, post_callback, running_gateway
from tests.conftest import REPO_ROOT, CaseStoreServer, GatewayServer, LoopbackServer, free_port
from tests.email_support import SmtpServerThread, run_replies
from tests.email_support import fixture as email_fixture
from tests.image_support import OWNER, SERIAL, fixture, frames_of, identifying_metadata
from tests.social_helpers import FakeProviderServer, run_reply_jobs
from tests.test_email_reply import RelayHandler, relay  # noqa: F401  (a fixture)
from tests.test_forwarding import cli
from tests.test_log_redaction import echoing_case_store, send_twilio_sms
from tests.test_media_fetch import FETCHING, photo, providers, redirect
from workers import own_identity
from workers.deadletters import DeadLetters
from workers.image_metadata import METADATA_NOT_REMOVED, METADATA_REMOVED
from workers.own_identity import OWN_IDENTITY, without_given_contacts, without_given_name, without_message_sign_off
from workers.report_payload import case_store_payload

if TYPE_CHECKING:
    from tests.conftest import TestEnvironment

NUMBER_TWILIO = "+6281234567001"
NUMBER_AGGREGATOR = "6281298765002"
ADDRESS = "Warga.Rahasia@Contoh-Desa.NET"
MESSAGE_SID = "SM" + "a" * 32
TWILIO_MEDIA_URL = (f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Messages/{MESSAGE_SID}/Media/"
                    f"ME{'b' * 32}")
# Where Twilio's media URL redirects, and what each provider serves (type, bytes): a photo that names its taker.
TWILIO_SIGNED_CDN = f"https://mms.twiliocdn.com/AC{'1' * 32}/{'c' * 32}?Expires=1764000000&Signature=c2lnbmVk"
PHOTOS = {"sms-twilio": ("image/jpeg", fixture("phone.jpg")), "x": ("image/png", fixture("text.png")),
          "instagram": ("image/jpeg", fixture("progressive.jpg")), "email": ("image/webp", fixture("phone.webp"))}


@dataclass(frozen=True)
class Identity:
    """Everything that would identify the citizen, in the forms it could be written."""

    needles: tuple[str, ...]  # compared case-insensitively as substrings
    digits: str | None = None  # the subscriber digits, compared against every string's digits
    files: tuple[tuple[str, bytes], ...] = ()  # the (content type, bytes) of each file the report carries

    def found_in(self, value: str) -> list[str]:
        hits = [needle for needle in self.needles if needle.lower() in value.lower()]
        if self.digits and self.digits in re.sub(r"\D", "", value):
            hits.append(self.digits)
        return hits


def msisdn_identity(e164: str) -> Identity:
    national = "0" + e164.removeprefix("+62").removeprefix("62")
    subscriber = national[1:]
    spaced = f"{national[:4]} {national[4:8]} {national[8:]}"
    return Identity((e164, "+" + e164.lstrip("+"), e164.lstrip("+"), national, spaced, spaced.replace(" ", "-")),
                    digits=subscriber)


@pytest.fixture
def settings(test_env: TestEnvironment, fake: FakeProviderServer) -> Settings:
    return test_env.settings(**{**FETCHING, **fake.env(), "LAPOR_SMTP_PORT": str(free_port()),
                                "LAPOR_TRIAGE_ENABLED": "true"})


def stored_strings(database: Path) -> list[str]:
    """Every string the case store wrote: each column of each row, and each key and value of stored JSON."""
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                strings.append(str(key))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif value is not None:
            strings.append(str(value))

    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        for table in ("reports", "attachments"):
            for row in connection.execute(f"SELECT * FROM {table}"):
                for column in row:
                    if isinstance(column, str) and column.startswith("{"):
                        walk(orjson.loads(column))
                    if isinstance(column, (str, int, float)):
                        strings.append(str(column))
    return strings


async def via_twilio(gateway: GatewayServer, **_: Any) -> Identity:
    # An MMS: its media URL holds the Message SID, which Twilio maps to the sender's number.
    form = gateway.twilio_form(From=NUMBER_TWILIO,
                               Body="#anonim Pungli di kantor kelurahan oleh oknum petugas. Balas ke 0812-3456-7001",
                               MessageSid=MESSAGE_SID, SmsSid=MESSAGE_SID, SmsMessageSid=MESSAGE_SID, NumMedia="1",
                               MediaUrl0=TWILIO_MEDIA_URL, MediaContentType0="image/jpeg")
    assert (await gateway.post_twilio(form)).status_code == 200
    identity = msisdn_identity(NUMBER_TWILIO)
    return Identity((*identity.needles, MESSAGE_SID), digits=identity.digits, files=(PHOTOS["sms-twilio"],))


async def via_aggregator(gateway: GatewayServer, **_: Any) -> Identity:
    fields = {"id": "anon-agg-1", "from": NUMBER_AGGREGATOR, "to": "1708", "coding": "0",
              "text": "ANONIM LAPOR pungutan liar di sekolah dasar, sms saya 0812 9876 5002", "smsc": "telkomsel",
              "ts": "1763800000"}
    assert (await post_callback(gateway.client, fields)).status_code == 200
    return msisdn_identity(NUMBER_AGGREGATOR)


async def via_email(settings: Settings, redis: Redis, **_: Any) -> Identity:
    # Files named after their sender, as phones and scanners name them: a receipt and a photo.
    photo_type, photo = PHOTOS["email"]
    encoded = base64.encodebytes(photo).decode().replace("\n", "\r\n")
    raw = (f"From: Warga Rahasia <{ADDRESS}>\r\nTo: pengaduan@lapor.go.id\r\nSubject: ANONIM: pungli di puskesmas\r\n"
           f"Message-ID: <anon-1@contoh-desa.net>\r\nReply-To: {ADDRESS}\r\nMIME-Version: 1.0\r\n"
           'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n'
           "Petugas meminta uang tambahan untuk layanan gratis.\r\n\r\nSalam,\r\nWarga Rahasia\r\n"
           f"{ADDRESS}\r\n--b1\r\nContent-Type: application/pdf\r\n"
           'Content-Disposition: attachment; filename="Kuitansi Warga Rahasia.pdf"\r\n\r\n%PDF-1.4 kuitansi\r\n'
           f"--b1\r\nContent-Type: {photo_type}\r\nContent-Transfer-Encoding: base64\r\n"
           'Content-Disposition: attachment; filename="Foto Warga Rahasia.webp"\r\n\r\n'
           f"{encoded}--b1--\r\n").encode()
    server = SmtpServerThread(settings, redis).start()
    try:
        result = server.deliver(raw, mail_from=ADDRESS)
    finally:
        server.stop()
    assert result.data_code == 250 and result.tracking_id
    return Identity((ADDRESS, ADDRESS.lower(), "warga.rahasia", "Warga Rahasia", "contoh-desa"),
                    files=(("application/pdf", b"%PDF-1.4 kuitansi"), PHOTOS["email"]))


HTML_ADDRESS = "budisantoso@contoh-desa.net"
HTML_REPLY_TO = "rumahbudi@contoh-desa.net"


async def via_email_html(settings: Settings, redis: Redis, **_: Any) -> Identity:
    """An HTML-only mail from Outlook's "Last, First" (the name signed "Budi Santoso"), its replies asked at another
    address of the sender's (Reply-To, then in the text), its own address in a mailto: link and in a link's query
    (%40), as a form's prefilled link carries it."""
    html = ("<html><body><p>ANONIM</p><p>Kepala dinas meminta setoran dari setiap kontraktor.</p>"
            f'<p>Formulir saya: <a href="https://forms.example/isi?email={HTML_ADDRESS.replace("@", "%40")}">'
            "formulir</a></p>"
            f'<p>Hubungi <a href="mailto:{HTML_ADDRESS}">saya</a> atau balas ke {HTML_REPLY_TO}.</p>'
            "<p>Salam,<br>Budi Santoso</p></body></html>")
    raw = (f'From: "Santoso, Budi" <{HTML_ADDRESS}>\r\nTo: pengaduan@lapor.go.id\r\n'
           f"Subject: Setoran kontraktor\r\nMessage-ID: <anon-html-1@contoh-desa.net>\r\n"
           f"Reply-To: {HTML_REPLY_TO}\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           f"{html}\r\n").encode()
    server = SmtpServerThread(settings, redis).start()
    try:
        result = server.deliver(raw, mail_from=HTML_ADDRESS)
    finally:
        server.stop()
    assert result.data_code == 250 and result.tracking_id
    return Identity((HTML_ADDRESS, "budisantoso", HTML_REPLY_TO, "rumahbudi", "Budi Santoso", "Santoso, Budi"))


async def via_email_sender_header(settings: Settings, redis: Redis, **_: Any) -> Identity:
    """Exchange's "send on behalf of" a shared mailbox (tests/fixtures/email/anonymous_outlook_on_behalf.eml): only its
    Sender and its read receipt's Disposition-Notification-To name the staff member ("Santoso, Budi"), who signs
    "Budi Santoso" and gives their own address in the text."""
    shared = "pelayanan@kecamatan-sukajadi.example.go.id"
    server = SmtpServerThread(settings, redis).start()
    try:
        result = server.deliver(email_fixture("anonymous_outlook_on_behalf"), mail_from=shared)
    finally:
        server.stop()
    assert result.data_code == 250 and result.tracking_id
    return Identity((shared, "budi.santoso@kecamatan-sukajadi.example.go.id", "budi.santoso", "Budi Santoso",
                     "Santoso, Budi"))


async def via_x(settings: Settings, redis: Redis, fake: FakeProviderServer, **_: Any) -> Identity:
    # A photo: its media key (and the CDN address that names it) opens the tweet and its author, as the tweet id does.
    tweet = fake.state.add_tweet("@lapor1708 #anonim jalan berlubang di depan balai desa, cc @budi_rahasia",
                                 username="budi_rahasia",
                                 name="Budi Sangat Rahasia", media=[{"type": "photo"}])
    intake = Intake(redis, settings)
    try:
        XMentionsPoller(settings, redis, intake).poll_once()
    finally:
        intake.close()
    [media_key] = tweet["attachments"]["media_keys"]
    # The t.co link X ends a post with a photo with leads to x.com/budi_rahasia/status/<id>/photo/1.
    [photo_link] = [url["url"] for url in tweet["entities"]["urls"]]
    return Identity(("@budi_rahasia", "budi_rahasia", "Budi Sangat Rahasia", tweet["author_id"], tweet["id"],
                     media_key, photo_link), files=(PHOTOS["x"],))


async def via_instagram(settings: Settings, redis: Redis, fake: FakeProviderServer, **_: Any) -> Identity:
    # The media id opens the post and its author through the Graph API, like a tweet id: it must not travel either,
    # nor the CDN address of the picture, which names it (the file name's ids, `ig_cache_key`).
    ids = fake.state.add_ig_mention("@lapor1708 #anonim lampu jalan mati sebulan, DM @rina.rahasia",
                                    username="rina.rahasia",
                                    kind="media", tagged=True)
    intake = Intake(redis, settings)
    try:
        InstagramPoller(settings, redis, intake).poll_tags()
    finally:
        intake.close()
    return Identity(("@rina.rahasia", "rina.rahasia", "rina rahasia", ids["media_id"]), files=(PHOTOS["instagram"],))


@pytest.mark.parametrize("send", [via_twilio, via_aggregator, via_email, via_email_html, via_email_sender_header, via_x,
                                  via_instagram],
                         ids=["sms-twilio", "sms-aggregator", "email", "email-html", "email-sender-header", "x",
                              "instagram"])
async def test_an_anonymous_report_reaches_the_case_store_without_its_sender(
        send: Any, gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings, redis: Redis,
        fake: FakeProviderServer, tmp_path: Path, log_stream: io.StringIO) -> None:
    with providers() as media:
        media.get(url=TWILIO_MEDIA_URL).mock(return_value=redirect(TWILIO_SIGNED_CDN))
        for route, channel in ((media.get(url=TWILIO_SIGNED_CDN), "sms-twilio"), (media.get(host="pbs.twimg.com"), "x"),
                               (media.get(host="scontent.cdninstagram.com"), "instagram")):
            content_type, content = PHOTOS[channel]
            route.mock(return_value=photo(content, content_type))
        identity = await send(gateway=gateway, settings=settings, redis=redis, fake=fake)
        drain(settings, (FORWARD_QUEUE,))
    (report,) = casestore.reports()
    assert report["anonymous"] is True
    assert report["sender"]["kind"] == "reply_handle" and report["sender"]["display_name"] is None
    assert report["channel_meta"] == {}
    assert OWN_IDENTITY in report["text"]  # each row's text names its sender too: a number, an address, a handle
    assert len(report["attachments"]) == len(identity.files)
    for (content_type, content), attachment in zip(identity.files, report["attachments"], strict=True):
        if not content_type.startswith("image/"):  # a document: withheld (tests/test_withheld_files.py)
            assert METADATA_NOT_REMOVED in attachment["flags"] and attachment["location"] == ""
            assert (attachment["sha256"], attachment["size"], attachment["name"]) == (None, None, None)
            assert casestore.store.get_attachment(hashlib.sha256(content).hexdigest()) is None
            continue
        sha256 = attachment["sha256"]  # the file's bytes, by their sha256 alone
        assert (attachment["location"], attachment["name"]) == (attachment_location(sha256), None)
        assert "not_fetched" not in attachment["flags"] and "location_withheld" not in attachment["flags"]
        kept_type, kept = casestore.store.get_attachment(sha256)
        assert (kept_type, hashlib.sha256(kept).hexdigest(), attachment["size"]) == (content_type, sha256, len(kept))
        # A photo: a copy without its taker's name, device or place, decoding to every pixel as sent; never the photo
        # as sent.
        assert METADATA_REMOVED in attachment["flags"]
        assert identifying_metadata(content) and identifying_metadata(kept) == {}
        assert frames_of(kept) == frames_of(content)
        assert casestore.store.get_attachment(hashlib.sha256(content).hexdigest()) is None
    with sqlite3.connect(f"file:{tmp_path / 'casestore.db'}?mode=ro", uri=True) as connection:
        files = [content for (content,) in connection.execute("SELECT content FROM attachments")]
    assert len(files) == len([file for file in identity.files if file[0].startswith("image/")])
    assert [name for name in (OWNER, SERIAL) if any(name.encode() in content for content in files)] == []
    strings = stored_strings(tmp_path / "casestore.db")
    assert any(report["tracking_id"] in value for value in strings)  # the search does see the stored row
    leaks = {value: identity.found_in(value) for value in strings if identity.found_in(value)}
    assert leaks == {}, f"the case store received the sender: {leaks}"
    # Nor did a log line of the SMTP server, the poller or the forward worker name them (a mail's Sender, say).
    assert report["tracking_id"] in log_stream.getvalue()
    logged = [line for line in log_stream.getvalue().splitlines() if identity.found_in(line)]
    assert logged == [], f"a log line named the sender: {logged}"


@pytest.mark.parametrize("body", [
    pytest.param("Tambah ANONIM preman minta uang parkir di pasar", id="tambah-anonim"),
    pytest.param("LAPOR tambah anonim: preman minta uang parkir di pasar", id="kind-then-tambah-anonim"),
    pytest.param("preman minta uang parkir di pasar, tambah ANONIM", id="closing-tambah-anonim"),
    # help's "ketik LAPOR <isi laporan> kirim ke 1708" and "LAPOR ANONIM <isi>" copied together, the verb and all: it
    # was a named report of "ketik LAPOR ANONIM <isi>"
    pytest.param("ketik LAPOR ANONIM preman minta uang parkir di pasar", id="ketik-lapor-anonim"),
    pytest.param("ketik LAPOR ANONIM preman minta uang parkir di pasar, kirim ke 1708.",
                 id="ketik-lapor-anonim-closing"),
    pytest.param("ketik LAPOR ANONIM <preman minta uang parkir di pasar> kirim ke 1708.",
                 id="ketik-lapor-anonim-placeholder-marks"),
    # help's header copied with it, our name and short code: it was a named report of "1708: ketik LAPOR ANONIM <isi>"
    pytest.param("LAPOR! 1708: ketik LAPOR ANONIM preman minta uang parkir di pasar", id="help-header-ketik"),
    pytest.param("LAPOR! 1708: LAPOR ANONIM <preman minta uang parkir di pasar>", id="help-header-form"),
    # flags joined by a word of prose, and asked for with a word before: still anonymous, "dan" read only between flags
    pytest.param("RAHASIA dan ANONIM preman minta uang parkir di pasar", id="rahasia-dan-anonim"),
    pytest.param("Mohon anonim, preman minta uang parkir di pasar", id="mohon-anonim"),
    # the flag mistyped or glued to the kind word: each was the citizen's word, their number beside it
    pytest.param("ANONYM preman minta uang parkir di pasar", id="anonym-typo"),
    pytest.param("LAPOR anonimus: preman minta uang parkir di pasar", id="anonimus-typo"),
    pytest.param("LAPOR_ANONIM preman minta uang parkir di pasar", id="lapor-underscore-anonim"),
    pytest.param("LAPORANONIM preman minta uang parkir di pasar", id="laporanonim"),
])
async def test_helps_tambah_anonim_as_citizens_write_it_reaches_the_case_store_without_their_number(
        body: str, gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings, tmp_path: Path) -> None:
    """Help said "Tambah ANONIM agar identitas dirahasiakan", and a whistleblower who wrote "Tambah ANONIM <isi>" had
    a named report of "Tambah ANONIM <isi>": their number in the case store beside it. The word before the flag is
    the flag's: an anonymous report of what they said, no number in any string the case store wrote."""
    form = gateway.twilio_form(From=NUMBER_TWILIO, Body=body, MessageSid=MESSAGE_SID, SmsSid=MESSAGE_SID,
                               SmsMessageSid=MESSAGE_SID)
    assert (await gateway.post_twilio(form)).status_code == 200
    drain(settings, (FORWARD_QUEUE,))
    (report,) = casestore.reports()
    assert (report["anonymous"], report["sender"]["kind"], report["text"]) == (
        True, "reply_handle", "preman minta uang parkir di pasar")
    identity = msisdn_identity(NUMBER_TWILIO)
    strings = stored_strings(tmp_path / "casestore.db")
    assert any(report["tracking_id"] in value for value in strings)  # the search does see the stored row
    leaks = {value: hits for value in strings if (hits := Identity((*identity.needles, MESSAGE_SID),
                                                                   digits=identity.digits).found_in(value))}
    assert leaks == {}, f"the case store received the sender: {leaks}"


# -- an anonymity word opening a report glued to a mark the grammar reads no separator in --------------------------
# (typed, its text as read before): each was a named report, the whistleblower's number sent to the agency. Read as
# field separators, those marks cut citizens' words ("Aduan >50 orang", "Laporan_2024.pdf"): the flag is added and
# the text stays as it was read.
GLUED_ANONYMITY = [
    pytest.param("ANONIM|Kepala desa minta setoran", "ANONIM|Kepala desa minta setoran", id="pipe"),
    pytest.param("ANONIM)Kepala desa minta setoran", "ANONIM)Kepala desa minta setoran", id="closing-bracket"),
    # read as anonymous already, as a wish after our name ("LAPOR"): kept beside the others
    pytest.param("LAPOR*ANONIM*Kepala desa minta setoran", "LAPOR*ANONIM*Kepala desa minta setoran",
                 id="bold-between-kind-and-text"),
    pytest.param("LAPOR ANONIM~3 km jalan rusak", "ANONIM~3 km jalan rusak", id="tilde-before-a-distance"),
    pytest.param("LAPOR#ANONIM>5 orang dipungut", "ANONIM>5 orang dipungut", id="greater-than-before-a-count"),
    pytest.param("WBS *ANONIM ya* kepala dinas minta setoran", "*ANONIM ya* kepala dinas minta setoran",
                 id="bold-with-a-particle"),
    pytest.param("LAPOR ANONIM|Kepala desa minta setoran", "ANONIM|Kepala desa minta setoran", id="kind-then-pipe"),
    pytest.param("LAPOR WBS ANONIM|kepala dinas minta setoran", "ANONIM|kepala dinas minta setoran",
                 id="two-kinds-then-pipe"),
    pytest.param("[ANONIM]Kepala desa minta setoran", "[ANONIM]Kepala desa minta setoran", id="brackets-glued"),
    pytest.param("ANONIM_Kepala desa minta setoran", "ANONIM_Kepala desa minta setoran", id="underscore"),
    pytest.param("WBS|ANONIM kepala dinas minta setoran", "WBS|ANONIM kepala dinas minta setoran",
                 id="pipe-before-it"),
    pytest.param("Tambah ANONIM|kepala desa minta setoran", "Tambah ANONIM|kepala desa minta setoran",
                 id="tambah-then-pipe"),
    pytest.param("LAPOR @pemkot ANONIM|kepala desa minta setoran", "@pemkot ANONIM|kepala desa minta setoran",
                 id="a-handle-before-it"),
    pytest.param("LAPOR @pemkot_sukamaju @dinaspu_sukamaju @bupati_sukamaju ANONIM|kades minta setoran",
                 "@pemkot_sukamaju @dinaspu_sukamaju @bupati_sukamaju ANONIM|kades minta setoran",
                 id="past-three-long-handles"),
    # handles joined by a mark, not a space (read named before: the look ended at the second handle)
    pytest.param("@pemkot,@bupati ANONIM|Kepala desa minta setoran", "@pemkot,@bupati ANONIM|Kepala desa minta setoran",
                 id="handles-joined-by-a-comma"),
    pytest.param("LAPOR @pemkot/@dinaspu;@bupati ANONIM|kades minta setoran",
                 "@pemkot/@dinaspu;@bupati ANONIM|kades minta setoran", id="handles-joined-by-a-slash-and-semicolon"),
    pytest.param("(@pemkot) ANONIM|kades minta setoran", "(@pemkot) ANONIM|kades minta setoran",
                 id="a-handle-in-brackets"),
    # the anonymity word itself after a mark and an "@" is the flag glued, as it was: no handle read past
    pytest.param("(@anonim) Kepala desa minta uang", "(@anonim) Kepala desa minta uang", id="bracketed-at-anonim"),
    pytest.param("LAPOR #@ANONIM kades minta setoran", "#@ANONIM kades minta setoran", id="hash-at-anonim"),
    pytest.param("(@anonim_@kades) pungli di dinas", "(@anonim_@kades) pungli di dinas", id="at-anonim-glued"),
    pytest.param("WBS(@laporan_anonim) pungli di dinas", "WBS(@laporan_anonim) pungli di dinas",
                 id="bracketed-at-a-glued-anonymity-word"),
    pytest.param("LAPOR ANONIM@pemkot kades minta setoran", "ANONIM@pemkot kades minta setoran",
                 id="a-handle-glued-after-it"),
    pytest.param("LAPOR ANONIM@pemkot.sukamaju kades minta setoran", "ANONIM@pemkot.sukamaju kades minta setoran",
                 id="a-dotted-handle-glued-after-it"),
    pytest.param("LAPOR ANONIM@dpr.ri anggota dewan minta setoran", "ANONIM@dpr.ri anggota dewan minta setoran",
                 id="a-handle-of-two-letters-after-its-dot"),
    pytest.param("ANONIMM|kepala desa minta setoran", "ANONIMM|kepala desa minta setoran", id="misspelled"),
    pytest.param("anonymous|the village head asked for a bribe", "anonymous|the village head asked for a bribe",
                 id="english"),
    # the dotted capital "İ" some keyboards write for "I"
    pytest.param("ANONİM|Kepala desa minta setoran", "ANONİM|Kepala desa minta setoran", id="dotted-capital-i"),
]

# (typed, anonymous as read before): none of these reads otherwise, a flag or anything else.
NOT_GLUED_ANONYMITY = [
    pytest.param("Aduan >50 orang dipungut", False, id="a-count-after-a-kind-word"),
    pytest.param("LAPOR jalan rusak, saya tidak anonim", True, id="negated-closing-the-text-as-before"),
    pytest.param("#LAPOR_Bupati mantap", False, id="a-remark-under-our-post"),
    pytest.param("Laporan_2024.pdf", False, id="a-file-name"),
    pytest.param("#Aduan_Warga jalan berlubang", False, id="a-hashtag"),
    pytest.param("(Aduan)nya tidak ditanggapi", False, id="a-bracketed-kind-word"),
    pytest.param("Kepala desa ANONIM|minta setoran", False, id="later-in-prose"),
    pytest.param("Jalan rusak, kata warga anonim|tidak ada yang peduli", False, id="later-in-a-clause"),
    pytest.param("BUKAN ANONIM|Kepala desa minta setoran", False, id="negated"),
    pytest.param("LAPOR tidak anonim|kepala desa minta setoran", False, id="negated-after-a-kind-word"),
    pytest.param("Bisa gak ANONIM|kepala desa minta setoran", False, id="asked-as-a-plain-space-reads-it"),
    pytest.param("(anonim menurut warga) kepala desa minta uang", False, id="an-aside-of-prose"),
    pytest.param("*anonim menurut warga* kepala desa minta uang", False, id="a-bold-aside-of-prose"),
    pytest.param("Pak RT (anonim) minta uang", False, id="someone-elses-name-withheld"),
    pytest.param("ANONIM5 orang dipungut", False, id="glued-to-a-digit"),
    pytest.param("Rahasia+Negara bocor di dinas", False, id="a-confidentiality-word-glued-to-a-word-of-theirs"),
    pytest.param("12345678 ANONIM|tambahan foto", False, id="a-mistyped-id-no-report"),
    pytest.param("anonim@gmail.com mengirim ancaman ke warga", False, id="an-address-of-that-name"),
    pytest.param("anonim@desa.go.id mengirim ancaman ke warga", False, id="an-address-of-a-country-domain"),
    # an address before it is a word of theirs, not a handle: the look ends there, as before
    pytest.param("budi@gmail.com ANONIM|kades minta setoran", False, id="an-address-before-it"),
    pytest.param("budi.s@gmail.com,@pemkot ANONIM|kades minta setoran", False, id="an-address-joined-to-a-handle"),
]


@pytest.mark.parametrize(("typed", "text"), GLUED_ANONYMITY)
def test_an_anonymity_word_glued_to_a_mark_opening_a_report_makes_it_anonymous_its_text_as_read(
        typed: str, text: str) -> None:
    parsed = parse_text(typed)
    assert (parsed.action, parsed.anonymous, parsed.text) == (Action.REPORT, True, text)
    # nothing else read otherwise: the reading without it differs by the flag alone
    assert parse_text(typed, glued_anonymity=False) in (parsed, replace(parsed, anonymous=False))


@pytest.mark.parametrize(("typed", "anonymous"), NOT_GLUED_ANONYMITY)
def test_no_anonymity_word_glued_to_a_mark_opening_a_report_reads_as_before(typed: str, anonymous: bool) -> None:
    parsed = parse_text(typed)
    assert parsed.anonymous is anonymous
    assert parsed == parse_text(typed, glued_anonymity=False)



# (typed, anonymous, its text as read before): a confidentiality word opening a report set off by a pipe, an SMS
# template's separator never inside a word of prose. Each went public, the anonymity word's flag read beside it.
GLUED_CONFIDENTIALITY = [
    pytest.param("RAHASIA|pungli di kelurahan", False, "RAHASIA|pungli di kelurahan", id="pipe"),
    pytest.param("RAHASIA|ANONIM|pungli di kelurahan", True, "RAHASIA|ANONIM|pungli di kelurahan",
                 id="pipe-then-anonymity-word"),
    pytest.param("ANONIM|RAHASIA|pungli di kelurahan", True, "ANONIM|RAHASIA|pungli di kelurahan",
                 id="anonymity-word-then-pipe"),
    pytest.param("ANONIM RAHASIA|pungli di kelurahan", True, "RAHASIA|pungli di kelurahan",
                 id="after-an-anonymity-word-read"),
    pytest.param("LAPOR RAHASIA|pungli di kelurahan", False, "RAHASIA|pungli di kelurahan", id="kind-then-pipe"),
    pytest.param("LAPOR|RAHASIA pungli di kelurahan", False, "LAPOR|RAHASIA pungli di kelurahan",
                 id="pipe-before-it"),
    pytest.param("WBS|ANONIM|RAHASIA kepala dinas minta setoran", True,
                 "WBS|ANONIM|RAHASIA kepala dinas minta setoran", id="kind-and-anonymity-word-before-it"),
    pytest.param("WBS @pemkot RAHASIA|kepala dinas minta setoran", False,
                 "@pemkot RAHASIA|kepala dinas minta setoran", id="a-handle-before-it"),
    pytest.param("RAHASIA\uff5cpungli di kelurahan", False, "RAHASIA\uff5cpungli di kelurahan", id="fullwidth-pipe"),
    # a pipe sets it off as a colon does ("RAHASIA: negara ..."): a flag, not the noun "rahasia negara"
    pytest.param("Rahasia|negara dijual oknum", False, "Rahasia|negara dijual oknum", id="before-a-compound-word"),
    pytest.param("SECRET|the officer took money", False, "SECRET|the officer took money", id="english"),
    pytest.param("RAHASİA|pungli di kelurahan", False, "RAHASİA|pungli di kelurahan", id="dotted-capital-i"),
]

# (typed, confidential as read before): a confidentiality word glued to any other mark, or after a word of the
# citizen's, reads as before, flags and all.
NOT_GLUED_CONFIDENTIALITY = [
    pytest.param("Rahasia+Negara bocor di dinas", False, id="plus"),
    pytest.param("LAPOR|Rahasia+Negara bocor di dinas", False, id="pipe-before-it-plus-after"),
    pytest.param("#rahasia_negara|bocor di dinas", False, id="a-hashtag-of-theirs"),
    pytest.param("RAHASIA_pungli di kelurahan", False, id="underscore"),
    pytest.param("(rahasia)nya terbongkar di dinas", False, id="a-bracket-and-a-suffix"),
    pytest.param("RAHASIA)pungli di kelurahan", False, id="closing-bracket"),
    pytest.param("BUKAN RAHASIA|pungli di kelurahan", False, id="negated"),
    pytest.param("Kepala desa RAHASIA|minta setoran", False, id="later-in-prose"),
]


@pytest.mark.parametrize(("typed", "anonymous", "text"), GLUED_CONFIDENTIALITY)
def test_a_confidentiality_word_set_off_by_a_pipe_opening_a_report_makes_it_confidential_its_text_as_read(
        typed: str, anonymous: bool, text: str) -> None:
    parsed = parse_text(typed)
    assert (parsed.action, parsed.anonymous, parsed.confidential, parsed.text) == (Action.REPORT, anonymous, True, text)
    # nothing else read otherwise: the reading without the glued flags differs by flags alone
    unglued = parse_text(typed, glued_anonymity=False)
    assert replace(unglued, anonymous=parsed.anonymous, confidential=True) == parsed


@pytest.mark.parametrize(("typed", "confidential"), NOT_GLUED_CONFIDENTIALITY)
def test_no_confidentiality_word_set_off_by_a_pipe_reads_as_before(typed: str, confidential: bool) -> None:
    parsed = parse_text(typed)
    assert parsed.confidential is confidential
    assert parsed == parse_text(typed, glued_anonymity=False)


# (typed, action, anonymous, confidential, its text as read before): a flag word glued to a mark opening an addition's
# words after its Tracking ID, read as one a space apart is ("10000012 ANONIM foto ..." is anonymous). Read named, the
# addition went beside the number, and as a report of its own when the ID was never minted.
GLUED_FLAGS_AFTER_AN_ID = [
    pytest.param("10000012 ANONIM)foto sudah saya kirim", Action.FOLLOW_UP, True, False,
                 "ANONIM)foto sudah saya kirim", id="follow-up-closing-bracket"),
    pytest.param("10000012 ANONIM>2 foto sudah saya kirim", Action.FOLLOW_UP, True, False,
                 "ANONIM>2 foto sudah saya kirim", id="follow-up-greater-than-before-a-count"),
    pytest.param("10000012 ANONIM_foto sudah saya kirim", Action.FOLLOW_UP, True, False,
                 "ANONIM_foto sudah saya kirim", id="follow-up-underscore"),
    pytest.param("10000012 [ANONIM]foto sudah saya kirim", Action.FOLLOW_UP, True, False,
                 "[ANONIM]foto sudah saya kirim", id="follow-up-brackets-glued"),
    pytest.param("TAMBAHAN 10000012 ANONIM~foto sudah saya kirim", Action.FOLLOW_UP, True, False,
                 "ANONIM~foto sudah saya kirim", id="follow-up-label-tilde"),
    pytest.param("CEK 10000012 ANONIM)foto loketnya", Action.STATUS, True, False, "ANONIM)foto loketnya",
                 id="status-query-with-words"),
    # a pipe sets the flag word apart as a clause of its own too (a statement's break)
    pytest.param("10000012 ANONIM|foto sudah saya kirim", Action.FOLLOW_UP, True, False,
                 "ANONIM|foto sudah saya kirim", id="follow-up-pipe"),
    pytest.param("10000012 RAHASIA|foto sudah saya kirim", Action.FOLLOW_UP, False, True,
                 "RAHASIA|foto sudah saya kirim", id="follow-up-confidentiality-word-pipe"),
    pytest.param("10000012 ANONIM|RAHASIA|foto sudah saya kirim", Action.FOLLOW_UP, True, True,
                 "ANONIM|RAHASIA|foto sudah saya kirim", id="follow-up-both-flags"),
    pytest.param("Tambahan: 10000012 RAHASIA|foto sudah saya kirim", Action.FOLLOW_UP, False, True,
                 "RAHASIA|foto sudah saya kirim", id="follow-up-label-colon"),
    # a pipe after the ID closes it as a space does, the words after it read as after the space ("10000012|ANONIM foto"
    # as "10000012 ANONIM foto", "10000012|ANONIM|foto" as "10000012 ANONIM|foto"): kept, the text opened with a "|"
    pytest.param("10000012|ANONIM|foto sudah saya kirim", Action.FOLLOW_UP, True, False,
                 "ANONIM|foto sudah saya kirim", id="follow-up-piped-id-and-flag"),
    pytest.param("10000012|ANONIM foto sudah saya kirim", Action.FOLLOW_UP, True, False, "foto sudah saya kirim",
                 id="follow-up-piped-id"),
    pytest.param("10000012|foto sudah saya kirim", Action.FOLLOW_UP, False, False, "foto sudah saya kirim",
                 id="follow-up-piped-id-no-flag-word"),
    pytest.param("10000012｜RAHASIA｜foto sudah saya kirim", Action.FOLLOW_UP, False, True,
                 "RAHASIA｜foto sudah saya kirim", id="follow-up-fullwidth-pipes"),
    pytest.param("CEK 10000012|ANONIM|foto loketnya", Action.STATUS, True, False, "ANONIM|foto loketnya",
                 id="status-query-piped-id-and-flag"),
    # no amount's unit is written after a pipe: the ID stays one, as after "#" ("10000012|rupiah ..." was a new named
    # report holding the ID)
    pytest.param("10000012|rupiah 500 ribu diminta lagi", Action.FOLLOW_UP, False, False,
                 "rupiah 500 ribu diminta lagi", id="follow-up-piped-id-then-rupiah"),
    pytest.param("10000012|juta diminta", Action.FOLLOW_UP, False, False, "juta diminta",
                 id="follow-up-piped-id-then-juta"),
    pytest.param("10000012 | juta diminta lagi", Action.FOLLOW_UP, False, False, "juta diminta lagi",
                 id="follow-up-spaced-pipe-then-juta"),
    pytest.param("10000012｜ribu diminta", Action.FOLLOW_UP, False, False, "ribu diminta",
                 id="follow-up-fullwidth-pipe-then-ribu"),
]


@pytest.mark.parametrize(("typed", "action", "anonymous", "confidential", "text"), GLUED_FLAGS_AFTER_AN_ID)
def test_a_flag_word_glued_to_a_mark_after_a_tracking_id_flags_the_addition_its_text_as_read(
        typed: str, action: Action, anonymous: bool, confidential: bool, text: str) -> None:
    parsed = parse_text(typed)
    assert (parsed.action, parsed.tracking_id, parsed.anonymous, parsed.confidential, parsed.text) == (
        action, "10000012", anonymous, confidential, text)
    unglued = parse_text(typed, glued_anonymity=False)
    assert replace(unglued, anonymous=anonymous, confidential=confidential) == parsed

async def test_a_glued_anonymity_word_reaches_the_case_store_without_the_number(
        gateway: GatewayServer, casestore: CaseStoreServer, settings: Settings, tmp_path: Path) -> None:
    """"ANONIM|<isi>" by SMS: an anonymous report of the text as typed, no number in any string the case store
    wrote."""
    body = "ANONIM|Kepala desa minta setoran 5 juta"
    form = gateway.twilio_form(From=NUMBER_TWILIO, Body=body, MessageSid=MESSAGE_SID, SmsSid=MESSAGE_SID,
                               SmsMessageSid=MESSAGE_SID)
    assert (await gateway.post_twilio(form)).status_code == 200
    drain(settings, (FORWARD_QUEUE,))
    (report,) = casestore.reports()
    assert (report["anonymous"], report["sender"]["kind"], report["text"]) == (True, "reply_handle", body)
    identity = msisdn_identity(NUMBER_TWILIO)
    strings = stored_strings(tmp_path / "casestore.db")
    assert any(report["tracking_id"] in value for value in strings)  # the search does see the stored row
    leaks = {value: hits for value in strings if (hits := Identity((*identity.needles, MESSAGE_SID),
                                                                   digits=identity.digits).found_in(value))}
    assert leaks == {}, f"the case store received the sender: {leaks}"


# -- what the case store keeps of an anonymous report's attachment ---------------------------------------------------
SHA256 = "ab" * 32
STORED = {"content_type": "application/pdf", "size": 17, "sha256": SHA256, "name": "Kuitansi Warga Rahasia.pdf",
          "location": f"attachments/ab/{SHA256}", "flags": ["inline"]}
NOT_STORED = {**STORED, "location": "", "flags": ["too_large", "not_stored"]}
TWILIO_MEDIA = {"content_type": "image/jpeg", "size": None, "sha256": None, "name": None,
                "location": TWILIO_MEDIA_URL, "flags": []}
X_PHOTO = {**TWILIO_MEDIA, "name": "3_1860000000000000001",
           "location": "https://pbs.twimg.com/media/GZ5xYz1WAAAbcde.jpg"}
FETCHED = {**X_PHOTO, "size": 17, "sha256": SHA256, "location": f"attachments/ab/{SHA256}"}
NOT_FETCHED = {**TWILIO_MEDIA, "flags": ["not_fetched"]}


@pytest.mark.parametrize(("attachment", "anonymous", "expected"), [
    pytest.param(STORED, True, {**STORED, "name": None}, id="stored by the gateway: its sha256 path stays"),
    pytest.param(NOT_STORED, True, {**NOT_STORED, "name": None, "sha256": None, "size": None},
                 id="not stored: nor its sha256 and size, which would tell the copy on the reporter's phone"),
    pytest.param(NOT_STORED, False, NOT_STORED, id="not stored, not anonymous: its sha256 and size as before"),
    pytest.param(TWILIO_MEDIA, True, {**TWILIO_MEDIA, "location": "", "flags": ["location_withheld"]},
                 id="twilio media URL: withheld, the type stays"),
    pytest.param(X_PHOTO, True, {**X_PHOTO, "name": None, "location": "", "flags": ["location_withheld"]},
                 id="x photo: media key and URL withheld"),
    pytest.param(X_PHOTO, False, X_PHOTO, id="not anonymous: as received"),
    pytest.param(FETCHED, True, {**FETCHED, "name": None}, id="fetched from the provider: its sha256 path stays"),
    pytest.param(NOT_FETCHED, True, {**NOT_FETCHED, "location": "", "flags": ["not_fetched", "location_withheld"]},
                 id="not fetched: withheld as before, both flags"),
    pytest.param(NOT_FETCHED, False, NOT_FETCHED, id="not fetched, not anonymous: its URL as before"),
])
def test_an_anonymous_reports_attachment_keeps_what_it_is_and_loses_where_it_came_from(
        attachment: dict[str, Any], anonymous: bool, expected: dict[str, Any], test_env: TestEnvironment) -> None:
    envelope = {"tracking_id": "10000004", "channel": "sms", "channel_message_id": MESSAGE_SID,
                "anonymous": anonymous, "sender": {"kind": "msisdn", "id": NUMBER_TWILIO, "display_name": None},
                "attachments": [attachment]}
    assert case_store_payload(envelope, test_env.settings())["attachments"] == [expected]
    assert envelope["attachments"] == [attachment]  # the gateway's own copy keeps the location


# -- the sender's own identity written in an anonymous report's text -------------------------------------------------
SMS_SENDER = {"kind": "msisdn", "id": NUMBER_TWILIO, "display_name": None}
MAIL_SENDER = {"kind": "email", "id": ADDRESS.lower(), "display_name": "Budi Santoso"}
X_SENDER = {"kind": "x_user", "id": "1790000000000000042", "display_name": "Budi Sangat Rahasia"}
IG_SENDER = {"kind": "ig_user", "id": "rina.rahasia", "display_name": None}


@dataclass(frozen=True)
class OwnIdentityCase:
    id: str
    sender: dict[str, Any]
    text: str
    expected: str
    meta: dict[str, Any] | None = None
    channel: str = "sms"
    subject: str | None = None  # the subject expected where it is read otherwise than the text (see the test)


OWN_IDENTITY_CASES = [
    OwnIdentityCase("sms: the number typed as the citizen writes it, in every form", SMS_SENDER,
                    "Pungli di kelurahan. Balas ke 0812-3456-7001 / +62 812 3456 7001 / 6281234567001 / "
                    "(0812) 3456.7001 / 81234567001",
                    "Pungli di kelurahan. Balas ke [anonim] / [anonim] / [anonim] / [anonim] / [anonim]"),
    # In brackets: the closing one went on alone after it ("[anonim])").
    OwnIdentityCase("sms: the number in brackets", SMS_SENDER,
                    "Saya, Siti Rahayu (0812-3456-7001), melaporkan. Balas (０８１２－３４５６－７００１) atau "
                    "(0812) 3456 7001.",
                    "Saya, [anonim] [anonim], melaporkan. Balas [anonim] atau [anonim]."),
    # The trunk 0 kept after the country code, as many write their number in a form's "+62" field.
    OwnIdentityCase("sms: the number with its trunk 0 after the country code", SMS_SENDER,
                    "Balas ke +620812-3456-7001 / 6208123456 7001 / +62 (0)812 3456 7001 / 0062 0812 3456 7001",
                    "Balas ke [anonim] / [anonim] / [anonim] / [anonim]"),
    OwnIdentityCase("sms: the number in an Asian phone keyboard's fullwidth forms, in Arabic-Indic digits",
                    SMS_SENDER, "Balas ke ０８１２－３４５６－７００１ / ＋６２ ８１２ ３４５６ ７００１ / "
                    "（０８１２）３４５６．７００１ / ٠٨١٢٣٤٥٦٧٠٠١, bukan ０８１２－３４５６－７００２",
                    "Balas ke [anonim] / [anonim] / [anonim] / [anonim], bukan ０８１２－３４５６－７００２"),
    # A minus sign (U+2212) is a dash to whoever types it, as a hyphen and an en dash are.
    OwnIdentityCase("sms: the number with minus signs between its groups", SMS_SENDER,
                    "Balas ke 0812\u22123456\u22127001", "Balas ke [anonim]"),
    # Other marks a keypad or a habit puts between the groups: an underscore, an asterisk, a tilde, a colon, a comma,
    # an apostrophe, a middle dot. Each reached the case store whole.
    OwnIdentityCase("sms: the number with other marks between its groups", SMS_SENDER,
                    "Balas ke 0812_3456_7001 / 0812*3456*7001 / 0812~3456~7001 / 0812:3456:7001 / 0812,3456,7001 / "
                    "0812'3456'7001 / 0812\u00b73456\u00b77001",
                    "Balas ke [anonim] / [anonim] / [anonim] / [anonim] / [anonim] / [anonim] / [anonim]"),
    OwnIdentityCase("sms: another number, an account and a Tracking ID stay", SMS_SENDER,
                    "Oknum minta transfer ke 0812-9999-0000, rek 1234567001, lihat laporan 10000004",
                    "Oknum minta transfer ke 0812-9999-0000, rek 1234567001, lihat laporan 10000004"),
    # A contact the sender gives as theirs ("hubungi saya di ...", "WA saya ...", "email saya ..."), anywhere in the
    # text: a second number of an SMS's sender, a mail's sender's number (which the gateway does not know), in the
    # body, not only in a mail's sign-off. Each reached the case store. Another word between ends the phrase's reach.
    OwnIdentityCase("sms: a second number the sender gives as theirs, and one given as someone else's", SMS_SENDER,
                    "Pungli di loket. Hubungi saya lewat WA di 0857_1234_9876 atau 0813 9876 5432. Nomor saya "
                    "dipakai penipu 0813-1111-2222; laporan saya 10000004. NIK saya: 3201-2345-6789-0001",
                    "Pungli di loket. Hubungi saya lewat WA di [anonim] atau [anonim]. Nomor saya "
                    "dipakai penipu 0813-1111-2222; laporan saya 10000004. NIK saya: [anonim]"),
    OwnIdentityCase("sms: a civil servant's number (NIP) given as the sender's", SMS_SENDER,
                    "Dana dipotong bendahara. NIP saya 19880101 201001 2 003, nip sy: 198801012010012003",
                    "Dana dipotong bendahara. NIP saya [anonim], nip sy: [anonim]"),
    # Numbers listed with a slash are each one: read as one past the most digits a number has, the second one's last
    # digits stayed ("[anonim]-512346"). A slash between a number's own groups joins them.
    OwnIdentityCase("sms: numbers of the sender's listed with a slash, and one number's groups split by one",
                    SMS_SENDER,
                    "Pungli di loket. Hubungi saya di 0274-512345 / 0274-512346. WA saya "
                    "0857-2222-3333/0813-4444-5555. Telp saya 0274/512347 atau 0813 / 4444 6666",
                    "Pungli di loket. Hubungi saya di [anonim] / [anonim]. WA saya [anonim]/[anonim]. "
                    "Telp saya [anonim] atau [anonim]"),
    # A slash before a number's own group (no trunk 0: an area code's, the country code's) joins it, a mark or a line
    # break beside it too; a trunk's 0 after it opens another number, of nine digits too.
    OwnIdentityCase("sms: a number's groups split by a slash and marks, and a list of three", SMS_SENDER,
                    "Telp saya (0274)/512345, WA saya +62 / 812 3456 7890. Hubungi saya di 0274 /\n512345 atau "
                    "0274-/512346. WA saya 0812-3456-7890 / 0813-4444-5555 / 0645-41234",
                    "Telp saya [anonim], WA saya [anonim]. Hubungi saya di [anonim] atau "
                    "[anonim]. WA saya [anonim] / [anonim] / [anonim]"),
    # Groups before a slash short of a whole number join the number after it, a trunk's 0 after the slash too: read
    # apart, the first was no number, the words between no connector, and her whole number stayed. So do an ID's.
    OwnIdentityCase("sms: a short group before a slash and her mobile, an ID's groups split by slashes", SMS_SENDER,
                    "telp saya 512345 / 0812-3456-7890. NIK saya 3201/2345/6789/0001. WA saya +62 / 0812-3456-7890. "
                    "WA saya 0812/0345/6789",
                    "telp saya [anonim]. NIK saya [anonim]. WA saya [anonim]. WA saya [anonim]"),
    # Numbers listed with slashes before the words giving them as hers are all hers, as they were read as one.
    OwnIdentityCase("sms: numbers listed with slashes before 'nomor saya'", SMS_SENDER,
                    "Kalau ada info, 0645-41234 / 0645-41235 nomor saya. Atau 0274-512345 / 0274-512346 (telp saya)",
                    "Kalau ada info, [anonim] nomor saya. Atau [anonim] (telp saya)"),
    # Her number the gateway knows first: the contacts listed after it are read as after hers. Its [anonim] ended the
    # list, and her second number reached the case store; someone else's after it stays.
    OwnIdentityCase("sms: numbers listed after the sender's own, and someone else's after it", SMS_SENDER,
                    "WA saya 0812-3456-7001 / 0857-1234-9876 / 0274-512345. Hubungi saya di 0812-3456-7001 atau "
                    "0813 9876 5432. "
                    "Telp saya 0812-3456-7001 / 0813-1111-2222 milik pelaku",
                    "WA saya [anonim] / [anonim] / [anonim]. Hubungi saya di [anonim] atau [anonim]. "
                    "Telp saya [anonim] / 0813-1111-2222 milik pelaku"),
    # Her contact given in the clause after the scammer's, a comma between, is hers: the sentence named someone else,
    # and it stayed as his words. His words after a colon, or after a word of the clause, stay.
    OwnIdentityCase("sms: her contact given after the scammer's, a comma between", SMS_SENDER,
                    "Nomor penipu 0813-1111-2222, nomor saya 0857-1234-9876. IG penipu @olshop_murah, IG saya "
                    "@siti_r88. SMS penipu: menang 100jt, hubungi saya di 0813-3333-4444. Penipu dengan nomor "
                    "0813-5555-6666, bilang hubungi saya di 0813-7777-8888",
                    "Nomor penipu 0813-1111-2222, nomor saya [anonim]. IG penipu @olshop_murah, IG saya "
                    "[anonim]. SMS penipu: menang 100jt, hubungi saya di 0813-3333-4444. Penipu dengan nomor "
                    "0813-5555-6666, bilang hubungi saya di 0813-7777-8888"),
    # So is hers after the scammer's labelled after it, and after a plea or a condition opening the next clause: the
    # sentence named him, and hers stayed as his words. A colon or a telling word before stays his.
    OwnIdentityCase("sms: her contact after the scammer's labelled after it, or after a plea", SMS_SENDER,
                    "0813-1111-2222 itu nomor penipu, nomor saya 0857-1234-9876. Penipu pakai 0813-3333-4444, bisa "
                    "hubungi saya di 0857-2468-1357. IG @olshop_murah punya penipu, kalau perlu hubungi saya di "
                    "0812-9988-7766. SMS penipu: 0813-5555-6666 itu nomor admin, hubungi saya di 0813-7777-8888. "
                    "Penipu bilang 0813-1212-3434 itu nomor penipu, nomor saya 0813-5656-7878",
                    "0813-1111-2222 itu nomor penipu, nomor saya [anonim]. Penipu pakai 0813-3333-4444, bisa "
                    "hubungi saya di [anonim]. IG @olshop_murah punya penipu, kalau perlu hubungi saya di "
                    "[anonim]. SMS penipu: 0813-5555-6666 itu nomor admin, hubungi saya di 0813-7777-8888. "
                    "Penipu bilang 0813-1212-3434 itu nomor penipu, nomor saya 0813-5656-7878"),
    # Words giving her own right after a number, ending their clause, label it hers whoever the sentence named before
    # (the scammer's first in a list, the scammer calling her number): both stayed. Words of his after a colon or a
    # telling word stay his.
    OwnIdentityCase("sms: her number labelled hers after it in a sentence naming the scammer", SMS_SENDER,
                    "No penipu 0813-1111-2222 / 0812-3456-7890 nomor saya. Penipu menelpon ke 0857-2468-1357 (nomor "
                    "saya). SMS penipu: transfer ke 0813-3333-4444 nomor saya. Penipu bilang 0813-5555-6666 nomor "
                    "saya",
                    "No penipu 0813-1111-2222 / [anonim] nomor saya. Penipu menelpon ke [anonim] (nomor "
                    "saya). SMS penipu: transfer ke 0813-3333-4444 nomor saya. Penipu bilang 0813-5555-6666 nomor "
                    "saya"),
    # Eight digits or more before a slash and her mobile end there: read as one number, past the most digits one has,
    # the mobile's last digits stayed; so do digits a Tracking ID's check holds, before a mobile with its country code
    # too.
    OwnIdentityCase("sms: a number of eight digits before a slash and her mobile", SMS_SENDER,
                    "telp saya 12345678 / 0812-3456-7890. Nama saya Rina 55512347 / 0857-2468-1357. Nomor saya "
                    "10000004 / +6281299887766",
                    "telp saya [anonim] / [anonim]. Nama saya [anonim] [anonim] / [anonim]. Nomor saya [anonim] / "
                    "[anonim]"),
    # Her contact in the clause after her own description right after her name is hers (it stayed beside her name's
    # [anonim]); someone else's there, or after a description naming them, stays.
    OwnIdentityCase("sms: her contact after her own description after her name", SMS_SENDER,
                    "Saya Siti Rahayu warga RT 03 RW 07, WA (0821) 5544-3322. Nama saya Rina Wati asal Bekasi, "
                    "email rina.w@contoh.id. Saya Dewi Lestari warga RT 05, pelaku 0813-1112-2233. Saya Ani Suryani "
                    "warga yang ditipu 0813-4444-5555, tolong",
                    "Saya [anonim] warga RT 03 RW 07, WA [anonim]. Nama saya [anonim] asal Bekasi, "
                    "email [anonim]. Saya [anonim] warga RT 05, pelaku 0813-1112-2233. Saya [anonim] "
                    "warga yang ditipu 0813-4444-5555, tolong"),
    # Her name as her mail's From gives it, replaced first: her contacts right after it go with it, as after a name
    # read there (the number stayed beside "Saya [anonim]": "Saya" was read only before a capital).
    OwnIdentityCase("mail: her contacts after her name the From gives, after 'Saya'", MAIL_SENDER,
                    "Kepada Yth. Admin LAPOR,\n\nSaya Budi Santoso, WA 0821 5544 3322. Nama saya Budi Santoso, HP "
                    "0857-2468-1357. Saya Budi Santoso, 0813-1112-2233 menipu saya. Jalan rusak.",
                    "Kepada Yth. Admin LAPOR,\n\nSaya [anonim], WA [anonim]. Nama saya [anonim], HP [anonim]. "
                    "Saya [anonim], 0813-1112-2233 menipu saya. Jalan rusak.", channel="email"),
    # Numbers listed before the words giving them as hers are hers from the first one no word labels, on their line:
    # the Lurah's and the Kades's went with hers.
    OwnIdentityCase("sms: numbers listed after an office's before 'nomor saya'", SMS_SENDER,
                    "Pak Lurah 0813-1111-2222 / 0812-3456-7890 nomor saya. Kades 0274-599999/0812-3456-7891/"
                    "0857-2468-1357 (no saya)",
                    "Pak Lurah 0813-1111-2222 / [anonim] nomor saya. Kades 0274-599999/[anonim] (no saya)"),
    # A label after a number ends at the next contact listed, a joining word before it: "milik Kades dan 0857..."
    # labels the Kades's number, which went as hers.
    OwnIdentityCase("sms: an office's number labelled before the next contact listed", SMS_SENDER,
                    "WA saya 0812-3456-7890 / 0274-599999 milik Kades dan 0857-2468-1357",
                    "WA saya [anonim] / 0274-599999 milik Kades dan 0857-2468-1357"),
    # After her number the gateway knows, a contact listed is hers, words after it too ("Terima kasih"); one given as
    # someone else's after it stays (a claim, a label after a comma, "kantor" before it), as do the scammer's words
    # named after them ("kata penipu itu"). A number wrapped across a line is one; another whole one below is not.
    OwnIdentityCase("sms: contacts after the sender's own number with words after them, and words naming whose",
                    SMS_SENDER,
                    "nomor saya 0857 2468\n1357. WA saya 0812-3456-7001 / 0813-1111-2222 ngaku dari BRI. WA saya "
                    "0812-3456-7001 / 0813-1111-2226, itu nomor penipu. WA saya 0812-3456-7001 / 0857-2468-1358 "
                    "Terima kasih. telp saya 0812-3456-7001 / kantor 0813-1111-2223. Nomor penipu 0813-1111-2224, "
                    "WA saya 0821-9090-8080 kata penipu itu. nomor saya 0857 2468 13\n59. Pelaku: 0813-1111-2227\n"
                    "0812 3456 7891 nomor saya",
                    "nomor saya [anonim]. WA saya [anonim] / 0813-1111-2222 ngaku dari BRI. WA saya "
                    "[anonim] / 0813-1111-2226, itu nomor penipu. WA saya [anonim] / [anonim] "
                    "Terima kasih. telp saya [anonim] / kantor 0813-1111-2223. Nomor penipu 0813-1111-2224, "
                    "WA saya 0821-9090-8080 kata penipu itu. nomor saya [anonim]. Pelaku: 0813-1111-2227\n"
                    "[anonim] nomor saya"),
    # A tag further on is her own sentence's, not the scammer's words'; a landline of hers on the next line is a
    # number of its own (its last digits stayed, joined to the mobile above it).
    OwnIdentityCase("sms: a tag further on after her contact, and her landline on the line below her mobile",
                    SMS_SENDER,
                    "Sms penipu 0813-1111-2222, hubungi saya di 0857-2468-1357, kata pak RT kades sudah dilaporkan. "
                    "WA saya 0857-2468-1358\n0645-41234 (rumah)",
                    "Sms penipu 0813-1111-2222, hubungi saya di [anonim], kata pak RT kades sudah dilaporkan. "
                    "WA saya [anonim]\n[anonim] (rumah)"),
    # A bare "kata" after her contact may be her own sentence's word: her number and handle stayed. A number of eight
    # digits at its line's end, someone else's, is no part of hers on the next line.
    OwnIdentityCase("sms: 'kata' after her contact given after the scammer's, and his short number above hers",
                    SMS_SENDER,
                    "Nomor penipu 0813-1111-2222, nomor saya 0857-2468-1357 kata kunci akun saya diganti. Nomor "
                    "penipu 0813-1111-2223, IG saya @siti_r kata teman saya bagus. Nomor pelaku 0274-5123\n"
                    "0857-2468-1358 nomor saya",
                    "Nomor penipu 0813-1111-2222, nomor saya [anonim] kata kunci akun saya diganti. Nomor "
                    "penipu 0813-1111-2223, IG saya [anonim] kata teman saya bagus. Nomor pelaku 0274-5123\n"
                    "[anonim] nomor saya"),
    # After her name, a number listed after hers labelled as an office's stays, as after words asking to be reached.
    OwnIdentityCase("sms: an office's number listed after hers beside her name", SMS_SENDER,
                    "Nama saya Budi Santoso 0812-3456-7890 / 0274-599999 milik Kades",
                    "Nama saya [anonim] [anonim] / 0274-599999 milik Kades"),
    # As an SMS writes them: "sy" and "aku" for "saya", "hub" for "hubungi" before them. Each reached the case store.
    # "hub" or "balas ke" alone before a number is how a scam SMS asks to be called or answered: the scammer's stays.
    OwnIdentityCase("sms: a number given as the sender's in the short forms an SMS writes", SMS_SENDER,
                    "pungli dinas. hubungi sy di 0857-1111-3333. kontak sy 0857-1111-3334. no hp sy 0857-1111-3335. "
                    "hub sy 0857-1111-3336. hp aku 0857-1111-3340. nomor sy dipakai penipu 0813-1111-2222. email sy "
                    "ke pengaduan@dinas.example tidak dibalas. SMS-nya: Anda menang, hub 0813-2222-4444 atau balas ke "
                    "0813-2222-5555. terima kasih",
                    "pungli dinas. hubungi sy di [anonim]. kontak sy [anonim]. no hp sy [anonim]. "
                    "hub sy [anonim]. hp aku [anonim]. nomor sy dipakai penipu 0813-1111-2222. email sy "
                    "ke pengaduan@dinas.example tidak dibalas. SMS-nya: Anda menang, hub 0813-2222-4444 atau balas ke "
                    "0813-2222-5555. terima kasih"),
    # The number's own short forms ("tlp", "telp.", "nomer", "nmr", "no.") before "sy": each reached the case store.
    # Another word between keeps the scammer's number, and so do a scam SMS's words quoted or named as the scammer's.
    OwnIdentityCase("sms: a number given as the sender's after the number's short forms", SMS_SENDER,
                    "pungli dinas. tlp sy 0857-1111-3337. Telp. sy: 0857-1111-3338. nomer sy 0857-1111-3339. "
                    "nmr sy 0857-1111-3341. no. sy 0857-1111-3342. hubungi sy di nmr 0857-1111-3343. nomer sy "
                    "dipakai penipu 0813-1111-2222. SMS penipu: tlp sy 0813-2222-4444. "
                    'Isi SMS: "nmr sy 0813-2222-5555". no. sy dicatut 0813-2222-6666. terima kasih',
                    "pungli dinas. tlp sy [anonim]. Telp. sy: [anonim]. nomer sy [anonim]. "
                    "nmr sy [anonim]. no. sy [anonim]. hubungi sy di nmr [anonim]. nomer sy "
                    "dipakai penipu 0813-1111-2222. SMS penipu: tlp sy 0813-2222-4444. "
                    'Isi SMS: "nmr sy 0813-2222-5555". no. sy dicatut 0813-2222-6666. terima kasih'),
    # More of them as typed: "-ku" ("my") after the word or apart, no space after the dot, "tlpn". Each reached the
    # case store; the accused's words and amounts stay.
    OwnIdentityCase("sms: a number given as the sender's after 'nomerku', 'hp ku', 'no.sy', 'tlpn sy'", SMS_SENDER,
                    "RAHASIA kades minta pungli 2 juta. nomerku 0812-3456-7890. hp ku: 0857 1111 3344. no.sy "
                    "085711113345. tlpn sy 0857-1111-3346",
                    "RAHASIA kades minta pungli 2 juta. nomerku [anonim]. hp ku: [anonim]. no.sy "
                    "[anonim]. tlpn sy [anonim]"),
    # Their close forms that are not hers keep the number: another word between ("hp ku hilang dicuri ..."), the
    # accused's ("nomernya kades", "hp kades"), a scam's words.
    OwnIdentityCase("sms: a number after close forms of 'nomerku', 'hp ku', 'no.sy', 'tlpn sy' not hers stays",
                    SMS_SENDER,
                    "nomerku dipakai penipu 0813-1111-2222. hp ku hilang dicuri, dipakai nelpon warga dari "
                    "0813-1111-3333. no.sy dicatut 0813-1111-4444. tlpn sy diblokir kades 0813-1111-5555. nomernya "
                    "kades 0812-2222-6666, hp kades 0812-2222-7777, hp ku hilang dicuri nomor pelaku 0813-2222-8888. "
                    "kades minta transfer, nomernya 0812-2222-9999, hpnya 0812-2222-9998. "
                    'SMS penipu: nomerku 0813-3333-1111. Isi SMS: "hp ku 0813-3333-2222"',
                    "nomerku dipakai penipu 0813-1111-2222. hp ku hilang dicuri, dipakai nelpon warga dari "
                    "0813-1111-3333. no.sy dicatut 0813-1111-4444. tlpn sy diblokir kades 0813-1111-5555. nomernya "
                    "kades 0812-2222-6666, hp kades 0812-2222-7777, hp ku hilang dicuri nomor pelaku 0813-2222-8888. "
                    "kades minta transfer, nomernya 0812-2222-9999, hpnya 0812-2222-9998. "
                    'SMS penipu: nomerku 0813-3333-1111. Isi SMS: "hp ku 0813-3333-2222"'),
    # "di" and a word of reaching ("di sms", "di telp") after words naming her number, and a claim after the number,
    # say who reached it: the scammer's number stays (it went as hers). Without the claim the words may be hers ("nomor
    # saya di telp 0857...": by phone), and privacy wins; after words asking to be reached, hers goes.
    OwnIdentityCase("sms: a number that reached hers ('hp ku di sms 0813... ngaku ...') stays, hers goes", SMS_SENDER,
                    "hp ku di sms 0813-2222-4444 ngaku dari bank. no saya di telp 0813-2222-5555 ngaku polisi. "
                    "hp ku 0857-1111-3350 di sms 0813-2222-6666 mengaku kurir. hubungi saya di sms 0857-1111-3351. "
                    "hubungi sy di telp 0857-1111-3352. WA saya di 0857-1111-3353. bisa call saya, nomor saya di telp "
                    "0857-1111-3354",
                    "hp ku di sms 0813-2222-4444 ngaku dari bank. no saya di telp 0813-2222-5555 ngaku polisi. "
                    "hp ku [anonim] di sms 0813-2222-6666 mengaku kurir. hubungi saya di sms [anonim]. "
                    "hubungi sy di telp [anonim]. WA saya di [anonim]. bisa call saya, nomor saya di telp "
                    "[anonim]"),
    # A social account given as the sender's: its handle with its @ or, right after the words, without it (a dot, an
    # underscore or a digit in it); a plain word there is the sentence's, and someone else's handle stays.
    OwnIdentityCase("sms: a social network's handle given as the sender's, with its @ or without it", SMS_SENDER,
                    "pungli dinas. IG saya @siti.rahma.wb. IG saya siti.rahma.wb. instagram saya: @siti.rahma "
                    "twitter saya @siti_rahma, telegram saya @sitirahma88, fb sy siti.rahma.5, tiktok saya "
                    "siti_rahma88. IG saya dibajak oleh @penipu_olshop. terima kasih",
                    "pungli dinas. IG saya [anonim]. IG saya [anonim]. instagram saya: [anonim] "
                    "twitter saya [anonim], telegram saya [anonim], fb sy [anonim], tiktok saya "
                    "[anonim]. IG saya dibajak oleh @penipu_olshop. terima kasih"),
    # The informal "aku" and "-ku" ("my") as "saya" and "sy": each reached the case store. Another word between ("IGku
    # dibajak @...", "igku di follow @..."), a scam's words or someone else's sentence keep the other account's handle.
    OwnIdentityCase("sms: a social network's handle given as the sender's after 'aku' and '-ku'", SMS_SENDER,
                    "pungli dinas. twitter aku @siti_rahma, IG ku @siti.rahma.wb, igku siti.rahma.wb, fbku: "
                    "siti.rahma.5, tiktok aku @sitirahma88. IGku dibajak @penipu_olshop. igku di follow "
                    "@olshop_murah. SMS penipu: igku @olshop_murah2. ig aku diretas oleh @hacker_01. terima kasih",
                    "pungli dinas. twitter aku [anonim], IG ku [anonim], igku [anonim], fbku: "
                    "[anonim], tiktok aku [anonim]. IGku dibajak @penipu_olshop. igku di follow "
                    "@olshop_murah. SMS penipu: igku @olshop_murah2. ig aku diretas oleh @hacker_01. terima kasih"),
    # "-ku" after a hyphen ("IG-ku"): her handle reached the case store. Close forms not hers keep the other account's.
    OwnIdentityCase("sms: a social network's handle given as the sender's after 'IG-ku'", SMS_SENDER,
                    "RAHASIA kades minta pungli 2 juta. IG-ku @siti.rahma.wb, ig-ku: siti_rahma88",
                    "RAHASIA kades minta pungli 2 juta. IG-ku [anonim], ig-ku: [anonim]"),
    OwnIdentityCase("sms: a handle after close forms of 'IG-ku' not hers stays", SMS_SENDER,
                    "IG-ku dibajak @penipu_olshop. IG-ku di follow @olshop_murah. SMS penipu: IG-ku @olshop_murah2. "
                    "IG-kunya kades @kades_jaya. IG kades @kades_jaya2, IG-nya @kades_jaya3",
                    "IG-ku dibajak @penipu_olshop. IG-ku di follow @olshop_murah. SMS penipu: IG-ku @olshop_murah2. "
                    "IG-kunya kades @kades_jaya. IG kades @kades_jaya2, IG-nya @kades_jaya3"),
    OwnIdentityCase("sms: a number the words after it give as the sender's, not one they say misused theirs",
                    SMS_SENDER, "Tambahan: 0857 1234 9876 nomor saya, dan 0813 9876 5432 (WA saya). 0813-1111-2222 "
                    "nomor saya dicatut. Laporan 10000004 nomor saya.",
                    "Tambahan: [anonim] nomor saya, dan [anonim] (WA saya). 0813-1111-2222 "
                    "nomor saya dicatut. Laporan 10000004 nomor saya."),
    # A scam message forwarded as evidence, a post quoted: their "hubungi saya" and "nama saya" are the scammer's.
    OwnIdentityCase("sms: a number and a name in words the sender quotes stay", SMS_SENDER,
                    'Penipuan. Isi SMS: "Selamat! Nama saya Rudi Hartono dari BRI, hubungi saya di 0813-1111-2222". '
                    "SMS penipu lain: WA saya 0813-3333-4444. Kalau perlu, hubungi saya di 0857-1234-9876",
                    'Penipuan. Isi SMS: "Selamat! Nama saya Rudi Hartono dari BRI, hubungi saya di 0813-1111-2222". '
                    "SMS penipu lain: WA saya 0813-3333-4444. Kalau perlu, hubungi saya di [anonim]"),
    # A sentence is read for someone else named in it 400 characters either side of the phrase (SENTENCE_REACH): a
    # text of one unbroken sentence was read whole at each phrase (6 s at 32,000 characters, a minute at 100,000).
    OwnIdentityCase("sms: someone else named far back in one unbroken sentence does not make the number theirs",
                    SMS_SENDER, "SMS penipu datang " + "lalu saya datang ke kantor itu dan menunggu " * 12
                    + "hubungi saya di 0857-1234-9876",
                    "SMS penipu datang " + "lalu saya datang ke kantor itu dan menunggu " * 12
                    + "hubungi saya di [anonim]"),
    OwnIdentityCase("x: a quoted post's words giving its author's number stay", X_SENDER,
                    "ini penipuan\n\n[Kutipan]\n> Pinjaman cepat, WA saya 0813-1111-2222",
                    "ini penipuan\n\n[Kutipan]\n> Pinjaman cepat, WA saya 0813-1111-2222",
                    {"username": "budi_rahasia"}),
    OwnIdentityCase("mail: a number and an address the sender gives as theirs in the body", MAIL_SENDER,
                    "Kalau perlu info lebih lanjut, hubungi saya di ０８５７－１２３４－９８７６ (email saya: "
                    "dewi.l@kantor.example.id). Petugas loket 3 meminta uang. Email saya ke humas@dinas.example "
                    "tidak dibalas.",
                    "Kalau perlu info lebih lanjut, hubungi saya di [anonim] (email saya: [anonim]). Petugas loket 3 "
                    "meminta uang. Email saya ke humas@dinas.example tidak dibalas.", channel="email"),
    OwnIdentityCase("x: a handle and a number given as the sender's, in English", X_SENDER,
                    "street lights out for a week. my number is +62 857 1234 9876, or reach me at @dewi_lain",
                    "street lights out for a week. my number is [anonim], or reach me at [anonim]",
                    {"username": "budi_rahasia"}),
    # The name the sender gives as theirs ("Nama saya ..."), which the gateway does not know for an SMS, nor for a mail
    # whose From gives another: up to an ordinary word, a sentence's word or its end; lowercase words running on stay.
    OwnIdentityCase("sms: the name the sender gives as theirs, in any case", SMS_SENDER,
                    "Nama saya Budi Santoso, warga RT 03. NAMA SAYA SITI AMINAH BINTI AHMAD DARI DESA SUKAMAJU. "
                    "nama saya budi santoso. Perkenalkan, saya Budi S. dari Jl. Mawar. Nama saya dicatut oleh oknum "
                    "desa untuk pinjol",
                    "Nama saya [anonim], warga RT 03. NAMA SAYA [anonim] DARI DESA SUKAMAJU. "
                    "nama saya [anonim]. Perkenalkan, saya [anonim] dari Jl. Mawar. Nama saya dicatut oleh oknum "
                    "desa untuk pinjol"),
    # A title with its dot opening the name is the name's: its dot ended the name, and the name after it went on.
    # After the name's first word a dotted word still ends it; the next sentence's title stays.
    OwnIdentityCase("sms: a title with its dot opening the name the sender gives", SMS_SENDER,
                    "Nama saya Hj. Siti Rahayu, warga RT 03. Nama saya Drs. H. Ahmad Fauzi. Nama saya Budi. Dr. Andi "
                    "minta uang",
                    "Nama saya [anonim], warga RT 03. Nama saya [anonim]. Nama saya [anonim]. Dr. Andi minta uang"),
    # The titles opening the name count toward no limit on its words: they used up the 4 capitalized words (2 or 3
    # lowercase ones), and her surname or her whole name reached the case store. The next sentence's stays.
    OwnIdentityCase("sms: a name after several titles, its words counted without them", SMS_SENDER,
                    "Nama saya Drs. H. Ahmad Fauzi Rahman, warga RT 03. Nama saya Prof. Dr. Ir. H. Ahmad Fauzi. Kades "
                    "potong BLT. Nama saya Dr. Ir. Siti Aminah Rahayu. nama saya hj. siti nur aisyah. kades hendra "
                    "minta uang. Nama saya Hj. Siti Rahayu Putri. Dr. Andi Saputra minta uang",
                    "Nama saya [anonim], warga RT 03. Nama saya [anonim]. Kades "
                    "potong BLT. Nama saya [anonim]. nama saya [anonim]. kades hendra "
                    "minta uang. Nama saya [anonim]. Dr. Andi Saputra minta uang"),
    # Lowercase words after a title are a name only all lowercase and not opening with an office, as without a title.
    OwnIdentityCase("sms: an office or a capitalized name after a lowercase title stays", SMS_SENDER,
                    "nama saya hj Lurah Andi Saputra. nama saya dr kades hendra gunawan. nama saya dr. siti aminah.",
                    "nama saya hj Lurah Andi Saputra. nama saya dr kades hendra gunawan. nama saya [anonim]."),
    # A title's dot before an office or a relation ends the name there, a one-letter title's too ("H."): read on, the
    # office and the accused's name after it went ("saya Bpk. Camat Budi Hartono minta uang" went as "[anonim] minta
    # uang"). A name after a title, with its dot or without, still goes.
    OwnIdentityCase("sms: an office or a relation after a title's dot stays, with the accused's name", SMS_SENDER,
                    "Perkenalkan, saya Ibu. Kades Hendra Gunawan memotong BLT saya 300 ribu. Perkenalkan, saya Bpk. "
                    "Camat Budi Hartono minta uang 5 juta. Perkenalkan saya Ibu. Suami saya dipecat Kades Hendra. "
                    "Nama saya Hj. Lurah Andi Saputra memotong BLT. Perkenalkan saya Bpk. Budi Santoso dari RT 03. "
                    "Perkenalkan, saya Ibu Siti Rahayu, warga RT 03. Nama saya Ny. Siti Rahayu. Nama saya Ibu. Siti "
                    "Rahayu, warga RT 03. Nama saya Drs. H. Lurah Andi Saputra minta uang",
                    "Perkenalkan, saya [anonim]. Kades Hendra Gunawan memotong BLT saya 300 ribu. Perkenalkan, saya "
                    "[anonim]. Camat Budi Hartono minta uang 5 juta. Perkenalkan saya [anonim]. Suami saya dipecat "
                    "Kades Hendra. Nama saya [anonim]. Lurah Andi Saputra memotong BLT. Perkenalkan saya [anonim] dari "
                    "RT 03. Perkenalkan, saya [anonim], warga RT 03. Nama saya [anonim]. Nama saya [anonim], warga "
                    "RT 03. Nama saya [anonim] Lurah Andi Saputra minta uang"),
    # "Bu" and "Pak" capitalized before a capitalized word open the name as a title: a plea's forms of address too
    # ("nama sy ya pak"), they ended the name before it began, and her whole name reached the case store. With an
    # office or a lowercase word after the name the sentence is someone else's doing, and stays.
    OwnIdentityCase("sms: 'Bu' or 'Pak' opening the name the sender gives, and someone addressed so", SMS_SENDER,
                    "Nama saya Bu Siti Rahayu. Nama saya Pak Budi Santoso warga RT 03. "
                    "Nama saya Pak Budi Santoso\nNama saya Pak Budi coret dari daftar BLT. Nama "
                    "saya Pak Lurah coret juga. saya lapor Pak Kades Budi minta uang. Perkenalkan saya Pak RT 03. Nama "
                    "saya Pak, jangan disebut. nama saya ya pak, kades potong BLT",
                    "Nama saya [anonim]. Nama saya [anonim] warga RT 03. "
                    "Nama saya [anonim]\nNama saya Pak Budi coret dari daftar BLT. Nama "
                    "saya Pak Lurah coret juga. saya lapor Pak Kades Budi minta uang. Perkenalkan saya Pak RT 03. Nama "
                    "saya Pak, jangan disebut. nama saya ya pak, kades potong BLT"),
    # With its dot "Pak." or "Bu." ends a plea's sentence, the accused named after it: read as her name's title, his
    # name and office went ("Mohon rahasiakan nama saya Pak. Hendra Gunawan, Kades ..." as "... [anonim], Kades").
    # An office after her name's first word opens the accused's, with no mark between (an SMS without punctuation).
    OwnIdentityCase("sms: an office after the name the sender gives keeps the accused's office and name", SMS_SENDER,
                    "Nama saya Bu Siti Camat Andi minta uang 5jt. Nama saya Siti Kades Hendra minta uang 5 juta. Nama "
                    "saya Hj. Siti Rahayu Sekdes Budi minta uang. Nama saya Pak Budi Kades Hendra Gunawan potong BLT",
                    "Nama saya [anonim] Camat Andi minta uang 5jt. Nama saya [anonim] Kades Hendra minta uang 5 juta. "
                    "Nama saya [anonim] Sekdes Budi minta uang. Nama saya [anonim] Kades Hendra Gunawan potong BLT"),
    # Lowercase as an SMS types it, the office ends her name of one to three words (it kept her whole name); after a
    # relation's or a post's word the office is hers and goes with her name ("Siti Adik Kades Hendra", "Siti Staf
    # Kades Sukamaju"), as a word no office is ("Istri", "Ketua"); an office not listed before ("Sekcam") opens his.
    OwnIdentityCase("sms: a lowercase office ends her name; a relation's or a post's word before it makes it hers",
                    SMS_SENDER,
                    "nama saya siti rahayu kades minta uang. nama saya siti kades minta uang 5jt. nama saya siti camat "
                    "andi minta uang. Nama saya Siti Adik Kades Hendra, kakak saya korupsi. Nama saya Siti Staf Kades "
                    "Sukamaju mau lapor pungli. Nama saya Siti Istri Pak Darto, suami saya dipecat. Nama saya Rina "
                    "Sekcam Andi minta uang. nama saya dipakai kades hendra",
                    "nama saya [anonim] kades minta uang. nama saya [anonim] kades minta uang 5jt. nama saya [anonim] "
                    "camat andi minta uang. Nama saya [anonim], kakak saya korupsi. Nama saya [anonim] mau lapor "
                    "pungli. Nama saya [anonim] Pak Darto, suami saya dipecat. Nama saya [anonim] Sekcam Andi minta "
                    "uang. nama saya dipakai kades hendra"),
    # An office of more words, a [someone_else] word and a listed post open the accused's too; "Kepala" alone had.
    OwnIdentityCase("sms: 'Kepala Desa', 'Oknum', 'Babinsa' after her name's first word open the accused's",
                    SMS_SENDER,
                    "Nama saya Siti Kepala Desa Hendra minta uang. Nama saya Rina Oknum Polisi Andi peras saya. Nama "
                    "saya Dewi Babinsa Andi pukul warga",
                    "Nama saya [anonim] Kepala Desa Hendra minta uang. Nama saya [anonim] Oknum Polisi Andi peras "
                    "saya. Nama saya [anonim] Babinsa Andi pukul warga"),
    OwnIdentityCase("sms: 'Pak.' or 'Bu.' ending a plea keeps the accused named after it", SMS_SENDER,
                    "Mohon rahasiakan nama saya Pak. Hendra Gunawan, Kades Sukamaju, minta uang 5 juta. Tolong jangan "
                    "sebut nama saya Bu. Siti Aminah, bendahara desa, korupsi dana BLT. Jangan tulis nama saya Pak. "
                    "Hendra Gunawan. Dia Kades di sini.",
                    "Mohon rahasiakan nama saya Pak. Hendra Gunawan, Kades Sukamaju, minta uang 5 juta. Tolong jangan "
                    "sebut nama saya Bu. Siti Aminah, bendahara desa, korupsi dana BLT. Jangan tulis nama saya Pak. "
                    "Hendra Gunawan. Dia Kades di sini."),
    # With no plea before the words, "Bu." or "Pak." with its dot and "bu" or "pak" lowercase open her name as its
    # title: her whole name reached the case store. After a plea they are said to the reader, as above.
    OwnIdentityCase("sms: 'Bu.' with its dot and lowercase 'bu' open the name given with no plea before", SMS_SENDER,
                    "Nama saya Bu. Siti Rahayu, warga RT 03. nama saya bu siti rahayu. nama sy pak budi santoso\n"
                    "Pak, nama saya Bu. Siti Aminah. nama saya pak kades minta uang. Nama saya Pak. Kades Hendra minta "
                    "uang. tolong rahasiakan nama saya pak hendra marah nanti",
                    "Nama saya [anonim], warga RT 03. nama saya [anonim]. nama sy [anonim]\n"
                    "Pak, nama saya [anonim]. nama saya pak kades minta uang. Nama saya Pak. Kades Hendra minta "
                    "uang. tolong rahasiakan nama saya pak hendra marah nanti"),
    # Someone else named after her name or number in its sentence is her own report of them: the name and number
    # stayed ("WA saya 0812..., pelaku masih bebas"). Named before the words, the words are quoted from them and stay.
    OwnIdentityCase("sms: her name and number before the accused named in their sentence go; quoted words stay",
                    SMS_SENDER,
                    "Nama saya Siti Rahayu, pelaku pungli adalah oknum polisi. Nama saya Budi Santoso mau lapor oknum "
                    "polisi minta uang damai. WA saya 0857-1111-3360, pelaku masih bebas. hubungi saya di "
                    "0857-1111-3361 kalau pelaku datang lagi. SMS penipu: nama saya Andi dari bank, hubungi saya di "
                    "0813-2222-4444. Pelaku bilang: nama saya Andi Saputra petugas PLN",
                    "Nama saya [anonim], pelaku pungli adalah oknum polisi. Nama saya [anonim] mau lapor oknum "
                    "polisi minta uang damai. WA saya [anonim], pelaku masih bebas. hubungi saya di "
                    "[anonim] kalau pelaku datang lagi. SMS penipu: nama saya Andi dari bank, hubungi saya di "
                    "0813-2222-4444. Pelaku bilang: nama saya Andi Saputra petugas PLN"),
    # Words after her number saying whose it was ("kata", "isi sms", "ternyata" right before the scammer's word) quote
    # the scammer: his number and name, the evidence, stay (they went as hers when only the words before counted).
    OwnIdentityCase("sms: words after the contact saying a scammer's it was keep his number and name", SMS_SENDER,
                    "hubungi saya di 0813-1111-2222, kata penipu itu. Isinya: selamat anda menang, hubungi saya di "
                    "0813-1111-3333 begitu isi sms penipu. hubungi saya di 0813-1111-4444 katanya pelaku. hub saya "
                    "0813-1111-5555 kt calo di samsat. WA saya 0857-1111-3362, oknum itu minta 5jt",
                    "hubungi saya di 0813-1111-2222, kata penipu itu. Isinya: selamat anda menang, hubungi saya di "
                    "0813-1111-3333 begitu isi sms penipu. hubungi saya di 0813-1111-4444 katanya pelaku. hub saya "
                    "0813-1111-5555 kt calo di samsat. WA saya [anonim], oknum itu minta 5jt"),
    # The same on a line of a longer text: the words after the phrase were read from past the line's end, and the
    # scammer's number there went as hers.
    OwnIdentityCase("sms: words after the contact saying a scammer's it was, on a line of its own", SMS_SENDER,
                    "Laporan penipuan.\nhubungi saya di 0813-1111-6666, kata penipu itu\nmohon ditindak",
                    "Laporan penipuan.\nhubungi saya di 0813-1111-6666, kata penipu itu\nmohon ditindak"),
    # "sendiri" ("my own") between the words and her number, and a word of saying that opens what someone else said
    # after it ("kata pelaku saya akan dilaporkan balik": his words about her, no tag naming whose her number was): her
    # number and name reached the case store.
    *(OwnIdentityCase(f"sms: her own number after 'sendiri', and before someone else's reported words: {text!r}",
                      SMS_SENDER, text, expected)
      for text, expected in (
          ("WA saya sendiri 0857 1234 5678", "WA saya sendiri [anonim]"),
          ("nomor saya sendiri: 0857-1234-5679, kades minta uang", "nomor saya sendiri: [anonim], kades minta uang"),
          ("WA saya 0857 1234 5678, kata pelaku saya akan dilaporkan balik",
           "WA saya [anonim], kata pelaku saya akan dilaporkan balik"),
          ("WA saya 0857-1111-2222, kata pelaku, saya akan dilaporkan balik",
           "WA saya [anonim], kata pelaku, saya akan dilaporkan balik"),
          ("no saya 0857-1111-2223 kata pelaku: saya akan dilaporkan balik",
           "no saya [anonim] kata pelaku: saya akan dilaporkan balik"),
          ("Nama saya Siti Rahayu, kata pelaku saya akan dilaporkan balik",
           "Nama saya [anonim], kata pelaku saya akan dilaporkan balik"),
          ("hubungi saya di 0857 1234 5670, katanya oknum itu bahwa laporan saya percuma",
           "hubungi saya di [anonim], katanya oknum itu bahwa laporan saya percuma"))),
    # A scammer's number and name stay: "sendiri" with another word before the number, a tag after them naming whose
    # they were, also on a line of its own, with words of place after it ("kt calo di samsat").
    *(OwnIdentityCase(f"sms: a number after 'sendiri' not hers, and one a tag names someone else's, stay: {text!r}",
                      SMS_SENDER, text, text)
      for text in ("nomor saya sendiri dipakai penipu 0813-1111-2222",
                   "hubungi saya di 0813-1111-2222, kata penipu itu",
                   "hubungi saya di 0813-1111-2222, kata penipu itu. saya akan lapor polisi",
                   "hub saya 0813-1111-5555 kt calo di samsat",
                   "hubungi saya di 0813-1111-7777, kata penipu, saya langsung percaya",
                   "Nama saya Andi Saputra dari BRI, kata penipu\nsaya hampir transfer")),
    # After words asking to be reached, a scam's own ("hubungi saya di 0813..."), the tag right after the number is the
    # scammer's whatever words follow it: his number went as hers when they opened what he said.
    *(OwnIdentityCase(f"sms: a tag right after a number asked to be called at names the scammer's: {text!r}",
                      SMS_SENDER, text, text)
      for text in ("hubungi saya di 0813-4444-5555 kata penipu dia dari bank BRI",
                   "hubungi saya di 0813-4444-5555 kata penipu kalau mau hadiahnya cair",
                   "hubungi sy di 0813-4444-5555 kt penipu klo mau hadiah cair",
                   "hubungi saya di 0813-4444-5555 kata penipu itu anda harus transfer dulu",
                   "hubungi saya 0813-4444-5555 kata penipu tsb saya dr kejaksaan",
                   "hubungi saya di 0813-4444-5555 kata penipu saya langsung percaya")),
    # Only those words, after her words: the phrase's own ("WA"), a number and everyday words ("chat", "ternyata")
    # between her contact and someone else's word are hers, and read so, her number went as the scammer's.
    OwnIdentityCase("sms: her contact before someone else's word with no words saying whose it was goes", SMS_SENDER,
                    "WA saya 085711113360, pelaku masih bebas. nomor saya 085711223344 ternyata dipakai penipu utk "
                    "pinjol. WA saya 085711223345, chat penipu sudah saya screenshot. Nama saya Rudi Hartono, WA "
                    "penipu 081311112222",
                    "WA saya [anonim], pelaku masih bebas. nomor saya [anonim] ternyata dipakai penipu utk "
                    "pinjol. WA saya [anonim], chat penipu sudah saya screenshot. Nama saya [anonim], WA "
                    "penipu 081311112222"),
    # A courtesy in a clause of its own before the words is no plea about the name ("Mohon bantuannya, nama saya Bu.
    # Siti ..." kept her name); what was done to her name is no name ("nama saya pak diganti orang lain" went as
    # "nama saya [anonim]"); a lowercase name ends at "dari", "warga"; her second number after "atau di telp" goes.
    OwnIdentityCase("sms: a courtesy's clause, a passive verb, 'dari' after a lowercase name, 'atau di telp'",
                    SMS_SENDER,
                    "Mohon bantuannya, nama saya Bu. Siti Rahayu, warga RT 03. tolong pak, nama saya bu siti rahayu. "
                    "Nama saya bu. Siti Aminah. nama saya pak diganti orang lain. nama saya dicoret kades dari daftar "
                    "bansos. nama saya siti rahayu dari desa sukamaju. WA saya 0857-1111-3363 atau di telp "
                    "0857-1111-3364 juga bisa",
                    "Mohon bantuannya, nama saya [anonim], warga RT 03. tolong pak, nama saya [anonim]. "
                    "Nama saya [anonim]. nama saya pak diganti orang lain. nama saya dicoret kades dari daftar "
                    "bansos. nama saya [anonim] dari desa sukamaju. WA saya [anonim] atau di telp "
                    "[anonim] juga bisa"),
    OwnIdentityCase("sms: 'Korban' before the accused's office is no word of hers", SMS_SENDER,
                    "Nama saya Siti Korban Kades Hendra minta uang",
                    "Nama saya [anonim] Kades Hendra minta uang"),
    # "Saya" opening a sentence before a full name, her number after her name with only a label between, and an
    # SMS's sign-off after its closing: each reached the case store (a walk-through as a citizen). Title-case words
    # that are no name, a capitals' SMS, thanks to an official and a sign-off followed by more words stay.
    OwnIdentityCase("sms: 'Saya' before a full name, her number after her name, her name signed after thanks",
                    SMS_SENDER,
                    "kades minta uang 2 juta. Saya Ahmad Fauzi warga RT 03. camat korupsi, Saya Budi Santoso dari desa "
                    "Cibiru. Nama saya Rudi Hartono, HP 0812 3344 5566. Saya Mau Lapor Pungli. SAYA SUDAH LAPOR CAMAT. "
                    "Terima kasih Pak Kades. Terima kasih, Budi Santoso. Kades masih minta uang.",
                    "kades minta uang 2 juta. Saya [anonim] warga RT 03. camat korupsi, Saya [anonim] dari desa "
                    "Cibiru. Nama saya [anonim], HP [anonim]. Saya Mau Lapor Pungli. SAYA SUDAH LAPOR CAMAT. "
                    "Terima kasih Pak Kades. Terima kasih, Budi Santoso. Kades masih minta uang."),
    # Someone else's words passed on keep their signer, their "Saya" and their number: a scam SMS, a letter, a
    # caller's claim; a number that reached hers or one its clause gives as someone else's after her name; Title-case
    # verbs after "Saya"; "ttd" (a letter's signer, the accused).
    OwnIdentityCase("sms: someone else's words passed on, and numbers not hers after her name, stay", SMS_SENDER,
                    "Penipu sms: Selamat anda menang undian Rp 50jt. Terima kasih, Budi Santoso 081311112222\n"
                    "Surat pernyataan kades. Saya Hendra Gunawan menyatakan tidak memungut biaya. Nyatanya minta 2jt\n"
                    "Dia ngaku, Saya Budi Santoso Dari Kejaksaan, lalu minta uang 10jt\n"
                    "Nama saya Siti Rahayu, di sms 081311112222 ngaku dari BRI. Nama saya Rina Wati 081311113333 itu "
                    "no penipunya. Nama saya Dewi Lestari, @budi_penipu menipu saya\n"
                    "Saya Telepon Budi Santoso 081311114444 Tapi Tidak Diangkat\n"
                    "Surat dari kades saya foto, isinya minta iuran 200rb per kk. ttd Hendra Gunawan",
                    "Penipu sms: Selamat anda menang undian Rp 50jt. Terima kasih, Budi Santoso 081311112222\n"
                    "Surat pernyataan kades. Saya Hendra Gunawan menyatakan tidak memungut biaya. Nyatanya minta 2jt\n"
                    "Dia ngaku, Saya Budi Santoso Dari Kejaksaan, lalu minta uang 10jt\n"
                    "Nama saya [anonim], di sms 081311112222 ngaku dari BRI. Nama saya [anonim] 081311113333 itu "
                    "no penipunya. Nama saya [anonim], @budi_penipu menipu saya\n"
                    "Saya Telepon Budi Santoso 081311114444 Tapi Tidak Diangkat\n"
                    "Surat dari kades saya foto, isinya minta iuran 200rb per kk. ttd Hendra Gunawan"),
    # Her sign-off after a report that names the accused or mentions an SMS goes: only words opening a quotation
    # ("Penipu sms: ...") make the sign-off someone else's. Her handle signed, her number before someone else's word
    # further on, a letter's word two sentences back, a caller's word with her own description after her name: hers.
    OwnIdentityCase("sms: her sign-off, handle and number after words naming the accused elsewhere go", SMS_SENDER,
                    "Nama saya Rudi Hartono 0857-1111-3381 mau lapor penipu online\n"
                    "Pelapor: Dewi Lestari 0857-1111-3382 korban penipu\n"
                    "Mau lapor soal surat tanah. Saya Rina Wati warga RT 03\n"
                    "jalan rusak. Terima kasih, Siti @sitirahayu88",
                    "Nama saya [anonim] [anonim] mau lapor penipu online\n"
                    "Pelapor: [anonim] [anonim] korban penipu\n"
                    "Mau lapor soal surat tanah. Saya [anonim] warga RT 03\n"
                    "jalan rusak. Terima kasih, [anonim] [anonim]"),
    OwnIdentityCase("sms: her sign-off after a report naming a scammer goes", SMS_SENDER,
                    "Saya ditipu penipu online kemarin. Terima kasih. Siti Rahayu 0857-1111-3380",
                    "Saya ditipu penipu online kemarin. Terima kasih. [anonim] [anonim]"),
    OwnIdentityCase("sms: an official's 'Saya', words said before, agencies thanked and the undersigned stay",
                    SMS_SENDER,
                    "Saya Kades Hendra Gunawan minta uang 5jt. Mohon ditindak. Terima kasih Ombudsman RI\nYang "
                    "bertanda tangan di bawah ini, Saya Hendra Gunawan, menyatakan",
                    "Saya Kades Hendra Gunawan minta uang 5jt. Mohon ditindak. Terima kasih Ombudsman RI\nYang "
                    "bertanda tangan di bawah ini, Saya Hendra Gunawan, menyatakan"),
    # Words of saying earlier in her sentence are no quotation of her name and number ("Pak RT bilang saya harus lapor
    # ke sini, nama saya ...": they went as someone else's); the accused's label before her sign-off opens no quotation;
    # "Hormat saya," is followed by the signer's own title.
    # The accused's label before words said to the reader opens a scam message pasted: its signer stays; after "Hormat
    # saya," an office after the title is the official's.
    OwnIdentityCase("sms: a scam message after the accused's label and an official's title after 'Hormat saya,' stay",
                    SMS_SENDER,
                    "Pelaku: Selamat anda dapat hadiah mobil. Terima kasih, Budi Santoso 081311112222\n"
                    "pungli. Hormat saya, Bpk Kades Hendra 081311113333",
                    "Pelaku: Selamat anda dapat hadiah mobil. Terima kasih, Budi Santoso 081311112222\n"
                    "pungli. Hormat saya, Bpk Kades Hendra 081311113333"),
    OwnIdentityCase("sms: 'bilang', 'katanya' earlier, a label of the accused, 'Hormat saya, Bpk ...' keep nothing",
                    SMS_SENDER,
                    "Pak RT bilang saya harus lapor ke sini, nama saya Siti Rahayu, WA 0857-1111-3390. Katanya mau "
                    "dibantu, WA saya 0857-1111-3391\nPelaku: Kades Hendra minta uang. Hormat saya, Bpk Andi Wijaya "
                    "0857-1111-3392",
                    "Pak RT bilang saya harus lapor ke sini, nama saya [anonim], WA [anonim]. Katanya mau "
                    "dibantu, WA saya [anonim]\nPelaku: Kades Hendra minta uang. Hormat saya, [anonim] "
                    "[anonim]"),
    OwnIdentityCase("sms: under her label someone else's word opens his name; a colon after her name's word keeps it",
                    SMS_SENDER,
                    "Pelapor: Siti Rahayu Oknum Polisi Andi minta uang damai\nPelapor: Rina Wati: kades minta uang",
                    "Pelapor: [anonim] Oknum Polisi Andi minta uang damai\nPelapor: [anonim]: kades minta uang"),
    # Under her label in a message the accused's office after her name opens his name when the sentence runs on after
    # it ("Pelapor: Siti Rahayu Kades Hendra minta uang" went as "Pelapor: [anonim] minta uang": his office and name,
    # the evidence, lost); an office ending its clause there is her own post, and goes with her name.
    *(OwnIdentityCase(f"sms: under her label the accused's office after her name, a sentence running on: {text!r}",
                      SMS_SENDER, text, expected)
      for text, expected in (
          ("Pelapor: Siti Rahayu Kades Hendra minta uang", "Pelapor: [anonim] Kades Hendra minta uang"),
          ("Pelapor: Siti Camat Andi minta uang 5jt", "Pelapor: [anonim] Camat Andi minta uang 5jt"),
          ("pungli. Pelapor: Siti Rahayu Kepala Desa Hendra potong BLT 0813-1111-2222",
           "pungli. Pelapor: [anonim] Kepala Desa Hendra potong BLT 0813-1111-2222"),
          # a word of `not_after_self` running on his sentence says not that she reports: his office and name stay
          # (went as "Pelapor: [anonim] sudah minta uang 5jt")
          *((f"Pelapor: Siti Rahayu Kades Hendra {words}", f"Pelapor: [anonim] Kades Hendra {words}")
            for words in ("sudah minta uang 5jt", "juga minta uang 5jt", "mau potong BLT", "akan gusur warung",
                          "sering minta uang", "dan sekdes minta uang", "yang minta uang 5jt",
                          "dengan sekdes minta uang", "selalu minta uang", "bisa dilaporkan", "tinggal minta uang",
                          # a letter's formal words, no report's verb after them
                          "dengan ini mengancam warga", "sebagai ketua panitia minta uang", "ingin menggusur warga",
                          "tinggal di Sukamaju minta uang", "selaku atasan membiarkan pungli",
                          "menyampaikan janji palsu", "bermaksud menggusur", "mohon uang",
                          "memohon dana 5jt",
                          # money asked of those named between ("mohon warga bayar": the accused's demand)
                          "memohon warga bayar 100rb", "mohon warga bayar 100rb per KK", "memohon warga setor 50rb",
                          "mhn warga kumpul uang", "mohon warga sumbang 200rb", "mohon semua warga bayar",
                          "mohon kepada warga setor")),
          ("PELAPOR: SITI RAHAYU KADES HENDRA MOHON WARGA IURAN 50RB",
           "PELAPOR: [anonim] KADES HENDRA MOHON WARGA IURAN 50RB"),
          ("Pelapor: Siti Rahayu Kades Hendra Gunawan sudah minta uang",
           "Pelapor: [anonim] Kades Hendra Gunawan sudah minta uang"))),
    *(OwnIdentityCase(f"sms: under her label an office ending its clause is her own post: {text!r}", SMS_SENDER, text,
                      expected)
      for text, expected in (
          ("kades minta uang. Pelapor: Siti Kades Sukamaju", "kades minta uang. Pelapor: [anonim]"),
          ("Pelapor: Siti Rahayu Kades Sukamaju, camat minta uang", "Pelapor: [anonim], camat minta uang"),
          ("Pelapor: Budi Camat Andi\nkades minta uang", "Pelapor: [anonim]\nkades minta uang"),
          ("Pelapor: Siti Staf Kades Sukamaju mau lapor pungli", "Pelapor: [anonim] mau lapor pungli"),
          # her office and its place before a word of hers ("melaporkan", "ingin", "mengadukan", "yg"): one Kades in
          # a village names her, and went as "Pelapor: [anonim] Kades Sukamaju melaporkan ..."
          ("Pelapor: Siti Rahayu Kades Sukamaju melaporkan sekdes minta uang",
           "Pelapor: [anonim] melaporkan sekdes minta uang"),
          ("Pelapor: Siti Rahayu Bendahara Desa Sukamaju melaporkan kades", "Pelapor: [anonim] melaporkan kades"),
          ("Pelapor: Siti Rahayu Kades Sukamaju ingin melapor", "Pelapor: [anonim] ingin melapor"),
          ("Pelapor: Siti Rahayu Sekdes Sukamaju mengadukan kades", "Pelapor: [anonim] mengadukan kades"),
          ("Pelapor: Siti Rahayu Kades Sukamaju yg melapor", "Pelapor: [anonim] yg melapor"),
          ("Pelapor: Siti Rahayu Kadus Sukamaju melapor", "Pelapor: [anonim] melapor"),
          ("Pelapor: Siti Kades Sukamaju", "Pelapor: [anonim]"),
          ("Pelapor: Siti Rahayu Kades Sukamaju yg melapor kades", "Pelapor: [anonim] yg melapor kades"),
          # a letter's formal words after her post ("dengan ini melaporkan", "selaku pelapor")
          ("Pelapor: Siti Rahayu Kades Sukamaju dengan ini melaporkan sekdes",
           "Pelapor: [anonim] dengan ini melaporkan sekdes"),
          ("Pelapor: Siti Rahayu Kades Sukamaju selaku pelapor", "Pelapor: [anonim] selaku pelapor"),
          # in capitals every word is capitalized: the words of hers are read folded (went as "Pelapor: [anonim]
          # KADES SUKAMAJU MELAPORKAN SEKDES", her post kept)
          ("Pelapor: SITI RAHAYU KADES SUKAMAJU MELAPORKAN SEKDES", "Pelapor: [anonim] MELAPORKAN SEKDES"),
          ("Pelapor: Siti Rahayu Kades Sukamaju Melaporkan Sekdes", "Pelapor: [anonim] Melaporkan Sekdes"),
          ("Pelapor: SITI RAHAYU KADES SUKAMAJU MAU LAPOR PUNGLI", "Pelapor: [anonim] MAU LAPOR PUNGLI"),
          # her plea, her statement, her part as a witness after her post (it stayed: one Sekdes names her)
          *((f"Pelapor: Siti Rahayu {post} {words}", f"Pelapor: [anonim] {words}")
            for post, words in (("Sekdes Sukamaju", "mohon ditindaklanjuti, kades potong BLT"),
                                ("Sekdes Sukamaju", "mohon segera ditindaklanjuti"),
                                ("Sekdes Sukamaju", "mhn ditindaklanjuti"),
                                ("Sekdes Sukamaju", "memohon perlindungan"),
                                ("Kaur Keuangan Desa Sukamaju", "menyampaikan bahwa kades potong BLT"),
                                ("Sekdes Sukamaju", "selaku saksi. Kades potong BLT"),
                                ("Bendahara Desa Sukamaju", "bermaksud mengadukan kades"),
                                ("Kades Sukamaju", "dengan ini mohon perlindungan"),
                                ("Kades Sukamaju", "yg ingin melaporkan sekdes"),
                                ("Kadus Cibiru", "mau ngadu soal kades"))))),
    OwnIdentityCase("sms: a name and number signed after thanks end the message", SMS_SENDER,
                    "pungli di loket. Terima kasih, Wulan 0813-7777-8888",
                    "pungli di loket. Terima kasih, [anonim] [anonim]"),
    # Her sign-off on the lines below the thanks, as a phone's SMS app breaks them ("Terima kasih\nSiti Rahayu\n
    # 0813..."): read on the thanks' own line alone, her name and number reached the case store.
    *(OwnIdentityCase(f"sms: a name and number signed on the lines below the thanks: {text!r}", SMS_SENDER, text,
                      expected)
      for text, expected in (
          ("Jalan rusak di RT 03.\nTerima kasih\nSiti Rahayu\n0813 9876 5432",
           "Jalan rusak di RT 03.\nTerima kasih\n[anonim]\n[anonim]"),
          ("lampu mati. Salam,\n\nWulan\n0813-7777-8888", "lampu mati. Salam,\n\n[anonim]\n[anonim]"),
          ("pungli di loket. Terima kasih\nSiti Rahayu 0813 9876 5432",
           "pungli di loket. Terima kasih\n[anonim] [anonim]"),
          # a quoting word ending a line says how her own words came ("lewat sms"), or nothing is pasted below it
          ("Saya mau lapor penipuan lewat sms\nSaya sudah transfer 2jt. Terima kasih\nSiti Rahayu\n0813 9876 5432",
           "Saya mau lapor penipuan lewat sms\nSaya sudah transfer 2jt. Terima kasih\n[anonim]\n[anonim]"),
          ("Saya ditipu penipu wa\nTerima kasih\nSiti Rahayu\n0813 9876 5432",
           "Saya ditipu penipu wa\nTerima kasih\n[anonim]\n[anonim]"),
          # a quoting word on a line, her own words below it, the reader addressed in them or not
          ("Saya warga RT 03, no wa saya 0857-1111-2222\nMohon anda tindak kades\nTerima kasih\nSiti Rahayu",
           "Saya warga RT 03, no wa saya [anonim]\nMohon anda tindak kades\nTerima kasih\n[anonim]"),
          ("Saya sudah isi formulir\nTapi anda tidak memproses\nTerima kasih\nSiti Rahayu\n0857-1111-2222",
           "Saya sudah isi formulir\nTapi anda tidak memproses\nTerima kasih\n[anonim]\n[anonim]"),
          ("Saya kirim surat\nSelamat pagi pak, saya tertipu 5jt. Terima kasih\nSiti Rahayu\n0857-1111-2222",
           "Saya kirim surat\nSelamat pagi pak, saya tertipu 5jt. Terima kasih\n[anonim]\n[anonim]"),
          ("Saya mau lapor soal sms penipuan yang saya terima\nJalan di desa kami juga rusak. Terima kasih\n"
           "Siti Rahayu\n0813 9876 5432",
           "Saya mau lapor soal sms penipuan yang saya terima\nJalan di desa kami juga rusak. Terima kasih\n"
           "[anonim]\n[anonim]"),
          # a message's word among a line's last words says nothing of a paste unless something came (it kept her
          # sign-off below "Pungli pengurusan surat tanah", "... tidak pernah balas sms saya", "... lewat wa dan telp")
          *((f"{line}\nKades Sukamaju minta 2jt. Terima kasih\nSiti Rahayu\n0813 9876 5432",
             f"{line}\nKades Sukamaju minta 2jt. Terima kasih\n[anonim]\n[anonim]")
            for line in ("Pungli pengurusan surat tanah", "Kades tidak pernah balas sms saya", "PUNGLI SURAT PINDAH",
                         "kades minta uang lewat wa dan telp", "Sekdes sudah saya hubungi tapi tdk balas wa",
                         "Saya kirim sms ke kades", "Mohon sms ini dirahasiakan", "ini chat saya dengan kades",
                         "Semoga pesan ini sampai ke pak gubernur", "Berikut isi laporan saya",
                         "Ini surat pengaduan saya", "Mohon sms ini diteruskan ke bupati",
                         "saya sudah kirim surat ke camat", "kami sudah kirim surat keberatan",
                         "kami warga RT 03 sudah kirim surat ke camat", "saya mau lapor sms penipu",
                         "Pesan berikut saya sampaikan kepada bapak", "saya kirim pesan berikut ke camat",
                         "sms penipu makin banyak pak")),
          # a form of address or her greeting, her introducing herself, below a line naming what came
          *((f"{line}\n{opening} Kades Hendra potong BLT 300rb\nTerima kasih\nSiti Rahayu",
             f"{line}\n{opening} Kades Hendra potong BLT 300rb\nTerima kasih\n[anonim]")
            for line in ("saya terima sms dari kades", "pesan berikut", "Sms penipu")
            for opening in ("Pak, tolong ditindak,", "Pak,", "Pagi pak, ini dari warga RT 03 mau lapor,",
                            "Selamat malam bu, ini ibu Siti warga RT 03 mau lapor,", "Halo admin, ini bu lurah dan")),
          # a line asking for her message to be passed on, or passing it on to someone: her own message below it
          *((f"{line}\nKades Hendra potong BLT 300rb tiap KK\nTerima kasih\nSiti Rahayu",
             f"{line}\nKades Hendra potong BLT 300rb tiap KK\nTerima kasih\n[anonim]")
            for line in ("Mohon teruskan pesan ini ke pak bupati", "Saya teruskan pesan ini ke bapak",
                         "Pak admin, saya forward pesan ini ke bapak", "tolong forward sms ini ke camat")),
          ("Mohon teruskan pesan ini ke bupati\nKades potong BLT. Terima kasih, Siti Rahayu",
           "Mohon teruskan pesan ini ke bupati\nKades potong BLT. Terima kasih, [anonim]"),
          # her own number signed under a line naming a message that came: hers, whatever came above, her other
          # numbers beside it too
          ("penipu kirim sms\nKades Hendra potong BLT 300rb\nTerima kasih\nSiti Rahayu\n+62 812-3456-7001",
           "penipu kirim sms\nKades Hendra potong BLT 300rb\nTerima kasih\n[anonim]\n[anonim]"),
          ("saya terima sms penipuan ini\nSelamat anda menang 100jt\nTerima kasih\nSiti Rahayu\n"
           "Telp 0227654321 HP 081234567001",
           "saya terima sms penipuan ini\nSelamat anda menang 100jt\nTerima kasih\n[anonim]\n"
           "Telp [anonim] HP [anonim]"),
          ("saya terima sms penipuan ini\nSelamat anda menang 100jt\nTerima kasih\nSiti Rahayu\n"
           "0812-3456-7001 / 0857-2222-3333",
           "saya terima sms penipuan ini\nSelamat anda menang 100jt\nTerima kasih\n[anonim]\n[anonim] / [anonim]"),
          # her greeting below a line naming what came, no pasted message's words to its reader after it
          *((f"saya terima sms dari kades\n{greeting}, kades minta 2jt. Terima kasih\nSiti Rahayu\n0813 9876 5432",
             f"saya terima sms dari kades\n{greeting}, kades minta 2jt. Terima kasih\n[anonim]\n[anonim]")
            for greeting in ("Pagi pak", "Assalamu'alaikum pak", "Halo admin", "Permisi", "Maaf pak",
                             "Selamat pagi pak")))),
    # Her sign-off with the number she sends from: that number was replaced first, and her name before it stayed (a
    # word after the name read as a sentence running on); a contact's dotted label read as her name's last word.
    *(OwnIdentityCase(f"sms: her sign-off with her own number, or a dotted label: {text!r}", SMS_SENDER, text, expected)
      for text, expected in (
          ("jalan rusak. Terima kasih\nSiti Rahayu\n081234567001", "jalan rusak. Terima kasih\n[anonim]\n[anonim]"),
          ("jalan rusak. Terima kasih, Siti Rahayu 0812-3456-7001", "jalan rusak. Terima kasih, [anonim] [anonim]"),
          ("jalan rusak. Makasih\nWulan\nwa 081234567001", "jalan rusak. Makasih\n[anonim]\nwa [anonim]"),
          ("jalan rusak. Terima kasih, Dewi Hp. 0813 9988 7766", "jalan rusak. Terima kasih, [anonim] Hp. [anonim]"),
          ("jalan rusak. Terima kasih, Dewi Lestari Telp. 0813 9988 7766",
           "jalan rusak. Terima kasih, [anonim] Telp. [anonim]"),
          # her own number with her other contacts and their words below it, a number labelled as someone else's
          # beside them: her name went only with labels alone after her number
          ("jalan rusak. Terima kasih\nSiti Rahayu\nHP 081234567001\nTelp kantor 0227654321",
           "jalan rusak. Terima kasih\n[anonim]\nHP [anonim]\nTelp kantor [anonim]"),
          ("jalan rusak. Terima kasih\nSiti Rahayu\nHP 081234567001 (pribadi) 0857-2222-3333 (kantor)",
           "jalan rusak. Terima kasih\n[anonim]\nHP [anonim] (pribadi) [anonim] (kantor)"),
          ("jalan rusak. Terima kasih\nSiti Rahayu\n081234567001 / IG @sitirahayu88",
           "jalan rusak. Terima kasih\n[anonim]\n[anonim] / IG [anonim]"),
          ("jalan rusak. Terima kasih\nSiti Rahayu\nHP saya 081234567001, nomor pelaku 0857-2222-3333",
           "jalan rusak. Terima kasih\n[anonim]\nHP saya [anonim], nomor pelaku 0857-2222-3333"),
          ("jalan rusak. Terima kasih\nSiti Rahayu\n081234567001\nNo penipu: 0857-2222-3333",
           "jalan rusak. Terima kasih\n[anonim]\n[anonim]\nNo penipu: 0857-2222-3333"))),
    # Below the thanks the same words as on its line stay: an official thanked, a scam SMS pasted, a letter's signer
    # after "ttd", a sentence running on after a name.
    *(OwnIdentityCase(f"sms: someone else's name and number on the lines below the thanks stay: {text!r}", SMS_SENDER,
                      text, text)
      for text in ("pungli di loket. Terima kasih\nPak Kades Hendra\n0813-1111-2222",
                   "pungli di loket. Terima kasih\nKades Hendra\n0813-1111-2222",
                   "Penipu sms:\nSelamat anda menang undian.\nTerima kasih\nBudi Santoso\n0813-1111-2222",
                   # a quoting word ending its line, a phone pasting the scam SMS below it
                   "penipu kirim sms\nMama ini papa, tolong isi pulsa 100rb ke no ini dulu. Makasih\nPapa\n"
                   "0813-4444-5555",
                   "Saya dapat sms dari penipu\nMama ini papa, tolong isi pulsa 100rb ke no ini dulu. Makasih\nPapa\n"
                   "0813-4444-5555",
                   "ini sms nya pak\nMama ini papa, tolong isi pulsa 100rb. Makasih\nPapa\n0813-4444-5555",
                   "sy terima sms td pagi\nMama ini papa, tolong isi pulsa 100rb. Makasih\nPapa\n0813-4444-5555",
                   "Ada yg sms ngaku dr bank\nRekening anda diblokir, segera hubungi kami. Trims\nBudi Santoso\n"
                   "0813-4444-5555",
                   # a quoting word ending its line, a message pasted below it (a blank line between too)
                   "saya terima sms penipuan td pagi\nPapa lagi di kantor polisi, kirim 5jt. Makasih\nPapa\n"
                   "0813-4444-5555",
                   "kades kirim surat\nWarga wajib bayar 200rb. Terima kasih\nHendra Gunawan\n0812-9999-8888",
                   "kemarin ada sms masuk ke hp saya\n\nSelamat anda menang\n\nTerima kasih\nBudi Santoso\n"
                   "0813-4444-5555",
                   # a quoting word anywhere on a line, the lines below it said to their reader
                   "kemarin ada sms masuk ke hp saya\nSelamat anda menang. Terima kasih\nBudi Santoso\n0813-4444-5555",
                   "sms dr penipu td malam\nNasabah yth, rekening anda diblokir. Makasih bu\nAndi\n0813-4444-5555",
                   "Isi sms penipu yang saya terima kemarin\nKamu menang undian. Terima kasih\nBudi\n0813-4444-5555",
                   "kades kirim surat minta iuran. Terima kasih\nttd\nHendra Gunawan\n0813-1111-3333",
                   # a scam's greeting below a line naming what came, its words to its reader after it, or below a
                   # line showing the message ("sms ini", "isi sms nya"), whatever opens it
                   "penipu kirim sms\nSelamat siang, anda menang undian 50jt. Terima kasih\nAndi Wijaya\n"
                   "0821-9988-7711",
                   "saya dapat sms ini\nSelamat pagi Bapak/Ibu, kami dari BRI, rekening diblokir. Terima kasih\n"
                   "Darmawan\n0852-1111-2222",
                   "begini isi sms nya\nSelamat siang, kami dari BPJS. Terima kasih\nHendra Gunawan\n0812-3333-4444",
                   # a greeting and its writer introducing themself
                   "penipu kirim sms\nPagi bu, ini dari kelurahan, bayar 150rb\nTerima kasih\nJoko Susilo\n"
                   "0812-1112-2233",
                   # the message announced ("sbb"), the scammer's ("Sms penipu"), sent by someone else
                   *(f"{line}\nMama ini papa, kirim pulsa 100rb. Makasih\nPapa\n0813-5556-6677"
                     for line in ("isi sms nya sbb", "Sms penipu", "penipu ngirimin pesan ke ibu saya",
                                  "ini sms dari nomor tak dikenal, kemarin")),
                   # her own number added below the scammer's sign-off: his sign-off stays
                   "penipu kirim sms\nSelamat anda menang 100jt\nTerima kasih\nJoko Susilo\n081211122233\n"
                   "nomor saya [anonim]",
                   "saya forward sms berikut\nBantuan cair transfer admin 100rb\nTerima kasih\nJoko Susilo\n"
                   "0813-1112-2233",
                   # her own number added on the scammer's line after his, her words between: his sign-off stays
                   "penipu kirim sms\nSelamat anda menang 100jt\nTerima kasih\nJoko Susilo 0813-1112-2233 nomor "
                   "saya [anonim]",
                   "Penipu sms: Selamat anda menang. Terima kasih, Joko Susilo 0813-1112-2233. no saya [anonim]",
                   "penipu kirim sms\nSelamat anda menang 100jt\nTerima kasih, Joko 0813-1112-2233, no saya [anonim]",
                   # a sign-off said to be the scammer's, her number below it
                   "jalan rusak. Terima kasih\nJoko Susilo (penipu)\n0813-1112-2233\nnomor saya [anonim]",
                   # a message that came in ("sms masuk"), wherever on its line
                   "kemarin ada sms masuk ke hp saya\nMama ini papa, tolong kirim pulsa 100rb. Makasih\nPapa\n"
                   "0896-1234-5678",
                   "jalan rusak. Terima kasih\nBudi Santoso minta uang 0813-1111-4444",
                   # a post quoted ("> ..."), its signer's: the scammer's, the evidence
                   "Lihat postingan ini\n> Selamat anda menang. Terima kasih\n> Budi Santoso\n> 0813-1111-2222",
                   "Lihat postingan ini\n> Selamat anda menang. Terima kasih, Budi Santoso 0813-1111-2222")),
    # A form of address ending its clause after the thanks is said to the reader, her sign-off after it ("Terima kasih
    # pak. Siti Rahayu 0813..." kept her name and number: "pak" was read as the thanked official's title).
    *(OwnIdentityCase(f"sms: her sign-off after a form of address said to the reader: {text!r}", SMS_SENDER, text,
                      expected)
      for text, expected in (
          ("Jalan rusak. Terima kasih pak. Siti Rahayu 0813 9876 5432",
           "Jalan rusak. Terima kasih pak. [anonim] [anonim]"),
          ("Jalan rusak. Terima kasih ya Bu, Siti Rahayu", "Jalan rusak. Terima kasih ya Bu, [anonim]"),
          ("Jalan rusak. Makasih bapak!\nWulan\n0813-7777-8888", "Jalan rusak. Makasih bapak!\n[anonim]\n[anonim]"),
          ("Jalan rusak. Terima kasih pak\nSiti Rahayu 0813 9876 5432",
           "Jalan rusak. Terima kasih pak\n[anonim] [anonim]"),
          ("Jalan rusak. Terima kasih banyak, Siti Rahayu", "Jalan rusak. Terima kasih banyak, [anonim]"),
          ("Jalan rusak. Terima kasih Bapak/Ibu, Siti Rahayu 0813 9876 5432",
           "Jalan rusak. Terima kasih Bapak/Ibu, [anonim] [anonim]"))),
    # The official thanked by name, a title's abbreviation with its dot ("Bpk. Hendra"), an office or another form of
    # address after the reader's, and the reader's words running on stay.
    *(OwnIdentityCase(f"sms: an official thanked after or with a form of address stays: {text!r}", SMS_SENDER,
                      text, text)
      for text in ("Jalan rusak. Terima kasih Pak Hendra", "Jalan rusak. Terima kasih Pak Hendra 0813-1111-2222",
                   "Jalan rusak. Terima kasih banyak Pak Hendra", "Jalan rusak. Terima kasih ya Pak Kades",
                   "Jalan rusak. Terima kasih Pak/Bu Hendra 0813-1111-2222",
                   "Jalan rusak. Terima kasih Bpk. Hendra Gunawan 0813-1111-2222",
                   "Jalan rusak. Terima kasih pak. Kades Hendra 0813-1111-2222",
                   "Jalan rusak. Terima kasih pak, Pak Hendra 0813-1111-2222",
                   "Jalan rusak. Terima kasih pak. Mohon ditindak", "Jalan rusak. Terima kasih bu. Budi Santoso minta "
                   "uang 0813-1111-4444")),
    OwnIdentityCase("sms: thanks to someone else or for attention ending the message stay", SMS_SENDER,
                    "pungli. kades minta 5jt, terima kasih atas perhatiannya. Salam, Kades Hendra 0813-1111-2222",
                    "pungli. kades minta 5jt, terima kasih atas perhatiannya. Salam, Kades Hendra 0813-1111-2222"),
    # Her label after a colon, a dash, a bar or a bracket, capitalized after a space; her number after her labelled
    # name; the next label's word ends her name ("Pelaku:" went with it).
    OwnIdentityCase("sms: her label after other marks, her number after it, the next label kept", SMS_SENDER,
                    "pungli di kantor desa (Pelapor: Siti Rahayu). kades minta uang 5jt Pelapor: Siti Aminah "
                    "0857-1111-3370\nANONIM|Pelapor: Rina Wati, HP 0857-1111-3371\nPelapor: Dewi Lestari Pelaku: "
                    "Kades Hendra",
                    "pungli di kantor desa (Pelapor: [anonim]). kades minta uang 5jt Pelapor: [anonim] "
                    "[anonim]\nANONIM|Pelapor: [anonim], HP [anonim]\nPelapor: [anonim] Pelaku: "
                    "Kades Hendra"),
    # The reporter's own label in an SMS or a mention, opening it, a line or a clause ("Pelapor: Siti Rahayu. Terlapor:
    # Kades ..."): her name or handle reached the case store (a mail's sign-off alone was read so). A plea or an
    # ordinary word in its place, the accused's label and a scam SMS quoted stay.
    OwnIdentityCase("sms: the name and handle under the reporter's own label anywhere in the message", SMS_SENDER,
                    "kades minta uang 5jt. Pelapor: Siti Rahayu. Terlapor: Kades Hendra Gunawan\nNama Pelapor: siti "
                    "rahayu, warga rt 03. pelapor: @sitirahayu. pelapor: rahasia. Pelapor: warga RT 03. Isi SMS: "
                    '"Pelapor: Hendra Gunawan"',
                    "kades minta uang 5jt. Pelapor: [anonim]. Terlapor: Kades Hendra Gunawan\nNama Pelapor: "
                    "[anonim], warga rt 03. pelapor: [anonim]. pelapor: rahasia. Pelapor: warga RT 03. Isi SMS: "
                    '"Pelapor: Hendra Gunawan"'),
    OwnIdentityCase("x: the name under the reporter's own label in a mention", X_SENDER,
                    "@lapor1708 pungli di kelurahan. Pelapor: Siti Rahayu, terlapor: Lurah Andi",
                    "@lapor1708 pungli di kelurahan. Pelapor: [anonim], terlapor: Lurah Andi", channel="twitter"),
    # A mention opens with the handles it is addressed to, no mark before "Saya": her full name after it reached the
    # case store ("@LAPOR1708 Saya Ahmad Fauzi warga RT 03 ...").
    *(OwnIdentityCase(f"x: 'Saya' and her full name after the handles opening a mention: {text!r}", X_SENDER, text,
                      expected, {"username": "budi_rahasia"}, channel="twitter")
      for text, expected in (
          ("@LAPOR1708 Saya Ahmad Fauzi warga RT 03 melaporkan kades",
           "@LAPOR1708 Saya [anonim] warga RT 03 melaporkan kades"),
          ("@LAPOR1708 @kades_hendra Saya Ahmad Fauzi dari desa Cibiru, kades minta uang",
           "@LAPOR1708 @kades_hendra Saya [anonim] dari desa Cibiru, kades minta uang"),
          ("pungli.\n@LAPOR1708 Saya Ahmad Fauzi", "pungli.\n@LAPOR1708 Saya [anonim]"))),
    # Her display name written as her sign-off or under her label is replaced first: her number after it, and her
    # post after it, stayed ("Terima kasih\n[anonim]\n0813...", "Pelapor: [anonim] Sekdes Sukamaju mohon ...").
    *(OwnIdentityCase(f"x: her number and her post after her display name: {text!r}", X_SENDER, text, expected,
                      {"username": "budi_rahasia"}, channel="twitter")
      for text, expected in (
          ("@lapor1708 jalan rusak. Terima kasih\nBudi Sangat Rahasia\n0813 9876 5432",
           "@lapor1708 jalan rusak. Terima kasih\n[anonim]\n[anonim]"),
          ("@lapor1708 Pelapor: Budi Sangat Rahasia Sekdes Sukamaju mohon ditindaklanjuti, kades potong BLT",
           "@lapor1708 Pelapor: [anonim] mohon ditindaklanjuti, kades potong BLT"),
          ("@lapor1708 Pelapor: Budi Sangat Rahasia Kades Sukamaju melaporkan sekdes",
           "@lapor1708 Pelapor: [anonim] melaporkan sekdes"),
          ("@lapor1708 Pelapor: Budi Sangat Rahasia\nKades Hendra minta uang 5jt",
           "@lapor1708 Pelapor: [anonim]\nKades Hendra minta uang 5jt"))),
    # After the handles the same words stay as at a sentence's start: an office, words that are no name, a caller's.
    *(OwnIdentityCase(f"x: 'Saya' after the handles opening a mention, no name of hers: {text!r}", X_SENDER, text,
                      text, {"username": "budi_rahasia"}, channel="twitter")
      for text in ("@LAPOR1708 Saya Kades Hendra Gunawan minta uang 5jt", "@LAPOR1708 Saya Mau Lapor Pungli",
                   "@LAPOR1708 Dia ngaku, Saya Budi Santoso Dari Kejaksaan",
                   "@LAPOR1708 penipu bilang Saya Budi Santoso dari bank",
                   "cc @LAPOR1708 Saya Telepon Budi Santoso Tapi Tidak Diangkat")),
    # One name word with her number right after it: many Indonesians have a single name, and "saya Rina 0812..." in an
    # Instagram comment (whose sender's number the gateway does not know) kept both; with her place after it too
    # ("saya Rina warga RT 03"). A passive, an office, a caller's "Saya Budi 0813..." stay.
    *(OwnIdentityCase(f"instagram: one name with her number after a bare 'saya': {text!r}", IG_SENDER, text, expected,
                      channel="instagram")
      for text, expected in (
          ("@lapor1708 #anonim parkir liar minta uang di alun-alun, saya Rina 0857-1111-2222",
           "@lapor1708 #anonim parkir liar minta uang di alun-alun, saya [anonim] [anonim]"),
          ("parkir liar di alun-alun. Saya Rina, 0857 1111 2222", "parkir liar di alun-alun. Saya [anonim], [anonim]"),
          ("SAYA YULIANTI 0857 1111 2222 WARGA RT 03", "SAYA [anonim] [anonim] WARGA RT 03"),
          ("saya Rina warga RT 03 minta tolong", "saya [anonim] warga RT 03 minta tolong"),
          ("Saya Ditelepon 0813-4444-5555 ngaku dari bank", "Saya Ditelepon 0813-4444-5555 ngaku dari bank"),
          ("Saya Kades 0813-4444-5555 minta uang", "Saya Kades 0813-4444-5555 minta uang"),
          ("penipu bilang saya Andi 0813-4444-5555 dari BRI", "penipu bilang saya Andi 0813-4444-5555 dari BRI"),
          ("kata dia: Saya Budi 0813-4444-5555, transfer sekarang",
           "kata dia: Saya Budi 0813-4444-5555, transfer sekarang"))),
    # A name a verb's prefix opens, in a sentence of lowercase words, or with her words or number after it, is hers:
    # names of Batak, Manado and Flores families stayed ("Saya Bernike Sari warga RT 03").
    *(OwnIdentityCase(f"sms: a name a verb's prefix opens after a bare 'Saya': {text!r}", SMS_SENDER, text, expected)
      for text, expected in (
          ("Saya Bernike Sari warga RT 03", "Saya [anonim] warga RT 03"),
          ("Saya Teressa Manurung, kades minta uang", "Saya [anonim], kades minta uang"),
          ("Saya Bertrand Simanjuntak melaporkan kades", "Saya [anonim] melaporkan kades"),
          ("SAYA BERNIKE SARI WARGA RT 03", "SAYA [anonim] WARGA RT 03"),
          ("kades minta uang. saya Bernike 0857-1111-2222", "kades minta uang. saya [anonim] [anonim]"),
          ("Saya Mengurus Ktp Di Kelurahan Diminta Uang", "Saya Mengurus Ktp Di Kelurahan Diminta Uang"))),
    # Verbs with no prefix and nouns of a circumfix or "peng-" are no name, a scammer's number after them his; one
    # word a prefix opens before a number is no name either ("SAYA TERTIPU 0813...").
    *(OwnIdentityCase(f"sms: a verb or a noun after a bare 'Saya' in capitals: {text!r}", SMS_SENDER, text, text)
      for text in ("SAYA KENA TIPU NOMOR 0813-4444-5555", "SAYA BLOKIR 0813-4444-5555",
                   "SAYA ISI PULSA 0813-4444-5555 100RB", "Saya Cek 0813-4444-5555 ternyata penipu",
                   "SAYA URUS AKTA KELAHIRAN DIMINTA 300RB", "SAYA KESULITAN MENGURUS SERTIFIKAT",
                   "SAYA PENGENDARA MOTOR DITILANG", "SAYA TERTIPU 0813-4444-5555",
                   "SAYA MENTRANSFER 0813-4444-5555 SEBESAR 1JT")),
    # Her name set off by commas after "Saya," as a letter opens ("Saya, Siti Rahayu, warga RT 02, ...") reached the
    # case store; an office, a plain word or names listed with hers still say no one's.
    *(OwnIdentityCase(f"sms: a name after 'Saya,': {text!r}", SMS_SENDER, text, expected or text)
      for text, expected in (
          ("Saya, Siti Rahayu, warga RT 02, melaporkan pungli", "Saya, [anonim], warga RT 02, melaporkan pungli"),
          ("Saya, Siti Rahayu dari Desa Sukamaju, melaporkan", "Saya, [anonim] dari Desa Sukamaju, melaporkan"),
          ("Saya,Siti Rahayu, warga RT 02, melaporkan pungli", "Saya,[anonim], warga RT 02, melaporkan pungli"),
          ("Saya,Ibu Yanti, dan adik ditipu oleh Budi Santoso.", None),
          ("kades minta uang. Saya, Ibu Siti Rahayu, mohon ditindak",
           "kades minta uang. Saya, [anonim], mohon ditindak"),
          ("Saya, Kades Hendra dan warga melihat pungli", None),
          ("Saya, Budi dan Ani melihat kades menerima uang", None),
          ("Saya, Warga Desa Sukamaju, melaporkan pungli", None),
          ("kata dia: Saya, Budi Santoso, transfer sekarang", None),
          # names listed with hers: the others'
          ("Saya, Ibu Yanti, dan adik ditipu oleh Budi Santoso.", None),
          ("Saya, Budi Santoso dan Joko Susilo ditipu oleh Hendra.", None))),
    # A role before her name is hers to lose with it ("Saya Anggota BPD Siti Rahayu, ...").
    OwnIdentityCase("sms: a role before her name after a bare 'Saya'", SMS_SENDER,
                    "Saya Anggota BPD Siti Rahayu, melaporkan kades", "Saya [anonim], melaporkan kades"),
    OwnIdentityCase("sms: a role after her name in capitals ends it", SMS_SENDER,
                    "SAYA SITI RAHAYU ANGGOTA BPD SUKAMAJU MELAPORKAN KADES",
                    "SAYA [anonim] ANGGOTA BPD SUKAMAJU MELAPORKAN KADES"),
    *(OwnIdentityCase(f"sms: no name after a bare 'Saya': {text!r}", SMS_SENDER, text, text)
      for text in ("SAYA KEHILANGAN DOMPET DI TERMINAL", "SAYA PEMILIK WARUNG DIPALAK ORMAS",
                   "SAYA SEORANG IBU DARI 3 ANAK", "SAYA SALAH SATU WARGA DARI DESA SUKAMAJU",
                   "SAYA JUGA ANGGOTA BPD, KADES POTONG DANA", "SAYA BUKAN ANGGOTA PKK TAPI DIPAKSA BAYAR",
                   "SAYA MERUPAKAN ANGGOTA BPD", "SAYA SEORANG WARGA RT 03", "SAYA ASLI WARGA SINI",
                   "SAYA MANTAN ANGGOTA BPD", "SAYA TETAP WARGA SINI", "Saya Pendatang asal Garut",
                   "SAYA LAPORKAN HENDRA YG KORUPSI", "SAYA LAPORKAN HENDRA MANTAN KADES YG KORUPSI",
                   "SAYA DISURUH HENDRA TETAP BAYAR", "SAYA DIAJAK HENDRA IKUT INVESTASI BODONG",
                   "SAYA DIPAKSA HENDRA BAYAR 1JT", "SAYA TEMUI HENDRA DI KANTOR DESA",
                   "SAYA SURUH HENDRA BALIKIN UANG", "SAYA SAKSI HENDRA TERIMA AMPLOP", "SAYA LIAT HENDRA AMBIL UANG",
                   "SAYA LIHAT HENDRA AMBIL UANG", "SAYA TAHU HENDRA KORUPSI", "SAYA TAU HENDRA KORUPSI",
                   "SAYA DENGAR HENDRA MINTA UANG", "SAYA KETEMUAN HENDRA DI PASAR")),
    *(OwnIdentityCase(f"sms: one name word before her description in capitals: {text!r}", SMS_SENDER, text, expected)
      for text, expected in (("SAYA BUDI TETAP WARGA SINI", "SAYA [anonim] TETAP WARGA SINI"),
                             ("SAYA SITI MANTAN ANGGOTA BPD", "SAYA [anonim] MANTAN ANGGOTA BPD"),
                             ("SAYA DEWI SESAMA PEDAGANG PASAR", "SAYA [anonim] SESAMA PEDAGANG PASAR"),
                             ("SAYA HENDRA PUN KORBAN PUNGLI KADES", "SAYA [anonim] PUN KORBAN PUNGLI KADES"),
                             ("SAYA JOKO DIPAKSA HENDRA BAYAR 1JT", "SAYA [anonim] DIPAKSA HENDRA BAYAR 1JT"),
                             ("SAYA JOKO LIHAT HENDRA AMBIL UANG", "SAYA [anonim] LIHAT HENDRA AMBIL UANG"),
                             ("SAYA JOKO DISURUH KADES BAYAR 2JT", "SAYA [anonim] DISURUH KADES BAYAR 2JT"))),
    # One name word before her membership in capitals, or her place ("SAYA BUDI ANGGOTA LINMAS" stayed: a name was
    # two words at least without her number after it).
    *(OwnIdentityCase(f"sms: one name word before her membership or her place: {text!r}", SMS_SENDER, text, expected)
      for text, expected in (
          ("SAYA BUDI ANGGOTA LINMAS, HONOR DIPOTONG KADES", "SAYA [anonim] ANGGOTA LINMAS, HONOR DIPOTONG KADES"),
          ("SAYA BUDI NASABAH BRI DITIPU TELLER", "SAYA [anonim] NASABAH BRI DITIPU TELLER"),
          ("SAYA MULYADI WARGA RT 03, JALAN RUSAK", "SAYA [anonim] WARGA RT 03, JALAN RUSAK"),
          ("Saya Mulyadi warga RT 03, jalan rusak", "Saya [anonim] warga RT 03, jalan rusak"))),
    *(OwnIdentityCase(f"sms: one name with her own number after a bare 'saya': {text!r}", SMS_SENDER, text, expected)
      for text, expected in (("kades minta uang. saya Rina 0812-3456-7001", "kades minta uang. saya [anonim] [anonim]"),
                             ("kades minta uang. saya Rina", "kades minta uang. saya Rina"))),
    # Her name in capitals after a bare "Saya", as a feature phone's user types (the message in capitals too): it
    # reached the case store, capitals read as no name's. Its end is found by the words that end a name (her own
    # "warga", "dari", a verb of `not_after_self` such as "MELAPORKAN", an office, the accused's), which stay.
    *(OwnIdentityCase(f"sms: her name in capitals after a bare 'Saya': {text!r}", SMS_SENDER, text, expected)
      for text, expected in (
          ("Saya AHMAD FAUZI warga RT 03 melaporkan kades", "Saya [anonim] warga RT 03 melaporkan kades"),
          ("SAYA AHMAD FAUZI WARGA RT 03 MELAPORKAN KADES HENDRA PUNGLI",
           "SAYA [anonim] WARGA RT 03 MELAPORKAN KADES HENDRA PUNGLI"),
          ("SAYA AHMAD FAUZI MELAPORKAN KADES HENDRA PUNGLI", "SAYA [anonim] MELAPORKAN KADES HENDRA PUNGLI"),
          ("SAYA SITI RAHAYU DARI DESA SUKAMAJU. KADES HENDRA MINTA UANG",
           "SAYA [anonim] DARI DESA SUKAMAJU. KADES HENDRA MINTA UANG"),
          ("PUNGLI DI DESA. SAYA SITI RAHAYU KADES HENDRA MINTA 5JT",
           "PUNGLI DI DESA. SAYA [anonim] KADES HENDRA MINTA 5JT"),
          ("SAYA SITI RAHAYU 0813 9876 5432", "SAYA [anonim] [anonim]"))),
    # Capitals after "Saya" that are no name of hers stay: the accused's office first, a verb or a plea first, words
    # no name's end is found after, a caller's or a letter's "SAYA".
    *(OwnIdentityCase(f"sms: capitals after a bare 'Saya' that are no name of hers stay: {text!r}", SMS_SENDER, text,
                      text)
      for text in ("SAYA KADES HENDRA GUNAWAN MINTA UANG 5JT", "SAYA SUDAH LAPOR CAMAT",
                   "SAYA DIPALAK PREMAN ANDI SAPUTRA", "SAYA MAU LAPOR KADES HENDRA PUNGLI",
                   "SAYA KEHILANGAN MOTOR HONDA BEAT MERAH", "DIA NGAKU, SAYA BUDI SANTOSO DARI KEJAKSAAN",
                   "SURAT PERNYATAAN KADES. SAYA HENDRA GUNAWAN MENYATAKAN TIDAK MEMUNGUT BIAYA")),
    # Her name in capitals after a bare "Saya" goes with a first word a verb's prefix opens (`verb_prefixes`) and a
    # role's or a report's word (`not_after_self`) ending it; the names such a prefix opens go too (`verb_like_names`).
    *(OwnIdentityCase(f"sms: her name after a bare 'Saya', a verb's prefix or a role near it: {text!r}", SMS_SENDER,
                      text, expected)
      for text, expected in (
          ("SAYA BUDI SANTOSO WARGA RT 05 MELAPORKAN PUNGLI", "SAYA [anonim] WARGA RT 05 MELAPORKAN PUNGLI"),
          ("SAYA SITI RAHAYU, KADES MINTA UANG", "SAYA [anonim], KADES MINTA UANG"),
          ("SAYA AGUS SALIM DARI DESA MEKAR", "SAYA [anonim] DARI DESA MEKAR"),
          ("SAYA DIAN PURNAMA WARGA RT 02 JALAN RUSAK", "SAYA [anonim] WARGA RT 02 JALAN RUSAK"),
          ("SAYA DIANA SARI DARI DESA MEKAR", "SAYA [anonim] DARI DESA MEKAR"),
          ("SAYA DIMAS ANGGARA MELAPORKAN PUNGLI", "SAYA [anonim] MELAPORKAN PUNGLI"),
          ("SAYA MELI SUSANTI DARI DESA CIBIRU", "SAYA [anonim] DARI DESA CIBIRU"),
          ("SAYA TEGUH PRASETYO WARGA RT 01", "SAYA [anonim] WARGA RT 01"),
          ("SAYA MEGA LESTARI WARGA RT 02", "SAYA [anonim] WARGA RT 02"),
          ("SAYA MENTARI PUTRI WARGA RT 07", "SAYA [anonim] WARGA RT 07"),
          ("Saya Bernadus Lado warga RT 04, kades minta uang", "Saya [anonim] warga RT 04, kades minta uang"),
          ("SAYA BERNARDUS LADO DARI DESA MEKAR", "SAYA [anonim] DARI DESA MEKAR"),
          ("SAYA MEMED SUHERMAN WARGA RT 03", "SAYA [anonim] WARGA RT 03"),
          ("SAYA TERRY WIJAYA DARI DESA MEKAR", "SAYA [anonim] DARI DESA MEKAR"),
          ("SAYA MERRY DIANA PNS DINAS KESEHATAN", "SAYA [anonim] PNS DINAS KESEHATAN"),
          ("SAYA BUDI SANTOSO NASABAH BRI DITIPU TELLER", "SAYA [anonim] NASABAH BRI DITIPU TELLER"),
          ("SAYA SITI RAHAYU DIMINTA UANG 200RB", "SAYA [anonim] DIMINTA UANG 200RB"))),
    # A verb a prefix opens, a role, a state or a report's word after a bare "Saya" is no name: the report's words
    # stay ("SAYA MENGURUS KTP DI KELURAHAN ..." went as "SAYA [anonim] DI KELURAHAN ...", in Title Case too).
    *(OwnIdentityCase(f"sms: a verb, a role or a report's word after a bare 'Saya' stays: {text!r}", SMS_SENDER, text,
                      text)
      for text in ("SAYA MENGURUS KTP DI KELURAHAN DIMINTA UANG 200RB",
                   "SAYA MEMBELI GAS ELPIJI DI WARUNG HARGANYA 35RB",
                   "SAYA ORANG TUA MURID SDN 3 DIMINTA UANG SERAGAM",
                   "SAYA IBU RUMAH TANGGA DARI DESA SUKAMAJU",
                   "SAYA ANTRI BPJS DARI PAGI TIDAK DILAYANI",
                   "SAYA MAHASISWA UNPAD MELAPORKAN DOSEN MINTA UANG",
                   "SAYA PENSIUNAN PNS GAJI BELUM CAIR",
                   "SAYA NASABAH BRI DITIPU TELLER",
                   "Saya Mengurus Ktp Di Kelurahan Diminta Uang",
                   "SAYA BERJUALAN SAYUR DI PASAR DIPALAK PREMAN",
                   "SAYA PASIEN BPJS DITOLAK RSUD",
                   "SAYA PENUMPANG BUS DIPALAK KERNET",
                   "Saya Membayar Pajak Motor Dua Kali",
                   "SAYA KARYAWAN PABRIK GAJI DIPOTONG",
                   "SAYA TERTIPU ARISAN ONLINE RUGI 5JT",
                   "SAYA MENUNGGU SURAT TANAH DARI BPN",
                   "SAYA SOPIR ANGKOT DIPUNGUT LIAR DISHUB")),
    OwnIdentityCase("sms: a name given in an SMS's short forms; words after 'FB saya' stay", SMS_SENDER,
                    "pungli dinas. nama sy siti rahmawati. sy bernama Siti Rahmawati. FB SAYA DIBAJAK ORANG. "
                    "FB saya Dibajak Andi Saputra tetangga saya. terima kasih",
                    "pungli dinas. nama sy [anonim]. sy bernama [anonim]. FB SAYA DIBAJAK ORANG. "
                    "FB saya Dibajak Andi Saputra tetangga saya. terima kasih"),
    # A plea or a negation after the words is no name: "jangan disebut" went as "Nama saya [anonim]", the sender's
    # plea lost; a name before a plea goes.
    OwnIdentityCase("sms: a plea or a negation after 'nama saya' is no name", SMS_SENDER,
                    "kades pungli. Nama saya jangan disebut. nama saya mohon dirahasiakan. Nama saya dicatut. "
                    "nama sy jgn disebut. nama saya siti rahmawati tolong dirahasiakan. gak usah sebut nama sy ya "
                    "pak, kades potong BLT. nama saya budi santoso ya pak",
                    "kades pungli. Nama saya jangan disebut. nama saya mohon dirahasiakan. Nama saya dicatut. "
                    "nama sy jgn disebut. nama saya [anonim] tolong dirahasiakan. gak usah sebut nama sy ya "
                    "pak, kades potong BLT. nama saya [anonim] ya pak"),
    OwnIdentityCase("mail: a name given as the sender's that the From does not give", {
                        **MAIL_SENDER, "display_name": "Warga Peduli"},
                    "Petugas meminta uang. My name is Rina Wulandari and I saw it myself.",
                    "Petugas meminta uang. My name is [anonim] and I saw it myself.", channel="email"),
    OwnIdentityCase("mail: a closing with the From name, the address and its local part", MAIL_SENDER,
                    "Petugas meminta uang.\n\nSalam,\nBUDI  santoso\nWarga.Rahasia@Contoh-Desa.NET (warga.rahasia)",
                    "Petugas meminta uang.\n\nSalam,\n[anonim]\n[anonim] ([anonim])"),
    OwnIdentityCase("mail: the Reply-To and the envelope sender, the sender's other addresses", MAIL_SENDER,
                    "Balas ke Rumah.Budi@contoh.id atau budi99@kantor.example, bukan ke humas@dinas.example",
                    "Balas ke [anonim] atau [anonim], bukan ke humas@dinas.example",
                    {"reply_to": "rumah.budi@contoh.id", "envelope_sender": "budi99@kantor.example"}),
    # An address written so that harvesters miss it: "at" and "dot" for "@" and ".", in brackets or between spaces,
    # "titik" (Indonesian), a fullwidth ＠. Its local part "budi" is anyone's name, so only the whole address tells.
    OwnIdentityCase("mail: the address written against harvesters, its local part a plain word", {
                        **MAIL_SENDER, "id": "budi@contoh-desa.net"},
                    "Balas ke budi at contoh-desa dot net / budi [at] contoh-desa [dot] net / "
                    "BUDI(AT)CONTOH-DESA(DOT)NET / budi{at}contoh-desa.net / budi @ contoh-desa.net / "
                    "budi＠contoh-desa．net / budi at contoh-desa titik net. Pak Budi at kantor dot com tahu.",
                    "Balas ke [anonim] / [anonim] / [anonim] / [anonim] / [anonim] / [anonim] / [anonim]. "
                    "Pak Budi at kantor dot com tahu."),
    OwnIdentityCase("mail: the address in a link's query, its @ written %40", MAIL_SENDER,
                    "formulir (https://forms.example/isi?email=warga.rahasia%40contoh-desa.net&to=%3C"
                    "Warga.Rahasia%40Contoh-Desa.NET%3E)",
                    "formulir (https://forms.example/isi?email=[anonim]&to=%3C[anonim]%3E)"),
    # RFC 5233's subaddress: budi.santoso+lapor@ and budi.santoso@ are one mailbox, whatever the tag.
    OwnIdentityCase("mail: a +tagged From's mailbox, without its tag or with another", {
                        **MAIL_SENDER, "id": "budi.santoso+lapor@gmail.com"},
                    "Balas ke budi.santoso@gmail.com atau Budi.Santoso+kerja@Gmail.com, bukan humas+lapor@gmail.com",
                    "Balas ke [anonim] atau [anonim], bukan humas+lapor@gmail.com"),
    OwnIdentityCase("mail: a From of Last, First signed First Last, and written as it was", {
                        **MAIL_SENDER, "display_name": "Santoso, Budi"},
                    "Salam,\nBudi Santoso\n(Santoso, Budi)", "Salam,\n[anonim]\n([anonim])"),
    # A directory's From name: degrees after a comma and titles before it (S.Pd., M.Si., Dr.), the office in brackets or
    # after a bar; the sender signs with the name alone.
    # A form or a roll writes the family name first; on one line only: a line ending "Santoso" and the next opening
    # "budi.kantor@..." are not the name.
    OwnIdentityCase("mail: the From name turned round, the family name first", MAIL_SENDER,
                    "Saya, SANTOSO Budi, warga RT 03, melihat Santoso\nBudi Agus dan Pak Santoso di loket",
                    "Saya, [anonim], warga RT 03, melihat Santoso\nBudi Agus dan Pak Santoso di loket"),
    # ... and with a comma after the family name, as a directory or a form writes it: it reached the case store whole.
    OwnIdentityCase("mail: the From name turned round with a comma after the family name", MAIL_SENDER,
                    "Pelapor: Santoso, Budi (SANTOSO, BUDI). Pak Santoso, bendahara desa, memungut biaya",
                    "Pelapor: [anonim] ([anonim]). Pak Santoso, bendahara desa, memungut biaya"),
    OwnIdentityCase("mail: a From with degrees, a title and an office, signed with the name alone", {
                        **MAIL_SENDER, "display_name": "Dr. Budi Santoso, M.Si. (Dinas PU)"},
                    "Dana dipotong.\n\nHormat saya,\nBudi Santoso, staf teknis",
                    "Dana dipotong.\n\nHormat saya,\n[anonim], staf teknis"),
    OwnIdentityCase("mail: a From with a degree and an office after a bar, signed with the name alone", {
                        **MAIL_SENDER, "display_name": "Budi Santoso, S.Pd. | SDN 3 Sukajadi"},
                    "Dana BOS dipotong. Salam, budi santoso", "Dana BOS dipotong. Salam, [anonim]"),
    OwnIdentityCase("mail: a name and an address only its Sender or its read receipt gave, signed First Last", {
                        **MAIL_SENDER, "display_name": "Warga Peduli"},
                    "Balas ke budi.santoso@kecamatan.example.go.id.\nHormat saya,\nBudi Santoso\n(Santoso, Budi)",
                    "Balas ke [anonim].\nHormat saya,\n[anonim]\n([anonim])",
                    {SENDER_IDENTITIES: {"addresses": ["budi.santoso@kecamatan.example.go.id"],
                                         "names": ["Santoso, Budi"]}}),
    # A name with accents is signed without them on a phone's keyboard, and a Mac writes its accents as combining marks
    # (NFD) where the From header has them composed (NFC), or the other way round.
    OwnIdentityCase("mail: a From name with accents, signed without them or in other Unicode forms", {
                        **MAIL_SENDER, "display_name": "Andr\u00e9 N\u00fa\u00f1ez"},
                    "Salam, Andre Nunez / ANDR\u00c9 N\u00da\u00d1EZ / Andre\u0301 Nu\u0301n\u0303ez, "
                    "bukan Andreas Nunez",
                    "Salam, [anonim] / [anonim] / [anonim], bukan Andreas Nunez"),
    # A byte of the name its mail's charset could not read is a U+FFFD in the text (an old client's Latin-1 "é" in a
    # UTF-8 text): the name matched nowhere and reached the case store; a name of its other words stays.
    OwnIdentityCase("mail: a From name with accents, a letter of it unreadable in the text", {
                        **MAIL_SENDER, "display_name": "Jos\u00e9 Ram\u00edrez"},
                    "Saya Jos\ufffd Ram\u00edrez melihatnya, bersama Jos\ufffd Ramos.\nSalam, Jos\u00e9 Ram\ufffdrez",
                    "Saya [anonim] melihatnya, bersama Jos\ufffd Ramos.\nSalam, [anonim]"),
    OwnIdentityCase("mail: a From name in Japanese, a character of it unreadable in the text", {
                        **MAIL_SENDER, "display_name": "\u9ad9\u6a4b \u4e00\u90ce"},
                    "\ufffd\u6a4b \u4e00\u90ce \u3067\u3059\u3002\u6a4b\u672c \u4e00\u90ce",
                    "[anonim] \u3067\u3059\u3002\u6a4b\u672c \u4e00\u90ce"),
    OwnIdentityCase("mail: a From name without accents, signed with them", {
                        **MAIL_SENDER, "display_name": "Andre Nunez"},
                    "Salam, Andr\u00e9 N\u00fa\u00f1ez", "Salam, [anonim]"),
    OwnIdentityCase("mail: a one-word name a field gave stays (it may be the official's)", MAIL_SENDER,
                    "Pak Budi di loket 3 meminta uang", "Pak Budi di loket 3 meminta uang",
                    {SENDER_IDENTITIES: {"addresses": [], "names": ["Budi"]}}),
    OwnIdentityCase("mail: two names in a list are not the sender's", MAIL_SENDER,
                    "Pelaku: Pak Budi, Santoso dan Rina", "Pelaku: Pak Budi, Santoso dan Rina"),
    OwnIdentityCase("mail: one word of the name is someone else's (Pak Budi, the official)", MAIL_SENDER,
                    "Pak Budi dan Bu Santoso di loket 3 meminta uang",
                    "Pak Budi dan Bu Santoso di loket 3 meminta uang"),
    # A signature below "--" typed without its space (the parse cuts only below "-- "): a phone number or an address
    # there is the sender's, whatever name stands beside it.
    OwnIdentityCase("mail: a signature below a bare -- with a phone number", MAIL_SENDER,
                    "Petugas meminta uang.\n--\nPak RT 03 Sukajadi\nHP/WA 0857-1234-9876",
                    "Petugas meminta uang.\n--\n[anonim]", channel="email"),
    # Read as a message's, the same words as a subject end with a sign-off on the lines below "Salam", which goes.
    OwnIdentityCase("mail: a signature below a bare -- with another address, after blank lines", MAIL_SENDER,
                    "Petugas meminta uang.\n\n--\n\nSalam\nB. Santoso\nbudi.kantor@dinas.example.go.id",
                    "Petugas meminta uang.\n\n--\n[anonim]", channel="email",
                    subject="Petugas meminta uang.\n\n--\n\nSalam\n[anonim]\n[anonim]"),
    OwnIdentityCase("mail: a -- divider above the citizen's words stays", MAIL_SENDER,
                    "Kronologi:\n--\nPetugas meminta Rp 50.000.\n--\nSaksi: 2 orang.",
                    "Kronologi:\n--\nPetugas meminta Rp 50.000.\n--\nSaksi: 2 orang.", channel="email"),
    OwnIdentityCase("mail: a name alone below -- stays (no contact)", MAIL_SENDER, "Jalan rusak.\n--\nAgus",
                    "Jalan rusak.\n--\nAgus", channel="email"),
    # A work signature runs longer than a personal one, a line of it (an address) past 80 characters, a disclaimer
    # below it: each kept the whole signature, name and phone number included.
    OwnIdentityCase("mail: a work signature of eight lines below --, a disclaimer below it", MAIL_SENDER,
                    "Dana BOS dipotong.\n--\nB. Santoso, S.Pd.\nGuru Kelas V\nSD Negeri 3 Sukajadi\n"
                    "Jl. Merdeka No. 10, RT 03/RW 05, Kel. Sukajadi, Kec. Sukajadi, Kota Bandung 40162\n"
                    "Telp. (022) 2034567\nHP/WA 0812-3456-7890\nb.santoso@sdn3.sch.id\nhttps://sdn3.sch.id\n\n"
                    "PERHATIAN: E-mail ini bersifat rahasia dan hanya ditujukan kepada penerima yang dimaksud.",
                    "Dana BOS dipotong.\n--\n[anonim]\n\n"
                    "PERHATIAN: E-mail ini bersifat rahasia dan hanya ditujukan kepada penerima yang dimaksud.",
                    channel="email"),
    OwnIdentityCase("mail: a signature below the citizen's own words below --, blank lines in it", MAIL_SENDER,
                    "Kronologi:\n--\nPetugas meminta uang di loket 3 setiap pagi.\n\nB. Santoso\n\nStaf TU\n"
                    "IG: @bsantoso_tu",
                    "Kronologi:\n--\nPetugas meminta uang di loket 3 setiap pagi.\n\n[anonim]", channel="email"),
    OwnIdentityCase("mail: the citizen's sentences below --, the official's number among them, stay", MAIL_SENDER,
                    "Kronologi:\n--\nPetugas bernama Agus meminta uang di loket tiga setiap pagi.\n"
                    "Nomor petugas itu 0813-2222-3333\nSaya melihatnya sendiri bersama dua warga lain.\n"
                    "Kejadian ini sudah berlangsung sejak bulan Januari.\nWarga lain juga mengeluhkan hal yang sama.\n"
                    "Mohon segera ditindaklanjuti oleh dinas terkait.\nTerima kasih atas perhatiannya.",
                    "Kronologi:\n--\nPetugas bernama Agus meminta uang di loket tiga setiap pagi.\n"
                    "Nomor petugas itu 0813-2222-3333\nSaya melihatnya sendiri bersama dua warga lain.\n"
                    "Kejadian ini sudah berlangsung sejak bulan Januari.\nWarga lain juga mengeluhkan hal yang sama.\n"
                    "Mohon segera ditindaklanjuti oleh dinas terkait.\nTerima kasih atas perhatiannya.",
                    channel="email"),
    # Privacy first: a short tail with a number reads the same whether the number is an official's or the sender's
    # own, lowercase, dashed or said in a sentence; it goes whole, as before.
    OwnIdentityCase("mail: a short lowercase signature below -- goes", MAIL_SENDER,
                    "Pungli.\n--\nb. santoso\nstaf tu sdn 3 sukajadi bandung\nhp 0812-3456-7890",
                    "Pungli.\n--\n[anonim]", channel="email"),
    OwnIdentityCase("mail: a short signature said in a sentence below -- goes", MAIL_SENDER,
                    "Pungli.\n--\nB. Santoso\nbisa hubungi saya lewat wa di 0812-3456-7890",
                    "Pungli.\n--\n[anonim]", channel="email"),
    OwnIdentityCase("mail: a short dashed signature below -- goes", MAIL_SENDER,
                    "Pungli.\n--\nB. Santoso\n- Staf TU SDN 3\n- 0812-3456-7890",
                    "Pungli.\n--\n[anonim]", channel="email"),
    OwnIdentityCase("mail: a report of labelled lines below --, a witness's number in it, stays", MAIL_SENDER,
                    "Laporan pungli\n--\nNama pelaku: Ahmad Yani\nJabatan: Kepala Desa\nLokasi: Balai Desa\n"
                    "Waktu: Senin pagi\nJumlah: Rp 500.000\nSaksi: Pak Dedi (0813-2222-3333)\nBukti: foto terlampir",
                    "Laporan pungli\n--\nNama pelaku: Ahmad Yani\nJabatan: Kepala Desa\nLokasi: Balai Desa\n"
                    "Waktu: Senin pagi\nJumlah: Rp 500.000\nSaksi: Pak Dedi (0813-2222-3333)\nBukti: foto terlampir",
                    channel="email"),
    OwnIdentityCase("mail: more lines below -- than a signature has stay", MAIL_SENDER,
                    "Data:\n--\n" + "".join(f"Saksi {index}: Warga RT {index:02d}\n" for index in range(1, 16))
                    + "Kontak: 0812-1111-2222",
                    "Data:\n--\n" + "".join(f"Saksi {index}: Warga RT {index:02d}\n" for index in range(1, 16))
                    + "Kontak: 0812-1111-2222", channel="email"),
    OwnIdentityCase("mail: a contact far above the mail's end (a signature ends it) stays", MAIL_SENDER,
                    "Data:\n--\nB. Santoso\nHP 0857-1234-9876\n\n" + "Petugas meminta uang lagi.\n" * 100,
                    "Data:\n--\nB. Santoso\nHP 0857-1234-9876\n\n" + "Petugas meminta uang lagi.\n" * 100,
                    channel="email"),
    OwnIdentityCase("mail: a numbered list below -- stays, a contact in it too", MAIL_SENDER,
                    "Lampiran:\n--\n1. foto\n2. video\n3. kuitansi\n4. surat\n5. KTP\n6. KK\n7. kontak 0812-1111-2222",
                    "Lampiran:\n--\n1. foto\n2. video\n3. kuitansi\n4. surat\n5. KTP\n6. KK\n7. kontak 0812-1111-2222",
                    channel="email"),
    OwnIdentityCase("sms: a -- line is no mail signature", SMS_SENDER, "Pungli.\n--\nHubungi 0857-1234-9876",
                    "Pungli.\n--\nHubungi 0857-1234-9876"),
    OwnIdentityCase("x: the handle, a link to the profile or a post, the user id and the name",
                    X_SENDER, "jalan rusak, cc @Budi_Rahasia; foto di https://x.com/budi_rahasia/status/1 "
                    "(x.com/i/user/1790000000000000042), Budi Sangat Rahasia",
                    "jalan rusak, cc [anonim]; foto di https://x.com/[anonim]/status/1 (x.com/i/user/[anonim]), "
                    "[anonim]", {"tweet_id": "1", "username": "budi_rahasia"}),
    OwnIdentityCase("x: a display name with a flag and a sparkle, the name written without them",
                    {**X_SENDER, "display_name": "\u2728 Budi Santoso \U0001f1ee\U0001f1e9"},
                    "jalan rusak, lapor dari Budi Santoso", "jalan rusak, lapor dari [anonim]",
                    {"username": "budi_rahasia"}),
    # An Asian phone keyboard's fullwidth ＠ (or the small ﹫) starts a mention on X as @ does.
    OwnIdentityCase("x: the handle after a fullwidth or small @, a plain word without the @", X_SENDER,
                    "jalan rusak, cc \uff20budirahasia dan \ufe6bBudiRahasia; budirahasia sudah lihat",
                    "jalan rusak, cc [anonim] dan [anonim]; budirahasia sudah lihat", {"username": "budirahasia"}),
    OwnIdentityCase("x: another handle that starts with the sender's stays", X_SENDER,
                    "cc @budi_rahasia_lain dan @budi_rahasia.", "cc @budi_rahasia_lain dan [anonim].",
                    {"username": "budi_rahasia"}),
    OwnIdentityCase("instagram: the handle and the profile link", IG_SENDER,
                    "lampu mati, DM @rina.rahasia atau instagram.com/rina.rahasia/",
                    "lampu mati, DM [anonim] atau instagram.com/[anonim]/"),
    # Written without its @ after "IG:" or "akun", a handle with a dot, an underscore or a digit is still the sender's.
    OwnIdentityCase("instagram: the handle written without its @, and longer handles that stay", IG_SENDER,
                    "lampu mati, info IG rina.rahasia / ig:Rina.Rahasia, bukan rina.rahasia2 atau budi.rina.rahasia",
                    "lampu mati, info IG [anonim] / ig:[anonim], bukan rina.rahasia2 atau budi.rina.rahasia"),
    OwnIdentityCase("x: the handle written without its @", X_SENDER, "jalan rusak. akun saya budi_rahasia (x)",
                    "jalan rusak. akun saya [anonim] (x)", {"username": "budi_rahasia"}),
    # A comment's sender is its author's user id, the username its display name.
    OwnIdentityCase("instagram: a commenter's handle, profile link and user id",
                    {"kind": "ig_user", "id": "17841452907381265", "display_name": "rina.rahasia"},
                    "lampu mati, DM @rina.rahasia atau instagram.com/rina.rahasia/ (17841452907381265)",
                    "lampu mati, DM [anonim] atau instagram.com/[anonim]/ ([anonim])", channel="instagram"),
]


# A post relaying another's by hand ("RT @warga_ayu: ...", the old manual retweet), often a whistleblower's #anonim
# report: in an anonymous report the relayed author's handle goes, as the quoted posts' addresses do; the words stay.
OWN_IDENTITY_CASES += [
    OwnIdentityCase(f"{channel}: the handle of a post relayed by hand: {text!r}", sender, text, expected,
                    {"username": "cit_relay"}, channel=channel)
    for channel, sender in (("twitter", X_SENDER), ("instagram", IG_SENDER))
    for text, expected in (
        ("RT @warga_ayu: @lapor1708 kades Sukamaju potong BLT 200rb per KK",
         "RT [anonim]: @lapor1708 kades Sukamaju potong BLT 200rb per KK"),
        ("RT @warga_ayu @lapor1708 ANONIM kades Sukamaju potong BLT",
         "RT [anonim] @lapor1708 ANONIM kades Sukamaju potong BLT"),
        ("rt @relay_satu: RT @warga_ayu: lurah pungli @lapor1708",
         "rt [anonim]: RT [anonim]: lurah pungli @lapor1708"),
        ("RT @warga.ayu: @lapor1708 kades potong BLT", "RT [anonim]: @lapor1708 kades potong BLT"),
        ("Tolong ditindak RT @warga_ayu: @lapor1708 ANONIM kades potong BLT",
         "Tolong ditindak RT [anonim]: @lapor1708 ANONIM kades potong BLT"),
        ("tolong cek rt @warga_ayu: kades potong BLT", "tolong cek rt [anonim]: kades potong BLT"),
        ("tolong cek\nRT @warga_ayu kades potong BLT", "tolong cek\nRT [anonim] kades potong BLT"),
        # a word ending in a role's letters is no role ("Rabu" is no "bu")
        ("laporan hari Rabu RT @warga_ayu: kades potong BLT", "laporan hari Rabu RT [anonim]: kades potong BLT"),
        # A flag word the text no longer holds ("#LaporAnonim"): the handle goes all the same. So does the accused's,
        # his post relayed (privacy first: whose post it is cannot be told; its words stay).
        ("RT @warga_ayu: kades potong BLT", "RT [anonim]: kades potong BLT"),
        ("RT @kades_hendra: warga yang lapor akan saya usir", "RT [anonim]: warga yang lapor akan saya usir"),
        # Not a relay: the neighbourhood's RT ("Ketua RT @budi_rt03": the accused), "RT @" after words with no colon.
        ("Ketua RT @budi_rt03 minta uang, tolong @lapor1708", "Ketua RT @budi_rt03 minta uang, tolong @lapor1708"),
        ("RT 03 jalan rusak, ketua RT @pak_rt tidak peduli", "RT 03 jalan rusak, ketua RT @pak_rt tidak peduli"),
        # his words after a colon, the neighbourhood's role before "RT" (read as a relay in any case, they lost him)
        ("RT 05 Kel Cibiru, ketua rt @pak_rt05: \"bayar dulu\"",
         "RT 05 Kel Cibiru, ketua rt @pak_rt05: \"bayar dulu\""),
        ("ketua rt @budi_rt03: tidak mau tanda tangan kalau tidak bayar",
         "ketua rt @budi_rt03: tidak mau tanda tangan kalau tidak bayar"),
        ("kades @kades_sukamaju potong BLT, RT @warga_ayu sudah lapor",
         "kades @kades_sukamaju potong BLT, RT @warga_ayu sudah lapor"),
    )
]


@pytest.mark.parametrize("case", OWN_IDENTITY_CASES, ids=lambda case: case.id)
def test_an_anonymous_reports_text_and_subject_lose_the_senders_own_identity(
        case: OwnIdentityCase, test_env: TestEnvironment) -> None:
    envelope = {"tracking_id": "10000004", "channel": case.channel, "channel_message_id": "m-1", "anonymous": True,
                "sender": case.sender, "channel_meta": case.meta or {}, "text": case.text, "subject": case.text,
                "attachments": []}
    payload = case_store_payload(envelope, test_env.settings())
    assert payload["text"] == case.expected
    # A subject has no signature; a contact given as the sender's goes from it as from the text.
    assert payload["subject"] == (case.subject if case.subject is not None
                                  else without_given_contacts(case.text) if "--" in case.text else case.expected)
    assert envelope["text"] == case.text  # the gateway's own copy keeps the text whole
    named = case_store_payload({**envelope, "anonymous": False}, test_env.settings())
    assert (named["text"], named["subject"]) == (case.text, case.text)  # a named report's text is as written


class CountedMatches:
    """A pattern counting the strings it is asked to match at their start."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.calls = 0

    def match(self, *args: Any) -> re.Match[str] | None:
        self.calls += 1
        return self.pattern.match(*args)


class ReadBackwards(str):
    """A text keeping the most characters one of its backward searches (`str.rfind`) read."""

    most = 0

    def rfind(self, sub: str, start: Any = None, end: Any = None) -> int:  # type: ignore[override]
        found = super().rfind(sub, start, end)
        stop = len(self) if end is None else end
        self.most = max(self.most, stop - (found if found >= 0 else start or 0))
        return found


# A bare "Saya" and a name thousands of times (a mail may carry 100 000 characters): the words before each were split
# into lines and searched back to the text's start for a paragraph's break, 2 to 3 s for 100 000 characters and four
# times as long for twice as many. Each line is read once for a line opening what was pasted, and the paragraph's
# break is looked for no further back than the words read before the name.
@pytest.mark.parametrize(("line", "kept"), [
    ("Saya Rina 0857-1111-2222\n", f"Saya {OWN_IDENTITY} {OWN_IDENTITY}\n"),
    ("SAYA AHMAD FAUZI\n", f"SAYA {OWN_IDENTITY}\n"),
    ("Saya Ahmad Fauzi\n", f"Saya {OWN_IDENTITY}\n"),
])
def test_a_long_text_of_names_after_a_bare_saya_is_read_in_time_linear_in_its_length(
        line: str, kept: str, monkeypatch: pytest.MonkeyPatch) -> None:
    words = own_identity.load_identity_words()
    opener = CountedMatches(words.pasted_opener)
    monkeypatch.setattr(own_identity, "load_identity_words", lambda: replace(words, pasted_opener=opener))
    text = ReadBackwards(line * 1_000)
    assert without_given_name(text) == kept * 1_000
    assert opener.calls <= 2 * 1_000  # each line once, and a name's own line before it
    assert text.most <= 1_000  # no backward search reaching the text's start


class CountedWords(frozenset[str]):
    """A word set counting the words it is asked about, one by one or as a set's intersection."""

    asked = 0

    def __contains__(self, word: object) -> bool:
        CountedWords.asked += 1
        return super().__contains__(word)

    def intersection(self, *others: Any) -> frozenset[str]:  # type: ignore[override]
        CountedWords.asked += sum(len(other) for other in others)
        return super().intersection(*others)

    def isdisjoint(self, other: Any) -> bool:
        CountedWords.asked += len(other)
        return super().isdisjoint(other)


# Many message words on one line, "ini" before each and her "saya" at its end: the words after each were read again
# for hers (48 KB: 1.3 s, 100 KB: 5 s). And many relay heads on one line of a mention: the line before each was read
# back to its start (100 KB of "Rabu RT @x: ", 18 s).
def test_a_line_of_many_message_words_is_read_in_time_linear_in_its_length(monkeypatch: pytest.MonkeyPatch) -> None:
    words = own_identity.load_identity_words()
    counted = CountedWords(words.self_words)
    monkeypatch.setattr(own_identity, "load_identity_words", lambda: replace(words, self_words=counted))
    said = ["ini", "sms"] * 2_000 + ["saya"]
    CountedWords.asked = 0
    text = " ".join(said) + "\nPagi pak\nTerima kasih\nSiti Rahayu"
    assert without_message_sign_off(text) == text.replace("Siti Rahayu", OWN_IDENTITY)
    assert CountedWords.asked <= 5 * len(said)


def test_a_line_of_many_forwarding_words_is_read_in_time_linear_in_its_length(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether a destination follows each forwarding word ("saya teruskan pesan ini ke bapak"), read once."""
    words = own_identity.load_identity_words()
    counted = CountedWords(words.destination)
    monkeypatch.setattr(own_identity, "load_identity_words", lambda: replace(words, destination=counted))
    said = ["teruskan"] * 4_000
    CountedWords.asked = 0
    text = " ".join(said) + " ke bapak\nKades potong BLT\nTerima kasih\nSiti Rahayu"
    assert without_message_sign_off(text) == text.replace("Siti Rahayu", OWN_IDENTITY)
    assert CountedWords.asked <= 5 * len(said)


def test_a_line_of_many_relay_heads_is_read_in_time_linear_in_its_length() -> None:
    text = ReadBackwards("Rabu RT @warga_ayu: " * 2_000)
    assert without_relayed_authors(text, OWN_IDENTITY) == "Rabu RT [anonim]: " * 2_000
    assert text.most <= 100  # no backward search to the line's start for each head


@pytest.mark.parametrize("channel", [Channel.TWITTER, Channel.INSTAGRAM])
@pytest.mark.parametrize(("text", "anonymous"), [
    ("RT @warga_ayu: @lapor1708 ANONIM kades Sukamaju potong BLT 200rb per KK", True),
    ("RT @warga_ayu @lapor1708 anonim kades Sukamaju potong BLT", True),
    ("rt @relay_satu: RT @warga_ayu: ANONIM lurah pungli", True),
    ("rt @warga.ayu: ANONIM kades potong BLT", True),
    ("Tolong ditindak RT @warga_ayu: @lapor1708 ANONIM kades potong BLT", True),
    ("tolong cek rt @warga.ayu: anonim kades potong BLT", True),
    ("RT @warga_ayu: @lapor1708 kades Sukamaju potong BLT 200rb per KK", False),
    ("RT 03 ANONIM jalan rusak", False),
])
def test_a_post_relaying_by_hand_words_that_ask_anonymity_is_anonymous(channel: Channel, text: str,
                                                                        anonymous: bool) -> None:
    """Named, the relay of a whistleblower's "@lapor1708 ANONIM ..." carried her handle to the agency beside her own
    anonymous report's words, and triage matched the two."""
    sender = SenderKind.X_USER if channel is Channel.TWITTER else SenderKind.IG_USER
    message = InboundMessage(channel=channel, source=channel.value, provider_message_id="1790000000000000099",
                             sender_kind=sender, sender_address="1790000000000000042" if channel is Channel.TWITTER
                             else "cit_relay", text=text, received_at=datetime.now(UTC))
    draft = normalize(message).draft
    assert draft is not None and draft.anonymous is anonymous
    assert draft.text == text  # the gateway's own copy keeps the words as written


def test_an_sms_opening_with_rt_and_a_handle_is_read_as_before() -> None:
    message = InboundMessage(channel=Channel.SMS, source="sms-twilio", provider_message_id="SM1",
                             sender_kind=SenderKind.MSISDN, sender_address="+6281234567001",
                             text="RT @warga_ayu: ANONIM kades potong BLT", received_at=datetime.now(UTC))
    draft = normalize(message).draft
    assert draft is not None and not draft.anonymous


# -- what operators see of a failed reply or forward ------------------------------------------------------------------
def operator_views(test_env: TestEnvironment, tracking_id: str) -> str:
    """`deadletters list` and `deadletters show` as an operator runs them."""
    listing = cli(test_env, "deadletters", "list")
    shown = cli(test_env, "deadletters", "show", tracking_id)
    assert listing.returncode == 0 and shown.returncode == 0, listing.stderr + shown.stderr
    assert tracking_id in listing.stdout and tracking_id in shown.stdout
    return listing.stdout + shown.stdout


def test_a_dead_lettered_mail_reply_shows_operators_no_address_or_subject(
        test_env: TestEnvironment, redis: Redis, relay: tuple[RelayHandler, int]) -> None:  # noqa: F811
    relay[0].answer = "550 5.1.1 Mailbox unavailable"
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()), LAPOR_EMAIL_RELAY_HOST="127.0.0.1",
                                 LAPOR_EMAIL_RELAY_PORT=str(relay[1]), LAPOR_EMAIL_RELAY_STARTTLS="false")
    identity = asyncio.run(via_email(settings, redis))
    run_replies(settings, redis)
    [letter] = DeadLetters(redis).list()
    assert letter.reason == "relay_550"
    shown = operator_views(test_env, letter.tracking_id)
    assert identity.found_in(shown) == [], shown
    assert "pungli di puskesmas" not in shown.lower()  # the subject is the citizen's words
    # The registry holds what a requeue needs, and no address: the reply is addressed by its report, whose envelope
    # copy keeps where it goes (a dead letter is kept 30 days beside the anonymous report's Tracking ID).
    assert letter.args[0]["to_report"] == letter.tracking_id
    assert identity.found_in(orjson.dumps(letter.args).decode()) == [], letter.args
    relay[0].answer = "250 OK"
    assert cli(test_env, "deadletters", "requeue", letter.tracking_id).returncode == 0
    run_replies(settings, redis)
    [(_, recipients, message)] = relay[0].received
    assert recipients == [ADDRESS.lower()]
    assert f"[LAPOR #{letter.tracking_id}]" in message["Subject"] and "pungli di puskesmas" in message["Subject"]
    assert str(message["In-Reply-To"]).strip() == "<anon-1@contoh-desa.net>"


async def test_a_dead_lettered_sms_reply_shows_operators_no_number(
        test_env: TestEnvironment, redis: Redis) -> None:
    """The aggregator's refusal text quoting the number is kept as the reason's detail, without the number."""
    settings = test_env.settings(LAPOR_QUEUES_RETRY_INTERVALS="0")
    api: AggregatorApi
    for api in aggregator_api():
        api.route.mock(return_value=httpx.Response(
            400, text=f"ERR: destination {NUMBER_AGGREGATOR} (0812 9876 5002) is barred by the operator"))
        async with running_gateway(settings, redis) as gateway:
            identity = await via_aggregator(gateway)
        drain(settings, (REPLY_QUEUE,))
    [letter] = DeadLetters(redis).list()
    assert letter.reason == "aggregator_400" and "barred" in letter.detail
    shown = operator_views(test_env, letter.tracking_id)
    assert identity.found_in(shown) == [], shown
    assert "barred by the operator" in shown  # the reason stays readable


async def test_a_case_store_refusal_quoting_the_report_shows_operators_neither_its_words_nor_its_number(
        test_env: TestEnvironment, redis: Redis) -> None:
    """A case store that quotes the refused report back: its answer is the dead letter's detail, without the words
    and the number (the worker's log line already leaves them out; the registry keeps the detail as it shows it)."""
    settings = test_env.settings()
    words = "Pungutan liar di puskesmas Cibeunying Kidul"
    refusing = LoopbackServer(echoing_case_store, settings.casestore.port)
    refusing.start()
    try:
        async with running_gateway(settings, redis) as gateway:
            tracking_id = await send_twilio_sms(gateway, words)
        drain(settings, (FORWARD_QUEUE,))
    finally:
        refusing.stop()
    [letter] = DeadLetters(redis).list()
    assert letter.reason == "casestore_422"
    shown = operator_views(test_env, tracking_id)
    assert msisdn_identity("+6281277773333").found_in(shown) == [], shown
    assert "Cibeunying" not in shown and "puskesmas" not in shown, shown
    assert "invalid_report: cannot file" in shown  # the reason stays readable


async def test_a_dead_lettered_public_reply_shows_operators_no_post_of_the_reporter(
        test_env: TestEnvironment, redis: Redis, fake: FakeProviderServer, settings: Settings) -> None:
    """An anonymous mention's reply X refused: the post it answers (its id opens the post and its author) is in the
    registry for a requeue, not in what an operator reads."""
    fake.fail("/x/2/tweets", 401, body={"title": "Unauthorized", "type": "about:blank", "status": 401,
                                         "detail": "Unauthorized"})
    identity = await via_x(settings, redis, fake)
    run_reply_jobs(settings)
    [letter] = DeadLetters(redis).list()
    assert letter.reason == "x_auth"
    shown = operator_views(test_env, letter.tracking_id)
    assert identity.found_in(shown) == [], shown
    assert letter.args[1]["tweet_id"] in identity.needles  # the registry still holds what a requeue needs


def _sms_without_own_identity(text: str) -> str:
    envelope = {"tracking_id": "10000004", "channel": "sms", "channel_message_id": "m-1", "anonymous": True,
                "sender": {"kind": "msisdn", "id": "+6281234567001", "display_name": None}, "channel_meta": {},
                "text": text, "attachments": []}
    return own_identity.without_own_identity(envelope, ("text",))["text"]


SCAM = "\nBantuan sosial anda sudah cair, transfer biaya admin 100rb\nTerima kasih\nJoko Susilo\n0813-1112-2233"


# A forwarding word before a message its writer is named of ("sms penipu", "sms penipuan", "pesan kades") names a
# message that came, pasted below: its sign-off is the evidence ("Mohon teruskan pesan ini ke bupati" is hers).
@pytest.mark.parametrize("line", [
    "Saya forward sms penipu ke LAPOR", "Mohon teruskan sms penipu ini ke polisi",
    "Saya meneruskan sms penipuan kpd bapak",
    "saya forward ke bapak sms penipu berikut", "tolong teruskan ke polisi sms dari penipu ini",
    "Saya forward pesan kades ke bapak"])
def test_a_forwarded_message_of_someone_named_keeps_its_writers_sign_off(line: str) -> None:
    assert _sms_without_own_identity(line + SCAM) == line + SCAM


@pytest.mark.parametrize(("text", "expected"), [
    # a scam's sign-off of many numbers, none hers: its numbers count as words, as before
    ("Bantuan BLT anda cair, hubungi petugas. Terima kasih\nJoko Susilo 0813-1112-2233 / 0812-5555-6666 / "
     "0856-7777-8888 / 0857-9999-0000", None),
    # numbers and handles listed after one labelled as someone else's are theirs too; her name goes
    ("Kades potong BLT. Terima kasih\nSiti Rahayu\n081234567001\nNo penipu: 0857-2222-3333 / 0813-4444-5555",
     "Kades potong BLT. Terima kasih\n[anonim]\n[anonim]\nNo penipu: 0857-2222-3333 / 0813-4444-5555"),
    ("Kades potong BLT. Terima kasih\nSiti Rahayu\n081234567001\nNomor pelaku 0857-2222-3333, 0813-4444-5555",
     "Kades potong BLT. Terima kasih\n[anonim]\n[anonim]\nNomor pelaku 0857-2222-3333, 0813-4444-5555"),
    ("Kades potong BLT. Terima kasih\nSiti Rahayu\n081234567001\nNo penipu: 0857-2222-3333 / @olshop_murah88",
     "Kades potong BLT. Terima kasih\n[anonim]\n[anonim]\nNo penipu: 0857-2222-3333 / @olshop_murah88"),
    # an office's number or someone else's handle under her number is theirs: it stays, her name goes
    ("Kades potong BLT. Terima kasih\nSiti Rahayu\n081234567001\nNo HP kades: 0857-2222-3333",
     "Kades potong BLT. Terima kasih\n[anonim]\n[anonim]\nNo HP kades: 0857-2222-3333"),
    ("Kades potong BLT. Terima kasih\nSiti Rahayu\n081234567001\nTelp kantor kades 022-7654321",
     "Kades potong BLT. Terima kasih\n[anonim]\n[anonim]\nTelp kantor kades 022-7654321"),
    ("Saya ditipu olshop. Terima kasih\nSiti Rahayu\n081234567001\nIG penipu: @olshop_murah88",
     "Saya ditipu olshop. Terima kasih\n[anonim]\n[anonim]\nIG penipu: @olshop_murah88"),
    # collecting is no payment but for money after it: her post goes
    ("Pelapor: Siti Rahayu Bendahara Desa Sukamaju mohon warga mengumpulkan bukti kwitansi",
     "Pelapor: [anonim] mohon warga mengumpulkan bukti kwitansi"),
    ("Pelapor: Siti Rahayu Bendahara Desa Sukamaju mohon warga kumpul untuk jadi saksi",
     "Pelapor: [anonim] mohon warga kumpul untuk jadi saksi"),
    ("Pelapor: Siti Rahayu Kades Hendra mohon kepada seluruh warga bayar 100rb",
     "Pelapor: [anonim] Kades Hendra mohon kepada seluruh warga bayar 100rb"),
])
def test_an_sms_keeps_the_accuseds_contacts_and_loses_her_own_post(text: str, expected: str | None) -> None:
    assert _sms_without_own_identity(text) == (text if expected is None else expected)


# A contact listed after hers that the words after it give as someone else's stays ("kantor", "IG" join hers).
@pytest.mark.parametrize("text", [
    "Hubungi saya 0857-2222-3333, kantor 022-7654321 milik pelaku",
    "Kades minta 2jt. WA saya 0857-2222-3333 / IG @budi_olshop itu akun penipunya",
    "Kades minta 2jt. WA saya 0857-2222-3333 IG @hendra_penipu pelakunya"])
def test_a_contact_after_hers_given_as_someone_elses_stays(text: str) -> None:
    assert _sms_without_own_identity(text) == text.replace("0857-2222-3333", OWN_IDENTITY)


# A sentence after her second contact, without a mark, is no label of it: her handle, number or address goes
# ("... IG @sitirahayu88 pelaku belum ditangkap"); a label alone keeps an office's number ("022... itu no kades").
@pytest.mark.parametrize(("text", "expected"), [
    ("WA saya 0857-2222-3333 IG @sitirahayu88 pelaku belum ditangkap",
     "WA saya [anonim] IG [anonim] pelaku belum ditangkap"),
    ("Hubungi saya 0857-2222-3333 atau 0813-4444-5555 penipu sudah kabur",
     "Hubungi saya [anonim] atau [anonim] penipu sudah kabur"),
    ("WA saya 0857-2222-3333 dan email sitirahayu88@gmail.com oknum dinas minta 2jt",
     "WA saya [anonim] dan email [anonim] oknum dinas minta 2jt"),
    ("wa sy 0857 2222 3333 0813 4444 5555 penipunya kabur", "wa sy [anonim] [anonim] penipunya kabur"),
    ("WA saya 0857-2222-3333 kantor 022-7654321 itu no kades", "WA saya [anonim] kantor 022-7654321 itu no kades"),
    ("WA saya 0857-2222-3333 kantor 022-7654321 punya kades", "WA saya [anonim] kantor 022-7654321 punya kades"),
])
def test_a_sentence_after_her_second_contact_is_no_label_of_it(text: str, expected: str) -> None:
    assert _sms_without_own_identity(text) == expected


# Her sign-off's contact lines below her name, none the number she sent from, are hers: they and her name go.
@pytest.mark.parametrize("text", [
    "Kades potong BLT. Terima kasih\nSiti Rahayu\nHP 0857-2222-3333 / 0813-4444-5555",
    "Kades potong BLT. Terima kasih\nSiti Rahayu\nWA 0857-2222-3333\nTelp 022-7654321",
    "Kades potong BLT. Terima kasih\nSiti Rahayu\n0857-2222-3333 / 0813-4444-5555 / 022-7654321"])
def test_her_sign_off_with_numbers_of_hers_below_goes(text: str) -> None:
    cleaned = _sms_without_own_identity(text)
    assert "Siti" not in cleaned and "0857" not in cleaned and "022" not in cleaned, cleaned



# Her name under a name's label below her thanks is her sign-off's as the name alone is ("Hormat saya,\nNama: Siti
# Rahayu\nHP: 0857..." sent both); a pasted scam's, an official thanked by it, stay.
@pytest.mark.parametrize(("text", "expected"), [
    ("Kades potong BLT.\nHormat saya,\nNama: Siti Rahayu\nHP: 0857-2222-3333",
     "Kades potong BLT.\nHormat saya,\nNama: [anonim]\nHP: [anonim]"),
    ("Kades potong BLT. Terima kasih\nNama : Siti Rahayu", "Kades potong BLT. Terima kasih\nNama : [anonim]"),
    ("Kades potong BLT. Terima kasih\nNama lengkap: Siti Rahayu 0857-2222-3333",
     "Kades potong BLT. Terima kasih\nNama lengkap: [anonim] [anonim]"),
    ("Kades potong BLT. Terima kasih\nNama:\nSiti Rahayu\n0857-2222-3333",
     "Kades potong BLT. Terima kasih\nNama:\n[anonim]\n[anonim]"),
    ("Kades potong BLT. Thanks, name: Siti Rahayu", "Kades potong BLT. Thanks, name: [anonim]"),
    # the label says it is a name, in lowercase too; a plea or someone else's in its place stays
    ("Kades potong BLT.\nHormat saya,\nNama : siti rahayu\nHP: 0857-2222-3333",
     "Kades potong BLT.\nHormat saya,\nNama : [anonim]\nHP: [anonim]"),
    ("Kades potong BLT. Terima kasih\nNama: rahasia", None),
    ("Kades potong BLT. Terima kasih\nNama: penipu budi 0813-1111-2222", None),
    ("Penipu sms: Selamat anda menang 50jt. Terima kasih\nNama: Budi Santoso\nHP: 0813-1112-2233", None),
    ("Kades potong BLT. Terima kasih\nNama: Pak Kades Hendra", None),
    # her handle, number or address in the name's place: the label is read as a word of her sign-off, as before
    ("Jalan desa rusak.\nTerima kasih\nNama: @sitirahayu88", "Jalan desa rusak.\nTerima kasih\n[anonim]: [anonim]"),
    ("Jalan desa rusak.\nTerima kasih\nNama: 0813 2222 4444", "Jalan desa rusak.\nTerima kasih\n[anonim]: [anonim]"),
    ("Jalan desa rusak. Terima kasih. Nama: sitirahayu88@gmail.com",
     "Jalan desa rusak. Terima kasih. [anonim]: [anonim]"),
])
def test_her_name_under_a_name_label_after_her_thanks_goes(text: str, expected: str | None) -> None:
    assert _sms_without_own_identity(text) == (expected or text)



# A name in lowercase right before the number she sent from, ending the message after her thanks, is hers ("thx, siti
# 0812..." kept "siti"); her number's label, her own words or someone else's there stay, and so does what stands before
# someone else's number.
@pytest.mark.parametrize(("text", "expected"), [
    ("Tolong ditindak\nthx, siti 0812-3456-7001", "Tolong ditindak\nthx, [anonim] [anonim]"),
    ("Jalan rusak. Terima kasih ya pak, siti rahayu 081234567001.",
     "Jalan rusak. Terima kasih ya pak, [anonim] [anonim]."),
    ("Jalan rusak. Terima kasih, nomor saya 0812-3456-7001", "Jalan rusak. Terima kasih, nomor saya [anonim]"),
    ("Jalan rusak. Makasih, penipu 0812-3456-7001", "Jalan rusak. Makasih, penipu [anonim]"),
    ("Jalan rusak. Makasih, yg nelpon 0813-1111-2222", None),
])
def test_a_lowercase_name_before_her_own_number_after_her_thanks_goes(text: str, expected: str | None) -> None:
    assert _sms_without_own_identity(text) == (expected or text)

# Her address's lines below her signed name go as her numbers there do: read as words of the message, they kept her
# name, address and number ("Terima kasih\nSiti Rahayu\nAlamat: Jl. Mawar 3 RT 02\nHP: 0857..."). A sentence about a
# road stays the report's, and so does a pasted scam's signer's address, the evidence.
@pytest.mark.parametrize(("text", "expected"), [
    ("Kades potong BLT. Terima kasih\nSiti Rahayu\nAlamat: Jl. Mawar 3 RT 02/05\nHP: 0857-2222-3333",
     "Kades potong BLT. Terima kasih\n[anonim]\nAlamat: [anonim]\nHP: [anonim]"),
    ("Kades potong BLT. Terima kasih\nSiti Rahayu\nJl. Melati No. 12 RT 05 RW 02, Kel. Sukamaju\n0857-2222-3333",
     "Kades potong BLT. Terima kasih\n[anonim]\n[anonim]\n[anonim]"),
    ("Kades potong BLT. Terima kasih\nSiti Rahayu\n0857-2222-3333\nalamat : perum griya asri blok c4",
     "Kades potong BLT. Terima kasih\n[anonim]\n[anonim]\nalamat : [anonim]"),
    ("Kades potong BLT.\nHormat saya,\nNama: Siti Rahayu\nAlamat: Gg. Kenari 4 RT 01\nWA 0857-2222-3333",
     "Kades potong BLT.\nHormat saya,\nNama: [anonim]\nAlamat: [anonim]\nWA [anonim]"),
    ("Terima kasih\nSiti Rahayu\njl raya bogor no 5 lampunya mati", None),
    ("Penipu sms: Selamat anda menang 50jt. Terima kasih\nBudi Santoso\nAlamat: Jl. Kenanga 4 RT 01\n"
     "HP: 0813-1112-2233", None),
    # no address: a postal code's five digits alone, or a line of someone else's and what follows it
    ("Tolong ditindak. Terima kasih\nSiti Rahayu\nNo tiket 12345", None),
    ("Jalan rusak. Terima kasih\nSiti Rahayu\n0857-2222-3333\nPenipu: Budi 0813-1112-2233\nAlamat: Jl. Kenanga 7 RT 01",
     None),
])
def test_her_address_below_her_signed_name_goes(text: str, expected: str | None) -> None:
    assert _sms_without_own_identity(text) == (expected or text)


# A form of her details opening the report, the number she sent from in it (or one she gives as hers): the name and
# the address beside it are hers, where only the number went. Each name's label opens the details of its own, and
# below a label of someone else's, or with their word after the name, they are the one reported's, the evidence.
@pytest.mark.parametrize(("text", "expected"), [
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\nAlamat: Jl. Mawar 3 RT 02\nLaporan: kades minta pungli 5jt",
     "Nama: [anonim]\nHP: [anonim]\nAlamat: [anonim]\nLaporan: kades minta pungli 5jt"),
    ("Nama: Siti Rahayu, HP: 0812-3456-7001. Kades minta pungli", "Nama: [anonim], HP: [anonim]. Kades minta pungli"),
    ("Nama lengkap: Siti Rahayu\nHP saya: 0857 2222 3333\nkades minta pungli",
     "Nama lengkap: [anonim]\nHP saya: [anonim]\nkades minta pungli"),
    ("Nama: Hendra Gunawan\nHP: 0812-9999-8888\nNama: Siti Rahayu\nHP: 0812-3456-7001\nkades minta uang",
     "Nama: Hendra Gunawan\nHP: 0812-9999-8888\nNama: [anonim]\nHP: [anonim]\nkades minta uang"),
    ("Penipu:\nNama: Budi Santoso\nHP: 0813-1111-2222\nNo saya: 0812-3456-7001",
     "Penipu:\nNama: Budi Santoso\nHP: 0813-1111-2222\nNo saya: [anonim]"),
    ("Nama: Budi Santoso (penipu)\nHP: 0813-1111-2222\nNo saya: 0812-3456-7001",
     "Nama: Budi Santoso (penipu)\nHP: 0813-1111-2222\nNo saya: [anonim]"),
    ("Nama: Kades Hendra\nNo saya: 0812-3456-7001", "Nama: Kades Hendra\nNo saya: [anonim]"),
    ("Nama: Siti Rahayu\nHP: 0813-1111-2222\nkades minta pungli", None),  # no number of hers: nothing to tell
    # no name's label: her address beside her number is hers all the same; not the accused's, nor the place of it
    ("Kades minta pungli 200rb.\nAlamat: Jl. Mawar 3 RT 02\nHP saya: 0812-3456-7001",
     "Kades minta pungli 200rb.\nAlamat: [anonim]\nHP saya: [anonim]"),
    ("Kades minta pungli 200rb.\nAlamat: Jl. Mawar 3 RT 02\nHP: 0812-3456-7001",
     "Kades minta pungli 200rb.\nAlamat: [anonim]\nHP: [anonim]"),
    ("Saya ditipu.\nAlamat penipu: Jl. Kenanga 12\nHP saya: 0812-3456-7001",
     "Saya ditipu.\nAlamat penipu: Jl. Kenanga 12\nHP saya: [anonim]"),
    ("Data penipu:\nAlamat: Jl. Kenanga 12\nHP: 0813-1111-2222\nHP saya: 0812-3456-7001",
     "Data penipu:\nAlamat: Jl. Kenanga 12\nHP: 0813-1111-2222\nHP saya: [anonim]"),
    ("Lokasi: Jl. Kenanga 12\nHP saya: 0812-3456-7001", "Lokasi: Jl. Kenanga 12\nHP saya: [anonim]"),
    # his address marked his on its line or by a heading naming him above; his contact's label an office's
    ("Alamat: Jl. Kenanga 12 (alamat penipu)\nHP saya: 0812-3456-7001",
     "Alamat: Jl. Kenanga 12 (alamat penipu)\nHP saya: [anonim]"),
    ("Kades minta pungli.\nAlamat: Jl. Kenanga 12 (rumah kades)\nHP saya: 0812-3456-7001",
     "Kades minta pungli.\nAlamat: Jl. Kenanga 12 (rumah kades)\nHP saya: [anonim]"),
    ("Penipu tinggal di\nAlamat: Jl. Kenanga 12\nNo saya: 0812-3456-7001",
     "Penipu tinggal di\nAlamat: Jl. Kenanga 12\nNo saya: [anonim]"),
    ("Saya ditipu.\nPenipu tinggal di\nAlamat: Jl. Kenanga 12\nAlamat saya: Jl. Mawar 3 RT 02\nHP: 0812-3456-7001",
     "Saya ditipu.\nPenipu tinggal di\nAlamat: Jl. Kenanga 12\nAlamat saya: [anonim]\nHP: [anonim]"),
    # an office above the form may be her post (an insider's): privacy first; words describing her address are hers
    ("Rumah kades Hendra di\nAlamat: Jl. Kenanga 12\nHP saya: 0812-3456-7001",
     "Rumah kades Hendra di\nAlamat: [anonim]\nHP saya: [anonim]"),
    ("Pegawai kecamatan di\nAlamat: Jl. Mawar 3 RT 02\nHP saya: 0812-3456-7001",
     "Pegawai kecamatan di\nAlamat: [anonim]\nHP saya: [anonim]"),
    ("Kades minta pungli.\nNama: Siti Rahayu\nHP: 0812-3456-7001\nAlamat: Jl. Mawar 3 RT 02 (dekat rumah kades)",
     "Kades minta pungli.\nNama: [anonim]\nHP: [anonim]\nAlamat: [anonim]"),
    *((f"Nama: Siti Rahayu\nHP: 0812-3456-7001\nAlamat: Jl. Mawar 3 RT 02{tail}",
       "Nama: [anonim]\nHP: [anonim]\nAlamat: [anonim]")
      for tail in (" (penipu tahu rumah saya)", " (korban pungli kades)", ", Desa Sukamaju (wilayah camat Hendra)",
                   ", samping rumah pak kades")),
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\nAlamat: Jl. Mawar 3 (kades)",
     "Nama: [anonim]\nHP: [anonim]\nAlamat: [anonim]"),
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\nNIK: 3201234567890001 (Sekdes)\nWA: 085722223333 (kades)",
     "Nama: [anonim]\nHP: [anonim]\n[anonim] (Sekdes)\nWA: [anonim] (kades)"),
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\nHP kades: 0813-9999-8888 (pelaku: Budi)",
     "Nama: [anonim]\nHP: [anonim]\nHP kades: 0813-9999-8888 (pelaku: Budi)"),
    ("Nama: Siti Rahayu\nNIK: 3201234567890001, dipegang petugas\nHP: 0812-3456-7001",
     "Nama: [anonim]\n[anonim], dipegang petugas\nHP: [anonim]"),
    ("Pegawai Kecamatan\nAlamat: Jl. Mawar 3 RT 02\nHP saya: 0812-3456-7001",
     "Pegawai Kecamatan\nAlamat: [anonim]\nHP saya: [anonim]"),
    ("Saya pegawai kecamatan, tinggal di\nAlamat: Jl. Mawar 3 RT 02\nHP saya: 0812-3456-7001",
     "Saya pegawai kecamatan, tinggal di\nAlamat: [anonim]\nHP saya: [anonim]"),
    ("Kades minta pungli 200rb\nAlamat: Jl. Mawar 3 RT 02\nHP saya: 0812-3456-7001",
     "Kades minta pungli 200rb\nAlamat: [anonim]\nHP saya: [anonim]"),
    ("Alamat: Jl. Mawar 3 RT 02 (penipu Budi tinggal di Jl. Kenanga 12)\nHP saya: 0812-3456-7001",
     "Alamat: [anonim] (penipu Budi tinggal di Jl. Kenanga 12)\nHP saya: [anonim]"),
    ("HP: 0812-3456-7001\nAlamat: Jl. Mawar 3 RT 02\nHP kades: 0813-1111-2222",
     "HP: [anonim]\nAlamat: [anonim]\nHP kades: 0813-1111-2222"),
    # his number after his name on its line, with his word or an office; his after her number in brackets
    ("Kades minta pungli.\nNama: Budi Santoso (penipu), HP: 0813-1111-2222\nHP: 0812-3456-7001",
     "Kades minta pungli.\nNama: Budi Santoso (penipu), HP: 0813-1111-2222\nHP: [anonim]"),
    ("Kades minta pungli.\nNama: Kades Hendra, HP: 0813-1111-2222\nHP: 0812-3456-7001",
     "Kades minta pungli.\nNama: Kades Hendra, HP: 0813-1111-2222\nHP: [anonim]"),
    ("Nama: Siti Rahayu, HP: 0812-3456-7001, dihubungi penipu Budi Santoso, HP: 0813-1111-2222",
     "Nama: [anonim], HP: [anonim], dihubungi penipu Budi Santoso, HP: 0813-1111-2222"),
    ("Nama: Siti Rahayu, HP: 0812-3456-7001 (ditelpon penipu dari 0813-1111-2222)",
     "Nama: [anonim], HP: [anonim] (ditelpon penipu dari 0813-1111-2222)"),
    # no name read under the label (one word in lowercase, as a feature phone types it): its few words are hers there,
    # but someone else's word or an office
    ("Terima kasih\nNama: siti\nHP: 0812-3456-7001", "Terima kasih\nNama: [anonim]\nHP: [anonim]"),
    ("Nama: siti, HP: 0812-3456-7001", "Nama: [anonim], HP: [anonim]"),
    ("Nama: penipu\nHP: 0812-3456-7001", "Nama: penipu\nHP: [anonim]"),
    ("Nama: kades\nHP: 0812-3456-7001", "Nama: kades\nHP: [anonim]"),
    # the scammer's details with his number left, hers given beside them; a heading of theirs above the form; her
    # name replaced under her label below the accused's
    ("Saya ditipu.\nNama: Budi Santoso\nRek: BCA 1234567890\nHP: 0813-2222-3333\nHP saya: 0857-1234-5678",
     "Saya ditipu.\nNama: Budi Santoso\nRek: BCA 1234567890\nHP: 0813-2222-3333\nHP saya: [anonim]"),
    *((f"{heading}\nNama: Budi Santoso\nHP saya: 0857-1234-5678",
       f"{heading}\nNama: Budi Santoso\nHP saya: [anonim]")
      for heading in ("Identitas pelaku sebagai berikut", "Data penipu:\n", "Penipu", "Berikut data penipu")),
    ("Nama: Hendra Gunawan\nJabatan: Kades Sukamaju\nPelapor: Siti Rahayu",
     "Nama: Hendra Gunawan\nJabatan: Kades Sukamaju\nPelapor: [anonim]"),
    # her NIK and second number under bare labels are hers, no one else's numbers left beside her details
    ("Nama: Siti Rahayu\nNIK: 3201234567890001\nHP: 0812-3456-7001\nAlamat: Jl. Mawar 3 RT 02\nLaporan: pungli",
     "Nama: [anonim]\n[anonim]\nHP: [anonim]\nAlamat: [anonim]\nLaporan: pungli"),
    ("Data pelapor:\nNama: Siti Rahayu\nHP: 0812-3456-7001\nHP 2: 0813 2468 1357\nLaporan: pungli",
     "Data pelapor:\nNama: [anonim]\nHP: [anonim]\nHP 2: [anonim]\nLaporan: pungli"),
    # someone else's word after the name past a comma, his address below it; "berikut" after her own words
    ("Saya ditipu.\nNama: Joko Susilo, penipu\nAlamat: Jl. Kenanga 12\nNo saya: 0812-3456-7001",
     "Saya ditipu.\nNama: Joko Susilo, penipu\nAlamat: Jl. Kenanga 12\nNo saya: [anonim]"),
    ("Saya melaporkan oknum berikut:\nNama: Hendra Gunawan\nJabatan: Kades\nHP saya: 0812-3456-7001",
     "Saya melaporkan oknum berikut:\nNama: Hendra Gunawan\nJabatan: Kades\nHP saya: [anonim]"),
    ("Nama: Siti Rahayu. Pelaku: Kades Hendra\nHP: 0812-3456-7001",
     "Nama: [anonim]. Pelaku: Kades Hendra\nHP: [anonim]"),
    # a heading of hers opening the run, her number alone on its line; her own clause naming the accused after her
    # name; her post before "berikut data saya"; an odd name beside her number under a bare label: her address goes
    ("Data pelapor:\nNama: Dewi Lestari\n081234567001\nAlamat: Jl. Mawar 3 RT 02",
     "Data pelapor:\nNama: [anonim]\n[anonim]\nAlamat: [anonim]"),
    ("Nama: Siti Rahayu, melaporkan oknum kades\nHP: 0812-3456-7001\nAlamat: Jl. Mawar 3 RT 02",
     "Nama: [anonim], melaporkan oknum kades\nHP: [anonim]\nAlamat: [anonim]"),
    ("Saya staf kades, berikut data saya\nNama: Siti Rahayu\nHP: 0812-3456-7001",
     "Saya staf kades, berikut data saya\nNama: [anonim]\nHP: [anonim]"),
    ("Nama lengkap: Bambang Irawan - oknum\nHP: 0812-3456-7001\nAlamat: Jl. Melati No. 5 RT 03",
     "Nama lengkap: Bambang Irawan - oknum\nHP: [anonim]\nAlamat: [anonim]"),
    # her other numbers anywhere in her details but her account's; a label after a comma is no word of someone else's;
    # what stands above her first name's label is hers; a pronoun before the word saying who he is
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\nNo KK: 3201234567890002\nRek saya: BCA 1234567890",
     "Nama: [anonim]\nHP: [anonim]\nNo KK: [anonim]\nRek saya: BCA [anonim]"),
    ("Terima kasih\nNama: Siti Rahayu, Pelaku: Kades Hendra\nHP: 0812-3456-7001",
     "Terima kasih\nNama: [anonim], Pelaku: Kades Hendra\nHP: [anonim]"),
    ("Terima kasih\nData pelapor:\nAlamat: Jl. Mawar 3 RT 02\n081234567001\nNama: Joko Susilo\nAlamat: Jl. Kenanga 12",
     "Terima kasih\nData pelapor:\nAlamat: [anonim]\n[anonim]\nNama: Joko Susilo\nAlamat: Jl. Kenanga 12"),
    ("Terima kasih\nNama: Joko Susilo, dia penipu\nAlamat: Jl. Kenanga 12\nNo saya: 0812-3456-7001",
     "Terima kasih\nNama: Joko Susilo, dia penipu\nAlamat: Jl. Kenanga 12\nNo saya: [anonim]"),
    ("Nama: Siti Rahayu, istri pelaku\nHP: 0812-3456-7001\nAlamat: Jl. Mawar 3",
     "Nama: [anonim], istri pelaku\nHP: [anonim]\nAlamat: [anonim]"),
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\nNo HP penipu: 081299998888",
     "Nama: [anonim]\nHP: [anonim]\nNo HP penipu: 081299998888"),
    # the numbers her account gives are the evidence, not hers, and so are a quoted message's
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\n> Nama: Joko Susilo\n> HP: 0812-9999-8888",
     "Nama: [anonim]\nHP: [anonim]\n> Nama: Joko Susilo\n> HP: 0812-9999-8888"),
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\nLaporan: penipu menelpon dari 081299998888 minta Rp 15000000",
     "Nama: [anonim]\nHP: [anonim]\nLaporan: penipu menelpon dari 081299998888 minta Rp 15000000"),
    # her details as a list, marked or numbered: her address under its label went with her name and number only
    # unmarked ("- Alamat: Jl. Mawar 3" reached the case store)
    ("Pungli di kelurahan.\n- Nama: Siti Rahayu\n- HP: 0812-3456-7001\n- Alamat: Jl. Mawar 3 RT 02",
     "Pungli di kelurahan.\n- Nama: [anonim]\n- HP: [anonim]\n- Alamat: [anonim]"),
    ("Pungli.\n1. Nama: Siti Rahayu\n2. Alamat rumah: Jl. Mawar 3 RT 02\n3) HP: 0812-3456-7001",
     "Pungli.\n1. Nama: [anonim]\n2. Alamat rumah: [anonim]\n3) HP: [anonim]"),
    ("Pungli.\n\u2022 Alamat: Jl. Mawar 3 RT 02\n\u2022 HP saya: 0812-3456-7001",
     "Pungli.\n\u2022 Alamat: [anonim]\n\u2022 HP saya: [anonim]"),
    ("Penipu:\n- Nama: Joko Susilo\n- Alamat: Jl. Kenanga 12\nHP saya: 0812-3456-7001",
     "Penipu:\n- Nama: Joko Susilo\n- Alamat: Jl. Kenanga 12\nHP saya: [anonim]"),
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\n- Alamat kejadian: Jl. Kenanga 12",
     "Nama: [anonim]\nHP: [anonim]\n- Alamat kejadian: Jl. Kenanga 12"),
    # her address under the other labels a form gives it ("Domisili:", "Alamat Lengkap :")
    ("Pungli.\nNama Lengkap: Siti Rahayu\nNo WA: 0812 3456 7001\nDomisili: Jl. Mawar 3 RT 02",
     "Pungli.\nNama Lengkap: [anonim]\nNo WA: [anonim]\nDomisili: [anonim]"),
    ("Pungli.\nNama : Siti Rahayu\nNo. HP : 0812 3456 7001\nAlamat Lengkap : Jl. Mawar 3 RT 02",
     "Pungli.\nNama : [anonim]\nNo. HP : [anonim]\nAlamat Lengkap : [anonim]"),
    ("Pungli.\nNama: Siti\nHP: 0812 3456 7001\nTempat tinggal: Perum Griya Asri Blok C5",
     "Pungli.\nNama: [anonim]\nHP: [anonim]\nTempat tinggal: [anonim]"),
    ("Penipu:\nNama: Joko Susilo\nDomisili: Jl. Kenanga 12\nHP saya: 0812-3456-7001",
     "Penipu:\nNama: Joko Susilo\nDomisili: Jl. Kenanga 12\nHP saya: [anonim]"),
    # bold's asterisks around the labels (a chat app's *bold*)
    ("Pungli.\n- *Nama:* Siti Rahayu\n- *HP:* 0812-3456-7001\n- *Alamat:* Jl. Mawar 3 RT 02",
     "Pungli.\n- *Nama:* [anonim]\n- *HP:* [anonim]\n- *Alamat:* [anonim]"),
    ("Pungli.\n**Alamat**: Jl. Mawar 3\nHP saya: 0812-3456-7001", "Pungli.\n**Alamat**: [anonim]\nHP saya: [anonim]"),
    # a heading of another part of the message below her details opens it: the incident's place stays
    ("Nama: Siti\nHP: 0812-3456-7001\nLokasi kejadian:\n- Alamat: Jl. Kenanga 12\n- Waktu: 3 Mei",
     "Nama: [anonim]\nHP: [anonim]\nLokasi kejadian:\n- Alamat: Jl. Kenanga 12\n- Waktu: 3 Mei"),
    ("Nama: Siti\nHP: 0812-3456-7001\nKantor desa:\nAlamat: Jl. Kenanga 12",
     "Nama: [anonim]\nHP: [anonim]\nKantor desa:\nAlamat: Jl. Kenanga 12"),
    ("Data pelapor:\nNama: Siti\nHP: 0812-3456-7001\nAlamat: Jl. Mawar 3",
     "Data pelapor:\nNama: [anonim]\nHP: [anonim]\nAlamat: [anonim]"),
    # any other heading (an empty field of her form) leaves her details running on
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\nPekerjaan:\nAlamat: Jl. Mawar 3 RT 02",
     "Nama: [anonim]\nHP: [anonim]\nPekerjaan:\nAlamat: [anonim]"),
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\nBiodata:\nAlamat: Jl. Mawar 3 RT 02",
     "Nama: [anonim]\nHP: [anonim]\nBiodata:\nAlamat: [anonim]"),
    # the other marks a list is written with: her name and address under them reached the case store
    *((f"Pungli.\n{one} Nama: Siti Rahayu\n{two} HP: 0812-3456-7001\n{three} Alamat: Jl. Mawar 3 RT 02",
       f"Pungli.\n{one} Nama: [anonim]\n{two} HP: [anonim]\n{three} Alamat: [anonim]")
      for one, two, three in (("\u2013",) * 3, ("\u25cf",) * 3, ("a.", "b.", "c."), ("A)", "B)", "C)"),
                              ("(1)", "(2)", "(3)"), ("\u27a1\ufe0f",) * 3, ("\U0001f449",) * 3, ("\u2705",) * 3)),
    ("Penipu:\na. Nama: Joko Susilo\nb. Alamat: Jl. Kenanga 12\nHP saya: 0812-3456-7001",
     "Penipu:\na. Nama: Joko Susilo\nb. Alamat: Jl. Kenanga 12\nHP saya: [anonim]"),
    # a blank line between her form's lines, a value on the line below its label alone: each line read apart
    ("Pungli.\nNama: Siti Rahayu\n\nHP: 0812-3456-7001\n\nAlamat: Jl. Mawar 3 RT 02",
     "Pungli.\nNama: [anonim]\n\nHP: [anonim]\n\nAlamat: [anonim]"),
    ("Pungli.\nNama:\nSiti Rahayu\nHP:\n0812-3456-7001\nAlamat:\n  Jl. Mawar 3 RT 02",
     "Pungli.\nNama:\n[anonim]\nHP:\n[anonim]\nAlamat:\n  [anonim]"),
    ("Penipu:\n\nNama: Joko Susilo\n\nAlamat: Jl. Kenanga 12\n\nHP saya: 0812-3456-7001",
     "Penipu:\n\nNama: Joko Susilo\n\nAlamat: Jl. Kenanga 12\n\nHP saya: [anonim]"),
    ("Saya ditipu.\nNama:\nJoko Susilo\nHP:\n0813-2222-3333\nHP saya: 0812-3456-7001",
     "Saya ditipu.\nNama:\nJoko Susilo\nHP:\n0813-2222-3333\nHP saya: [anonim]"),
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\n\nLokasi kejadian:\nJl. Kenanga 12",
     "Nama: [anonim]\nHP: [anonim]\n\nLokasi kejadian:\nJl. Kenanga 12"),
    # her form in a line of prose, after a sentence's end (an SMS is one line); not after a list's letter
    ("LAPOR pungli di pasar. Nama: Siti Rahayu, HP: 0812-3456-7001, Alamat: Jl. Mawar 3 RT 02",
     "LAPOR pungli di pasar. Nama: [anonim], HP: [anonim], Alamat: [anonim]"),
    ("Pungli di pasar!  Nama/HP: Siti Rahayu / 0812-3456-7001", "Pungli di pasar!  Nama/HP: [anonim]"),
    ("Data penipu. Nama: Joko Susilo, Alamat: Jl. Kenanga 12. HP saya: 0812-3456-7001",
     "Data penipu. Nama: Joko Susilo, Alamat: Jl. Kenanga 12. HP saya: [anonim]"),
    # a label joined by semicolons, or giving her address before her number
    ("Pungli.\nNama; HP; Alamat: Siti Rahayu; 0812-3456-7001; Jl. Mawar 3 RT 02",
     "Pungli.\nNama; HP; Alamat: [anonim]"),
    ("Pungli.\nNama, Alamat, HP: Siti Rahayu, Jl. Mawar 3 RT 02, 0812-3456-7001",
     "Pungli.\nNama, Alamat, HP: [anonim]"),
    ("Nama, Alamat, HP: Joko Susilo, Jl. Kenanga 12, 0813-2222-3333, nomor saya 0812-3456-7001",
     "Nama, Alamat, HP: Joko Susilo, Jl. Kenanga 12, 0813-2222-3333, nomor saya [anonim]"),
    ("Nama, Alamat, HP: Joko Susilo (penipu), Jl. Kenanga 12, 0812-3456-7001",
     "Nama, Alamat, HP: Joko Susilo (penipu), Jl. Kenanga 12, [anonim]"),
    # her form's labels typed without a colon (a colon takes keys on a phone's keypad): the accused's stay
    ("Pungli.\nNama Siti Rahayu\nHP 0812-3456-7001\nAlamat Jl. Mawar 3 RT 02",
     "Pungli.\nNama [anonim]\nHP [anonim]\nAlamat [anonim]"),
    ("pungli di pasar\nnama siti rahayu\nhp 0812-3456-7001\nalamat jl mawar 3 rt 02",
     "pungli di pasar\nnama [anonim]\nhp [anonim]\nalamat [anonim]"),
    *((f"Pungli.\nNama{mark}Siti Rahayu\nHP{mark}0812-3456-7001\nAlamat{mark}Jl. Mawar 3 RT 02",
       f"Pungli.\nNama{mark}[anonim]\nHP{mark}[anonim]\nAlamat{mark}[anonim]")
      for mark in (" - ", " = ", ". ", " \u2013 ")),
    ("LAPOR pungli di pasar. Nama Siti Rahayu HP 0812-3456-7001 Alamat Jl. Mawar 3 RT 02",
     "LAPOR pungli di pasar. Nama [anonim] HP [anonim] Alamat [anonim]"),
    ("LAPOR pungli di pasar. nama saya Siti Rahayu, alamat jl mawar 3, hp 0812-3456-7001",
     "LAPOR pungli di pasar. nama saya [anonim], alamat [anonim], hp [anonim]"),
    ("Pungli.\nNama Wa Ode Nurhaliza\nHP 0812-3456-7001", "Pungli.\nNama [anonim]\nHP [anonim]"),
    ("Penipu\nNama Budi Santoso\nWA 0813-2222-3333\nNo saya 0812-3456-7001",
     "Penipu\nNama Budi Santoso\nWA 0813-2222-3333\nNo saya [anonim]"),
    ("Nama pelaku Budi Santoso\nAlamat Jl. Kenanga 12\nHP saya 0812-3456-7001",
     "Nama pelaku Budi Santoso\nAlamat Jl. Kenanga 12\nHP saya [anonim]"),
    ("Saya ditipu. Nama Budi Santoso, HP 0813-2222-3333. HP saya 0812-3456-7001",
     "Saya ditipu. Nama Budi Santoso, HP 0813-2222-3333. HP saya [anonim]"),
    ("Nama pelakunya tidak tahu\nHP saya: 0812-3456-7001\nAlamat kejadian Jl. Kenanga 12",
     "Nama pelakunya tidak tahu\nHP saya: [anonim]\nAlamat kejadian Jl. Kenanga 12"),
    # labels of the accused's or of a word making them a value's ("atas nama", "a.n."), compounds of a label's word
    # ("Nama baik", "WA grup"), and the longest label first ("Alamat rumah", "Nama lengkap"); a dash joined to a
    # value, blank lines between
    ("Penipuan online\nWA 0813-2222-3333 atas nama Joko Susilo\nHP 0812-3456-7001",
     "Penipuan online\nWA 0813-2222-3333 atas nama Joko Susilo\nHP [anonim]"),
    ("Penipu minta transfer ke BRI 1234567890 a.n. Joko Susilo, HP saya 0812-3456-7001",
     "Penipu minta transfer ke BRI 1234567890 a.n. Joko Susilo, HP saya [anonim]"),
    ("Nama baik keluarga tercemar\nHP 0812-3456-7001", "Nama baik keluarga tercemar\nHP [anonim]"),
    ("WA grup RT ramai\nHP 0812-3456-7001", "WA grup RT ramai\nHP [anonim]"),
    ("nama-nama korban banyak\nHP 0812-3456-7001", "nama-nama korban banyak\nHP [anonim]"),
    ("Pungli.\nNama Siti Rahayu\nHP 0812-3456-7001\nAlamat rumah Jl. Mawar 3",
     "Pungli.\nNama [anonim]\nHP [anonim]\nAlamat rumah [anonim]"),
    ("Pungli.\nNama lengkap. Siti Rahayu\nHP. 0812-3456-7001", "Pungli.\nNama lengkap. [anonim]\nHP. [anonim]"),
    ("Pungli.\nNama lengkap - Siti Rahayu\nTlp 0812-3456-7001\nAlmt Jl. Mawar 3",
     "Pungli.\nNama lengkap - [anonim]\nTlp [anonim]\nAlmt [anonim]"),
    ("Nama-Siti Rahayu\nHP-0812-3456-7001\nAlamat-Jl. Mawar 3", "Nama-[anonim]\nHP-[anonim]\nAlamat-[anonim]"),
    ("LAPOR pungli. Nama Siti Rahayu, Alamat Jl. Mawar 3, Hp-0812-3456-7001",
     "LAPOR pungli. Nama [anonim], Alamat [anonim], Hp-[anonim]"),
    ("Pungli.\nNama Siti Rahayu\n\nHP 0812-3456-7001\n\nAlamat Jl. Mawar 3",
     "Pungli.\nNama [anonim]\n\nHP [anonim]\n\nAlamat [anonim]"),
    # her form in one line, each of its labels after a sentence's end: read as the same form on lines is
    ("Pungli di pasar. Nama: Siti Rahayu. No. HP: 0812-3456-7001. Alamat: Jl. Mawar No. 3 RT 02",
     "Pungli di pasar. Nama: [anonim]. No. HP: [anonim]. Alamat: [anonim]"),
    ("Saya ditipu orang. Nama: Joko Susilo, HP: 0813-2222-3333. HP saya: 0812-3456-7001",
     "Saya ditipu orang. Nama: Joko Susilo, HP: 0813-2222-3333. HP saya: [anonim]"),
    # a blank line joins no block headed apart (someone else's, another part's) to hers
    ("Terlapor:\nNama: Joko Susilo\nJabatan: Kades\n\nPelapor:\nNama: Siti Rahayu\nHP: 0812-3456-7001\n"
     "Alamat: Jl. Mawar 3",
     "Terlapor:\nNama: Joko Susilo\nJabatan: Kades\n\nPelapor:\nNama: [anonim]\nHP: [anonim]\nAlamat: [anonim]"),
    ("Penipu:\nNama: Joko Susilo\n\nHP saya: 0812-3456-7001\nAlamat: Jl. Mawar 3",
     "Penipu:\nNama: Joko Susilo\n\nHP saya: [anonim]\nAlamat: [anonim]"),
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\n\nTKP: Pasar Cibinong\nAlamat: Jl. Kenanga 12",
     "Nama: [anonim]\nHP: [anonim]\n\nTKP: Pasar Cibinong\nAlamat: Jl. Kenanga 12"),
    # lines ending in a carriage return (a text file attached as it was written)
    ("Pungli.\r\nNama:\r\nSiti Rahayu\r\nHP: 0812-3456-7001\r\nAlamat: Jl. Mawar 3\r\nKel. Sukamaju\r\nMohon",
     "Pungli.\r\nNama:\r\n[anonim]\r\nHP: [anonim]\r\nAlamat: [anonim]\r\n[anonim]\r\nMohon"),
    # more of a list's marks, her contact an item with a word after it or a full stop
    *((f"Pungli.\n{one} Nama: Siti Rahayu\n{two} HP: 0812-3456-7001\n{three} Alamat: Jl. Mawar 3 RT 02",
       f"Pungli.\n{one} Nama: [anonim]\n{two} HP: [anonim]\n{three} Alamat: [anonim]")
      for one, two, three in (("\U0001f449\U0001f3fb",) * 3, ("[1]", "[2]", "[3]"), ("ii.", "iii.", "iv."),
                              ("1.1", "1.2", "1.3"), ("\u25c6",) * 3, ("\u2212",) * 3)),
    ("Pungli.\nNama, Alamat, HP: Siti Rahayu, Jl. Mawar 3, 0812 3456 7001 (WA).",
     "Pungli.\nNama, Alamat, HP: [anonim]"),
    # a blank line below a block of someone else's joins nothing to it; a name below her contact with no name above
    # it is hers; her NIK, and the report's sentences after her form in one line
    ("Terlapor:\nNama: Joko Susilo\nHP: 0813-2222-3333\n\nAlamat: Jl. Mawar 3\nHP: 0812-3456-7001",
     "Terlapor:\nNama: Joko Susilo\nHP: 0813-2222-3333\n\nAlamat: [anonim]\nHP: [anonim]"),
    ("Terlapor:\nNama: Joko Susilo\nHP: 0813-2222-3333\n\nNIK: 3201234567890001\nNama: Siti Rahayu\n"
     "HP: 0812-3456-7001",
     "Terlapor:\nNama: Joko Susilo\nHP: 0813-2222-3333\n\n[anonim]\nNama: [anonim]\nHP: [anonim]"),
    ("Pungli.\nHP: 0812-3456-7001\nNama: Siti Rahayu", "Pungli.\nHP: [anonim]\nNama: [anonim]"),
    ("Pungli di pasar\nAlamat: Jl. Mawar 3. HP: 0812-3456-7001. Nama: Siti Rahayu. Kades minta 2jt",
     "Pungli di pasar\nAlamat: [anonim]. HP: [anonim]. Nama: [anonim]. Kades minta 2jt"),
    ("HP saya: 0812-3456-7001\nNama: Joko Susilo\nHP: 0813-2222-3333",
     "HP saya: [anonim]\nNama: Joko Susilo\nHP: 0813-2222-3333"),
    ("Pungli di pasar. Nama: Siti Rahayu. NIK: 3201234567890001. HP: 0812-3456-7001",
     "Pungli di pasar. Nama: [anonim]. [anonim]. HP: [anonim]"),
    ("- NIK = 3201234567890001. \u25c6 NAMA:siti rahayu. 1. No WA \u2013 0812-3456-7001. Kades minta 2jt",
     "- [anonim]. \u25c6 NAMA:[anonim]. 1. No WA \u2013 [anonim]. Kades minta 2jt"),
    ("Pungli. Nama: Siti Rahayu. HP 0812-3456-7001. Alamat Jl. Mawar 3",
     "Pungli. Nama: [anonim]. HP [anonim]. Alamat [anonim]"),
    # a label of two words in one line ("No HP:") is one label, not "No" and a label
    ("Nama: Siti Rahayu, No HP: 0812-3456-7001, Alamat: Jl. Mawar 3",
     "Nama: [anonim], No HP: [anonim], Alamat: [anonim]"),
    ("Alamat: Jl. Mawar 3, Nomor HP: 0812-3456-7001, Nama: Siti Rahayu", "Alamat: [anonim]"),
    ("HP: 0812-3456-7001 | Nama: Siti Rahayu | NIK 3201234567890001", "HP: [anonim] | Nama: [anonim] | [anonim]"),
    # a heading ending the line above a name, or another's number between them: the name is not hers
    ("No saya 0812-3456-7001. Pelakunya:\nNama: Joko Susilo\nAlamat: Jl. Kenanga 12",
     "No saya [anonim]. Pelakunya:\nNama: Joko Susilo\nAlamat: Jl. Kenanga 12"),
    ("Pungli.\nHP: 0812-3456-7001\nHP: 0813-2222-3333\nNama: Joko Susilo",
     "Pungli.\nHP: [anonim]\nHP: [anonim]\nNama: Joko Susilo"),
    ("Pungli. Nama: Siti Rahayu. HP: 0812-3456-7001. Alamat: Jl. Mawar 3. Pak Joko Susilo minta 2jt.",
     "Pungli. Nama: [anonim]. HP: [anonim]. Alamat: [anonim]. Pak Joko Susilo minta 2jt."),
    ("Nama: Siti Rahayu, HP: 0812-3456-7001, Alamat: Jl. Mawar 3 RT 02. Kades minta pungli 2jt",
     "Nama: [anonim], HP: [anonim], Alamat: [anonim]. Kades minta pungli 2jt"),
    # a phone capitalizes a line's first letter alone; a form marked with a chat's emoji; another part's label
    ("Pungli di pasar\nNama siti rahayu\nHp 081234567001\nAlamat jl mawar 3 rt 02",
     "Pungli di pasar\nNama [anonim]\nHp [anonim]\nAlamat [anonim]"),
    ("Pungli.\n\U0001f4cc Nama: Siti Rahayu\n\U0001f4de HP: 0812-3456-7001\n\U0001f3e0 Alamat: Jl. Mawar 3",
     "Pungli.\n\U0001f4cc Nama: [anonim]\n\U0001f4de HP: [anonim]\n\U0001f3e0 Alamat: [anonim]"),
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\n\nWaktu: Senin\nAlamat: Jl. Kenanga 12",
     "Nama: [anonim]\nHP: [anonim]\n\nWaktu: Senin\nAlamat: Jl. Kenanga 12"),
    # her address's lines below its label's, down to the report's
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\nAlamat: Jl. Mawar 3 RT 02\nKel. Sukamaju, Kec. Cibinong\n"
     "Kota Bogor 16911\nMohon ditindak.",
     "Nama: [anonim]\nHP: [anonim]\nAlamat: [anonim]\n[anonim]\n[anonim]\nMohon ditindak."),
    ("Nama: Siti Rahayu\nAlamat: Jl. Mawar 3 RT 02\nKel. Sukamaju\nHP: 0812-3456-7001",
     "Nama: [anonim]\nAlamat: [anonim]\n[anonim]\nHP: [anonim]"),
    ("Nama: Siti Rahayu\nHP: 0812-3456-7001\nAlamat: Jl. Mawar 3\nRT 05 sering banjir tidak ditangani",
     "Nama: [anonim]\nHP: [anonim]\nAlamat: [anonim]\nRT 05 sering banjir tidak ditangani"),
    ("Penipu:\nNama: Joko Susilo\nAlamat: Jl. Kenanga 12\nKel. Sukamaju\nHP saya: 0812-3456-7001",
     "Penipu:\nNama: Joko Susilo\nAlamat: Jl. Kenanga 12\nKel. Sukamaju\nHP saya: [anonim]"),
    *((f"Nama: Siti Rahayu\nHP: 0812-3456-7001\nAlamat: Jl. Mawar 3\n{line}",
       f"Nama: [anonim]\nHP: [anonim]\nAlamat: [anonim]\n{line}")
      for line in ("No HP penipu 0813-2222-3333", "Jl. Kenanga 12 rumah pelaku", "Desa Sukamaju kades korupsi",
                   "Pasar Cibinong Blok A no 5", "Kecamatan Cibinong korupsi dana desa")),
])
def test_her_details_form_beside_her_own_number_loses_her_name(text: str, expected: str | None) -> None:
    assert _sms_without_own_identity(text) == (expected or text)


# Her details below her own label in a message, with no contact of hers beside them: her address on the line right
# below her name under a reporter's label, and the form below a heading of her details alone on its line, reached the
# case store whole (a mail's sign-off already lost them). The accused's below a label or a heading of his stay.
@pytest.mark.parametrize(("text", "expected"), [
    ("Pungli.\nNama pelapor: Siti Rahayu\nAlamat: Jl. Mawar 3 RT 02",
     "Pungli.\nNama pelapor: [anonim]\nAlamat: [anonim]"),
    ("Pungli.\nPelapor: Siti Rahayu\nDomisili: Jl. Mawar 3 RT 02", "Pungli.\nPelapor: [anonim]\nDomisili: [anonim]"),
    ("Pungli.\nData pelapor:\nNama: Siti Rahayu\nAlamat: Jl. Mawar 3\nNIK: 3275014501900002",
     "Pungli.\nData pelapor:\nNama: [anonim]\nAlamat: [anonim]\n[anonim]"),
    ("Pungli.\nIdentitas pelapor:\n- Nama: Siti Rahayu\n- Alamat: Jl. Mawar 3",
     "Pungli.\nIdentitas pelapor:\n- Nama: [anonim]\n- Alamat: [anonim]"),
    # his: an address marked his, a label of his between, a heading of his, the one reported named, a quoted line
    ("Pungli.\nPelapor: Siti Rahayu\nAlamat: Jl. Kenanga 12 (rumah kades)",
     "Pungli.\nPelapor: [anonim]\nAlamat: Jl. Kenanga 12 (rumah kades)"),
    ("Pelapor: Siti Rahayu\nTerlapor: Kades Hendra\nAlamat: Jl. Kenanga 12",
     "Pelapor: [anonim]\nTerlapor: Kades Hendra\nAlamat: Jl. Kenanga 12"),
    ("Data pelapor:\nPenipu:\nNama: Budi Santoso\nAlamat: Jl. Kenanga 12", None),
    ("Data pelapor:\nNama: Kades Hendra\nAlamat: Jl. Kenanga 12", None),
    ("Pungli.\n> Data pelapor:\n> Nama: Budi Santoso\n> Alamat: Jl. Kenanga 12", None),
    # below a line opening what was pasted or naming someone else ("Data diri:" says no reporter), or in a pasted
    # report naming its parties: theirs
    ("Berikut laporan polisinya\nData pelapor:\nNama: Hendra Gunawan\nAlamat: Jl. Kenanga 12 RT 05", None),
    ("Ini KTP yang dikirim penipu.\nData diri:\nNama: Hendra Gunawan\nAlamat: Jl. Kenanga 12 RT 05", None),
    ("Laporan polisi palsu:\nPelapor: Hendra Gunawan\nAlamat: Jl. Kenanga 12 RT 05\nTerlapor: saya",
     "Laporan polisi palsu:\nPelapor: [anonim]\nAlamat: Jl. Kenanga 12 RT 05\nTerlapor: saya"),
    ("Saya korban penipu.\nData pelapor:\nNama: Siti Rahayu\nAlamat: Jl. Mawar 3",
     "Saya korban penipu.\nData pelapor:\nNama: [anonim]\nAlamat: [anonim]"),
])
def test_her_details_below_her_own_label_in_a_message_go_with_her_name(text: str, expected: str | None) -> None:
    assert _sms_without_own_identity(text) == (expected or text)


class ScannedSearches:
    """A pattern adding up the characters it is asked to search through."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.scanned = 0

    def search(self, text: str, start: int = 0, end: int = sys.maxsize) -> re.Match[str] | None:
        self.scanned += min(end, len(text)) - start
        return self.pattern.search(text, start, end)


@pytest.mark.parametrize("unit", ["1. ", "a. ", "x. Nama ", "Nama: x. y. "], ids=["numbers", "letters", "name-words",
                                                                              "form-labels"])
def test_many_sentence_ends_in_a_line_are_read_for_a_form_in_time_linear_in_their_number(
        unit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each sentence's end is read for a word of prose before it, since the last one alone (a form of hers may open
    after it: "Pungli di pasar. Nama: ..."): from the line's start, a line of list numbers took time quadratic."""
    counted = ScannedSearches(own_identity._PROSE_WORD)
    monkeypatch.setattr(own_identity, "_PROSE_WORD", counted)
    text = unit * 5_000 + "\nHP: [anonim]"
    own_identity.without_names_in_her_details(text)
    assert counted.scanned <= len(text)


@pytest.mark.parametrize("unit", ["Data pelapor:\n", "Data pelapor:\nHP: 0812\nNIK: 1\nRT: 2\n"],
                         ids=["headings", "headings-and-labels"])
def test_many_headings_of_her_details_are_read_in_time_linear_in_their_number(
        unit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each heading's form was read down to the end of the text, across every heading below it (10 kB: 1.8 s, 100
    kB: three minutes): each is read down to the next heading."""
    counted = CountedMatches(own_identity._OPENING_LABEL)
    monkeypatch.setattr(own_identity, "_OPENING_LABEL", counted)
    text = unit * 1_000
    assert own_identity.without_details_below_her_labels(text) == text
    assert counted.calls <= 5 * text.count("\n")


def _mail_without_own_identity(text: str, display_name: str = "Siti Rahayu") -> str:
    envelope = {"tracking_id": "10000004", "channel": "email", "channel_message_id": "m-1", "anonymous": True,
                "sender": {"kind": "email", "id": "siti.rahayu@contoh-desa.net", "display_name": display_name},
                "channel_meta": {}, "text": text, "attachments": []}
    return own_identity.without_own_identity(envelope, ("text",))["text"]


# A mail's form of her details: the gateway knows no number of a mail's sender, so her name under a name's label (the
# From's, replaced) is what tells the form hers; her number and address beside it reached the case store. The one
# reported's details below a heading or a label of his, or with his word after the name, stay; so does a form whose
# name is not the From's.
@pytest.mark.parametrize(("text", "expected"), [
    ("Kades minta pungli 200rb.\nNama: Siti Rahayu\nHP: 0857-2222-3333\nAlamat: Jl. Mawar 3 RT 02",
     "Kades minta pungli 200rb.\nNama: [anonim]\nHP: [anonim]\nAlamat: [anonim]"),
    ("Data pelapor:\nNama lengkap: Siti Rahayu\nNo. WA: 0857 2222 3333\nNIK: 3201234567890001\nLaporan: pungli",
     "Data pelapor:\nNama lengkap: [anonim]\nNo. WA: [anonim]\n[anonim]\nLaporan: pungli"),
    ("Nama: Siti Rahayu, HP: 0857-2222-3333. Kades minta pungli", "Nama: [anonim], HP: [anonim]. Kades minta pungli"),
    ("Nama: Siti Rahayu, NIK: 3201234567890001; WA: 0857 2222 3333\nKades minta pungli",
     "Nama: [anonim], NIK: [anonim]; WA: [anonim]\nKades minta pungli"),
    ("Nama: Siti Rahayu, HP penipu: 0813-1111-2222\nKades minta pungli", "Nama: [anonim], HP penipu: 0813-1111-2222\n"
     "Kades minta pungli"),
    # his form below hers, a heading of his, his word after the name, a name that is not hers
    ("Nama: Siti Rahayu\nHP: 0857-2222-3333\nNama: Hendra Gunawan\nHP: 0813-1111-2222",
     "Nama: [anonim]\nHP: [anonim]\nNama: Hendra Gunawan\nHP: 0813-1111-2222"),
    ("Data penipu:\nNama: Budi Santoso\nHP: 0813-1111-2222", None),
    ("Nama: Budi Santoso (penipu)\nHP: 0813-1111-2222\nAlamat: Jl. Kenanga 12", None),
    ("Kades minta pungli.\nNama: Hendra Gunawan\nHP: 0813-1111-2222\nAlamat: Jl. Kenanga 12", None),
    ("Nama: Siti Rahayu\nHP: 0857-2222-3333\nNo HP penipu: 081299998888",
     "Nama: [anonim]\nHP: [anonim]\nNo HP penipu: 081299998888"),
    # his on her name's line after his word or label, his number marked his in brackets, an office's contact's label
    ("Nama: Siti Rahayu, melaporkan penipu Budi Santoso, HP: 0813-1111-2222",
     "Nama: [anonim], melaporkan penipu Budi Santoso, HP: 0813-1111-2222"),
    ("Nama: Siti Rahayu; pelaku: Kades Hendra; HP: 0813-1111-2222",
     "Nama: [anonim]; pelaku: Kades Hendra; HP: 0813-1111-2222"),
    ("Nama: Siti Rahayu, Terlapor: Kades Hendra, HP: 0813-1111-2222",
     "Nama: [anonim], Terlapor: Kades Hendra, HP: 0813-1111-2222"),
    ("Nama: Siti Rahayu, HP: 0857-2222-3333 (nomor penipu 0813-1111-2222)",
     "Nama: [anonim], HP: [anonim] (nomor penipu 0813-1111-2222)"),
    ("Nama: Siti Rahayu, HP: 0813-1111-2222 (nomor penipu)", "Nama: [anonim], HP: 0813-1111-2222 (nomor penipu)"),
    ("Nama: Siti Rahayu\nHP kades: 0813-1111-2222", "Nama: [anonim]\nHP kades: 0813-1111-2222"),
    ("Nama: Siti Rahayu\nKorban: Siti\nHP: 0813-1111-2222 (nomor penipu)",
     "Nama: [anonim]\nKorban: Siti\nHP: 0813-1111-2222 (nomor penipu)"),
    ("Nama: Siti Rahayu\nHP: 0813-1111-2222 (nomor penipu)\nAlamat: Jl. Kenanga 12 (rumah penipu)",
     "Nama: [anonim]\nHP: 0813-1111-2222 (nomor penipu)\nAlamat: Jl. Kenanga 12 (rumah penipu)"),
    ("Nama: Siti Rahayu\nAlamat: Jl. Mawar 3 RT 02, No penipu: 0813-1111-2222",
     "Nama: [anonim]\nAlamat: [anonim], No penipu: 0813-1111-2222"),
    ("Nama: Siti Rahayu\nHP: 0857-2222-3333 (korban penipu)", "Nama: [anonim]\nHP: [anonim] (korban penipu)"),
    # words describing hers with someone else's or an office are hers; her post on her name's line too
    *((f"Nama: Siti Rahayu\nHP: 0857-2222-3333{tail}\nAlamat: Jl. Mawar 3 RT 02",
       f"Nama: [anonim]\nHP: [anonim]{tail}\nAlamat: [anonim]")
      for tail in (" (pernah ditelpon penipu)", "; dihubungi penipu", ", ditipu kades", ". camat minta pungli.")),
    ("Nama: Siti Rahayu\nhp: 0857-2222-3333. bendahara pakai nomor 0813-1111-2222",
     "Nama: [anonim]\nhp: [anonim]. bendahara pakai nomor 0813-1111-2222"),
    ("Nama: Siti Rahayu\nNIK: 3201234567890001 (KTP diurus Bendahara)\nHP: 0857-2222-3333",
     "Nama: [anonim]\n[anonim] (KTP diurus Bendahara)\nHP: [anonim]"),
    ("Nama: Siti Rahayu, camat desa, HP: 0857 2222 3333", "Nama: [anonim], camat desa, HP: [anonim]"),
    ("Nama: Siti Rahayu, Pekerjaan: Petugas kecamatan, HP: 0857-2222-3333",
     "Nama: [anonim], Pekerjaan: Petugas kecamatan, HP: [anonim]"),
    ("nama: siti rahayu, hp: 0857 2222 3333 (dulu dipakai kades)", "nama: [anonim], hp: [anonim] (dulu dipakai kades)"),
    ("Nama: Siti Rahayu (Kades desa), HP: 0857 2222 3333", "Nama: [anonim] (Kades desa), HP: [anonim]"),
    ("Nama: Siti Rahayu, HP: 0813-1111-2222, nomor penipu", "Nama: [anonim], HP: 0813-1111-2222, nomor penipu"),
    ("Nama: Siti Rahayu, HP: 0857 2222 3333; pelaku", "Nama: [anonim], HP: [anonim]; pelaku"),
    ("Nama: Siti Rahayu\nHP: 0813-9999-8888 (pelaku: Budi)", "Nama: [anonim]\nHP: 0813-9999-8888 (pelaku: Budi)"),
    # her address as a clause of her name's line, to the next label; not marked theirs
    ("Nama: Siti Rahayu, HP: 0857-2222-3333, Alamat: Jl. Mawar 3 RT 02, Kel. Sukajadi, NIK: 3201234567890001",
     "Nama: [anonim], HP: [anonim], Alamat: [anonim], NIK: [anonim]"),
    ("Nama: Siti Rahayu, Alamat: Jl. Mawar 3 RT 02; pelaku: Kades Hendra, Alamat: Jl. Kenanga 12",
     "Nama: [anonim], Alamat: [anonim]; pelaku: Kades Hendra, Alamat: Jl. Kenanga 12"),
    ("Nama: Siti Rahayu, Alamat: Jl. Kenanga 12 (rumah penipu)",
     "Nama: [anonim], Alamat: Jl. Kenanga 12 (rumah penipu)"),
    # her name again on a joined line below her name replaced: a line of her details, but the one reported's
    *((f"Pungli.\nNama: Siti Rahayu\n{label} Siti / 0857-2222-3333\nAlamat: Jl. Mawar 3 RT 02",
       f"Pungli.\nNama: [anonim]\n{label} [anonim]\nAlamat: [anonim]")
      for label in ("Nama/HP:", "Nama, HP:", "Nama \u2013 HP:", "Identitas/HP:")),
    ("Pungli.\nNama: Siti Rahayu\nHP: 0857-2222-3333\nNama/HP: Kades Hendra / 0813-1111-2222",
     "Pungli.\nNama: [anonim]\nHP: [anonim]\nNama/HP: Kades Hendra / 0813-1111-2222"),
    # a mail's paragraphs: a blank line between her form's lines, her address's lines below its label's, a value
    # below its label, another list's marks
    ("Pungli.\n\nNama: Siti Rahayu\n\nHP: 0857-2222-3333\n\nAlamat: Jl. Mawar 3 RT 02\nKel. Sukamaju, Kec. Cibinong",
     "Pungli.\n\nNama: [anonim]\n\nHP: [anonim]\n\nAlamat: [anonim]\n[anonim]"),
    ("Pungli.\nNama:\nSiti Rahayu\nAlamat:\nJl. Mawar 3 RT 02", "Pungli.\nNama:\n[anonim]\nAlamat:\n[anonim]"),
    ("Pungli.\n\u25cf Nama: Siti Rahayu\n\u25cf No. HP: 0857-2222-3333\n\u25cf Domisili: Jl. Mawar 3 RT 02",
     "Pungli.\n\u25cf Nama: [anonim]\n\u25cf No. HP: [anonim]\n\u25cf Domisili: [anonim]"),
    ("Data penipu\nNama: Joko Susilo\n\nNama: Siti Rahayu\nHP: 0857-2222-3333\nAlamat: Jl. Mawar 3",
     "Data penipu\nNama: Joko Susilo\n\nNama: [anonim]\nHP: [anonim]\nAlamat: [anonim]"),
    ("Pungli di kantor desa. Nama: Siti Rahayu. HP: 0857-2222-3333. Alamat: Jl. Mawar 3 RT 02",
     "Pungli di kantor desa. Nama: [anonim]. HP: [anonim]. Alamat: [anonim]"),
    # her form in one line, its labels apart by spaces, a dash or a bar; her number above her name
    ("LAPOR pungli. Nama: Siti Rahayu HP: 0857-1111-2222 Alamat: Jl. Mawar 3",
     "LAPOR pungli. Nama: [anonim] HP: [anonim] Alamat: [anonim]"),
    *((f"Pungli. Nama: Siti Rahayu{mark}HP: 0857-1111-2222", f"Pungli. Nama: [anonim]{mark}HP: [anonim]")
      for mark in (" - ", " | ")),
    ("LAPOR pungli. HP: 0857-1111-2222. Nama: Siti Rahayu", "LAPOR pungli. HP: [anonim]. Nama: [anonim]"),
    # her number's label typed without a colon, or of two words, or numbered, after her name in one line
    ("Pungli. Nama: Siti Rahayu HP 0857-1111-2222", "Pungli. Nama: [anonim] HP [anonim]"),
    ("Pungli. Nama: Siti Rahayu No. HP: 0857-1111-2222", "Pungli. Nama: [anonim] No. HP: [anonim]"),
    ("LAPOR pungli di pasar. 1. Nama: Siti Rahayu 2. HP: 0857-1111-2222 3. Alamat: Jl. Mawar 3",
     "LAPOR pungli di pasar. 1. Nama: [anonim] 2. HP: [anonim]. Alamat: [anonim]"),  # "3" read with her number
])
def test_her_details_form_in_a_mail_beside_her_name_loses_her_contacts(text: str, expected: str | None) -> None:
    assert _mail_without_own_identity(text) == (expected or text)


# A name's label joined to a contact's ("Nama/HP:", "Nama & No. WA:", "Nama dan Alamat:") gives her name and her
# contact together: her number replaced alone left her name on its line, and her address below it, in the case store.
# The one reported's stays: an office opening the name, his word after it, a heading or a label of his above.
@pytest.mark.parametrize(("text", "expected"), [
    ("Pungli di kantor desa.\nNama/HP: Siti Rahayu / 0812-3456-7001", "Pungli di kantor desa.\nNama/HP: [anonim]"),
    ("Pungli di kantor desa.\nNama/HP: Siti Rahayu / 0812-3456-7001\nAlamat: Jl. Mawar 3 RT 02",
     "Pungli di kantor desa.\nNama/HP: [anonim]\nAlamat: [anonim]"),
    ("Nama & No. WA: siti rahayu 081234567001\nkades minta pungli", "Nama & No. WA: [anonim]\nkades minta pungli"),
    ("Nama / No HP: Siti Rahayu (Sekdes) / 0812-3456-7001", "Nama / No HP: [anonim]"),
    ("Nama/HP: Siti Rahayu / 0812-3456-7001 / 0857-1111-2222", "Nama/HP: [anonim]"),
    ("Nama dan Alamat: Siti Rahayu, Jl. Mawar 3 RT 02\nHP: 0812-3456-7001", "Nama dan Alamat: [anonim]\nHP: [anonim]"),
    ("Terima kasih\nNama lengkap/WA: Siti Rahayu - 0812 3456 7001", "Terima kasih\nNama lengkap/WA: [anonim]"),
    ("Nama/HP: Kades Hendra / 0812-3456-7001", "Nama/HP: Kades Hendra / [anonim]"),
    ("Nama/HP: Hendra Gunawan (penipu) / 0813-9999-8888\nNama/HP: Siti Rahayu / 0812-3456-7001",
     "Nama/HP: Hendra Gunawan (penipu) / 0813-9999-8888\nNama/HP: [anonim]"),
    ("Penipu:\nNama/HP: Hendra Gunawan / 0813-9999-8888\nHP saya: 0812-3456-7001",
     "Penipu:\nNama/HP: Hendra Gunawan / 0813-9999-8888\nHP saya: [anonim]"),
    ("Nama/HP pelaku: Hendra Gunawan / 0813-9999-8888\nHP saya: 0812-3456-7001",
     "Nama/HP pelaku: Hendra Gunawan / 0813-9999-8888\nHP saya: [anonim]"),
    ("Nama/HP: Hendra Gunawan / 0813-9999-8888", None),  # nothing of hers on it: no one's to tell
    # a joined line of hers below her name's label is a line of her details, not details of their own (her name, NIK
    # and address above it stayed)
    ("Pungli.\nNama: Siti Rahayu\nNama/HP: 0812-3456-7001", "Pungli.\nNama: [anonim]\nNama/HP: [anonim]"),
    ("Pungli.\nNama: Siti Rahayu\nAlamat: Jl. Mawar 3 RT 02\nNama & No. WA: Siti / 0812-3456-7001",
     "Pungli.\nNama: [anonim]\nAlamat: [anonim]\nNama & No. WA: [anonim]"),
    ("Pungli.\nNama: Siti Rahayu\nNIK: 3201234567890001\nNama/HP: Siti / 0812-3456-7001",
     "Pungli.\nNama: [anonim]\n[anonim]\nNama/HP: [anonim]"),
    ("Pungli.\nNama: Siti Rahayu\nNama/WA: siti / 0812-3456-7001\nAlamat: Jl. Mawar 3",
     "Pungli.\nNama: [anonim]\nNama/WA: [anonim]\nAlamat: [anonim]"),
    # his, below a heading of his or hers further on his line alone, or his name the one reported's in her form
    ("Penipu:\nNama/HP: Hendra Gunawan / 0813-9999-8888, menelpon saya di 0812-3456-7001",
     "Penipu:\nNama/HP: Hendra Gunawan / 0813-9999-8888, menelpon saya di [anonim]"),
    ("Nama/HP: Hendra Gunawan / 0813-9999-8888, menelpon saya di 0812-3456-7001",
     "Nama/HP: Hendra Gunawan / 0813-9999-8888, menelpon saya di [anonim]"),
    ("Penipuan.\n\ntks\nNama/HP: Kades Hendra / 0813-9999-8888\nKorban: Siti Rahayu / 0812-3456-7001",
     "Penipuan.\n\ntks\nNama/HP: Kades Hendra / 0813-9999-8888\nKorban: Siti Rahayu / [anonim]"),
    ("Nama: Siti\nHP: 0812-3456-7001\nNama/HP: Budi (penipu) / 0813-9999-8888",
     "Nama: [anonim]\nHP: [anonim]\nNama/HP: Budi (penipu) / 0813-9999-8888"),
    # the contacts' words joined to each other as to the name ("Nama, HP, Alamat:" was no label: her name and address
    # stayed, her number alone replaced)
    ("Pungli.\nNama, HP, Alamat: Siti Rahayu, 0812-3456-7001, Jl. Mawar 3 RT 02",
     "Pungli.\nNama, HP, Alamat: [anonim]"),
    ("Pungli.\nNama, No HP dan Alamat: Siti Rahayu / 0812-3456-7001 / Jl. Mawar 3",
     "Pungli.\nNama, No HP dan Alamat: [anonim]"),
    ("Pungli.\nNama / WA / Alamat: Siti Rahayu / 0812-3456-7001 / Jl. Mawar 3",
     "Pungli.\nNama / WA / Alamat: [anonim]"),
    ("Pungli.\nNama, HP, dan Alamat: Siti Rahayu, 0812-3456-7001, Jl. Mawar 3",
     "Pungli.\nNama, HP, dan Alamat: [anonim]"),
    ("Penipu:\nNama, HP, Alamat: Hendra Gunawan, 0813-9999-8888, Jl. Kenanga 12\nHP saya: 0812-3456-7001",
     "Penipu:\nNama, HP, Alamat: Hendra Gunawan, 0813-9999-8888, Jl. Kenanga 12\nHP saya: [anonim]"),
    ("Nama, HP, Alamat: Kades Hendra, 0813-9999-8888, Jl. Kenanga 12", None),
])
def test_a_name_joined_to_her_contact_under_one_label_goes_with_it(text: str, expected: str | None) -> None:
    assert _sms_without_own_identity(text) == (expected or text)


# The same labels joined by a comma, a dash, a bar or "serta", the contact's in brackets after the name's, and a
# reporter's or an identity's label joined so: read as none, her name and address stayed, her number replaced alone.
JOINED_LABELS = ("Nama, HP:", "Nama - HP:", "Nama (HP):", "Nama|HP:", "Nama serta HP:", "Nama Pelapor/HP:",
                 "Identitas/HP:")
# The one reported's details under such a label: his word in the label itself.
JOINED_LABELS_OF_HIS = ("Nama, HP pelaku:", "Nama - HP pelaku:", "Nama (HP pelaku):", "Nama|HP pelaku:",
                        "Nama serta HP pelaku:", "Identitas/HP pelaku:")


@pytest.mark.parametrize(("text", "expected"), [
    *((f"Pungli di kantor desa.\n{label} Siti Rahayu / 0812-3456-7001\nAlamat: Jl. Mawar 3 RT 02",
       f"Pungli di kantor desa.\n{label} [anonim]\nAlamat: [anonim]") for label in JOINED_LABELS),
    *((f"Pungli.\nNama: Siti Rahayu\n{label} siti / 0812-3456-7001\nAlamat: Jl. Mawar 3",
       f"Pungli.\nNama: [anonim]\n{label} [anonim]\nAlamat: [anonim]") for label in JOINED_LABELS),
    *((f"{label} Hendra Gunawan (penipu) / 0813-9999-8888\n{label} Siti Rahayu / 0812-3456-7001",
       f"{label} Hendra Gunawan (penipu) / 0813-9999-8888\n{label} [anonim]") for label in JOINED_LABELS),
    # the one reported's stays: below a heading of his, an office opening the name, his word in the label
    *((f"Penipu:\n{label} Hendra Gunawan / 0813-9999-8888\nHP saya: 0812-3456-7001",
       f"Penipu:\n{label} Hendra Gunawan / 0813-9999-8888\nHP saya: [anonim]") for label in JOINED_LABELS),
    *((f"{label} Kades Hendra / 0812-3456-7001", f"{label} Kades Hendra / [anonim]") for label in JOINED_LABELS),
    *((f"{label} Kades Hendra / 0813-9999-8888\nHP saya: 0812-3456-7001",
       f"{label} Kades Hendra / 0813-9999-8888\nHP saya: [anonim]") for label in JOINED_LABELS_OF_HIS),
    # no colon right after the contact's words: a sentence, no label
    ("Nama, alamat dan HP saya rahasia, kades minta pungli 500rb", None),
    ("Nama, alamat dan HP saya rahasia: kades minta pungli 500rb. 0812-3456-7001",
     "Nama, alamat dan HP saya rahasia: kades minta pungli 500rb. [anonim]"),
    # any mark between her name and her number on the line: her details below it go too
    *((f"Pungli.\n{label} HP: Siti Rahayu{mark}0812-3456-7001\nAlamat: Jl. Mawar 3 RT 02\nNIK: 3201234567890001",
       f"Pungli.\n{label} HP: [anonim]\nAlamat: [anonim]\n[anonim]")
      for label, mark in (("Identitas \u2013", " \u2014 "), ("Nama \u2013", " \u2013 "), ("Nama,", "; "),
                          ("Nama,", ": "), ("Nama,", ". "), ("Nama|", " \u2013 "), ("Nama/", " \u2013 "))),
])
def test_a_name_joined_to_her_contact_by_a_comma_dash_bar_or_brackets_goes_with_it(text: str,
                                                                                    expected: str | None) -> None:
    assert _sms_without_own_identity(text) == (expected or text)


_IN_A_PROCESS = """
import json, sys
from workers.own_identity import without_own_identity
text, senders = json.load(sys.stdin)
print(json.dumps([without_own_identity({'channel': 'sms' if sender['kind'] == 'msisdn' else 'email', 'anonymous': True,
                                        'sender': sender, 'channel_meta': {}, 'text': text}, ('text',))['text']
                  for sender in senders]))
"""
_WARGA = {"kind": "email", "id": "warga@contoh.net", "display_name": "Warga Peduli"}


def _cleaned_in_a_process_of_its_own(text: str, *senders: dict[str, Any]) -> list[str]:
    """The text an anonymous report of `text` from each of `senders` reaches the case store with, cleaned in a process
    of its own: ended if it does not answer within a minute, a hang fails the test instead of holding the suite."""
    result = subprocess.run([sys.executable, "-c", _IN_A_PROCESS], input=json.dumps([text, senders]), cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


@pytest.mark.timeout(120)  # a guard against a hang only
def test_a_joined_label_that_never_ends_in_a_colon_is_read_once() -> None:
    """Each space between a joined label's words could be read two ways (an optional space on each side of an optional
    slash): "Nama/hp hp hp ... x" took 2^n steps, 36 s for an SMS of 80 characters; so with the other marks, words
    and brackets joining them ("Nama, hp, hp, ... x", "Nama (hp hp ... x", "Nama serta hp hp ... x")."""
    text = ("Pungli, HP saya 0812-3456-7001.\nNama/" + "hp " * 60 + "x\nNama / " + "No. " * 60 + "x\nNama, "
            + "hp, " * 25 + "x\nNama, " + "hp " * 60 + "x\nNama (" + "hp " * 60 + "x\nNama serta " + "hp " * 60
            + "x\nIdentitas - " + "No. " * 60 + "x")
    [cleaned] = _cleaned_in_a_process_of_its_own(text, SMS_SENDER)
    assert cleaned.startswith("Pungli, HP saya [anonim].")


@pytest.mark.timeout(120)  # a guard against a hang only
def test_a_long_run_of_spaces_is_looked_through_for_a_form_once() -> None:
    """A name's label was looked for with a search from each space of a run of them, reading the rest of the run each
    time: 8,000 spaces held a worker 9 s, 200,000 (a mail's text may be megabytes) hours."""
    text = "HP saya 0812-3456-7001, kades minta pungli" + " " * 200_000 + "x\n" + "\t" * 200_000 + "x"
    cleaned = _cleaned_in_a_process_of_its_own(text, SMS_SENDER, _WARGA)
    assert [each[:42] for each in cleaned] == ["HP saya [anonim], kades minta pungli" + " " * 6] * 2


@pytest.mark.timeout(120)  # a guard against a hang only
def test_a_long_run_of_spaces_after_her_name_is_read_once() -> None:
    """The spaces after a mail's sender's name were read on either side of an optional line break before an address
    beside it: a run of them took time quadratic in it (100,000: 45 s; 200,000: three minutes)."""
    text = "Pungli. Nama: Budi Santoso" + " " * 200_000 + "HP: 0857-1111-2222"
    [cleaned] = _cleaned_in_a_process_of_its_own(text, MAIL_SENDER)
    assert cleaned.startswith("Pungli. Nama: [anonim]") and "Budi" not in cleaned


def test_a_contact_labelled_his_after_her_two_numbers_keeps_her_sign_off_as_before() -> None:
    """Someone else's label after a bar keeps the sign-off (`_bracketed_theirs`): a pattern of the same name defined
    again for the name's label read the label's words there, and her name and number went."""
    text = "Saya ditipu. Terima kasih, Siti 0813 2468 1357 / 0821 7777 1212 | penipu"
    assert _sms_without_own_identity(text) == text


def test_her_numbers_beside_her_replaced_name_under_a_name_label_go() -> None:
    """A post's sign-off whose name was her display name's, replaced first: her numbers were read as words from inside
    the bracket of `[anonim]`, and stayed."""
    text = ("@lapor1708 Kades potong BLT.\nSalam\nNama: Siti Rahayu, HP 0857-1234-5678\nWA 0857 1234 5678\n"
            "NIK: 3201234567890123\nPenipu: Budi 0813-2222-3333")
    envelope = {"tracking_id": "10000004", "channel": "twitter", "channel_message_id": "1", "anonymous": True,
                "sender": {"kind": "x_user", "id": "1790000000000000042", "display_name": "Siti Rahayu"},
                "channel_meta": {}, "text": text, "attachments": []}
    assert own_identity.without_own_identity(envelope, ("text",))["text"] == \
        "@lapor1708 Kades potong BLT.\nSalam\nNama: [anonim], HP [anonim]\nWA [anonim]\nNIK: [anonim]\n" \
        "Penipu: Budi 0813-2222-3333"

@pytest.mark.parametrize("text", [
    "Jalan rusak\nTerima kasih\nSiti Rahayu, 12/03/2024\n0812-3456-7001",
    "Jalan rusak\nTerima kasih\nSiti Rahayu\n0812-3456-7890 / 0857-2468-1357\n12/03/2024",
    "Jalan rusak\nTerima kasih\nSiti Rahayu\n0812-3456-7890 / 0857-2468-1357\n2024",
    # a number wrapped at a space by a mail client is one number: its last digits stayed on their line
    "Jalan rusak\nTerima kasih\nSiti Rahayu\n0857 2468\n1357",
])
def test_a_date_or_a_year_beside_her_sign_off_leaves_it_no_name(text: str) -> None:
    """A date's or a year's figures are no words of another sign-off: her name and numbers stayed."""
    cleaned = _sms_without_own_identity(text)
    assert all(part not in cleaned for part in ("Siti", "Rahayu", "7001", "7890", "1357")), cleaned


# A date in words below or after her sign-off is no word of another one: her name and number went nowhere but to the
# case store ("Senin, 12 Maret 2024" read as words kept the whole sign-off). The date stays, the day's figure too.
@pytest.mark.parametrize(("text", "date"), [
    ("Saya ditipu. Hormat saya,\nSiti Rahayu 0857-2468-1357\nSenin, 12 Maret 2024", "\nSenin, 12 Maret 2024"),
    ("Saya ditipu. Hormat saya,\nSiti Rahayu 0857-2468-1357\nBandung, 12 Maret 2024.", "\nBandung, 12 Maret 2024."),
    ("Saya ditipu. Hormat saya,\nSiti Rahayu 0857-2468-1357\nBandung, 12 Maret 2024;", "\nBandung, 12 Maret 2024;"),
    ("Saya ditipu. Tks, Siti Rahayu 0857-2468-1357 Jakarta, 12 Maret 2024", " Jakarta, 12 Maret 2024"),
    # a date between her name and her number is read into neither (her number's last digits stayed)
    ("Saya ditipu. Terima kasih, Siti Rahayu\n12/03/2024\n0857-2468-1357", "\n12/03/2024\n[anonim]"),
    # figures that could be no date are her number's ("(0274) 55.12.34", "0857 24-68-1357"): they went as a date
    ("Saya ditipu. Terima kasih, Siti Rahayu\n(0274) 55.12.34\nJakarta, 12 Maret 2024", "\nJakarta, 12 Maret 2024"),
    ("Saya ditipu. Terima kasih, Siti Rahayu\n0857 24-68-1357\nJakarta, 12 Maret 2024", "\nJakarta, 12 Maret 2024"),
    # a day's figures opening the line below her number are the date's, not her number's last (they went with it),
    # with a year or without (without, the month left alone was a word of another sign-off: her name and number stayed)
    ("Saya ditipu. Hormat saya,\nSiti Rahayu 0857-2468-1357\n12 Maret 2024", "\n12 Maret 2024"),
    ("Saya ditipu. Hormat saya,\nSiti Rahayu 085724681357\n12 Maret", "\n12 Maret"),
    ("Saya ditipu. Terima kasih\nSiti Rahayu\n0857 2468 1357\n12 Mar", "\n12 Mar"),
    ("Saya ditipu. Terima kasih, Siti Rahayu 0857-2468-1357\nSenin, 12 Maret", "\nSenin, 12 Maret"),
    # and on her number's line: a day before a month's name is never her number's last group, as figures may be
    ("Saya ditipu. Terima kasih, Siti Rahayu 0857-2468-1357 12 Maret", " 12 Maret"),
    ("Saya ditipu. Terima kasih\nSiti Rahayu 085724681357 1 Mei", " 1 Mei"),
    ("Jalan rusak\nTerima kasih\nSiti Rahayu\n0857-2468-1357\nJakarta, 12 Maret 2024", "\nJakarta, 12 Maret 2024"),
    ("Jalan rusak. Terima kasih, Siti Rahayu 0857-2468-1357, Jum'at 1 Mei 2025", ", Jum'at 1 Mei 2025"),
    ("Jalan rusak. Thank you, Siti Rahayu 0857-2468-1357\nMarch 12, 2024", "\nMarch 12, 2024"),
    ("Jalan rusak. Terima kasih\nSiti Rahayu\nMaret 2024", "\nMaret 2024"),
    # a place before a date in figures, below her number: the date's figures were read as a number of hers first
    ("Jalan rusak. Salam\nSiti Rahayu, 0857 2468 1357\nBandung, 12-03-2024", "\nBandung, 12-03-2024"),
])
def test_a_date_in_words_after_her_sign_off_leaves_it_no_name(text: str, date: str) -> None:
    cleaned = _sms_without_own_identity(text)
    assert all(part not in cleaned for part in ("Siti", "Rahayu", "2468", "1357")), cleaned
    assert cleaned.endswith(date), cleaned


# A date's day stays the date's only after a whole number: after a group of one or two digits it may be her number's
# last ("... 13 57 Maret 2024": "57" stayed, and "2468 13 57, Maret 2024" was her whole landline), and below an area
# code alone the figures are the rest of her number ("021\n31.12.2024").
@pytest.mark.parametrize(("text", "expected"), [
    ("Saya ditipu. Terima kasih, Siti Rahayu 0857 2468 13 57 Maret 2024",
     "Saya ditipu. Terima kasih, [anonim] [anonim] Maret 2024"),
    ("Saya ditipu. Terima kasih, Siti Rahayu telp 2468 13 57, Maret 2024",
     "Saya ditipu. Terima kasih, [anonim] telp [anonim], Maret 2024"),
    ("Saya ditipu. Terima kasih, Siti Rahayu (0274) 24 68 13 Maret 2024",
     "Saya ditipu. Terima kasih, [anonim] [anonim] Maret 2024"),
    ("Saya ditipu. Hormat saya\nSiti Rahayu\n021\n31.12.2024", "Saya ditipu. Hormat saya\n[anonim]\n[anonim]"),
    ("Saya ditipu. Terima kasih, Siti Rahayu 0857 2468 13\n57 Maret 2024",
     "Saya ditipu. Terima kasih, [anonim] [anonim] Maret 2024"),
])
def test_a_day_after_her_number_in_pairs_goes_with_her_number(text: str, expected: str) -> None:
    assert _sms_without_own_identity(text) == expected


# The scammer's evidence stays where the readings above could have taken it for hers: a contact after his on his
# line or the next (from another phone, no number of hers the gateway knows), a plea in his words pasted, a number in
# his words that words after give as "mine", a date after a line naming him. Her sign-off still goes where it is one.
@pytest.mark.parametrize(("text", "expected"), [
    ("Lapor penipuan. Terima kasih, Siti 0857-2468-1357\nNo penipu: 0813-1112-2233\n0821-9876-5432",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nNo penipu: 0813-1112-2233\n0821-9876-5432"),
    ("Lapor penipuan. Terima kasih, Siti 0857-2468-1357\nPelaku 0813-1112-2233 rek 1234567890",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nPelaku 0813-1112-2233 rek 1234567890"),
    ("Lapor penipuan. Terima kasih, Siti 0857-2468-1357\nPenipu 0813-1112-2233\nkantor 021-5551234",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nPenipu 0813-1112-2233\nkantor 021-5551234"),
    ("Lapor penipuan. Terima kasih, Siti 0857-2468-1357\nPenipu Budi 0813-1112-2233 Senin 12 Maret 2024",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nPenipu Budi 0813-1112-2233 Senin 12 Maret 2024"),
    # his label with his name, before a date alone or before his number; a label alone with a date below a name
    ("Lapor penipuan. Terima kasih, Siti 0857-2468-1357\nPelaku Budi, 12/03/2024",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nPelaku Budi, 12/03/2024"),
    ("Lapor penipuan. Terima kasih, Siti 0812-3456-7001\nKades Hendra 0813-1112-2233",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nKades Hendra 0813-1112-2233"),
    ("Lapor penipuan. Terima kasih, Siti 0812-3456-7001\nPenipu (12.03.2024)",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nPenipu (12.03.2024)"),
    ("Lapor penipuan. Terima kasih, Siti\nPenipu, 12/03/2024",
     "Lapor penipuan. Terima kasih, [anonim]\nPenipu, 12/03/2024"),
    ("Lapor penipuan. Terima kasih, Siti 0857-2468-1357\nPak Kades, 12/03/2024",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nPak Kades, 12/03/2024"),
    ("Lapor penipuan. Terima kasih, Siti 0812-3456-7001\nPenipu, 12 Maret 2024, nomornya 0813-1112-2233",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nPenipu, 12 Maret 2024, nomornya 0813-1112-2233"),
    # his number listed after hers, labelled after it, a date ending the line: his, the label after it read as his
    ("Lapor penipuan. Terima kasih,\nSiti Rahayu 085724681357 / 0813-1112-2233 (penipu) 12 Maret 2024",
     "Lapor penipuan. Terima kasih,\n[anonim] [anonim] / 0813-1112-2233 (penipu) 12 Maret 2024"),
    ("Lapor penipuan. Tks, Siti Rahayu 0812-3456-7001 / 0813-1112-2233 (penipu) 12/03/2024",
     "Lapor penipuan. Tks, [anonim] [anonim] / 0813-1112-2233 (penipu) 12/03/2024"),
    ("Lapor penipuan. Tks, Siti Rahayu 0812-3456-7001 / 0813-1112-2233 (penipu) (12.03.2024)",
     "Lapor penipuan. Tks, [anonim] [anonim] / 0813-1112-2233 (penipu) (12.03.2024)"),
    ("Lapor penipuan. Terima kasih, Siti 0812-3456-7001, penipu (12.03.2024)",
     "Lapor penipuan. Terima kasih, [anonim] [anonim], penipu (12.03.2024)"),
    ("Lapor penipuan. Terima kasih, Siti 081234567002 / 0813-1112-2233 WA penipu 12.03.24",
     "Lapor penipuan. Terima kasih, [anonim] [anonim] / 0813-1112-2233 WA penipu 12.03.24"),
    ("Lapor penipuan. Tks, Siti Rahayu 085724681357 / 0813-1112-2233 (WA penipu) 12/03/2024",
     "Lapor penipuan. Tks, [anonim] [anonim] / 0813-1112-2233 (WA penipu) 12/03/2024"),
    # a label of her own after her second number, a post in it or not, is no one else's
    ("Nama saya Siti Rahayu, HP 0857-2468-1357 / 0812-3456-7002 (saya pegawai). Saya ditipu.",
     "Nama saya [anonim], HP [anonim] / [anonim] (saya pegawai). Saya ditipu."),
    ("Nama saya Siti Rahayu, HP 0857-2468-1357 / 0812-3456-7002 (WA petugas). Saya ditipu.",
     "Nama saya [anonim], HP [anonim] / [anonim] (WA petugas). Saya ditipu."),
    ("Lapor penipuan. Terima kasih, Siti Rahayu 0857-2468-1357 / 0812-3456-7002 (WA kantor, saya pegawai)",
     "Lapor penipuan. Terima kasih, [anonim] [anonim] / [anonim] (WA kantor, saya pegawai)"),
    ("Lapor penipuan. Terima kasih, Siti Rahayu 0857-2468-1357\nPenipu Budi, Maret 2024\n0813-1112-2233",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nPenipu Budi, Maret 2024\n0813-1112-2233"),
    ("Penipu sms Selamat anda menang undian, transfer biaya admin ke rek BRI 1234567890, bisa hubungi saya di "
     "0813-1112-2233", None),
    ("Pesan penipu td pagi Selamat anda menang undian, ambil hadiah di 0821-5555-0123, mohon hubungi saya di "
     "0813-1112-2233", None),
    ("Penipu sms minta transfer pulsa ke 0813-1112-2233 nomor saya.", None),
    ("Penipu ngaku polisi, suruh hubungi 0813-1112-2233 (nomor saya)", None),
    # her number wrapped, its last digits opening the next line before a capitalized word, goes whole
    ("Hubungi saya di 0812 3456 78\n90 Terima kasih", "Hubungi saya di [anonim] Terima kasih"),
    # his label opening a line before a comma and a date is no place of the date's
    ("Lapor penipuan. Terima kasih, Siti 0857-2468-1357\nPenipu, 12 Maret 2024, 0813-1112-2233",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nPenipu, 12 Maret 2024, 0813-1112-2233"),
    # a plea's contact told as his after it
    ("Penipu pakai 0813-1112-2233, bisa hubungi saya di 0821-9876-5432 katanya", None),
    # a bare number after her description, the words after it accusing it
    ("Saya Siti Rahayu warga RT 03 RW 07, 0813-1112-2233 menipu saya. Mohon dibantu.",
     "Saya [anonim] warga RT 03 RW 07, 0813-1112-2233 menipu saya. Mohon dibantu."),
    ("Saya Siti Rahayu warga RT 03 RW 07, 0857-2468-1357. Mohon dibantu.",
     "Saya [anonim] warga RT 03 RW 07, [anonim]. Mohon dibantu."),
    ("Saya Siti Rahayu warga RT 03, 0857-2468-1357 ingin melaporkan penipuan",
     "Saya [anonim] warga RT 03, [anonim] ingin melaporkan penipuan"),
    ("Saya Siti Rahayu warga RT 03, 0813-1112-2233 terus meneror saya",
     "Saya [anonim] warga RT 03, 0813-1112-2233 terus meneror saya"),
    # his label read past a date before his number, her known number above: hers go, his stays
    ("Lapor penipuan. Terima kasih, Siti Rahayu 0812-3456-7001\nPenipu, 12/03/2024, 0813-1112-2233",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nPenipu, 12/03/2024, 0813-1112-2233"),
    ("Lapor penipuan. Terima kasih, Siti Rahayu 0857-2468-1357\nPenipu, 12 Maret 2024 0813-1112-2233",
     "Lapor penipuan. Terima kasih, [anonim] [anonim]\nPenipu, 12 Maret 2024 0813-1112-2233"),
    # a word of attribution further on after a plea's contact is her own sentence's
    ("Nomor penipu 0813-1112-2233, mohon hubungi saya di 0857-2468-1357 begitu ada kabar",
     "Nomor penipu 0813-1112-2233, mohon hubungi saya di [anonim] begitu ada kabar"),
])
def test_the_scammers_evidence_stays_beside_her_sign_off_and_contact(text: str, expected: str | None) -> None:
    assert _sms_without_own_identity(text) == (text if expected is None else expected)


# Thanks as an SMS shortens them, and "salam hormat" whole, open a sign-off as the words in full do (each kept her name
# and number: "hormat" was read as her name's first word). Lowercase words after thanks stay, a contact after them or
# not: they may be the thanks' own, or name who the scammer is ("makasih, yg nelpon 0813...", "trims, rek bca ...").
@pytest.mark.parametrize(("text", "expected"), [
    ("Jalan rusak. Tks, Rina Wati 0896-1234-0246", "Jalan rusak. Tks, [anonim] [anonim]"),
    ("Jalan rusak.\nSalam hormat - Rina Wati - 0812 9988 7766", "Jalan rusak.\nSalam hormat - [anonim] - [anonim]"),
    ("Jalan rusak. Salam hormat, Dewi Lestari", "Jalan rusak. Salam hormat, [anonim]"),
    ("Jalan rusak. terima kasih atas perhatiannya", None),
    ("Jalan rusak. terima kasih atas perhatiannya\nno penipu 0813-1112-2233", None),
    ("Ada penipuan undian. makasih, yg nelpon 0813-5555-6666", None),
    ("Ada penipuan undian. trims, rek bca 1234567890", None),
])
def test_her_sign_off_after_shortened_thanks_goes(text: str, expected: str | None) -> None:
    assert _sms_without_own_identity(text) == (text if expected is None else expected)


# Her number whose last groups could be a date is her number: read with its groups blanked as a date, it stayed.
@pytest.mark.parametrize(("text", "expected"), [
    ("Jalan rusak. Terima kasih, Siti 021 31.12.2024", "Jalan rusak. Terima kasih, [anonim] [anonim]"),
    ("Jalan rusak. Salam,\nSiti\nHP 0274 12-03-24", "Jalan rusak. Salam,\n[anonim]\nHP [anonim]"),
    ("Jalan rusak. Terima kasih,\nSiti Rahayu\n021 31.12.2024\nRumah 0274-555123",
     "Jalan rusak. Terima kasih,\n[anonim]\n[anonim]\nRumah [anonim]"),
])
def test_her_number_shaped_like_a_date_goes_with_her_sign_off(text: str, expected: str) -> None:
    assert _sms_without_own_identity(text) == expected


# Someone else's contact labelled so after her signed name and number, on its line or the next, is no word of
# another sign-off: hers go, theirs stays (from another phone, "..., penipu 0821..." kept her name and number).
@pytest.mark.parametrize("text", [
    "Kades potong BLT. Terima kasih, Siti 0857-2468-1357, penipu 0821-9876-5432",
    "Kades potong BLT. Terima kasih\nSiti Rahayu 0857-2468-1357\nNo penipu: 0821-9876-5432",
    "Kades potong BLT. Terima kasih\nSiti Rahayu\n0857-2468-1357\nnomor pelaku 0821-9876-5432 sudah diblokir",
])
def test_someone_elses_contact_after_her_sign_off_stays_and_hers_go(text: str) -> None:
    cleaned = _sms_without_own_identity(text)
    assert all(part not in cleaned for part in ("Siti", "Rahayu", "2468", "1357")), cleaned
    assert "0821-9876-5432" in cleaned, cleaned


@pytest.mark.parametrize("text", [
    "Lapor pungli. WA saya 0857 2468\n0135 0813-1111-2222 nomor pelaku",
    "Yth,\n\nmohon hubungi saya di 0857 2468\n0135 0813 1111 2222 adalah nomor pak lurah.",
])
def test_her_number_wrapped_before_another_on_the_next_line_leaves_none_of_it(text: str) -> None:
    """Her number's last digits on the next line, someone else's number after them, were read as a number of their
    own: her number ended at the line break, and its last digits stayed."""
    cleaned = _sms_without_own_identity(text)
    assert "2468" not in cleaned and "0135" not in cleaned, cleaned


def test_a_short_number_listed_before_hers_leaves_none_of_them() -> None:
    """Eight digits with no trunk's 0 before her numbers are read with the next as before: split off, they were
    taken for a Tracking ID, which ended the list, and every number of it stayed."""
    cleaned = _sms_without_own_identity("telp saya 55512347 / 0812-3456-7890 / 0857-2468-1357")
    assert all(part not in cleaned for part in ("5551", "3456", "7890", "2468", "1357")), cleaned


# A number listed after someone else's but labelled hers after it is hers ("... / 0813... (WA saya)").
def test_a_number_listed_after_theirs_labelled_hers_goes() -> None:
    text = "Saya ditipu\nTerima kasih\nSiti Rahayu\n081234567001\nNo penipu 0857-2222-3333, 0813-4444-5555 (WA saya)"
    assert _sms_without_own_identity(text) == (
        "Saya ditipu\nTerima kasih\n[anonim]\n[anonim]\nNo penipu 0857-2222-3333, [anonim] (WA saya)")


@pytest.mark.parametrize(("text", "expected"), [
    ("Pelapor: Siti Rahayu Sekdes Sukamaju mohon warga iuran 50rb dihapus",
     "Pelapor: [anonim] mohon warga iuran 50rb dihapus"),
    ("Pelapor: Siti Rahayu Sekdes Sukamaju mohon semua warga bayar sesuai tarif resmi",
     "Pelapor: [anonim] mohon semua warga bayar sesuai tarif resmi"),
    ("Pelapor: Siti Rahayu Bendahara Desa mohon warga kumpul uang 100rb dikembalikan",
     "Pelapor: [anonim] mohon warga kumpul uang 100rb dikembalikan"),
    ("Pelapor: Siti Rahayu Sekdes Sukamaju mohon biaya KTP 50rb digratiskan",
     "Pelapor: [anonim] mohon biaya KTP 50rb digratiskan"),
    ("Pelapor: Siti Rahayu Sekdes Sukamaju mohon warga tidak bayar pungutan liar",
     "Pelapor: [anonim] mohon warga tidak bayar pungutan liar"),
    ("Pelapor: Siti Rahayu Sekdes Sukamaju mohon warga iuran 50rb untuk pos ronda dihapus",
     "Pelapor: [anonim] mohon warga iuran 50rb untuk pos ronda dihapus"),
    ("Pelapor: Siti Rahayu Sekdes Sukamaju mohon warga iuran 50rb per bulan, dan 20rb, segera dihentikan",
     "Pelapor: [anonim] mohon warga iuran 50rb per bulan, dan 20rb, segera dihentikan"),
    # the accused's demand, its clause ending before a plea of hers, or with a negation or "resmi" of his
    ("Pelapor: Siti Rahayu Kades Hendra mohon warga bayar 100rb. Mohon dihapus pak",
     "Pelapor: [anonim] Kades Hendra mohon warga bayar 100rb. Mohon dihapus pak"),
    ("Pelapor: Siti Rahayu Kades Hendra mohon warga bayar 100rb tidak boleh telat",
     "Pelapor: [anonim] Kades Hendra mohon warga bayar 100rb tidak boleh telat"),
    ("Pelapor: Siti Rahayu Kades Hendra mohon warga bayar 100rb tanpa kwitansi resmi",
     "Pelapor: [anonim] Kades Hendra mohon warga bayar 100rb tanpa kwitansi resmi"),
])
def test_her_post_pleading_a_payment_undone_goes(text: str, expected: str) -> None:
    """A payment asked undone or held to what is due after her post is her plea: it stayed, read as the accused's
    demand."""
    assert _sms_without_own_identity(text) == expected


@pytest.mark.parametrize("text", [
    "Pelapor: Siti Rahayu Kades Hendra mohon warga bayar 100rb, kalau tidak BLT dihentikan",
    "Pelapor: Siti Rahayu Kades Hendra mohon warga bayar 50rb utk KTP padahal gratis",
    "Pelapor: Siti Rahayu Kades Hendra mohon warga setor 100rb, seharusnya gratis",
    "Pelapor: Siti Rahayu Kades Hendra mohon warga transfer 2jt agar uang jaminan dikembalikan",
    "Pelapor: Siti Rahayu Kades Hendra mohon warga kumpul 100rb dan uang tidak dikembalikan",
    "Pelapor: Siti Rahayu Lurah Hendra mohon warga bayar 300rb supaya dibebaskan dari pajak",
])
def test_the_accuseds_demand_with_an_undoing_word_in_another_clause_keeps_him(text: str) -> None:
    """An undoing word in a clause his demand carries on to (a threat, the fact that it is free, a negation) is no plea
    of hers: he went with her name."""
    label, said = text.split(": ", 1)
    assert _sms_without_own_identity(text) == f"{label}: [anonim] {said.split(' ', 2)[2]}"  # her two names only


# Collecting an amount is a payment asked for, "Rp" or digits right after it: the accused stays.
@pytest.mark.parametrize("text", [
    "Pelapor: Siti Rahayu Kades Hendra mohon warga kumpul Rp 100.000",
    "Pelapor: Siti Rahayu Kades Hendra mohon warga kumpulkan 200 ribu"])
def test_the_accused_collecting_an_amount_stays(text: str) -> None:
    assert _sms_without_own_identity(text) == text.replace("Siti Rahayu", OWN_IDENTITY)


# Her plea for the authorities to act between a pasted message and the thanks ends the message: the sign-off below is
# hers. A scam's own asking there is no such plea: its writer's sign-off stays.
@pytest.mark.parametrize(("text", "expected"), [
    ("Saya forward sms penipu ke LAPOR\nAnda menang 100jt hub 0813-1112-2233\n\nMohon ditindak pak\nTerima kasih\n"
     "Siti Rahayu",
     "Saya forward sms penipu ke LAPOR\nAnda menang 100jt hub 0813-1112-2233\n\nMohon ditindak pak\nTerima kasih\n"
     "[anonim]"),
    ("Penipu kirim sms:\nAnda menang 100jt\nMohon segera diusut\nTerima kasih\nSiti Rahayu",
     "Penipu kirim sms:\nAnda menang 100jt\nMohon segera diusut\nTerima kasih\n[anonim]"),
    ("Penipu kirim sms:\nAnda menang 100jt\nTolong ditindak ya pak. Terima kasih, Siti Rahayu",
     "Penipu kirim sms:\nAnda menang 100jt\nTolong ditindak ya pak. Terima kasih, [anonim]"),
    ("penipu kirim sms\nMama ini papa, tolong bantu isi pulsa 100rb\nMohon segera transfer\nTerima kasih\nJoko Susilo\n"
     "0813-1112-2233", None),
])
def test_her_plea_after_a_pasted_message_makes_the_sign_off_hers(text: str, expected: str | None) -> None:
    assert _sms_without_own_identity(text) == (text if expected is None else expected)


def test_her_handle_labelled_hers_after_theirs_goes_with_her_sign_off() -> None:
    """Handles are contacts, not the sign-off's words, as numbers are: counted, her name and her handle stayed."""
    text = ("Saya ditipu olshop\nTerima kasih\nSiti Rahayu\n081234567001\n"
            "IG penipu @olshop_murah88 / @sitirahayu88 (IG saya)")
    assert _sms_without_own_identity(text) == ("Saya ditipu olshop\nTerima kasih\n[anonim]\n[anonim]\n"
                                                "IG penipu @olshop_murah88 / [anonim] (IG saya)")


# What the line of a number labelled as someone else's says of it is no word of another sign-off: her name goes. A
# bracket after a number listed after theirs makes it hers only as a label of hers.
@pytest.mark.parametrize(("text", "expected"), [
    ("Saya ditipu 5jt\nTerima kasih\nSiti Rahayu\n081234567001\nNo penipu: 0857-2222-3333 sudah diblokir",
     "Saya ditipu 5jt\nTerima kasih\n[anonim]\n[anonim]\nNo penipu: 0857-2222-3333 sudah diblokir"),
    ("Saya ditipu 5jt\nTerima kasih\nSiti Rahayu\n081234567001\nNo penipu: 0857-2222-3333 (yg sms saya)",
     "Saya ditipu 5jt\nTerima kasih\n[anonim]\n[anonim]\nNo penipu: 0857-2222-3333 (yg sms saya)"),
    ("Saya ditipu 5jt\nTerima kasih\nSiti Rahayu\n081234567001\nNo penipu: 0857-2222-3333, 0813-4444-5555 (yg sms "
     "saya)",
     "Saya ditipu 5jt\nTerima kasih\n[anonim]\n[anonim]\nNo penipu: 0857-2222-3333, 0813-4444-5555 (yg sms saya)"),
    ("Saya ditipu 5jt\nTerima kasih\nSiti Rahayu\n081234567001\nNo penipu: 0857-2222-3333, 0813-4444-5555 (nomor "
     "saya yg lain)",
     "Saya ditipu 5jt\nTerima kasih\n[anonim]\n[anonim]\nNo penipu: 0857-2222-3333, [anonim] (nomor saya yg lain)"),
])
def test_the_line_of_a_number_of_theirs_keeps_no_name_of_hers(text: str, expected: str) -> None:
    assert _sms_without_own_identity(text) == expected


# A contact after hers labelled as an office holder's or someone else's, his name or a form of address in the label,
# stays: it went as hers. Her own contact before it goes.
@pytest.mark.parametrize("label", ["milik Kades Hendra", "nomor kades Hendra", "milik pak kades", "itu nomor si pelaku",
                                   "punya Pak Camat Budi"])
def test_a_contact_after_hers_labelled_as_an_office_holders_stays(label: str) -> None:
    text = f"Kades minta 2jt. WA saya 0857-2222-3333, 0813-4444-5555 {label}"
    assert _sms_without_own_identity(text) == text.replace("0857-2222-3333", OWN_IDENTITY)


@pytest.mark.parametrize(("text", "expected"), [
    ("Kades minta 2jt. WA saya 0857-2222-3333, 0813-4444-5555 Kades Hendra sudah kabur",
     "Kades minta 2jt. WA saya [anonim], [anonim] Kades Hendra sudah kabur"),
    ("Kades minta 2jt. WA saya 0857-2222-3333 IG @sitirahayu88 pelaku Hendra belum ditangkap polisi",
     "Kades minta 2jt. WA saya [anonim] IG [anonim] pelaku Hendra belum ditangkap polisi")])
def test_a_sentence_naming_the_accused_after_her_contacts_is_no_label_of_them(text: str, expected: str) -> None:
    assert _sms_without_own_identity(text) == expected
