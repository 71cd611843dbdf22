"""The hot-path shortcuts the benchmark led to keep the exact behaviour of what they replace."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import io
import json
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from itertools import islice
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlencode, urlparse

import pytest
import structlog
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from multidict import MultiDict
from redis import Redis
from twilio.request_validator import RequestValidator, add_port, remove_port
from twilio.twiml.messaging_response import MessagingResponse

from channels.gsm7 import to_gsm7
from channels.twilio_sms import _form, _signed_urls, compute_signature, render_twiml, signed_params
from gateway.embedded_redis import EmbeddedRedis
from gateway.errors import RejectedInput
from gateway.health.signals import SIGNALS_KEY, HealthSignals
from gateway.intake import Intake
from gateway.logs import (
    _ID_INT_FLOOR,
    _PHONE_INT_FLOOR,
    _QUOTED_EMAIL,
    _SENSITIVE,
    REDACTED,
    SAFE_KEYS,
    SENSITIVE_KEYS,
    VERBATIM_KEYS,
    _redact_addresses,
    _redact_numbers,
    configure_logging,
    get_logger,
    redact,
    scrub,
    sensitive_values,
)
from gateway.settings import Settings
from normalizer import keywords, sender
from normalizer.envelope import Attachment, Channel, Envelope, ReportDraft, Sender, SenderKind, utc_now
from normalizer.flags_in_words import _asks_no_flag_in_words, _folded_words
from normalizer.grammar import _ASKED, Grammar, load_grammar
from normalizer.keywords import _LAST_WORD_WINDOW, _may_end_with_a_tail
from normalizer.sender import _PLAIN_ID_MOBILE, _normalize_with_phonenumbers, normalize_msisdn
from normalizer.small_talk import _ENGLISH_MARGIN, detect_language, is_courtesy
from normalizer.text import _BLANK_LINES, _CONTROL, _SPACES, clean_text, fold_word
from normalizer.tokens import _KEPT_TOKENS_CHARS, _TOKENS, _WORDS, _first_folded_tokens, _folded_tokens, _squeeze
from tests.conftest import TWILIO_TOKEN, GatewayServer

TWIML_CASES = [
    pytest.param([], id="no-reply"),
    pytest.param(["LAPOR! Laporan Anda diterima. Nomor lacak: 10000011."], id="ack"),
    pytest.param(["a & b < c > d \"q\" 'x'"], id="xml-special-characters"),
    pytest.param(["satu", "dua"], id="two-messages"),
    pytest.param(["Status: ditindaklanjuti ]]> <![CDATA["], id="cdata-markers"),
]


@pytest.mark.parametrize("replies", TWIML_CASES)
def test_twiml_template_is_byte_identical_to_messaging_response(replies: list[str]) -> None:
    expected = MessagingResponse()
    for reply in replies:
        expected.message(reply)
    assert render_twiml(replies) == str(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("LAPOR! Nomor lacak: 10000011. Cek status: ketik CEK 10000011",
                     "LAPOR! Nomor lacak: 10000011. Cek status: ketik CEK 10000011", id="plain-gsm7"),
        pytest.param("Harga {naik} [20%] ~ €5 ^ | \\", "Harga {naik} [20%] ~ €5 ^ | \\", id="extension-table"),
        pytest.param("“Kutipan” – café … ✓", '"Kutipan" - café ... ', id="needs-replacing"),
    ],
)
def test_gsm7_fast_path_gives_what_the_character_loop_gave(text: str, expected: str) -> None:
    """Expected values are the outputs of the character-by-character version, before the fast path."""
    assert to_gsm7(text) == expected


SIGNATURE_CASES = [
    pytest.param("http://127.0.0.1:{port}", id="signed-with-the-port"),
    pytest.param("http://127.0.0.1", id="signed-without-the-port"),
]


@pytest.mark.parametrize("signed_base", SIGNATURE_CASES)
async def test_signature_over_either_url_variant_is_accepted(gateway: GatewayServer, signed_base: str) -> None:
    """Twilio signs the URL with or without the port; the shortcut tries the second only if the first fails."""
    port = gateway.url.rsplit(":", 1)[1]
    form = gateway.twilio_form(MessageSid="SM" + "7" * 32, SmsSid="SM" + "7" * 32)
    url = signed_base.format(port=port) + "/v1/channels/sms/twilio"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    assert (await gateway.post_twilio(form, signature=signature)).status_code == 200
    assert (await gateway.post_twilio(form, signature=signature[:-2] + "xx")).status_code == 403


async def test_repeated_form_keys_are_all_signed(gateway: GatewayServer) -> None:
    """Twilio signs every value of a repeated parameter: the form keeps them all."""
    pairs = [*gateway.twilio_form(MessageSid="SM" + "8" * 32).items(), ("MediaUrl0", "a"), ("MediaUrl0", "b")]
    body = urlencode(pairs)
    assert _form(body.encode()).getall("MediaUrl0") == ["a", "b"]
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(
        gateway.settings.public_url + "/v1/channels/sms/twilio", _form(body.encode())
    )
    response = await gateway.client.post(
        "/v1/channels/sms/twilio", content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )
    assert response.status_code == 200


def _draft(sid: str) -> ReportDraft:
    return ReportDraft(received_at=utc_now(), channel=Channel.SMS, channel_message_id=sid,
                       sender=Sender(kind=SenderKind.MSISDN, id="+6281234567890"), text="Jalan rusak")


class CountingRedis(Redis):
    """A client that keeps the name of every command it sends on its own (not those of its pipelines)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[str] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(str(args[0]))
        return super().execute_command(*args, **options)


