"""@lapor1708 mentions on X: tweepy's real Client over real HTTP against the local fake provider, real Redis."""

from __future__ import annotations

import calendar
import io
import logging
import secrets
import socket
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header, unescape
from prometheus_client import REGISTRY
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from channels.fake_provider import X_ID_START
from channels.pollers import run_poller
from channels.registry import polled_reply_target
from channels.social import ProviderError, ProviderErrorKind
from channels.x_mentions import (
    CREDENTIAL_LOGGERS,
    XMentionsPoller,
    XReplyClient,
    build_client,
    classify,
    looked_back,
    snowflake_ms,
    strip_leading_mentions,
    tweet_time,
    x_progress,
)
from gateway.followups import remember_reply
from gateway.health.monitor import HealthMonitor
from gateway.health.rules import load_rules
from gateway.health.signals import NOTED_WRITE_SECONDS, SIGNALS_KEY, endpoint
from gateway.intake import Intake, Receipt, dedup_key
from gateway.lease import process_table
from gateway.queries import LOOKUP_SECONDS
from gateway.queues import REPLY_QUEUE, enqueue_calls, queue
from gateway.replies import load_replies
from gateway.settings import Settings
from gateway.tracking import SEQUENCE_KEY, TrackingIdAllocator, format_tracking_id
from normalizer.envelope import Channel, ReportDraft, SenderKind
from normalizer.grammar import Action
from normalizer.inbound import InboundMessage
from normalizer.keywords import parse_text
from normalizer.text import clean_text
from tests.conftest import TestEnvironment, free_port, log_events
from tests.job_support import SecondJobInFirstSend
from tests.social_helpers import (
    X_TOKEN,
    X_USER_ID,
    X_USER_KEYS,
    FakeProviderServer,
    fixture,
    on_a_restarted_fake_provider,
    run_reply_jobs,
)
from tests.test_envelope_schema import sample_envelope
from tests.upgrade_support import previous_module
from workers import social_reply
from workers.context import WorkerContext
from workers.deadletters import DeadLetters
from workers.report_payload import case_store_payload
from workers.send_lease import SendInProgress, send_lease_key

NOW = 1_900_000_000.0
VALID_ID = format_tracking_id(1_000_123)
MISTYPED_ID = VALID_ID[:-1] + str((int(VALID_ID[-1]) + 1) % 10)


def fixed_clock() -> float:
    return NOW


@pytest.fixture
def settings(test_env: TestEnvironment, fake: FakeProviderServer) -> Settings:
    return test_env.settings(**fake.env())


@pytest.fixture
def intake(redis: Redis, settings: Settings) -> Iterator[Intake]:
    intake = Intake(redis, settings)
    yield intake
    intake.close()


def make_poller(settings: Settings, redis: Redis, intake: Intake,
                clock: Callable[[], float] = fixed_clock) -> XMentionsPoller:
    return XMentionsPoller(settings, redis, intake, clock=clock)


def when_posted() -> float:
    """A clock a few seconds after the fake provider's tweets were posted (their ids' time): the look-back window
    (`x.since_lookback_seconds`) is read again only while the newest mention read is that recent."""
    return snowflake_ms(X_ID_START) / 1000 + 5


def envelopes(redis: Redis) -> list[dict[str, Any]]:
    return [orjson.loads(redis.get(key)) for key in redis.scan_iter("lapor:envelope:*")]


def reports_by_tweet(redis: Redis) -> dict[str, dict[str, Any]]:
    found = envelopes(redis)
    by_id = {e["channel_message_id"]: e for e in found}
    assert len(by_id) == len(found), "a tweet became more than one report"
    return by_id


def reply_jobs(redis: Redis) -> list[tuple[Any, ...]]:
    return [tuple(job.args) for job in queue(REPLY_QUEUE, redis).jobs]


# -- parsing a real page -----------------------------------------------------------------------------------------
def test_a_real_mentions_page_becomes_reports_without_own_tweets_and_retweets(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    fake.fail("/x/2/users", 200, body=fixture("x/mentions_page.json"))
    make_poller(settings, redis, intake).poll_once()

    reports = reports_by_tweet(redis)
    assert sorted(reports) == ["1860000000000000101", "1860000000000000404"]
    anonymous = reports["1860000000000000101"]
    assert anonymous["anonymous"] is True
    assert anonymous["text"].startswith("jalan berlubang di Jl. Soekarno-Hatta km 5")
    assert anonymous["channel"] == "twitter" and anonymous["source"] == "x-mentions"
    assert anonymous["sender"] == {"kind": "x_user", "id": "1447000000000000001", "display_name": "Siti Rahma"}
    assert [(a["content_type"], a["location"]) for a in anonymous["attachments"]] == [
        ("image/jpeg", "https://pbs.twimg.com/media/GdQx1aXbYAA8kq2.jpg"),
        # A video's still: the address holds a JPEG (the forward worker checks the type it fetches against this).
        ("image/jpeg", "https://pbs.twimg.com/ext_tw_video_thumb/1860000000000000102/pu/img/Xy.jpg"),
    ]
    reply = reports["1860000000000000404"]
    assert reply["text"] == "lampu jalan mati di Jl. Dago sejak minggu lalu"
    assert reply["kind"] == "complaint"
    assert reply["channel_meta"]["tweet_id"] == "1860000000000000404"
    assert x_progress(redis, X_USER_ID).load() == {"since_id": "1860000000000000404"}
    assert sorted(args[1]["tweet_id"] for args in reply_jobs(redis)) == sorted(reports)


def test_a_mentions_text_is_what_the_citizen_wrote_whole_unescaped_and_without_the_link_to_their_own_post(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """X escapes & < > as HTML entities, cuts a long post's `text` short (the whole of it is `note_tweet.text`), and
    shows links as t.co: the report holds the text as typed, the links' own addresses, and not the t.co link of the
    post's own photo, which leads to the sender's handle (`x.com/<handle>/status/<id>/photo/1`)."""
    fake.fail("/x/2/users", 200, body=fixture("x/mentions_page_text.json"))
    make_poller(settings, redis, intake).poll_once()
    asked = next(r for r in fake.state.requests if r["path"].endswith("/mentions"))
    assert {"entities", "note_tweet"} <= set(asked["query"]["tweet.fields"].split(","))

    reports = reports_by_tweet(redis)
    anonymous = reports["1860000000000000707"]
    assert anonymous["anonymous"] is True
    assert anonymous["text"] == "pungli di loket Samsat Cibinong: bayar Rp 150rb & tanpa kuitansi"
    assert [a["location"] for a in anonymous["attachments"]] == ["https://pbs.twimg.com/media/GdTq9xAbYAAk1m3.jpg"]
    long_post = reports["1860000000000000808"]["text"]
    assert long_post.startswith("Saya melaporkan pelayanan RSUD Cibinong.")
    assert "kontrol jantung & baru dilayani" in long_post
    assert long_post.endswith("banyak pasien lansia yang pingsan menunggu. Berita serupa: "
                              "https://www.detik.com/jabar/berita/d-7650001/antrean-rsud-cibinong")
    assert reports["1860000000000000909"]["text"] == \
        "harga beras > HET di Pasar Anyar Bogor, Rp 16.500/kg https://www.instagram.com/p/DBx1yz2AbCd/"
    assert not any("t.co/" in report["text"] or "&amp;" in report["text"] or "&gt;" in report["text"]
                   for report in reports.values())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("@lapor1708 jalan rusak", "jalan rusak", id="one-leading"),
        pytest.param("@pemkot_bdg @lapor1708: LAPOR jalan rusak", "LAPOR jalan rusak", id="several-leading"),
        pytest.param("Jalan rusak, tolong @lapor1708", "Jalan rusak, tolong @lapor1708", id="inside-stays"),
        pytest.param("@lapor1708", "", id="only-mention"),
        # a "dot mention", X's habit of a dot before the handle so that followers see the post
        pytest.param(".@lapor1708 ANONIM pungli di loket samsat", "ANONIM pungli di loket samsat", id="dot-mention"),
        pytest.param(". @lapor1708 @pemkot_bdg CEK 10000004", "CEK 10000004", id="dot-space-mention"),
        pytest.param("... jalan rusak @lapor1708", "... jalan rusak @lapor1708", id="dots-before-words-stay"),
        pytest.param("jalan rusak. @lapor1708", "jalan rusak. @lapor1708", id="inside-after-a-dot-stays"),
        # invisible marks a keyboard or a paste puts before or between the handles: the right-to-left mark, the
        # directional isolates, the byte order mark, a zero-width space
        pytest.param("\u200f@lapor1708 jalan rusak", "jalan rusak", id="rtl-mark-before"),
        pytest.param("\u2067@lapor1708\u2069 jalan rusak", "jalan rusak", id="isolate-around"),
        pytest.param("\ufeff@lapor1708 @pemkot_bdg\u200b jalan rusak", "jalan rusak", id="bom-and-zero-width"),
        pytest.param("\ufff9@lapor1708\ufffb jalan rusak", "jalan rusak", id="interlinear-annotation-marks"),
        pytest.param("\u200b jalan rusak @lapor1708", "\u200b jalan rusak @lapor1708",
                     id="zero-width-before-words-stays"),
        # X takes the fullwidth at sign (a Chinese or Japanese keyboard's) for a mention as it takes "@"
        pytest.param("\uff20lapor1708 jalan rusak", "jalan rusak", id="fullwidth-at"),
        pytest.param("@lapor1708 \uff20pemkot_bdg jalan rusak", "jalan rusak", id="fullwidth-at-second"),
    ],
)
def test_leading_mentions_are_stripped(text: str, expected: str) -> None:
    assert strip_leading_mentions(text) == expected


def test_every_invisible_mark_the_normalizer_removes_is_a_gap_before_the_leading_handles() -> None:
    """The leading handles are read before the normalizer cleans the text, so every invisible format character
    `clean_text` removes must be a space to them: the interlinear annotation marks (U+FFF9-FFFB) were left out of
    that set, and `\\ufff9@lapor1708 jalan rusak` kept the handle at the head of the report."""
    removed = [char for char in map(chr, range(0xA0, 0x10000))
               if unicodedata.category(char) == "Cf" and clean_text(f"a{char}b") == "ab"]
    assert {"\u200f", "\ufeff", "\ufff9", "\ufffb"} <= set(removed)
    kept = [f"U+{ord(char):04X}" for char in removed
            if strip_leading_mentions(f"{char}@lapor1708{char} @pemkot_bdg jalan rusak") != "jalan rusak"]
    assert kept == []


def test_a_mention_led_by_an_invisible_mark_or_a_fullwidth_at_is_filed_without_the_handle(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """A right-to-left mark, an isolate or a byte order mark before `@lapor1708` (an Arabic-script keyboard, a
    paste), or X's fullwidth `＠`: the handles were left at the head of the report, `@lapor1708 @dishub_kotabdg lampu
    ...` sent to the case store as the citizen's words."""
    fake.fail("/x/2/users", 200, body=fixture("x/mentions_page_invisible_marks.json"))
    make_poller(settings, redis, intake).poll_once()
    texts = {tweet_id: report["text"] for tweet_id, report in reports_by_tweet(redis).items()}
    assert texts == {
        "1860000000000001101": "saluran air tersumbat & banjir di Jl. Sukajadi",
        "1860000000000001102": "sampah menumpuk di pasar Kosambi",
        "1860000000000001103": "lampu lalu lintas mati di simpang Dago",
        "1860000000000001104": "\u0627\u0644\u0637\u0631\u064a\u0642 \u0645\u0643\u0633\u0648\u0631 jalan rusak di "
                               "Kampung Arab Pekojan",
    }


@pytest.mark.parametrize("own_handle", [None, "lapor1708"], ids=["x", "instagram"])
def test_leading_spaces_cost_time_linear_in_the_text(own_handle: str | None) -> None:
    """The dot before a leading handle read as `\\s*\\.?\\s*`: a text of 50,000 spaces took seconds (quadratic)."""
    text = " " * 50_000 + "jalan rusak"
    started = time.perf_counter()
    assert strip_leading_mentions(text, own_handle) == "jalan rusak"
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("text", "anonymous", "reply_key"),
    [
        pytest.param(".@lapor1708 ANONIM pungli di loket samsat", True, "social_ack", id="dot-mention-anonim"),
        pytest.param(f".@lapor1708 CEK {VALID_ID}", None, "social_status", id="dot-mention-status"),
    ],
)
def test_a_dot_mention_is_read_as_a_mention(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, text: str, anonymous: bool | None,
    reply_key: str,
) -> None:
    """`.@lapor1708 ANONIM ...` was a named report of "@lapor1708 ANONIM ..." (the whistleblower's account sent to the
    case store), `.@lapor1708 CEK <id>` a new report."""
    redis.set(SEQUENCE_KEY, 2_000_000)  # VALID_ID was minted
    fake.state.add_tweet(text, username="budi_s", name="Budi Santoso")
    make_poller(settings, redis, intake).poll_once()
    found = envelopes(redis)
    if anonymous is None:
        assert found == []
    else:
        (report,) = found
        assert report["anonymous"] is True and report["text"] == "pungli di loket samsat"
    assert [job[2] for job in reply_jobs(redis)] == [reply_key]


# The marks people put between the handles and their words: each left at the head of the text kept ANONIM from being
# read, and the whistleblower's report went named (their account sent to the case store).
SEPARATORS_AFTER_HANDLES = ["!", "\uff01", "\u203c", "\u00a1", ";", "\uff1b", "\uff1a", "?", "\uff1f", "\uff5c",
                            "\uff0c", "\u2212", "\uff1e\uff1e", "\u2014",
                            "\u2013", "\u2015", "|", "\u00a6", ">", ">>", "\u00bb", "\u203a", "->", "=>", "\u2192",
                            "\u21d2", "\u27a1\ufe0f", "\u25b6", "\u25ba", "\u2022", "\u00b7", "~", "\u3002", "\u2026",
                            "/", "&", "="]


# Marks that point at what follows: a handle after one is whom the report is about, and stays.
POINTING_MARKS = [">", ">>", "\u00bb", "\u203a", "->", "=>", "\u2192", "\u21d2", "\u27a1\ufe0f", "\u25b6", "\u25ba",
                  "~", "="]


@pytest.mark.parametrize("separator", SEPARATORS_AFTER_HANDLES)
@pytest.mark.parametrize("form", ["@lapor1708{sep} ANONIM {words}", "@lapor1708 {sep} ANONIM {words}",
                                  "@lapor1708 {sep} @pemkot_bdg ANONIM {words}", "\uff20lapor1708{sep}ANONIM {words}"],
                         ids=["glued", "spaced", "between-handles", "fullwidth-at-glued"])
def test_a_mark_between_the_handles_and_anonim_leaves_the_report_anonymous(form: str, separator: str) -> None:
    text = strip_leading_mentions(form.format(sep=separator, words="pungli di loket samsat"))
    assert text == "ANONIM pungli di loket samsat"
    assert parse_text(text).anonymous is True


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("@lapor1708 -> (ANONIM) kades minta setoran", "(ANONIM) kades minta setoran", id="a-bracketed-flag"),
    pytest.param("@lapor1708 \u2192 @pemkot CEK 12345671", "CEK 12345671", id="a-status-command"),
    pytest.param("@lapor1708 >> @pemkot TAMBAHAN 12345671 ada foto baru", "TAMBAHAN 12345671 ada foto baru",
                 id="an-addition"),
    pytest.param("@lapor1708 >> @pemkot WBS kades minta setoran", "WBS kades minta setoran", id="a-kind-word"),
    # a flag the grammar takes off after a separator: read without the handle as before, though an anonymity word
    # glued to a mark is read with the handle too
    pytest.param("@lapor1708 >> @pemkot ANONIM/ kades minta setoran", "ANONIM/ kades minta setoran",
                 id="a-flag-before-a-separator"),
    # a pipe sets the anonymity word apart as a clause of its own, as a colon does ("ANONIM: kades ...")
    pytest.param("@lapor1708 >> @pemkot ANONIM|kades minta setoran", "ANONIM|kades minta setoran",
                 id="a-flag-before-a-pipe"),
    # the pipeline reads the text cleaned: the invisible space gone, the tag glued to the handle
    pytest.param("@lapor1708 \u2192 @pemkot\u200b#anonim kades minta setoran", "#anonim kades minta setoran",
                 id="a-tag-an-invisible-space-apart"),
])
def test_what_reads_otherwise_without_a_handle_after_a_pointing_mark_is_read_past_it(text: str, expected: str) -> None:
    """Left in, each was read as a named new report: the status query filed and answered in public, the addition
    named beside an anonymous report, the whistleblowing a complaint."""
    assert strip_leading_mentions(text) == expected


def test_an_anonymity_word_glued_to_a_mark_after_a_handle_after_a_pointing_mark_is_read_the_handle_kept() -> None:
    """"ANONIM)" reads no differently without the handle, which stays as it did; the report is anonymous."""
    text = strip_leading_mentions("@lapor1708 >> @pemkot ANONIM)kades minta setoran")
    assert text == "@pemkot ANONIM)kades minta setoran"
    assert parse_text(text).anonymous is True


@pytest.mark.parametrize("separator", POINTING_MARKS)
@pytest.mark.parametrize("words", ["minta setoran 500rb #anonim", "minta setoran 500rb"])
def test_a_handle_after_a_pointing_mark_is_whom_the_report_is_about_and_stays(separator: str, words: str) -> None:
    """Read past with the mark, "@lapor1708 → @kades_sukamaju minta setoran" reached the agency as "minta setoran".
    Read past it still where a flag after it is read only so (the test above: "@lapor1708 >> @pemkot_bdg ANONIM")."""
    text = strip_leading_mentions(f"@lapor1708 {separator} @kades_sukamaju {words}")
    assert text == f"@kades_sukamaju {words}"


@pytest.mark.parametrize("separator", ["!", "\u2014", "|", ">>", "\uff1a"])
def test_a_mark_after_our_bare_handle_on_instagram_leaves_the_report_anonymous(separator: str) -> None:
    """The Graph API gives a caption's or comment's handle without its `@`: `lapor1708! ANONIM ...` alike."""
    text = strip_leading_mentions(f"lapor1708{separator} ANONIM pungli di loket samsat", "lapor1708")
    assert text == "ANONIM pungli di loket samsat" and parse_text(text).anonymous is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("@lapor1708 +62 812 3456 7890 menagih pungli", "+62 812 3456 7890 menagih pungli",
                     id="a-numbers-plus-stays"),
        pytest.param("@lapor1708 #anonim pungli", "#anonim pungli", id="a-hashtag-stays"),
        pytest.param('@lapor1708 "ANONIM" pungli', '"ANONIM" pungli', id="quotes-stay"),
        pytest.param("@lapor1708 [ANONIM] pungli", "[ANONIM] pungli", id="brackets-stay"),
        pytest.param("@lapor1708 *ANONIM* pungli", "*ANONIM* pungli", id="a-bold-mark-stays"),
        pytest.param("@lapor1708 ...jalan rusak", "...jalan rusak", id="dots-before-words-stay"),
        # a mark that says something of the number after it stays
        pytest.param("@lapor1708 >5 orang pingsan", ">5 orang pingsan", id="more-than-a-number"),
        pytest.param("@lapor1708 ~3 km jalan ambles", "~3 km jalan ambles", id="about-a-number"),
        pytest.param("@lapor1708 = 3 jam antri", "= 3 jam antri", id="equals-a-number"),
        pytest.param("@lapor1708 =))", "=))", id="an-emoticon"),
        pytest.param("@lapor1708 ... ANONIM pungli", "ANONIM pungli", id="spaced-dots-go"),
        # a handle has no two dots running: the rest is the citizen's ("jangan" of "jangan sebut nama saya" was lost
        # with the handle, and the report went named)
        pytest.param("@lapor1708 \u2212 @pemkot...jangan sebut nama saya, kades minta setoran",
                     "...jangan sebut nama saya, kades minta setoran", id="dots-after-a-handle"),
        pytest.param("@lapor1708. ANONIM pungli", "ANONIM pungli", id="a-sentences-dot"),
        pytest.param("@lapor1708., @budi_s ANONIM pungli", "ANONIM pungli", id="a-dot-before-a-mark"),
        pytest.param("jalan rusak! @lapor1708", "jalan rusak! @lapor1708", id="inside-stays"),
    ],
)
def test_marks_that_are_the_citizens_words_stay_after_the_handles(text: str, expected: str) -> None:
    assert strip_leading_mentions(text) == expected


def test_a_whistleblowers_mention_with_a_dash_after_the_handle_reaches_the_case_store_without_their_account(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """`@lapor1708 \u2014 ANONIM ...` (a dash an iPhone makes of "--"): the dash stayed at the head of the text, ANONIM
    was not read, and the report went named, the whistleblower's user id and name sent to the case store."""
    tweet = fake.state.add_tweet("@lapor1708 \u2014 ANONIM kepala seksi minta setoran proyek", username="siti_rahasia",
                                 name="Siti Rahasia")
    make_poller(settings, redis, intake).poll_once()
    (report,) = envelopes(redis)
    assert report["anonymous"] is True and report["text"] == "kepala seksi minta setoran proyek"
    payload = orjson.dumps(case_store_payload(report, settings)).decode()
    assert tweet["author_id"] not in payload and "siti_rahasia" not in payload and "Siti Rahasia" not in payload


@pytest.mark.parametrize(
    ("mention", "report_fields"),
    [
        pytest.param({"text": "@lapor1708 ASPIRASI taman kota perlu lampu"}, {"kind": "aspiration"}, id="aspirasi"),
        pytest.param({"text": "@lapor1708 WBS #rahasia pungli di dinas"},
                     {"kind": "whistleblowing", "confidential": True}, id="wbs-rahasia"),
        pytest.param({"text": "@lapor1708 #anonim sampah menumpuk"}, {"anonymous": True}, id="anonim"),
        pytest.param({"text": "@lapor1708 INFO jadwal posyandu"}, {"kind": "information_request"}, id="info"),
        pytest.param({"text": f"@lapor1708 {VALID_ID} lubangnya makin besar"}, {"follow_up_of": VALID_ID},
                     id="follow-up"),
        pytest.param({"text": "@lapor1708 500000 diminta petugas kelurahan"},
                     {"text": "500000 diminta petugas kelurahan", "follow_up_of": None}, id="leading-amount"),
        pytest.param({"text": "@lapor1708 terima kasih, tapi lampu masih mati"},
                     {"text": "terima kasih, tapi lampu masih mati", "follow_up_of": None}, id="thanks-and-more"),
        pytest.param({"text": f"@lapor1708 {VALID_ID} terima kasih"},
                     {"text": "terima kasih", "follow_up_of": VALID_ID}, id="follow-up-thanks"),
        # help's label before the ID ("Tambahan: <nomor lacak> <isi>"): the follow-up "<id> <isi>" is
        pytest.param({"text": f"@lapor1708 Tambahan: {VALID_ID} lubangnya makin besar"},
                     {"text": "lubangnya makin besar", "follow_up_of": VALID_ID}, id="follow-up-labelled"),
        pytest.param({"text": f"@lapor1708 ANONIM Tambahan: {VALID_ID} saya saksi"},
                     {"text": "saya saksi", "follow_up_of": VALID_ID, "anonymous": True},
                     id="follow-up-labelled-anonim"),
        pytest.param({"text": f"@lapor1708 Addition: {VALID_ID} the hole is bigger"},
                     {"text": "the hole is bigger", "follow_up_of": VALID_ID, "language": "en"},
                     id="follow-up-labelled-en"),
        pytest.param({"text": "@lapor1708 Tambahan biaya 50000 diminta petugas"},
                     {"text": "Tambahan biaya 50000 diminta petugas", "follow_up_of": None, "anonymous": False},
                     id="label-word-in-prose"),
    ],
)
def test_the_sms_keyword_grammar_applies_to_mentions(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, mention: dict[str, str],
    report_fields: dict[str, Any],
) -> None:
    redis.set(SEQUENCE_KEY, 2_000_000)  # VALID_ID was minted: a follow-up to it is one
    fake.state.add_tweet(mention["text"])
    make_poller(settings, redis, intake).poll_once()
    (report,) = envelopes(redis)
    for name, value in report_fields.items():
        assert report[name] == value


@pytest.mark.parametrize(
    ("text", "reply_key", "tracking_id", "typed", "said"),
    [
        pytest.param(f"@lapor1708 CEK {VALID_ID}", "social_status", VALID_ID, None, VALID_ID, id="status"),
        # "not valid, check the number", the number as typed (public in the mention already), as the SMS answer says:
        # the help text ("Sebut @lapor1708 dengan isi laporan Anda ...") read as if the mention was not understood
        pytest.param(f"@lapor1708 CEK {MISTYPED_ID}", "social_bad_tracking_id", None, MISTYPED_ID,
                     f"Nomor lacak {MISTYPED_ID} tidak valid. Periksa kembali nomornya", id="mistyped-id"),
        pytest.param(f"@lapor1708 {MISTYPED_ID}", "social_bad_tracking_id", None, MISTYPED_ID,
                     f"Nomor lacak {MISTYPED_ID} tidak valid.", id="mistyped-id-alone"),
        pytest.param("@lapor1708 check 12345", "social_bad_tracking_id", None, "12345",
                     "Tracking ID 12345 is not valid.", id="too-short-en"),
        pytest.param("@lapor1708 CEK 123456789012345678", "social_bad_tracking_id", None, "123456789012345678",
                     "Nomor lacak 12345678901234… tidak valid.", id="too-long-shown-cut"),
        pytest.param("@lapor1708 bantuan", "social_help", None, None, "https://www.lapor.go.id", id="help"),
        # "of" between the status word and the ID, as English asks it: it was filed as a new report, its
        # acknowledgement a new Tracking ID in answer to a question about the old one
        pytest.param(f"@lapor1708 status of my report {VALID_ID}?", "social_status", VALID_ID, None,
                     f"The status of report {VALID_ID}", id="status-of-my-report-en"),
        pytest.param(f"@lapor1708 status of {VALID_ID}", "social_status", VALID_ID, None,
                     f"The status of report {VALID_ID}", id="status-of-en"),
    ],
)
def test_queries_by_mention_are_answered_not_reported(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, text: str, reply_key: str,
    tracking_id: str | None, typed: str | None, said: str,
) -> None:
    tweet = fake.state.add_tweet(text)
    make_poller(settings, redis, intake).poll_once()
    assert envelopes(redis) == []
    language = "en" if "check" in text or "status of" in text else "id"
    assert reply_jobs(redis) == [("twitter", {"tweet_id": tweet["id"]}, reply_key, tracking_id, language,
                                  *([typed] if typed else []))]
    run_reply_jobs(settings)
    (reply,) = fake.state.x_replies
    assert said in reply["text"]


@pytest.mark.parametrize("language", ["id", "en"])
def test_our_public_not_valid_answer_copied_into_a_mention_is_that_answer_again(settings: Settings,
                                                                                language: str) -> None:
    """Our public "not valid" answer sent back in a new mention is read as ours (no report of our words): the number
    it repeats is no ID, so it is that answer again, as our SMS "not valid" answer sent back is."""
    for typed in (MISTYPED_ID, "12345"):
        text = "@lapor1708 " + social_reply.reply_text(settings, "social_bad_tracking_id", None, language,
                                                       "1860000000000000101", typed)
        parsed = parse_text(text)
        assert (parsed.action, parsed.tracking_id) == (Action.BAD_TRACKING_ID, typed)


@pytest.mark.parametrize(
    ("kwargs", "reported"),
    [
        pytest.param({"own": True}, False, id="own-tweet"),
        pytest.param({"retweet": True}, False, id="retweet"),
        pytest.param({}, True, id="ordinary-mention"),
    ],
)
def test_own_tweets_and_retweets_are_ignored(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, kwargs: dict[str, bool],
    reported: bool,
) -> None:
    tweet = fake.state.add_tweet("@lapor1708 jembatan ambrol di desa kami", **kwargs)
    make_poller(settings, redis, intake).poll_once()
    assert (tweet["id"] in reports_by_tweet(redis)) is reported
    assert len(reply_jobs(redis)) == int(reported)


@pytest.mark.parametrize(
    ("tweet_id", "left_out"),
    [
        # Tagging officials: our reply goes to the citizen, not to @pemkot_bdg and @dishub_bdg again
        pytest.param("1860000000000000912", ["1447000000000000041", "1447000000000000042"], id="tags-officials"),
        # A whistleblower's #anonim answer under the official's own post: the official is not told its Tracking ID
        pytest.param("1860000000000000911", ["1447000000000000031"], id="anonymous-answer-to-the-accused"),
        pytest.param("1860000000000000910", None, id="names-us-alone"),
    ],
)
def test_a_reply_is_addressed_to_the_mentions_author_alone(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, tweet_id: str,
    left_out: list[str] | None,
) -> None:
    """X API v2 replies "to all": the reply's prefix names every account the answered post names (its reply prefix
    and its tags) unless `reply.exclude_reply_user_ids` leaves them out. Every reply with a Tracking ID reached each
    official a citizen tagged, and the one a whistleblower's #anonim answer accused. They are left out (the author
    cannot be, and is not asked to be); the case store does not get their ids."""
    fake.fail("/x/2/users", 200, body=fixture("x/mentions_page_naming_others.json"))
    make_poller(settings, redis, intake).poll_once()
    run_reply_jobs(settings)
    replies = {reply["in_reply_to_tweet_id"]: reply for reply in fake.state.x_replies}
    assert set(replies) == {"1860000000000000910", "1860000000000000911", "1860000000000000912"}
    assert replies[tweet_id]["exclude_reply_user_ids"] == left_out
    envelope = reports_by_tweet(redis)[tweet_id]
    assert "reply_exclude" not in (case_store_payload(envelope, settings).get("channel_meta") or {})


def test_a_long_post_tagging_officials_after_the_cut_leaves_them_out_of_our_reply(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
) -> None:
    """A post over 280 characters: its `text` is cut short, and `entities` are the cut text's; the whole post and its
    mentions are in `note_tweet`. Reading `entities` alone, the officials tagged at the end of the post were named
    again in our reply's prefix, and notified of its Tracking ID."""
    fake.fail("/x/2/users", 200, body=fixture("x/mentions_page_long_and_unnumbered.json"))
    make_poller(settings, redis, intake).poll_once()
    run_reply_jobs(settings)
    replies = {reply["in_reply_to_tweet_id"]: reply for reply in fake.state.x_replies}
    assert replies["1860000000000000921"]["exclude_reply_user_ids"] == ["1447000000000000041", "1447000000000000042"]
    assert reports_by_tweet(redis)["1860000000000000921"]["text"].endswith("cc @pemkot_bdg @dishub_bdg")


@pytest.mark.parametrize("set_aside", [pytest.param(False, id="filed"),
                                       pytest.param(True, id="set-aside-then-retried")])
def test_an_account_named_without_an_id_is_left_out_of_our_reply_by_its_username(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, set_aside: bool,
) -> None:
    """X's mention object needs only `username`; its `id` is optional. One without an id was dropped from the accounts
    our reply leaves out, and the official a whistleblower's #anonim mention tags was notified of its Tracking ID. The
    poll asks for the `entities.mentions.username` expansion, and the id is read from `includes.users` by username
    (case aside)."""
    from channels.social import MentionIntake
    from gateway.unfiled import UnfiledMessages

    page = fixture("x/mentions_page_long_and_unnumbered.json")
    if set_aside:
        next(post for post in page["data"] if post["id"] == "1860000000000000922")["edit_history_tweet_ids"] = 5
    fake.fail("/x/2/users", 200, body=page)
    make_poller(settings, redis, intake).poll_once()
    asked = next(r for r in fake.state.requests if r["path"].endswith("/mentions"))
    assert "entities.mentions.username" in asked["query"]["expansions"].split(",")
    if set_aside:
        (kept,), _ = UnfiledMessages(redis).list()
        MentionIntake(redis, settings, intake, polled_reply_target("x")).take([kept.message], keep_unfiled=False)
    run_reply_jobs(settings)
    replies = {reply["in_reply_to_tweet_id"]: reply for reply in fake.state.x_replies}
    assert replies["1860000000000000922"]["exclude_reply_user_ids"] == ["1447000000000000051"]
    assert reports_by_tweet(redis)["1860000000000000922"]["anonymous"] is True


@pytest.mark.parametrize(
    ("text", "retweet", "reported"),
    [
        # X's retweet: `referenced_tweets` of type retweeted, its text "RT @<author>: ..." (the fake provider's)
        pytest.param("@lapor1708 lampu jalan mati di Jl. Dago", True, False, id="retweet"),
        # The old manual retweet: the citizen's own post, relaying one that did not name us, with @lapor1708 added
        pytest.param("RT @warga_dago: lampu jalan mati di Jl. Dago sejak minggu lalu @lapor1708 tolong", False, True,
                     id="manual-rt-adding-us"),
        pytest.param("RT @lapor1708 jembatan ambrol di desa kami", False, True, id="manual-rt-of-us"),
    ],
)
def test_a_post_is_a_retweet_by_its_reference_not_by_its_words(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, text: str, retweet: bool,
    reported: bool,
) -> None:
    """Only X's own retweet is passed over: a citizen's post that opens with "RT @" is their report."""
    tweet = fake.state.add_tweet(text, username="rina_bdg", retweet=retweet)
    make_poller(settings, redis, intake).poll_once()
    reports = reports_by_tweet(redis)
    assert (tweet["id"] in reports) is reported
    if reported:
        assert "lampu jalan mati" in reports[tweet["id"]]["text"] or "jembatan" in reports[tweet["id"]]["text"]
        ((_, target, reply_key, *_),) = reply_jobs(redis)
        assert (target, reply_key) == ({"tweet_id": tweet["id"]}, "social_ack")
    else:
        assert reply_jobs(redis) == []


# -- exactly once --------------------------------------------------------------------------------------------------
def test_mentions_over_several_pages_are_each_reported_once(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    tweets = [fake.state.add_tweet(f"@lapor1708 laporan nomor {n} jalan rusak") for n in range(23)]
    poller = make_poller(settings, redis, intake, when_posted)
    poller.poll_once()

    mention_calls = [r for r in fake.state.requests if r["path"].endswith("/mentions")]
    assert len(mention_calls) == 5  # 23 mentions, 5 a page
    assert all(call["query"]["max_results"] == "5" for call in mention_calls)
    assert "author_id" in mention_calls[0]["query"]["expansions"]
    assert "attachments.media_keys" in mention_calls[0]["query"]["expansions"]
    assert set(reports_by_tweet(redis)) == {t["id"] for t in tweets}
    assert len(reply_jobs(redis)) == 23
    assert x_progress(redis, X_USER_ID).load() == {"since_id": tweets[-1]["id"]}

    poller.poll_once()  # nothing new: the next poll asks from 30 s before the newest, and takes none again
    assert fake.state.requests[-1]["query"]["since_id"] == str(((int(tweets[-1]["id"]) >> 22) - 30_000) << 22)
    assert len(envelopes(redis)) == 23 and len(reply_jobs(redis)) == 23


# A snowflake id `ms` milliseconds before another: X's ids count milliseconds from the 22nd bit up.
def _earlier(tweet_id: str, ms: int) -> str:
    return str(int(tweet_id) - 3 - (ms << 22))


@dataclass(frozen=True)
class LateCase:
    id: str
    lookback: str  # LAPOR_X_SINCE_LOOKBACK_SECONDS
    late_by_ms: int  # how much older the late mention is than the newest one read before it showed
    taken: bool


LATE_CASES = [
    LateCase("same-millisecond", "60", 0, True),
    LateCase("thirty-seconds-older", "60", 30_000, True),
    LateCase("default-lookback", "", 25_000, True),
    LateCase("older-than-the-window", "60", 61_000, False),
    LateCase("no-lookback", "0", 0, False),
]


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in LATE_CASES])
def test_a_mention_x_indexes_late_below_the_newest_read_is_filed_and_answered_once(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, case: LateCase
) -> None:
    """X's mentions timeline gives some posts late: a mention indexed after a newer one was read has a lower id, and
    a poll asking since the newest read never sees it (valory-xyz/IEKit#307). A poll asks from
    `x.since_lookback_seconds` before the newest read: the late one is filed and answered once, the others of the
    window are not taken again."""
    overrides = {"LAPOR_X_SINCE_LOOKBACK_SECONDS": case.lookback} if case.lookback else {}
    settings = test_env.settings(**fake.env(**overrides))
    intake = Intake(redis, settings)
    poller = make_poller(settings, redis, intake, when_posted)
    first = fake.state.add_tweet("@lapor1708 jalan rusak di Jl. Dago")
    newest = fake.state.add_tweet("@lapor1708 lampu jalan mati di Jl. Riau")
    poller.poll_once()
    late = fake.state.add_tweet("@lapor1708 sampah menumpuk di pasar", tweet_id=_earlier(newest["id"],
                                                                                         case.late_by_ms))
    assert int(late["id"]) < int(newest["id"])
    poller.poll_once()
    poller.poll_once()
    intake.close()
    run_reply_jobs(settings)

    filed = {first["id"], newest["id"], *([late["id"]] if case.taken else [])}
    assert set(reports_by_tweet(redis)) == filed
    assert sorted(reply["in_reply_to_tweet_id"] for reply in fake.state.x_replies) == sorted(filed)
    assert x_progress(redis, X_USER_ID).load() == {"since_id": newest["id"]}  # the cursor never went back


