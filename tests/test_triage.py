"""Triage: region, topic, kind, language, duplicates/campaigns and spam, in-process and through the real worker.

The engine is trained once per session (about two seconds); duplicate tests use the real Redis of the test run.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from prometheus_client import REGISTRY
from redis import Redis
from typer.testing import CliRunner

from gateway.intake import Intake
from gateway.queues import envelope_key
from gateway.settings import Settings, load_settings
from normalizer.envelope import Channel, ReportDraft, ReportKind, Sender, SenderKind, Triage
from tests.conftest import (
    FIXTURES,
    CaseStoreServer,
    GatewayServer,
    ProcessHandle,
    TestEnvironment,
    async_wait_until,
    wait_until,
)
from triage.duplicates import (
    BAND_KEY,
    BAND_MEMBERS,
    BAND_SAMPLE,
    CAMPAIGN_KEY,
    NUM_PERM,
    SKETCH_KEY,
    DuplicateIndex,
    DuplicatePolicy,
    shingles,
)
from triage.engine import TriageEngine
from triage.model import TrainingDataError, load_categories, read_examples
from triage.text import words

TRIAGE_FIXTURES = FIXTURES / "triage"


@pytest.fixture(autouse=True)
def triage_on(test_env: TestEnvironment, kept_triage_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite switches triage off by default (it costs each worker a model training); these tests need it. The
    commands they run keep their models with the run's, never under the repository's ./var (the development profile's
    data dir)."""
    test_env.values["LAPOR_TRIAGE_ENABLED"] = "true"
    monkeypatch.setenv("LAPOR_TRIAGE_MODEL_DIR", str(kept_triage_models))


@pytest.fixture(scope="session")
def engine(kept_triage_models: Path) -> TriageEngine:
    """One engine for the session, without Redis (duplicate tests build their own index on the test Redis)."""
    settings = load_settings({"LAPOR_PROFILE": "development", "REDIS_URL": os.environ.get("REDIS_URL", ""),
                              "LAPOR_TRIAGE_MODEL_DIR": str(kept_triage_models)})
    return TriageEngine.build(settings, None)


def envelope(text: str, **fields: Any) -> dict[str, Any]:
    return {"tracking_id": "10000011", "channel": "sms", "text": text, "kind": "complaint",
            "sender": {"kind": "msisdn", "id": "+6281234567890"}, **fields}


# -- region ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegionCase:
    id: str
    text: str
    code: str | None
    ambiguous: bool = False
    province: str | None = None


REGION_CASES = [
    RegionCase("kab-dot-prefix", "Jalan rusak parah di Kab. Bandung", "32.04", province="32"),
    RegionCase("kabupaten-prefix", "Banjir di Kabupaten Bogor merendam 3 desa", "32.01"),
    RegionCase("kota-prefix", "Lampu jalan mati di Kota Bandung", "32.73"),
    RegionCase("kota-lower-case", "sampah menumpuk di kota bogor", "32.71"),
    RegionCase("kab-no-dot", "Jalan desa rusak di Kab Tangerang", "36.03"),
    RegionCase("short-form-city", "banjir lagi di jaksel", "31.74", province="31"),
    RegionCase("short-form-province", "Harga pupuk mahal di Jabar", "32"),
    RegionCase("short-form-kbb", "Pungutan liar di KBB", "32.17"),
    RegionCase("district-with-regency", "Puskesmas di Kec. Cibinong Kab. Bogor tutup", "32.01.01", province="32"),
    RegionCase("district-with-short-form", "Pungli di kecamatan Ciputat Tangsel", "36.74.04"),
    RegionCase("typo-doubled-letter", "Puskesmas di Sumedangg tutup", "32.11"),
    RegionCase("typo-after-prefix", "Listrik padam di Kab. Purwakartaa", "32.14"),
    RegionCase("typo-transposition", "Longsor di Banjarnegra", "33.04"),
    RegionCase("shared-name-ambiguous", "Jalan rusak di Bandung", "32.73", ambiguous=True, province="32"),
    RegionCase("shared-district-by-regency", "Pungli di Kecamatan Bandung Kabupaten Tulungagung", "35.04.17",
               province="35"),
    RegionCase("shared-name-by-province", "Banjir di Karanganyar Jawa Tengah", "33.13"),
    RegionCase("two-provinces-first-named", "Bus dari Medan ke Surabaya selalu terlambat", "12.71", ambiguous=True),
    RegionCase("weak-name-with-prefix", "Jalan rusak di Kota Batu", "35.79"),
    RegionCase("weak-name-as-word", "Tumpukan batu di jalan desa belum dibersihkan", None),
    RegionCase("dictionary-word-not-a-place", "Perusahaan tidak membayar lembur", None),
    RegionCase("weak-city-as-word", "Sungguh malang nasib guru honorer, gaji belum dibayar", None),
    RegionCase("weak-regency-as-word", "Batang pohon tumbang menutup jalan", None),
    RegionCase("coal-is-no-regency", "Tambang batu bara mencemari sumur warga", None),
    RegionCase("river-full-is-no-city", "Sungai penuh sampah di belakang rumah kami", None),
    RegionCase("hammer-is-no-city", "Anak saya dipukul dengan palu oleh tetangga", None),
    RegionCase("attack-is-no-city", "Warga serang petugas saat penggusuran", None),
    RegionCase("flat-land-is-no-regency", "Lahan tanah datar itu diserobot pengembang", None),
    RegionCase("south-coast-is-no-regency", "Nelayan pesisir selatan tidak dapat bantuan solar", None),
    RegionCase("weak-city-announced", "Jalan rusak di Malang dekat alun-alun", "35.73", ambiguous=True, province="35"),
    RegionCase("weak-city-with-prefix", "Sampah menumpuk di Kota Palu", "72.71"),
    RegionCase("weak-regency-with-prefix", "Jalan rusak di Kabupaten Batang", "33.25"),
    RegionCase("no-place", "Harga beras naik terus", None),
    # The capital's cities written in full: read as the alias `jakarta`, each was the province.
    RegionCase("capital-city-in-full", "Jalan rusak di Jakarta Timur", "31.75", province="31"),
    RegionCase("capital-city-with-prefix", "Banjir di Kota Jakarta Selatan", "31.74"),
    RegionCase("capital-city-lower-case", "banjir lagi di jakarta utara", "31.72"),
    RegionCase("district-with-capital-city", "Pungli di Kelurahan Cilandak, Jakarta Selatan", "31.74.06"),
    RegionCase("short-form-starting-with-marker", "Macet di kota jogja tiap libur", "34.71"),
    # A district named after its city, in lower case: its words were taken from the city's, and no region came.
    RegionCase("district-named-after-its-city", "banjir lg di bekasi utara, drainase mampet", "32.75.03",
               province="32"),
    RegionCase("district-named-after-its-city-2", "jalan berlubang di medan johor", "12.71.11"),
    RegionCase("district-as-everyday-words-lower-case", "pedagang di pasar minggu digusur", None),
    # A regency's or a city's government names which of the two: "Pemkab Bogor" was Kota Bogor, marked ambiguous.
    RegionCase("regency-government", "Pemkab Bogor lambat tangani jalan rusak", "32.01"),
    RegionCase("city-government", "Pemkot Bogor tidak peduli sampah di pasar", "32.71"),
    RegionCase("regency-government-misspelt", "pemkab sumedangg tidak menanggapi", "32.11"),
    # A two-word spelling of a one-word city: read as its first word, it was Kota Padang at confidence 1.0.
    RegionCase("misspelt-city-starting-with-another", "Jalan rusak di Kota Padang Sidempuan", "12.77", province="12"),
    RegionCase("one-word-city-then-a-word", "Banjir di Kota Padang kemarin sore", "13.71"),
    # "Tg."/"Tj" for Tanjung, as names are written on signs and in SMS: no region came.
    RegionCase("tanjung-abbreviated", "Lampu jalan mati di tg pinang", "21.72", province="21"),
    RegionCase("tanjung-abbreviated-after-marker", "Jalan rusak di Kab. Tg Jabung Barat", "15.06"),
    RegionCase("tanjung-abbreviation-alone", "Kejadian tg 5 mei di jalan raya", None),
]


@pytest.mark.parametrize("case", REGION_CASES, ids=lambda c: c.id)
def test_region_table(engine: TriageEngine, case: RegionCase) -> None:
    region = engine.triage(envelope(case.text)).region
    if case.code is None:
        assert region is None
        return
    assert region is not None
    assert region.code == case.code
    assert region.level == {0: "province", 1: "regency", 2: "district"}[case.code.count(".")]
    assert region.ambiguous is case.ambiguous
    assert 0 < region.confidence <= 1
    if case.ambiguous:
        assert region.alternatives and region.confidence <= 0.55
    if case.province:
        assert region.province is not None and region.province.code == case.province