@pytest.mark.parametrize("loss", ["script-flush", "embedded-redis-restarted"])
def test_claims_go_as_evalsha_and_survive_a_redis_that_lost_its_scripts(
        loss: str, redis_url: str, settings: Settings, tmp_path: Path) -> None:
    """Claims go out as EVALSHA, the script's text sent once (SCRIPT LOAD), not with every batch; a Redis that lost
    it (SCRIPT FLUSH; `make run`'s embedded Redis restarted on its port and data) refuses the claim unrun, and intake
    loads it again and claims."""
    server = EmbeddedRedis(tmp_path / "redis").start() if loss == "embedded-redis-restarted" else None
    redis = CountingRedis.from_url(server.url if server is not None else redis_url)
    try:
        intake = Intake(redis, settings)
        first = intake.commit([_draft("SMa")])
        if server is None:
            redis.script_flush()
        else:
            server.stop()
            server = EmbeddedRedis(tmp_path / "redis", port=server.port).start()
        again, fresh = intake.commit([_draft("SMa"), _draft("SMb")])
        third = intake.commit([_draft("SMc")])[0]
        assert again.tracking_id == first[0].tracking_id and again.duplicate
        assert not fresh.duplicate and fresh.tracking_id != first[0].tracking_id and not third.duplicate
        assert redis.hget(f"lapor:dedup:sms:{hashlib.sha1(b'SMb').hexdigest()}", "state") == b"committed"
        assert "EVAL" not in redis.sent and redis.sent.count("EVALSHA") >= 3
        assert 1 <= redis.sent.count("SCRIPT LOAD") <= 2  # after the loss, once: not with every claim
    finally:
        redis.close()
        if server is not None:
            server.stop()


MMS_FORM = json.loads((Path(__file__).parent / "fixtures" / "twilio" / "inbound_mms.json").read_text())
PARAM_CASES = [
    pytest.param(list(MMS_FORM.items()), id="inbound-mms"),
    pytest.param([*MMS_FORM.items(), ("MediaUrl0", "b"), ("MediaUrl0", "a"), ("MediaUrl0", "b")],
                 id="repeated-key-unsorted-and-repeated-values"),
    pytest.param([("Body", "Lampu mati ☹ — “Jl. Sudirman”"), ("From", "+6281234567890"), ("Zeta", ""), ("A", "")],
                 id="non-ascii-and-blank-values"),
    pytest.param([("b", "2"), ("a", "3"), ("ab", "1"), ("a", "10"), ("B", "x")], id="prefix-names-and-case"),
    pytest.param([], id="no-parameters"),
]
URL_CASES = [
    pytest.param("https://lapor.example.go.id/v1/channels/sms/twilio", id="https-without-port"),
    pytest.param("https://lapor.example.go.id:443/v1/channels/sms/twilio?x=1", id="https-with-port-and-query"),
    pytest.param("http://127.0.0.1:8080/v1/channels/sms/twilio", id="http-other-port"),
]


