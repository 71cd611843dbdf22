"""A citizen's SMS in every form we expect, through the real aggregator callback, intake, the queues, the reference
case store and the reply worker: the right report (kind, flags, text) or none, and the right reply.

One gateway serves the whole table: every row is posted (each from its own number, written in one of the forms
people and operators use), the queues are drained once, then each row is checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from channels.gsm7 import MULTI_PART, SINGLE_PART, is_gsm7, septets
from gateway.replies import acknowledgement, flagged, render, status_name
from gateway.settings import Settings
from gateway.tracking import damm_digit, format_tracking_id
from tests.aggregator_support import AggregatorApi, aggregator_api, aggregator_settings, drain, post_callback
from tests.conftest import CaseStoreServer, GatewayServer
from tests.conftest import TestEnvironment as Environment
from workers.report_payload import opaque_message_id


@dataclass(frozen=True)
class Row:
    id: str
    text: str
    reply: str | None  # the key in config/replies.toml; None: no reply at all
    kind: str | None = None  # None: no report
    body: str | None = None
    anonymous: bool = False
    confidential: bool = False
    language: str = "id"


def report(id: str, text: str, kind: str, body: str, language: str = "id", *, anonymous: bool = False,
           confidential: bool = False) -> Row:
    return Row(id, text, "ack", kind, body, anonymous, confidential, language)


def follow_up(id: str, text: str, body: str, language: str = "id", *, anonymous: bool = False,
              confidential: bool = False) -> Row:
    return Row(id, text, "follow_up", "complaint", body, anonymous, confidential, language)


def added(id: str, text: str, body: str, language: str = "id", *, anonymous: bool = False,
          confidential: bool = False) -> Row:
    """A status query with words after its ID that tell the report something: a follow-up of it, answered with both
    the addition received and the report's status (`[follow_up_status]`, its flags named)."""
    return Row(id, text, "follow_up_status", "complaint", body, anonymous, confidential, language)


# The replies of a follow-up of the table's parent report.
FOLLOW_UPS = ("follow_up", "follow_up_status")


def unknown_report(id: str, text: str, body: str, *, anonymous: bool = False) -> Row:
    """A follow-up to an ID no gateway ever minted ({never}, or a round one): filed as a new report, that ID opening
    its text."""
    return Row(id, text, "follow_up_unknown", "complaint", body, anonymous)


# Help's usage text as it was before it was cut to one SMS part (two parts, 241 characters): sent back, it is help.
HELP_IN_TWO_PARTS = {
    "id": "LAPOR! 1708: ketik LAPOR <isi laporan> kirim ke 1708. Jenis: LAPOR, ASPIRASI, INFO, WBS. "
          "LAPOR ANONIM <isi>: identitas dirahasiakan. LAPOR RAHASIA <isi>: isi tidak dipublikasikan. "
          "Cek status: CEK <nomor lacak>. Tambahan: <nomor lacak> <isi>.",
    "en": "LAPOR! 1708: text REPORT <your report> to 1708. Kinds: REPORT, ASPIRASI, INFO, WBS. REPORT ANONIM <text>: "
          "your identity is hidden. REPORT RAHASIA <text>: the content is kept private. Status: CEK <tracking ID>. "
          "Addition: <tracking ID> <text>.",
}


def query(id: str, text: str, reply: str, language: str = "id") -> Row:
    return Row(id, text, reply, language=language)


def courtesy(id: str, text: str) -> Row:
    return Row(id, text, None)


def opt_out(id: str, text: str) -> Row:
    """An opt-out word alone: as a courtesy, neither filed nor answered."""
    return Row(id, text, None)


def opt_in(id: str, text: str) -> Row:
    """An opt-in word alone (Twilio's START, UNSTOP, YES): as an opt-out, neither filed nor answered."""
    return Row(id, text, None)