def test_a_text_naming_places_hundreds_of_times_costs_bounded_work(
        engine: TriageEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each reading was weighed against every other place named, and every word after "di" or "kec" looked up
    fuzzily among thousands of names: a mail of "di Bandung" four hundred times cost two seconds of CPU, one of
    "kec xxxxx" over half a second, in the forward worker, per report."""
    from triage import region as region_module

    looked_up: list[str] = []
    extract_one = region_module.process.extractOne

    def counted(query: str, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(query)
        return extract_one(query, *args, **kwargs)

    monkeypatch.setattr(region_module.process, "extractOne", counted)
    named = engine.triage(envelope("Jalan rusak di Bandung " * 400)).region
    assert named is not None and named.code == "32.73" and named.ambiguous
    assert len(engine.regions.mentions(words("Jalan rusak di Bandung " * 400))) == region_module.MAX_MENTIONS
    assert engine.triage(envelope("Pungli di kec Qwrtzx " * 400)).region is None
    assert 0 < len(looked_up) <= 2 * region_module.MAX_FUZZY_TRIES


def test_region_names_come_from_the_official_list(engine: TriageEngine) -> None:
    region = engine.triage(envelope("Macet parah di Jakpus")).region
    assert region is not None
    assert (region.name, region.province.name if region.province else None) == (
        "Kota Administrasi Jakarta Pusat", "Daerah Khusus Ibukota Jakarta")


# -- topic and kind --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Obat di puskesmas kosong dan dokter tidak datang", "KESEHATAN"),
        ("Sekolah meminta uang seragam dan buku padahal sekolah negeri", "PENDIDIKAN DAN KEBUDAYAAN"),
        ("Jalan berlubang besar dan jembatan hampir putus", "PEKERJAAN UMUM DAN PENATAAN RUANG"),
        ("Listrik PLN padam setiap malam", "ENERGI DAN SUMBER DAYA MINERAL"),
    ],
    ids=["health", "education", "public-works", "energy"],
)
def test_topic_top_three_shape(engine: TriageEngine, text: str, category: str) -> None:
    topic = engine.triage(envelope(text)).topic
    assert topic.category == category
    assert len(topic.top) == 3
    assert topic.top[0].category == category
    probabilities = [t.probability for t in topic.top]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0 <= p <= 1 for p in probabilities)
    assert len({t.category for t in topic.top}) == 3
    assert topic.confidence == topic.top[0].probability


@pytest.mark.parametrize("text", ["qwerty zxcvb", "ok", "halo selamat pagi"], ids=["gibberish", "short", "greeting"])
def test_topic_falls_back_when_unsure(engine: TriageEngine, text: str) -> None:
    topic = engine.triage(envelope(text)).topic
    assert topic.category == load_categories().fallback == "TOPIK LAINNYA"
    assert len(topic.top) == 3  # the model's best guesses are still shown
    assert topic.top[0].probability < load_categories().min_probability


@pytest.mark.parametrize("text", ["", "😡😡😡🙏", "!!! ... ???", "    "],
                         ids=["empty", "emoji", "punctuation", "blank"])
def test_a_text_without_a_word_the_model_knows_gets_no_suggested_topic_or_kind(engine: TriageEngine, text: str) -> None:
    """The model's priors are no suggestion: an emoji-only caption came back as a complaint, "model", 0.61."""
    block = engine.triage(envelope(text, kind="aspiration"))
    assert block.topic.category == "TOPIK LAINNYA"
    assert (block.kind.kind, block.kind.confidence, block.kind.source) == (ReportKind.ASPIRATION, 0.0, "model")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Bagaimana cara mendaftar BPJS untuk keluarga tidak mampu, apa syaratnya?", ReportKind.INFORMATION_REQUEST),
        ("Kepala desa menerima suap dan menggelapkan dana desa", ReportKind.WHISTLEBLOWING),
        ("Jalan rusak parah sudah berbulan-bulan tidak diperbaiki", ReportKind.COMPLAINT),
    ],
    ids=["information-request", "whistleblowing", "complaint"],
)
def test_kind_is_suggested_without_a_keyword(engine: TriageEngine, text: str, kind: ReportKind) -> None:
    suggestion = engine.triage(envelope(text)).kind
    assert (suggestion.kind, suggestion.source) == (kind, "model")


def test_an_explicit_keyword_kind_always_wins(engine: TriageEngine) -> None:
    text = "Kepala desa menerima suap dan menggelapkan dana desa"
    assert engine.triage(envelope(text)).kind.kind is ReportKind.WHISTLEBLOWING
    suggestion = engine.triage(envelope(text, kind="aspiration", explicit_kind=True)).kind
    assert (suggestion.kind, suggestion.source, suggestion.confidence) == (ReportKind.ASPIRATION, "keyword", 1.0)


# -- language ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Jalan di desa kami sudah rusak dan belum diperbaiki", "id"),
        ("The road in our village has been broken for months", "en"),
        ("Dalan deso rusak banget, durung didandani wis telung wulan", "jv"),
        ("Jalan ka lembur abdi ruksak pisan, teu acan dibenerkeun", "su"),
    ],
    ids=["indonesian", "english", "javanese", "sundanese"],
)
def test_language(engine: TriageEngine, text: str, code: str) -> None:
    assert engine.triage(envelope(text)).language.code == code


# -- spam ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "suspected", "reason"),
    [
        ("Mama minta tolong beliin pulsa 50rb ke nomor ini dulu ya, nanti mama ganti", True, "pulsa_scam"),
        ("SELAMAT! Nomor anda MENANG undian 100jt. Info pin pemenang klik bit.ly/hadiah", True, "prize_scam"),
        ("Pinjaman dana tunai cepat cair tanpa jaminan, hubungi WA 0812", True, "loan_or_gambling_offer"),
        ("Foto jalan rusak ada di https://example.org/foto.jpg", False, "link"),
        ("Jalan rusak di depan pasar sudah sebulan", False, None),
    ],
    ids=["pulsa-scam", "prize-scam", "loan-offer", "link-alone", "genuine"],
)
def test_spam_is_flagged_never_dropped(engine: TriageEngine, text: str, suspected: bool, reason: str | None) -> None:
    spam = engine.triage(envelope(text)).spam
    assert spam.suspected is suspected
    assert (reason in spam.reasons) if reason else spam.reasons == []


# -- duplicates and campaigns through the Redis index -----------------------------------------------------------------
POLICY = DuplicatePolicy(window_seconds=3600, threshold=0.45, campaign_threshold=0.8, campaign_min_senders=3)


@pytest.fixture
def index(redis: Redis) -> DuplicateIndex:
    return DuplicateIndex(redis, POLICY, "test-secret")


def test_a_near_duplicate_on_another_channel_is_found(index: DuplicateIndex) -> None:
    original = "Jalan berlubang besar di depan SDN 3 Sukamaju sudah tiga bulan tidak diperbaiki"
    assert index.check_and_add("10000011", original, "sms", "msisdn:+62811").matches == []
    resent = "LAPOR: jalan berlubnag besar di depan SDN 3 sukamaju sudah tiga bulan tidak diperbaiki!!"
    found = index.check_and_add("10000029", resent, "email", "email:warga@example.org")
    assert [(m.tracking_id, m.channel) for m in found.matches] == [("10000011", "sms")]
    assert 0.45 <= found.matches[0].similarity < 1
    unrelated = index.check_and_add("10000037", "Listrik padam setiap malam di kampung kami", "twitter", "x_user:9")
    assert unrelated.matches == []


def test_the_same_text_from_many_senders_is_a_campaign(index: DuplicateIndex) -> None:
    text = "Tolak pembangunan pabrik semen di desa kami!"
    results = [index.check_and_add(f"1000{i}011", text, "sms", f"msisdn:+6281{i}") for i in range(4)]
    assert [r.campaign_count for r in results] == [1, 2, 3, 4]
    assert [r.campaign for r in results] == [False, False, True, True]
    again = index.check_and_add("10009011", text.upper(), "sms", "msisdn:+62810")  # a sender seen before
    assert again.campaign_count == 4