@pytest.mark.parametrize("url", URL_CASES)
@pytest.mark.parametrize("pairs", PARAM_CASES)
def test_direct_signature_is_twilios(url: str, pairs: list[tuple[str, str]]) -> None:
    """The signature computed with hmac directly is twilio's RequestValidator.compute_signature, byte for byte."""
    params = MultiDict(pairs)
    expected = RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    assert compute_signature(TWILIO_TOKEN.encode(), url, signed_params(params)) == expected


@pytest.mark.parametrize("url", URL_CASES)
def test_signed_url_variants_are_validates_and_start_with_the_configured_url(url: str) -> None:
    """The same two variants RequestValidator.validate accepts, the configured spelling first."""
    parsed = urlparse(url)
    variants = _signed_urls(url)
    assert set(variants) == {remove_port(parsed), add_port(parsed)}
    assert variants[0] == url


DRAFT_CASES = [
    pytest.param({}, id="plain-sms"),
    pytest.param({"received_at": datetime(2026, 11, 22, 15, 30, tzinfo=timezone(timedelta(hours=7))),
                  "text": "Banjir \"lagi\" di Jl. Cempaka ☔\nsejak pagi", "language": "id", "anonymous": True,
                  "channel_meta": {"message_sid": "SM1", "to": "+621708", "nested": {"a": [1, 2]}}},
                 id="local-time-quotes-newline-meta"),
    pytest.param({"attachments": [Attachment(content_type="image/jpeg", location="https://api.twilio.com/m/ME1")],
                  "follow_up_of": "10000011", "kind": "aspiration", "explicit_kind": True, "incomplete": True},
                 id="media-follow-up"),
]


@pytest.mark.parametrize("overrides", DRAFT_CASES)
def test_envelope_json_is_the_validated_envelopes_json(overrides: dict[str, object]) -> None:
    """Intake stores `envelope_json`: byte for byte what the validated Envelope would dump."""
    draft = ReportDraft.model_validate({**_draft("SM9").model_dump(), **overrides})
    assert draft.envelope_json("10000012") == draft.with_tracking_id("10000012").model_dump_json()
    assert Envelope.model_validate_json(draft.envelope_json("10000012")).tracking_id == "10000012"


def test_envelope_adds_exactly_the_two_fields_envelope_json_appends() -> None:
    assert list(Envelope.model_fields)[-2:] == ["envelope_version", "tracking_id"]
    assert set(Envelope.model_fields) - set(ReportDraft.model_fields) == {"envelope_version", "tracking_id"}


@pytest.mark.parametrize("tracking_id", [pytest.param("0123456", id="leading-zero"), pytest.param("12", id="short"),
                                         pytest.param('1000001","x":"y', id="injection")])
def test_envelope_json_refuses_what_is_no_tracking_id(tracking_id: str) -> None:
    with pytest.raises(ValueError, match="Tracking ID"):
        _draft("SM9").envelope_json(tracking_id)


@pytest.mark.parametrize(
    ("seconds", "writes"),
    [pytest.param([0, 0.2, 0.9], 1, id="same-second"), pytest.param([0, 1.0, 1.5, 2.0], 3, id="a-write-each-second")],
)
def test_message_signal_writes_redis_at_most_once_a_second(redis: Redis, seconds: list[float], writes: int) -> None:
    """`note_message` (on the event loop) says when the Redis write is due; the webhook path runs only those."""
    clock = {"now": 1_000.0}
    signals = HealthSignals(redis, clock=lambda: clock["now"])
    due = []
    for offset in seconds:
        clock["now"] = 1_000.0 + offset
        due.append(signals.note_message("sms-twilio"))
        if due[-1]:
            signals.write_noted("sms-twilio")
    assert sum(due) == writes and due[0]
    assert float(redis.hget(SIGNALS_KEY.format(channel="sms-twilio"), "last_message_at") or 0) >= 1_000.0