ROWS = [
    # complaints, in every way people start them
    report("lapor-colon", "LAPOR: Jalan berlubang di depan SDN 3 Cibubur", "complaint",
           "Jalan berlubang di depan SDN 3 Cibubur"),
    report("lapor-dot", "lapor. lampu PJU mati sepanjang Jl. Ahmad Yani", "complaint",
           "lampu PJU mati sepanjang Jl. Ahmad Yani"),
    report("hash-lapor", "#lapor Sampah tidak diangkut 2 minggu", "complaint", "Sampah tidak diangkut 2 minggu"),
    report("lapor-dash", "Lapor - pungli pembuatan KTP di kecamatan", "complaint",
           "pungli pembuatan KTP di kecamatan"),
    report("aduan", "ADUAN: guru honorer belum digaji 3 bulan", "complaint", "guru honorer belum digaji 3 bulan"),
    report("aduan-comma-no-space", "aduan,antrian BPJS sangat lama", "complaint", "antrian BPJS sangat lama"),
    report("pengaduan-spaced-colon", "Pengaduan : parkir liar di trotoar Jl. Sabang", "complaint",
           "parkir liar di trotoar Jl. Sabang"),
    report("report-en", "REPORT: the bridge in Desa Sukamaju is broken", "complaint",
           "the bridge in Desa Sukamaju is broken", "en"),
    report("report-en-no-colon", "Report broken traffic light at the Semanggi junction", "complaint",
           "broken traffic light at the Semanggi junction", "en"),
    report("no-keyword-id", "Jalan rusak parah di desa kami, mohon diperbaiki", "complaint",
           "Jalan rusak parah di desa kami, mohon diperbaiki"),
    report("no-keyword-en", "The street lights on my road have been off for a week", "complaint",
           "The street lights on my road have been off for a week", "en"),
    report("typo-lapoor", "LAPOOR jalan longsor di Ciloto", "complaint", "jalan longsor di Ciloto"),
    report("typo-lpr", "Lpr: air PDAM keruh dan bau", "complaint", "air PDAM keruh dan bau"),
    report("mixed-case-emoji", "lApOr!!! banjir di Kampung Pulo 😭😭", "complaint", "banjir di Kampung Pulo 😭😭"),
    report("extra-spaces", "  LAPOR    jalan   licin di tanjakan Cikidang  ", "complaint",
           "jalan licin di tanjakan Cikidang"),
    report("phone-number-is-prose", "081234567890 nomor saya, jalan di depan rumah rusak", "complaint",
           "081234567890 nomor saya, jalan di depan rumah rusak"),
    report("leading-small-number", "2 hari listrik padam di Desa Mekar", "complaint",
           "2 hari listrik padam di Desa Mekar"),
    report("leading-date", "17-08-2025 ada pungli di kantor kelurahan", "complaint",
           "17-08-2025 ada pungli di kantor kelurahan"),
    report("leading-amount", "1.500.000 diminta petugas untuk sertifikat tanah", "complaint",
           "1.500.000 diminta petugas untuk sertifikat tanah"),
    report("leading-number-without-plus", "6281234567890 nomor saya, lampu jalan mati", "complaint",
           "6281234567890 nomor saya, lampu jalan mati"),
    # Shorter than any Tracking ID minted from intake.id_start (8 digits): an amount or a case number, not an ID.
    report("leading-amount-without-dots", "500000 diminta petugas untuk surat pindah", "complaint",
           "500000 diminta petugas untuk surat pindah"),
    report("leading-case-number", "1234567 nomor perkara saya belum diproses", "complaint",
           "1234567 nomor perkara saya belum diproses"),
    # aspirations
    report("aspirasi", "ASPIRASI: mohon dibangun taman bermain di RW 04", "aspiration",
           "mohon dibangun taman bermain di RW 04"),
    report("saran-dash", "saran - jam operasional puskesmas diperpanjang", "aspiration",
           "jam operasional puskesmas diperpanjang"),
    report("usul", "Usul: tambah halte TransJakarta di Cawang", "aspiration", "tambah halte TransJakarta di Cawang"),
    report("suggestion-en", "Suggestion: more buses to the airport please", "aspiration",
           "more buses to the airport please", "en"),
    report("typo-aspirsi", "aspirsi perbanyak tempat sampah di alun-alun", "aspiration",
           "perbanyak tempat sampah di alun-alun"),
    # information requests
    report("info-question", "INFO: syarat membuat akta kelahiran apa saja?", "information_request",
           "syarat membuat akta kelahiran apa saja?"),
    report("tanya-comma", "Tanya, kapan bansos tahap 3 cair?", "information_request", "kapan bansos tahap 3 cair?"),
    report("tanya", "TANYA jadwal vaksin booster di puskesmas", "information_request",
           "jadwal vaksin booster di puskesmas"),
    # whistleblowing
    report("wbs", "WBS: kepala desa menyalahgunakan dana desa", "whistleblowing",
           "kepala desa menyalahgunakan dana desa"),
    report("wbs-rahasia", "wbs #rahasia pejabat dinas minta fee proyek", "whistleblowing",
           "pejabat dinas minta fee proyek", confidential=True),
    # flags, alone and with kinds, as words or hashtags, anywhere
    report("lapor-anonim", "LAPOR ANONIM preman minta uang keamanan di pasar", "complaint",
           "preman minta uang keamanan di pasar", anonymous=True),
    report("anonim-first", "ANONIM lapor: bullying di SMPN 12", "complaint", "bullying di SMPN 12", anonymous=True),
    report("hash-anonim", "Lapor #anonim: oknum minta uang damai di jalan", "complaint",
           "oknum minta uang damai di jalan", anonymous=True),
    report("rahasia-aduan", "RAHASIA ADUAN dokter puskesmas sering bolos", "complaint",
           "dokter puskesmas sering bolos", confidential=True),
    report("trailing-hash-rahasia", "lapor jalan rusak depan rumah saya #rahasia", "complaint",
           "jalan rusak depan rumah saya", confidential=True),
    report("trailing-anonim", "Lapor pungli di kantor kelurahan, ANONIM", "complaint", "pungli di kantor kelurahan",
           anonymous=True),
    report("wbs-both-words", "WBS ANONIM RAHASIA korupsi pengadaan laptop sekolah", "whistleblowing",
           "korupsi pengadaan laptop sekolah", anonymous=True, confidential=True),
    # a kind word no sentence opens with, after the generic LAPOR (help's form after our name): it names the kind
    report("lapor-header-wbs", "LAPOR! WBS kepala dinas minta setoran", "whistleblowing", "kepala dinas minta setoran"),
    report("lapor-anonim-wbs", "LAPOR ANONIM WBS bendahara potong gaji", "whistleblowing", "bendahara potong gaji",
           anonymous=True),
    report("lapor-aspirasi-prose", "LAPOR aspirasi warga tidak didengar DPRD", "complaint",
           "aspirasi warga tidak didengar DPRD"),
    report("lapor-info-prose", "LAPOR info jalan ditutup karena banjir", "complaint",
           "info jalan ditutup karena banjir"),
    # a status query after a kind word: a case holding a command and a number when filed
    query("wbs-cek-id", "WBS CEK {parent}", "status"),
    query("lapor-anonim-cek-id", "LAPOR ANONIM CEK {parent}", "status"),
    query("lapor-id-alone", "LAPOR {parent}", "status"),
    # a kind word before an ID makes a new report, the number opening its text; a flag word after the number is the
    # whistleblower's (it was a named report, their number at the agency beside a text naming their report)
    report("lapor-id-anonim", "LAPOR {parent} ANONIM foto sudah saya kirim", "complaint",
           "{parent} ANONIM foto sudah saya kirim", anonymous=True),
    report("aduan-id-rahasia", "ADUAN {parent} RAHASIA petugas minta uang", "complaint",
           "{parent} RAHASIA petugas minta uang", confidential=True),
    # help's "Tambah ANONIM" written around the report's ID: a report of the whole text ("tambah" opens prose too),
    # the flag word after the number the whistleblower's (it was a named report beside their report's ID)
    report("tambah-id-anonim", "TAMBAH {parent} ANONIM foto sudah saya kirim", "complaint",
           "TAMBAH {parent} ANONIM foto sudah saya kirim", anonymous=True),
    report("lapor-amount-and-words", "LAPOR 15000005 rupiah diminta petugas kelurahan", "complaint",
           "15000005 rupiah diminta petugas kelurahan"),
    report("lapor-bantuan-sosial", "LAPOR bantuan sosial tidak cair 3 bulan", "complaint",
           "bantuan sosial tidak cair 3 bulan"),
    # ANONIM mistyped or spelt as in English or Dutch: filed as the citizen's words, it was a named report, the
    # whistleblower's number at the agency, and its acknowledgement the same as an anonymous one's
    report("typo-anonym", "LAPOR ANONYM pungli di samsat", "complaint", "pungli di samsat", anonymous=True),
    report("typo-anonimus", "Anonimus lapor: kepsek potong dana BOS", "complaint", "kepsek potong dana BOS",
           anonymous=True),
    report("typo-anonin", "LAPOR ANONIN petugas minta uang rekom", "complaint", "petugas minta uang rekom",
           anonymous=True),
    report("typo-anonimm", "ANONIMM pungli di pasar induk", "complaint", "pungli di pasar induk", anonymous=True),
    report("typo-anonnim", "LAPOR ANONNIM: kades minta setoran", "complaint", "kades minta setoran", anonymous=True),
    report("typo-annonym", "Annonym lapor: petugas minta uang", "complaint", "petugas minta uang", anonymous=True),
    report("typo-anonm", "anonm kades pungli", "complaint", "kades pungli", anonymous=True),
    report("typo-lapor-anomim", "LAPOR anomim kades pungli", "complaint", "kades pungli", anonymous=True),
    report("typo-annonymous", "annonymous: the clerk takes bribes", "complaint", "the clerk takes bribes", "en",
           anonymous=True),
    report("typo-trailing-anonymus", "Lapor pungli di terminal bus, anonymus", "complaint", "pungli di terminal bus",
           anonymous=True),
    report("both-hashtags-no-kind", "#anonim #rahasia ada pungli di samsat", "complaint", "ada pungli di samsat",
           anonymous=True, confidential=True),
    report("aspirasi-anonim", "Aspirasi #anonim: transparansi anggaran desa", "aspiration",
           "transparansi anggaran desa", anonymous=True),
    report("report-anonymous-en", "REPORT #anonymous the officer asked for a bribe", "complaint",
           "the officer asked for a bribe", "en", anonymous=True),
    # anonymity wished mid-sentence, no flag word: it was a named report, the whistleblower's number at the agency
    report("wish-mid-sentence", "Saya ingin melapor secara anonim karena takut dipecat, kepala dinas minta setoran",
           "complaint", "Saya ingin melapor secara anonim karena takut dipecat, kepala dinas minta setoran",
           anonymous=True),
    # the identity asked unsaid or unwritten as an SMS types it, the reporter's fear of reprisal, a request of no
    # object or the fear said in a clause of its own: each was a named report, the whistleblower's number sent
    report("jangan-sebut-identitas", "jgn sebut identitas sy. kades korupsi dana desa", "complaint",
           "jgn sebut identitas sy. kades korupsi dana desa", anonymous=True),
    report("gak-usah-sebut-nama", "gak usah sebut nama sy ya pak, kades potong BLT", "complaint",
           "gak usah sebut nama sy ya pak, kades potong BLT", anonymous=True),
    report("takut-dipecat", "saya takut dipecat, atasan saya korupsi anggaran", "complaint",
           "saya takut dipecat, atasan saya korupsi anggaran", anonymous=True),
    report("aside-tanpa-nama", "pungli di kelurahan (tanpa nama)", "complaint", "pungli di kelurahan (tanpa nama)",
           anonymous=True),
    report("aside-tanpa-nama-someone-else", "mayat (tanpa nama) ditemukan di sungai", "complaint",
           "mayat (tanpa nama) ditemukan di sungai"),
    report("warga-tidak-mau-disebut", "Kades korupsi. Warga yang tidak mau disebut namanya", "complaint",
           "Kades korupsi. Warga yang tidak mau disebut namanya", anonymous=True),
    report("warga-quoted", "Menurut warga yang tidak mau disebut namanya, kades minta uang", "complaint",
           "Menurut warga yang tidak mau disebut namanya, kades minta uang"),
    report("afraid-they-will-fire-me", "My boss takes bribes. I am afraid they will fire me", "complaint",
           "My boss takes bribes. I am afraid they will fire me", "en", anonymous=True),
    report("clause-jangan-sebut-nama", "pungli di kelurahan. jgn sebut nama ya", "complaint",
           "pungli di kelurahan. jgn sebut nama ya", anonymous=True),
    report("clause-saya-takut", "Saya takut. Pak kades ancam warga yang lapor", "complaint",
           "Saya takut. Pak kades ancam warga yang lapor", anonymous=True),
    report("clause-takut-ketahuan", "pungli di samsat, takut ketauan pak", "complaint",
           "pungli di samsat, takut ketauan pak", anonymous=True),
    report("tidak-mau-ketahuan", "saya gk mau ketauan pak. kades korupsi", "complaint",
           "saya gk mau ketauan pak. kades korupsi", anonymous=True),
    # the reporter's own wish kept secret, "yang" as an SMS writes it, a worried reporter's question: anonymity asked
    report("saya-mau-dirahasiakan", "pungli di kelurahan, saya mau dirahasiakan", "complaint",
           "pungli di kelurahan, saya mau dirahasiakan", anonymous=True),
    report("saya-ingin-dirahasiakan", "saya ingin dirahasiakan. lurah minta uang KTP", "complaint",
           "saya ingin dirahasiakan. lurah minta uang KTP", anonymous=True),
    report("tolong-saya-dirahasiakan", "bidan minta uang persalinan, tolong saya dirahasiakan", "complaint",
           "bidan minta uang persalinan, tolong saya dirahasiakan", anonymous=True),
    report("kalau-saya-yg-lapor", "dana desa dipotong, jgn kasih tau kades kalau saya yg lapor", "complaint",
           "dana desa dipotong, jgn kasih tau kades kalau saya yg lapor", anonymous=True),
    report("identitas-saya-aman", "pungli di terminal. identitas saya aman?", "complaint",
           "pungli di terminal. identitas saya aman?", anonymous=True),
    report("nama-saya-tidak-disebut-kan", "guru minta uang les wajib, nama saya tidak disebut kan?", "complaint",
           "guru minta uang les wajib, nama saya tidak disebut kan?", anonymous=True),
    # more of the same in the words citizens write: anonymity asked
    report("jangan-bocorkan-nomor-saya", "jalan rusak di desa kami, tolong jangan bocorkan nomor saya", "complaint",
           "jalan rusak di desa kami, tolong jangan bocorkan nomor saya", anonymous=True),
    report("saya-berharap-dirahasiakan", "pungli di kelurahan. saya berharap dirahasiakan", "complaint",
           "pungli di kelurahan. saya berharap dirahasiakan", anonymous=True),
    report("saya-minta-untuk-dirahasiakan", "pungli di kelurahan. saya minta untuk dirahasiakan", "complaint",
           "pungli di kelurahan. saya minta untuk dirahasiakan", anonymous=True),
    report("identitasku-aman", "pungli di kelurahan, identitasku aman kan?", "complaint",
           "pungli di kelurahan, identitasku aman kan?", anonymous=True),
    report("data-pribadi-saya-aman", "pungli di kelurahan, data pribadi saya aman?", "complaint",
           "pungli di kelurahan, data pribadi saya aman?", anonymous=True),
    report("nomor-hp-saya-aman", "pungli di kelurahan, nomor hp saya aman?", "complaint",
           "pungli di kelurahan, nomor hp saya aman?", anonymous=True),
    report("no-hp-saya-aman-kan", "pungli di kelurahan, no hp saya aman kan?", "complaint",
           "pungli di kelurahan, no hp saya aman kan?", anonymous=True),
    report("kerahasiaan-saya-dijamin", "pungli di kelurahan, kerahasiaan saya dijamin kan?", "complaint",
           "pungli di kelurahan, kerahasiaan saya dijamin kan?", anonymous=True),
    report("is-my-identity-safe", "bribe at the office, is my identity safe?", "complaint",
           "bribe at the office, is my identity safe?", "en", anonymous=True),
    report("will-my-name-be-kept-secret", "bribe at the office, will my name be kept secret?", "complaint",
           "bribe at the office, will my name be kept secret?", "en", anonymous=True),
    report("gaji-saya-dirahasiakan-is-prose", "data gaji saya dirahasiakan bendahara", "complaint",
           "data gaji saya dirahasiakan bendahara"),
    report("tau-saya-yang-lapor", "jangan sampai kades tau saya yang lapor, dana desa dipotong", "complaint",
           "jangan sampai kades tau saya yang lapor, dana desa dipotong", anonymous=True),
    report("protect-my-identity-en", "Please protect my identity. The village head is corrupt", "complaint",
           "Please protect my identity. The village head is corrupt", "en", anonymous=True),
    # a form's name line closing the report, filled with the secrecy word: read off as the flag, the line was lost
    report("closing-name-line-rahasia", "Kejadian: pungli di loket 3\nNama: Rahasia", "complaint",
           "Kejadian: pungli di loket 3\nNama", anonymous=True, confidential=True),
    report("name-must-not-be-published-en", "Officer takes bribes. My name must not be published", "complaint",
           "Officer takes bribes. My name must not be published", "en", anonymous=True),
    report("kalau-saya-yang-lapor", "jangan kasih tau kades kalau saya yang lapor, dia minta uang bansos",
           "complaint", "jangan kasih tau kades kalau saya yang lapor, dia minta uang bansos", anonymous=True),
    report("fear-of-the-road-prose", "Saya takut anak saya jatuh di jalan rusak itu", "complaint",
           "Saya takut anak saya jatuh di jalan rusak itu"),
    # an aside pleading for protection after the flag word, a group left open, flag words joined in one hashtag:
    # each was a named report (and "+rahasia" stayed in the text); "no secret" was a confidential one, its word lost
    report("flag-then-a-plea", "(anonim, saya takut) pungli di kelurahan", "complaint",
           "(anonim, saya takut) pungli di kelurahan", anonymous=True),
    report("group-left-open", "[ANONIM, RAHASIA pungli di kelurahan", "complaint", "pungli di kelurahan",
           anonymous=True, confidential=True),
    report("hashtag-joined-flags", "pungli di kelurahan #anonim+rahasia", "complaint", "pungli di kelurahan",
           anonymous=True, confidential=True),
    report("negated-closing-flag", "LAPOR kades minta uang 50rb, bukan ~rahasia~", "complaint",
           "kades minta uang 50rb, bukan ~rahasia~"),
    # status queries (the parent report is "in_progress" in the case store)
    query("cek", "CEK {parent}", "status"),
    query("cek-hash", "cek #{parent}", "status"),
    query("cek-hash-no-space", "cek#{parent}", "status"),
    query("cek-no-space", "CEK{parent}", "status"),
    query("status", "STATUS {parent}", "status"),  # an Indonesian word too
    query("status-no", "status no. {parent}", "status"),
    query("cek-filler-words", "Cek laporan no. {parent}", "status"),
    query("cek-spaced-id", "CEK {parent_spaced}", "status"),
    query("cek-thousands-grouped-id", "CEK {parent_thousands}", "status"),
    query("cek-letter-o-for-zero", "CEK {parent_letter_o}", "status"),
    # a lowercase l or a capital I for a one, and the command misspelt: each was filed as a new report
    query("cek-letter-l-for-one", "CEK {parent_letter_l}", "status"),
    query("cek-capital-i-for-one", "cek {parent_capital_i}", "status"),
    query("chek-misspelt", "CHEK {parent}", "status"),
    query("chk-abbreviated", "chk no. {parent}", "status"),
    query("bantuan-cek-id", "Bantuan cek {parent}", "status"),
    # autocorrect's en dash between the ID's digit groups (a UCS-2 SMS): read as "-"
    query("cek-en-dash-grouped-id", "CEK {parent_en_dash}", "status"),
    # the check digit typed apart: answered "<the ID but its last digit> not valid"
    query("cek-check-digit-apart", "CEK {parent_check_apart}", "status"),
    query("status-check-digit-apart-question", "status {parent_check_apart}?", "status"),
    query("cek-status", "cek status {parent}", "status"),
    # the service's name after the command, as "cek laporan" is typed: filed, each was a case of the query's words
    query("cek-lapor", "CEK LAPOR {parent}", "status"),
    query("cek-lapor-lower", "cek lapor {parent}", "status"),
    query("status-lapor", "Status lapor: {parent}", "status"),
    query("cek-lapor-alone", "CEK LAPOR", "status_help"),
    report("cek-lapor-prose", "cek lapor jalan rusak di desa kami", "complaint", "cek lapor jalan rusak di desa kami"),
    query("bare-tracking-id", "{parent}", "status"),
    query("cek-bad-check-digit", "CEK {bad}", "bad_tracking_id"),
    # the letter O for a zero and a check digit that fails, and the command typed letter by letter: each was filed as
    # a report of the query's words and answered "Laporan Anda diterima"
    query("cek-letter-o-bad-check-digit", "CEK {bad_letter_o}", "bad_tracking_id"),
    query("cek-letter-o-bad-check-digit-thanks", "cek {bad_letter_o} makasih", "bad_tracking_id"),
    query("cek-spelled-out", "C E K {parent}", "status"),
    query("cek-spelled-out-with-dots", "c.e.k {parent}", "status"),
    query("cek-spelled-out-bad-check-digit", "C E K {bad}", "bad_tracking_id"),
    query("cek-spelled-out-alone", "C E K", "status_help"),
    report("cek-spelled-out-prose", "C E K jalan rusak di desa kami", "complaint", "C E K jalan rusak di desa kami"),
    # the ID in another keyboard's digits: the ID the reply shows in ASCII digits
    query("cek-fullwidth-digits", "cek {parent_fullwidth}", "status"),
    query("bare-id-arabic-indic-digits", "{parent_arabic_indic}", "status"),
    query("cek-bad-check-digit-fullwidth", "CEK {bad_fullwidth}", "bad_tracking_id"),
    follow_up("follow-up-fullwidth-id", "{parent_fullwidth} ２ motor jatuh lagi", "２ motor jatuh lagi"),
    # letters and punctuation as a fullwidth keyboard types them: read as ASCII, kept as typed
    query("cek-fullwidth-letters", "ｃｅｋ {parent_fullwidth}", "status"),
    query("cek-fullwidth-hash-glued", "ＣＥＫ＃{parent_fullwidth}", "status"),
    follow_up("follow-up-fullwidth-colon", "{parent_fullwidth}：ｊａｌａｎ masih rusak", "ｊａｌａｎ masih rusak"),
    report("kind-fullwidth", "ＷＢＳ：ｋｅｐａｌａ ｄｅｓａ minta potongan BLT", "whistleblowing",
           "ｋｅｐａｌａ ｄｅｓａ minta potongan BLT"),
    query("check-bad-check-digit-en", "check {bad}", "bad_tracking_id", "en"),
    # follow-ups to the parent report
    follow_up("follow-up", "{parent} tambahan: lubangnya sekarang makin besar",
              "tambahan: lubangnya sekarang makin besar"),
    follow_up("follow-up-hash", "#{parent} sudah 2 motor jatuh di lubang itu", "sudah 2 motor jatuh di lubang itu"),
    follow_up("follow-up-en", "{parent}: the hole is bigger now", "the hole is bigger now", "en"),
    follow_up("follow-up-opens-with-a-number", "{parent} 2 motor jatuh lagi minggu ini",
              "2 motor jatuh lagi minggu ini"),
    query("follow-up-bad-check-digit", "{bad} masih rusak pak", "bad_tracking_id"),
    # A follow-up's own flags, to a named report (a witness adding to someone else's report): read as its words, the
    # anonymous writer's number went to the agency.
    follow_up("follow-up-anonim-after-the-id", "{parent} ANONIM saya saksi, petugas minta uang",
              "saya saksi, petugas minta uang", anonymous=True),
    follow_up("follow-up-hashtag-anonim", "{parent} saya saksi, petugas minta uang #anonim",
              "saya saksi, petugas minta uang", anonymous=True),
    follow_up("follow-up-closing-anonim", "{parent} saya saksi, petugas minta uang. ANONIM",
              "saya saksi, petugas minta uang.", anonymous=True),
    follow_up("follow-up-rahasia-after-the-id", "{parent}: (RAHASIA) ada rekaman suaranya",
              "ada rekaman suaranya", confidential=True),
    # glued to a mark, as a report's opening flag word is ("ANONIM|Kepala desa ..."); a pipe sets it apart as a clause
    follow_up("follow-up-anonim-glued-after-the-id", "{parent} ANONIM)saya saksi, petugas minta uang",
              "ANONIM)saya saksi, petugas minta uang", anonymous=True),
    follow_up("follow-up-rahasia-pipe-after-the-id", "{parent} RAHASIA|ada rekaman suaranya",
              "RAHASIA|ada rekaman suaranya", confidential=True),
    # The flag first, as help's "Tambah ANONIM ... Tambahan: <nomor lacak> <isi>" leads people to write it: filed as a
    # new report with the ID in its text, the addition never reached the report it names.
    follow_up("anonim-before-the-id", "ANONIM {parent} saya saksi, petugas minta uang",
              "saya saksi, petugas minta uang", anonymous=True),
    follow_up("rahasia-before-the-id", "RAHASIA {parent} ada rekaman suaranya", "ada rekaman suaranya",
              confidential=True),
    follow_up("both-flags-before-the-id", "#anonim RAHASIA: {parent} ada video pungutannya",
              "ada video pungutannya", anonymous=True, confidential=True),
    query("anonim-before-the-id-alone", "ANONIM {parent}", "status"),
    # an ID never minted after the flag: a new report as "<id> <text>" is, that ID in its text, still anonymous
    unknown_report("anonim-before-an-id-never-minted", "ANONIM {never} saya saksi, petugas minta uang",
                   "{never} saya saksi, petugas minta uang", anonymous=True),
    # a mistyped ID after the flag: a report as before, anonymous, the number its text's
    report("anonim-before-a-bad-check-digit", "ANONIM {bad} petugas minta uang", "complaint",
           "{bad} petugas minta uang", anonymous=True),
    # A flag word before a status command (help teaches both "Tambah ANONIM" and "CEK <nomor lacak>") changes nothing:
    # the status query it is without the flag, answered with the status alone. It was an anonymous new report of
    # "CEK <id>" with a Tracking ID of its own.
    query("anonim-cek", "ANONIM CEK {parent}", "status"),
    query("rahasia-cek", "rahasia: cek {parent}", "status"),
    query("anonymous-check-en", "ANONYMOUS CHECK {parent}", "status", "en"),
    # words after the ID that tell the report something: an addition to it, its flags (typed, asked in words) kept,
    # answered with the addition received and the status (answered with the status alone, the words were dropped)
    added("anonim-cek-then-words", "ANONIM CEK {parent} lubangnya makin besar", "lubangnya makin besar",
          anonymous=True),
    added("cek-then-words", "CEK {parent} kepala dinas minta setoran lagi", "kepala dinas minta setoran lagi"),
    added("cek-then-words-anonymous-in-words", "CEK {parent} kepala dinas minta setoran, jangan sebut nama saya",
          "kepala dinas minta setoran, jangan sebut nama saya", anonymous=True),
    added("cek-then-words-saya-mau-dirahasiakan", "CEK {parent} pelaku datang lagi, saya mau dirahasiakan",
          "pelaku datang lagi, saya mau dirahasiakan", anonymous=True),
    added("cek-then-words-saya-ingin-dirahasiakan", "CEK {parent} saya ingin dirahasiakan", "saya ingin dirahasiakan",
          anonymous=True),
    added("cek-then-words-tolong-saya-dirahasiakan", "CEK {parent} camat ikut terima, tolong saya dirahasiakan",
          "camat ikut terima, tolong saya dirahasiakan", anonymous=True),
    added("cek-then-words-saya-yg-lapor", "CEK {parent} jgn kasih tau kades kalau saya yg lapor",
          "jgn kasih tau kades kalau saya yg lapor", anonymous=True),
    added("cek-then-identitas-saya-aman", "CEK {parent} identitas saya aman?", "identitas saya aman?", anonymous=True),
    added("cek-then-identitasku-aman", "CEK {parent} pelaku datang lagi, identitasku aman kan?",
          "pelaku datang lagi, identitasku aman kan?", anonymous=True),
    added("cek-then-nama-saya-tidak-disebut-kan", "CEK {parent} nama saya tidak disebut kan?",
          "nama saya tidak disebut kan?", anonymous=True),
    added("rahasia-cek-then-words", "RAHASIA CEK {parent} bukti transfer ke bendahara sudah saya simpan",
          "bukti transfer ke bendahara sudah saya simpan", confidential=True),
    added("cek-then-words-confidential-in-words",
          "CEK {parent} bendahara memotong dana BOS, mohon laporan ini tidak dipublikasikan",
          "bendahara memotong dana BOS, mohon laporan ini tidak dipublikasikan", confidential=True),
    added("check-dash-then-words-en", "check {parent} - the street light is still broken",
          "the street light is still broken", "en"),
    added("status-then-a-number-and-words", "STATUS {parent} 2 motor jatuh lagi di lubang yang sama",
          "2 motor jatuh lagi di lubang yang sama"),  # a number in the words stays the words'
    # an ID never minted: a new report of the words, the ID opening them, as "<id> <words>" is
    unknown_report("cek-never-minted-then-words", "CEK {never} kepala dinas minta setoran lagi",
                   "{never} kepala dinas minta setoran lagi"),
    # words that only ask after it, thank or urge: the status query, nothing added
    query("cek-then-sudah-ditangani-belum", "CEK {parent} sudah ditangani belum", "status"),
    query("cek-then-progresnya-gimana", "cek {parent} progresnya gimana", "status"),
    query("cek-then-sdh-smp-mn", "CEK {parent} sdh smp mn", "status"),
    query("cek-then-tolong-infokan", "CEK {parent} tolong infokan", "status"),
    query("cek-then-kok-lama", "cek {parent} kok lama", "status"),
    query("cek-then-kapan-selesai", "CEK {parent} kapan selesai", "status"),
    query("cek-then-mohon-ditindaklanjuti", "CEK {parent} mohon ditindaklanjuti", "status"),
    query("cek-then-ditunggu-kabarnya", "CEK {parent} ditunggu kabarnya", "status"),
    query("cek-then-terima-kasih", "cek {parent} terima kasih", "status"),
    query("cek-then-sudah-sampai-mana", "CEK {parent} sudah sampai mana?", "status"),
    # what became of it stated, no "?", question word or request, not "sudah ... belum": the citizen's word on the
    # outcome, added (the answer gives the status all the same); asked, the query
    added("cek-then-kok-belum-ada-tanggapan", "CEK {parent} kok blm ada tanggapan", "kok blm ada tanggapan"),
    added("cek-then-fixed-thanks", "CEK {parent} sudah diperbaiki kemarin, terima kasih",
          "sudah diperbaiki kemarin, terima kasih"),
    added("check-then-it-is-fixed-en", "check {parent} thank you, it is fixed", "thank you, it is fixed", "en"),
    added("cek-then-tidak-tuntas", "CEK {parent} tidak tuntas", "tidak tuntas"),
    added("cek-then-belum-tuntas", "CEK {parent} belum tuntas", "belum tuntas"),
    added("cek-then-sudah-ditindak", "CEK {parent} sudah ditindak", "sudah ditindak"),
    added("cek-then-beres-makasih", "CEK {parent} udah beres min makasih", "udah beres min makasih"),
    added("cek-then-tidak-ditanggapi", "CEK {parent} laporan saya tidak ditanggapi", "laporan saya tidak ditanggapi"),
    added("cek-then-kok-ga-ada-tanggapan", "CEK {parent} kok ga ada tanggapan", "kok ga ada tanggapan"),
    added("cek-then-belum-ada-tindakan", "CEK {parent} belum ada tindakan", "belum ada tindakan"),
    added("cek-then-diabaikan", "CEK {parent} laporan saya diabaikan", "laporan saya diabaikan"),
    added("cek-then-dicuekin", "CEK {parent} kok dicuekin", "kok dicuekin"),
    added("cek-then-percuma-lapor", "CEK {parent} percuma lapor", "percuma lapor"),
    added("cek-then-pelayanan-lambat", "CEK {parent} pelayanan lambat", "pelayanan lambat"),
    query("cek-then-sudah-diperbaiki-asked", "CEK {parent} sudah diperbaiki?", "status"),
    query("cek-then-kapan-diperbaiki", "CEK {parent} kapan diperbaiki", "status"),
    query("cek-then-kenapa-ditolak", "CEK {parent} kenapa ditolak", "status"),
    query("cek-then-mana-tindakannya", "CEK {parent} mana tindakannya", "status"),
    # words that only ask after it, apologise or ask leave, urge or laugh (a letter typed over and over counts once)
    query("cek-then-sudah-sampai-dimana", "CEK {parent} sudah sampai dimana?", "status"),
    query("cek-then-udh-smp-dmn", "CEK {parent} udh smp dmn", "status"),
    query("cek-then-smp-dmn", "CEK {parent} smp dmn", "status"),
    query("cek-then-mohon-maaf-sampai-mana", "CEK {parent} mohon maaf, sudah sampai mana?", "status"),
    query("cek-then-maaf-mengganggu", "CEK {parent} maaf mengganggu", "status"),
    query("cek-then-maaf-mau-tanya", "CEK {parent} maaf pak mau tanya", "status"),
    query("cek-then-permisi", "CEK {parent} permisi", "status"),
    query("cek-then-ada-kabar-terbaru", "CEK {parent} ada kabar terbaru?", "status"),
    query("cek-then-kabar-terbaru", "CEK {parent} kabar terbaru", "status"),
    query("cek-then-mohon-kejelasannya", "CEK {parent} mohon kejelasannya", "status"),
    query("cek-then-mohon-kepastian", "CEK {parent} mohon kepastian", "status"),
    query("cek-then-kok-blm-ada-kejelasan", "CEK {parent} kok blm ada kejelasan", "status"),
    query("cek-then-plis", "CEK {parent} plis", "status"),
    query("cek-then-kok-lamaaa", "CEK {parent} kok lamaaa", "status"),
    query("cek-then-lamaa-bgt", "CEK {parent} lamaa bgt", "status"),
    query("cek-then-lama-bgtt", "CEK {parent} lama bgtt", "status"),
    query("cek-then-lama-amat", "CEK {parent} lama amat", "status"),
    query("cek-then-lama-bener", "CEK {parent} lama bener", "status"),
    query("cek-then-hehe", "CEK {parent} hehe", "status"),
    query("cek-then-wkwk", "CEK {parent} wkwk", "status"),
    query("cek-then-instansi-mana", "CEK {parent} instansi mana", "status"),
    # those words without a Tracking ID: the reports they were before them
    report("no-id-kenapa-lama-prosesnya", "kenapa lama sekali prosesnya", "complaint", "kenapa lama sekali prosesnya"),
    report("no-id-tolong-dipercepat", "tolong dipercepat prosesnya", "complaint", "tolong dipercepat prosesnya"),
    report("no-id-belum-ada-penanganan", "belum ada penanganan", "complaint", "belum ada penanganan"),
    report("no-id-kapan-diperbaiki", "kapan diperbaiki?", "complaint", "kapan diperbaiki?"),
    report("no-id-kapan-dikerjakan", "kapan dikerjakan?", "complaint", "kapan dikerjakan?"),
    query("cek-then-mohon-segera-diproses", "CEK {parent} mohon segera diproses ya pak", "status"),
    query("cek-then-kok-gak-ada-kabar", "cek {parent} kok gak ada kabar", "status"),
    query("cek-then-seminggu-belum-ada-kabar", "CEK {parent} sudah seminggu belum ada kabar", "status"),
    query("cek-then-mohon-tanggapannya", "CEK {parent} mohon tanggapannya", "status"),
    query("cek-then-tindak-lanjuti-in-two-words", "CEK {parent} mohon di tindak lanjuti", "status"),
    query("check-then-please-update-me-en", "check {parent} please update me", "status", "en"),
    query("check-then-any-update-en", "check {parent} any update?", "status", "en"),
    query("check-then-please-follow-up-en", "check {parent} please follow up", "status", "en"),
    query("cek-again", "CEK {parent} lagi", "status"),
    query("status-retry-copied", "Silakan kirim CEK {parent} ke 1708 lagi nanti.", "status"),
    # the outcome stated in our answers' words put together as ours never are: the citizen's, added
    added("cek-id-then-belum-selesai", "CEK {parent} belum selesai", "belum selesai"),
    added("cek-id-then-ditolak-lagi", "CEK {parent} ditolak lagi", "ditolak lagi"),
    added("check-id-then-not-resolved", "CEK {parent} not resolved", "not resolved"),
    added("cek-id-then-belum-diteruskan", "CEK {parent} belum diteruskan ke instansi", "belum diteruskan ke instansi"),
    # a valid ID after "cek" is that ID whatever follows it, an amount's unit too: never issued, the follow-up's
    # resolution files a new report of the ID and its words (read as an amount, an issued report's addition was a new
    # named report beside the sender's number); a number not valid stays as before
    unknown_report("cek-amount-rupiah-then-words", "cek {amount} rupiah dana desa dipotong",
                   "{amount} rupiah dana desa dipotong"),
    added("cek-id-then-rupiah", "CEK {parent} rupiah yang diminta naik jadi 500rb",
          "rupiah yang diminta naik jadi 500rb"),
    added("cek-id-comma-dash-then-words", "CEK {parent},- orang itu datang lagi", "orang itu datang lagi"),
    query("cek-amount-check-digit-apart-then-words", "cek {amount_check_apart} bulan gaji honorer belum dibayar",
          "bad_tracking_id_amount"),
    # a count's noun, "per" or a currency written before a number after a valid ID: the citizen's words about the
    # report, its addition (read as an amount, a new report beside the sender's number); a unit only an amount
    # takes, above, makes it one
    added("cek-id-then-orang", "CEK {parent} orang itu datang lagi tadi malam", "orang itu datang lagi tadi malam"),
    added("cek-id-then-jiwa", "CEK {parent} jiwa saya terancam", "jiwa saya terancam"),
    added("cek-id-then-per", "CEK {parent} per hari ini pelaku masih berjualan", "per hari ini pelaku masih berjualan"),
    added("cek-id-then-rp-before-a-number", "CEK {parent} rp 500rb diminta lagi", "rp 500rb diminta lagi"),
    added("cek-id-then-kk", "CEK {parent} kk saya dicoret", "kk saya dicoret"),
    added("lapor-cek-id-then-orang", "LAPOR CEK {parent} orang dinas datang lagi", "orang dinas datang lagi"),
    follow_up("hash-id-then-orang", "#{parent} orang itu datang lagi", "orang itu datang lagi"),
    # so after a valid ID typed first, help's "Tambahan:" before it, or a kind word before the status command
    follow_up("id-first-then-jiwa", "{parent} jiwa saya terancam", "jiwa saya terancam"),
    follow_up("id-colon-then-orang", "{parent}: orang itu datang lagi", "orang itu datang lagi"),
    follow_up("id-first-then-per", "{parent} per hari ini pelaku masih buka lapak",
              "per hari ini pelaku masih buka lapak"),
    follow_up("tambahan-label-id-then-kk", "Tambahan: {parent} kk saya dicoret", "kk saya dicoret"),
    follow_up("tambahan-id-then-jiwa", "Tambahan {parent} jiwa saya terancam", "jiwa saya terancam"),
    added("wbs-cek-id-then-words", "WBS CEK {parent} kepala dinas minta setoran lagi",
          "kepala dinas minta setoran lagi"),
    # a round valid ID (three zeros before a check digit of zero) and words: that ID's addition where it was issued,
    # here never, a new report of it; alone or with a question it stays the query
    unknown_report("cek-round-amount-then-words", "cek 13000000 untuk apa", "13000000 untuk apa"),
    # (seven digits: an ID the gateway cannot tell it never issued, the new report filed anonymous)
    unknown_report("cek-round-amount-rekening", "cek 4500000 masuk rekening kades", "4500000 masuk rekening kades",
                   anonymous=True),
    unknown_report("cek-round-amount-dana-bos", "cek 21000000 dana bos tidak jelas", "21000000 dana bos tidak jelas"),
    unknown_report("anonim-cek-round-amount", "ANONIM cek 21000000 dana bos tidak jelas",
                   "21000000 dana bos tidak jelas", anonymous=True),
    query("cek-round-id-alone", "CEK {round}", "status_unknown"),
    query("cek-round-id-asked", "CEK {round} sudah sampai mana?", "status_unknown"),
    query("cek-anonim", "CEK ANONIM {parent}", "status"),
    query("anonim-laporan-id", "ANONIM laporan {parent}", "status"),
    query("anonim-cek-bad-check-digit", "[ANONIM] CEK {bad}", "bad_tracking_id"),
    query("cek-never-minted", "CEK {never}", "status_unknown"),
    query("anonim-cek-never-minted", "ANONIM CEK {never}", "status_unknown"),
    # the ID first, then the status command: the same query in the other order (it was a follow-up "cek status")
    query("id-then-cek", "{parent} cek status", "status"),
    query("anonim-id-then-cek", "ANONIM {parent} CEK", "status"),
    # "laporan <id> <words>" is a report without the flag ("laporan" opens prose too): with it, an anonymous one
    report("anonim-laporan-id-then-words", "ANONIM laporan {parent} jalan masih rusak", "complaint",
           "{parent} jalan masih rusak", anonymous=True),
    # Help's own label before the ID ("Tambahan: <nomor lacak> <isi>"), as citizens copy it: the follow-up "<id> <isi>"
    # is. It was a new report of the whole text under the sender's number, the anonymous writer's too.
    follow_up("tambahan-label", "Tambahan: {parent} jalan masih rusak, sudah 3 minggu",
              "jalan masih rusak, sudah 3 minggu"),
    follow_up("tambahan-uppercase", "TAMBAHAN {parent} air menggenang di lubangnya", "air menggenang di lubangnya"),
    follow_up("tambahan-untuk-laporan", "Tambahan untuk laporan {parent}: sudah ada korban jatuh",
              "sudah ada korban jatuh"),
    follow_up("anonim-tambahan", "ANONIM Tambahan: {parent} saya saksi, motor saya jatuh di situ",
              "saya saksi, motor saya jatuh di situ", anonymous=True),
    follow_up("tambahan-id-anonim", "Tambahan {parent} ANONIM saya warga sebelah, benar rusak",
              "saya warga sebelah, benar rusak", anonymous=True),
    follow_up("addition-en", "Addition: {parent} the hole is bigger now", "the hole is bigger now", "en"),
    follow_up("add-en", "ADD {parent} a car fell in the hole", "a car fell in the hole", "en"),
    query("tambahan-id-alone", "Tambahan: {parent}", "status"),
    query("tambahan-bad-check-digit", "Tambahan: {bad} jalan masih rusak", "bad_tracking_id"),
    # right after the bare word, a number that fails the check and words: an extra charge, filed as typed
    report("tambahan-an-amount-of-id-shape", "Tambahan 25000000 rupiah diminta petugas", "complaint",
           "Tambahan 25000000 rupiah diminta petugas"),
    unknown_report("anonim-tambahan-never-minted", "ANONIM Tambahan: {never} saya saksi", "{never} saya saksi",
                   anonymous=True),
    # no ID right after the label: the citizen's own word, a report of the whole text
    report("tambahan-biaya", "Tambahan biaya 50000 diminta petugas", "complaint",
           "Tambahan biaya 50000 diminta petugas"),
    report("tambahan-amount", "Tambahan 500000 diminta petugas untuk surat pindah", "complaint",
           "Tambahan 500000 diminta petugas untuk surat pindah"),
    # Help's "Tambah ANONIM agar identitas dirahasiakan" as citizens write it: the word before the flag is the flag's.
    # Each was a named report of "Tambah ANONIM <isi>": the whistleblower's number went to the agency.
    report("tambah-anonim", "Tambah ANONIM preman minta uang parkir di pasar", "complaint",
           "preman minta uang parkir di pasar", anonymous=True),
    report("tambah-anonim-colon", "TAMBAH ANONIM: petugas samsat minta uang tambahan", "complaint",
           "petugas samsat minta uang tambahan", anonymous=True),
    report("tambah-rahasia", "tambah rahasia kepala desa korupsi dana desa", "complaint",
           "kepala desa korupsi dana desa", confidential=True),
    report("lapor-tambah-anonim", "Lapor tambah anonim jalan rusak dibiarkan setahun", "complaint",
           "jalan rusak dibiarkan setahun", anonymous=True),
    report("tambahkan-anonim", "Tambahkan ANONIM oknum guru minta uang seragam", "complaint",
           "oknum guru minta uang seragam", anonymous=True),
    report("wbs-tambah-anonim-dan-rahasia", "WBS tambah ANONIM dan RAHASIA bendahara desa memalsukan kuitansi",
           "whistleblowing", "bendahara desa memalsukan kuitansi", anonymous=True, confidential=True),
    report("add-anonim-en", "Add ANONIM the officer at the port asked for a bribe", "complaint",
           "the officer at the port asked for a bribe", "en", anonymous=True),
    report("closing-tambah-anonim", "Preman minta uang parkir di terminal, tambah ANONIM", "complaint",
           "Preman minta uang parkir di terminal", anonymous=True),
    follow_up("tambah-anonim-before-the-id", "Tambah ANONIM {parent} saya saksi, pengendara jatuh kemarin",
              "saya saksi, pengendara jatuh kemarin", anonymous=True),
    # help's label "Tambahan" does not collide with "tambah": with an ID after the flag a follow-up, without one the
    # flag is still the citizen's wish
    follow_up("tambahan-anonim-id", "Tambahan ANONIM {parent} saya tetangganya, benar sering ada kecelakaan",
              "saya tetangganya, benar sering ada kecelakaan", anonymous=True),
    report("tambahan-anonim-no-id", "Tambahan ANONIM pungli juga terjadi di loket dua", "complaint",
           "pungli juga terjadi di loket dua", anonymous=True),
    # not before a flag word: the citizen's own
    report("tambah-parah", "tambah parah jalan rusak di depan pasar", "complaint",
           "tambah parah jalan rusak di depan pasar"),
    # the ID in angle brackets, as help shows "<nomor lacak>": read as the ID (only CEK read them)
    follow_up("id-in-angle-brackets", "<{parent}> lubangnya sudah sebesar ban mobil",
              "lubangnya sudah sebesar ban mobil"),
    follow_up("tambahan-id-in-angle-brackets", "Tambahan: <{parent}> sudah ada yang patah kaki",
              "sudah ada yang patah kaki"),
    query("id-in-angle-brackets-alone", "<{parent}>", "status"),
    # Help's sentences copied whole, its own words around the form: read as the form alone. "Cek status: CEK <id>" was
    # a named new report (beside an anonymous report's ID: its reporter's number), "ketik LAPOR ANONIM <isi>" a named
    # report of "ketik LAPOR ANONIM <isi>".
    query("cek-status-label", "Cek status: CEK {parent}", "status"),
    query("status-label-en-help", "Status: CEK <{parent}>", "status"),
    query("acknowledgements-cek-sentence", "Cek status: ketik CEK {parent} kirim ke 1708.", "status"),
    report("ketik-lapor-anonim", "ketik LAPOR ANONIM preman minta uang parkir di pasar", "complaint",
           "preman minta uang parkir di pasar", anonymous=True),
    report("ketik-lapor-kirim-ke-1708", "ketik LAPOR jalan rusak di depan pasar kirim ke 1708.", "complaint",
           "jalan rusak di depan pasar"),
    report("text-report-to-1708-en", "text REPORT the bridge in Desa Sukamaju is broken to 1708", "complaint",
           "the bridge in Desa Sukamaju is broken", "en"),
    report("jenis-label", "Jenis: WBS kepala desa korupsi dana desa", "whistleblowing",
           "kepala desa korupsi dana desa"),
    # help's placeholder marks typed around the text: taken off it
    report("placeholder-marks", "LAPOR <jalan rusak di depan SD 2>", "complaint", "jalan rusak di depan SD 2"),
    follow_up("placeholder-marks-follow-up", "Tambahan: <{parent}> <lubangnya makin dalam>", "lubangnya makin dalam"),
    # the closing without help's verb may be the citizen's ("sudah saya kirim ke 1708"): kept
    report("kirim-ke-1708-without-ketik", "LAPOR lampu jalan mati kirim ke 1708", "complaint",
           "lampu jalan mati kirim ke 1708"),
    # help's header copied before the form: read past as help's other words (a named report of "1708: ketik LAPOR
    # ANONIM ...", the whistleblower's number in the case store)
    report("help-header-ketik-lapor-anonim", "LAPOR! 1708: ketik LAPOR ANONIM kepala sekolah potong dana BOS",
           "complaint", "kepala sekolah potong dana BOS", anonymous=True),
    query("help-header-cek-status", "LAPOR! 1708: Cek status: CEK {parent}", "status"),
    # a status label without its colon, the status answer's "kirim CEK <id> lagi nanti": status queries, not reports
    query("cek-status-without-a-colon", "Cek status CEK {parent}", "status"),
    query("status-retry-sentence", "Silakan kirim CEK {parent} lagi nanti.", "status"),
    # the same before a status question without an ID: answered with how to ask, not filed as a named report
    query("help-header-cek-without-an-id", "LAPOR! CEK laporan saya", "status_help"),
    query("help-header-status-question", "LAPOR! Status laporan saya?", "status_help"),
    query("status-answers-verb-without-an-id", "kirim CEK", "status_help"),
    # "dan", "dengan" opening prose before a flag word: the citizen's words, no flag ("dan rahasia" was taken off and
    # the report marked confidential); before an anonymity word the report is anonymous all the same, words kept
    report("dan-rahasia-prose", "dan rahasia itu dibongkar oleh bendahara desa sendiri", "complaint",
           "dan rahasia itu dibongkar oleh bendahara desa sendiri"),
    report("dengan-anonim-prose", "Dengan anonim, saya melaporkan lurah minta uang pelicin", "complaint",
           "Dengan anonim, saya melaporkan lurah minta uang pelicin", anonymous=True),
    # a status command before the anonymity word and no Tracking ID: a report of the words, anonymous all the same
    report("cek-anonim-prose", "cek anonim kades minta uang bantuan sosial", "complaint",
           "cek anonim kades minta uang bantuan sosial", anonymous=True),
    report("check-tambah-anonim-prose", "CEK tambah ANONIM pungli di samsat", "complaint",
           "CEK tambah ANONIM pungli di samsat", anonymous=True),
    # the anonymity flag mistyped, or glued to the kind word
    report("anonym-typo", "ANONYM petugas parkir minta uang lebih", "complaint", "petugas parkir minta uang lebih",
           anonymous=True),
    report("lapor-underscore-anonim", "LAPOR_ANONIM oknum polisi minta uang damai", "complaint",
           "oknum polisi minta uang damai", anonymous=True),
    report("laporanonim", "LAPORANONIM guru honorer dipotong gajinya", "complaint", "guru honorer dipotong gajinya",
           anonymous=True),
    # joined by "#", as Indonesian SMS services have their fields typed ("REG#...")
    # ("REG#..."); before a word of the citizen's the "#" is theirs, a hashtag kept
    report("anonim-hash", "ANONIM#oknum polisi minta uang damai", "complaint", "#oknum polisi minta uang damai",
           anonymous=True),
    report("lapor-hash-anonim-hash", "LAPOR#ANONIM#guru honorer dipotong gajinya", "complaint",
           "#guru honorer dipotong gajinya", anonymous=True),
    report("wbs-hash", "WBS#kepala desa potong dana bansos", "whistleblowing", "#kepala desa potong dana bansos"),
    report("lapor-hash-hashtag", "LAPOR#SaveKPK pimpinan dilemahkan", "complaint", "#SaveKPK pimpinan dilemahkan"),
    report("rahasia-hash-prose", "Rahasia#Negara bocor ke media asing", "complaint",
           "Rahasia#Negara bocor ke media asing"),
    # a "#" glued to a particle sets it apart before a keyword: the ANONIM after it counts
    report("lapor-min-hash-anonim", "LAPOR min#ANONIM#kades minta uang", "complaint", "#kades minta uang",
           anonymous=True),
    report("lapor-pak-hash-anonim", "Lapor pak#anonim kepala desa minta uang", "complaint",
           "kepala desa minta uang", anonymous=True),
    report("lapor-pak-comma-anonim", "LAPOR pak, ANONIM kades minta uang", "complaint", "kades minta uang",
           anonymous=True),
    # a space spelled out, as the formats read ("ketik LAPOR spasi ANONIM spasi <isi>")
    report("lapor-spasi-anonim", "LAPOR spasi ANONIM spasi camat minta uang pelicin", "complaint",
           "camat minta uang pelicin", anonymous=True),
    # before the citizen's words alone it is theirs
    report("report-space-prose", "REPORT space for wheelchairs is blocked", "complaint",
           "space for wheelchairs is blocked", "en"),
    report("lapor-spasi-prose", "LAPOR spasi antara bangunan terlalu sempit", "complaint",
           "spasi antara bangunan terlalu sempit"),
    # the same words before anything but the form they introduce: the citizen's
    report("ketik-prose", "ketik KTP di kelurahan dipungut biaya", "complaint",
           "ketik KTP di kelurahan dipungut biaya"),
    report("jenis-prose", "jenis informasi yang diminta warga tidak diberikan", "complaint",
           "jenis informasi yang diminta warga tidak diberikan"),
    report("status-label-prose", "Status: laporan saya belum ditindaklanjuti", "complaint",
           "Status: laporan saya belum ditindaklanjuti"),
    # help
    query("bantuan", "BANTUAN", "help"),
    # a help word with our names or a term of address around it, as a greeting may have: filed, each was a case
    query("bantuan-short-code", "BANTUAN 1708", "help"),
    query("help-short-code-en", "HELP 1708", "help", "en"),
    query("help-lapor", "HELP LAPOR", "help"),
    query("menu-short-code", "menu 1708", "help"),
    query("bantuan-min", "Bantuan min", "help"),
    query("tolong-pak", "Tolong pak!", "help"),
    report("bantuan-then-a-report", "bantuan pak, jalan di desa kami rusak", "complaint",
           "bantuan pak, jalan di desa kami rusak"),
    query("help-me-en", "help me", "help", "en"),
    query("hi-there-en", "hi there", "help", "en"),
    query("gimana-caranya", "gimana caranya?", "help"),
    query("bisa-dibantu", "bisa dibantu?", "help"),
    query("mohon-dibantu", "Mohon dibantu ya pak", "help"),
    report("plea-then-a-report", "mohon dibantu, lampu jalan mati sebulan", "complaint",
           "mohon dibantu, lampu jalan mati sebulan"),
    report("help-me-then-a-report", "help me, jalan rusak di depan rumah", "complaint",
           "help me, jalan rusak di depan rumah"),
    # "REG" or "DAFTAR" before our name, as other SMS services are joined (the opt-out's "UNREG" turned round)
    query("reg-lapor", "REG LAPOR", "help"),
    query("reg-alone", "reg", "help"),
    query("reg-spasi-lapor", "REG SPASI LAPOR", "help"),
    query("daftar-short-code", "DAFTAR 1708", "help"),
    report("daftar-prose", "daftar nama penerima bansos tidak sesuai", "complaint",
           "daftar nama penerima bansos tidak sesuai"),
    query("help-en", "help", "help", "en"),
    query("question-mark", "?", "help"),
    query("info-alone", "Info", "help"),
    query("lapor-alone", "LAPOR", "help"),
    query("greeting-and-a-kind-word-alone", "Min, WBS", "help"),  # filed, a case of "Min, WBS"
    # a kind word with a term of address alone, or the address alone: filed, each was a case of "PAK" or "min"
    query("lapor-pak", "LAPOR PAK", "help"),
    query("tanya-min", "Tanya min", "help"),
    query("min-alone", "min", "help"),
    # a wish to ask and nothing asked yet: help shows INFO (filed, a case of "mau tanya")
    query("mau-tanya", "mau tanya", "help"),
    query("boleh-nanya", "Boleh nanya min?", "help"),
    report("mau-tanya-then-a-question", "mau tanya, kapan bansos cair", "complaint", "mau tanya, kapan bansos cair"),
    query("cek-alone", "cek", "status_help"),
    query("cek-fillers-only", "Cek laporan saya", "status_help"),
    # a status question without an ID: how to ask, not a new report under the citizen's number
    query("cek-laporan-kemarin", "CEK laporan kemarin", "status_help"),
    query("cek-lupa-nomornya", "CEK lupa nomornya", "status_help"),
    query("cek-dong", "cek dong", "status_help"),
    query("cek-status-gimana", "cek status laporan saya gimana?", "status_help"),
    query("status-bagaimana", "status laporan saya bagaimana", "status_help"),
    query("gimana-laporan-saya", "gimana laporan saya?", "status_help"),
    query("check-my-report-en", "check my report", "status_help", "en"),
    query("what-is-the-status-en", "what is the status of my report", "status_help", "en"),
    query("anonim-cek-laporan-saya", "ANONIM cek laporan saya", "status_help"),
    query("mohon-info-perkembangan", "mohon info perkembangan laporan saya", "status_help"),
    query("update-laporan-please", "update laporan saya please", "status_help"),
    query("lapor-header-gimana-laporan", "LAPOR! gimana laporan saya?", "status_help"),
    query("lapor-pak-nomor-berapa", "Lapor pak, nomor saya berapa?", "status_help"),
    report("lapor-laporan-belum-ditindaklanjuti", "LAPOR laporan saya belum ditindaklanjuti", "complaint",
           "laporan saya belum ditindaklanjuti"),
    # a status question with its Tracking ID: that report's status, not a new report answered with a new ID
    query("gimana-laporan-id", "gimana laporan {parent}?", "status"),
    query("mohon-dicek-id", "mohon dicek {parent}", "status"),
    query("follow-up-id", "follow up {parent}", "status"),
    query("sudah-belum-id", "Nomor laporan {parent} sudah ditanggapi belum", "status"),
    query("duration-status-question", "Sudah 2 minggu laporan saya belum ada tanggapan?", "status_help"),
    query("can-you-check-en", "can you check my report?", "status_help", "en"),
    report("follow-up-prose", "follow up pungli di kelurahan", "complaint", "follow up pungli di kelurahan"),
    report("duration-complaint", "Sudah 2 minggu jalan rusak belum diperbaiki", "complaint",
           "Sudah 2 minggu jalan rusak belum diperbaiki"),
    query("laporan-id-sampai-mana", "laporan {parent} sudah sampai mana?", "status"),
    query("sudah-ditindaklanjuti-belum-id", "sudah ditindaklanjuti belum laporan {parent}?", "status"),
    # "?!" closes a question as "?" does: filed, the citizen got a new Tracking ID for a question about the old one
    query("sudah-ditindaklanjuti-belum-id-exclaimed", "sudah ditindaklanjuti belum laporan {parent}?!", "status"),
    query("sudah-diproses-belum-exclaimed", "sudah diproses belum laporan saya ??!!", "status_help"),
    query("sudah-diproses-fullwidth-exclaimed", "sudah diproses laporan saya？！", "status_help"),
    query("sudah-diproses-interrobang", "sudah diproses laporan saya‽", "status_help"),
    query("where-is-my-report-id-en", "where is my report {parent}", "status", "en"),
    # a status command asked for with a request word or a term of address before it, or after a greeting: each was a
    # new report answered with a new Tracking ID instead of the status
    query("tolong-cek-id", "tolong cek {parent}", "status"),
    query("mohon-cek-id", "Mohon cek {parent} pak", "status"),
    query("min-cek-id", "Min cek {parent}", "status"),
    query("greeting-cek-laporan-id", "Selamat pagi, cek laporan {parent}", "status"),
    query("greeting-cek-id", "Assalamualaikum, cek {parent}", "status"),
    query("greeting-laporan-saya-gimana", "Halo min, laporan saya gimana?", "status_help"),
    report("tolong-cek-mistyped-id", "tolong cek {bad}", "complaint", "tolong cek {bad}"),
    report("tolong-cek-id-then-a-report", "tolong cek {parent} jalan masih rusak", "complaint",
           "tolong cek {parent} jalan masih rusak"),
    report("greeting-then-a-report", "Selamat malam pak, jalan di depan SD rusak", "complaint",
           "Selamat malam pak, jalan di depan SD rusak"),
    query("id-then-gimana-laporan", "{parent} gimana laporan saya?", "status"),
    # the ID first names the report as "laporan" does, a topic word beside the ID asks without a question word, and
    # "sudah" and "sampai" as they are typed: each was an addition of the question, or a new report
    query("id-then-gimana", "{parent} gimana?", "status"),
    query("id-then-sampai-mana", "{parent} sudah sampai mana", "status"),
    query("perkembangan-laporan-id", "perkembangan laporan {parent}", "status"),
    query("laporan-id-udh-diproses", "Min laporan {parent} udh diproses blm?", "status"),
    query("laporan-sy-sampe-mana", "Min, laporan sy udah sampe mana?", "status_help"),
    query("tlg-cek-laporan-id", "tlg cek laporan {parent}", "status"),
    query("tindak-lanjut-laporan-id", "Bagaimana tindak lanjut laporan {parent}?", "status"),
    query("any-news-en", "Any news on my report?", "status_help", "en"),
    query("kelanjutannya-id", "Pak laporan {parent} gimana kelanjutannya?", "status"),
    query("cek-status-id-thanks", "Min, tolong cek status laporan saya {parent} ya. Terima kasih", "status"),
    query("how-to-check", "bagaimana cara cek status laporan?", "status_help"),
    query("state-asked-alone", "udah ditindaklanjuti belum?", "status_help"),
    follow_up("id-then-a-grievance", "{parent} belum diproses", "belum diproses"),
    report("laporan-id-then-a-report", "laporan {parent} belum ditindaklanjuti, jalan masih rusak parah", "complaint",
           "{parent} belum ditindaklanjuti, jalan masih rusak parah"),
    report("gimana-laporan-mistyped-id", "gimana laporan {bad}?", "complaint", "gimana laporan {bad}?"),
    report("mohon-info-then-a-report", "Mohon info, jalan di depan rumah rusak", "complaint",
           "Mohon info, jalan di depan rumah rusak"),
    report("lapor-update-alone", "LAPOR update", "complaint", "update"),
    report("cek-kondisi-jembatan", "Cek kondisi jembatan di desa kami yang rusak", "complaint",
           "Cek kondisi jembatan di desa kami yang rusak"),
    report("cek-harga-beras", "cek harga beras naik terus", "complaint", "cek harga beras naik terus"),
    report("check-street-light-en", "check the broken street light on Jl. Merdeka", "complaint",
           "check the broken street light on Jl. Merdeka", "en"),
    query("bantuan-question-mark", "Bantuan?", "help"),
    query("angry-faces-alone", "😡😡😡", "help"),
    query("help-question-mark-en", "HELP?", "help", "en"),
    # the grammar's English keywords alone, or before words that carry no marker of either language: answered in English
    query("track-en", "TRACK {parent}", "status", "en"),
    query("question-alone-en", "QUESTION", "help", "en"),
    query("suggestion-alone-en", "Suggestion", "help", "en"),
    report("question-en", "QUESTION: bus schedule to Bogor?", "information_request", "bus schedule to Bogor?", "en"),
    report("anonymous-en", "ANONYMOUS officer took a bribe", "complaint", "officer took a bribe", "en",
           anonymous=True),
    report("secret-en", "SECRET officer took money", "complaint", "officer took money", "en", confidential=True),
    query("info-question-mark", "Info?", "help"),
    # courtesies: the citizen's thanks after an acknowledgement, neither filed nor answered
    courtesy("terima-kasih", "Terima kasih"),
    courtesy("makasih-banyak", "makasih banyak pak!"),
    courtesy("ok-emoji", "Ok 👍"),
    courtesy("oke", "oke"),
    courtesy("siap-lapor", "Siap, terima kasih LAPOR!"),
    courtesy("thanks-en", "thanks"),
    courtesy("tq", "tq"),
    courtesy("trims-elongated", "trimsss 🙏🙏"),
    courtesy("thumbs-up-alone", "👍"),
    # laughter, and a message sent to us by mistake: each was filed as a report of its words and acknowledged
    courtesy("laughter-wkwkwk", "wkwkwk"),
    courtesy("laughter-wkwk", "wkwk"),
    courtesy("laughter-hahaha", "hahaha"),
    courtesy("laughter-elongated", "wkwkwkk 🤣"),
    courtesy("maaf-salah-kirim", "Maaf salah kirim"),
    courtesy("salah-kirim-pak", "maaf salah kirim pak 🙏"),
    courtesy("sorry-wrong-number-en", "sorry wrong number"),
    report("laughter-and-a-report", "wkwk jalan rusak lagi", "complaint", "wkwk jalan rusak lagi"),
    report("salah-kirim-and-a-report", "Maaf salah kirim tadi, jalan di RT 3 rusak", "complaint",
           "Maaf salah kirim tadi, jalan di RT 3 rusak"),
    courtesy("short-code-twice-is-no-tracking-id", "1708 1708 alhamdulilah"),
    # thanks in a regional language, "amin", a wait for the answer: each was a case at an agency
    courtesy("matur-nuwun", "Matur nuwun pak"),
    courtesy("aamiin", "Aamiin 🙏"),
    courtesy("siap-ditunggu", "siap, ditunggu"),
    courtesy("noted-with-thanks-en", "Noted with thanks"),
    report("thanks-but", "terima kasih, tapi jalan masih rusak", "complaint", "terima kasih, tapi jalan masih rusak"),
    report("lapor-thanks-and-more", "Lapor: terima kasih, lampu di gang 5 juga mati", "complaint",
           "terima kasih, lampu di gang 5 juga mati"),
    follow_up("follow-up-thanks", "{parent} terima kasih", "terima kasih"),
    # an ID asked about with a question mark, named with words, or put in brackets (help shows "CEK <nomor lacak>")
    query("bare-id-question-mark", "{parent}?", "status"),
    query("bare-id-spaced-question-marks", "{parent} ??", "status"),
    query("id-named-nomor-lacak", "Nomor lacak: {parent}", "status"),
    query("id-named-laporan", "laporan {parent}", "status"),
    query("cek-id-in-brackets", "CEK ({parent})", "status"),
    query("cek-id-in-angle-brackets", "cek <{parent}>", "status"),
    # our short code typed first, as if it were the address
    query("short-code-cek", "1708 CEK {parent}", "status"),
    query("short-code-id", "1708 {parent}", "status"),
    query("short-code-alone", "1708", "help"),
    query("short-code-bantuan", "1708 bantuan", "help"),
    report("short-code-anonim", "1708 ANONIM preman minta uang parkir di pasar", "complaint",
           "preman minta uang parkir di pasar", anonymous=True),
    report("short-code-wbs", "1708: WBS kepala desa minta potongan BLT", "whistleblowing",
           "kepala desa minta potongan BLT"),
    report("short-code-then-prose", "1708 jalan di desa kami rusak", "complaint", "1708 jalan di desa kami rusak"),
    # our own answer sent back (forwarded, or copied): it points at its report
    query("forwarded-ack", "Fwd: " + render("ack", "id", tracking_id="{parent}"), "status"),
    query("forwarded-ack-en", render("ack", "en", tracking_id="{parent}"), "status", "en"),
    query("forwarded-anonymous-ack", "Fwd: " + render("ack_anonymous", "id", tracking_id="{parent}"), "status"),
    query("forwarded-anonymous-ack-en", render("ack_anonymous", "en", tracking_id="{parent}"), "status", "en"),
    query("forwarded-duplicate", "Fwd: " + render("duplicate", "id", tracking_id="{parent}"), "status"),
    query("forwarded-anonymous-duplicate", render("duplicate_anonymous", "id", tracking_id="{parent}"), "status"),
    query("forwarded-anonymous-duplicate-en", render("duplicate_anonymous", "en", tracking_id="{parent}"), "status",
          "en"),
    follow_up("forwarded-ack-and-words",
              render("ack", "id", tracking_id="{parent}") + "\nsudah 2 minggu belum ada tindakan",
              "sudah 2 minggu belum ada tindakan"),
    # our answers that name no report, sent back whole: the same answer, no case (each was filed as a report of our
    # own words under the citizen's number, and acknowledged)
    query("forwarded-help", "Fwd: " + render("help", "id"), "help"),
    query("copied-help-en", render("help", "en"), "help", "en"),
    # help's texts of two SMS parts, before it was cut to one, still on citizens' phones
    query("forwarded-former-help", "Fwd: " + HELP_IN_TWO_PARTS["id"], "help"),
    query("copied-former-help-en", HELP_IN_TWO_PARTS["en"], "help", "en"),
    query("forwarded-status-help", "Fwd: " + render("status_help", "id"), "status_help"),
    query("copied-status-help-en", render("status_help", "en"), "status_help", "en"),
    query("forwarded-bad-tracking-id", "Fwd: " + render("bad_tracking_id", "id", tracking_id="{bad}"),
          "bad_tracking_id"),
    query("copied-bad-tracking-id-en", render("bad_tracking_id", "en", tracking_id="{bad}"), "bad_tracking_id", "en"),
    # a greeting alone: the usage text, no case
    query("greeting-halo-min", "Halo min", "help"),
    query("greeting-p", "P", "help"),
    query("greeting-salam", "Assalamualaikum wr wb", "help"),
    query("greeting-tes", "tes", "help"),
    # "coba" (a test, as "tes" is), and a phone number alone: each was filed as a report of its words
    query("coba", "coba", "help"),
    query("coba-min", "Coba min", "help"),
    query("nyoba", "nyoba", "help"),
    query("phone-number-alone", "081234567890", "help"),
    query("phone-number-with-plus-in-groups", "+62 812-3456-7890", "help"),
    query("phone-number-without-plus", "6281234567890", "help"),
    query("phone-number-after-our-short-code", "1708 081234567890", "help"),
    report("phone-number-and-words", "081234567890 jalan rusak depan rumah", "complaint",
           "081234567890 jalan rusak depan rumah"),
    query("greeting-selamat-pagi", "Selamat pagi pak", "help"),
    report("greeting-and-a-report", "Halo min, lampu jalan di gang 3 mati", "complaint",
           "Halo min, lampu jalan di gang 3 mati"),
    # an opt-out word alone: nothing to file, and no SMS to someone who asked for none
    opt_out("stop", "STOP"),
    opt_out("stop-lowercase-exclaimed", "stop!"),
    opt_out("unreg", "UNREG"),
    opt_out("unreg-short-code", "UNREG 1708"),
    opt_out("berhenti", "Berhenti"),
    opt_out("batal-langganan", "batal langganan"),
    opt_out("unsubscribe-en", "Unsubscribe"),
    opt_out("jangan-kirim-sms-lagi", "Jangan kirim SMS lagi"),
    report("stop-and-a-report", "STOP pungli di jembatan timbang", "complaint", "STOP pungli di jembatan timbang"),
    report("berhenti-and-a-report", "berhenti bayar pungli di pasar", "complaint", "berhenti bayar pungli di pasar"),
    follow_up("follow-up-stop", "{parent} stop", "stop"),
    # an opt-in word alone: nothing to file, and nothing to answer
    opt_in("start", "START"),
    opt_in("unstop", "unstop"),
    opt_in("yes", "Yes"),
    opt_in("start-short-code", "START 1708"),
    report("start-and-a-report", "start pungli lagi di pasar", "complaint", "start pungli lagi di pasar"),
    # emoji typed before a command or a flag
    query("emoji-then-cek", "🙏 CEK {parent}", "status"),
    report("emoji-then-anonim", "🙏🙏 ANONIM kepala desa potong dana BLT", "complaint", "kepala desa potong dana BLT",
           anonymous=True),
    report("short-code-emoji-then-anonim", "1708 🙏 ANONIM lurah minta uang pelicin", "complaint",
           "lurah minta uang pelicin", anonymous=True),
    report("kind-emoji-then-rahasia", "LAPOR 🙏 RAHASIA camat terima suap", "complaint", "camat terima suap",
           confidential=True),
    query("short-code-emoji-then-cek", "1708 🙏 CEK {parent}", "status"),
    query("cek-then-emoji", "CEK 🙏 {parent}", "status"),
    query("cek-glued-emoji", "CEK🙏{parent}", "status"),
    query("track-then-emoji", "TRACK 🙏 {parent}", "status", "en"),
    report("short-code-glued-emoji-anonim", "1708🙏ANONIM lurah minta uang pelicin", "complaint",
           "lurah minta uang pelicin", anonymous=True),
    report("kind-glued-emoji-rahasia", "LAPOR🙏RAHASIA camat terima suap", "complaint", "camat terima suap",
           confidential=True),
    # flag words after a number typed in words or spaced apart, the text as typed (each went named)
    report("year-anonim", "LAPOR 2025 ANONIM pungli di pasar", "complaint", "2025 ANONIM pungli di pasar",
           anonymous=True),
    report("day-month-rahasia", "17 Agustus RAHASIA kepala desa minta setoran", "complaint",
           "17 Agustus RAHASIA kepala desa minta setoran", confidential=True),
    report("currency-amount-anonim", "LAPOR Rp 15.000.000 ANONIM diminta kepala desa", "complaint",
           "Rp 15.000.000 ANONIM diminta kepala desa", anonymous=True),
    report("year-then-prose", "LAPOR 2025 nomor anonim meneror saya", "complaint", "2025 nomor anonim meneror saya"),
    # a short group before an amount or an ID, a date typed with spaces: no Tracking ID ("not valid", or added to
    # the report 17082025), a report of the text
    report("short-code-year-amount", "1708 2025 15.000.000 diminta petugas", "complaint",
           "1708 2025 15.000.000 diminta petugas"),
    report("short-code-short-group-id", "1708 17 12345671 foto", "complaint", "1708 17 12345671 foto"),
    report("date-with-spaces", "17 08 2025 jalan masih rusak", "complaint", "17 08 2025 jalan masih rusak"),
    # a longer number is no short code, the text as typed; the flag word after it read as after any number
    report("longer-number-glued-emoji", "17080🙏ANONIM pungli", "complaint", "17080🙏ANONIM pungli",
           anonymous=True),
    # an SMS template's pipe after a secrecy word or "tanpa nama" opening the text, as a colon after it: the flag read,
    # the text as typed
    report("rahasia-pipe", "RAHASIA|pungli di kantor kelurahan", "complaint", "RAHASIA|pungli di kantor kelurahan",
           confidential=True),
    report("tanpa-nama-pipe", "TANPA NAMA|pungli di kantor kelurahan", "complaint",
           "TANPA NAMA|pungli di kantor kelurahan", anonymous=True),
    # the dotted capital "İ" some keyboards and autocorrect write for "I"
    report("anonim-dotted-capital-i", "ANONİM lurah minta uang pelicin", "complaint", "lurah minta uang pelicin",
           anonymous=True),
    report("rahasia-dotted-capital-i", "RAHASİA: camat terima suap", "complaint", "camat terima suap",
           confidential=True),
]