def test_the_index_forgets_after_the_window(index: DuplicateIndex, redis: Redis) -> None:
    index.check_and_add("10000011", "Sampah menumpuk di pasar induk", "sms", "msisdn:+62811")
    keys = [k.decode() for k in redis.scan_iter("lapor:triage:*")]
    assert SKETCH_KEY.format(tracking_id="10000011") in keys
    assert any(k.startswith(CAMPAIGN_KEY.split("{")[0]) for k in keys)
    assert sum(k.startswith(BAND_KEY.split("{")[0]) for k in keys) >= 40
    assert all(0 < redis.ttl(key) <= POLICY.window_seconds for key in keys)
    stored_sender = redis.hget(SKETCH_KEY.format(tracking_id="10000011"), "sender")
    assert stored_sender == index.sender_digest("msisdn:+62811").encode()  # a keyed digest, never the number
    assert b"62811" not in stored_sender


def test_what_the_index_keeps_names_neither_the_text_nor_its_words(index: DuplicateIndex, redis: Redis) -> None:
    """With datasketch's public hash and the fixed permutations, each of a stored sketch's 128 values named the 4-gram
    that gave it: trying the 4-grams of a guess (or all 531,441 of a-z and space, a second of CPU) read most of a
    report back from Redis for the whole window. And a campaign's key was the plain sha256 of the text's words."""
    from datasketch import MinHash

    text = "Kepala desa minta uang lima juta buat urus sertifikat tanah saya"
    index.check_and_add("10000011", text, "sms", "msisdn:+62811")
    stored = np.frombuffer(redis.hget(SKETCH_KEY.format(tracking_id="10000011"), "sketch"), dtype=np.uint32)
    public = MinHash(num_perm=NUM_PERM, seed=1).permutations

    def unkeyed(shingle: bytes) -> np.ndarray:
        minhash = MinHash(num_perm=NUM_PERM, permutations=public, scheme="affine32")
        minhash.update(shingle)
        return minhash.hashvalues.astype(np.uint32)

    assert {s for s in shingles(text) if np.any(unkeyed(s) == stored)} == set()
    plain = hashlib.sha256(" ".join(words(text)).encode()).hexdigest()[:32]
    assert not [key for key in redis.scan_iter("lapor:triage:*") if plain.encode() in key]
    resent = index.check_and_add("10000029", text.upper(), "email", "email:warga@example.org")
    assert [m.tracking_id for m in resent.matches] == ["10000011"] and resent.campaign_count == 2


def test_a_text_that_keeps_coming_keeps_each_band_bounded_and_finds_its_newest_copies(
        index: DuplicateIndex, redis: Redis) -> None:
    """A band's ids were a set whose TTL every write renewed: the bucket of a text that keeps coming grew for as long
    as it came, and a random sample of it was mostly reports long expired; now the newest, the same every time."""
    text = "Tolak tambang pasir ilegal di sungai desa kami"
    for i in range(BAND_MEMBERS + 20):
        index.check_and_add(f"{10000000 + i}", text, "sms", f"msisdn:+6281{i}")
    bands = [key for key in redis.scan_iter(BAND_KEY.split("{")[0] + "*")]
    assert bands and all(redis.zcard(key) <= BAND_MEMBERS for key in bands)
    found = index.check_and_add("20000000", text, "sms", "msisdn:+62899")
    newest = [f"{10000000 + i}" for i in range(BAND_MEMBERS + 20)][-BAND_SAMPLE:]
    assert [match.tracking_id for match in found.matches] == newest[:5]


def test_a_campaign_counts_the_senders_of_the_window_only(index: DuplicateIndex) -> None:
    """The senders of a text were a set whose TTL each new sender renewed: a text that kept coming counted every
    sender since it first came, months back, as a campaign of the window."""
    text = "Tolak pembangunan pabrik semen di desa kami!"
    start = 1_800_000_000.0
    for day in range(3):
        index.clock = lambda day=day: start + day * POLICY.window_seconds * 2  # each a window after the last
        found = index.check_and_add(f"1000{day}011", text, "sms", f"msisdn:+6281{day}")
        assert (found.campaign_count, found.matches) == (1, []), day
    index.clock = lambda: start + 4 * POLICY.window_seconds + 1  # within the window of the last one
    found = index.check_and_add("10009011", text, "sms", "msisdn:+62819")
    assert found.campaign_count == 2 and [m.tracking_id for m in found.matches] == ["10002011"]


@pytest.mark.parametrize("texts", [
    pytest.param(["😡😡😡", "🙏🙏", "👍"], id="only emoji"),
    pytest.param(["???", "!!! ...", "-- --"], id="only punctuation"),
])
def test_reports_without_a_word_are_no_duplicates_of_each_other_nor_a_campaign(
        engine: TriageEngine, index: DuplicateIndex, texts: list[str]) -> None:
    """Their sketches are all the empty set's: three senders' photos captioned with an emoji were linked to each
    other at similarity 1.0 and counted as one campaign."""
    with_index = replace(engine, duplicates=index)
    blocks = [with_index.triage(envelope(text, tracking_id=f"1000{i}011", sender={"kind": "msisdn", "id": f"+6281{i}"}))
              for i, text in enumerate(texts)]
    assert [(b.duplicates.matches, b.duplicates.campaign_count, b.duplicates.campaign) for b in blocks] == \
        [([], 1, False)] * len(texts)


def test_a_retried_report_is_not_its_own_duplicate(index: DuplicateIndex) -> None:
    text = "Air PDAM mati sudah lima hari"
    index.check_and_add("10000011", text, "sms", "msisdn:+62811")
    retried = index.check_and_add("10000011", text, "sms", "msisdn:+62811")
    assert retried.matches == [] and retried.campaign_count == 1


# -- training data ---------------------------------------------------------------------------------------------------
def test_an_operator_export_with_indonesian_columns_is_read() -> None:
    examples = read_examples(TRIAGE_FIXTURES / "operator_export.csv", load_categories())
    assert [(e.category, e.kind) for e in examples] == [
        ("PEKERJAAN UMUM DAN PENATAAN RUANG", ReportKind.COMPLAINT),
        ("KEPENDUDUKAN", ReportKind.INFORMATION_REQUEST),
        ("REFORMASI BIROKRASI DAN TATA KELOLA", ReportKind.WHISTLEBLOWING),
        ("KESEHATAN", ReportKind.ASPIRATION),
    ]


def test_an_unknown_category_is_refused_with_its_row() -> None:
    with pytest.raises(TrainingDataError, match="row 2: category 'JALAN DAN JEMBATAN'"):
        read_examples(TRIAGE_FIXTURES / "bad_export.csv", load_categories())


def test_cli_train_installs_the_export_and_show_uses_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.cli import app

    monkeypatch.setenv("LAPOR_PROFILE", "development")
    monkeypatch.setenv("LAPOR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LAPOR_TRIAGE_MODEL_DIR")
    runner = CliRunner()
    # What a worker kept of the earlier training data holds its words: `train` removes it.
    earlier = runner.invoke(app, ["triage", "Jalan rusak parah di Kab. Bandung", "--json"])
    assert earlier.exit_code == 0, earlier.output
    [kept] = (tmp_path / "triage" / "models").iterdir()
    result = runner.invoke(app, ["triage", "train", str(TRIAGE_FIXTURES / "operator_export.csv")])
    assert result.exit_code == 0, result.output
    assert not kept.exists() and "1 kept model(s) of the earlier training data removed" in result.output
    installed = (tmp_path / "triage" / "training.csv").read_text()
    assert "Jalan poros desa ambles" in installed and "Puskesmas di desa kami" in installed  # seed kept
    refused = runner.invoke(app, ["triage", "train", str(TRIAGE_FIXTURES / "bad_export.csv")])
    assert refused.exit_code == 2 and "JALAN DAN JEMBATAN" in refused.output
    shown = runner.invoke(app, ["triage", "Jalan rusak parah di Kab. Bandung", "--json"])
    assert shown.exit_code == 0, shown.output
    assert '"code": "32.04"' in shown.output and "model_version" in shown.output
    # `train` names the version the reports will carry: it printed a digest no report ever carried
    printed = re.search(r"model version (\S+)", result.output)
    carried = re.search(r'"model_version": "([^"]+)"', shown.output)
    assert printed and carried and printed.group(1) == carried.group(1), (result.output, shown.output)