async def test_a_webhook_still_records_the_channels_last_message(gateway: GatewayServer, redis: Redis) -> None:
    """The health signal left the per-request thread hop; a webhook must still reach the channel's health record."""
    response = await gateway.post_twilio(gateway.twilio_form(MessageSid="SM" + "9" * 32, SmsSid="SM" + "9" * 32))
    assert response.status_code == 200
    wait_until = time.monotonic() + 5
    while not redis.hget(SIGNALS_KEY.format(channel="sms-twilio"), "last_message_at"):
        assert time.monotonic() < wait_until, "no health signal written"
        await asyncio.sleep(0.02)


def test_settle_heap_freezes_start_up_state_and_spaces_young_collections() -> None:
    """In a process of its own: the test process's collector is left alone."""
    script = (
        "import gc, json; from gateway.runtime import settle_heap, GC_YOUNG_THRESHOLD; before = gc.get_freeze_count();"
        " settle_heap(); print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold()[0], GC_YOUNG_THRESHOLD]))"
    )
    before, after, threshold, expected = json.loads(
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                       cwd=Path(__file__).resolve().parent.parent).stdout
    )
    assert before == 0 and after > 1000
    assert threshold == expected


def _normalized_or_rejected(normalize: Callable[[str, str], str], raw: str, region: str) -> str:
    try:
        return normalize(raw, region)
    except RejectedInput as error:
        return f"rejected: {error.reason}"


@hypothesis_settings(max_examples=150, deadline=None)
@given(raw=st.from_regex(_PLAIN_ID_MOBILE, fullmatch=True), region=st.sampled_from(["ID", "US", "SG", "MY"]))
@example(raw="+62812345678", region="ID")  # the shortest: 8 and 8 digits
@example(raw="0899999999999", region="ID")  # the longest: 8 and 11 digits
@example(raw="62800000000", region="US")
@example(raw="081234567890", region="US")  # a national "0" number belongs to the default region: not Indonesia's
def test_plain_indonesian_mobile_shortcut_is_what_phonenumbers_gives(raw: str, region: str) -> None:
    """Every string the shortcut's pattern takes, in any region, comes out as phonenumbers has it (a number or a
    rejection)."""
    normalize_msisdn.cache_clear()
    assert (_normalized_or_rejected(normalize_msisdn, raw, region)
            == _normalized_or_rejected(_normalize_with_phonenumbers, raw, region))