# Digits as other keyboards type them: fullwidth (Chinese and Japanese phones), Arabic-Indic.
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

# The forms a number arrives in from operators and aggregators; all are +62 812 xxxx xxxx.
SENDER_FORMS = ("0812{local}", "62812{local}", "+62 812-{local}", "+62812{local}", "(0812) {local}")


def sender(index: int) -> tuple[str, str]:
    local = f"{55500000 + index}"
    return SENDER_FORMS[index % len(SENDER_FORMS)].format(local=local), f"+62812{local}"


def bad_check_digit(tracking_id: str) -> str:
    body = tracking_id[:-1]
    wrong = next(d for d in "0123456789" if d != tracking_id[-1])
    assert damm_digit(body + wrong) != 0
    return body + wrong


@pytest.fixture
def settings(test_env: Environment) -> Settings:
    # A status answer inline however loaded the machine: a lookup past 1.5 s sent "the answer follows" first, and the
    # rows read the grammar, not that race.
    return aggregator_settings(test_env, LAPOR_AGGREGATOR_STATUS_INLINE_TIMEOUT_SECONDS="30")


@pytest.fixture
def api() -> Iterator[AggregatorApi]:
    yield from aggregator_api()


def test_the_table_is_big_enough() -> None:
    assert len(ROWS) >= 40
    assert len({row.id for row in ROWS}) == len(ROWS)