def test_cli_show_takes_a_kind_as_an_export_names_it_and_refuses_an_unknown_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`--kind aspirasi` (or any unknown kind) ended the command on a ValueError traceback."""
    from gateway.cli import app

    monkeypatch.setenv("LAPOR_PROFILE", "development")
    runner = CliRunner()
    # The options before the text too, as the README's comment shows them ("No such option: --kind").
    for args in (["Mohon dibangun taman bermain", "--kind", "Aspirasi", "--json"],
                 ["--kind", "Aspirasi", "--json", "Mohon dibangun taman bermain"]):
        shown = runner.invoke(app, ["triage", *args])
        assert shown.exit_code == 0, shown.output
        assert orjson.loads(shown.output)["kind"] == {"kind": "aspiration", "confidence": 1.0, "source": "keyword"}
    assert "triage train <csv>" in runner.invoke(app, ["triage", "--help"]).output
    refused = runner.invoke(app, ["triage", "Mohon dibangun taman", "--kind", "[bold]usulan"], env={"COLUMNS": "200"})
    assert (refused.exit_code, type(refused.exception)) == (2, SystemExit), refused.output
    assert "no such kind: [bold]usulan; the kinds are complaint, aspiration" in refused.output
    # With --json, a document a script reads (the text failed its parse), with the same exit code.
    as_json = runner.invoke(app, ["triage", "Mohon dibangun taman", "--kind", "[bold]usulan", "--json"])
    assert as_json.exit_code == 2, as_json.output
    document = orjson.loads(as_json.output)
    assert document["error"] == "no_such_kind", document
    assert document["reason"].startswith("no such kind: [bold]usulan; the kinds are complaint, aspiration"), document


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_cli_show_with_settings_wrong_in_every_profile_says_a_configuration_error(
        json_output: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The offline tools fall back to the development profile when production's secrets are missing; settings that
    are wrong there too (a port that is no number) ended the command on a SettingsError traceback."""
    from gateway.cli import app

    monkeypatch.setenv("LAPOR_HTTP_PORT", "abc")
    result = CliRunner().invoke(app, ["triage", "Jalan rusak", *(["--json"] if json_output else [])],
                                env={"COLUMNS": "200"})
    assert (result.exit_code, type(result.exception)) == (2, SystemExit), result.output
    if json_output:
        document = orjson.loads(result.output)
        assert document["error"] == "configuration_error" and "LAPOR_HTTP_PORT" in document["reason"], document
    else:
        assert "configuration error:" in result.output and "LAPOR_HTTP_PORT" in result.output, result.output


@pytest.mark.parametrize(("content", "code", "said"), [
    pytest.param(b"text,category\nJalan rusak parah di desa kami,PEKERJAAN UMUM DAN PENATAAN RUANG\n"
                 b"Jembatan putus,PEKERJAAN UMUM DAN PENATAAN RUANG\nKTP belum jadi,KEPENDUDUKAN\n",
                 0, "held-out topic accuracy not measured (every category needs two examples or more, one of them "
                 "held out: 1 has one (KEPENDUDUKAN))", id="a category with one example is installed"),
    pytest.param(b"text,category\nJalan rusak parah di desa kami,PEKERJAAN UMUM DAN PENATAAN RUANG\n"
                 b"Jembatan putus,PEKERJAAN UMUM DAN PENATAAN RUANG\nKTP belum jadi,KEPENDUDUKAN\nAkta,KEPENDUDUKAN\n",
                 0, "held-out topic accuracy not measured (the held-out quarter (1 of 4 examples) needs one example of "
                 "each of the 2 categories: 5 examples or more)", id="two of each is installed, too few to measure"),
    pytest.param("text,category\nJalan rusak é parah,PEKERJAAN UMUM DAN PENATAAN RUANG\nKTP,KEPENDUDUKAN\n"
                 .encode("cp1252"), 2, "not UTF-8 text", id="an export saved as Windows-1252 is refused"),
    pytest.param(b"text,category,kind\nJalan rusak,PEKERJAAN UMUM DAN PENATAAN RUANG\nKTP belum jadi\n", 2,
                 "row 3: 1 column(s)", id="a row cut short is refused with its row"),
    pytest.param(b"text,category\nJalan rusak,PEKERJAAN UMUM DAN PENATAAN RUANG\n", 2,
                 "needs examples of at least two categories", id="a single category is refused"),
])
def test_cli_train_says_what_is_wrong_with_an_export_and_leaves_no_file_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, code: int, said: str) -> None:
    """These ended `triage train --replace` on a traceback, the first after writing a temporary file it left in
    the data dir, each time, without installing the export."""
    from gateway.cli import app

    monkeypatch.setenv("LAPOR_PROFILE", "development")
    monkeypatch.setenv("LAPOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LAPOR_TRIAGE_MODEL_DIR")  # `train` removes the kept models: the data dir's, not the run's
    export = tmp_path / "export.csv"
    export.write_bytes(content)
    result = CliRunner().invoke(app, ["triage", "train", str(export), "--replace"], env={"COLUMNS": "200"})
    assert (result.exit_code, type(result.exception)) == (code, SystemExit if code else type(None)), result.output
    assert said in result.output
    assert result.output.count(str(export)) <= 1, result.output  # "cannot use x.csv: x.csv: ..." named it twice
    installed = tmp_path / "data" / "triage"
    left = sorted(path.name for path in installed.iterdir()) if installed.exists() else []
    assert left == (["training.csv"] if code == 0 else [])


@pytest.mark.parametrize(("content", "code", "said"), [
    pytest.param(b"text,category\nGuru honorer belum digaji tiga bulan,PENDIDIKAN DAN KEBUDAYAAN\n"
                 b"Dana BOS dipotong kepala sekolah,PENDIDIKAN DAN KEBUDAYAAN\n", 0,
                 "347 examples in 18 categories", id="one category's examples are added to the seed set"),
    pytest.param(b"text,category\n", 2, "holds no example", id="an export without an example is refused"),
])
def test_cli_train_adds_an_export_of_one_category_to_the_seed_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, code: int, said: str) -> None:
    """An operator's export of the reports of one category (to mend the one the model gets wrong) was refused
    without --replace, "needs examples of at least two categories", though the seed set it joins holds 18."""
    from gateway.cli import app

    monkeypatch.setenv("LAPOR_PROFILE", "development")
    monkeypatch.setenv("LAPOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LAPOR_TRIAGE_MODEL_DIR")  # `train` removes the kept models: the data dir's, not the run's
    export = tmp_path / "export.csv"
    export.write_bytes(content)
    result = CliRunner().invoke(app, ["triage", "train", str(export)], env={"COLUMNS": "200"})
    assert (result.exit_code, type(result.exception)) == (code, SystemExit if code else type(None)), result.output
    assert said in result.output, result.output
    installed = tmp_path / "data" / "triage" / "training.csv"
    assert installed.exists() == (code == 0)
    if code == 0:
        assert "Dana BOS dipotong kepala sekolah" in installed.read_text() and "Puskesmas di desa kami" in \
            installed.read_text()


@pytest.mark.parametrize(("first_anonymous", "second_anonymous", "count", "matched"), [
    pytest.param(False, False, 1, True, id="named twice: one sender"),
    pytest.param(False, True, 2, False, id="named, then anonymous: not told to be the same sender"),
    pytest.param(True, False, 2, False, id="anonymous, then named: nor the other way round"),
    pytest.param(True, True, 2, True, id="anonymous twice: each its own sender"),
])
def test_an_anonymous_report_never_counts_as_the_sender_of_another(
        engine: TriageEngine, index: DuplicateIndex, first_anonymous: bool, second_anonymous: bool,
        count: int, matched: bool) -> None:
    """The same text from one number, named and anonymous: neither the campaign count nor a match may say that one
    sender sent both. A match of the named report, at similarity 1.0, handed the case store the anonymous report's
    likely writer: the named report's sender."""
    with_index = replace(engine, duplicates=index)
    text = "Kepala desa Sukamaju meminta uang Rp 500 ribu untuk surat keterangan tidak mampu"
    first = with_index.triage(envelope(text, tracking_id="10000011", anonymous=first_anonymous))
    second = with_index.triage(envelope(text, tracking_id="10000029", anonymous=second_anonymous))
    assert first.duplicates.campaign_count == 1
    assert [match.tracking_id for match in second.duplicates.matches] == (["10000011"] if matched else [])
    assert second.duplicates.campaign_count == count
    retried = with_index.triage(envelope(text, tracking_id="10000029", anonymous=second_anonymous))
    assert retried.duplicates.campaign_count == count  # a retry of the same report adds no sender