@pytest.mark.parametrize(
    ("raw", "region", "shortcut"),
    [
        ("+6281234567890", "ID", True),
        ("6281234567890", "ID", True),
        ("081234567890", "ID", True),
        (" 081234567890 ", "ID", True),
        ("081234567890", "US", False),  # a national "0" number belongs to the default region
        ("+6281234567890", "US", True),  # an international one does not
        ("+62812345678901234", "ID", False),  # longer than any Indonesian mobile number
        ("+6221555123", "ID", False),  # a Jakarta landline: phonenumbers decides
        ("+62 812 3456 7890", "ID", False),  # separators: phonenumbers reads them
        ("０８１２３４５６７８９０", "ID", False),  # fullwidth digits are not [0-9]
    ],
)
def test_only_plain_indonesian_mobiles_take_the_shortcut(raw: str, region: str, shortcut: bool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(sender, "_normalize_with_phonenumbers", lambda candidate, _: asked.append(candidate) or "")
    normalize_msisdn.cache_clear()
    normalize_msisdn(raw, region)
    normalize_msisdn.cache_clear()
    assert (not asked) is shortcut


def _scrub_without_shortcuts(text: str) -> str:
    """`scrub` without its shortcuts (ASCII text is not re-encoded; no digit and no "@", no regexes; no '"@', no
    quoted local part)."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    for value in _SENSITIVE.get() or ():
        if value in text:
            text = text.replace(value, REDACTED)
    return _redact_numbers(_QUOTED_EMAIL.sub("[email]", _redact_addresses(text)))


@hypothesis_settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("ab .@+-()0123456789٣\udcff\u00e9x\"[]"), max_size=40),
       secret=st.text(alphabet=st.sampled_from("ab 0123@x"), min_size=4, max_size=8))
@example(text="message.accepted", secret="zzzz")
@example(text="kirim ke +62 812-3456-7890 atau a@b.id", secret="kirim")
@example(text="bad byte \udcff 0812 3456 7890", secret="byte")
@example(text='balas ke "a b"@x.id atau a@[10.0.0.1]', secret="balas")
@example(text='balas ke "a b"\uff20x\uff0eid atau a\ufe6bb.id', secret="balas")  # an Asian keyboard's at signs
@example(text="nomor ٠٨١٢٣٤٥٦٧٨٩٠", secret="nomor")  # Arabic-Indic digits are digits to the phone pattern too
def test_scrub_shortcuts_change_nothing(text: str, secret: str) -> None:
    with sensitive_values(secret):
        assert scrub(text) == _scrub_without_shortcuts(text)


def _redact_without_shortcuts(event: dict[str, object]) -> dict[str, object]:
    """`redact` as it was before its shortcuts (None and booleans first, dict before the Mapping ABC)."""

    def scrub_value(value: object) -> object:
        if isinstance(value, str):
            return scrub(value)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _PHONE_INT_FLOOR:
            return "[id]" if abs(value) >= _ID_INT_FLOOR else "[phone]"
        if isinstance(value, Mapping):
            return {key: item_(str(key), item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [scrub_value(item) for item in value]
        return value

    def item_(key: str, value: object) -> object:
        if key in VERBATIM_KEYS:
            return value
        if key not in SAFE_KEYS and key.lower() in SENSITIVE_KEYS and value not in (None, "", [], {}):
            return REDACTED
        return scrub_value(value)

    return {key: item_(key, value) for key, value in event.items()}


_LOG_KEYS = st.sampled_from(["event", "tracking_id", "timestamp", "reason", "kind", "Email", "text", "sender",
                             "duplicate", "count", "detail"])
_LOG_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**12, max_value=10**12),
                        st.text(alphabet=st.sampled_from("ab @.+0123456789"), max_size=20), st.just(""))
_LOG_VALUES = st.recursive(_LOG_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner), st.dictionaries(_LOG_KEYS, inner, max_size=3)),
    max_leaves=6)


@hypothesis_settings(max_examples=300, deadline=None)
@given(event=st.dictionaries(_LOG_KEYS, _LOG_VALUES, max_size=6))
@example(event={"email": True, "text": None, "sender": "", "to": [], "from": {}, "count": 628123456789})
def test_redaction_shortcuts_change_nothing(event: dict[str, object]) -> None:
    with sensitive_values("abab"):
        assert redact(None, "info", dict(event)) == _redact_without_shortcuts(event)


def _detect_language_two_sums(text: str) -> str:
    """`detect_language` as it was before its single pass: each word folded as the tables hold it."""
    grammar = load_grammar()
    words = [fold_word(word) for word in _WORDS.findall(text)]
    english = sum(word in grammar.english_markers for word in words)
    indonesian = sum(word in grammar.indonesian_markers for word in words)
    return "en" if english and english >= _ENGLISH_MARGIN * indonesian else "id"


_MARKER_WORDS = sorted(load_grammar().english_markers | load_grammar().indonesian_markers)


@hypothesis_settings(max_examples=300, deadline=None)
@given(words=st.lists(st.one_of(st.sampled_from(_MARKER_WORDS),
                                st.sampled_from(["THE", "Di", "İS", "ß", "x1", "ＴＨＥ"]), st.text(max_size=6)),
                      max_size=12))
@example(words=["İS"])  # folded whole, "İ" lowercases to "i" and a combining dot, which cut the word in two
def test_language_detection_in_one_pass_decides_as_before(words: list[str]) -> None:
    text = " ".join(words)
    assert detect_language(text, load_grammar()) == _detect_language_two_sums(text)


def _is_courtesy_phrase_by_phrase(text: str) -> bool:
    """The courtesy check as it was first written: every word squeezed, phrases looked for from the first word on
    (each word folded as the grammar folds it: "ª" reads as "a")."""
    courtesy = load_grammar().courtesy
    words = (_squeeze(fold_word(match.group())) for match in _TOKENS.finditer(text))  # read as the grammar reads
    window = list(islice(words, max(courtesy.longest_phrase, 1)))
    found = False
    while window:
        length = next((n for n in range(len(window), 0, -1) if tuple(window[:n]) in courtesy.phrases), 0)
        if length:
            found = True
        elif window[0] in courtesy.fillers or window[0] in courtesy.names:
            length = 1
        else:
            return False
        del window[:length]
        window.extend(islice(words, length))
    return found or any(ch in courtesy.emoji for ch in text)


_COURTESY = load_grammar().courtesy
_COURTESY_PIECES = sorted(" ".join(phrase) for phrase in _COURTESY.phrases) + sorted(
    _COURTESY.fillers | _COURTESY.names | _COURTESY.emoji)


@hypothesis_settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.one_of(st.sampled_from(_COURTESY_PIECES), st.sampled_from(["makasiiih", "OKEEE", "jalan",
                                                                                     "Terima", "12", "👍🏽", "sipp"]),
                                 st.text(max_size=6)), max_size=8),
       gap=st.sampled_from([" ", ", ", "! ", "\n"]))
def test_the_courtesy_check_that_stops_at_the_first_other_word_decides_as_before(pieces: list[str], gap: str) -> None:
    """Every message is asked whether it is only thanks: a report now answers at its first word no courtesy holds
    (2 us instead of 11 for an SMS report), and every text gets the answer it got before."""
    text = gap.join(pieces)
    assert is_courtesy(text, load_grammar()) == _is_courtesy_phrase_by_phrase(text)


def test_module_loggers_follow_every_configuration() -> None:
    """Module loggers assemble their structlog logger once per configuration: a new stream or level applies to
    loggers made (and used) before it."""
    log = get_logger()
    first, second = io.StringIO(), io.StringIO()
    try:
        configure_logging("info", stream=first)
        log.info("probe.first")
        log.debug("probe.hidden")
        configure_logging("debug", stream=second)
        log.info("probe.second")
        log.debug("probe.debug")
    finally:
        configure_logging("info")
    assert [json.loads(line)["event"] for line in first.getvalue().splitlines()] == ["probe.first"]
    assert [json.loads(line)["event"] for line in second.getvalue().splitlines()] == ["probe.second", "probe.debug"]


def test_a_configuration_made_while_a_module_logger_assembles_is_not_missed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another thread configuring logging while a module logger assembles its structlog logger: the next line
    goes by the new configuration, not the one the logger happened to assemble."""
    log = get_logger()
    first, second = io.StringIO(), io.StringIO()
    real_get_logger = structlog.get_logger
    reconfigured: list[bool] = []

    class Racing:
        """structlog's proxy, except that logging is configured again right after it assembles a logger."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            self._proxy = real_get_logger(*args, **kwargs)

        def bind(self) -> object:
            assembled = self._proxy.bind()
            if not reconfigured:
                reconfigured.append(True)
                configure_logging("info", stream=second)  # lands between assembling and noting the configuration
            return assembled

    def get_logger_while_reconfigured(*args: object, **kwargs: object) -> object:
        return Racing(*args, **kwargs)

    try:
        configure_logging("info", stream=first)
        monkeypatch.setattr(structlog, "get_logger", get_logger_while_reconfigured)
        log.info("probe.during")
        log.info("probe.after")
    finally:
        configure_logging("info")
    assert "probe.after" in second.getvalue() and "probe.after" not in first.getvalue()
    assert copy.copy(log) is not log  # a module logger copies (its unset slots are no logging methods)


def test_sensitive_values_nest_and_unwind() -> None:
    with sensitive_values("outer words"):
        with sensitive_values("inner words"):
            assert scrub("outer words, inner words") == f"{REDACTED}, {REDACTED}"
        assert scrub("outer words, inner words") == f"{REDACTED}, inner words"
    assert scrub("outer words, inner words") == "outer words, inner words"


def _folded_words_word_by_word(text: str) -> list[str]:
    """`_folded_words` as first written: each word folded alone, then read in full as an SMS shortens it."""
    grammar = load_grammar()
    shortened, split = grammar.anonymity_abbreviations, grammar.anonymity_split_abbreviations
    words: list[str] = []
    for word in map(fold_word, _TOKENS.findall(text)):
        joined = split.get(words[-1], {}).get(word) if words else None
        if joined is not None:
            words[-1] = joined
        else:
            words.append(shortened.get(word, word))
    return words


_SPLIT = load_grammar().anonymity_split_abbreviations
_SHORTENED = sorted(load_grammar().anonymity_abbreviations) + sorted(
    f"{first} {second}" for first, seconds in _SPLIT.items() for second in seconds)


@hypothesis_settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.one_of(st.sampled_from(_SHORTENED), st.sampled_from(["SY", "Di Rahasiakan", "İS", "ＮＡＭＡ",
                                                                               "x_1", "ß", "jalan"]),
                                 st.text(max_size=6)), max_size=10),
       gap=st.sampled_from([" ", ", ", "\n", "_"]))
@example(pieces=["di", "depan", "kantor"], gap=" ")  # a first word of "di rahasiakan" without a second: no join
@example(pieces=["di", "depan", "di", "rahasiakan"], gap=" ")
def test_words_folded_at_once_in_an_ascii_text_are_the_words_folded_one_by_one(pieces: list[str], gap: str) -> None:
    """An ASCII text is lowercased once before it is cut into words (a report's confidentiality and anonymity in
    words read its words): the same words, shortened forms read in full, as each word folded alone."""
    text = gap.join(pieces)
    assert _folded_words(text, load_grammar()) == _folded_words_word_by_word(text)



def _clean_text_in_full(text: str) -> str:
    """`clean_text` as it reads every text, without the shortcut for one that is clean already."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return unicodedata.normalize("NFC", _BLANK_LINES.sub("\n\n", text).strip())


@hypothesis_settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=st.one_of(st.sampled_from(" \t\n\r\x00\x7f\x85\xa0\u200b\u0308e~"),
                                       st.characters(max_codepoint=0x7f)), max_size=30))