async def test_every_message_form_gets_the_right_report_and_reply(
    gateway: GatewayServer, casestore: CaseStoreServer, api: AggregatorApi, settings: Settings
) -> None:
    parent_response = await post_callback(gateway.client, {
        "from": "081399990000", "to": "1708", "id": "table-parent", "coding": "0",
        "text": "LAPOR jalan berlubang besar di Jl. Pemuda depan pasar",
    })
    parent = parent_response.json()["messages"][0]["tracking_id"]
    drain(settings)
    casestore.store.set_status(parent, "in_progress")
    fields = {"parent": parent, "bad": bad_check_digit(parent), "parent_spaced": f"{parent[:4]} {parent[4:]}",
              "parent_en_dash": f"{parent[:4]}\u2013{parent[4:]}",
              "parent_check_apart": f"{parent[:-1]} {parent[-1]}", "never": format_tracking_id(7_777_777),
              "parent_thousands": f"{int(parent):,}", "parent_letter_o": parent.replace("0", "O"),
              "parent_letter_l": parent.replace("1", "l"), "parent_capital_i": parent.replace("1", "I"),
              # an amount whose check digit holds (read as an ID, its words went to that report), and one whose
              # digit typed apart would make one
              "amount": "15000005", "amount_check_apart": "1500000 5",
              # a valid ID that is a round number, never minted here ("cek 13000000 untuk apa" is an amount's)
              "round": "13000000"}
    assert "O" in fields["parent_letter_o"], parent  # the row reads a letter O, not the ID as it is
    fields["bad_letter_o"] = fields["bad"].replace("0", "O")
    assert "O" in fields["bad_letter_o"], parent
    assert "l" in fields["parent_letter_l"] and "I" in fields["parent_capital_i"], parent
    assert damm_digit(parent[:-1]) != 0, parent  # the digits before the one typed apart are no ID of their own
    fields |= {"parent_fullwidth": parent.translate(FULLWIDTH), "bad_fullwidth": fields["bad"].translate(FULLWIDTH),
               "parent_arabic_indic": parent.translate(ARABIC_INDIC)}

    numbers = {}
    for index, row in enumerate(ROWS):
        raw_number, numbers[row.id] = sender(index)
        text = row.text.format(**fields)
        # A text outside GSM-7 (emoji, fullwidth digits) comes as the phone sent it: UCS-2, hex-encoded.
        coded = {"coding": "0", "text": text} if is_gsm7(text) else {
            "coding": "2", "text": text.encode("utf-16-be").hex().upper()}
        response = await post_callback(gateway.client, {
            "from": raw_number, "to": "1708", "id": f"table-{row.id}", "ts": "1763800000", **coded,
        })
        assert response.status_code == 200, (row.id, response.text)
    drain(settings)

    by_message_id = {r["channel_message_id"]: r for r in casestore.reports()}
    texts = api.texts_by_number()
    problems = []
    for row in ROWS:
        # An anonymous report reaches the case store under an opaque stand-in for the provider's id.
        stored = by_message_id.get(f"table-{row.id}") or by_message_id.get(
            opaque_message_id(settings.privacy.reply_handle_secret, "sms", f"table-{row.id}"))
        problems.extend(_check_report(row, stored, parent, numbers[row.id], fields))
        expected_replies = [] if row.reply is None else [_expected_reply(row, stored, parent, fields)]
        replies = texts.get(numbers[row.id], [])
        if replies != expected_replies:
            problems.append(f"{row.id}: replies {replies!r} != {expected_replies!r}")
    assert not problems, "\n".join(problems)

    follow_ups = casestore.get(parent)["follow_ups"]
    assert sorted(f["text"] for f in follow_ups) == sorted(r.body for r in ROWS if r.reply in FOLLOW_UPS)
    _check_every_part_is_gsm7_and_sized(api)