def test_an_anonymous_reports_suggestions_come_from_the_words_the_case_store_gets(
        engine: TriageEngine, index: DuplicateIndex, settings: Settings) -> None:
    """An anonymous teacher's mail loses its work signature (school, address, number, site) on the way to the case
    store. Triaged on the gateway's whole copy, it came with the school's district as its region (confidence 1.0) and
    a `link` spam reason: where the reporter works, beside a text that says nothing of it. A second mail under the
    same signature was a duplicate of the first, its signature making most of the sketch."""
    from workers.forward import with_triage
    from workers.report_payload import case_store_payload

    signature = ("\n--\nB. Santoso, S.Pd.\nGuru Kelas V\nSD Negeri 3 Sukajadi\nJl. Merdeka No. 10, RT 03/RW 05, "
                 "Kel. Sukajadi, Kec. Sukajadi, Kota Bandung 40162\nHP/WA 0812-3456-7890\nb.santoso@sdn3.sch.id\n"
                 "https://sdn3.sch.id")
    mail = {"tracking_id": "10000011", "channel": "email", "channel_message_id": "m-1", "kind": "complaint",
            "anonymous": True, "sender": {"kind": "email", "id": "b.santoso@gmail.com", "display_name": "Budi Santoso"},
            "channel_meta": {}, "subject": "Dana BOS", "text": "Dana BOS dipotong kepala sekolah." + signature,
            "attachments": []}
    with_index = replace(engine, duplicates=index)
    payload = case_store_payload(mail, settings)
    assert "Sukajadi" not in payload["text"] and "sdn3" not in payload["text"]
    block = with_triage(with_index, mail, payload)["triage"]
    assert block["region"] is None
    assert block["spam"]["reasons"] == []
    other = {**mail, "tracking_id": "10000029", "channel_message_id": "m-2",
             "text": "Seragam sekolah wajib dibeli dari koperasi." + signature}
    assert with_triage(with_index, other, case_store_payload(other, settings))["triage"]["duplicates"]["matches"] == []
    named = {**mail, "tracking_id": "10000037", "anonymous": False}  # a named report's suggestions read it whole
    assert with_triage(engine, named, case_store_payload(named, settings))["triage"]["region"]["code"] == "32.73.07"


# -- the forward worker ----------------------------------------------------------------------------------------------
def sms_draft(text: str, message_id: str, **fields: Any) -> ReportDraft:
    return ReportDraft(received_at=datetime(2026, 11, 22, 8, 30, tzinfo=UTC), channel=Channel.SMS,
                       source="sms-twilio", channel_message_id=message_id,
                       sender=Sender(kind=SenderKind.MSISDN, id="+6281234567890"), text=text, **fields)


async def test_every_forwarded_report_carries_a_triage_block(
    gateway: GatewayServer, casestore: CaseStoreServer, worker: ProcessHandle
) -> None:
    bodies = {
        "SM" + "1" * 32: "Jalan berlubang di Jl. Merdeka, Kab. Bandung sudah tiga bulan",
        "SM" + "2" * 32: "ASPIRASI: mohon puskesmas buka hari Sabtu",
        "SM" + "3" * 32: "Mama minta tolong beliin pulsa 50rb ke nomor ini dulu ya",
    }
    tracking_ids = {}
    for sid, body in bodies.items():
        response = await gateway.post_twilio(gateway.twilio_form(MessageSid=sid, Body=body))
        assert response.status_code == 200  # acknowledged before any triage ran
        tracking_ids[sid] = next(w for w in response.text.replace("<", " ").replace(">", " ").split()
                                 if w.isdigit() and len(w) >= 6)
    await async_wait_until(lambda: all(casestore.get(t) for t in tracking_ids.values()), timeout=90)
    redis = Redis.from_url(gateway.settings.redis_url)
    for tracking_id in tracking_ids.values():  # intake stored the envelope untouched: triage ran in the worker
        assert orjson.loads(redis.get(envelope_key(tracking_id)) or b"{}").get("triage") is None
    redis.close()
    stored = {sid: casestore.get(t) for sid, t in tracking_ids.items()}
    for report in stored.values():
        assert report is not None and report["triage"]["model_version"].startswith("triage-")
        Triage.model_validate(report["triage"])  # the typed block of the envelope contract
    road, aspiration, scam = (stored[sid]["triage"] for sid in bodies)  # type: ignore[index]
    assert road["region"]["code"] == "32.04"
    assert road["topic"]["category"] == "PEKERJAAN UMUM DAN PENATAAN RUANG"
    assert aspiration["kind"] == {"kind": "aspiration", "confidence": 1.0, "source": "keyword"}
    assert stored["SM" + "2" * 32]["explicit_kind"] is True  # type: ignore[index]
    assert scam["spam"]["suspected"] is True
    assert stored["SM" + "3" * 32]["text"].startswith("Mama minta")  # type: ignore[index]


def test_a_triage_failure_forwards_the_report_without_it(
    settings: Settings, redis: Redis, casestore: CaseStoreServer, start_process: Any, tmp_path: Path
) -> None:
    """A broken training file (an operator's bad export) must not hold any report back: the real worker path."""
    worker = start_process("worker", LAPOR_TRIAGE_TRAINING_DATA=str(TRIAGE_FIXTURES / "bad_export.csv"))
    receipts = Intake(redis, settings).commit([sms_draft("Jalan rusak di Kab. Bandung", "SM-fail-1"),
                                               sms_draft("Lampu jalan mati", "SM-fail-2")])
    # A guard, not a speed check: a worker loading the triage libraries under load took over 30 s to start.
    wait_until(lambda: all(casestore.get(r.tracking_id) for r in receipts), timeout=90)
    for receipt in receipts:
        report = casestore.get(receipt.tracking_id)
        assert report is not None and report.get("triage") is None
    wait_until(lambda: worker.output().count("triage.failed") >= 2, timeout=10)
    assert "TrainingDataError" in worker.output()
    assert "Jalan rusak" not in worker.output()  # the report's text never reaches the log


def test_the_jobs_time_limit_reached_during_triage_ends_the_job() -> None:
    """RQ raises its job timeout once, from an alarm, wherever the job is: caught as a failed suggestion, the forward
    job went on past its limit with none left, logging `triage.failed` with error JobTimeoutException."""
    from rq.timeouts import JobTimeoutException, UnixSignalDeathPenalty

    from workers.forward import with_triage

    class Slow:
        def triage(self, envelope: dict[str, Any]) -> Triage:
            time.sleep(5)
            raise AssertionError("the alarm did not come")

    class SoonerPenalty(UnixSignalDeathPenalty):
        """RQ's penalty with its alarm (SIGALRM, what `signal.alarm` sends) a tenth of a second on, not a second:
        `signal.alarm` counts whole seconds, and the test waited one out; RQ cancels it with `signal.alarm(0)`."""

        def setup_death_penalty(self) -> None:
            signal.signal(signal.SIGALRM, self.handle_death_penalty)
            signal.setitimer(signal.ITIMER_REAL, 0.1)

    report = envelope("Jalan rusak di Kab. Bandung")
    started = time.monotonic()
    with pytest.raises(JobTimeoutException), SoonerPenalty(1, JobTimeoutException, job_id="10000011"):
        with_triage(Slow(), report, dict(report))  # type: ignore[arg-type]
    assert time.monotonic() - started < 4