@example(text="")
@example(text=" jalan rusak")
@example(text="jalan rusak ")
@example(text="jalan  rusak")
@example(text="jalan\trusak")
@example(text="a\x7f")
def test_a_clean_text_returned_as_it_is_is_what_cleaning_it_gives(text: str) -> None:
    """Most SMS are one line of printable ASCII without runs of spaces: returned as they are, they are what the
    cleaning gives them."""
    assert clean_text(text) == _clean_text_in_full(text)


@hypothesis_settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.one_of(st.sampled_from(["LAPOR", "İS", "ANONİM", "ＣＥＫ", "x_1", "ß", "１７０８",
                                                  "makasiiih"]),
                                 st.text(max_size=6)), max_size=10),
       gap=st.sampled_from([" ", ", ", "\n", "_"]), padding=st.sampled_from([0, _KEPT_TOKENS_CHARS]))
def test_folded_tokens_kept_or_read_lazily_are_the_tokens_folded_one_by_one(pieces: list[str], gap: str,
                                                                           padding: int) -> None:
    """A message's folded tokens are kept for its next readers, a long one's read lazily: the tokens either way, each
    folded as the grammar folds it."""
    text = "x" * padding + gap + gap.join(pieces)
    expected = [fold_word(match.group()) for match in _TOKENS.finditer(text)]
    assert list(_folded_tokens(text)) == expected
    assert list(_folded_tokens(text)) == expected  # kept: the same again
    assert list(_first_folded_tokens(text, 3)) == (expected if len(text) <= _KEPT_TOKENS_CHARS else expected[:3])