def _check_report(row: Row, stored: dict | None, parent: str, number: str, fields: dict[str, str]) -> list[str]:
    if row.kind is None:
        return [f"{row.id}: a query made a report"] if stored is not None else []
    if stored is None:
        return [f"{row.id}: no report in the case store"]
    body = row.body.format(**fields) if row.body is not None else None
    expected = {"kind": row.kind, "anonymous": row.anonymous, "confidential": row.confidential, "text": body,
                "language": row.language, "follow_up_of": parent if row.reply in FOLLOW_UPS else None}
    actual = {key: stored[key] for key in expected}
    problems = [f"{row.id}: {actual} != {expected}"] if actual != expected else []
    sender_id = stored["sender"]["id"]
    if row.anonymous and (stored["sender"]["kind"] != "reply_handle" or number[1:] in str(stored)):
        problems.append(f"{row.id}: anonymous report carries the sender")
    if not row.anonymous and sender_id != number:
        problems.append(f"{row.id}: sender {sender_id} != {number}")
    return problems


def _expected_reply(row: Row, stored: dict | None, parent: str, fields: dict[str, str]) -> str:
    assert row.reply is not None, row.id
    if row.reply == "ack":
        assert stored is not None, row.id
        # An anonymous or confidential report's says so: the citizen learns their ANONIM or RAHASIA was read.
        return render(acknowledgement(row.anonymous, row.confidential), row.language,
                      tracking_id=stored["tracking_id"])
    if row.reply == "follow_up":  # its own ANONIM or RAHASIA named, as the acknowledgement's (its report is named)
        return render(flagged("follow_up", anonymous=row.anonymous, confidential=row.confidential), row.language,
                      follow_up_of=parent)
    if row.reply == "follow_up_status":
        return render(flagged("follow_up_status", anonymous=row.anonymous, confidential=row.confidential),
                      row.language, follow_up_of=parent, status=status_name("in_progress", row.language))
    if row.reply == "bad_tracking_id_amount":
        return render("bad_tracking_id", row.language, tracking_id=fields["amount_check_apart"].split()[0])
    if row.reply == "follow_up_unknown":
        assert stored is not None, row.id
        # filed anonymous, it says so, as an ANONIM report's acknowledgement does
        return render("follow_up_unknown_anonymous" if row.anonymous else "follow_up_unknown", row.language,
                      follow_up_of=row.body.format(**fields).split()[0], tracking_id=stored["tracking_id"])
    if row.reply == "status":
        return render("status", row.language, tracking_id=parent, status=status_name("in_progress", row.language))
    if row.reply == "bad_tracking_id":
        return render("bad_tracking_id", row.language, tracking_id=fields["bad"])
    if row.reply == "status_unknown":
        return render("status_unknown", row.language,
                      tracking_id=fields["round"] if "{round}" in row.text else fields["never"])
    return render(row.reply, row.language)


def _check_every_part_is_gsm7_and_sized(api: AggregatorApi) -> None:
    for parts in api.replies().values():
        for part in parts:
            assert is_gsm7(part.text), part.text
        if len(parts) == 1:
            assert septets(parts[0].text) <= SINGLE_PART and parts[0].udh is None
        else:
            assert all(septets(p.text) <= MULTI_PART for p in parts)
            assert [p.udh[-2:] for p in parts if p.udh] == [bytes([len(parts), n]) for n in range(1, len(parts) + 1)]