def test_a_configuration_file_triage_cannot_read_fails_its_build_before_the_training(
        test_env: TestEnvironment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The build is tried again with every forward job while it fails: a broken spam.toml cost each job the model's
    training (seconds) before the build failed, so the forward queue crawled. No model kept (the run's would be read,
    not trained, whatever the order)."""
    settings = test_env.settings(LAPOR_TRIAGE_MODEL_DIR=str(tmp_path / "models"))
    import tomllib

    from triage import engine as engine_module

    def broken(*_: Any) -> None:
        raise tomllib.TOMLDecodeError("Expected '=' after a key in a key/value pair (at line 3, column 7)")

    trained = counted_trainings(monkeypatch)
    monkeypatch.setattr(engine_module.SpamFilter, "load", broken)
    with pytest.raises(tomllib.TOMLDecodeError):
        TriageEngine.build(settings, None)
    assert trained == []


def test_a_triage_failure_is_counted(settings: Settings, redis: Redis, casestore: CaseStoreServer,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from workers import forward
    from workers.context import WorkerContext, use_context

    def broken(self: TriageEngine, envelope: dict[str, Any]) -> None:
        raise RuntimeError("index unavailable")

    context = WorkerContext.build(settings, redis)
    context.triage = TriageEngine.build(settings, redis)
    monkeypatch.setattr(TriageEngine, "triage", broken)
    before = REGISTRY.get_sample_value("lapor_triage_failures_total", {"error": "RuntimeError"}) or 0
    receipt = Intake(redis, settings).commit([sms_draft("Sampah menumpuk di pasar", "SM-count-1")])[0]
    use_context(context)
    try:
        counts = forward.forward_reports([receipt.tracking_id])
    finally:
        use_context(None)
    assert counts["forwarded"] == 1
    stored = casestore.get(receipt.tracking_id)
    assert stored is not None and stored.get("triage") is None
    assert REGISTRY.get_sample_value("lapor_triage_failures_total", {"error": "RuntimeError"}) == before + 1


def test_suggestions_are_counted_by_province_and_topic(settings: Settings, redis: Redis,
                                                       casestore: CaseStoreServer) -> None:
    from workers import forward
    from workers.context import WorkerContext, use_context

    labels = {"province": "Jawa Barat", "topic": "PEKERJAAN UMUM DAN PENATAAN RUANG"}
    before = REGISTRY.get_sample_value("lapor_triage_suggestions_total", labels) or 0
    receipt = Intake(redis, settings).commit([sms_draft("Jalan berlubang di Kab. Garut", "SM-metric-1")])[0]
    use_context(WorkerContext.build(settings, redis))
    try:
        assert forward.forward_reports([receipt.tracking_id])["forwarded"] == 1
    finally:
        use_context(None)
    stored = casestore.get(receipt.tracking_id)
    assert stored is not None and stored["triage"]["region"]["code"] == "32.05"
    assert REGISTRY.get_sample_value("lapor_triage_suggestions_total", labels) == before + 1


def test_a_long_mail_is_triaged_on_its_start(engine: TriageEngine) -> None:
    long_text = "Jalan rusak di Kab. Garut. " + "Lorem ipsum dolor sit amet. " * 3000
    block = engine.triage(envelope(long_text, channel="email", subject="Jalan rusak"))
    assert block.region is not None and block.region.code == "32.05"


def test_cli_evaluate_prints_every_figure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The evaluation's models, trained on part of the data, are kept nowhere: kept, they pushed the workers' own
    out of the directory."""
    from gateway.cli import app

    monkeypatch.setenv("LAPOR_PROFILE", "development")
    monkeypatch.setenv("LAPOR_TRIAGE_MODEL_DIR", str(tmp_path / "models"))
    result = CliRunner().invoke(app, ["triage", "evaluate"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "models").exists()
    figures = {}
    for line in result.output.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if len(cells) == 2:
            figures[cells[0]] = cells[1]
    for name in ("region top-1 accuracy", "topic accuracy", "topic macro-F1", "kind accuracy", "language accuracy",
                 "duplicate precision", "duplicate recall", "triage CPU ms per report (median)"):
        assert float(figures[name]) >= 0, name
    for name in ("region top-1 accuracy", "topic macro-F1", "duplicate recall"):
        assert 0 <= float(figures[name]) <= 1


def test_a_forward_worker_without_triage_does_not_load_its_libraries() -> None:
    """scikit-learn, numpy and datasketch cost a forward worker two seconds of CPU at every start (three times its
    start-up), triage enabled or not; they are loaded when the engine is first built."""
    script = ("import sys, workers.forward, workers.casestore_probe, workers.run; "
              "print(sorted(m for m in ('triage.engine', 'sklearn', 'numpy', 'datasketch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
@pytest.mark.parametrize(("content", "said"), [
    pytest.param(None, "cannot be read (No such file or directory)", id="missing"),
    pytest.param(b"a,b\n1,2\n", "needs a text column", id="no text column"),
])
def test_cli_show_with_training_data_it_cannot_use_says_so_naming_the_setting(
        content: bytes | None, said: str, json_output: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LAPOR_TRIAGE_TRAINING_DATA naming a file that is not there (or not an export) ended `triage "<text>"` on a
    FileNotFoundError (or TrainingDataError) traceback."""
    from gateway.cli import app

    training = tmp_path / "training.csv"
    if content is not None:
        training.write_bytes(content)
    monkeypatch.setenv("LAPOR_PROFILE", "development")
    monkeypatch.setenv("LAPOR_TRIAGE_TRAINING_DATA", str(training))
    result = CliRunner().invoke(app, ["triage", "Jalan rusak", *(["--json"] if json_output else [])],
                                env={"COLUMNS": "300"})
    assert (result.exit_code, type(result.exception)) == (2, SystemExit), result.output
    reason = orjson.loads(result.output)["reason"] if json_output else result.output
    assert reason.startswith(f"cannot use the training data: {training}: {said}"), reason
    assert "(LAPOR_TRIAGE_TRAINING_DATA)" in reason, reason


@pytest.mark.parametrize(("content", "said"), [
    pytest.param(None, "{data}: cannot be read (No such file or directory)", id="missing"),
    pytest.param(b"text,category\nJalan rusak parah,PEKERJAAN UMUM DAN PENATAAN RUANG\nJembatan putus,PEKERJAAN UMUM "
                 b"DAN PENATAAN RUANG\nKTP belum jadi,KEPENDUDUKAN\n", "every category needs two examples or more, "
                 "one of them held out: 1 has one (KEPENDUDUKAN)", id="a category with one example"),
    # Two of each, but a quarter of four examples holds one: it was said as a category with a single example.
    pytest.param(b"text,category\nJalan rusak parah,PEKERJAAN UMUM DAN PENATAAN RUANG\nJembatan putus,PEKERJAAN UMUM "
                 b"DAN PENATAAN RUANG\nKTP belum jadi,KEPENDUDUKAN\nAkta lahir lama,KEPENDUDUKAN\n",
                 "the held-out quarter (1 of 4 examples) needs one example of each of the 2 categories: 5 examples "
                 "or more", id="two of each, too few to hold one of each out"),
])
def test_cli_evaluate_on_data_it_cannot_use_says_why(content: bytes | None, said: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`triage evaluate --data` with a path mistyped, or a category it cannot hold an example out of, ended on a
    FileNotFoundError (or scikit-learn's ValueError) traceback."""
    from gateway.cli import app

    data = tmp_path / "labelled.csv"
    if content is not None:
        data.write_bytes(content)
    monkeypatch.setenv("LAPOR_PROFILE", "development")
    result = CliRunner().invoke(app, ["triage", "evaluate", "--data", str(data)], env={"COLUMNS": "300"})
    assert (result.exit_code, type(result.exception)) == (2, SystemExit), result.output
    assert said.format(data=data) in result.output, result.output


def test_training_data_that_cannot_be_read_is_a_training_data_error(tmp_path: Path) -> None:
    """As a forward worker logs it (`triage.failed` with its detail): the file and why, not a bare FileNotFoundError."""
    with pytest.raises(TrainingDataError, match=re.escape(f"{tmp_path / 'gone.csv'}: cannot be read")):
        read_examples(tmp_path / "gone.csv", load_categories())


def test_cli_show_warns_of_a_variable_that_names_no_setting_on_stderr(tmp_path: Path) -> None:
    """A misspelt LAPOR_TRIAGE_TRAINING_DATA was ignored by the triage commands without a word (every other command
    says so at start): the seed set was used, and the operator's export seemed to change nothing."""
    from tests.cli_process import run_cli

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LAPOR_")}, "LAPOR_PROFILE": "development",
           "LAPOR_DATA_DIR": str(tmp_path), "LAPOR_TRIAGE_TRAINING_DAT": str(tmp_path / "export.csv")}
    done = run_cli(["triage", "Jalan rusak", "--json"], env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert orjson.loads(done.stdout)["model_version"]  # stdout is still the one document
    assert ("warning: LAPOR_TRIAGE_TRAINING_DAT is no setting and is ignored (did you mean "
            "LAPOR_TRIAGE_TRAINING_DATA?)") in done.stderr, done.stderr
    assert str(tmp_path / "export.csv") not in done.stderr  # its name only, as the other commands say it


NGRAM_TEXTS = [
    "Jalan rusak parah di depan SDN 3 Kab. Bandung, mohon segera diperbaiki",
    "Pungli di kantor kelurahan, diminta uang 50rb untuk KTP",
    "LAMPU JALAN MATI!!! sudah 2 minggu",
    "zzzz qqqq",  # no term of the vocabulary
    "",
]


@functools.cache
def seed_vectorizers() -> tuple[Any, ...]:
    """scikit-learn's vectorizers of the model, fitted to the seed set as its training fits them."""
    from triage.model import SEED_PATH, build_vectorizers

    texts = [example.text for example in read_examples(SEED_PATH, load_categories())]
    vectorizers = build_vectorizers()
    for vectorizer in vectorizers:
        vectorizer.fit(texts)
    return vectorizers


@pytest.mark.parametrize("text", NGRAM_TEXTS)
def test_the_fast_feature_row_is_scikit_learns(text: str) -> None:
    """`TextModel.fast_features` computes what each fitted vectorizer's `transform` gives, side by side, without
    scikit-learn's per-call overhead: the same columns and values, for prediction as the classifiers were trained."""
    import scipy.sparse as sparse

    from triage.model import SEED_PATH, TextModel

    vectorizers = seed_vectorizers()
    model = TextModel.train(read_examples(SEED_PATH, load_categories()))
    assert [v.columns for v in model.vocabularies] == [v.vocabulary_ for v in vectorizers]
    expected = sparse.hstack([v.transform([text]) for v in vectorizers]).tocsr()
    columns, values = model.fast_features(text)
    order = np.argsort(columns)
    assert list(columns[order]) == list(expected.indices[np.argsort(expected.indices)])
    assert np.allclose(values[order], expected.data[np.argsort(expected.indices)])


def test_the_character_ngrams_are_scikit_learns_char_wb() -> None:
    """`char_ngrams`, written out so a kept model is used without scikit-learn, gives what scikit-learn's `char_wb`
    analyzer gives over the folded text (the model's features until then), for every text of the seed set and for
    words shorter than, as long as and longer than each n-gram, runs of other whitespace and NUL characters."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from triage.model import CHAR_NGRAMS, SEED_PATH, char_ngrams
    from triage.text import fold

    scikit_learns = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, preprocessor=fold).build_analyzer()
    texts = [example.text for example in read_examples(SEED_PATH, load_categories())] + NGRAM_TEXTS + [
        " ", "a", "ab", "abc", "abcd", "abcdefgh", "a  b\t\nc\r\n", "\u00a0x\u2003y\u3000z", "x\x00 y\x00",
        "Ｆｕｌｌ ﬁ", "İstanbul ŞEHİR", "é ü ñ", "🙏🙏 jalan 😡"]
    assert [text for text in texts if char_ngrams(text) != scikit_learns(text)] == []


def counted_trainings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of examples of each model trained from here on."""
    from triage.model import TextModel

    trained: list[int] = []
    train = TextModel.train

    def counted(examples: Any) -> TextModel:
        trained.append(len(examples))
        return train(examples)

    monkeypatch.setattr(TextModel, "train", staticmethod(counted))
    return trained


def test_a_worker_reads_the_model_an_earlier_start_kept_under_its_data_dir(
        test_env: TestEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    """A forward worker's start trained the model (importing scikit-learn: three seconds of CPU) every time; the
    first keeps it under <data_dir>/triage/models, readable by the gateway's user alone (its words are the training
    reports'), and a later start reads it: the same suggestions, no training."""
    settings = test_env.settings(LAPOR_TRIAGE_MODEL_DIR="")
    trained = counted_trainings(monkeypatch)
    first = TriageEngine.build(settings, None)
    [kept] = (settings.data_dir / "triage" / "models").iterdir()
    assert re.fullmatch(r"text-model-[0-9a-f]{32}\.npz", kept.name) and kept.stat().st_mode & 0o777 == 0o600
    assert len(trained) == 1
    second = TriageEngine.build(settings, None)
    assert len(trained) == 1
    for text in [*NGRAM_TEXTS, "Anak saya tidak dapat KIP padahal keluarga miskin", "bus sekolah tidak datang"]:
        assert second.triage(envelope(text)) == first.triage(envelope(text))


def test_a_kept_model_is_read_without_importing_scikit_learn(test_env: TestEnvironment, tmp_path: Path) -> None:
    """What makes the start quick: a worker that reads a kept model imports neither scikit-learn nor SciPy."""
    settings = test_env.settings(LAPOR_TRIAGE_MODEL_DIR=str(tmp_path / "models"))
    TriageEngine.build(settings, None)
    script = ("import json, sys\nfrom gateway.settings import load_settings\nfrom triage.engine import TriageEngine\n"
              "engine = TriageEngine.build(load_settings(), None)\n"
              "print(json.dumps([engine.model.predict('jalan rusak parah')[0].labels[0], "
              "sorted({name.split('.')[0] for name in sys.modules} & {'sklearn', 'scipy'})]))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env=test_env.process_env(LAPOR_TRIAGE_MODEL_DIR=str(tmp_path / "models")), check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    label, imported = orjson.loads(result.stdout)
    assert label in load_categories().names and imported == []


@pytest.mark.parametrize("change", ["an example's text", "an example's category", "an example's kind",
                                    "an example more", "scikit-learn's version", "NumPy's version", "SciPy's version",
                                    "Sastrawi's version", "Python's Unicode tables", "the model's code",
                                    "the text's code"])
def test_a_model_is_kept_under_a_digest_of_all_its_training_read(
        change: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A kept model read for other examples, another scikit-learn or other feature code would suggest from another
    training than the one its reports name: each such change names another file."""
    from triage import model as model_module
    from triage.model import Example, model_key

    examples = few_examples()
    before = model_key(examples)
    assert model_key(few_examples()) == before  # the same training, the same file
    first = examples[0]
    if change == "an example's text":
        examples[0] = replace(first, text=first.text + " lagi")
    elif change == "an example's category":
        examples[0] = replace(first, category=next(e.category for e in examples if e.category != first.category))
    elif change == "an example's kind":
        examples[0] = replace(first, kind=ReportKind.ASPIRATION if first.kind != ReportKind.ASPIRATION
                              else ReportKind.COMPLAINT)
    elif change == "an example more":
        examples.append(Example("jembatan putus", first.category))
    elif change.endswith("'s version"):
        library = {"scikit-learn": "scikit-learn", "NumPy": "numpy", "SciPy": "scipy", "Sastrawi": "pysastrawi"}[
            change.removesuffix("'s version")]
        real = model_module.metadata.version
        monkeypatch.setattr(model_module.metadata, "version", lambda name: "0.0.1" if name == library else real(name))
    elif change == "Python's Unicode tables":
        monkeypatch.setattr(model_module.unicodedata, "unidata_version", "1.1.0")
    else:
        module = model_module if change == "the model's code" else model_module.text_module
        code = tmp_path / "code.py"
        code.write_bytes(Path(module.__file__).read_bytes() + b"\n# changed\n")
        monkeypatch.setattr(module, "__file__", str(code))
    assert model_key(examples) != before


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _not_a_zip(path: Path) -> None:
    path.write_bytes(b"not a model")


def _an_npy(path: Path) -> None:
    """One array where the model's parts were (`np.save`'s format under the model's name)."""
    with path.open("wb") as handle:
        np.save(handle, np.zeros(3))


class _Runs:
    """Unpickled, it makes the directory it names: the mark of a file that was executed."""

    def __init__(self, mark: Path) -> None:
        self.mark = mark

    def __reduce__(self) -> tuple[Any, ...]:
        return os.mkdir, (str(self.mark),)


def _resaved(path: Path, **changed: Any) -> None:
    with np.load(path) as saved:
        arrays = {name: value for name, value in saved.items() if name not in changed}
    arrays.update({name: value for name, value in changed.items() if value is not None})
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


def _pickled(path: Path) -> None:
    """Its terms a pickled object that would run code if read with pickles allowed."""
    _resaved(path, terms_0=np.array([_Runs(path.parent / "ran")], dtype=object))


def _parts_that_do_not_fit(path: Path) -> None:
    with np.load(path) as saved:
        idf = saved["idf_1"][:-1]
    _resaved(path, idf_1=idf)


def _a_part_missing(path: Path) -> None:
    _resaved(path, topic_coef=None)


def _terms_not_words(path: Path) -> None:
    _resaved(path, terms_0=np.frombuffer(b"[[1, 2], 5]", dtype=np.uint8))


def _weights_as_text(path: Path) -> None:
    with np.load(path) as saved:
        idf = saved["idf_0"].astype(str)
    _resaved(path, idf_0=idf)


def _a_fifo(path: Path) -> None:
    """A FIFO at the model's name (a directory others may write to): reading it held the worker's start."""
    path.unlink()
    os.mkfifo(path)


def _a_link(path: Path) -> None:
    """A link to a model elsewhere: only a regular file is read."""
    elsewhere = path.with_name("elsewhere.npz")
    path.rename(elsewhere)
    path.symlink_to(elsewhere)


def _another_users(path: Path) -> None:
    """A model written by another account: it could steer the suggestions."""
    os.chown(path, 65534, 65534)


SPOILS = [_truncated, _empty, _not_a_zip, _an_npy, _pickled, _parts_that_do_not_fit, _a_part_missing, _terms_not_words,
          _weights_as_text, _a_fifo, _a_link]
if os.geteuid() == 0:  # only root gives a file away
    SPOILS.append(_another_users)


def few_examples() -> list[Any]:
    """Forty reports of the seed set: a model trained in a tenth of the time, for the tests of where it is kept."""
    from triage.model import SEED_PATH

    return read_examples(SEED_PATH, load_categories())[:40]


@pytest.mark.parametrize("spoil", SPOILS, ids=lambda spoil: spoil.__name__.strip("_"))
def test_a_kept_model_that_cannot_be_read_is_trained_again_and_replaced(
        spoil: Any, monkeypatch: pytest.MonkeyPatch, log_stream: Any, tmp_path: Path) -> None:
    """A file cut short by a full disk, spoiled by hand or put there by another account never stops a worker, nor
    is anything in it run: it is logged, the model trained again and the file replaced."""
    from triage.model import kept_or_trained, read_model

    first = kept_or_trained(few_examples(), tmp_path)
    [kept] = tmp_path.iterdir()
    spoil(kept)
    trained = counted_trainings(monkeypatch)
    kept_or_trained(few_examples(), tmp_path)
    assert len(trained) == 1 and not (tmp_path / "ran").exists()
    [line] = [orjson.loads(line) for line in log_stream.getvalue().splitlines() if '"triage.model_unreadable"' in line]
    assert line["file"] == kept.name and line["level"] == "warning" and str(tmp_path) not in line["detail"]
    for text in NGRAM_TEXTS:  # replaced by a file of the model, read by the next start without a training
        assert read_model(kept).predict(text) == first.predict(text)
    kept_or_trained(few_examples(), tmp_path)
    assert len(trained) == 1


def test_a_model_that_cannot_be_kept_is_trained_at_each_start_and_said_so(
        test_env: TestEnvironment, monkeypatch: pytest.MonkeyPatch, log_stream: Any, tmp_path: Path) -> None:
    """A model directory the worker cannot write (here a file stands where it would be) costs each start its
    training, as before, and a warning: never the worker."""
    (tmp_path / "occupied").write_text("")
    settings = test_env.settings(LAPOR_TRIAGE_MODEL_DIR=str(tmp_path / "occupied" / "models"))
    trained = counted_trainings(monkeypatch)
    engine = TriageEngine.build(settings, None)
    TriageEngine.build(settings, None)
    assert len(trained) == 2
    assert engine.triage(envelope("lampu jalan mati sebulan")).topic.category in load_categories().names
    lines = [orjson.loads(line) for line in log_stream.getvalue().splitlines() if '"triage.model_not_kept"' in line]
    assert len(lines) == 2 and lines[0]["error"] == "NotADirectoryError"


def test_only_the_most_recently_written_models_are_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each change of the training data names a new file (about 2 MB): the directory keeps the last KEPT_MODELS."""
    from triage.model import KEPT_MODELS, Example, kept_or_trained

    def examples(more: int) -> list[Example]:
        return [*few_examples(), *[Example(f"contoh {index}", few_examples()[0].category) for index in range(more)]]

    for more in range(KEPT_MODELS + 2):
        kept_or_trained(examples(more), tmp_path)
        time.sleep(0.01)  # distinct modification times
    assert len(list(tmp_path.iterdir())) == KEPT_MODELS
    trained = counted_trainings(monkeypatch)
    kept_or_trained(examples(KEPT_MODELS + 1), tmp_path)
    assert trained == []  # the newest is still kept
    kept_or_trained(examples(0), tmp_path)
    assert len(trained) == 1  # the oldest went


def test_a_model_another_worker_removes_meanwhile_is_no_failure_to_keep(
        monkeypatch: pytest.MonkeyPatch, log_stream: Any, tmp_path: Path) -> None:
    """Two workers starting at once each remove the older models: a file the other removed between this one's
    listing and its look at the file's age is gone, not a model this worker failed to keep."""
    from triage.model import Example, kept_or_trained

    older = kept_or_trained([*few_examples(), Example("contoh lama", few_examples()[0].category)], tmp_path)
    assert older is not None
    real_stat = Path.stat

    def removed_meanwhile(path: Path, **options: Any) -> Any:
        if path.parent == tmp_path and path.name.startswith("text-model-"):
            path.unlink(missing_ok=True)
        return real_stat(path, **options)

    monkeypatch.setattr(Path, "stat", removed_meanwhile)
    kept_or_trained(few_examples(), tmp_path)
    assert '"triage.model_not_kept"' not in log_stream.getvalue()


def _shipped_table_with(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of config/triage/`name` with its `old` text replaced by `new` (a lone surrogate written as the byte it
    stands for: an editor's Latin-1 save)."""
    from gateway.settings import CONFIG_DIR

    text = (CONFIG_DIR / "triage" / name).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_bytes(text.replace(old, new, 1).encode("utf-8", errors="surrogateescape"))
    return path


# The triage tables, each broken in a way an edit leaves it, and what the refusal says after the file's name.
BROKEN_TRIAGE_TABLES = {
    "spam not UTF-8": ("spam.toml", "[[rules]]\n", "# hadiah \udce9\n[[rules]]\n", " is not UTF-8 text (at byte "),
    "spam pattern": ("spam.toml", '(mama|mamah', '((mama|mamah', " cannot be used: error: missing ), unterminated"),
    "spam key misspelt": ("spam.toml", 'reason = "pulsa_scam"', 'reson = "pulsa_scam"',
                          " cannot be used: KeyError: 'reason'"),
    "languages syntax": ("languages.toml", "\n[words]\n", "\n[words\n", " is not valid TOML: "),
    "languages default missing": ("languages.toml", 'default = "id"', "", " cannot be used: KeyError: 'default'"),
    "regions section misspelt": ("regions.toml", "\n[markers]\n", "\n[marker]\n",
                                 " cannot be used: KeyError: 'markers'"),
    "regions score a word": ("regions.toml", "min_score = 85", 'min_score = "high"',
                             " cannot be used: ValueError: invalid literal for int()"),
    "categories keywords of none": (
        "categories.toml", '"KESEHATAN" = [', '"KESEHATAN RAKYAT" = [',
        " cannot be used: ValueError: keywords for unknown categories ['KESEHATAN RAKYAT']"),
}


@pytest.mark.parametrize("broken", BROKEN_TRIAGE_TABLES)
def test_a_broken_triage_table_is_a_configuration_error_naming_the_file(broken: str, tmp_path: Path) -> None:
    """The triage tables were read with tomllib alone: a Latin-1 save ended `triage` on a UnicodeDecodeError
    traceback, and failed the triage of every report with `triage.failed` naming no file (a KeyError: 'markers')."""
    from gateway.settings import SettingsError
    from triage.language import LanguageDetector
    from triage.region import load_region_config
    from triage.spam import SpamFilter

    name, old, new, said = BROKEN_TRIAGE_TABLES[broken]
    path = _shipped_table_with(tmp_path, name, old, new)
    load = {"spam.toml": SpamFilter.load, "languages.toml": LanguageDetector.load,
            "regions.toml": load_region_config, "categories.toml": load_categories}[name]

    with pytest.raises(SettingsError) as refused:
        load(path)
    assert str(refused.value).startswith(f"{path}{said}"), refused.value
    load(_shipped_table_with(tmp_path, name, old, old))  # the release's table as it is


def test_a_triage_table_the_engine_cannot_read_is_named_in_the_forward_workers_line(
        settings: Settings, redis: Redis, casestore: CaseStoreServer, log_stream: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The report goes without its suggestions (as ever), and the line says which file and why: it said
    `error: UnicodeDecodeError` and no more."""
    from triage import engine as engine_module
    from triage.spam import SpamFilter
    from workers import forward
    from workers.context import WorkerContext, use_context

    name, old, new, said = BROKEN_TRIAGE_TABLES["spam not UTF-8"]
    path = _shipped_table_with(tmp_path, name, old, new)
    load = SpamFilter.load
    monkeypatch.setattr(engine_module.SpamFilter, "load", lambda: load(path))  # as it reads the release's table
    context = WorkerContext.build(settings, redis)
    receipt = Intake(redis, settings).commit([sms_draft("Sampah menumpuk di pasar", "SM-table-1")])[0]
    use_context(context)
    try:
        assert forward.forward_reports([receipt.tracking_id])["forwarded"] == 1
    finally:
        use_context(None)
    stored = casestore.get(receipt.tracking_id)
    assert stored is not None and stored.get("triage") is None
    [line] = [orjson.loads(line) for line in log_stream.getvalue().splitlines() if '"triage.failed"' in line]
    assert line["error"] == "SettingsError" and line["detail"].startswith(f"{path}{said}"), line