def _phrases_asking_flags_in_words() -> list[str]:
    """Every phrase, request, name line and statement word the readers of flags asked in words look for."""
    grammar = load_grammar()
    padded = [phrase.replace(_ASKED, "").strip()
              for table in (grammar.anonymity_phrases, grammar.anonymity_asked_phrases, grammar.confidentiality_phrases,
                            grammar.confidentiality_asked_phrases)
              for phrases in table.values() for phrase in phrases]
    requests = [" ".join(words) for words in (*grammar.anonymity_requests, *grammar.confidentiality_requests,
                                              *grammar.confidentiality_requests_when_asked)]
    lines = [" ".join(line) for line in grammar.anonymity_name_lines]
    words = grammar.anonymity_words | grammar.confidentiality_statements | grammar.identity_statements
    return sorted({*padded, *requests, *lines, *words})


_FLAGS_IN_WORDS_PHRASES = _phrases_asking_flags_in_words()


@pytest.mark.parametrize("phrase", _FLAGS_IN_WORDS_PHRASES)
def test_no_phrase_asking_a_flag_in_words_is_passed_by_the_shortcut(phrase: str) -> None:
    """A report holding none of the words the flags in words need is not read for them (a tenth of its normalizing):
    every phrase of the tables holds one, and a report of it is read."""
    grammar = load_grammar()
    text = f"pungli di kantor camat. {phrase}"
    assert not _asks_no_flag_in_words(text, _folded_words(text, grammar), grammar)


