"""A report's text is cut at `intake.max_text_chars` in one place, the normalizer, for every channel: a mail's body
may run to `email.max_message_bytes` (20 MB), and whole it sat in Redis and was refused by the case store for good
(`casestore_413`), a report answered 250 that no agency ever saw. The keywords are read in the whole text first: an
`ANONIM` closing a long mail still makes it anonymous.

The cut itself is a table of boundaries (emoji, combining marks, flags); the pipeline's order a table of channels and
where the flag stands; and a real mail over SMTP, a Twilio webhook and an X mention show each channel's path passes
the setting on.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from redis import Redis

from gateway.intake import Intake
from gateway.queues import FORWARD_QUEUE
from gateway.replies import load_replies
from gateway.settings import Settings
from normalizer.envelope import Channel, SenderKind, utc_now
from normalizer.inbound import InboundMessage
from normalizer.pipeline import cut_marker, cut_to_limit, normalize
from normalizer.text import cut_text
from tests.aggregator_support import drain
from tests.conftest import CaseStoreServer, TestEnvironment, free_port, log_events, serving_gateway
from tests.email_support import RECIPIENT, SmtpServerThread, stored_envelope
from tests.social_helpers import FakeProviderServer


# -- the cut, at its boundaries -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CutRow:
    id: str
    text: str
    limit: int
    kept: str


CUT_ROWS = [
    CutRow("fits: whole", "abc", 3, "abc"),
    CutRow("plain letters: at the limit", "abcdef", 4, "abcd"),
    # An astral emoji is one code point (two UTF-16 units): kept or dropped whole, never half of its pair.
    CutRow("emoji before the cut: whole", "ab\U0001F600cd", 3, "ab\U0001F600"),
    CutRow("emoji at the cut: dropped whole", "ab\U0001F600cd", 2, "ab"),
    # "q" has no precomposed form with an acute: NFC leaves the mark apart, and the letter goes with it.
    CutRow("combining mark after the cut: its letter goes too", "abq\u0301d", 3, "ab"),
    CutRow("two combining marks, the cut between them", "abq\u0301\u0323d", 4, "ab"),
    CutRow("combining marks all before the cut: kept", "abq\u0301\u0323d", 5, "abq\u0301\u0323"),
    CutRow("precomposed letter (NFC): one code point", "ab\u00e9d", 3, "ab\u00e9"),
    CutRow("Javanese vowel sign (Mc) stays with its letter", "ab\ua98f\ua9b4", 3, "ab"),
    CutRow("emoji and its skin tone go together", "ab\U0001F44D\U0001F3FDc", 3, "ab"),
    CutRow("emoji and its skin tone before the cut: kept", "ab\U0001F44D\U0001F3FDc", 4, "ab\U0001F44D\U0001F3FD"),
    CutRow("emoji and its presentation selector", "ab\u2764\ufe0fc", 3, "ab"),
    CutRow("keycap: digit, selector, enclosing mark", "ab1\ufe0f\u20e3c", 4, "ab"),
    CutRow("flag (two regional indicators): not split", "ab\U0001F1EE\U0001F1E9c", 3, "ab"),
    CutRow("flag before the cut: kept", "ab\U0001F1EE\U0001F1E9c", 4, "ab\U0001F1EE\U0001F1E9"),
    CutRow("second of two flags split: the first kept", "a\U0001F1EE\U0001F1E9\U0001F1EF\U0001F1F5b", 4,
           "a\U0001F1EE\U0001F1E9"),
    # A run of marks longer than any character a reader sees: the cut steps back no further than 32.
    CutRow("endless combining marks: cut at the code point", "a" + "\u0301" * 100, 50, "a" + "\u0301" * 49),
]


@pytest.mark.parametrize("row", CUT_ROWS, ids=[row.id for row in CUT_ROWS])
def test_the_cut_keeps_each_character_whole(row: CutRow) -> None:
    kept = cut_text(row.text, row.limit)
    assert kept == row.kept
    assert len(kept) <= row.limit
    kept.encode("utf-8")  # no lone surrogate: the envelope's JSON takes it


def test_a_cut_text_and_its_marker_fit_the_limit() -> None:
    """The marker counts towards the limit: a case store whose text field holds `max_text_chars` takes every report.
    The space before the cut goes; the marker says, in both languages, how long the text was."""
    text = "kata " * 600  # 3,000 characters, a space at every fifth
    cut, truncated = cut_to_limit(text, 1000)
    marker = cut_marker(3000)
    assert truncated and len(cut) <= 1000
    assert cut.endswith(marker) and not cut.removesuffix(marker).endswith(" ")
    assert text.startswith(cut.removesuffix(marker))
    table = load_replies()["report_text_cut"]
    assert marker == (f"\n\n[{table['id'].format(length='3.000')} / {table['en'].format(length='3,000')}]")
    assert cut_to_limit(text[:1000], 1000) == (text[:1000], False)
    assert cut_to_limit(text, None) == (text, False)


@pytest.mark.parametrize(
    ("before", "after", "kept"),
    [
        pytest.param("Hubungi saya di 0812 34", "56 7001. Terima kasih.", "Hubungi saya di", id="inside-a-number"),
        pytest.param("Hubungi saya di 0812 ", "3456 7001. Terima kasih.", "Hubungi saya di",
                     id="between-a-numbers-groups"),
        pytest.param("Hubungi saya di +62 (812) 3456-", "7001 ya.", "Hubungi saya di", id="inside-a-written-number"),
        pytest.param("Alamat saya budi.san", "toso@desa.id ya.", "Alamat saya", id="inside-an-address"),
        pytest.param("Lihat x.com/budi_ra", "hasia/status/1", "Lihat", id="inside-a-link"),
        pytest.param("Jalan rusak parah", "nya sudah lama.", "Jalan rusak", id="inside-a-word"),
        pytest.param("Sudah 150 orang ", "mengeluh.", "Sudah 150 orang", id="a-number-before-a-word-stays"),
        pytest.param("Sudah 150", " orang mengeluh.", "Sudah 150", id="a-whole-number-stays"),
    ],
)
def test_a_cut_leaves_out_the_piece_of_a_number_or_word_it_runs_through(before: str, after: str, kept: str) -> None:
    """Whole, an anonymous sender's own number or address in the text is taken out by identity removal
    (workers/own_identity.py); a piece of one left by the cut it cannot know, and the piece reached the agency."""
    text = filler(1200) + " " + before + after + " " + filler(1200)
    limit = len(filler(1200) + " " + before) + len(cut_marker(len(text)))  # the cut falls between before and after
    cut, truncated = cut_to_limit(text, limit)
    assert truncated
    assert cut.removesuffix(cut_marker(len(text))).endswith(" " + kept)


# -- the pipeline: keywords read in the whole text, then the cut ----------------------------------------------------
LONG = 150_000


def filler(length: int) -> str:
    """`length` characters of a citizen's prose in lines, no keyword among them and nothing `clean_text` changes."""
    line = "Petugas kelurahan meminta uang tambahan untuk surat pengantar.\n"
    return (line * (length // len(line) + 1))[:length - 1] + "."


def inbound(channel: Channel, text: str, *, subject: str | None = None, quoted: str | None = None) -> InboundMessage:
    kind, address = {Channel.SMS: (SenderKind.MSISDN, "+6281234567890"),
                     Channel.TWITTER: (SenderKind.X_USER, "1234567"),
                     Channel.EMAIL: (SenderKind.EMAIL, "warga@example.net")}[channel]
    return InboundMessage(channel=channel, source=f"{channel.value}-test", provider_message_id="m-1",
                          sender_kind=kind, sender_address=address, text=text, received_at=utc_now(),
                          subject=subject, quoted_text=quoted)


@dataclass(frozen=True)
class PipelineRow:
    id: str
    message: InboundMessage
    anonymous: bool
    truncated: bool


PIPELINE_ROWS = [
    PipelineRow("mail: ANONIM closing a long body", inbound(Channel.EMAIL, filler(LONG) + "\nANONIM",
                                                           subject="Pungli"), True, True),
    PipelineRow("mail: #anonim far past the cut", inbound(Channel.EMAIL, filler(LONG) + " #anonim", subject="Pungli"),
                True, True),
    PipelineRow("mail: long, no flag", inbound(Channel.EMAIL, filler(LONG), subject="Pungli"), False, True),
    PipelineRow("sms: ..., ANONIM closing a long text", inbound(Channel.SMS, filler(LONG) + ", ANONIM"), True, True),
    PipelineRow("x: the quoted post makes it long; the mention's own #anonim counts",
                inbound(Channel.TWITTER, "tolong ditindak #anonim", quoted=filler(LONG)), True, True),
    PipelineRow("mail: at the limit exactly, whole", inbound(Channel.EMAIL, filler(100_000 - 7) + "\nANONIM",
                                                             subject="Pungli"), True, False),
]


@pytest.mark.parametrize("row", PIPELINE_ROWS, ids=[row.id for row in PIPELINE_ROWS])
def test_keywords_are_read_in_the_whole_text_before_it_is_cut(row: PipelineRow) -> None:
    draft = normalize(row.message, max_text_chars=100_000).draft
    assert draft is not None
    assert (draft.anonymous, draft.text_truncated) == (row.anonymous, row.truncated)
    assert len(draft.text) <= 100_000
    whole = normalize(row.message).draft
    assert whole is not None and not whole.text_truncated
    if row.truncated:
        marker = cut_marker(len(whole.text))
        assert draft.text.endswith(marker) and whole.text.startswith(draft.text.removesuffix(marker))
        assert len(draft.text) > 99_000
    else:
        assert draft.text == whole.text


def test_without_a_limit_nothing_is_cut() -> None:
    draft = normalize(inbound(Channel.EMAIL, filler(LONG), subject="Pungli")).draft
    assert draft is not None and (len(draft.text), draft.text_truncated) == (len(filler(LONG)), False)


def test_the_cut_is_logged_with_lengths_and_never_the_text(log_stream: io.StringIO) -> None:
    body = filler(LONG) + "\nRahasiaKataUnik"
    normalize(inbound(Channel.EMAIL, body, subject="Pungli"), max_text_chars=100_000)
    [line] = [event for event in log_events(log_stream) if event["event"] == "message.text_truncated"]
    assert (line["length"], line["limit"], line["channel"]) == (len(body), 100_000, "email-test")
    assert isinstance(line["kept"], int) and line["kept"] <= 100_000
    assert "Petugas" not in log_stream.getvalue() and "RahasiaKataUnik" not in log_stream.getvalue()


# -- each channel's path passes the setting on ------------------------------------------------------------------------
def test_a_long_anonymous_mail_over_smtp_reaches_the_case_store_cut_flagged_and_anonymous(
        test_env: TestEnvironment, redis: Redis, casestore: CaseStoreServer, log_stream: io.StringIO) -> None:
    """150,000 characters closing with ANONIM, through the real SMTP server, the forward worker and the reference
    case store: the report arrives (whole, its body would be kept in Redis and sent to any case store as it is), its
    text cut with the marker, flagged, and anonymous."""
    body = filler(LONG - len("\nANONIM")) + "\nANONIM"
    assert len(body) == LONG
    raw = (f"From: Warga <warga@example.net>\r\nTo: {RECIPIENT}\r\nSubject: Pungli di kelurahan\r\n"
           "Message-ID: <long-1@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           + body.replace("\n", "\r\n") + "\r\n").encode()
    settings = test_env.settings(LAPOR_SMTP_PORT=str(free_port()))
    server = SmtpServerThread(settings, redis).start()
    try:
        result = server.deliver(raw, mail_from="warga@example.net")
    finally:
        server.stop()  # its intake hands the report to the forward queue
    assert result.data_code == 250 and result.tracking_id is not None
    envelope = stored_envelope(redis, result.tracking_id)
    assert envelope is not None and len(envelope["text"]) <= 100_000  # Redis holds the cut text, not 150,000
    drain(settings, (FORWARD_QUEUE,))
    [report] = casestore.reports()
    assert report["tracking_id"] == result.tracking_id
    assert (report["text_truncated"], report["anonymous"]) == (True, True)
    assert report["sender"]["kind"] == "reply_handle"  # type: ignore[index]
    text = str(report["text"])
    assert len(text) <= 100_000 and text.startswith(body[:5000]) and text.endswith(cut_marker(LONG))
    [line] = [event for event in log_events(log_stream) if event["event"] == "message.text_truncated"]
    assert (line["length"], line["limit"], line["channel"], line["source"]) == (LONG, 100_000, "email", "email-smtp")


async def via_twilio(settings: Settings, redis: Redis, _: FakeProviderServer, text: str) -> dict[str, Any]:
    async with serving_gateway(settings, redis) as gateway:
        response = await gateway.post_twilio(gateway.twilio_form(Body=text))
    assert response.status_code == 200
    [key] = redis.scan_iter("lapor:envelope:*")
    return dict(orjson.loads(redis.get(key)))  # type: ignore[arg-type]


async def via_x(settings: Settings, redis: Redis, fake: FakeProviderServer, text: str) -> dict[str, Any]:
    from channels.x_mentions import XMentionsPoller

    fake.state.add_tweet(f"@lapor1708 {text}")
    intake = Intake(redis, settings)
    try:
        XMentionsPoller(settings, redis, intake).poll_once()
    finally:
        intake.close()
    [key] = redis.scan_iter("lapor:envelope:*")
    return dict(orjson.loads(redis.get(key)))  # type: ignore[arg-type]


Send = Callable[[Settings, Redis, FakeProviderServer, str], Coroutine[Any, Any, dict[str, Any]]]


@pytest.mark.parametrize("send", [via_twilio, via_x], ids=["sms-twilio", "x-mentions"])
async def test_every_channels_path_cuts_at_the_setting(send: Send, test_env: TestEnvironment, redis: Redis,
                                                       fake: FakeProviderServer) -> None:
    """The webhook handler and the mention intake normalize with the setting too (a low one here: an SMS is at
    most 1,600 characters): the text cut, flagged, and its closing ANONIM read."""
    settings = test_env.settings(LAPOR_INTAKE_MAX_TEXT_CHARS="1000", **fake.env())
    text = filler(1400) + ", ANONIM"
    envelope = await send(settings, redis, fake, text)
    assert (envelope["text_truncated"], envelope["anonymous"]) == (True, True)
    assert len(envelope["text"]) <= 1000 and envelope["text"].endswith(cut_marker(len(filler(1400))))