def test_mentions_read_again_in_the_lookback_window_are_not_new_messages(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """Each poll reads the window before the cursor again: a report, a status query, a thank-you and a mention kept
    unfiled read again are not counted, answered, kept, or noted as the channel's last message again; the poll
    line says it took nothing."""
    fake.state.add_tweet("@lapor1708 jalan rusak di Jl. Dago")
    fake.state.add_tweet(f"@lapor1708 CEK {VALID_ID}")
    fake.state.add_tweet("@lapor1708 terima kasih")
    fake.state.add_tweet("@lapor1708")  # no report in it: refused
    poller = make_poller(settings, redis, intake, when_posted)
    poller.poll_once()
    counters = channel_counts()
    last_message = counted("lapor_channel_last_message_timestamp_seconds", channel="x")
    jobs = reply_jobs(redis)
    signals = redis.hget(SIGNALS_KEY.format(channel="x"), "last_message_at")

    time.sleep(NOTED_WRITE_SECONDS + 0.1)  # a message noted now would be written, not held back
    poller.poll_once()
    asked = fake.state.requests[-1]["query"]
    assert int(asked["since_id"]) < int(fake.state.tweets[0]["id"])  # the window was read again
    assert channel_counts() == counters
    assert counted("lapor_channel_last_message_timestamp_seconds", channel="x") == last_message
    assert reply_jobs(redis) == jobs and len(envelopes(redis)) == 1
    assert redis.hget(SIGNALS_KEY.format(channel="x"), "last_message_at") == signals
    polled = [e for e in log_events(log_stream) if e["event"] == "channel.polled"]
    assert [(line["mentions"], line["level"]) for line in polled][-1] == (0, "debug")


def test_a_cursor_moved_by_a_poller_that_does_not_look_back_is_not_looked_back_past(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis
) -> None:
    """A rolling upgrade: a poller of the release before (no look-back, the same cursor) and this one take turns on one
    Redis. Each reads the other's cursor as its own; the mentions the other read, never remembered as read here, are
    not asked for again and taken as new (counted, logged as duplicates), nor is one lost."""
    settings = test_env.settings(**fake.env())
    earlier = test_env.settings(**fake.env(LAPOR_X_SINCE_LOOKBACK_SECONDS="0"))
    intake = Intake(redis, settings)
    first = fake.state.add_tweet("@lapor1708 jalan rusak di Jl. Dago")
    make_poller(settings, redis, intake, when_posted).poll_once()
    second = fake.state.add_tweet("@lapor1708 lampu jalan mati di Jl. Riau")
    make_poller(earlier, redis, intake, when_posted).poll_once()
    assert fake.state.requests[-1]["query"]["since_id"] == first["id"]  # this release's cursor, read as before
    received = channel_counts()
    third = fake.state.add_tweet("@lapor1708 sampah menumpuk di pasar")
    make_poller(settings, redis, intake, when_posted).poll_once()
    assert fake.state.requests[-1]["query"]["since_id"] == second["id"]
    make_poller(settings, redis, intake, when_posted).poll_once()  # from here on it looks back from its own cursor
    assert int(fake.state.requests[-1]["query"]["since_id"]) < int(third["id"])
    intake.close()
    assert set(reports_by_tweet(redis)) == {first["id"], second["id"], third["id"]}
    assert sorted(args[1]["tweet_id"] for args in reply_jobs(redis)) == sorted([first["id"], second["id"],
                                                                               third["id"]])
    after = channel_counts()
    assert {key: after[key] - received.get(key, 0.0) for key in after if after[key] != received.get(key)} == {
        ("lapor_messages_received_total", "channel=x-mentions"): 1.0,
        ("lapor_messages_accepted_total", "channel=x-mentions"): 1.0}


def test_a_walk_that_reads_back_past_the_cursor_into_the_window_leaves_no_gap(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """A walk of about 800 mentions whose oldest is at or below the cursor (the look-back window read again) reached
    every mention after the cursor: no mentions gap is logged or shown, where one from the cursor would."""
    settings = test_env.settings(**fake.env(LAPOR_X_MAX_RESULTS="100", LAPOR_X_MAX_PAGES="10"))
    intake = Intake(redis, settings)
    poller = make_poller(settings, redis, intake, when_posted)
    for n in range(300):
        fake.state.add_tweet(f"@lapor1708 laporan {n} sebelum")
    poller.poll_once()
    for n in range(460):
        fake.state.add_tweet(f"@lapor1708 laporan {n} sesudah")
    poller.poll_once()
    intake.close()
    assert len(reports_by_tweet(redis)) == 760
    assert [e for e in log_events(log_stream) if e["event"] == "channel.mentions_gap"] == []
    x = {c["channel"]: c for c in HealthMonitor(redis, load_rules(settings.health.rules_path())).status()[
        "channels"]}["x"]
    assert "may be out of the provider's reach" not in x["reason"], x


C_ID = str(X_ID_START)  # the newest mention read, in the look-back tests below
C_POSTED = snowflake_ms(C_ID) / 1000  # its time on X's clock


def posted_after_c(ms: int) -> str:
    """A snowflake id `ms` milliseconds after C (negative: before)."""
    return str(int(C_ID) + (ms << 22) + (3 if ms < 0 else 0))


class SetClock:
    """Our clock, set by the test."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@dataclass(frozen=True)
class QuietCase:
    id: str
    polls: tuple[float, ...]  # our clock at each poll after the first, seconds after the cursor was first read
    looks_back: tuple[bool, ...]  # whether each asked from before the cursor
    skew: float = 0.0  # our clock ahead of X's (negative: behind)


QUIET_CASES = [
    QuietCase("every-15-s", (15, 30, 45, 60, 75, 90), (True, True, True, True, False, False)),
    QuietCase("a-quiet-day", (86_400, 86_415), (True, False)),
    QuietCase("our-clock-10-min-behind", (15, 30, 45, 60, 75, 90), (True, True, True, True, False, False), -600),
    QuietCase("our-clock-2-min-ahead", (15, 30, 45, 60, 75, 90), (True, True, True, True, False, False), 120),
]


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in QUIET_CASES])
def test_a_quiet_account_is_not_read_again_once_a_late_mention_has_had_its_window(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, intake: Intake, case: QuietCase,
) -> None:
    """Looking back from a cursor of any age read the window's mentions again at every poll, the newest at least,
    however long nobody wrote: 4 posts a minute at a poll every 15 s, each counted against the plan's post reads.
    Once a walk that looked back began the window after the cursor was first read (our clock both), a late one had
    its window to come and was read: a poll asks from the cursor itself. X's clock against ours plays no part: a skew
    ended the look-back at once (ours ahead) or kept it on for as long as the skew (ours behind)."""
    settings = test_env.settings(**fake.env(LAPOR_X_SINCE_LOOKBACK_SECONDS="60", LAPOR_X_POLL_INTERVAL_SECONDS="15"))
    clock = SetClock(C_POSTED + 1 + case.skew)
    poller = make_poller(settings, redis, intake, clock)
    fake.state.add_tweet("@lapor1708 jalan rusak di Jl. Dago", tweet_id=C_ID)
    poller.poll_once()
    first_read, asked = clock.t, []
    for seconds in case.polls:
        clock.t = first_read + seconds
        poller.poll_once()
        asked.append(fake.state.requests[-1]["query"]["since_id"])
    assert tuple(since != C_ID for since in asked) == case.looks_back
    assert all(int(since) <= int(C_ID) for since in asked) and len(reports_by_tweet(redis)) == 1


@dataclass(frozen=True)
class PauseCase:
    id: str
    failures: int  # polls X answers 503 to after the late mention shows
    next_poll: float  # seconds after C was read that the next poll comes
    skew: float = 0.0  # our clock ahead of X's


PAUSE_CASES = [
    PauseCase("next-poll-on-time", 0, 15),
    PauseCase("x-answers-503-for-a-minute-and-more", 3, 100),
    PauseCase("a-restart-or-a-429-wait-of-15-min", 0, 900),
    PauseCase("our-clock-2-min-ahead-of-x", 0, 15, skew=120),
]


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in PAUSE_CASES])
def test_a_late_mention_is_read_however_long_the_next_poll_comes_after_the_cursor(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, case: PauseCase
) -> None:
    """The look-back ended when the cursor's post was older on our clock than twice the window and a poll interval
    (75 s): a poll that came later than that (X failing, a 429's wait, a restart) or a clock ahead of X's asked from
    the cursor, and a mention X indexed late below it was lost. The first walk after the cursor was read looks back,
    however late it comes."""
    settings = test_env.settings(**fake.env(LAPOR_X_POLL_INTERVAL_SECONDS="15"))
    intake = Intake(redis, settings)
    clock = SetClock(C_POSTED + 1 + case.skew)
    poller = make_poller(settings, redis, intake, clock)
    fake.state.add_tweet("@lapor1708 lampu jalan mati di Jl. Riau", tweet_id=C_ID)
    poller.poll_once()
    late = fake.state.add_tweet("@lapor1708 sampah menumpuk di pasar", tweet_id=posted_after_c(-10_000))
    if case.failures:
        fake.fail("/x/2/users", 503, count=case.failures)
    for n in range(case.failures):
        clock.t = C_POSTED + case.skew + 16 + 20 * n
        poller.poll_once()
    clock.t = C_POSTED + case.skew + case.next_poll
    poller.poll_once()
    intake.close()
    assert set(reports_by_tweet(redis)) == {C_ID, late["id"]}


def test_a_late_mention_is_read_when_the_quota_spreads_polls_far_apart(test_env: TestEnvironment, redis: Redis) -> None:
    """With few reads left in X's 15-minute window, the next poll comes minutes later (up to 900 s): every cursor was
    older than 75 s by then, no poll looked back, and a late mention was lost as with no look-back at all."""
    fake = FakeProviderServer(free_port(), started_at=time.time())
    fake.start()
    try:
        settings = test_env.settings(**fake.env(LAPOR_X_POLL_INTERVAL_SECONDS="15"))
        intake = Intake(redis, settings)
        offset = [0.0]
        poller = make_poller(settings, redis, intake, lambda: time.time() + offset[0])
        fake.state.rate_remaining, fake.state.rate_reset = 11, time.time() + 900  # 10 calls left in the window
        newest = fake.state.add_tweet("@lapor1708 lampu jalan mati di Jl. Riau")
        delay = poller.poll_once()
        assert delay > 75
        late = fake.state.add_tweet("@lapor1708 sampah menumpuk", tweet_id=str(int(newest["id"]) - (10_000 << 22)))
        offset[0] += delay
        poller.poll_once()
        intake.close()
        assert set(reports_by_tweet(redis)) == {newest["id"], late["id"]}
    finally:
        fake.stop()


def test_a_walk_resumed_asks_from_where_its_first_page_looked_back(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis
) -> None:
    """A walk whose first page asked from before the cursor stops after it (the lease moved, a 429, a 5xx) and is
    resumed later, the cursor by then no longer looked back from: its next page was asked with the cursor as since_id
    and the page token, and the window's half of the walk, a late mention in it, was never read."""
    settings = test_env.settings(**fake.env(LAPOR_X_POLL_INTERVAL_SECONDS="15"))
    intake = Intake(redis, settings)
    clock = SetClock(C_POSTED + 1)
    poller = make_poller(settings, redis, intake, clock)
    fake.state.add_tweet("@lapor1708 lampu jalan mati di Jl. Riau", tweet_id=C_ID)
    poller.poll_once()
    late = fake.state.add_tweet("@lapor1708 sampah menumpuk di pasar", tweet_id=posted_after_c(-10_000))
    newer = [fake.state.add_tweet(f"@lapor1708 laporan baru {n}", tweet_id=posted_after_c(40_000 + n))["id"]
             for n in range(6)]  # two pages of 5 (LAPOR_X_MAX_RESULTS in fake.env)
    clock.t = C_POSTED + 70
    calls = iter([True, False])
    poller.poll_once(lambda: next(calls))  # page 1, then the lease goes elsewhere
    first_page = fake.state.requests[-1]["query"]["since_id"]
    assert int(first_page) < int(C_ID) and x_progress(redis, X_USER_ID).load().get("next_token")
    kept = [*redis.hvals(poller.read.from_key), *redis.zrange(poller.read.key, 0, -1)]
    posts = [C_ID, late["id"], *newer]
    assert kept and not [value for value in kept if any(post.encode() in value for post in posts)]  # no post's id
    clock.t = C_POSTED + 80
    poller.poll_once()
    assert fake.state.requests[-1]["query"]["since_id"] == first_page
    intake.close()
    assert set(reports_by_tweet(redis)) == {C_ID, late["id"], *newer}


def test_a_window_trimmed_by_one_poll_is_not_read_as_new_by_the_next(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis
) -> None:
    """Two processes taking turns on the lease, one's clock 90 s ahead: the one ahead found the new cursor settled and
    trimmed the read mentions below it; the other looked back from it and took the window's mentions as new, counted
    (received, duplicate, queries) again. The read mentions of the whole window are kept, and settling does not depend
    on a process's clock against X's."""
    settings = test_env.settings(**fake.env(LAPOR_X_POLL_INTERVAL_SECONDS="15"))
    intake = Intake(redis, settings)
    clock = SetClock(C_POSTED + 1)
    right = make_poller(settings, redis, intake, clock)
    ahead = make_poller(settings, redis, intake, lambda: clock.t + 90)
    fake.state.add_tweet("@lapor1708 jalan rusak di Jl. Dago", tweet_id=posted_after_c(-10_000))
    fake.state.add_tweet(f"@lapor1708 CEK {VALID_ID}", tweet_id=posted_after_c(-5_000))
    fake.state.add_tweet("@lapor1708 terima kasih", tweet_id=C_ID)
    right.poll_once()
    clock.t = C_POSTED + 16
    fake.state.add_tweet("@lapor1708 lampu mati", tweet_id=posted_after_c(5_000))
    ahead.poll_once()
    before = channel_counts()
    clock.t = C_POSTED + 31
    right.poll_once()
    intake.close()
    assert int(fake.state.requests[-1]["query"]["since_id"]) < int(posted_after_c(-10_000))  # the window read again
    assert channel_counts() == before


def test_a_first_polls_start_saved_in_another_form_is_polled_not_a_crash(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """The look-back's floor on a first poll is read from its saved start; one in another form (with milliseconds)
    raised out of every round. The mention is taken; the look-back starts at the first cursor."""
    x_progress(redis, X_USER_ID).save(start_time="2010-11-06T00:00:01.000Z")
    tweet = fake.state.add_tweet("@lapor1708 jalan rusak di Jl. Dago")
    make_poller(settings, redis, intake).poll_once()
    assert set(reports_by_tweet(redis)) == {tweet["id"]}
    assert "poller.crashed" not in {e["event"] for e in log_events(log_stream)}


def channel_counts(channel: str = "x-mentions") -> dict[tuple[str, ...], float]:
    """Every sample of the counters and gauges labelled with `channel`, by name and labels."""
    return {(sample.name, *sorted(f"{k}={v}" for k, v in sample.labels.items())): sample.value
            for metric in REGISTRY.collect() for sample in metric.samples
            if sample.labels.get("channel") == channel and not sample.name.endswith("_created")}


def test_a_page_naming_itself_as_the_next_ends_the_walk(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """A next_token that names the page just read (a provider's or a proxy's cache fault): read again at every page and
    every poll, the walk never ended, and newer mentions, asked only after it, were never read."""
    page = fixture("x/mentions_page.json")
    page["meta"]["next_token"] = "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i"
    fake.fail("/x/2/users", 200, body=page, count=settings.x.max_pages)
    make_poller(settings, redis, intake).poll_once()

    assert len([r for r in fake.state.requests if r["path"].endswith("/mentions")]) == 2
    assert x_progress(redis, X_USER_ID).load() == {"since_id": page["meta"]["newest_id"]}
    assert [line["pages"] for line in log_events(log_stream) if line["event"] == "channel.pagination_repeated"] == [2]
    assert set(reports_by_tweet(redis)) == {"1860000000000000404", "1860000000000000101"}


def test_pages_in_a_cycle_end_the_walk(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """Pages whose next_tokens go round (A -> B -> A): each named another, so the walk read them to the end of every
    poll, and newer mentions were never read. A page that brings no mention older than the walk has read ends it."""
    newer = fixture("x/mentions_page.json")
    newer["meta"]["next_token"] = "b26v89c19zqg8ozfsvxh5ckdxnvn1abgj0m5jvp6fwvqh"
    older = fixture("x/mentions_page.json")
    for tweet in older["data"]:
        tweet["id"] = str(int(tweet["id"]) - 100)
    older["meta"] = {**older["meta"], "next_token": "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i",
                     "newest_id": older["data"][0]["id"], "oldest_id": older["data"][-1]["id"]}
    for _ in range(settings.x.max_pages // 2):
        fake.fail("/x/2/users", 200, body=newer)
        fake.fail("/x/2/users", 200, body=older)
    make_poller(settings, redis, intake).poll_once()

    assert len([r for r in fake.state.requests if r["path"].endswith("/mentions")]) == 3
    assert x_progress(redis, X_USER_ID).load() == {"since_id": newer["meta"]["newest_id"]}
    assert [line["pages"] for line in log_events(log_stream) if line["event"] == "channel.pagination_repeated"] == [3]
    # The account's first poll: the mentions from its start_time to the oldest read were left unread, said so.
    requested = next(r for r in fake.state.requests if r["path"].endswith("/mentions"))["query"]["start_time"]
    gaps = [e for e in log_events(log_stream) if e["event"] == "channel.mentions_gap"]
    assert [(gap["gap_from"], gap["gap_to"]) for gap in gaps] == [(requested, tweet_time(older["meta"]["oldest_id"]))]


def test_a_walk_from_the_cursor_cut_short_by_its_pages_says_which_mentions_it_left_unread(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """A walk from since_id that ends on a page naming itself moves since_id past the mentions between the cursor and
    the oldest it read, never read: logged and shown as a mentions gap for an operator to look up by hand; said only
    as channel.pagination_repeated, with no window, they were lost unseen."""
    first = fake.state.add_tweet("@lapor1708 sebelum gangguan")
    poller = make_poller(settings, redis, intake)
    poller.poll_once()
    page = fixture("x/mentions_page.json")
    page["meta"]["next_token"] = "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i"
    fake.fail("/x/2/users", 200, body=page, count=settings.x.max_pages)
    poller.poll_once()

    assert x_progress(redis, X_USER_ID).load() == {"since_id": page["meta"]["newest_id"]}
    gaps = [e for e in log_events(log_stream) if e["event"] == "channel.mentions_gap"]
    asked = looked_back(first["id"], settings.x.since_lookback_seconds)  # the gap starts at the since_id asked
    assert [(gap["gap_from"], gap["gap_to"]) for gap in gaps] == [
        (tweet_time(asked), tweet_time(page["meta"]["oldest_id"]))]
    x = {c["channel"]: c for c in HealthMonitor(redis, load_rules(settings.health.rules_path())).status()[
        "channels"]}["x"]
    assert f"mentions posted between {gaps[0]['gap_from']} and {gaps[0]['gap_to']}" in x["reason"], x

def _created(seconds_ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - seconds_ago))


def test_the_first_poll_takes_only_recent_mentions_not_the_accounts_whole_history(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, intake: Intake
) -> None:
    """An account that already has months of mentions is not answered all at once when the channel goes live."""
    settings = test_env.settings(**fake.env(LAPOR_X_FIRST_POLL_LOOKBACK_MINUTES="60"))
    old = [fake.state.add_tweet(f"@lapor1708 laporan lama {n}") for n in range(7)]
    for tweet, days in zip(old, range(1, 8), strict=True):
        tweet["created_at"] = _created(days * 86400)
    recent = fake.state.add_tweet("@lapor1708 jalan rusak baru saja")
    recent["created_at"] = _created(600)
    poller = XMentionsPoller(settings, redis, intake, clock=time.time)
    poller.poll_once()

    first = next(r for r in fake.state.requests if r["path"].endswith("/mentions"))
    start = calendar.timegm(time.strptime(first["query"]["start_time"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(start - (time.time() - 3600)) < 30
    assert set(reports_by_tweet(redis)) == {recent["id"]}
    assert len(reply_jobs(redis)) == 1
    assert x_progress(redis, X_USER_ID).load() == {"since_id": recent["id"]}

    newer = fake.state.add_tweet("@lapor1708 lampu jalan mati")
    poller.poll_once()  # from here on the cursor rules: since_id, no time window
    last = fake.state.requests[-1]["query"]
    assert last["since_id"] == recent["id"] and "start_time" not in last
    assert set(reports_by_tweet(redis)) == {recent["id"], newer["id"]}


@pytest.mark.parametrize("minutes", [pytest.param("52560000", id="a-century"),
                                     pytest.param("10000000000000", id="past-any-date")])
def test_a_first_poll_looking_back_further_than_x_reaches_asks_from_xs_earliest_start(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, intake: Intake, log_stream: io.StringIO,
    minutes: str
) -> None:
    """X takes no `start_time` before 2010-11-06T00:00:01Z: a century's lookback was refused with 400 at every poll,
    and the start, saved with the progress, outlived the setting corrected; one past any date raised ValueError in
    every round (`poller.crashed`). Either is asked from X's earliest start."""
    settings = test_env.settings(**fake.env(LAPOR_X_FIRST_POLL_LOOKBACK_MINUTES=minutes))
    tweet = fake.state.add_tweet("@lapor1708 jalan rusak")
    XMentionsPoller(settings, redis, intake, clock=time.time).poll_once()
    first = next(r for r in fake.state.requests if r["path"].endswith("/mentions"))
    assert first["query"]["start_time"] == "2010-11-06T00:00:01Z"
    assert set(reports_by_tweet(redis)) == {tweet["id"]}
    assert "poller.crashed" not in {e["event"] for e in log_events(log_stream)}


def test_with_no_lookback_a_quiet_account_still_gets_every_mention_after_going_live(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, intake: Intake
) -> None:
    """Lookback 0 starts from now; polls that find nothing keep that start, so a mention between polls is taken."""
    settings = test_env.settings(**fake.env(LAPOR_X_FIRST_POLL_LOOKBACK_MINUTES="0"))
    history = fake.state.add_tweet("@lapor1708 laporan kemarin")
    history["created_at"] = _created(86400)
    now = [time.time()]
    poller = XMentionsPoller(settings, redis, intake, clock=lambda: now[0])
    poller.poll_once()
    assert reports_by_tweet(redis) == {}

    mention = fake.state.add_tweet("@lapor1708 sampah menumpuk")
    now[0] += 30  # the next poll, half a minute later
    poller.poll_once()
    assert set(reports_by_tweet(redis)) == {mention["id"]}
    starts = {r["query"].get("start_time") for r in fake.state.requests if r["path"].endswith("/mentions")}
    assert len(starts) == 1 and None not in starts


def test_a_poll_that_fails_half_way_loses_and_doubles_nothing(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    tweets = [fake.state.add_tweet(f"@lapor1708 aduan {n} lampu mati") for n in range(12)]
    poller = make_poller(settings, redis, intake)
    # The first page succeeds, the second fails with a server error.
    original = poller._page
    calls = {"n": 0}

    def page_then_outage(since_id: str | None, token: str | None, start_time: str | None = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            fake.fail("/x/2/users", 503, body=fixture("x/service_unavailable.json"))
        return original(since_id, token, start_time)

    poller._page = page_then_outage  # type: ignore[method-assign]
    delay = poller.poll_once()
    assert delay == pytest.approx(settings.x.error_retry_seconds)
    assert len(envelopes(redis)) == 5
    progress = x_progress(redis, X_USER_ID).load()
    assert "since_id" not in progress and progress["newest_id"] == tweets[-1]["id"]
    assert any(e["event"] == "channel.provider_error" and e["kind"] == "server" for e in log_events(log_stream))

    poller.poll_once()
    assert set(reports_by_tweet(redis)) == {t["id"] for t in tweets}
    assert len(reply_jobs(redis)) == 12
    assert x_progress(redis, X_USER_ID).load() == {"since_id": tweets[-1]["id"]}


def test_a_restart_between_polls_skips_and_doubles_nothing(
    fake: FakeProviderServer, settings: Settings, redis: Redis
) -> None:
    first = [fake.state.add_tweet(f"@lapor1708 banjir di RT {n}") for n in range(7)]
    intake_a = Intake(redis, settings)
    make_poller(settings, redis, intake_a).poll_once()
    intake_a.close()

    later = [fake.state.add_tweet(f"@lapor1708 pohon tumbang di RW {n}") for n in range(6)]
    intake_b = Intake(redis, settings)  # a new process: state only in Redis
    make_poller(settings, redis, intake_b).poll_once()

    # A crash after the reports were durable but before the cursor moved: the same mentions come again.
    redis.delete(x_progress(redis, X_USER_ID).key)
    make_poller(settings, redis, intake_b).poll_once()
    intake_b.close()

    assert set(reports_by_tweet(redis)) == {t["id"] for t in first + later}
    jobs = reply_jobs(redis)
    assert sorted(args[1]["tweet_id"] for args in jobs) == sorted(t["id"] for t in first + later)


def test_mentions_posted_to_a_restarted_fake_provider_are_reported_and_answered(
    test_env: TestEnvironment, redis: Redis
) -> None:
    """`make run` started again keeps its Redis (the cursor, the claims of the mentions taken) and starts a new fake
    provider: its mentions must not read as ones already taken, nor as older than the cursor."""
    def post_and_poll(provider: FakeProviderServer, settings: Settings, intake: Intake, run: int) -> None:
        provider.state.add_tweet(f"@lapor1708 LAPOR jalan rusak nomor {run}")
        make_poller(settings, redis, intake).poll_once()

    on_a_restarted_fake_provider(test_env, redis, NOW, post_and_poll)

    assert sorted(report["text"] for report in envelopes(redis)) == ["jalan rusak nomor 1", "jalan rusak nomor 2"]
    assert len({args[1]["tweet_id"] for args in reply_jobs(redis)}) == 2


@pytest.mark.parametrize(
    ("missed", "gap_logged"),
    [
        pytest.param(30, False, id="short-outage-all-reachable"),
        pytest.param(850, True, id="long-outage-beyond-the-newest-800"),
    ],
)
def test_mentions_out_of_reach_after_a_long_outage_are_logged_for_operators(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, missed: int,
    gap_logged: bool,
) -> None:
    """X serves only the newest ~800 mentions: after a long outage the ones before are gone for good. The poller
    cannot fetch them, but it says so, with the window, so an operator can look them up by hand."""
    settings = test_env.settings(**fake.env(LAPOR_X_MAX_RESULTS="100", LAPOR_X_MAX_PAGES="10"))
    intake = Intake(redis, settings)
    poller = make_poller(settings, redis, intake)
    first = fake.state.add_tweet("@lapor1708 sebelum gangguan")
    poller.poll_once()
    for n in range(missed):
        fake.state.add_tweet(f"@lapor1708 laporan {n} saat gangguan")
    poller.poll_once()
    intake.close()
    gaps = [e for e in log_events(log_stream) if e["event"] == "channel.mentions_gap"]
    assert bool(gaps) is gap_logged
    if gap_logged:
        (gap,) = gaps
        assert (gap["channel"], gap["source"]) == ("x", "x-mentions")
        assert gap["level"] == "warning" and gap["mentions_read"] == 800
        # When the unreachable mentions were posted (RFC 3339, from the snowflake ids: the since_id asked, the cursor
        # looked back from, to the oldest read).
        asked = looked_back(first["id"], settings.x.since_lookback_seconds)
        assert gap["gap_from"] == tweet_time(asked) and gap["gap_to"] == tweet_time(fake.state.tweets[-800]["id"])
    assert x_progress(redis, X_USER_ID).load() == {"since_id": fake.state.tweets[-1]["id"]}
    # Every view says it too, for an hour: logged alone, the channel stayed ok while citizens' mentions were lost.
    rules = load_rules(settings.health.rules_path())
    x = {c["channel"]: c for c in HealthMonitor(redis, rules).status()["channels"]}["x"]
    said = "may be out of the provider's reach" in x["reason"]
    assert (said, x["state"] == "degraded") == (gap_logged, gap_logged), x
    if gap_logged:
        assert f"mentions posted between {gap['gap_from']} and {gap['gap_to']}" in x["reason"], x
        later = {c["channel"]: c for c in HealthMonitor(redis, rules, clock=lambda: time.time() + 3601).status()[
            "channels"]}["x"]
        assert "may be out of the provider's reach" not in later["reason"], later


def test_redis_down_during_a_poll_moves_nothing_and_crashes_nothing(
    fake: FakeProviderServer, settings: Settings, redis: Redis, log_stream: io.StringIO
) -> None:
    tweet = fake.state.add_tweet("@lapor1708 listrik padam sejak pagi")
    closed = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    down = XMentionsPoller(settings, closed, Intake(closed, settings), clock=fixed_clock)
    assert down.poll_once() == pytest.approx(settings.x.error_retry_seconds)
    assert "channel.not_durable" in {e["event"] for e in log_events(log_stream)}

    intake = Intake(redis, settings)  # Redis is back: the mention was not lost
    make_poller(settings, redis, intake).poll_once()
    intake.close()
    assert list(reports_by_tweet(redis)) == [tweet["id"]]


def test_mentions_refused_for_a_used_up_id_range_keep_the_cursor_and_take_x_down_at_once(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """The cell's last Tracking ID is given out: the poller keeps its cursor and tries again. The views said "ok"
    for two minutes, then "poller failing for 2 min: not_durable"; they say at once that X is down, and why."""
    settings = test_env.settings(**fake.env(LAPOR_INTAKE_ID_END="1000000"))  # one ID, two mentions on the page
    fake.state.add_tweet("@lapor1708 jalan rusak di depan pasar")
    fake.state.add_tweet("@lapor1708 lampu jalan mati")
    intake = Intake(redis, settings)
    make_poller(settings, redis, intake).poll_once()
    intake.close()
    assert "since_id" not in x_progress(redis, X_USER_ID).load()
    [line] = [e for e in log_events(log_stream) if e["event"] == "channel.not_durable"]
    assert line["reason"] == "id_range_exhausted"
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()))
    x_health = {h["channel"]: h for h in monitor.status()["channels"]}["x"]
    assert x_health["state"] == "down"
    assert x_health["reason"].startswith("new reports refused (1 in a row, none taken since): id_range_exhausted")


def test_the_same_tweet_twice_on_a_page_is_one_report_and_one_reply(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    page = fixture("x/mentions_page.json")
    page["data"].append(dict(page["data"][0]))
    fake.fail("/x/2/users", 200, body=page)
    make_poller(settings, redis, intake).poll_once()
    assert len(reports_by_tweet(redis)) == 2
    assert len(reply_jobs(redis)) == 2


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(("text", "action"), [
    ("@lapor1708 Terima kasih 🙏", "courtesy"), ("@lapor1708 makasih min!", "courtesy"),
    ("@pemkot_bdg @lapor1708 thanks", "courtesy"), ("Ok, terima kasih @lapor1708 👍", "courtesy"),
    ("@lapor1708 STOP", "opt_out"), ("@lapor1708 berhenti!", "opt_out"),
])
def test_a_courtesy_or_an_opt_out_mention_is_neither_reported_nor_answered(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, text: str, action: str
) -> None:
    """A public thank-you was filed as a report and answered in public with a new Tracking ID; so was a "STOP" (to
    our replies mentioning the citizen), answered with one more mention. Each is counted as a non-report mention, and
    the cursor moves past it as past any mention taken."""
    counters = {"lapor_messages_received_total": {}, "lapor_queries_total": {"action": action}}
    before = {name: counted(name, channel="x-mentions", **labels) for name, labels in counters.items()}
    tweet = fake.state.add_tweet(text)
    make_poller(settings, redis, intake).poll_once()
    assert envelopes(redis) == []
    assert reply_jobs(redis) == []
    assert x_progress(redis, X_USER_ID).load() == {"since_id": tweet["id"]}
    assert {name: counted(name, channel="x-mentions", **labels) - before[name]
            for name, labels in counters.items()} == {"lapor_messages_received_total": 1, "lapor_queries_total": 1}
    run_reply_jobs(settings)
    assert fake.state.x_replies == []


def test_the_poll_line_counts_every_mention_taken_not_the_replies_queued(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """A poll that took only thanks and a repeated mention logged `mentions=0` at debug level, as an idle one does:
    an operator reading the log saw a channel that had heard nothing."""
    fake.state.add_tweet("@lapor1708 terima kasih")
    fake.state.add_tweet("@lapor1708 makasih min 🙏")
    make_poller(settings, redis, intake).poll_once()
    [polled] = [e for e in log_events(log_stream) if e["event"] == "channel.polled"]
    assert (polled["mentions"], polled["level"]) == (2, "info")


def test_mentions_are_counted_like_webhooks_for_the_status_views(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """The status page, `lapor-gateway status` and /metrics read received, accepted, duplicates and queries from
    these counters: without them X reads "received 0" while its reports reach the case store."""
    names = ("lapor_messages_received_total", "lapor_messages_accepted_total", "lapor_messages_duplicate_total")
    before = {name: counted(name, channel="x-mentions") for name in names}
    queries_before = counted("lapor_queries_total", channel="x-mentions", action="status")
    fake.state.add_tweet(f"@lapor1708 CEK {VALID_ID}")
    poller = make_poller(settings, redis, intake)
    poller.poll_once()
    page = fixture("x/mentions_page.json")  # two mentions, our own tweet and a retweet, and the first mention again
    page["data"].append(dict(page["data"][0]))
    fake.fail("/x/2/users", 200, body=page)
    poller.poll_once()

    assert {name: counted(name, channel="x-mentions") - before[name] for name in names} == {
        "lapor_messages_received_total": 4, "lapor_messages_accepted_total": 2, "lapor_messages_duplicate_total": 1}
    assert counted("lapor_queries_total", channel="x-mentions", action="status") - queries_before == 1


# -- rate limits and errors ----------------------------------------------------------------------------------------
def test_a_429_waits_until_the_reset_header_and_keeps_the_cursor(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    fake.state.add_tweet("@lapor1708 air PDAM mati tiga hari")
    reset = int(NOW) + 600
    fake.fail("/x/2/users", 429, body=fixture("x/too_many_requests.json"),
              headers={"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})
    poller = make_poller(settings, redis, intake)
    stop = threading.Event()
    waits: list[float] = []

    def record_wait(seconds: float | None = None) -> bool:  # the loop's sleep, without sleeping
        waits.append(float(seconds or 0))
        if len(waits) == 2:
            stop.set()
        return stop.is_set()

    stop.wait = record_wait  # type: ignore[method-assign]
    run_poller(poller, stop)

    assert waits[0] == pytest.approx(reset - NOW + 1)
    limited = [e for e in log_events(log_stream) if e["event"] == "channel.rate_limited"]
    assert len(limited) == 1 and (limited[0]["channel"], limited[0]["source"]) == ("x", "x-mentions")
    assert len(envelopes(redis)) == 1  # the second turn of the loop polled again and got it


@pytest.mark.parametrize(
    ("reset", "cap", "delay", "capped"),
    [
        # A far-future test value against a real clock (the poller asleep 103,775,290 s, the channel stuck).
        pytest.param(str(int(NOW) + 103_775_290), None, 900.0, "2033-06-30T20:14:50Z", id="far-future-capped"),
        pytest.param(str(int(NOW) + 3600), "120", 120.0, "2030-03-17T18:46:40Z", id="beyond-a-lower-cap-capped"),
        # The health view printed it as a date: past the year 9999 that raised, and the poller died.
        pytest.param("99999999999999", None, 900.0, "after the year 9999", id="after-year-9999-capped"),
        pytest.param(str(int(NOW) + 600), None, 601.0, None, id="within-the-window-as-given"),
        pytest.param(str(int(NOW) + 899), None, 900.0, None, id="at-the-cap-as-given"),
        # X's clock behind ours, or a stale header: waited 1 s and asked again, as often as X kept answering so.
        pytest.param(str(int(NOW) - 600), None, 0.2, None, id="past-normal-backoff"),
        # The health view printed it as a date: before the year 1 that raised, and the poller died.
        pytest.param("-99999999999999", None, 0.2, None, id="before-year-1-normal-backoff"),
        # tweepy's int() raised ValueError on it: classified a bad payload (an error line, the poll failing).
        pytest.param("soon", None, 0.2, None, id="garbage-normal-backoff"),
    ],
)
def test_a_429_waits_for_its_reset_at_most_the_longest_wait(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, reset: str,
    cap: str | None, delay: float, capped: str | None,
) -> None:
    """A rate limit waits for x-rate-limit-reset up to `x.rate_limit_max_wait_seconds` (X's windows are 15 min): a
    reset further ahead is logged (the channel and the wait it got) and the channel's view says when it is asked
    again; a reset that is past or unreadable waits as a server error does."""
    overrides = {"LAPOR_X_RATE_LIMIT_MAX_WAIT_SECONDS": cap} if cap else {}
    settings = test_env.settings(**fake.env(**overrides))
    fake.fail("/x/2/users", 429, body=fixture("x/too_many_requests.json"),
              headers={"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0", "x-rate-limit-reset": reset})
    intake = Intake(redis, settings)

    assert make_poller(settings, redis, intake).poll_once() == pytest.approx(delay)

    intake.close()
    events = log_events(log_stream)
    [limited] = [e for e in events if e["event"] == "channel.rate_limited"]
    assert (limited["channel"], limited["source"], limited["retry_in_seconds"]) == ("x", "x-mentions", delay)
    said = [{k: e[k] for k in ("level", "channel", "source", "reset_at", "retry_in_seconds")}
            for e in events if e["event"] == "channel.rate_limit_wait_capped"]
    assert said == ([{"level": "warning", "channel": "x", "source": "x-mentions", "reset_at": capped,
                      "retry_in_seconds": delay}] if capped else [])
    until = redis.hget("lapor:health:signals:x", "rate_limited_until")
    if capped:
        assert float(until or 0) == NOW + delay
    elif delay == 0.2:  # no reset ahead: rate limited until a poll gets through, not until a time gone by
        assert until is None
    assert "channel.bad_payload" not in {e["event"] for e in events}
    assert settings.x.bearer_token not in log_stream.getvalue()


def test_a_429_within_the_longest_wait_is_not_logged_as_capped(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """A reset within `x.rate_limit_max_wait_seconds` is waited for as given, and nothing says it was cut: with a
    real clock, which moves between reading the reset's wait and taking it, every 429 was logged
    `channel.rate_limit_wait_capped` (the warning for a skewed clock), and the view's end moved past the reset."""
    ticks = iter(range(1_000_000))

    def moving_clock() -> float:
        return NOW + next(ticks) / 1000

    reset = int(NOW) + 600
    fake.fail("/x/2/users", 429, body=fixture("x/too_many_requests.json"),
              headers={"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)})

    delay = XMentionsPoller(settings, redis, intake, clock=moving_clock).poll_once()

    assert delay == pytest.approx(601.0, abs=0.1)
    events = log_events(log_stream)
    assert [e["event"] for e in events if e["event"] == "channel.rate_limited"] == ["channel.rate_limited"]
    assert "channel.rate_limit_wait_capped" not in {e["event"] for e in events}
    assert float(redis.hget("lapor:health:signals:x", "rate_limited_until") or 0) == reset


@pytest.mark.parametrize(
    ("remaining", "reset_in", "expected"),
    [
        pytest.param("449", 900, 15.0, id="plenty-left-polls-at-the-floor"),
        pytest.param("10", 900, 90.0, id="spread-over-the-window"),
        pytest.param("1", 900, 900.0, id="last-call-capped"),
        pytest.param("0", 120, 121.0, id="none-left-waits-for-reset"),
        # A reset far ahead after a good poll: the poller slept 103,775,290 s, the channel stuck until a restart.
        pytest.param("0", 103_775_290, 900.0, id="none-left-far-future-reset-capped"),
    ],
)
def test_the_poll_interval_adapts_to_the_remaining_quota(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, remaining: str, reset_in: int,
    expected: float,
) -> None:
    settings = test_env.settings(**fake.env(LAPOR_X_POLL_INTERVAL_SECONDS="15"))
    fake.fail("/x/2/users", 200, body={"meta": {"result_count": 0}},
              headers={"x-rate-limit-remaining": remaining, "x-rate-limit-reset": str(int(NOW) + reset_in)})
    intake = Intake(redis, settings)
    assert make_poller(settings, redis, intake).poll_once() == pytest.approx(expected)
    intake.close()


def test_an_auth_error_marks_the_channel_down_and_retries_slowly_without_crashing(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    settings = test_env.settings(**fake.env(LAPOR_X_BEARER_TOKEN="revoked-token", LAPOR_X_AUTH_RETRY_SECONDS="300"))
    intake = Intake(redis, settings)
    poller = make_poller(settings, redis, intake)
    assert poller.poll_once() == 300
    assert poller.poll_once() == 300
    intake.close()
    down = [e for e in log_events(log_stream) if e["event"] == "channel.auth_failed"]
    assert len(down) == 2
    assert (down[0]["channel"], down[0]["source"], down[0]["status"]) == ("x", "x-mentions", 401)
    assert "revoked-token" not in log_stream.getvalue()
    # The operator's views say the same: the poller's failures reach the health model under the channel "x"
    # (config/health.toml: degraded after one authentication failure, down after three in a row).
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), data_dir=settings.data_dir)
    x_health = {health["channel"]: health for health in monitor.status()["channels"]}["x"]
    assert x_health["state"] == "degraded"
    assert "auth" in x_health["reason"]
    poller.poll_once()
    x_health = {health["channel"]: health for health in monitor.status()["channels"]}["x"]
    assert x_health["state"] == "down"


@pytest.mark.parametrize(("page", "says"), [
    pytest.param("x/mentions_account_suspended.json", "account suspended", id="suspended"),
    pytest.param("x/mentions_account_not_found.json", "account not found", id="not-found"),
    pytest.param("x/mentions_account_protected.json", "account not readable", id="protected"),
])
def test_a_200_that_only_says_the_account_cannot_be_read_marks_the_channel_down_with_why(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO, page: str, says: str
) -> None:
    """X answers a mentions call for a suspended, unknown (a mistyped `x.user_id`) or protected account with a 200
    whose `errors` name the account and no `data`: read as an empty page, every poll was a success, the channel shown
    healthy while no mention could ever be read."""
    settings = test_env.settings(**fake.env(LAPOR_X_AUTH_RETRY_SECONDS="300"))
    intake = Intake(redis, settings)
    poller = make_poller(settings, redis, intake)
    for _ in range(3):
        fake.fail("/x/2/users", 200, body=fixture(page))
        assert poller.poll_once() == 300
    intake.close()
    [line, *_] = [e for e in log_events(log_stream) if e["event"] == "channel.auth_failed"]
    assert line["status"] == 200 and says in line["detail"]
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), data_dir=settings.data_dir)
    x_health = {health["channel"]: health for health in monitor.status()["channels"]}["x"]
    assert x_health["state"] == "down" and says in x_health["reason"]
    assert x_health["last_poll_ok_at"] is None
    assert x_progress(redis, X_USER_ID).load().keys() <= {"start_time"}


def test_a_429_for_the_monthly_usage_cap_says_so_and_is_no_rate_limit_waited_out(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """X answers 429 `UsageCapExceeded` once the plan's monthly cap is used up, with the 15-minute window's headers
    (40,000 calls, 39,999 left): read as a rate limit, every view said "rate limited until" a quarter of an hour
    ahead, over and over, for the rest of the month, while no mention was read and those past the newest 800 fell
    out of reach. The views say what it is."""
    fake.fail("/x/2/users", 429, body=fixture("x/usage_capped.json"), headers={
        "x-rate-limit-limit": "40000", "x-rate-limit-remaining": "39999", "x-rate-limit-reset": str(int(NOW) + 600)})
    make_poller(settings, redis, intake).poll_once()
    x_health = {h["channel"]: h for h in HealthMonitor(redis, load_rules(settings.health.rules_path()))
                .status()["channels"]}["x"]
    assert x_health["last_errors"][0]["kind"] == "poll_failed"
    assert x_health["last_errors"][0]["reason"].startswith(
        f"{fake.url.removeprefix('http://')} answered 429 UsageCapExceeded: the plan's Monthly Product cap")
    assert redis.hget("lapor:health:signals:x", "rate_limited_since") is None
    assert "Usage cap exceeded" not in log_stream.getvalue()  # X's words are not ours to log
    assert x_progress(redis, X_USER_ID).load().keys() <= {"start_time"}


def test_an_error_about_what_a_page_includes_is_not_the_accounts_and_the_poll_succeeds(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """`section: includes` says the error is about an expansion (an author, a quoted post), whatever it names."""
    error = {**fixture("x/mentions_account_suspended.json")["errors"][0], "section": "includes"}
    fake.fail("/x/2/users", 200, body={"errors": [error], "meta": {"result_count": 0}})
    assert make_poller(settings, redis, intake).poll_once() == settings.x.poll_interval_seconds
    x_health = {h["channel"]: h for h in HealthMonitor(redis, load_rules(settings.health.rules_path()))
                .status()["channels"]}["x"]
    assert x_health["state"] == "ok" and x_health["last_poll_ok_at"] is not None


@pytest.mark.parametrize(("status", "event"), [pytest.param(429, "channel.rate_limited", id="rate-limited"),
                                               pytest.param(503, "channel.provider_error", id="server-error")])
def test_a_provider_error_line_claims_no_state_the_health_views_do_not_show(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    status: int, event: str,
) -> None:
    """A 429 degrades the channel only after rate_limited_degraded_seconds (5 min), a failing poll after
    poll_failing_degraded_seconds: until then every view shows it ok, and the line that logged the error said
    "channel_state: degraded". A change of state is the channel.health line's to tell."""
    fake.fail("/x/2/users", status, body={"errors": [{"message": "x"}]},
              headers={"x-rate-limit-reset": str(int(time.time()) + 600)})
    make_poller(settings, redis, intake).poll_once()
    [line] = [e for e in log_events(log_stream) if e["event"] == event]
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), data_dir=settings.data_dir)
    assert {health["channel"]: health for health in monitor.status()["channels"]}["x"]["state"] == "ok"
    assert "channel_state" not in line


@pytest.mark.parametrize(
    ("status", "says"),
    [
        pytest.param(503, "{host} answered 503 Service Unavailable", id="503"),
        pytest.param(500, "{host} answered 500 Internal Server Error", id="500"),
        pytest.param(None, "ConnectionError talking to {host}", id="nothing-listening"),
    ],
)
def test_a_failing_poll_says_what_failed_in_the_status_views(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, status: int | None, says: str
) -> None:
    """The views said "poller failing for 12 min: server" (the error's kind): the operator could not tell an X
    outage from a network that no longer reaches it. They say what the provider answered, or that nothing did, and
    which host (the IMAP poller's reason named its server, X's none: the operator had to find which host `pollers`
    polls), and when the poller tries again."""
    if status is None:
        port = free_port()
        # A user and password in the URL (a proxy's) never reach a reason: the host and port alone.
        settings = test_env.settings(**fake.env(LAPOR_X_BASE_URL=f"http://relay:s3cr3t-pw@127.0.0.1:{port}/x"))
        host = f"127.0.0.1:{port}"
    else:
        settings = test_env.settings(**fake.env())
        fake.fail("/x/2/users", status)
        host = fake.url.removeprefix("http://")
    says = says.format(host=host)
    intake = Intake(redis, settings)
    delay = make_poller(settings, redis, intake).poll_once()
    intake.close()
    # When it polls again, for the views to say ("(next try ...)"): its backoff's wait, on its clock.
    assert float(redis.hget(SIGNALS_KEY.format(channel="x"), "poll_retry_at") or 0) == NOW + delay
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), clock=lambda: time.time() + 130)
    x_health = {h["channel"]: h for h in monitor.status()["channels"]}["x"]
    assert x_health["last_errors"][0]["reason"] == says
    [failing] = [f for f in x_health["findings"] if f["rule"] == "poll_failing"]
    next_try = datetime.fromtimestamp(NOW + delay, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    assert failing["reason"] == f"poller failing for 2 min: {says} (next try {next_try})"
    assert "s3cr3t" not in orjson.dumps(monitor.status()).decode() and X_TOKEN not in failing["reason"]


def test_a_poller_round_that_crashes_fails_the_channel_in_the_status_views_until_a_round_goes_through(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """A step that raises past the poller's error handling (a bug of ours; here the page's filing, twice). Logged
    `poller.crashed` alone, every view went on showing the channel healthy, its last success standing, while each
    round crashed again 30 s later. The views say the poll fails, why (the error's type: its words may quote a post),
    that it is a bug to read in the log, and when it tries again; a round that goes through clears it."""
    tweet = fake.state.add_tweet("@lapor1708 lampu jalan mati di Jl. Dago")
    poller, stop = make_poller(settings, redis, intake, time.time), threading.Event()
    take, crashes = poller.mentions.take, iter([ValueError("a bug"), ValueError("a bug")])

    def take_with_a_bug(*args: Any, **kwargs: Any) -> Any:
        error = next(crashes, None)
        if error is not None:
            raise error
        return take(*args, **kwargs)

    poller.mentions.take = take_with_a_bug  # type: ignore[method-assign]
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), clock=lambda: time.time() + 130)
    seen: list[dict[str, Any]] = []

    def after_round(seconds: float | None = None) -> bool:  # the loop's sleep, without sleeping
        seen.append({h["channel"]: h for h in monitor.status()["channels"]}["x"])
        retry_at = redis.hget(SIGNALS_KEY.format(channel="x"), "poll_retry_at")
        seen[-1]["next_try_in"] = float(retry_at) - time.time() if retry_at else None
        if len(seen) == 3:
            stop.set()
        return stop.is_set()

    stop.wait = after_round  # type: ignore[method-assign]
    run_poller(poller, stop)

    assert [e["error"] for e in log_events(log_stream) if e["event"] == "poller.crashed"] == ["ValueError"] * 2
    for crashed in seen[:2]:
        [failing] = [f for f in crashed["findings"] if f["rule"] == "poll_failing"]
        assert failing["reason"] == "poller failing for 2 min: poller crashed: ValueError"
        assert crashed["next_try_in"] == pytest.approx(30, abs=2)  # the crashed round's wait (CRASH_RETRY_SECONDS)
        assert "poller.crashed" in failing["action"] and "the provider or the network" not in failing["action"]
        # The same crash again is no further entry among the last errors
        assert [e["reason"] for e in crashed["last_errors"]] == ["poller crashed: ValueError"]
    assert [f for f in seen[2]["findings"] if f["rule"] == "poll_failing"] == []
    assert tweet["id"] in reports_by_tweet(redis)


def test_a_page_whose_newest_id_is_no_post_id_is_a_bad_payload_whose_mentions_are_taken(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """A page whose `meta.newest_id` is no post id (a spoiled answer) raised where the cursor is moved, every round:
    `poller crashed: ValueError` in the views, a bug to look for. It is a bad payload, which says so: the cursor
    stays, and the mentions on the page are taken (a page read again files none twice)."""
    tweet = fake.state.add_tweet("@lapor1708 lampu jalan mati di Jl. Dago")
    page = fixture("x/mentions_page.json")
    page["meta"]["newest_id"] = "?"
    fake.fail("/x/2/users", 200, body=page, count=2)
    for _ in range(2):
        make_poller(settings, redis, intake).poll_once()

    events = log_events(log_stream)
    assert "poller.crashed" not in {e["event"] for e in events}
    assert [e["detail"] for e in events if e["event"] == "channel.bad_payload"] == [
        "unreadable mentions page: meta.newest_id is no post id"] * 2
    assert set(reports_by_tweet(redis)) == {"1860000000000000404", "1860000000000000101"}
    assert x_progress(redis, X_USER_ID).load().keys() <= {"start_time"}  # no cursor moved
    x_health = {h["channel"]: h for h in HealthMonitor(redis, load_rules(settings.health.rules_path()))
                .status()["channels"]}["x"]
    assert x_health["last_errors"][0]["kind"] == "poll_failed"
    assert "newest_id" in x_health["last_errors"][0]["reason"]

    make_poller(settings, redis, intake).poll_once()  # X's answer mended: the walk goes on, the cursor moves
    assert tweet["id"] in reports_by_tweet(redis)
    assert x_progress(redis, X_USER_ID).load() == {"since_id": tweet["id"]}


def test_a_walk_saved_with_a_newest_id_that_is_no_post_id_goes_on_and_moves_the_cursor(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """A walk whose progress holds a `newest_id` that is no post id (saved from a spoiled first page by an earlier
    release) crashed at its last page, every round, resumed from that progress again: it is dropped, and the cursor
    moves to the newest the walk's last page names."""
    page = fixture("x/mentions_page.json")
    x_progress(redis, X_USER_ID).save(since_id="1860000000000000001", next_token="7140dibdnow9c7btw3z2vwioavpvutgzrzm",
                                      newest_id="?")
    fake.fail("/x/2/users", 200, body=page)
    make_poller(settings, redis, intake).poll_once()
    assert "poller.crashed" not in {e["event"] for e in log_events(log_stream)}
    assert x_progress(redis, X_USER_ID).load() == {"since_id": page["meta"]["newest_id"]}


@pytest.mark.parametrize(("status", "body", "says", "does"), [
    pytest.param(401, "x/unauthorized.json", "{host} answered 401 Unauthorized",
                 ("X refuses the poller's token", "set LAPOR_X_BEARER_TOKEN"), id="401-token"),
    pytest.param(403, None, "{host} answered 403 Forbidden",
                 ("access to mentions", "tweet.read and users.read scopes", "LAPOR_X_BEARER_TOKEN"), id="403-scope"),
    pytest.param(200, "x/mentions_account_suspended.json",
                 "{host} answered 200 with errors: account suspended (x.user_id)", ("LAPOR_X_USER_ID",),
                 id="200-account-suspended"),
])
def test_a_refused_token_names_the_host_that_refused_it_and_what_to_set(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, status: int, body: str | None, says: str,
    does: tuple[str, ...],
) -> None:
    """"authentication failing (1 in a row): 401 Unauthorized" named no host, where a failing poll's reason names the
    one it failed at (`LAPOR_X_BASE_URL`'s), and its step said to renew the token whatever X refused: a 403 for the
    token's access, or an account X cannot read, is not mended so. The reason names the host; the step says what to
    set for what X refused, and to restart the pollers. It says when the poller asks again, as a failing poll's
    reason does: the poller waited its 5 min in silence, and a refusal X stopped giving cleared by itself then."""
    settings = test_env.settings(**fake.env())
    fake.fail("/x/2/users", status, body=fixture(body) if body else {"title": "Forbidden"})
    intake = Intake(redis, settings)
    delay = make_poller(settings, redis, intake).poll_once()
    intake.close()
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()))
    x_health = {h["channel"]: h for h in monitor.status()["channels"]}["x"]
    says = says.format(host=fake.url.removeprefix("http://"))
    next_try = datetime.fromtimestamp(NOW + delay, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    assert delay == settings.x.auth_retry_seconds
    assert (x_health["state"], x_health["reason"]) == ("degraded",
                                                       f"authentication failing (1 in a row): {says} (next try "
                                                       f"{next_try})")
    [action] = x_health["actions"]
    assert all(words in action for words in (*does, "restart `lapor-gateway pollers`")), action


def test_the_fake_providers_faults_can_be_cleared_all_or_by_path(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis
) -> None:
    """A fault queued with a large `count` (X's token revoked, `"status": 401, "count": 100`) held until it was used
    up or the fake provider restarted: `DELETE /_fake/faults` drops them, `?path=` those queued for that path."""
    settings = test_env.settings(**fake.env())
    with httpx.Client(base_url=fake.url, timeout=10) as control:
        for path in ("/x/2/users", "/graph"):
            queued = control.post("/_fake/faults", json={"path": path, "status": 401, "count": 100})
            assert queued.status_code == 201, queued.text
        assert control.delete("/_fake/faults", params={"path": "/x/2/users"}).json() == {"cleared": 1}
        intake = Intake(redis, settings)
        try:
            make_poller(settings, redis, intake).poll_once()
        finally:
            intake.close()
        assert redis.hget(SIGNALS_KEY.format(channel="x"), "last_poll_ok_at") is not None  # X answers again
        assert [fault.path for fault in fake.state.faults] == ["/graph"]  # the other path's fault kept
        assert control.delete("/_fake/faults").json() == {"cleared": 1}
        assert fake.state.faults == []


@pytest.mark.parametrize("succeeded_between", [True, False], ids=["a-poll-ok-between", "refused-in-a-row"])
def test_a_token_refused_by_the_previous_releases_poller_gets_no_step_of_an_earlier_refusal(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, succeeded_between: bool
) -> None:
    """What X refused (`last_auth_refusal`) is new; the previous release's poller (a rollback, or both running during
    the upgrade) records an auth failure writing `last_auth_error` alone. The refusal left from an earlier 403 (a
    permission) stayed, and the views gave the permission's step for a revoked token: it is read only with the error
    it came with, and a poll that goes through clears it."""
    settings = test_env.settings(**fake.env())
    fake.fail("/x/2/users", 403, body={"title": "Forbidden"})
    intake = Intake(redis, settings)
    poller = make_poller(settings, redis, intake)
    poller.poll_once()
    key = SIGNALS_KEY.format(channel="x")
    assert redis.hget(key, "last_auth_refusal") == b"permission"
    if succeeded_between:
        poller.poll_once()
        assert redis.hget(key, "last_auth_refusal") is None and redis.hget(key, "auth_failures") == b"0"
    intake.close()
    previous_module("gateway/health.py").HealthSignals(redis).auth_failed("x", "401 Unauthorized")
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()))
    x_health = {h["channel"]: h for h in monitor.status()["channels"]}["x"]
    assert x_health["reason"].endswith(": 401 Unauthorized")
    [action] = x_health["actions"]
    assert "renew or fix LAPOR_X_BEARER_TOKEN" in action and "access to mentions" not in action, action


def test_an_error_raised_before_any_answer_puts_no_word_of_the_request_in_a_reason(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """requests refuses a header it cannot send (a token pasted with its line break) with an InvalidHeader that
    quotes the header, the bearer token in it: classified a bad payload with the error's words, it went to the
    status views, the dead letters and the log. The reason has the error's type and the host alone."""
    token = "AAAA-secret-bearer-token\nwith-its-line-break"
    poller = XMentionsPoller(settings, redis, intake, clock=fixed_clock,
                             client=build_client(settings.x.base_url, token))
    poller.poll_once()
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), clock=lambda: time.time() + 130)
    x_health = {h["channel"]: h for h in monitor.status()["channels"]}["x"]
    assert x_health["last_errors"][0]["reason"] == f"InvalidHeader talking to {fake.url.removeprefix('http://')}"
    assert "secret-bearer" not in orjson.dumps(monitor.status()).decode()
    assert "secret-bearer" not in log_stream.getvalue()


def test_a_poll_that_succeeds_again_brings_the_channel_back(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis
) -> None:
    settings = test_env.settings(**fake.env())
    intake = Intake(redis, settings)
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), data_dir=settings.data_dir)
    fake.fail("/x/2/users", 500)
    make_poller(settings, redis, intake).poll_once()
    failing = {h["channel"]: h for h in monitor.status()["channels"]}["x"]
    assert failing["last_errors"][0]["kind"] == "poll_failed"
    assert failing["last_poll_ok_at"] is None
    fake.fail("/x/2/users", 200, body={"meta": {"result_count": 0}})
    make_poller(settings, redis, intake).poll_once()
    intake.close()
    recovered = {h["channel"]: h for h in monitor.status()["channels"]}["x"]
    assert recovered["state"] == "ok"
    assert recovered["last_poll_ok_at"] is not None
    assert not redis.hexists(SIGNALS_KEY.format(channel="x"), "poll_retry_at")


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        pytest.param(401, "x/unauthorized.json", ProviderErrorKind.AUTH, id="401-auth"),
        pytest.param(403, None, ProviderErrorKind.AUTH, id="403-auth"),
        pytest.param(429, "x/too_many_requests.json", ProviderErrorKind.RATE_LIMIT, id="429-rate-limit"),
        pytest.param(500, None, ProviderErrorKind.SERVER, id="500-server"),
        pytest.param(503, "x/service_unavailable.json", ProviderErrorKind.SERVER, id="503-server"),
        pytest.param(400, None, ProviderErrorKind.BAD_PAYLOAD, id="400-bad-payload"),
    ],
)
def test_provider_errors_are_classified(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    status: int, body: str | None, kind: ProviderErrorKind,
) -> None:
    fake.fail("/x/2/users", status, body=fixture(body) if body else {"errors": [{"message": "x"}]},
              headers={"x-rate-limit-reset": str(int(NOW) + 60)})
    poller = make_poller(settings, redis, intake)
    try:
        poller._page(None, None)
    except Exception as error:  # the tweepy/requests exception, classified
        assert classify(error).kind is kind
    else:
        pytest.fail("no error raised")
    fake.fail("/x/2/users", status, body=fixture(body) if body else {"errors": [{"message": "x"}]},
              headers={"x-rate-limit-reset": str(int(NOW) + 60)})
    poller.poll_once()
    events = {e["event"] for e in log_events(log_stream)}
    expected_event = {ProviderErrorKind.AUTH: "channel.auth_failed", ProviderErrorKind.RATE_LIMIT:
                      "channel.rate_limited", ProviderErrorKind.SERVER: "channel.provider_error",
                      ProviderErrorKind.BAD_PAYLOAD: "channel.bad_payload"}[kind]
    assert expected_event in events
    assert x_progress(redis, X_USER_ID).load().keys() <= {"start_time"}  # no cursor moved


ODD_ANSWERS = [
    pytest.param(503, ["upstream unavailable"], "channel.provider_error", "503 Service Unavailable", id="503-list"),
    pytest.param(503, "upstream unavailable", "channel.provider_error", "503 Service Unavailable", id="503-string"),
    pytest.param(503, {"errors": [5]}, "channel.provider_error", "503 Service Unavailable", id="503-errors-ints"),
    pytest.param(400, {"errors": "bad"}, "channel.bad_payload", "BadRequest: 400 Bad Request", id="400-errors-str"),
    pytest.param(429, ["slow down"], "channel.rate_limited", "429 Too Many Requests", id="429-list"),
    pytest.param(200, ["x"], "channel.bad_payload", "unreadable mentions page", id="200-list"),
    pytest.param(200, {"data": [5], "meta": {}}, "channel.bad_payload", "unreadable mentions page", id="200-data-ints"),
    pytest.param(200, {"data": [{"text": "no id"}], "meta": {}}, "channel.bad_payload", "unreadable mentions page",
                 id="200-tweet-without-id"),
    pytest.param(200, {"meta": "x"}, "channel.bad_payload", "unreadable mentions page", id="200-meta-a-string"),
]


@pytest.mark.parametrize(("status", "body", "event", "says"), ODD_ANSWERS)
def test_an_answer_of_an_unexpected_shape_is_classified_not_a_crash(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    status: int, body: Any, event: str, says: str,
) -> None:
    """A proxy's 503 whose JSON is a string or a list, an `errors` that is no list of objects, a 200 that is no page:
    tweepy raised AttributeError or TypeError reading them, the poll crashed (`poller.crashed`, retried after 30 s,
    the channel shown healthy) and a 429's reset was lost. Each is now the kind its status says, which the views
    show."""
    reset = int(time.time()) + 600
    fake.fail("/x/2/users", status, body=body, headers={"x-rate-limit-reset": str(reset)})
    poller = XMentionsPoller(settings, redis, intake)
    delay = poller.poll_once()
    [line] = [e for e in log_events(log_stream) if e["event"] == event]
    assert line["detail"].startswith(says)
    if status == 429:
        assert 590 <= delay <= 602  # the reset kept
    assert x_progress(redis, X_USER_ID).load().keys() <= {"start_time"}  # no cursor moved
    x_health = {h["channel"]: h for h in HealthMonitor(redis, load_rules(settings.health.rules_path()))
                .status()["channels"]}["x"]
    assert x_health["last_poll_ok_at"] is None
    assert x_health["last_errors"][0]["kind"] == ("rate_limited" if status == 429 else "poll_failed")


@pytest.mark.parametrize("body", [pytest.param(["x"], id="list"), pytest.param({"data": ["x"]}, id="data-list")])
def test_a_reply_whose_answer_cannot_be_read_is_retried_as_maybe_posted_not_a_crash(
    fake: FakeProviderServer, settings: Settings, body: Any
) -> None:
    """A 201 whose body is no tweet: the reply may be out. It crashed the job as a bug; it is a server error now,
    retried, and X's "duplicate content" to the retry says it went out."""
    fake.fail("/x/2/tweets", 201, body=body, method="POST")
    client = XReplyClient(settings)
    with pytest.raises(ProviderError) as raised:
        client.reply("1859325037151428609", "Laporan Anda kami terima.")
    client.close()
    assert raised.value.kind is ProviderErrorKind.SERVER and raised.value.status == 200


def test_an_unreadable_page_is_a_bad_payload_and_moves_no_cursor(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    fake.fail("/x/2/users", 200, body={"data": [{"id": "not-a-number", "text": 5}], "meta": {"newest_id": "9"}})
    make_poller(settings, redis, intake).poll_once()
    assert "channel.bad_payload" in {e["event"] for e in log_events(log_stream)}
    assert x_progress(redis, X_USER_ID).load().keys() <= {"start_time"}  # no cursor moved


# -- replies ------------------------------------------------------------------------------------------------
PRIVATE_CASES = [
    pytest.param("@lapor1708 Kepala desa Sukamaju minta uang pelicin untuk KTP", id="plain"),
    pytest.param("@lapor1708 #anonim Kepala desa Sukamaju minta uang pelicin untuk KTP", id="anonymous"),
    pytest.param("@lapor1708 #rahasia Kepala desa Sukamaju minta uang pelicin untuk KTP", id="confidential"),
    pytest.param("@lapor1708 WBS #anonim #rahasia Kepala desa Sukamaju minta uang pelicin", id="both"),
    pytest.param("@lapor1708 The village head in Sukamaju asks for bribes, please help", id="english"),
]


@pytest.mark.parametrize("text", PRIVATE_CASES)
def test_a_public_reply_carries_the_tracking_id_and_link_and_nothing_of_the_complaint_or_sender(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, text: str
) -> None:
    tweet = fake.state.add_tweet(text, username="siti_rahma", name="Siti Rahmawati")
    make_poller(settings, redis, intake).poll_once()
    run_reply_jobs(settings)

    (report,) = envelopes(redis)
    (reply,) = fake.state.x_replies
    assert reply["in_reply_to_tweet_id"] == tweet["id"]
    assert report["tracking_id"] in reply["text"]
    assert f"https://www.lapor.go.id/pengaduan/{report['tracking_id']}" in reply["text"]
    for private in ("Sukamaju", "pelicin", "bribes", "Kepala", "village", "Siti", "Rahma", "siti_rahma"):
        assert private.lower() not in reply["text"].lower()
    # Nor the report's flags: the SMS and mail acknowledgements say them (`[ack_confidential]`...), a public reply
    # never does. It would mark the author of an #anonim mention as a whistleblower, and "isi tidak dipublikasikan"
    # under a post anyone can read would promise what the mention itself does not keep.
    for flag in ("anonim", "anonymous", "rahasia", "confidential", "publik", "public", "private"):
        assert flag not in reply["text"].lower()


SOCIAL_TEMPLATES = [
    pytest.param(key, language, id=f"{key}-{language}")
    for key, table in load_replies().items() if key.startswith("social_") for language in table
    if language != "former"  # a former text is no longer sent
]


@pytest.mark.parametrize(("reply_key", "language"), SOCIAL_TEMPLATES)
def test_every_public_reply_text_carries_a_link_and_the_mentions_reference_and_fits_a_tweet(
    settings: Settings, reply_key: str, language: str
) -> None:
    template = load_replies()[reply_key][language]
    assert "{ref}" in template
    # The longest number a citizen may type as a Tracking ID, shown cut to an ID's length.
    typed_id = "9" * 300 if "{typed_id}" in template else None
    text = social_reply.reply_text(settings, reply_key, VALID_ID, language, "1859325037151428609", typed_id)
    assert "https://www.lapor.go.id" in text
    assert text.endswith(f"(ref {social_reply.mention_ref('1859325037151428609')})")
    assert len(text) <= 280
    assert not typed_id or "99999999999999…" in text


@pytest.mark.parametrize(("language", "public", "promise"), [
    ("id", "tetap publik", "tidak dipublikasikan"), ("en", "stays public", "private")])
def test_the_public_help_says_a_mention_stays_public_whichever_flag_it_carries(
        settings: Settings, language: str, public: str, promise: str) -> None:
    """"#rahasia agar isi tidak dipublikasikan" ("so the content is not published") under a public post let a citizen
    put in her mention what she believed hidden: #rahasia keeps the report off LAPOR!'s pages, not her post off X."""
    text = social_reply.reply_text(settings, "social_help", None, language, "1859325037151428609", None)
    assert text.index("#anonim") < text.index("#rahasia") < text.index(public)
    assert promise not in text


@pytest.mark.parametrize(
    ("text", "reply_key"),
    [
        pytest.param("@lapor1708 bantuan", "social_help", id="help"),
        pytest.param(f"@lapor1708 CEK {VALID_ID}", "social_status", id="status-of-one-report"),
        pytest.param(f"@lapor1708 {VALID_ID} lubangnya makin besar", "social_follow_up", id="follow-ups-to-one-report"),
    ],
)
def test_every_mention_gets_its_reply_when_the_replies_would_otherwise_be_the_same_text(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, text: str, reply_key: str
) -> None:
    """X refuses a tweet whose text the account posted before ("duplicate content"): two citizens asking for help,
    checking one report or adding to it get their replies all the same, each with its mention's reference."""
    redis.set(SEQUENCE_KEY, 2_000_000)  # VALID_ID was minted: a follow-up to it is one
    mentions = [fake.state.add_tweet(text, username=f"warga_{n}") for n in range(3)]
    make_poller(settings, redis, intake).poll_once()
    assert {job[2] for job in reply_jobs(redis)} == {reply_key}
    run_reply_jobs(settings)
    replies = {reply["in_reply_to_tweet_id"]: reply["text"] for reply in fake.state.x_replies}
    assert sorted(replies) == sorted(mention["id"] for mention in mentions)
    for mention in mentions:
        assert replies[mention["id"]].endswith(f"(ref {social_reply.mention_ref(mention['id'])})")
    assert DeadLetters(redis).list() == []


@pytest.mark.parametrize("text", ["@lapor1708 bantuan", f"@lapor1708 CEK {VALID_ID}", "@lapor1708 got macet"])
def test_any_reply_posted_but_not_recorded_is_taken_for_sent_when_x_refuses_its_retry_as_a_duplicate(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO, text: str
) -> None:
    """A help text or a status link is this mention's own text too (its reference): X's "duplicate content" on an
    attempt after one that may have posted proves the reply is out, even when another citizen got the same help."""
    redis.set(SEQUENCE_KEY, 2_000_000)
    fake.state.add_tweet("@lapor1708 bantuan", username="warga_lain")
    tweet = fake.state.add_tweet(text)
    make_poller(settings, redis, intake).poll_once()
    [args] = [job for job in reply_jobs(redis) if job[1] == {"tweet_id": tweet["id"]}]
    run_reply_jobs(settings)
    for key in redis.scan_iter("lapor:social:replied:*"):
        redis.delete(key)  # the attempts that posted never recorded it
    queue(REPLY_QUEUE, redis).enqueue("workers.social_reply.send_social_reply", *args)
    run_reply_jobs(settings)
    assert len(fake.state.x_replies) == 2
    assert DeadLetters(redis).list() == []
    assert "reply.already_posted" in {e["event"] for e in log_events(log_stream)}


def test_a_reply_is_sent_once_even_when_its_job_runs_twice(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    fake.state.add_tweet("@lapor1708 gorong-gorong tersumbat")
    make_poller(settings, redis, intake).poll_once()
    (args,) = reply_jobs(redis)
    queue(REPLY_QUEUE, redis).enqueue("workers.social_reply.send_social_reply", *args)
    run_reply_jobs(settings)
    assert len(fake.state.x_replies) == 1


def test_two_jobs_of_one_reply_at_the_same_moment_post_it_once(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, monkeypatch: pytest.MonkeyPatch,
    log_stream: io.StringIO,
) -> None:
    """The reply queued twice, its two jobs on two reply workers at once: the second, trying while the first is
    posting, posts nothing and is retried; its retry finds the reply sent. Without the lease the first would meet X's
    "duplicate content" for the second's post and dead-letter a reply that went out (Instagram would post it twice)."""
    fake.state.add_tweet("@lapor1708 gorong-gorong tersumbat")
    make_poller(settings, redis, intake).poll_once()
    (args,) = reply_jobs(redis)
    [second] = enqueue_calls(redis, settings, REPLY_QUEUE, "workers.social_reply.send_social_reply", [args])
    concurrently = SecondJobInFirstSend(social_reply._send, redis, second.id)
    monkeypatch.setattr(social_reply, "_send", concurrently)
    run_reply_jobs(settings)
    assert len(fake.state.x_replies) == 1
    assert [letter.reason for letter in DeadLetters(redis).list()] == []
    assert isinstance(concurrently.outcome, SendInProgress)
    events = log_events(log_stream)
    [busy] = [event for event in events if event["event"] == "reply.send_in_progress"]
    assert (busy["channel"], busy["source"], busy["tracking_id"]) == ("x", "x-reply", args[3])
    names = [event["event"] for event in events]
    assert (names.count("reply.sent"), names.count("reply.already_sent")) == (1, 1)


@pytest.mark.parametrize("holder", ["posted-the-reply", "died-without-posting"])
def test_a_reply_whose_send_lease_another_job_holds_through_every_retry_runs_again_once_the_lease_ended(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, intake: Intake, settings: Settings,
    log_stream: io.StringIO, holder: str,
) -> None:
    """Retries run out while another job holds the mention's lease: no dead letter (the holder may well post it), the
    job is queued again for just after the lease's end, and then posts the reply only if the holder did not."""
    fake.state.add_tweet("@lapor1708 gorong-gorong tersumbat")
    make_poller(settings, redis, intake).poll_once()
    (args,) = reply_jobs(redis)
    queue(REPLY_QUEUE, redis).empty()
    once = test_env.settings(**fake.env(), LAPOR_QUEUES_RETRY_INTERVALS="0")
    func = "workers.social_reply.send_social_reply"
    if holder == "posted-the-reply":
        enqueue_calls(redis, once, REPLY_QUEUE, func, [args])
        run_reply_jobs(once)
    enqueue_calls(redis, once, REPLY_QUEUE, func, [args])
    key = send_lease_key(f"twitter:{args[1]['tweet_id']}")
    redis.set(key, f"reply-b.lapor.internal:4242:{process_table()}:{secrets.token_hex(16)}", px=60_000)
    run_reply_jobs(once)
    assert len(fake.state.x_replies) == (1 if holder == "posted-the-reply" else 0)
    assert DeadLetters(redis).count() == 0
    replies = queue(REPLY_QUEUE, redis)
    [job_id] = replies.scheduled_job_registry.get_job_ids()
    again = replies.fetch_job(job_id)
    assert again is not None and tuple(again.args) == args
    assert (again.timeout, again.retries_left) == (once.queues.job_timeout_seconds, 1)
    redis.delete(key)  # released, or run out
    replies.scheduled_job_registry.remove(job_id)
    replies.enqueue_job(again)  # as the scheduler does once its time has come
    run_reply_jobs(once)
    assert len(fake.state.x_replies) == 1
    assert DeadLetters(redis).count() == 0 and replies.scheduled_job_registry.count == 0
    names = [event["event"] for event in log_events(log_stream)]
    assert names.count("reply.sent") == 1
    assert [event["rescheduled_in"] for event in log_events(log_stream) if "rescheduled_in" in event] != []


@pytest.mark.parametrize(
    ("has_tracking_id", "expected_start"),
    [
        pytest.param(True, "Laporan Anda kami terima. Nomor lacak: ", id="with-id-acknowledged"),
        pytest.param(False, "Sebut @lapor1708 dengan isi laporan Anda.", id="without-id-help"),
    ],
)
def test_a_reply_key_this_worker_does_not_know_is_sent_as_the_plain_reply_not_dead_lettered(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    has_tracking_id: bool, expected_start: str,
) -> None:
    """A newer gateway may queue a reply key an older worker's replies.toml lacks (a rolling deploy)."""
    fake.state.add_tweet("@lapor1708 jembatan gantung putus")
    make_poller(settings, redis, intake).poll_once()
    (args,) = reply_jobs(redis)
    channel, target, _, tracking_id, language = args
    redis.flushdb()  # this mention's reply marker too: only the job below runs
    queue(REPLY_QUEUE, redis).enqueue("workers.social_reply.send_social_reply", channel, target,
                                      "social_key_from_a_newer_gateway", tracking_id if has_tracking_id else None,
                                      language)
    run_reply_jobs(settings)
    (reply,) = fake.state.x_replies
    assert reply["text"].startswith(expected_start)
    assert (tracking_id in reply["text"]) is has_tracking_id
    assert DeadLetters(redis).list() == []
    (warning,) = [e for e in log_events(log_stream) if e["event"] == "reply.unknown_key"]
    assert warning["reply_key"] == "social_key_from_a_newer_gateway"


@pytest.mark.parametrize("reply_key", ["social_bad_tracking_id_photo", "social_follow_up_unknown"])
def test_a_reply_repeating_the_number_given_queued_without_it_is_sent_as_the_plain_reply(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    reply_key: str,
) -> None:
    """A reply job an older gateway queued (or a dead letter requeued) has no number given (a mistyped ID; an ID
    never issued, which older replies did not repeat): the citizen still gets their new report's Tracking ID, and the
    job is not dead-lettered."""
    fake.state.add_tweet("@lapor1708 jembatan gantung putus")
    make_poller(settings, redis, intake).poll_once()
    (args,) = reply_jobs(redis)
    channel, target, _, tracking_id, language = args
    redis.flushdb()  # this mention's reply marker too: only the job below runs
    queue(REPLY_QUEUE, redis).enqueue("workers.social_reply.send_social_reply", channel, target, reply_key,
                                      tracking_id, language)
    run_reply_jobs(settings)
    (reply,) = fake.state.x_replies
    assert reply["text"].startswith(f"Laporan Anda kami terima. Nomor lacak: {tracking_id}.")
    assert DeadLetters(redis).list() == []
    (warning,) = [e for e in log_events(log_stream) if e["event"] == "reply.unknown_key"]
    assert (warning["reply_key"], warning["reason"]) == (reply_key, "no_typed_id")


def test_replies_keep_to_the_configured_rate(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis
) -> None:
    settings = test_env.settings(**fake.env(LAPOR_X_REPLY_RATE_PER_MINUTE="2"))
    for n in range(5):
        fake.state.add_tweet(f"@lapor1708 keluhan {n} soal parkir liar")
    intake = Intake(redis, settings)
    make_poller(settings, redis, intake).poll_once()
    intake.close()
    run_reply_jobs(settings)
    assert len(fake.state.x_replies) == 2
    assert queue(REPLY_QUEUE, redis).scheduled_job_registry.count == 3


def test_a_backlog_over_the_reply_rate_is_tried_about_once_per_reply_not_again_every_minute(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis
) -> None:
    """A backlog of 40 replies at 4 a minute, each job run when it is scheduled (on a simulated clock): every reply
    over the limit waits for a place of its own. Sent all to the next minute, the backlog ran again whole there,
    and again less 4 the minute after: 40 replies took some 200 runs, where the limit allows each minute's 4."""
    settings = test_env.settings(**fake.env(LAPOR_X_REPLY_RATE_PER_MINUTE="4"))
    context = WorkerContext(settings=settings, redis=redis, casestore=None, watch=redis)  # type: ignore[arg-type]
    due = [NOW] * 40
    runs, sent_at = 0, []
    while due:
        now = min(due)
        due.remove(now)
        runs += 1
        wait = social_reply._over_rate(context, "twitter", now)
        if wait is None:
            sent_at.append(now)
        else:
            due.append(now + wait)
    assert len(sent_at) == 40
    per_minute = Counter(int(at // 60) for at in sent_at)
    assert max(per_minute.values()) <= 4 and len(per_minute) == 10  # the rate holds, and no minute is wasted
    assert runs <= 2 * 40


@pytest.mark.parametrize(
    ("status", "body", "dead_lettered", "scheduled", "reply_error"),
    [
        pytest.param(401, "x/unauthorized.json", 1, 0,
                     "x_auth (credentials refused): {host} answered 401 Unauthorized", id="auth-dead-letter"),
        pytest.param(403, None, 1, 0, "x_auth (permission refused): {host} answered 403 Forbidden",
                     id="forbidden-dead-letter"),
        pytest.param(429, "x/too_many_requests.json", 0, 1, None, id="rate-limit-rescheduled-at-reset"),
        pytest.param(503, "x/service_unavailable.json", 0, 1, None, id="server-error-retried"),
    ],
)
def test_a_failing_reply_is_retried_rescheduled_or_dead_lettered_by_kind(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, status: int, body: str | None,
    dead_lettered: int, scheduled: int, reply_error: str | None,
) -> None:
    """A reply refused for good is a dead letter, and the channel's last reply error (the views' "replies failing
    (3 in a row): ...") says X's answer beside its kind, and the host it came from (LAPOR_X_BASE_URL's), as the
    poller's reasons do: the kind alone, `x_auth`, did not tell a revoked token (401) from a refused post (403)."""
    fake.state.add_tweet("@lapor1708 trotoar dipakai parkir")
    make_poller(settings, redis, intake).poll_once()
    fake.fail("/x/2/tweets", status, body=fixture(body) if body else {"detail": "Forbidden"},
              headers={"x-rate-limit-reset": str(int(time.time()) + 120)})
    run_reply_jobs(settings)
    assert fake.state.x_replies == []
    letters = DeadLetters(redis).list()
    assert len(letters) == dead_lettered
    if letters:
        # Named as the status views and the README name the channel: `--channel x-reply`, `--reason x_auth`.
        assert (letters[0].queue, letters[0].channel, letters[0].reason) == (REPLY_QUEUE, "x-reply", "x_auth")
    assert queue(REPLY_QUEUE, redis).scheduled_job_registry.count == scheduled
    said = redis.hget(SIGNALS_KEY.format(channel="x"), "last_reply_error")
    host = endpoint(settings.x.base_url)
    assert (said.decode() if said else None) == (reply_error.format(host=host) if reply_error else None)
    # A reply put off by X's 429 names the host too, beside when it is tried again (the views' "replies rate limited
    # (... until ...): api.x.com answered 429 Too Many Requests").
    limited = redis.hget(SIGNALS_KEY.format(channel="x"), "last_reply_rate_limit")
    assert (limited.decode() if limited else None) == (f"{host} answered 429 Too Many Requests" if status == 429
                                                       else None)


@pytest.mark.parametrize(
    ("reset_in", "waits"),
    [
        pytest.param(120, 121, id="reset-within-the-window"),
        pytest.param(10 ** 8, 900, id="reset-years-ahead-capped"),
        pytest.param(-30, 60, id="reset-past-a-minute"),
    ],
)
def test_a_rate_limited_reply_waits_for_the_reset_at_most_the_longest_wait(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, reset_in: int, waits: float,
) -> None:
    """As the poller does (`x.rate_limit_max_wait_seconds`): a reset far ahead put the reply off for that long."""
    fake.state.add_tweet("@lapor1708 trotoar dipakai parkir")
    make_poller(settings, redis, intake).poll_once()
    fake.fail("/x/2/tweets", 429, body=fixture("x/too_many_requests.json"),
              headers={"x-rate-limit-reset": str(int(time.time()) + reset_in)})
    before = time.time()
    run_reply_jobs(settings)
    [(_, due)] = redis.zrange(queue(REPLY_QUEUE, redis).scheduled_job_registry.key, 0, -1, withscores=True)
    assert waits - 2 <= due - before <= waits + 2


def _run_scheduled_replies(settings: Settings, redis: Redis) -> None:
    """The replies put off, run now, as the scheduler does once their time has come."""
    replies = queue(REPLY_QUEUE, redis)
    for job_id in replies.scheduled_job_registry.get_job_ids():
        replies.scheduled_job_registry.remove(job_id)
        replies.enqueue_job(replies.fetch_job(job_id))
    run_reply_jobs(settings)


def _x_rate_limited(fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch, count: int) -> list[float]:
    """X answering the next `count` replies 429 (its limit reset in 2 min), and the reply worker's clock held: the
    clock, for the test to move on."""
    clock = [time.time()]
    monkeypatch.setattr(social_reply, "time", SimpleNamespace(time=lambda: clock[0]))
    fake.fail("/x/2/tweets", 429, body=fixture("x/too_many_requests.json"), count=count,
              headers={"x-rate-limit-reset": str(int(clock[0]) + 120)})
    return clock


def _mention_reply_without_retry_wait(fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis,
                                      intake: Intake) -> tuple[tuple[Any, ...], Settings]:
    """A mention polled, and its reply job queued again with retries that wait for nothing: its arguments, and the
    settings to run it with."""
    fake.state.add_tweet("@lapor1708 trotoar dipakai parkir")
    make_poller(test_env.settings(**fake.env()), redis, intake).poll_once()
    (args,) = reply_jobs(redis)
    queue(REPLY_QUEUE, redis).empty()
    once = test_env.settings(**fake.env(), LAPOR_QUEUES_RETRY_INTERVALS="0")
    enqueue_calls(redis, once, REPLY_QUEUE, "workers.social_reply.send_social_reply", [args])
    return args, once


def _x_health(settings: Settings, redis: Redis) -> dict[str, Any]:
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), data_dir=settings.data_dir)
    return {health["channel"]: health for health in monitor.status()["channels"]}["x"]


def test_a_reply_the_provider_keeps_rate_limiting_is_dead_lettered_past_the_longest_total_wait(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An account restricted from posting gets 429 to every reply for days: each was put off again and again,
    without end, with nothing but warnings. Past `x.reply_rate_limit_max_total_hours` (24 h) from its first attempt
    (kept with the reply in Redis), the next 429 dead-letters it, requeueable; before, it is put off."""
    fake.state.add_tweet("@lapor1708 trotoar dipakai parkir")
    make_poller(settings, redis, intake).poll_once()
    (args,) = reply_jobs(redis)
    clock = _x_rate_limited(fake, monkeypatch, count=3)
    started = clock[0]
    run_reply_jobs(settings)
    first_attempt = social_reply.FIRST_ATTEMPT_KEY.format(channel=args[0], target=args[1]["tweet_id"])
    for hours in (0, 23.9):  # put off, its first attempt kept
        if hours:
            clock[0] = started + hours * 3600
            _run_scheduled_replies(settings, redis)
        assert queue(REPLY_QUEUE, redis).scheduled_job_registry.count == 1
        assert float(redis.get(first_attempt) or 0) == started
        assert DeadLetters(redis).list() == []
    clock[0] = started + 24 * 3600
    _run_scheduled_replies(settings, redis)
    assert queue(REPLY_QUEUE, redis).scheduled_job_registry.count == 0 and fake.state.x_replies == []
    (letter,) = DeadLetters(redis).list()
    assert (letter.queue, letter.func, letter.channel, letter.reason) == (
        REPLY_QUEUE, "workers.social_reply.send_social_reply", "x-reply", "x_rate_limit")
    assert tuple(letter.args) == args and letter.tracking_id == args[3]
    assert "24.0 h after its first attempt" in letter.detail
    assert redis.hget("lapor:health:signals:x", "reply_failures") == b"1"
    assert not redis.exists(first_attempt)  # requeued, it starts afresh
    assert DeadLetters(redis).requeue([letter], settings).requeued == 1  # the account may post again
    run_reply_jobs(settings)
    (reply,) = fake.state.x_replies
    assert args[3] in reply["text"] and DeadLetters(redis).list() == []


def test_a_reply_refused_for_the_monthly_usage_cap_says_so_and_its_dead_letter_names_the_cap(
    fake: FakeProviderServer, settings: Settings
) -> None:
    """A reply refused for the plan's usage cap is put off as a rate limit is (the cap may be lifted by a plan
    raised), but says what it is: its dead letter read "x_rate_limit ... 429 Too Many Requests", and the operator
    waited for a quarter-hour window that was never the cause."""
    reset = int(time.time()) + 600
    fake.fail("/x/2/tweets", 429, body=fixture("x/usage_capped.json"), method="POST", headers={
        "x-rate-limit-limit": "40000", "x-rate-limit-remaining": "39999", "x-rate-limit-reset": str(reset)})
    client = XReplyClient(settings)
    with pytest.raises(ProviderError) as raised:
        client.reply("1859325037151428609", "Laporan Anda kami terima.")
    client.close()
    error = raised.value
    # the 15-minute window's reset is not the cap's: the worker waits its longest wait (workers.social_reply)
    assert (error.kind, error.reason, error.retry_at) == (ProviderErrorKind.RATE_LIMIT, "usage_cap", None)
    assert error.detail.startswith("429 UsageCapExceeded: the plan's Monthly Product cap is used up")


def test_a_rate_limited_reply_queued_again_after_another_jobs_lease_keeps_its_first_attempt(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, intake: Intake, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reply put off by 429s whose job then meets another job of it holding the mention's send lease through every
    retry is queued again once that lease ends (`wait_for_holder`): that new job started the reply's 24 hours afresh,
    so a reply whose other job kept crossing it was never dead-lettered. Its first attempt stays with the reply."""
    args, once = _mention_reply_without_retry_wait(fake, test_env, redis, intake)
    clock = _x_rate_limited(fake, monkeypatch, count=2)
    started = clock[0]
    run_reply_jobs(once)  # 429: put off
    assert queue(REPLY_QUEUE, redis).scheduled_job_registry.count == 1
    clock[0] = started + 23.9 * 3600
    key = send_lease_key(f"twitter:{args[1]['tweet_id']}")
    redis.set(key, f"reply-b.lapor.internal:4242:{process_table()}:{secrets.token_hex(16)}", px=60_000)
    _run_scheduled_replies(once, redis)  # the other job holds the lease through its retry: queued again after it
    assert [e for e in log_events(log_stream) if "rescheduled_in" in e] != []
    assert DeadLetters(redis).list() == [] and fake.state.x_replies == []
    redis.delete(key)  # released, or run out
    clock[0] = started + 24 * 3600
    _run_scheduled_replies(once, redis)
    (letter,) = DeadLetters(redis).list()
    assert (letter.channel, letter.reason) == ("x-reply", "x_rate_limit")
    assert "24.0 h after its first attempt" in letter.detail
    assert fake.state.x_replies == [] and queue(REPLY_QUEUE, redis).scheduled_job_registry.count == 0


def test_a_reply_dead_lettered_by_its_failure_starts_its_hours_afresh_once_requeued(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, intake: Intake,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reply put off by a 429, whose job then fails for good on an exception it does not decide (a bug, RQ's job
    timeout: `job_failed`, filed by the workers' failure handler, or `worker_died`, by the reaper), kept its first
    attempt in Redis past its dead letter: requeued the next day, the first 429 dead-lettered it again at once, where
    a requeued letter starts its hours afresh (as it did while the time travelled in the job's meta)."""
    args, once = _mention_reply_without_retry_wait(fake, test_env, redis, intake)
    clock = _x_rate_limited(fake, monkeypatch, count=1)
    started = clock[0]
    run_reply_jobs(once)  # 429: put off, its first attempt kept
    clock[0] = started + 3600
    with monkeypatch.context() as bug:
        bug.setattr(social_reply, "_send", lambda *_: (_ for _ in ()).throw(TypeError("a bug")))
        _run_scheduled_replies(once, redis)
    (letter,) = DeadLetters(redis).list()
    assert letter.reason == "job_failed"

    clock[0] = started + 24 * 3600  # the next day: the account is still limited
    fake.fail("/x/2/tweets", 429, body=fixture("x/too_many_requests.json"), count=1,
              headers={"x-rate-limit-reset": str(int(clock[0]) + 120)})
    assert DeadLetters(redis).requeue([letter], once).requeued == 1
    run_reply_jobs(once)

    assert DeadLetters(redis).list() == []  # put off, its 24 hours counted from this attempt
    assert queue(REPLY_QUEUE, redis).scheduled_job_registry.count == 1
    first_attempt = social_reply.FIRST_ATTEMPT_KEY.format(channel=args[0], target=args[1]["tweet_id"])
    assert float(redis.get(first_attempt) or 0) == clock[0]


def test_a_rate_limited_reply_shows_the_channel_degraded_until_a_reply_is_sent(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """A 429 to a reply said nothing to the status views (only `reply.provider_rate_limited` warnings), and the
    pollers' rate-limit signal would not do: a poll that goes through ends it, and X limits posting apart from
    reading. The channel is degraded (never down for it) while a reply is put off, until one is sent."""
    for n in range(2):
        fake.state.add_tweet(f"@lapor1708 keluhan {n} trotoar dipakai parkir")
    poller = make_poller(settings, redis, intake)
    poller.poll_once()
    fake.fail("/x/2/tweets", 429, body=fixture("x/too_many_requests.json"), count=2,
              headers={"x-rate-limit-reset": str(int(time.time()) + 120)})
    run_reply_jobs(settings)
    assert fake.state.x_replies == [] and DeadLetters(redis).list() == []
    poller.poll_once()  # reading still goes through
    health = _x_health(settings, redis)
    assert health["state"] == "degraded"
    assert "replies rate limited (2 put off since " in health["reason"]
    assert "none sent since; until " in health["reason"]
    _run_scheduled_replies(settings, redis)
    assert len(fake.state.x_replies) == 2
    assert _x_health(settings, redis)["state"] == "ok"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param("x/reply_to_deleted.json", "target_gone", id="mention-deleted"),
        pytest.param("x/reply_restricted.json", "reply_restricted", id="replies-restricted"),
        pytest.param("x/reply_restricted_433.json", "reply_restricted", id="replies-restricted-legacy-433"),
    ],
)
def test_a_mention_deleted_or_closed_to_replies_before_its_reply_is_no_dead_letter_and_no_failing_channel(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO, body: str,
    reason: str,
) -> None:
    """X answers a reply to a deleted (or since protected) post with 403 "deleted or not visible", and one into a
    conversation whose author restricted who can reply with 403 "Reply to this conversation is not allowed" (legacy:
    code 433): citizens delete posts and limit replies every day, and each one dead-lettered as `x_auth` made the
    channel degraded and sent an operator after a token that was fine. The report stands; the reply is counted
    `target_gone` and not tried again."""
    fake.state.add_tweet("@lapor1708 trotoar dipakai parkir")
    make_poller(settings, redis, intake).poll_once()
    (args,) = reply_jobs(redis)
    gone_before = REGISTRY.get_sample_value("lapor_replies_total", {"channel": "x", "outcome": "target_gone"}) or 0
    fake.fail("/x/2/tweets", 403, body=fixture(body))
    run_reply_jobs(settings)
    assert fake.state.x_replies == [] and DeadLetters(redis).list() == []
    assert REGISTRY.get_sample_value("lapor_replies_total", {"channel": "x", "outcome": "target_gone"}) == \
        gone_before + 1
    replies = [e for e in log_events(log_stream) if str(e["event"]).startswith("reply.")]
    assert [(e["event"], e["reason"]) for e in replies] == [("reply.target_gone", reason)]
    assert not [e for e in log_events(log_stream) if e["event"] == "channel.auth_failed"]
    monitor = HealthMonitor(redis, load_rules(settings.health.rules_path()), data_dir=settings.data_dir)
    assert {health["channel"]: health for health in monitor.status()["channels"]}["x"]["state"] == "ok"
    enqueue_calls(redis, settings, REPLY_QUEUE, "workers.social_reply.send_social_reply", [args])  # queued again
    run_reply_jobs(settings)
    assert fake.state.x_replies == []  # not tried again: no second request either
    assert len([r for r in fake.state.requests if r["path"] == "/x/2/tweets"]) == 1


# -- how replies authenticate --------------------------------------------------------------------------------
X_WRITE_TOKEN = "test-x-oauth2-user-token"
WITHOUT_OAUTH1 = {"LAPOR_X_CONSUMER_KEY": "", "LAPOR_X_CONSUMER_SECRET": "", "LAPOR_X_ACCESS_TOKEN": "",
                  "LAPOR_X_ACCESS_TOKEN_SECRET": ""}


def _authorization(header: str) -> tuple[str, dict[str, str]]:
    """The scheme of an Authorization header, and its OAuth 1.0a parameters (none for a bearer)."""
    scheme = header.partition(" ")[0]
    if scheme != "OAuth":
        return scheme, {}
    return scheme, {unescape(key): unescape(value) for key, value in parse_authorization_header(header)}


def test_replies_are_signed_with_the_accounts_oauth_1a_user_context(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """Replies went with LAPOR_X_USER_ACCESS_TOKEN, an OAuth 2.0 user token X expires 2 hours after it is issued, and
    nothing renewed it: from then on every reply was refused with 401, dead-lettered and counted as the channel's
    authentication failure. The account's OAuth 1.0a keys do not expire; the fake provider checks the signature."""
    fake.state.add_tweet("@lapor1708 trotoar dipakai parkir")
    make_poller(settings, redis, intake).poll_once()
    run_reply_jobs(settings)
    assert len(fake.state.x_replies) == 1 and DeadLetters(redis).list() == []
    (posted,) = [r for r in fake.state.requests if r["path"] == "/x/2/tweets"]
    scheme, oauth = _authorization(posted["authorization"])
    assert scheme == "OAuth"
    assert oauth["oauth_consumer_key"] == X_USER_KEYS.consumer_key
    assert oauth["oauth_token"] == X_USER_KEYS.access_token
    assert oauth["oauth_signature_method"] == "HMAC-SHA1" and oauth["oauth_signature"]
    # The mentions are still read with the bearer token.
    assert {r["authorization"] for r in fake.state.requests if r["path"].endswith("/mentions")} == \
        {f"Bearer {settings.x.bearer_token}"}


@pytest.mark.parametrize(
    ("overrides", "scheme", "sent"),
    [
        pytest.param({}, "OAuth", True, id="oauth-1a"),
        pytest.param({**WITHOUT_OAUTH1, "LAPOR_X_USER_ACCESS_TOKEN": X_WRITE_TOKEN}, "Bearer", True,
                     id="oauth-2-user-token-still-works"),
        pytest.param({"LAPOR_X_CONSUMER_SECRET": "guessed"}, "OAuth", False, id="oauth-1a-signed-wrong"),
    ],
)
def test_each_reply_credential_is_sent_as_x_expects_it(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, overrides: dict[str, str], scheme: str,
    sent: bool,
) -> None:
    """An OAuth 2.0 user token still works for whoever has one (until it expires); a signature made with the wrong
    secret is refused as X refuses it (401), dead-lettered as an authentication failure."""
    fake.state.config.x_write_token = X_WRITE_TOKEN
    settings = test_env.settings(**fake.env(**overrides))
    intake = Intake(redis, settings)
    try:
        fake.state.add_tweet("@lapor1708 trotoar dipakai parkir")
        make_poller(settings, redis, intake).poll_once()
        run_reply_jobs(settings)
    finally:
        intake.close()
    (posted,) = [r for r in fake.state.requests if r["path"] == "/x/2/tweets"]
    assert _authorization(posted["authorization"])[0] == scheme
    if scheme == "Bearer":
        assert posted["authorization"] == f"Bearer {X_WRITE_TOKEN}"
    assert len(fake.state.x_replies) == (1 if sent else 0)
    assert [letter.reason for letter in DeadLetters(redis).list()] == ([] if sent else ["x_auth"])


def test_no_oauth_credential_reaches_a_log_line_or_a_dead_letter(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """oauthlib and requests-oauthlib log the OAuth 1.0a parameters at debug (the consumer key and access token
    among them): kept off as tweepy's header lines are, even with every library's debug lines let through."""
    root, libraries = logging.getLogger(), [logging.getLogger(name) for name in CREDENTIAL_LOGGERS]
    levels = (root.level, [library.level for library in libraries])
    root.setLevel(logging.DEBUG)
    for library in libraries:
        library.setLevel(logging.NOTSET)
    try:
        fake.state.add_tweet("@lapor1708 trotoar dipakai parkir")
        fake.state.add_tweet("@lapor1708 lampu jalan mati")
        make_poller(settings, redis, intake).poll_once()
        fake.fail("/x/2/tweets", 401, body=fixture("x/unauthorized.json"))
        run_reply_jobs(settings)
    finally:
        root.setLevel(levels[0])
        for library, level in zip(libraries, levels[1], strict=True):
            library.setLevel(level)
    assert len(fake.state.x_replies) == 1
    (letter,) = DeadLetters(redis).list()
    written = log_stream.getvalue() + letter.detail
    for value in (X_USER_KEYS.consumer_key, X_USER_KEYS.consumer_secret, X_USER_KEYS.access_token,
                  X_USER_KEYS.access_token.partition("-")[2], X_USER_KEYS.access_token_secret,
                  settings.x.bearer_token):
        assert value not in written


@pytest.mark.parametrize(
    ("status", "reason"),
    [pytest.param(400, "x_bad_payload", id="refused"), pytest.param(403, "x_auth", id="forbidden"),
     pytest.param(503, None, id="retried")],
)
def test_xs_answer_quoting_a_reply_targets_author_shows_the_handle_nowhere(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    status: int, reason: str | None,
) -> None:
    """X's error messages may quote what it was asked about, the post's author and words among them: its answer to a
    reply under an anonymous mention went whole into the reply worker's log lines and the dead letter's detail
    (kept until an operator purges it), which no rule scrubs a handle or a word from. What X said is its status and
    error codes there."""
    fake.state.add_tweet("@lapor1708 #anonim kades minta uang pungli", username="saksi_rahasia99",
                         name="Saksi Rahasia")
    make_poller(settings, redis, intake).poll_once()
    quoted = "reply to @saksi_rahasia99 (Saksi Rahasia): kades minta uang pungli"
    fake.fail("/x/2/tweets", status, count=10, body={
        "title": "Invalid Request", "type": "about:blank", "status": status, "detail": quoted,
        "errors": [{"code": 186, "message": quoted}]})
    run_reply_jobs(settings)
    letters = DeadLetters(redis).list()
    assert [letter.reason for letter in letters] == ([reason] if reason else [])
    assert all(letter.detail.startswith(f"{status} ") or f": {status} " in letter.detail for letter in letters)
    written = log_stream.getvalue() + "".join(letter.detail for letter in letters)
    for value in ("saksi_rahasia99", "Saksi Rahasia", "kades minta uang"):
        assert value not in written


def test_a_follow_up_mention_to_an_id_still_in_the_pollers_reserve_is_filed_as_a_new_report(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """An ID leased to the poller's process and given to no report yet is below the counter: kept as a follow-up, a
    stranger's guess at the next ID ("laporan ini palsu") went to whichever report took it later."""
    fake.state.add_tweet("@lapor1708 lampu jalan mati")
    make_poller(settings, redis, intake).poll_once()
    (first,) = envelopes(redis)
    ahead = format_tracking_id(int(first["tracking_id"][:-1]) + 2)
    assert intake.holds_unminted(ahead)
    fake.state.add_tweet(f"@lapor1708 {ahead} laporan ini palsu")
    make_poller(settings, redis, intake).poll_once()
    added = [e for e in envelopes(redis) if e["tracking_id"] != first["tracking_id"]]
    assert [(e["follow_up_of"], e["text"]) for e in added] == [(None, f"{ahead} laporan ini palsu")]


@dataclass(frozen=True)
class LeasedIdCase:
    id: str
    # Whether the case store answers, and the report it holds under the ID (None: none).
    casestore: bool
    held: dict[str, bool] | None
    # The mention as filed: (follow_up_of is the ID, anonymous), and the reply's key.
    follow_up: bool
    anonymous: bool
    reply_key: str
    # The case store answers the headers, then its body a byte a second: no answer (httpx's timeouts are per step).
    trickles: bool = False


LEASED_ID_CASES = [
    # Leased to another process (the SMS gateway's, the SMTP server's) and given to no report yet: the case store
    # has none, and the mention waited there as a follow-up for whichever report took the ID later.
    LeasedIdCase("casestore-has-none", casestore=True, held=None, follow_up=False, anonymous=True,
                 reply_key="social_follow_up_unknown"),
    LeasedIdCase("casestore-has-an-open-report", casestore=True, held={"anonymous": False}, follow_up=True,
                 anonymous=False, reply_key="social_follow_up"),
    LeasedIdCase("casestore-has-an-anonymous-report", casestore=True, held={"anonymous": True}, follow_up=True,
                 anonymous=True, reply_key="social_follow_up"),
    # Nothing can tell: a follow-up, anonymous (privacy first), as before the case store was asked.
    LeasedIdCase("casestore-away", casestore=False, held=None, follow_up=True, anonymous=True,
                 reply_key="social_follow_up"),
    # ... nor when it trickles: the poller waits `LOOKUP_SECONDS` in all, not as long as the trickle lasts.
    LeasedIdCase("casestore-trickles", casestore=False, held=None, follow_up=True, anonymous=True,
                 reply_key="social_follow_up", trickles=True),
]


def _trickling_casestore(port: int, seconds: int) -> socket.socket:
    """A case store on `port` that sends a 200's headers at once and its body a byte a second for `seconds`."""
    listener = socket.create_server(("127.0.0.1", port))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
            for _ in range(seconds):
                time.sleep(1.0)
                try:
                    conn.sendall(b" ")
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()
    return listener


@pytest.mark.parametrize("case", LEASED_ID_CASES, ids=[case.id for case in LEASED_ID_CASES])
def test_a_follow_up_mention_to_an_id_no_report_has_yet_is_decided_by_the_case_store(
    case: LeasedIdCase, fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
    request: pytest.FixtureRequest
) -> None:
    """An ID leased to another process is below the counter and in no reserve of the poller's: only the case store
    can tell whether a report has it, and, as by SMS, the mention asks it."""
    leased = TrackingIdAllocator(redis, block_size=5).mint()  # as another process's block: leased, not given yet
    if case.casestore:
        casestore = request.getfixturevalue("casestore")
        if case.held is not None:
            casestore.store.store_many([sample_envelope(tracking_id=leased, **case.held).model_dump(mode="json")])
    if case.trickles:
        request.addfinalizer(_trickling_casestore(settings.casestore.port, seconds=10).close)
    tweet = fake.state.add_tweet(f"@lapor1708 {leased} laporan ini palsu")
    started = time.monotonic()
    make_poller(settings, redis, intake).poll_once()
    assert time.monotonic() - started < LOOKUP_SECONDS + 2.0
    (filed,) = envelopes(redis)
    assert (filed["follow_up_of"] == leased, filed["anonymous"]) == (case.follow_up, case.anonymous)
    shown = filed["tracking_id"] if case.reply_key == "social_follow_up_unknown" else leased
    assert reply_jobs(redis) == [("twitter", {"tweet_id": tweet["id"]}, case.reply_key, shown, "id",
                                  *([leased] if not case.follow_up else []))]


def test_a_case_store_that_hangs_costs_a_page_of_mentions_one_wait_not_one_per_mention(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """Each mention naming an ID whose report the gateway no longer has (a citizen adding to a report weeks later)
    asks the case store; one that takes connections and never answers held the poller its whole wait per mention.
    After the first question goes unanswered, the page's others are not asked: follow-ups, anonymous."""
    questions: list[bytes] = []
    hanging = socket.create_server(("127.0.0.1", settings.casestore.port))
    held: list[socket.socket] = []

    def take_and_hold() -> None:
        while True:
            try:
                connection, _ = hanging.accept()
            except OSError:
                return
            held.append(connection)
            questions.append(connection.recv(4096))

    threading.Thread(target=take_and_hold, daemon=True).start()
    leased = [TrackingIdAllocator(redis, block_size=1).mint() for _ in range(3)]  # issued, no copy in Redis
    try:
        for tracking_id in leased:
            fake.state.add_tweet(f"@lapor1708 {tracking_id} jalan masih rusak")
        make_poller(settings, redis, intake).poll_once()
    finally:
        hanging.close()
        for connection in held:
            connection.close()
    assert len(questions) == 1 and questions[0].startswith(b"GET /v1/reports/")
    filed = envelopes(redis)
    assert sorted((e["follow_up_of"], e["anonymous"]) for e in filed) == sorted((i, True) for i in leased)


def test_a_follow_up_mention_to_an_id_never_minted_is_filed_as_a_new_report(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO
) -> None:
    """design.md: a follow-up is to an *existing* report. An ID above the counter (a guess, another system's ID)
    makes the mention a report of its own, and the public reply says so with the new Tracking ID and, as the SMS
    answer does, the number given (it said only "the report number you gave"): public in the mention already."""
    unknown = format_tracking_id(7_777_777)
    tweet = fake.state.add_tweet(f"@lapor1708 {unknown} lubangnya makin besar")
    make_poller(settings, redis, intake).poll_once()
    (report,) = envelopes(redis)
    assert report["follow_up_of"] is None and report["tracking_id"] != unknown
    assert report["text"] == f"{unknown} lubangnya makin besar"  # what the citizen typed, number included
    assert reply_jobs(redis) == [("twitter", {"tweet_id": tweet["id"]}, "social_follow_up_unknown",
                                  report["tracking_id"], "id", unknown)]
    assert any(e["event"] == "message.follow_up_unknown" and e["follow_up_of"] == unknown
               for e in log_events(log_stream))
    run_reply_jobs(settings)
    (reply,) = fake.state.x_replies
    assert reply["text"].startswith(f"Laporan {unknown} tidak ditemukan. ")
    assert report["tracking_id"] in reply["text"] and "lubang" not in reply["text"]


def test_a_follow_up_mention_to_an_anonymous_report_stays_anonymous(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    fake.state.add_tweet("@lapor1708 #anonim pungli di loket samsat")
    poller = make_poller(settings, redis, intake)
    poller.poll_once()
    (parent,) = envelopes(redis)
    assert parent["anonymous"] is True
    fake.state.add_tweet(f"@lapor1708 {parent['tracking_id']} kejadian lagi hari ini")
    poller.poll_once()
    follow_up = next(e for e in envelopes(redis) if e["follow_up_of"] == parent["tracking_id"])
    assert follow_up["anonymous"] is True and follow_up["text"] == "kejadian lagi hari ini"


@pytest.mark.parametrize("spoil", [
    pytest.param(lambda media: media.pop("type"), id="media-without-type"),
    pytest.param(lambda media: media.pop("media_key"), id="media-without-key"),
])
def test_a_photo_whose_entry_cannot_be_read_is_listed_flagged_not_dropped_without_a_word(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    spoil: Callable[[dict[str, Any]], Any],
) -> None:
    """An included media object tweepy cannot read is left out of the page (the rest of it is read): the citizen's
    photo was dropped without a word, and the agency read the #anonim report with no sign it had one. It is listed
    without an address, flagged `not_fetched`, and logged (`attachment.unreadable`), neither the post nor the file
    named; the video beside it is attached as before."""
    page = fixture("x/mentions_page.json")
    spoil(next(media for media in page["includes"]["media"] if media["media_key"] == "3_1860000000000000101"))
    fake.fail("/x/2/users", 200, body=page)
    make_poller(settings, redis, intake).poll_once()

    report = reports_by_tweet(redis)["1860000000000000101"]
    assert report["anonymous"] is True
    lost = [a for a in report["attachments"] if "not_fetched" in a.get("flags", [])]
    assert [(a["location"], a.get("name"), a["content_type"]) for a in lost] == [
        ("", None, "application/octet-stream")]
    assert any(a["location"].endswith("/Xy.jpg") for a in report["attachments"])
    sent = case_store_payload(report, settings)
    assert [a for a in sent["attachments"] if "not_fetched" in a.get("flags", [])] == [
        {**lost[0], "name": None, "sha256": None, "size": None}]
    lines = [line for line in log_stream.getvalue().splitlines() if "attachment.unreadable" in line]
    assert len(lines) == 1 and "1860000000000000101" not in lines[0] and "siti" not in lines[0]


@pytest.mark.parametrize(("text", "reply_key", "filed", "typed"), [
    pytest.param("@lapor1708 {parent}", "social_follow_up", {"text": "", "follow_up_of": "{parent}"}, None,
                 id="id-alone"),
    pytest.param("@lapor1708 CEK {parent}", "social_follow_up", {"text": "", "follow_up_of": "{parent}"}, None,
                 id="cek-id"),
    pytest.param("@lapor1708 Tambahan: {parent} ini fotonya", "social_follow_up",
                 {"text": "ini fotonya", "follow_up_of": "{parent}"}, None, id="labelled-id"),
    # the reply says the ID given (repeated, as the SMS answer does) is not valid, and gives the photo's own report's
    # Tracking ID
    pytest.param("@lapor1708 CEK {mistyped}", "social_bad_tracking_id_photo",
                 {"text": "CEK {mistyped}", "follow_up_of": None}, "{mistyped}", id="cek-mistyped-id"),
    pytest.param("@lapor1708 {mistyped}", "social_bad_tracking_id_photo",
                 {"text": "{mistyped}", "follow_up_of": None}, "{mistyped}", id="mistyped-id-alone"),
    pytest.param("@lapor1708 CEK 12345", "social_bad_tracking_id_photo",
                 {"text": "CEK 12345", "follow_up_of": None}, "12345", id="cek-too-short"),
])
def test_a_mention_naming_a_tracking_id_with_a_photo_files_the_photo(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, text: str, reply_key: str,
    filed: dict[str, str | None], typed: str | None,
) -> None:
    """"@lapor1708 12345678" with a photo was answered with the status only, the photo never filed. It adds the
    photo to that report (anonymous as the report is), or, with a mistyped ID, files it as a report of its own with
    the words as typed, anonymous: the report it was meant for cannot be named; its reply says the ID was not valid,
    and which: the number as typed, public in the mention already (the reply said only "the ID you gave")."""
    fake.state.add_tweet("@lapor1708 #anonim pungli di loket samsat")
    poller = make_poller(settings, redis, intake)
    poller.poll_once()
    (parent,) = envelopes(redis)
    ids = {"parent": parent["tracking_id"],
           "mistyped": parent["tracking_id"][:-1] + str((int(parent["tracking_id"][-1]) + 1) % 10)}
    tweet = fake.state.add_tweet(text.format(**ids), media=[{"type": "photo"}])
    poller.poll_once()
    (report,) = [e for e in envelopes(redis) if e["tracking_id"] != parent["tracking_id"]]
    expected = {name: value.format(**ids) if value is not None else None for name, value in filed.items()}
    assert {name: report[name] for name in expected} == expected
    assert report["anonymous"] is True
    assert [a["location"] for a in report["attachments"]] == [f"https://pbs.twimg.com/media/3_{tweet['id']}0.jpg"]
    reply_for = report["follow_up_of"] or report["tracking_id"]
    typed_id = typed.format(**ids) if typed else None
    assert reply_jobs(redis)[-1] == ("twitter", {"tweet_id": tweet["id"]}, reply_key, reply_for, "id",
                                     *([typed_id] if typed_id else []))
    run_reply_jobs(settings)
    replies = {reply["in_reply_to_tweet_id"]: reply["text"] for reply in fake.state.x_replies}
    assert replies[tweet["id"]] == social_reply.reply_text(settings, reply_key, reply_for, "id", tweet["id"],
                                                           typed_id)
    if typed_id:
        assert replies[tweet["id"]].startswith(f"Nomor lacak {typed_id} tidak valid.")


# -- posts a mention quotes or answers ------------------------------------------------------------------------------
QUOTED_MARK = ("[Kutipan post lain di X, bukan tulisan pelapor / "
               "Quoted from another post on X, not the reporter's words]")
EARLIER_MARK = "[Post pelapor sebelumnya di X / The reporter's earlier post on X]"
VIRAL_950 = ("> INFO Jalan di depan SDN 3 Cibinong ambles sedalam 1 meter & sudah 2 minggu dibiarkan, motor sering "
             "jatuh malam hari. @pemkab_bogor tolong! https://www.instagram.com/reel/DC1abcDEfgh/")


def test_a_real_page_of_quotes_and_answers_carries_each_post_marked_as_not_the_reporters_words(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """X API v2's shape: a quote tweet or an answer names its post in `referenced_tweets` (`quoted`, `replied_to`),
    and the page brings it in `includes.tweets`. "@lapor1708 tolong ditindak" files the viral complaint it quotes,
    marked, with its address and without the quote tweet's own link to it; the quoted post's INFO sets no kind. An
    anonymous reporter's handle in the post they answer is replaced; their own earlier post is theirs, without the
    address or photo link that name them. A quoted post X could not give (`errors`) leaves the link as it was."""
    fake.fail("/x/2/users", 200, body=fixture("x/mentions_page_quotes.json"))
    make_poller(settings, redis, intake).poll_once()
    asked = next(r for r in fake.state.requests if r["path"].endswith("/mentions"))
    assert "referenced_tweets.id" in asked["query"]["expansions"].split(",")

    reports = reports_by_tweet(redis)
    quote = reports["1860000000000001203"]
    assert quote["text"] == f"tolong ditindak\n\n{QUOTED_MARK} https://x.com/i/status/1860000000000000950\n{VIRAL_950}"
    assert (quote["kind"], quote["anonymous"]) == ("complaint", False)
    bare = reports["1860000000000001207"]  # "@lapor1708" and the quoted post alone: a report, not a help request
    assert bare["text"] == f"{QUOTED_MARK} https://x.com/i/status/1860000000000000950\n{VIRAL_950}"
    assert bare["kind"] == "complaint"
    rina = reports["1860000000000001204"]
    assert rina["anonymous"] is True
    assert rina["text"] == (
        f"di Jl. Kopo Sayati juga sama\n\n{QUOTED_MARK} https://x.com/i/status/1860000000000000960\n"
        "> Jalan Kopo banjir lagi setinggi lutut, @dishub_bdg @[pelapor / reporter] kapan gorong-gorongnya "
        "dibersihkan? Sudah lapor dari https://x.com/[pelapor / reporter]")
    agus = reports["1860000000000001205"]
    assert agus["anonymous"] is True
    assert agus["text"] == \
        f"tolong dicek\n\n{EARLIER_MARK}\n> Sudah 3 bulan PJU di Jl. Rungkut Industri mati, rawan begal."
    assert reports["1860000000000001208"]["text"] == \
        f"lihat ini, pungli parkir di alun-alun\n\n{QUOTED_MARK} https://x.com/i/status/1860000000000000999"
    for private in ("rina_kopo", "agus_sby", "1860000000000000970", "t.co/", "parkir_info"):
        assert all(private not in report["text"] for report in reports.values()), private
    # The case store gets an anonymous report's quoted posts without their addresses: the post rina answered names
    # her ("Replying to @rina_kopo" one click away); a named report keeps them.
    assert case_store_payload(rina, settings)["text"] == (
        f"di Jl. Kopo Sayati juga sama\n\n{QUOTED_MARK}\n"
        "> Jalan Kopo banjir lagi setinggi lutut, @dishub_bdg @[pelapor / reporter] kapan gorong-gorongnya "
        "dibersihkan? Sudah lapor dari https://x.com/[pelapor / reporter]")
    assert case_store_payload(quote, settings)["text"] == quote["text"]


def test_an_anonymous_mention_whose_author_x_left_out_carries_no_words_of_the_posts_it_answers(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """X leaves an author out of `includes.users` (suspended, protected, an expansion cut short): the reporter's
    @handle in the post they answer cannot be replaced, and rina's #anonim answer carried "@rina_kopo" and
    "x.com/rina_kopo" in the neighbour's words to the case store. An anonymous report whose author X did not name
    carries the mark of such a post alone; a named one (dewi's) keeps its words."""
    page = fixture("x/mentions_page_quotes.json")
    left_out = {"1447000000000000011", "1447000000000000007"}  # rina (#anonim), dewi (named)
    page["includes"]["users"] = [user for user in page["includes"]["users"] if user["id"] not in left_out]
    fake.fail("/x/2/users", 200, body=page)
    make_poller(settings, redis, intake).poll_once()

    reports = reports_by_tweet(redis)
    rina = reports["1860000000000001204"]
    assert rina["anonymous"] is True
    assert rina["text"] == f"di Jl. Kopo Sayati juga sama\n\n{QUOTED_MARK}"
    assert "rina_kopo" not in case_store_payload(rina, settings)["text"]
    dewi = reports["1860000000000001203"]
    assert dewi["anonymous"] is False
    assert dewi["text"] == f"tolong ditindak\n\n{QUOTED_MARK} https://x.com/i/status/1860000000000000950\n{VIRAL_950}"


@pytest.mark.parametrize(
    "neighbour",
    [
        pytest.param("@siti_rahma betul, loket 3 minta uang", id="at-sign"),
        pytest.param("\uff20siti_rahma betul, loket 3 minta uang", id="fullwidth-at-sign"),
        pytest.param("betul @siti_rahma, loket 3 minta uang", id="at-sign-in-the-words"),
        pytest.param("kata \uff20SITI_RAHMA loket 3 minta uang", id="fullwidth-at-sign-other-case"),
        pytest.param("lihat x.com/siti_rahma, loket 3 minta uang", id="profile-link"),
    ],
)
def test_an_anonymous_reporters_handle_in_the_post_they_answer_is_replaced_however_x_wrote_the_at_sign(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, neighbour: str
) -> None:
    """X takes the fullwidth at sign (`＠siti_rahma`) for a mention as it takes `@`: a neighbour's post naming the
    whistleblower so, quoted into her #anonim answer to it, kept her handle in the anonymous report."""
    post = fake.state.add_tweet(neighbour, username="budi_bdg")
    answer = fake.state.add_tweet("@budi_bdg @lapor1708 #anonim betul, saya pegawainya", username="siti_rahma",
                                  in_reply_to=post["id"])
    make_poller(settings, redis, intake).poll_once()
    report = reports_by_tweet(redis)[answer["id"]]
    assert report["anonymous"] is True
    assert "loket 3 minta uang" in report["text"]
    assert "siti_rahma" not in orjson.dumps(case_store_payload(report, settings)).decode().lower()
    assert "[pelapor / reporter]" in report["text"]


@pytest.mark.parametrize(
    ("mention", "expected_text"),
    [
        pytest.param({"text": "@lapor1708 tolong ditindak", "ref": "quote_of"},
                     "tolong ditindak\n\n{mark} {url}\n> {post}", id="a-quote-tweet"),
        pytest.param({"text": "@info_bogor @lapor1708 tolong ditindak", "ref": "in_reply_to"},
                     "tolong ditindak\n\n{mark} {url}\n> {post}", id="an-answer-under-someone-elses-post"),
        pytest.param({"text": "@lapor1708 ini juga terjadi di desa kami", "ref": "in_reply_to", "own_post": True},
                     "ini juga terjadi di desa kami", id="an-answer-to-a-post-of-ours-quotes-nothing"),
        pytest.param({"text": "@lapor1708 masih belum diperbaiki", "ref": "quote_of", "own_post": True},
                     "masih belum diperbaiki", id="a-quote-of-a-post-of-ours-quotes-nothing-and-drops-its-link"),
        pytest.param({"text": "@lapor1708 tolong ditindak", "ref": "quote_of", "gone": True},
                     "tolong ditindak\n\n{mark} {url}", id="a-quoted-post-x-could-not-give-by-its-address-only"),
        pytest.param({"text": "@lapor1708", "ref": "quote_of", "max_chars": "40"},
                     "{mark} {url}\n> {post_cut_40}", id="cut-to-quoted-post-max-chars"),
        pytest.param({"text": "@info_bogor @lapor1708 terima kasih 🙏", "ref": "in_reply_to"}, None,
                     id="thanks-under-a-post-stay-a-courtesy"),
    ],
)
def test_the_post_a_mention_quotes_or_answers_is_in_its_report_marked_and_bounded(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, mention: dict[str, Any],
    expected_text: str | None,
) -> None:
    """The post's text comes after the reporter's own, after the keyword grammar has read theirs; a thank-you under
    a post is still only a courtesy (neither filed nor answered). The quote's link to a post of ours, or to one X
    could not give, is no word of the reporter's either: left out (a post X could not give is named by its address,
    which names no handle)."""
    settings = test_env.settings(**fake.env(LAPOR_X_QUOTED_POST_MAX_CHARS=mention.get("max_chars", "1000")))
    post_text = ("Jalan di depan SDN 3 Cibinong ambles sedalam 1 meter, sudah 2 minggu dibiarkan. "
                 "Motor sering jatuh malam hari.")
    post = fake.state.add_tweet(post_text, username="lapor1708" if mention.get("own_post") else "info_bogor",
                                own=bool(mention.get("own_post")), mention=False)
    tweet = fake.state.add_tweet(mention["text"], username="dewi_cibinong", **{mention["ref"]: post["id"]})
    if mention.get("gone"):  # deleted since: X leaves it out of includes.tweets
        fake.state.posts.remove(post)
    intake = Intake(redis, settings)
    make_poller(settings, redis, intake).poll_once()
    intake.close()
    if expected_text is None:
        assert envelopes(redis) == [] and reply_jobs(redis) == []
        return
    report = reports_by_tweet(redis)[tweet["id"]]
    assert report["text"] == expected_text.format(
        mark=QUOTED_MARK, url=f"https://x.com/i/status/{post['id']}", post=post_text,
        post_cut_40=post_text[:39].rstrip() + "…")


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        pytest.param("@lapor1708 STATUS {id}", "a-post", id="status-quoting-a-post"),
        pytest.param("@lapor1708 {id}", "a-post", id="the-id-alone-quoting-a-post"),
        pytest.param("@lapor1708 CEK {id}", "our-reply", id="cek-quoting-our-reply"),
        pytest.param("@lapor1708 {id}", "our-reply", id="the-id-alone-quoting-our-reply"),
        pytest.param("@lapor1708 {id}", "a-post-x-could-not-give", id="the-id-alone-quoting-a-deleted-post"),
    ],
)
def test_a_status_query_that_quotes_a_post_is_answered_with_the_status_and_files_nothing(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, text: str, quoted: str
) -> None:
    """A citizen asks about their report by quoting a post: the complaint, or our reply that gave them the Tracking
    ID. The quote's link (X appends one) was read as their words: "<id> https://x.com/lapor1708/status/..." was an
    addition to the report, a link to our own reply, answered as one, and the citizen never got the status."""
    redis.set(SEQUENCE_KEY, 2_000_000)  # VALID_ID was minted
    if quoted == "our-reply":
        post = fake.state.add_tweet(f"Laporan Anda kami terima. Nomor lacak: {VALID_ID}.", own=True, mention=False)
    else:
        post = fake.state.add_tweet("Jalan di depan SDN 3 Cibinong ambles", username="info_bogor", mention=False)
    tweet = fake.state.add_tweet(text.format(id=VALID_ID), username="dewi_cibinong", quote_of=post["id"])
    if quoted == "a-post-x-could-not-give":
        fake.state.posts.remove(post)
    make_poller(settings, redis, intake).poll_once()
    assert envelopes(redis) == []
    assert reply_jobs(redis) == [("twitter", {"tweet_id": tweet["id"]}, "social_status", VALID_ID, "id")]


# -- answers in the thread of our reply -----------------------------------------------------------------------------
def acknowledged_mention(fake: FakeProviderServer, settings: Settings, redis: Redis, poller: XMentionsPoller,
                         text: str, username: str = "siti_rahma") -> tuple[dict[str, Any], dict[str, Any]]:
    """A citizen's mention taken and answered: (its report, our reply as X holds it)."""
    mention = fake.state.add_tweet(text, username=username)
    poller.poll_once()
    run_reply_jobs(settings)
    report = reports_by_tweet(redis)[mention["id"]]
    (reply,) = [r for r in fake.state.x_replies if r["in_reply_to_tweet_id"] == mention["id"]]
    return report, reply


@pytest.mark.parametrize(
    ("parent_text", "answer", "expected"),
    [
        pytest.param("@lapor1708 lampu jalan mati di Jl. Dago",
                     {"text": "@lapor1708 sudah seminggu belum diperbaiki"},
                     {"follow_up_of": "parent", "anonymous": False, "text": "sudah seminggu belum diperbaiki"},
                     id="the-reporter-adds-to-their-report"),
        pytest.param("@lapor1708 #anonim pungli di loket samsat",
                     {"text": "@lapor1708 kejadian lagi hari ini"},
                     {"follow_up_of": "parent", "anonymous": True, "text": "kejadian lagi hari ini"},
                     id="an-anonymous-report-stays-anonymous"),
        pytest.param("@lapor1708 #rahasia pungli di loket samsat",
                     {"text": "@lapor1708 kejadian lagi hari ini"},
                     {"follow_up_of": "parent", "confidential": True}, id="a-confidential-report-stays-confidential"),
        pytest.param("@lapor1708 lampu jalan mati di Jl. Dago",
                     {"text": "@lapor1708 di gang saya juga mati", "username": "budi_bdg"},
                     {"follow_up_of": None, "text": "di gang saya juga mati"}, id="someone-else-files-a-report"),
        pytest.param("@lapor1708 lampu jalan mati di Jl. Dago",
                     {"text": f"@lapor1708 {VALID_ID} lubangnya makin besar"},
                     {"follow_up_of": VALID_ID, "text": "lubangnya makin besar"}, id="an-id-they-typed-wins"),
        pytest.param("@lapor1708 lampu jalan mati di Jl. Dago",
                     {"text": "@lapor1708 sudah seminggu belum diperbaiki", "envelope_gone": True},
                     {"follow_up_of": None}, id="a-report-the-gateway-no-longer-keeps"),
        # Quoting our reply (a quote tweet of it) answers it as well: its link is no word of theirs.
        pytest.param("@lapor1708 lampu jalan mati di Jl. Dago",
                     {"text": "@lapor1708 masih rusak", "quote": True},
                     {"follow_up_of": "parent", "anonymous": False, "text": "masih rusak"},
                     id="the-reporter-quotes-our-reply"),
        pytest.param("@lapor1708 #anonim pungli di loket samsat",
                     {"text": "@lapor1708 kejadian lagi hari ini", "quote": True},
                     {"follow_up_of": "parent", "anonymous": True, "text": "kejadian lagi hari ini"},
                     id="the-reporter-quotes-our-reply-and-their-report-stays-anonymous"),
        pytest.param("@lapor1708 #rahasia pungli di loket samsat",
                     {"text": "@lapor1708 kejadian lagi hari ini", "quote": True},
                     {"follow_up_of": "parent", "confidential": True},
                     id="the-reporter-quotes-our-reply-and-their-report-stays-confidential"),
        pytest.param("@lapor1708 lampu jalan mati di Jl. Dago",
                     {"text": "@lapor1708 di gang saya juga mati", "username": "budi_bdg", "quote": True},
                     {"follow_up_of": None, "text": "di gang saya juga mati"},
                     id="someone-else-quoting-our-reply-files-a-report"),
        pytest.param("@lapor1708 lampu jalan mati di Jl. Dago",
                     {"text": "@lapor1708 masih rusak", "quote": True, "envelope_gone": True},
                     {"follow_up_of": None, "text": "masih rusak"},
                     id="a-quote-of-our-reply-to-a-report-the-gateway-no-longer-keeps"),
    ],
)
def test_an_answer_to_our_reply_in_its_thread_adds_to_the_report_when_its_reporter_writes_it(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    parent_text: str, answer: dict[str, Any], expected: dict[str, Any],
) -> None:
    """"No wrong door": X puts @lapor1708 in front of any answer to our reply, and the reporter's "sudah seminggu
    belum diperbaiki" there is about their report, as a mail answering ours is; so is their "masih rusak" quoting our
    reply (it was filed as a new report). It goes through the follow-up steps of `<id> text` (the report's anonymous
    and confidential flags). Anyone else's answer or quote is a report of its own; an ID typed in the answer wins; a
    report whose envelope is gone can no longer tell its reporter."""
    redis.set(SEQUENCE_KEY, 2_000_000)  # VALID_ID was minted: a follow-up to it is one
    poller = make_poller(settings, redis, intake)
    parent, our_reply = acknowledged_mention(fake, settings, redis, poller, parent_text)
    if answer.get("envelope_gone"):
        redis.delete(f"lapor:envelope:{parent['tracking_id']}")
    tweet = fake.state.add_tweet(answer["text"], username=answer.get("username", "siti_rahma"),
                                 **{"quote_of" if answer.get("quote") else "in_reply_to": our_reply["id"]})
    poller.poll_once()
    filed_and_answered_as(redis, tweet, parent, expected)
    threaded = [e for e in log_events(log_stream) if e["event"] == "message.accepted" and e.get("thread")]
    assert len(threaded) == int(expected["follow_up_of"] == "parent")


@pytest.mark.parametrize(
    ("parent_text", "answer", "username", "quote", "job"),
    [
        pytest.param("@lapor1708 lampu jalan mati", "@lapor1708 cek", "siti_rahma", False, ("social_status", "parent"),
                     id="the-reporter-asks-cek"),
        pytest.param("@lapor1708 #anonim pungli di loket samsat", "@lapor1708 gimana perkembangannya?", "siti_rahma",
                     False, ("social_status", "parent"), id="the-anonymous-reporter-asks-in-words"),
        pytest.param("@lapor1708 lampu jalan mati", "@lapor1708 status laporan?", "siti_rahma", True,
                     ("social_status", "parent"), id="the-reporter-quotes-our-reply"),
        # anyone else in the thread is asked for the ID, as before: the report is not theirs
        pytest.param("@lapor1708 lampu jalan mati", "@lapor1708 cek", "budi_bdg", False, ("social_help", None),
                     id="someone-else-asks"),
    ],
)
def test_a_status_question_answering_our_reply_asks_its_reports_status(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
    parent_text: str, answer: str, username: str, quote: bool, job: tuple[str, str | None],
) -> None:
    """"@lapor1708 cek" under our reply to the asker's own report asks that report's status, as a mail answering our
    acknowledgement does: it was answered with help asking for the Tracking ID the thread holds. Nothing is filed."""
    poller = make_poller(settings, redis, intake)
    parent, our_reply = acknowledged_mention(fake, settings, redis, poller, parent_text)
    tweet = fake.state.add_tweet(answer, username=username, **{"quote_of" if quote else "in_reply_to": our_reply["id"]})
    poller.poll_once()
    assert tweet["id"] not in reports_by_tweet(redis)
    [asked] = [found for found in reply_jobs(redis) if found[1] == {"tweet_id": tweet["id"]}]
    assert asked[2:4] == (job[0], parent["tracking_id"] if job[1] == "parent" else None)


def filed_and_answered_as(redis: Redis, tweet: dict[str, Any], parent: dict[str, Any],
                          expected: dict[str, Any]) -> dict[str, Any]:
    """The report `tweet` was filed as, checked against `expected` ("parent" for `parent`'s Tracking ID in
    `follow_up_of`), and its reply: "addition received" to that report, or the new report's acknowledgement."""
    report = reports_by_tweet(redis)[tweet["id"]]
    wanted = {**expected, "follow_up_of": parent["tracking_id"] if expected["follow_up_of"] == "parent"
              else expected["follow_up_of"]}
    for name, value in wanted.items():
        assert report[name] == value, name
    [job] = [job for job in reply_jobs(redis) if job[1] == {"tweet_id": tweet["id"]}]
    follow_up_of = wanted["follow_up_of"]
    assert job[2:4] == (("social_follow_up", follow_up_of) if follow_up_of else ("social_ack", report["tracking_id"]))
    return report


def answered_our_reply(fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
                       page: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The first page's mention 101 reported and answered by our reply 1001 (remembered as the reply worker does once
    X gave it its id), then `page` polled: the report and every stored report by its tweet."""
    poller = make_poller(settings, redis, intake)
    fake.fail("/x/2/users", 200, body=fixture("x/mentions_page.json"))
    poller.poll_once()
    parent = reports_by_tweet(redis)["1860000000000000101"]
    assert remember_reply(redis, "twitter", "1860000000000001001", parent["tracking_id"],
                          settings.intake.envelope_ttl_seconds)
    fake.fail("/x/2/users", 200, body=fixture(page))
    poller.poll_once()
    return parent, reports_by_tweet(redis)


def test_a_real_page_of_answers_to_our_reply_adds_its_reporters_answer_to_the_report(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """X API v2's shape: each answer names our reply in `referenced_tweets` (type `replied_to`), and our reply comes
    in `includes.tweets`. Siti's answer adds to her anonymous report; Budi's, under the same reply, is his own."""
    parent, reports = answered_our_reply(fake, settings, redis, intake, "x/mentions_page_thread.json")
    siti, budi = reports["1860000000000001101"], reports["1860000000000001102"]
    assert (siti["follow_up_of"], siti["anonymous"], siti["text"]) == (
        parent["tracking_id"], True, "sudah seminggu belum diperbaiki")
    assert (budi["follow_up_of"], budi["anonymous"]) == (None, False)
    assert budi["text"] == "di Jl. Soekarno-Hatta km 7 juga berlubang, dekat halte"


def test_a_real_page_of_quotes_of_our_reply_adds_its_reporters_quote_to_the_report(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """X API v2's shape: a quote tweet names our reply in `referenced_tweets` (type `quoted`), its text ends with a
    t.co link to it, and our reply comes in `includes.tweets`. Siti's "masih rusak" quoting the reply to her
    anonymous report adds to it, without the link; Budi's quote of the same reply is his own report."""
    parent, reports = answered_our_reply(fake, settings, redis, intake, "x/mentions_page_quotes_of_our_reply.json")
    siti, budi = reports["1860000000000001301"], reports["1860000000000001302"]
    assert (siti["follow_up_of"], siti["anonymous"], siti["text"]) == (
        parent["tracking_id"], True, "masih rusak, sudah seminggu belum diperbaiki")
    assert (budi["follow_up_of"], budi["anonymous"]) == (None, False)
    assert budi["text"] == "di Jl. Soekarno-Hatta km 7 juga berlubang"
    jobs = {job[1]["tweet_id"]: job[2:4] for job in reply_jobs(redis)}
    assert jobs["1860000000000001301"] == ("social_follow_up", parent["tracking_id"])
    assert jobs["1860000000000001302"] == ("social_ack", budi["tracking_id"])


def test_a_real_page_of_our_reply_pasted_back_points_at_its_report(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """Our public reply copied into a new mention ("Laporan Anda kami terima. Nomor lacak: <id>. Pantau di <link>
    (ref ...)", the link a new t.co one) was filed as a new report, our own text its complaint. As our SMS answers
    sent back are, it points at its report: with the citizen's words, an addition to it (with its flags); alone, a
    status query, answered with the status and filing nothing."""
    poller = make_poller(settings, redis, intake)
    fake.fail("/x/2/users", 200, body=fixture("x/mentions_page.json"))
    poller.poll_once()
    parent = reports_by_tweet(redis)["1860000000000000101"]
    assert (parent["tracking_id"], parent["anonymous"]) == ("10000004", True)  # the ID our reply in the page gave
    fake.fail("/x/2/users", 200, body=fixture("x/mentions_page_our_reply_pasted.json"))
    poller.poll_once()

    reports = reports_by_tweet(redis)
    assert "1860000000000001401" not in reports
    added = reports["1860000000000001402"]
    assert (added["follow_up_of"], added["anonymous"], added["text"]) == (
        "10000004", True, "sudah seminggu lebih, masih rusak")
    jobs = {job[1]["tweet_id"]: job[2:] for job in reply_jobs(redis)}
    assert jobs["1860000000000001402"] == ("social_follow_up", "10000004", "id")
    assert jobs["1860000000000001401"] == ("social_status", "10000004", "id")


def test_the_thread_goes_on_through_our_reply_to_each_addition(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """Our reply to an addition carries the report's Tracking ID too: an answer to it adds to the same report."""
    poller = make_poller(settings, redis, intake)
    parent, reply = acknowledged_mention(fake, settings, redis, poller, "@lapor1708 #anonim pungli di loket samsat")
    for text in ("@lapor1708 kejadian lagi hari ini", "@lapor1708 sekarang minta Rp 200rb"):
        answer = fake.state.add_tweet(text, username="siti_rahma", in_reply_to=reply["id"])
        poller.poll_once()
        run_reply_jobs(settings)
        report = reports_by_tweet(redis)[answer["id"]]
        assert (report["follow_up_of"], report["anonymous"]) == (parent["tracking_id"], True)
        (reply,) = [r for r in fake.state.x_replies if r["in_reply_to_tweet_id"] == answer["id"]]
        assert parent["tracking_id"] in reply["text"]


@pytest.mark.parametrize("envelope_ttl", [None, 1234], ids=["report-waiting-to-be-forwarded", "report-forwarded"])
def test_our_reply_is_remembered_with_its_report_only_for_the_envelopes_lifetime_and_without_its_sender(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, envelope_ttl: int | None
) -> None:
    """The record is our post's id -> the Tracking ID, both public in the reply itself: nothing in it links the
    reporter's handle or id to a report (an anonymous one included); who may add to the report is read from the
    envelope the gateway keeps to answer them, and the record goes when that envelope goes (or, while it waits to
    be forwarded without an expiry of its own, after `intake.envelope_ttl_seconds`)."""
    mention = fake.state.add_tweet("@lapor1708 #anonim pungli di loket samsat", username="siti_rahma")
    make_poller(settings, redis, intake).poll_once()
    report = reports_by_tweet(redis)[mention["id"]]
    if envelope_ttl:
        redis.expire(f"lapor:envelope:{report['tracking_id']}", envelope_ttl)
    run_reply_jobs(settings)
    (reply,) = fake.state.x_replies
    [key] = list(redis.scan_iter("lapor:social:thread:*"))
    assert key == f"lapor:social:thread:twitter:{reply['id']}".encode()
    assert redis.get(key) == report["tracking_id"].encode()
    ttl = redis.ttl(key)
    assert 0 < ttl <= (envelope_ttl or settings.intake.envelope_ttl_seconds)
    assert ttl >= (envelope_ttl or settings.intake.envelope_ttl_seconds) - 5
    for private in (mention["author_id"], "siti_rahma", mention["id"]):
        assert private.encode() not in key + redis.get(key)


def test_a_help_reply_is_not_remembered(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """Only a reply that carries a Tracking ID names a report to add to."""
    fake.state.add_tweet("@lapor1708 bantuan")
    make_poller(settings, redis, intake).poll_once()
    run_reply_jobs(settings)
    assert len(fake.state.x_replies) == 1
    assert list(redis.scan_iter("lapor:social:thread:*")) == []


# -- edited mentions ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("edits", [1, 2], ids=["edited-once", "edited-twice"])
def test_an_edited_mention_adds_to_the_report_its_first_version_filed_and_is_not_answered_again(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO, edits: int
) -> None:
    """X gives each edit of a post a new id, newer than the cursor: "pungli di loket no. 3" corrected to "no. 5" came
    back as a new mention, filed as a second report and answered in public with a second Tracking ID. The edit adds
    its words to the report its first version filed (with that report's flags), and the first reply, under the same
    post, stays the only one."""
    poller = make_poller(settings, redis, intake)
    first, _ = acknowledged_mention(fake, settings, redis, poller, "@lapor1708 #anonim pungli di loket samsat no. 3")
    latest = first["channel_message_id"]
    for edit in range(edits):
        version = fake.state.edit_tweet(latest, f"@lapor1708 #anonim pungli di loket samsat no. {5 + edit}")
        assert version is not None
        latest = version["id"]
        poller.poll_once()
        run_reply_jobs(settings)

    reports = reports_by_tweet(redis)
    assert len(reports) == 1 + edits
    additions = [report for tweet_id, report in reports.items() if tweet_id != first["channel_message_id"]]
    assert {(report["follow_up_of"], report["anonymous"]) for report in additions} == {(first["tracking_id"], True)}
    assert reports[latest]["text"].endswith(f"no. {4 + edits}")
    assert [reply["in_reply_to_tweet_id"] for reply in fake.state.x_replies] == [first["channel_message_id"]]
    accepted = [event for event in log_events(log_stream) if event["event"] == "message.accepted"]
    assert [event.get("edit") for event in accepted] == [None, *[True] * edits]


def test_a_mention_read_with_its_edit_on_one_page_is_one_report_of_the_latest_words_answered_once(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """X returns the latest version of an edited post, and an earlier one names it in its edit history: read on one
    page, the two were two reports and two public replies. The earlier version is left for the latest."""
    mention = fake.state.add_tweet("@lapor1708 jalan rusak di Jl. Dago no. 3")
    edited = fake.state.edit_tweet(mention["id"], "@lapor1708 jalan rusak di Jl. Dago no. 5")
    assert edited is not None and mention["edit_history_tweet_ids"] == [mention["id"], edited["id"]]
    fake.fail("/x/2/users", 200, body={
        "data": [edited, mention], "includes": {"users": [fake.state.users[mention["author_id"]]]},
        "meta": {"newest_id": edited["id"], "oldest_id": mention["id"], "result_count": 2}})
    make_poller(settings, redis, intake).poll_once()
    run_reply_jobs(settings)

    reports = reports_by_tweet(redis)
    assert list(reports) == [edited["id"]]
    assert (reports[edited["id"]]["text"], reports[edited["id"]]["follow_up_of"]) == (
        "jalan rusak di Jl. Dago no. 5", None)
    assert [reply["in_reply_to_tweet_id"] for reply in fake.state.x_replies] == [edited["id"]]


def test_an_edit_of_a_mention_that_filed_nothing_is_taken_as_any_mention(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """A thank-you edited into a complaint has no report to add to: the edit is a report, answered."""
    poller = make_poller(settings, redis, intake)
    mention = fake.state.add_tweet("@lapor1708 terima kasih")
    poller.poll_once()
    edited = fake.state.edit_tweet(mention["id"], "@lapor1708 lampu jalan mati di Jl. Dago")
    assert edited is not None
    poller.poll_once()
    run_reply_jobs(settings)

    report = reports_by_tweet(redis)[edited["id"]]
    assert (report["text"], report["follow_up_of"]) == ("lampu jalan mati di Jl. Dago", None)
    assert [reply["in_reply_to_tweet_id"] for reply in fake.state.x_replies] == [edited["id"]]


def test_poll_progress_keeps_its_fields_and_refuses_others(redis: Redis) -> None:
    """A misspelt field would be saved and never read back (the cursor would never move): refused. Every save
    writes every field, the ones not given as null, and what is empty is not read back."""
    progress = x_progress(redis, X_USER_ID)
    progress.save(since_id="1860000000000000404", start_time="2030-03-17T17:46:40Z")
    assert orjson.loads(redis.get(progress.key)) == {"since_id": "1860000000000000404", "next_token": None,
                                                     "newest_id": None, "start_time": "2030-03-17T17:46:40Z",
                                                     "walked": None, "oldest_id": None}
    progress.save(since_id="1860000000000000405")
    assert progress.load() == {"since_id": "1860000000000000405"}
    with pytest.raises(TypeError, match="newest"):
        progress.save(since_id="1", newest="2")
    assert progress.load() == {"since_id": "1860000000000000405"}


def test_a_bot_answering_every_reply_of_ours_gets_its_additions_filed_and_at_most_the_cap_of_replies(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, log_stream: io.StringIO
) -> None:
    """Another auto-replying account reports, then answers each of our replies in its thread: each answer is an
    addition to its report, and was answered again, in public and without end. Past `x.reply_cap_per_hour` its
    answers are still filed; only their replies are left out, logged with the report and never the account."""
    settings = test_env.settings(**fake.env(LAPOR_X_REPLY_CAP_PER_HOUR="3"))
    intake = Intake(redis, settings)
    poller = make_poller(settings, redis, intake)
    parent, our_reply = acknowledged_mention(fake, settings, redis, poller, "@lapor1708 lampu jalan mati",
                                             username="auto_responder_bot")
    answers = []
    for n in range(6):  # the bot answers our newest reply, as long as there is one to answer
        answers.append(fake.state.add_tweet(f"@lapor1708 terima kasih atas balasan Anda #{n}",
                                            username="auto_responder_bot", in_reply_to=our_reply["id"]))
        poller.poll_once()
        run_reply_jobs(settings)
        newest = [r for r in fake.state.x_replies if r["in_reply_to_tweet_id"] == answers[-1]["id"]]
        if newest:
            our_reply = newest[0]
    intake.close()

    reports = reports_by_tweet(redis)
    assert all(reports[answer["id"]]["follow_up_of"] == parent["tracking_id"] for answer in answers), "never lost"
    assert len(fake.state.x_replies) == 3  # the acknowledgement and two additions: the cap, then silence
    capped = [e for e in log_events(log_stream) if e["event"] == "reply.capped"]
    assert len(capped) == 4 and {e["tracking_id"] for e in capped} == {parent["tracking_id"]}
    assert {(e["channel"], e["source"]) for e in capped} == {("x", "x-reply")}
    assert "auto_responder_bot" not in log_stream.getvalue()
    assert counted("lapor_replies_total", channel="x", outcome="capped") >= 4


def test_the_reply_cap_counts_per_account_and_each_mention_once(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis
) -> None:
    """Another citizen is answered while one account is capped; a batch taken again (its EXEC lost to a WatchError
    or a Redis failure, the poll retried) does not count its mentions twice."""
    settings = test_env.settings(**fake.env(LAPOR_X_REPLY_CAP_PER_HOUR="2"))
    intake = Intake(redis, settings)
    poller = make_poller(settings, redis, intake)
    for n in range(2):
        fake.state.add_tweet(f"@lapor1708 keluhan {n} soal parkir liar", username="siti_rahma")
    poller.poll_once()
    for key in redis.scan_iter("lapor:social:reply-queued:*"):  # as if that batch's EXEC had not gone through
        redis.delete(key)
    redis.delete(x_progress(redis, X_USER_ID).key)
    redis.delete(poller.read.key, poller.read.from_key)  # nor had the page been remembered as read
    queue(REPLY_QUEUE, redis).empty()
    poller.poll_once()  # the same two mentions taken again
    fake.state.add_tweet("@lapor1708 keluhan lagi soal parkir liar", username="siti_rahma")
    fake.state.add_tweet("@lapor1708 jalan berlubang", username="budi_bdg")
    poller.poll_once()
    intake.close()
    answered = sorted(job[2] for job in reply_jobs(redis))
    assert answered == ["social_ack"] * 3  # siti's first two and budi's; siti's third is over the cap


def test_a_rounds_error_quoting_a_mention_logs_neither_its_words_nor_its_author(
    fake: FakeProviderServer, settings: Settings, redis: Redis, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The poller logs a bug's traceback (`poller.crashed`) and tries again later: an exception quoting the mention
    in hand went out whole, its words, the author's name and handle (numbers and addresses only were caught). (A
    mention that fails to file is kept unfiled, `gateway.unfiled`: here keeping it fails too, quoting it again.)"""
    from gateway.unfiled import UnfiledMessages

    class QuotingIntake(Intake):
        def commit(self, drafts: Sequence[ReportDraft], *, hold: bool = False) -> list[Receipt]:
            raise ValueError(f"no table for {drafts[0].text!r} from {drafts[0].sender.display_name!r}")

    def keep_with_a_bug(_: UnfiledMessages, channel: str, message: Any, *__: Any) -> None:
        raise ValueError(f"no table for {message.text!r} from {message.sender_display_name!r}")

    monkeypatch.setattr(UnfiledMessages, "keep", keep_with_a_bug)

    fake.state.add_tweet("@lapor1708 pungli di kantor kelurahan Cibeunying oleh oknum petugas",
                         username="rudi_terang", name="Rudi Terang")
    intake = QuotingIntake(redis, settings)
    stop = threading.Event()

    def one_round(seconds: float | None = None) -> bool:  # the loop's sleep, without sleeping: one round only
        stop.set()
        return True

    stop.wait = one_round  # type: ignore[method-assign]
    try:
        run_poller(make_poller(settings, redis, intake), stop)
    finally:
        intake.close()
    [line] = [event for event in log_events(log_stream) if event["event"] == "poller.crashed"]
    assert "no table for" in str(line["exception"])  # the traceback is still there
    logged = log_stream.getvalue()
    for secret in ("Cibeunying", "oknum petugas", "Rudi Terang", "rudi_terang"):
        assert secret not in logged, f"{secret!r} in the poller's log"


@pytest.mark.parametrize(
    ("first", "answer", "expected"),
    [
        pytest.param("@lapor1708 #anonim pungli di loket samsat", {"text": "@lapor1708 kejadian lagi hari ini"},
                     {"follow_up_of": "parent", "anonymous": True, "text": "kejadian lagi hari ini"},
                     id="whistleblower-answers-own-anonymous-mention"),
        pytest.param("@lapor1708 jalan rusak di Jl. Dago", {"text": "@lapor1708"},
                     {"follow_up_of": "parent", "text": f"{EARLIER_MARK}\n> @lapor1708 jalan rusak di Jl. Dago"},
                     id="the-handle-alone-under-own-mention-keeps-the-quote"),
        pytest.param("@lapor1708 jalan rusak di Jl. Dago", {"text": "@lapor1708 masih rusak", "quote": True},
                     {"follow_up_of": "parent", "anonymous": False, "text": "masih rusak"},
                     id="reporter-quotes-own-mention"),
        pytest.param("@lapor1708 jalan rusak di Jl. Dago", {"text": "@lapor1708 di sini juga", "username": "budi_bdg"},
                     {"follow_up_of": None, "anonymous": False}, id="someone-else-answers-the-mention"),
        pytest.param("@lapor1708 #anonim pungli di loket samsat",
                     {"text": "@lapor1708 kejadian lagi", "envelope_gone": True},
                     {"follow_up_of": "parent", "anonymous": True}, id="report-forwarded-still-added-anonymous"),
        # its claim expired (30 days): a report of its own, anonymous as the mention it answers (it went named,
        # the #anonim words quoted beside the handle)
        pytest.param("@lapor1708 #anonim pungli di loket samsat",
                     {"text": "@lapor1708 kejadian lagi", "claim_gone": True},
                     {"follow_up_of": None, "anonymous": True}, id="claim-expired-answer-stays-anonymous"),
        pytest.param("@lapor1708 jalan rusak di Jl. Dago", {"text": "@lapor1708 masih rusak", "claim_gone": True},
                     {"follow_up_of": None, "anonymous": False}, id="claim-expired-answer-to-a-named-mention"),
    ],
)
def test_an_answer_to_the_reporters_own_mention_adds_to_the_report_it_filed(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
    first: str, answer: dict[str, Any], expected: dict[str, Any],
) -> None:
    """A citizen goes on under their own mention (a thread, or a quote of it) and X gives that post as a new mention.
    Filed as a report of its own, it doubled the case, and a whistleblower's "kejadian lagi" under their #anonim
    mention went named, with the anonymous mention's words quoted as their earlier post: their handle tied to the
    anonymous report. By the same sender it adds to the report the mention filed (its flags carry over); anyone
    else's answer is a report of its own. A report whose envelope is gone cannot tell its sender: the answer is a new
    report, and one under an anonymous mention is anonymous."""
    poller = make_poller(settings, redis, intake)
    mention = fake.state.add_tweet(first, username="siti_rahma")
    poller.poll_once()
    parent = reports_by_tweet(redis)[mention["id"]]
    if answer.get("envelope_gone"):
        redis.delete(f"lapor:envelope:{parent['tracking_id']}")
    if answer.get("claim_gone"):
        redis.delete(dedup_key(parent["channel"], mention["id"]))
    tweet = fake.state.add_tweet(answer["text"], username=answer.get("username", "siti_rahma"),
                                 **{"quote_of" if answer.get("quote") else "in_reply_to": mention["id"]})
    poller.poll_once()
    report = filed_and_answered_as(redis, tweet, parent, expected)
    if report["anonymous"]:
        assert "siti_rahma" not in orjson.dumps(case_store_payload(report, settings)).decode()


@pytest.mark.parametrize(
    ("first", "deeper", "expected"),
    [
        # X puts the handles of the thread before an answer in it: "@budi_bdg @lapor1708" is X's, not the citizen's
        pytest.param("@lapor1708 #anonim pungli di loket samsat",
                     {"text": "@budi_bdg @lapor1708 iya, kejadian lagi hari ini"},
                     {"follow_up_of": "parent", "anonymous": True}, id="whistleblower-answers-a-neighbour"),
        pytest.param("@lapor1708 jalan rusak di Jl. Dago", {"text": "@budi_bdg @lapor1708 iya, makin parah"},
                     {"follow_up_of": "parent", "anonymous": False}, id="reporter-answers-a-neighbour"),
        pytest.param("@lapor1708 jalan rusak di Jl. Dago",
                     {"text": "@budi_bdg @lapor1708 di Jl. Riau juga", "username": "dewi_k"},
                     {"follow_up_of": None, "anonymous": False}, id="a-third-citizen-in-the-thread"),
        pytest.param("@lapor1708 #anonim pungli di loket samsat",
                     {"text": "@budi_bdg @lapor1708 iya, kejadian lagi", "same_page": True},
                     {"follow_up_of": "parent", "anonymous": True}, id="whistleblower-thread-read-in-one-page"),
    ],
)
def test_a_reporters_answer_deeper_in_their_own_mentions_thread_adds_to_the_report_it_filed(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
    first: str, deeper: dict[str, Any], expected: dict[str, Any],
) -> None:
    """A neighbour answers the reporter's mention, and the reporter answers the neighbour: X gives that answer as a
    mention (`@budi_bdg @lapor1708 ...`, the thread's handles put before it), in the conversation the mention began.
    It was filed as a report of its own, the case doubled and a second Tracking ID answered in public; under an
    #anonim mention, named: the whistleblower's handle sent to the agency with more of the anonymous report's words.
    By the mention's own sender it adds to the report the mention filed (its flags carry over); anyone else's post in
    the thread is a report of its own, as before."""
    poller = make_poller(settings, redis, intake)
    mention = fake.state.add_tweet(first, username="siti_rahma")
    if not deeper.get("same_page"):
        poller.poll_once()
    neighbour = fake.state.add_tweet("@siti_rahma @lapor1708 betul, saya juga lihat", username="budi_bdg",
                                     in_reply_to=mention["id"])
    tweet = fake.state.add_tweet(deeper["text"], username=deeper.get("username", "siti_rahma"),
                                 in_reply_to=neighbour["id"])
    assert tweet["conversation_id"] == mention["id"]
    poller.poll_once()
    parent = reports_by_tweet(redis)[mention["id"]]
    report = filed_and_answered_as(redis, tweet, parent, expected)
    if report["anonymous"]:
        assert "siti_rahma" not in orjson.dumps(case_store_payload(report, settings)).decode()


def budis_named_report(fake: FakeProviderServer, redis: Redis,
                       poller: XMentionsPoller) -> tuple[dict[str, Any], dict[str, Any]]:
    """Budi's named mention, polled: his post and the report it filed (whose Tracking ID our reply makes public)."""
    budi = fake.state.add_tweet("@lapor1708 pungli di loket samsat Jl. Dago", username="budi_bdg")
    poller.poll_once()
    return budi, reports_by_tweet(redis)[budi["id"]]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param({"text": "@lapor1708 kejadian lagi hari ini", "to": "mention"},
                     {"follow_up_of": "parent", "anonymous": True}, id="her-answer-under-her-mention"),
        pytest.param({"text": "@dewi_k @lapor1708 iya, kejadian lagi hari ini", "to": "neighbour"},
                     {"follow_up_of": "parent", "anonymous": True}, id="her-answer-deeper-in-its-thread"),
        pytest.param({"text": "@lapor1708 #anonim saya pegawainya, pelakunya pak wakil kepala loket", "to": "edit"},
                     {"follow_up_of": "parent", "anonymous": True}, id="her-mention-edited"),
        pytest.param({"text": "@dewi_k @lapor1708 di loket 2 juga", "to": "neighbour", "username": "budi_bdg"},
                     {"follow_up_of": None, "anonymous": False}, id="the-other-reports-sender-deeper-in-her-thread"),
    ],
)
def test_an_answer_under_an_anonymous_mention_that_added_to_anothers_report_adds_to_it_anonymously(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
    answer: dict[str, Any], expected: dict[str, Any],
) -> None:
    """A whistleblower's #anonim mention names the public Tracking ID of another citizen's (named) report: it is an
    anonymous addition to that report. Her answer directly under it went on with that report with only the report's
    flags, so it was added named, her handle beside it; her answer deeper in its thread was checked against that
    report's sender, not hers, and became a named report of its own. Both, and an edit of her mention, now add to the
    report with her mention's flags; whose post it is, is told by what her mention filed."""
    poller = make_poller(settings, redis, intake)
    _, parent = budis_named_report(fake, redis, poller)
    mention = fake.state.add_tweet(f"@lapor1708 {parent['tracking_id']} #anonim saya pegawainya, pelakunya pak "
                                   "kepala loket", username="siti_rahma")
    poller.poll_once()
    assert (reports_by_tweet(redis)[mention["id"]]["follow_up_of"], reports_by_tweet(redis)[mention["id"]][
        "anonymous"]) == (parent["tracking_id"], True)
    if answer["to"] == "edit":
        tweet = fake.state.edit_tweet(mention["id"], answer["text"].replace("#anonim ", ""))
        assert tweet is not None
    else:
        replied_to = mention["id"]
        if answer["to"] == "neighbour":
            replied_to = fake.state.add_tweet("@siti_rahma @lapor1708 betul", username="dewi_k",
                                              in_reply_to=mention["id"])["id"]
        tweet = fake.state.add_tweet(answer["text"], username=answer.get("username", "siti_rahma"),
                                     in_reply_to=replied_to)
    poller.poll_once()
    report = reports_by_tweet(redis)[tweet["id"]]
    for name in ("follow_up_of", "anonymous"):
        wanted = parent["tracking_id"] if expected[name] == "parent" else expected[name]
        assert report[name] == wanted, name
    if report["anonymous"]:
        assert "siti_rahma" not in orjson.dumps(case_store_payload(report, settings)).decode()
        assert report["from_reports_sender"] is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param({"text": "@dewi_k @lapor1708 iya, kejadian lagi hari ini", "to": "neighbour"},
                     {"follow_up_of": "parent", "anonymous": True}, id="her-answer-to-a-neighbour-under-it"),
        pytest.param({"text": "@lapor1708 kejadian lagi hari ini", "to": "our-reply"},
                     {"follow_up_of": "parent", "anonymous": True}, id="her-answer-to-our-reply-under-it"),
        pytest.param({"text": "@siti_rahma @lapor1708 betul, saya juga lihat", "to": "mention",
                      "username": "dewi_k"},
                     {"follow_up_of": None, "anonymous": False}, id="a-neighbours-answer-to-it"),
        pytest.param({"text": "@dewi_k @lapor1708 di loket 2 juga", "to": "neighbour", "username": "rudi_h"},
                     {"follow_up_of": None, "anonymous": False}, id="someone-elses-answer-to-a-neighbour-under-it"),
    ],
)
def test_an_answer_under_an_anonymous_addition_inside_anothers_thread_adds_to_that_report_anonymously(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
    answer: dict[str, Any], expected: dict[str, Any],
) -> None:
    """A whistleblower learns Budi's Tracking ID from our reply under his post and posts her #anonim addition there,
    as an answer in his thread: X gives it, and all under it, Budi's post as the conversation. Her later answer to a
    neighbour under it, or to our reply under it, was told by Budi's report (not hers) and filed as a new named
    report, her user id and name sent to the case store and a new Tracking ID answered in public. The step up the
    thread (the post she answers, as X's includes.tweets gives it, answers her addition) finds what she filed.
    Anyone else's answer there stays a report of its own."""
    poller = make_poller(settings, redis, intake)
    budi, parent = budis_named_report(fake, redis, poller)
    mention = fake.state.add_tweet(f"@budi_bdg @lapor1708 {parent['tracking_id']} #anonim saya pegawainya, "
                                   "pelakunya pak kepala loket", username="siti_rahma", in_reply_to=budi["id"])
    poller.poll_once()
    filed = reports_by_tweet(redis)[mention["id"]]
    assert (filed["follow_up_of"], filed["anonymous"]) == (parent["tracking_id"], True)
    assert fake.state.tweet(mention["id"])["conversation_id"] == budi["id"]
    replied_to = mention["id"]
    if answer["to"] == "neighbour":
        replied_to = fake.state.add_tweet("@siti_rahma @lapor1708 betul", username="dewi_k",
                                          in_reply_to=mention["id"], mention=False)["id"]
    elif answer["to"] == "our-reply":
        run_reply_jobs(settings)
        replied_to = next(reply["id"] for reply in fake.state.x_replies
                          if reply["in_reply_to_tweet_id"] == mention["id"])
    tweet = fake.state.add_tweet(answer["text"], username=answer.get("username", "siti_rahma"),
                                 in_reply_to=replied_to)
    poller.poll_once()
    report = reports_by_tweet(redis)[tweet["id"]]
    for name in ("follow_up_of", "anonymous"):
        wanted = parent["tracking_id"] if expected[name] == "parent" else expected[name]
        assert report[name] == wanted, name
    payload = orjson.dumps(case_store_payload(report, settings)).decode()
    if report["anonymous"]:
        assert "siti_rahma" not in payload and filed["sender"]["id"] not in payload
    else:  # never her report: nothing of hers goes with it
        assert report["sender"]["id"] != filed["sender"]["id"]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param({"how": "answer", "where": "own-thread"}, id="answering-an-anonim-mention"),
        pytest.param({"how": "quote", "where": "own-thread"}, id="quoting-an-anonim-mention"),
        pytest.param({"how": "answer", "where": "own-thread", "same_page": True},
                     id="answering-an-anonim-mention-on-its-page"),
        pytest.param({"how": "answer", "where": "budis-thread"}, id="answering-an-anonim-addition-in-anothers-thread"),
        pytest.param({"how": "quote", "where": "budis-thread"}, id="quoting-an-anonim-addition"),
        pytest.param({"how": "answer", "where": "own-thread", "named": True}, id="answering-a-named-mention"),
    ],
)
def test_a_named_report_answering_or_quoting_an_anonymous_post_carries_neither_its_address_nor_its_words(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, case: dict[str, Any],
) -> None:
    """Dewi's named report answering (or quoting) Siti's #anonim mention or addition carried its address
    (x.com/i/status/<id>, which opens her post and names her) and her words, which the case store matches to the
    anonymous report: both are left out, the mark alone kept, and so is a conversation that anonymous post began. A
    named post quoted keeps both."""
    poller = make_poller(settings, redis, intake)
    budi, parent = budis_named_report(fake, redis, poller)
    words = "saya pegawainya, pelakunya pak kepala loket"
    flag = "" if case.get("named") else "#anonim "
    if case["where"] == "budis-thread":
        siti = fake.state.add_tweet(f"@budi_bdg @lapor1708 {parent['tracking_id']} {flag}{words}",
                                    username="siti_rahma", in_reply_to=budi["id"])
    else:
        siti = fake.state.add_tweet(f"@lapor1708 {flag}{words}", username="siti_rahma")
    if not case.get("same_page"):
        poller.poll_once()
    reference = {"in_reply_to": siti["id"]} if case["how"] == "answer" else {"quote_of": siti["id"]}
    dewi = fake.state.add_tweet("@siti_rahma @lapor1708 betul, saya juga lihat", username="dewi_k", **reference)
    poller.poll_once()
    reports = reports_by_tweet(redis)
    assert reports[siti["id"]]["anonymous"] is not bool(case.get("named"))
    report = reports[dewi["id"]]
    assert (report["anonymous"], report["follow_up_of"]) == (False, None)
    payload = case_store_payload(report, settings)
    sent = orjson.dumps(payload).decode()
    assert payload["text"].startswith("betul, saya juga lihat")
    assert f"[{load_replies()['report_quoted_post']['id']}" in payload["text"]
    if case.get("named"):
        assert f"https://x.com/i/status/{siti['id']}" in payload["text"] and words in payload["text"]
    else:
        assert siti["id"] not in sent and words not in sent and "pegawainya" not in sent


def test_an_answer_to_the_reporters_own_mention_on_the_same_page_adds_to_the_report_it_filed(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """The mention and the reporter's answer under it read in one page: the answer is taken once the mention's report
    is stored, so it adds to it (taken together, it was a named report of its own, the #anonim words quoted in it);
    so does an answer to that answer."""
    mention = fake.state.add_tweet("@lapor1708 #anonim pungli di loket samsat", username="siti_rahma")
    answer = fake.state.add_tweet("@lapor1708 kejadian lagi hari ini", username="siti_rahma", in_reply_to=mention["id"])
    again = fake.state.add_tweet("@lapor1708 minta Rp 200rb", username="siti_rahma", in_reply_to=answer["id"])
    make_poller(settings, redis, intake).poll_once()

    reports = reports_by_tweet(redis)
    parent = reports[mention["id"]]
    for tweet, text in ((answer, "kejadian lagi hari ini"), (again, "minta Rp 200rb")):
        report = reports[tweet["id"]]
        assert (report["follow_up_of"], report["anonymous"], report["text"]) == (parent["tracking_id"], True, text)
        assert "siti_rahma" not in orjson.dumps(case_store_payload(report, settings)).decode()


VIDEO = "https://video.twimg.com/ext_tw_video"


@pytest.mark.parametrize(
    ("tweet_id", "expected"),
    [
        # 31.5 s: the 720p MP4 (2176 kb/s, ~8.6 MB) fits 10 MiB; the HLS playlist is no file.
        pytest.param("1860000000000001501", [
            ("image/jpeg", "https://pbs.twimg.com/ext_tw_video_thumb/1860000000000001511/pu/img/sT9kq2Lm.jpg"),
            ("video/mp4", f"{VIDEO}/1860000000000001511/pu/vid/avc1/720x1280/Rt7uVb.mp4?tag=12")],
            id="a-video-its-still-and-the-best-mp4-that-fits"),
        pytest.param("1860000000000001502", [
            ("image/jpeg", "https://pbs.twimg.com/tweet_video_thumb/GdYz4QbX0AAm1Lk.jpg"),
            ("video/mp4", "https://video.twimg.com/tweet_video/GdYz4QbX0AAm1Lk.mp4")],
            id="a-gif-its-still-and-its-mp4"),
        # 20 min: no MP4 fits 10 MiB (256 kb/s is ~38 MB): the smallest, which the fetch refuses, kept by address.
        pytest.param("1860000000000001503", [
            ("image/jpeg", "https://pbs.twimg.com/ext_tw_video_thumb/1860000000000001513/pu/img/Pq1wEr.jpg"),
            ("video/mp4", f"{VIDEO}/1860000000000001513/pu/vid/avc1/320x180/Zx9Cv.mp4?tag=12")],
            id="a-long-video-the-smallest-mp4"),
    ],
)
def test_a_video_or_gif_is_its_still_and_its_mp4_not_the_still_alone(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, tweet_id: str,
    expected: list[tuple[str, str]],
) -> None:
    """X API v2 gives a video or GIF no `url`: its still (`preview_image_url`) and its files (`variants`). With the
    still alone a citizen's video of a bribe reached the case store as one frame of it. The still stays (an
    anonymous report's video is withheld by the gateway; the still, a JPEG, goes), and the MP4 is added."""
    fake.fail("/x/2/users", 200, body=fixture("x/mentions_page_video.json"))
    make_poller(settings, redis, intake).poll_once()
    asked = next(r for r in fake.state.requests if r["path"].endswith("/mentions"))
    assert {"variants", "duration_ms"} <= set(asked["query"]["media.fields"].split(","))
    report = reports_by_tweet(redis)[tweet_id]
    assert [(a["content_type"], a["location"]) for a in report["attachments"]] == expected


@pytest.mark.parametrize(
    ("headers", "waits"),
    [
        pytest.param({"x-rate-limit-reset": 120, "x-rate-limit-remaining": "150", "x-user-limit-24hour-limit": "100",
                      "x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": 5 * 3600}, 900,
                     id="the-accounts-daily-cap-used-up-waits-the-longest-wait"),
        pytest.param({"x-rate-limit-reset": -30, "x-app-limit-24hour-limit": "3000",
                      "x-app-limit-24hour-remaining": "0", "x-app-limit-24hour-reset": 600}, 601,
                     id="the-apps-daily-cap-used-up-waits-for-its-reset"),
        pytest.param({"x-rate-limit-reset": 120, "x-rate-limit-remaining": "0", "x-user-limit-24hour-limit": "100",
                      "x-user-limit-24hour-remaining": "37", "x-user-limit-24hour-reset": 5 * 3600}, 121,
                     id="the-15-minute-window-with-daily-posts-left-waits-for-the-window"),
    ],
)
def test_a_reply_refused_for_a_daily_posting_cap_waits_for_the_caps_reset(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, headers: dict[str, Any],
    waits: float,
) -> None:
    """X limits posting per day too (`x-user-limit-24hour-*`, `x-app-limit-24hour-*` on POST /2/tweets). Its 429 for
    a daily cap used up was read by the 15-minute `x-rate-limit-reset` alone: the reply was tried again at that reset,
    or each minute once it was past, for up to a day, each try another 429."""
    now = int(time.time())
    fake.state.add_tweet("@lapor1708 trotoar dipakai parkir")
    make_poller(settings, redis, intake).poll_once()
    fake.fail("/x/2/tweets", 429, body=fixture("x/too_many_requests.json"),
              headers={name: str(now + value) if isinstance(value, int) else value for name, value in headers.items()})
    before = time.time()
    run_reply_jobs(settings)
    [(_, due)] = redis.zrange(queue(REPLY_QUEUE, redis).scheduled_job_registry.key, 0, -1, withscores=True)
    assert waits - 2 <= due - before <= waits + 2


@pytest.mark.parametrize(("page", "broken"), [
    pytest.param("x/mentions_page.json", "1860000000000000101", id="a-photo-mention-anonim"),
    pytest.param("x/mentions_page_quotes.json", "1860000000000001204", id="a-quote-of-a-thread"),
    pytest.param("x/mentions_page_quotes.json", "1860000000000001208", id="the-newest-of-the-page"),
])
def test_a_mention_the_gateway_fails_to_file_is_kept_whole_and_the_cursor_moves_on(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, monkeypatch: pytest.MonkeyPatch,
    page: str, broken: str,
) -> None:
    """A mention whose words met a bug of ours raised in every poll: the cursor stayed, and no mention after it was
    filed. It is kept unfiled, whole (read back it is the message the poller built), the rest of the page is filed
    and the cursor moves past it; filed once the bug is mended, it is the report it would have been."""
    import channels.social
    from channels.social import MentionIntake
    from gateway.unfiled import UnfiledMessages

    seen: dict[str, Any] = {}
    normalize = channels.social.normalize

    def normalize_with_a_bug(message: Any, **options: Any) -> Any:
        if message.provider_message_id == broken and not seen.get("mended"):
            seen["message"] = message
            raise KeyError(message.text)
        return normalize(message, **options)

    monkeypatch.setattr(channels.social, "normalize", normalize_with_a_bug)
    fake.fail("/x/2/users", 200, body=fixture(page))
    make_poller(settings, redis, intake).poll_once()

    filed = reports_by_tweet(redis)
    assert broken not in filed and filed, filed
    assert x_progress(redis, X_USER_ID).load() == {"since_id": fixture(page)["meta"]["newest_id"]}
    (kept,), unreadable = UnfiledMessages(redis).list()
    assert (kept.key, kept.error, unreadable) == (f"x-mentions:{broken}", "KeyError", 0)
    assert kept.message == seen["message"]

    seen["mended"] = True
    MentionIntake(redis, settings, intake, polled_reply_target("x")).take([kept.message], keep_unfiled=False)
    assert reports_by_tweet(redis)[broken]["channel_meta"]["tweet_id"] == broken
    assert broken in {args[1]["tweet_id"] for args in reply_jobs(redis)}


@pytest.mark.parametrize(("spoiled", "kept_as"), [
    pytest.param({"edit_history_tweet_ids": 1860000000000001203}, "TypeError", id="edit-history-a-number"),
    pytest.param({"edit_history_tweet_ids": [{"id": "1860000000000001203"}]}, "TypeError",
                 id="edit-history-of-objects"),
    pytest.param({"referenced_tweets": {"type": "quoted", "id": "1860000000000000950"}}, "TypeError",
                 id="references-an-object"),
    pytest.param({"referenced_tweets": [{"type": "quoted", "id": "x"}]}, "ValueError", id="reference-no-id"),
    pytest.param({"edit_history_tweet_ids": 5, "conversation_id": "x", "created_at": 7}, "TypeError",
                 id="other-fields-too"),
    pytest.param({"id": None}, None, id="no-id"),
])
def test_one_mention_of_an_unreadable_shape_is_set_aside_and_the_rest_of_its_page_is_taken(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    spoiled: dict[str, Any], kept_as: str | None,
) -> None:
    """tweepy reads a page's posts before the poller sees any: one whose `edit_history_tweet_ids` or
    `referenced_tweets` was of another shape raised there, and the whole page was a bad payload at every poll, each
    mention on it held back. That one is set aside: kept unfiled as far as it can be read (anonymous, as it quotes a
    post), or, with no id to know it by, rejected (`mention.rejected`, reason `bad_payload`); the rest is filed and
    the cursor moves on."""
    from gateway.unfiled import UnfiledMessages

    page = fixture("x/mentions_page_quotes.json")
    dewi = next(post for post in page["data"] if post["id"] == "1860000000000001203")
    dewi.update(spoiled)
    fake.fail("/x/2/users", 200, body=page)
    make_poller(settings, redis, intake).poll_once()

    events = log_events(log_stream)
    assert "channel.bad_payload" not in {e["event"] for e in events}
    filed = reports_by_tweet(redis)
    assert set(filed) == {"1860000000000001204", "1860000000000001205", "1860000000000001207",
                          "1860000000000001208"}
    assert x_progress(redis, X_USER_ID).load() == {"since_id": page["meta"]["newest_id"]}
    kept, _ = UnfiledMessages(redis).list()
    if kept_as is None:
        assert kept == []
        assert [(e["reason"], e["error"]) for e in events if e["event"] == "mention.rejected"] == [
            ("bad_payload", "TypeError")]
        return
    [(unfiled)] = kept
    assert (unfiled.key, unfiled.error) == ("x-mentions:1860000000000001203", kept_as)
    assert unfiled.message.text == "tolong ditindak https://t.co/Qv9kLm2XyZ"
    assert unfiled.message.own_post_anonymous is True


@pytest.mark.parametrize("spoiled", [
    pytest.param({"edit_history_tweet_ids": 5}, id="edit-history-a-number"),
    pytest.param({"id": None}, id="no-id"),
])
def test_an_included_post_of_an_unreadable_shape_makes_the_mentions_quoting_it_unread_not_the_page(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    spoiled: dict[str, Any],
) -> None:
    """A post of `includes.tweets` tweepy cannot read made the whole page a bad payload at every poll. It is left out:
    the mentions that quote or answer it are kept unfiled, anonymous (whose post it is cannot be read), and the rest
    of the page is filed; with no id to tell which it is, every mention that quotes or answers a post. An included
    user tweepy cannot read (no name) is an author X left out: rina's #anonim answer carries the post's mark alone."""
    from gateway.unfiled import UnfiledMessages

    page = fixture("x/mentions_page_quotes.json")
    next(post for post in page["includes"]["tweets"] if post["id"] == "1860000000000000950").update(spoiled)
    del next(user for user in page["includes"]["users"] if user["username"] == "rina_kopo")["name"]
    fake.fail("/x/2/users", 200, body=page)
    make_poller(settings, redis, intake).poll_once()

    assert "channel.bad_payload" not in {e["event"] for e in log_events(log_stream)}
    filed = reports_by_tweet(redis)
    kept, _ = UnfiledMessages(redis).list()
    quoting_950 = {"x-mentions:1860000000000001203", "x-mentions:1860000000000001207"}
    if "id" in spoiled:  # which post it is cannot be read: every mention that quotes or answers one
        assert {unfiled.key for unfiled in kept} == {f"x-mentions:{post['id']}" for post in page["data"]}
        assert filed == {}
        return
    assert {unfiled.key for unfiled in kept} == quoting_950
    assert all(unfiled.message.own_post_anonymous for unfiled in kept)
    assert set(filed) == {"1860000000000001204", "1860000000000001205", "1860000000000001208"}
    assert filed["1860000000000001204"]["text"] == f"di Jl. Kopo Sayati juga sama\n\n{QUOTED_MARK}"
    assert x_progress(redis, X_USER_ID).load() == {"since_id": page["meta"]["newest_id"]}


@pytest.mark.parametrize(("spoil", "tweet_id", "left_out"), [
    # The post the whistleblower's #anonim answer answers (the accused's own) cannot be read: the answer is unread
    pytest.param("include", "1860000000000000911", ["1447000000000000031"], id="anonymous-answer-to-unreadable-post"),
    # The mention itself cannot be read: set aside
    pytest.param("data", "1860000000000000912", ["1447000000000000041", "1447000000000000042"],
                 id="set-aside-mention-tagging-officials"),
])
def test_a_mention_kept_unfiled_then_retried_is_still_answered_to_its_author_alone(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, spoil: str, tweet_id: str,
    left_out: list[str],
) -> None:
    """A mention kept unfiled because part of it could not be read lost the accounts it names: its retry's reply
    (`lapor-gateway unfiled retry`) named every one again, and the official a whistleblower's #anonim answer accused was
    notified of its Tracking ID. They are kept with it and left out of the reply, as a filed mention's are."""
    from channels.social import MentionIntake
    from gateway.unfiled import UnfiledMessages

    page = fixture("x/mentions_page_naming_others.json")
    if spoil == "include":
        page["includes"]["tweets"][0]["edit_history_tweet_ids"] = 5
    else:
        next(post for post in page["data"] if post["id"] == tweet_id)["edit_history_tweet_ids"] = 5
    fake.fail("/x/2/users", 200, body=page)
    make_poller(settings, redis, intake).poll_once()
    (kept,), _ = UnfiledMessages(redis).list()
    assert kept.message.provider_message_id == tweet_id
    MentionIntake(redis, settings, intake, polled_reply_target("x")).take([kept.message], keep_unfiled=False)
    assert tweet_id in reports_by_tweet(redis)
    assert "reply_exclude" not in (case_store_payload(reports_by_tweet(redis)[tweet_id], settings)
                                   .get("channel_meta") or {})
    run_reply_jobs(settings)
    replies = {reply["in_reply_to_tweet_id"]: reply for reply in fake.state.x_replies}
    assert replies[tweet_id]["exclude_reply_user_ids"] == left_out


def test_a_long_post_set_aside_is_kept_whole_and_answered_to_its_author_alone(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake,
) -> None:
    """A post over 280 characters set aside (tweepy could not read it) was kept with its cut `text` alone: the end of
    the report was lost, and the officials it tags there were named in its retry's reply. It is kept with the whole
    post (`note_tweet.text`) and the accounts the whole post names (`note_tweet.entities.mentions`)."""
    from channels.social import MentionIntake
    from gateway.unfiled import UnfiledMessages

    page = fixture("x/mentions_page_long_and_unnumbered.json")
    long_post = next(post for post in page["data"] if post["id"] == "1860000000000000921")
    long_post["edit_history_tweet_ids"] = 5
    fake.fail("/x/2/users", 200, body=page)
    make_poller(settings, redis, intake).poll_once()
    (kept,), _ = UnfiledMessages(redis).list()
    assert kept.message.provider_message_id == "1860000000000000921"
    assert kept.message.text == strip_leading_mentions(long_post["note_tweet"]["text"])
    MentionIntake(redis, settings, intake, polled_reply_target("x")).take([kept.message], keep_unfiled=False)
    run_reply_jobs(settings)
    replies = {reply["in_reply_to_tweet_id"]: reply for reply in fake.state.x_replies}
    assert replies["1860000000000000921"]["exclude_reply_user_ids"] == ["1447000000000000041", "1447000000000000042"]


@pytest.mark.parametrize("references", [
    pytest.param({"type": "retweeted", "id": "1860000000000000911"}, id="references-an-object"),
    pytest.param([{"type": "retweeted", "id": "x"}], id="reference-no-id"),
])
def test_a_retweet_whose_references_cannot_be_read_is_rejected_not_filed_as_the_retweeters(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    references: Any,
) -> None:
    """X's retweet of a whistleblower's #anonim mention, its `referenced_tweets` of another shape: set aside and kept
    unfiled, a retry filed it as the retweeter's own report, the whistleblower's handle in its words ("RT
    @warga_sukamaju: ..."), and answered it in public. It is rejected (`mention.rejected`, `retweet_unreadable`); the
    rest of the page is filed, and a post of the same shape that is no retweet's is still kept."""
    from gateway.unfiled import UnfiledMessages

    page = fixture("x/mentions_page_naming_others.json")
    page["data"].append({
        "edit_history_tweet_ids": ["1860000000000000913"], "conversation_id": "1860000000000000913",
        "author_id": "1447000000000000024", "created_at": "2026-11-20T05:03:00.000Z", "id": "1860000000000000913",
        "lang": "in",
        "text": "RT @warga_sukamaju: @lapor1708 #anonim dana desa dipotong 30% untuk setoran ke kecamatan",
        "referenced_tweets": references,
    })
    page["data"].append({**page["data"][-1], "id": "1860000000000000914", "edit_history_tweet_ids": [
        "1860000000000000914"], "text": "@lapor1708 dana desa dipotong, lihat ini"})
    fake.fail("/x/2/users", 200, body=page)
    make_poller(settings, redis, intake).poll_once()

    kept, _ = UnfiledMessages(redis).list()
    assert [unfiled.key for unfiled in kept] == ["x-mentions:1860000000000000914"]
    assert set(reports_by_tweet(redis)) == {"1860000000000000910", "1860000000000000911", "1860000000000000912"}
    assert [(e["reason"], e["error"]) for e in log_events(log_stream) if e["event"] == "mention.rejected"] == [
        ("retweet_unreadable", "TypeError" if isinstance(references, dict) else "ValueError")]
    assert not any("warga_sukamaju" in line for line in log_stream.getvalue().splitlines()
                   if "mention.rejected" in line)


@pytest.mark.parametrize("mentions", [
    pytest.param("a string", id="mentions-a-string"),
    pytest.param([5, {"id": {"x": 1}}, {"username": ["x"]}], id="mentions-of-other-shapes"),
])
def test_a_set_aside_mention_whose_mentions_cannot_be_read_is_kept_without_them(mentions: Any) -> None:
    """The accounts a set-aside mention names are read from its raw `entities.mentions` as far as they can be."""
    from channels.x_mentions import set_aside_mention

    item = {**fixture("x/mentions_page_naming_others.json")["data"][0], "edit_history_tweet_ids": 5,
            "entities": {"mentions": mentions}}
    found = set_aside_mention(item, X_USER_ID)
    assert found is not None
    assert "reply_exclude" not in found[0].channel_meta


def test_a_mention_whose_edit_history_cannot_be_read_is_unread_and_the_rest_of_its_page_is_read() -> None:
    """`superseded` and `is_retweet` ran outside the page's per-mention guard: a mention whose fields raised there
    made every mention of the page unreadable. It is `unread` now, kept unfiled by the poller, as any other."""
    import tweepy

    from channels.x_mentions import mentions_of

    page = fixture("x/mentions_page_quotes.json")
    tweets = [tweepy.Tweet(post) for post in page["data"]]
    broken = next(tweet for tweet in tweets if str(tweet.id) == "1860000000000001203")
    broken.data["edit_history_tweet_ids"] = 1860000000000001203
    includes = {"users": [tweepy.User(user) for user in page["includes"]["users"]],
                "tweets": [tweepy.Tweet(post) for post in page["includes"]["tweets"]]}
    unread: list[tuple[InboundMessage, Exception]] = []
    messages = mentions_of(SimpleNamespace(data=tweets, includes=includes), X_USER_ID, unread=unread)
    assert len(messages) == 4 and "1860000000000001203" not in {m.provider_message_id for m in messages}
    assert [(message.provider_message_id, type(error)) for message, error in unread] == [
        ("1860000000000001203", TypeError)]


def test_a_mention_kept_unfiled_after_others_were_filed_logs_no_tracking_id_of_theirs(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch that raises once its reports are stored (answering them) left the context of the report it was
    answering bound: `message.unfiled` of the one kept, and the round's `channel.polled`, named another mention's
    Tracking ID, and an operator looked for that report among the unfiled."""
    from channels.social import MentionIntake

    filed = fake.state.add_tweet("@lapor1708 jalan rusak di Jl. Dago no. 5", username="rudi_terang")
    broken = fake.state.add_tweet("@lapor1708 pungli di kelurahan Cibeunying", username="sari_w")
    job = MentionIntake._job

    def job_with_a_bug(self: MentionIntake, message: Any, *args: Any, **kwargs: Any) -> Any:
        if message.provider_message_id == broken["id"]:
            raise KeyError("reply")
        return job(self, message, *args, **kwargs)

    monkeypatch.setattr(MentionIntake, "_job", job_with_a_bug)
    make_poller(settings, redis, intake).poll_once()

    first_id = reports_by_tweet(redis)[filed["id"]]["tracking_id"]
    events = log_events(log_stream)
    (kept,) = [line for line in events if line["event"] == "message.unfiled"]
    assert (kept["error"], "tracking_id" in kept) == ("KeyError", False), kept
    (polled,) = [line for line in events if line["event"] == "channel.polled"]
    assert "tracking_id" not in polled, polled
    assert first_id in {line.get("tracking_id") for line in events if line["event"] == "message.accepted"}


def test_a_mention_kept_unfiled_after_one_it_answers_takes_that_one_once(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, log_stream: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page whose answer to a mention of its own raised was taken again a message at a time from its start: the
    mentions filed before that answer were logged `message.accepted` again as duplicates and counted received and
    duplicate a second time, on the status views too."""
    import channels.social

    first = fake.state.add_tweet("@lapor1708 jalan rusak di Jl. Dago no. 5", username="rudi_terang")
    answer = fake.state.add_tweet("@lapor1708 lubangnya makin besar", username="rudi_terang",
                                  in_reply_to=first["id"])
    other = fake.state.add_tweet("@lapor1708 pungli di kelurahan Cibeunying", username="sari_w")
    normalize = channels.social.normalize

    def normalize_with_a_bug(message: Any, **options: Any) -> Any:
        if message.provider_message_id == answer["id"]:
            raise KeyError("grammar")
        return normalize(message, **options)

    monkeypatch.setattr(channels.social, "normalize", normalize_with_a_bug)
    names = ("lapor_messages_received_total", "lapor_messages_accepted_total", "lapor_messages_duplicate_total")
    before = {name: counted(name, channel="x-mentions") for name in names}
    make_poller(settings, redis, intake).poll_once()

    assert set(reports_by_tweet(redis)) == {first["id"], other["id"]}
    accepted = [line for line in log_events(log_stream) if line["event"] == "message.accepted"]
    assert [line["duplicate"] for line in accepted] == [False, False], accepted
    assert {name: counted(name, channel="x-mentions") - before[name] for name in names} == {
        "lapor_messages_received_total": 3, "lapor_messages_accepted_total": 2, "lapor_messages_duplicate_total": 0}


def test_a_mention_our_reading_fails_on_is_kept_unfiled_as_far_as_it_can_be_read_and_the_page_goes_on(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, monkeypatch: pytest.MonkeyPatch,
    log_stream: io.StringIO,
) -> None:
    """A mention whose reading raised (a bug of ours, a field of a shape not met before) made its whole page
    unreadable, every poll: the cursor stayed and no mention after it was filed. It is kept unfiled with its words
    and author (not its files: its address shows them), the rest of the page is filed, and a retry files it."""
    import channels.x_mentions
    from channels.social import MentionIntake
    from gateway.unfiled import UnfiledMessages

    page = fixture("x/mentions_page.json")
    broken = "1860000000000000101"
    read = channels.x_mentions.to_inbound

    def to_inbound_with_a_bug(tweet: Any, *args: Any, **options: Any) -> Any:
        if str(tweet.id) == broken:
            raise KeyError("media_key")
        return read(tweet, *args, **options)

    monkeypatch.setattr(channels.x_mentions, "to_inbound", to_inbound_with_a_bug)
    fake.fail("/x/2/users", 200, body=page)
    make_poller(settings, redis, intake).poll_once()

    assert sorted(reports_by_tweet(redis)) == ["1860000000000000404"]
    assert x_progress(redis, X_USER_ID).load() == {"since_id": page["meta"]["newest_id"]}
    (kept,), _ = UnfiledMessages(redis).list()
    assert (kept.key, kept.error, kept.message.channel_meta["read_in_part"]) == (f"x-mentions:{broken}", "KeyError",
                                                                                True)
    assert kept.message.text.startswith("#anonim jalan berlubang di Jl. Soekarno-Hatta km 5")
    assert "Soekarno" not in log_stream.getvalue()
    MentionIntake(redis, settings, intake, polled_reply_target("x")).take([kept.message], keep_unfiled=False)
    report = reports_by_tweet(redis)[broken]
    assert report["anonymous"] is True and report["text"].startswith("jalan berlubang di Jl. Soekarno-Hatta km 5")
    assert report["channel_meta"]["permalink"] == f"https://x.com/i/web/status/{broken}"


def test_a_mention_kept_unfiled_that_answers_a_post_is_filed_anonymous(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A mention our reading failed on is kept without the posts it answers or quotes, so without whether one of them
    is its sender's own anonymous mention (`own_post_anonymous`): the whistleblower's answer under their #anonim
    mention, kept so, was filed as a named report, their handle sent with it. In doubt such an answer is anonymous;
    the post it answers is kept (`replied_to`), so an answer to our reply still adds to its report."""
    import channels.x_mentions
    from channels.social import MentionIntake
    from gateway.unfiled import UnfiledMessages

    fake.fail("/x/2/users", 200, body=fixture("x/mentions_page.json"))
    make_poller(settings, redis, intake).poll_once()
    anonymous = "1860000000000000101"
    assert reports_by_tweet(redis)[anonymous]["anonymous"] is True
    answer = "1860000000000000505"
    author = "1447000000000000001"  # the #anonim mention's own author
    page = {"data": [{"id": answer, "author_id": author, "conversation_id": anonymous,
                      "edit_history_tweet_ids": [answer], "created_at": "2026-11-20T04:00:00.000Z",
                      "referenced_tweets": [{"type": "replied_to", "id": anonymous}],
                      "text": "@lapor1708 kades juga minta uang 500rb ke warga"}],
            "includes": {"users": [{"id": author, "name": "Siti Rahma", "username": "siti_rahma"}],
                         "tweets": [{"id": anonymous, "author_id": author, "edit_history_tweet_ids": [anonymous],
                                     "text": "@lapor1708 #anonim jalan berlubang di Jl. Soekarno-Hatta km 5"}]},
            "meta": {"newest_id": answer, "oldest_id": answer, "result_count": 1}}
    read = channels.x_mentions.to_inbound

    def to_inbound_with_a_bug(tweet: Any, *args: Any, **options: Any) -> Any:
        if str(tweet.id) == answer:
            raise KeyError("media_key")
        return read(tweet, *args, **options)

    monkeypatch.setattr(channels.x_mentions, "to_inbound", to_inbound_with_a_bug)
    fake.fail("/x/2/users", 200, body=page)
    make_poller(settings, redis, intake).poll_once()
    (kept,), _ = UnfiledMessages(redis).list()
    assert kept.message.replied_to == anonymous
    MentionIntake(redis, settings, intake, polled_reply_target("x")).take([kept.message], keep_unfiled=False)
    assert reports_by_tweet(redis)[answer]["anonymous"] is True


def test_a_mention_kept_unfiled_whose_words_cannot_be_read_is_filed_as_its_address() -> None:
    """A mention kept unfiled whose text could not be read was kept with no words: its retry read it as asking for help,
    answered that in public and released it, the report it was (its photo, say) lost. Its address stands for its
    words, so the retry files a report the agency can open."""
    import tweepy

    from channels.x_mentions import plain_mention
    from normalizer.pipeline import normalize

    tweet_id = "1860000000000000999"
    kept = plain_mention(tweepy.Tweet({"id": tweet_id, "author_id": "1447000000000000001", "text": None,
                                       "edit_history_tweet_ids": [tweet_id]}))
    normalized = normalize(kept)
    assert normalized.query is None and normalized.draft is not None
    assert normalized.draft.text == f"https://x.com/i/web/status/{tweet_id}"


def test_a_mention_cek_with_words_adds_them_to_the_report_and_answers_in_public_with_its_link(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake
) -> None:
    """"@lapor1708 CEK <id> <words>", no photo: the words are added to the report (anonymous as the report is), where
    the status answer dropped them; the public answer is the follow-up's, the report's link (where a status query by
    mention points too) and nothing of the report's words."""
    fake.state.add_tweet("@lapor1708 #anonim pungli di loket samsat")
    poller = make_poller(settings, redis, intake)
    poller.poll_once()
    (parent,) = envelopes(redis)
    tweet = fake.state.add_tweet(f"@lapor1708 CEK {parent['tracking_id']} petugasnya minta lagi hari ini")
    poller.poll_once()
    (added,) = [e for e in envelopes(redis) if e["tracking_id"] != parent["tracking_id"]]
    assert (added["follow_up_of"], added["text"], added["anonymous"]) == (
        parent["tracking_id"], "petugasnya minta lagi hari ini", True)
    assert reply_jobs(redis)[-1] == ("twitter", {"tweet_id": tweet["id"]}, "social_follow_up",
                                     parent["tracking_id"], "id")
    run_reply_jobs(settings)
    replies = {reply["in_reply_to_tweet_id"]: reply["text"] for reply in fake.state.x_replies}
    assert "pungli" not in replies[tweet["id"]] and "petugas" not in replies[tweet["id"]]


@pytest.mark.parametrize(("text", "sent"), [
    pytest.param(f"sama\n\n{QUOTED_MARK} https://x.com/i/status/1860000000000000960\n> banjir lagi",
                 f"sama\n\n{QUOTED_MARK}\n> banjir lagi", id="the-mark-as-written"),
    # A table customised (or reworded since the report was filed): the text keeps the mark it was written with,
    # cleaned (spaces folded), which the mark's current words did not match.
    pytest.param("sama\n\n[Kutipan dari X / Quoted from X] https://x.com/i/status/1860000000000000960\n> banjir",
                 "sama\n\n[Kutipan dari X / Quoted from X]\n> banjir", id="a-customised-mark"),
    pytest.param(f"{QUOTED_MARK} https://x.com/i/status/1\n\n{QUOTED_MARK} https://x.com/i/status/2",
                 f"{QUOTED_MARK}\n\n{QUOTED_MARK}", id="two-posts"),
    pytest.param("lihat https://x.com/i/status/1860000000000000960 ini", "lihat https://x.com/i/status/"
                 "1860000000000000960 ini", id="an-address-in-the-reporters-words-is-theirs"),
])
def test_an_anonymous_reports_quoted_posts_reach_the_case_store_without_their_addresses(
    settings: Settings, text: str, sent: str
) -> None:
    envelope = {"tracking_id": "10000004", "channel": "twitter", "anonymous": True, "text": text,
                "sender": {"kind": "x_user", "id": "1062224386750651", "display_name": "Siti"},
                "channel_meta": {"username": "siti_rahma"}, "channel_message_id": "1860000000000001204"}
    assert case_store_payload(envelope, settings)["text"] == sent
    assert case_store_payload({**envelope, "anonymous": False}, settings)["text"] == text


def test_a_window_raised_since_the_last_walk_does_not_take_mentions_trimmed_from_the_read_set_as_new(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, intake: Intake
) -> None:
    """The read set keeps the window below the cursor, but its record said it was complete from the first poll's start:
    a poller restarted with a larger window asked below what the set kept and took a mention read 45 s before the
    cursor as new (counted received and duplicate again). The record says complete from what the set keeps."""
    cursor_id = str(X_ID_START)
    posted = snowflake_ms(cursor_id) / 1000
    narrow = test_env.settings(**fake.env(LAPOR_X_POLL_INTERVAL_SECONDS="15"))
    wide = test_env.settings(**fake.env(LAPOR_X_POLL_INTERVAL_SECONDS="15", LAPOR_X_SINCE_LOOKBACK_SECONDS="60"))
    fake.state.add_tweet("@lapor1708 jalan rusak di Jl. Dago", tweet_id=str(int(cursor_id) - (45_000 << 22) - 3))
    fake.state.add_tweet("@lapor1708 lampu mati", tweet_id=cursor_id)
    make_poller(narrow, redis, intake, lambda: posted + 1).poll_once()
    counters = channel_counts()

    make_poller(wide, redis, intake, lambda: posted + 16).poll_once()

    assert channel_counts() == counters and len(reports_by_tweet(redis)) == 2


@pytest.mark.parametrize("thread_parents", [(), ("1860000000000000014",)], ids=["none", "one"])
def test_an_unfiled_message_reads_in_both_releases(redis: Redis, thread_parents: tuple[str, ...]) -> None:
    """`thread_parents` written into the kept message's record (`[]` for an SMS's too) made the release before read
    each such record as damaged, telling the operator to delete it (a citizen's words): it is kept beside the record.
    A field a later release adds to the record is left out as it is read, not a reason to call it damaged."""
    from dataclasses import fields

    from gateway.unfiled import UNFILED_KEY, UnfiledMessages, message_from_record
    from tests.upgrade_support import previous_module

    message = InboundMessage(channel=Channel.TWITTER, source="x-mentions", provider_message_id="1860000000000000021",
                             sender_kind=SenderKind.X_USER, sender_address="1062224386750651", text="kejadian lagi",
                             received_at=datetime(2026, 12, 5, 9, 0, tzinfo=UTC), attachments=[],
                             thread_parents=thread_parents)
    UnfiledMessages(redis).keep("x", message, ValueError("a bug"), 1_796_500_000.0)

    [raw] = redis.hgetall(UNFILED_KEY.format(channel="x")).values()
    record = orjson.loads(raw)["message"]
    before = {field.name for field in fields(previous_module("normalizer/inbound.py").InboundMessage)}
    assert set(record) <= before
    assert [kept.message for kept in UnfiledMessages(redis).read()[0]] == [message]
    assert message_from_record({**record, "a_later_field": [1]}) == replace(message, thread_parents=())


@pytest.mark.parametrize("when", ["same-page", "after-its-records-expired"])
def test_a_named_answer_to_an_anonymous_post_our_records_cannot_tell_carries_neither_its_address_nor_its_words(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, when: str,
) -> None:
    """Dewi's named answer to Siti's anonymous post carried its words and address where nothing in Redis said the post
    was anonymous: the post an addition of Siti's quoting her own #anonim mention, on Dewi's page (taken before it,
    not yet filed), or an #anonim mention whose records had expired (30 days; the post stays on X). The answer is
    taken after what it answers on its page, and a post asking anonymity in its own words is marked alone."""
    words = "saya pegawainya, pelakunya pak kepala loket"
    poller = make_poller(settings, redis, intake)
    if when == "same-page":
        first = fake.state.add_tweet("@lapor1708 #anonim pungli di loket samsat", username="siti_rahma")
        siti = fake.state.add_tweet(f"@lapor1708 {words}", username="siti_rahma", quote_of=first["id"])
    else:
        siti = fake.state.add_tweet(f"@lapor1708 #anonim {words}", username="siti_rahma")
        poller.poll_once()
        redis.delete(dedup_key("twitter", siti["id"]))  # intake.dedup_ttl_seconds later
    dewi = fake.state.add_tweet("@siti_rahma @lapor1708 betul, saya juga lihat", username="dewi_k",
                                in_reply_to=siti["id"])
    poller.poll_once()

    reports = reports_by_tweet(redis)
    assert reports[siti["id"]]["anonymous"] is True and reports[dewi["id"]]["anonymous"] is False
    sent = orjson.dumps(case_store_payload(reports[dewi["id"]], settings)).decode()
    assert siti["id"] not in sent and "pegawainya" not in sent and "siti_rahma" not in sent, sent


@pytest.mark.parametrize("how", ["answers", "quotes"])
def test_a_neighbours_post_quoted_one_step_from_an_anonymous_mention_names_neither_its_reporter_nor_its_post(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, how: str,
) -> None:
    """Dewi answers Budi, who answered (or quoted) Siti's #anonim mention. Budi's post, quoted in Dewi's named report,
    began with X's reply prefix `@siti_rahma` or carried the link X writes for a quote, `x.com/siti_rahma/status/<id>`:
    the whistleblower's handle and post beside her neighbour's words. A quoted post is taken without its reply
    prefix and without the links to the posts it answers or quotes."""
    poller = make_poller(settings, redis, intake)
    siti = fake.state.add_tweet("@lapor1708 #anonim saya pegawainya, pelakunya pak kepala loket", username="siti_rahma")
    poller.poll_once()
    if how == "answers":
        budi = fake.state.add_tweet("@siti_rahma @lapor1708 saya juga dipalak di sana", username="budi_bdg",
                                    in_reply_to=siti["id"])
    else:
        budi = fake.state.add_tweet("@lapor1708 saya juga dipalak di sana", username="budi_bdg", quote_of=siti["id"])
    poller.poll_once()
    dewi = fake.state.add_tweet("@budi_bdg @lapor1708 betul", username="dewi_k", in_reply_to=budi["id"])
    poller.poll_once()

    report = reports_by_tweet(redis)[dewi["id"]]
    sent = orjson.dumps(case_store_payload(report, settings)).decode()
    assert report["anonymous"] is False and "saya juga dipalak di sana" in report["text"]
    assert "siti_rahma" not in sent and siti["id"] not in sent, sent


@pytest.mark.parametrize(("post", "quoted"), [
    pytest.param("@kades_sukamaju menerima suap dana desa Rp 50 juta",
                 "> @kades_sukamaju menerima suap dana desa Rp 50 juta", id="a-handle-that-is-its-words"),
    pytest.param("@dishub_bdg @pemkot_bdg", "> @dishub_bdg @pemkot_bdg", id="handles-alone"),
])
def test_a_quoted_post_that_answers_nothing_keeps_the_handles_it_opens_with(
    fake: FakeProviderServer, settings: Settings, redis: Redis, intake: Intake, post: str, quoted: str,
) -> None:
    """Only X's reply prefix is left out of a quoted post (the handles of the thread a post answers): a post that
    answers nothing opens with its own words, the official it accuses among them."""
    viral = fake.state.add_tweet(post, username="warga_sukamaju")
    answer = fake.state.add_tweet("@warga_sukamaju @lapor1708 tolong ditindak", username="dewi_k",
                                  in_reply_to=viral["id"])
    make_poller(settings, redis, intake).poll_once()
    assert reports_by_tweet(redis)[answer["id"]]["text"].endswith(f"{viral['id']}\n{quoted}")


def test_no_case_store_gets_a_posts_conversation(settings: Settings) -> None:
    """The first post of a named report's thread may be an #anonim one whose records are gone (30 days): its id, in
    `conversation_id`, went to the case store and opened it, its author named. The gateway keeps it for itself."""
    envelope = {"tracking_id": "10000012", "channel": "twitter", "anonymous": False, "text": "betul",
                "sender": {"kind": "x_user", "id": "1013627468458897", "display_name": "Dewi"},
                "channel_meta": {"tweet_id": "1860000000000000014", "conversation_id": "1860000000000000000",
                                 "username": "dewi_k"}, "channel_message_id": "1860000000000000014"}
    assert case_store_payload(envelope, settings)["channel_meta"] == {"tweet_id": "1860000000000000014",
                                                                      "username": "dewi_k"}


# -- the same mention posted again ---------------------------------------------------------------------------------
QA_MENTION = "@lapor1708 saluran air tersumbat di RT 05 RW 02 Antapani"


@dataclass(frozen=True)
class Posted:
    """A mention of a same-text case: its words, and what it is to the mention at index `of` (its first, or the one it
    answers, edits or repeats): `report` (a report of its own, `social_ack`), `repeat` (that one's report again,
    nothing filed, `social_duplicate` with that one's Tracking ID), `addition` (added to that one's report, answered
    `social_follow_up`), `edit` (added to it unanswered). `then`: what happens after it, before the next mention:
    `poll` (the poller takes what was posted), `reply` (and our replies are posted), `wait` (the window passes)."""

    text: str
    outcome: str
    of: int | None = None
    username: str = "qa_rep"
    photo: bool = False
    quoting: bool = False
    answering_our_reply: bool = False
    editing: bool = False
    then: str = "poll"


SAME_TEXT_CASES = [
    pytest.param([Posted(QA_MENTION, "report"), Posted(QA_MENTION, "repeat", 0)], id="twice-in-two-polls"),
    pytest.param([Posted(QA_MENTION, "report", then=""), Posted(QA_MENTION, "repeat", 0, then=""),
                  Posted(QA_MENTION, "repeat", 0)], id="three-times-in-one-poll"),
    pytest.param([Posted(QA_MENTION, "report"), Posted("@lapor1708  SALURAN air tersumbat di RT 05 RW 02  antapani",
                                                       "repeat", 0)], id="case-and-spaces-aside"),
    pytest.param([Posted("@lapor1708 #anonim pungli di loket samsat", "report"),
                  Posted("@lapor1708 ANONIM pungli di loket samsat", "repeat", 0)], id="anonymous-twice"),
    pytest.param([Posted("@lapor1708 pungli di loket samsat", "report"),
                  Posted("@lapor1708 #anonim pungli di loket samsat", "report"),
                  Posted("@lapor1708 pungli di loket samsat", "repeat", 0),
                  Posted("@lapor1708 #anonim pungli di loket samsat", "repeat", 1)], id="named-then-anonymous"),
    pytest.param([Posted(QA_MENTION, "report"), Posted(QA_MENTION, "report", username="warga_lain"),
                  Posted(QA_MENTION, "repeat", 0)], id="another-account"),
    pytest.param([Posted(QA_MENTION, "report"), Posted("@lapor1708 saluran air tersumbat di RT 06", "report"),
                  Posted(QA_MENTION, "repeat", 0)], id="other-words"),
    pytest.param([Posted(QA_MENTION, "report", photo=True), Posted(QA_MENTION, "report", photo=True),
                  Posted(QA_MENTION, "report"), Posted(QA_MENTION, "repeat", 2)], id="with-a-photo"),
    pytest.param([Posted(QA_MENTION, "report", quoting=True), Posted(QA_MENTION, "report", quoting=True),
                  Posted(QA_MENTION, "report"), Posted(QA_MENTION, "repeat", 2)], id="quoting-a-post"),
    pytest.param([Posted(QA_MENTION, "report"), Posted(QA_MENTION, "edit", 0, editing=True),
                  Posted(QA_MENTION, "repeat", 0)], id="an-edit-in-the-same-words"),
    pytest.param([Posted(QA_MENTION, "report", then="reply"), Posted(QA_MENTION, "addition", 0,
                                                                     answering_our_reply=True),
                  Posted(QA_MENTION, "repeat", 0)], id="an-answer-to-our-reply-in-the-same-words"),
    pytest.param([Posted(QA_MENTION, "report", then="wait"), Posted(QA_MENTION, "report"),
                  Posted(QA_MENTION, "repeat", 1)], id="after-the-window"),
]


@pytest.mark.parametrize("posted", SAME_TEXT_CASES)
def test_the_same_mention_posted_again_within_the_window_is_the_first_ones_report(
    fake: FakeProviderServer, test_env: TestEnvironment, redis: Redis, posted: list[Posted]
) -> None:
    """The same mention posted twice by one account (no answer yet, a client posting it twice) was two reports, two
    cases at the agency and two public replies with two Tracking IDs. Within `x.same_text_window_seconds`, as by SMS
    (gateway/same_text.py), it is the first one's report, answered in public "we already have this report" with its
    Tracking ID, nothing filed; an anonymous one stays anonymous and its answer says no more than any. An edit and an
    answer in the report's thread are additions as before; a quote, another account, other words, or a mention with a
    photo (its bytes never seen) each a report of its own."""
    window = "1" if any(post.then == "wait" for post in posted) else "600"
    settings = test_env.settings(**fake.env(LAPOR_X_SAME_TEXT_WINDOW_SECONDS=window))
    intake = Intake(redis, settings)
    poller = make_poller(settings, redis, intake)
    viral = fake.state.add_tweet("saluran di gang kami mampet", username="warga_antapani", mention=False)
    tweets: list[dict[str, Any]] = []
    jobs: dict[str, tuple[Any, ...]] = {}  # the reply queued per mention
    for post in posted:
        if post.editing:
            tweet = fake.state.edit_tweet(tweets[post.of or 0]["id"], post.text)
            assert tweet is not None
        else:
            answered = None
            if post.answering_our_reply:
                (answered,) = [reply["id"] for reply in fake.state.x_replies
                               if reply["in_reply_to_tweet_id"] == tweets[post.of or 0]["id"]]
            tweet = fake.state.add_tweet(post.text, username=post.username, media=[{"type": "photo"}] if post.photo
                                         else None, quote_of=viral["id"] if post.quoting else None,
                                         in_reply_to=answered)
        tweets.append(tweet)
        if post.then:
            poller.poll_once()
        if post.then == "reply":
            jobs.update((job[1]["tweet_id"], job[2:4]) for job in reply_jobs(redis))
            run_reply_jobs(settings)
        if post.then == "wait":
            time.sleep(1.1)
    intake.close()

    reports = reports_by_tweet(redis)
    jobs.update((job[1]["tweet_id"], job[2:4]) for job in reply_jobs(redis))
    run_reply_jobs(settings)
    replies = {reply["in_reply_to_tweet_id"]: reply["text"] for reply in fake.state.x_replies}
    for index, (post, tweet) in enumerate(zip(posted, tweets, strict=True)):
        of = reports[tweets[post.of]["id"]] if post.of is not None else None
        if post.outcome == "report":
            assert reports[tweet["id"]]["follow_up_of"] is None, index
            assert jobs[tweet["id"]] == ("social_ack", reports[tweet["id"]]["tracking_id"]), index
        elif post.outcome == "repeat":
            assert of is not None and tweet["id"] not in reports, index
            assert jobs[tweet["id"]] == ("social_duplicate", of["tracking_id"]), index
            assert replies[tweet["id"]].startswith(
                f"Laporan ini sudah kami terima. Nomor lacak: {of['tracking_id']}. Pantau di https://"), index
            assert post.username not in replies[tweet["id"]] and "anonim" not in replies[tweet["id"]].lower()
        else:
            assert of is not None and reports[tweet["id"]]["follow_up_of"] == of["tracking_id"], index
            assert jobs.get(tweet["id"]) == (("social_follow_up", of["tracking_id"]) if post.outcome == "addition"
                                             else None), index
    filed = [post for post in posted if post.outcome != "repeat"]
    assert len(reports) == len(filed)
    assert sum(report["anonymous"] for report in reports.values()) == sum("anonim" in post.text.lower()
                                                                          for post in filed)