@hypothesis_settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.one_of(st.sampled_from(_FLAGS_IN_WORDS_PHRASES),
                                 st.sampled_from(["LAPOR", "WBS", "ANONIM", "dengan", "Dengan anonim", "cek", "saya",
                                                  "jalan rusak", "nomor", "Nama:", "di", "mohon", "ya pak", "🙏",
                                                  "(anonim, saya takut)", "ＮＡＭＡ", "ͺ", "^", "10000004"]),
                                 st.text(max_size=6)), max_size=8),
       gap=st.sampled_from([" ", ", ", ". ", "\n", " | ", ": "]))
def test_flags_in_words_read_past_by_the_shortcut_are_those_read_in_full(pieces: list[str], gap: str) -> None:
    """The shortcut that passes a report asking no flag in words gives every text the reading it had without it."""
    text = gap.join(pieces)
    grammar = load_grammar()
    with mock.patch.object(keywords, "_asks_no_flag_in_words", return_value=False):
        in_full = keywords.parse_text(text, grammar)
    assert keywords.parse_text(text, grammar) == in_full


def test_a_grammar_without_the_shortcuts_tables_reads_every_text_for_flags_in_words() -> None:
    """A grammar not made by `load_grammar` (their defaults) reads each text in full: with an empty table of the words
    the flags in words need, the shortcut passed every report, and a wish for anonymity went unread."""
    fields = {field.name: field.default for field in dataclasses.fields(Grammar)}
    grammar = dataclasses.replace(load_grammar(), flags_in_words_triggers=fields["flags_in_words_triggers"],
                                  anonymity_split_seconds=fields["anonymity_split_seconds"])
    parsed = keywords.parse_text("LAPOR pungli di kantor camat, mohon identitas saya di rahasiakan", grammar)
    assert parsed.anonymous
    assert parsed == keywords.parse_text("LAPOR pungli di kantor camat, mohon identitas saya di rahasiakan")


def _may_end_with_a_tail_read_forwards(text: str) -> bool:
    """`_may_end_with_a_tail` as first written: every token of the window read, the last kept."""
    offset = max(0, len(text) - _LAST_WORD_WINDOW)
    last = None
    for match in _TOKENS.finditer(text, offset):
        last = match
    if last is None or (last.start() == offset and offset > 0):
        return True
    return fold_word(last.group()) in load_grammar().tail_last_words


_TAIL_WORDS = sorted(load_grammar().tail_last_words)


@hypothesis_settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.one_of(st.sampled_from(_TAIL_WORDS),
                                 st.sampled_from(["jalan", "ANONIM", "12345678", "x_1", "İS", "ＮＡＭＡ", "🙏", "pak!!",
                                                  "a" * 40, "ya pak", "terima kasih."]),
                                 st.text(max_size=6)), max_size=8),
       gap=st.sampled_from([" ", ", ", ". ", "\n", "_", ""]))
def test_the_last_word_read_backwards_is_the_last_word_read_forwards(pieces: list[str], gap: str) -> None:
    """Every report's last word is asked whether a tail of thanks or a plea may end there: read from the window's end
    backwards, the answer of reading all its tokens."""
    text = gap.join(pieces)
    assert _may_end_with_a_tail(text, load_grammar()) == _may_end_with_a_tail_read_forwards(text)
