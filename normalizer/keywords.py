"""The keyword grammar: what a citizen typed at the start of a message, and what it asks for.

The tables live in `config/keywords.toml`. Parsing is a pure function of the text and the grammar, so each
rule has its own table of test cases.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import string
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import phonenumbers

from gateway.replies import load_replies, reply_templates
from gateway.settings import CONFIG_DIR
from gateway.tracking import MIN_LENGTH, is_valid_tracking_id, looks_like_tracking_id, normalize_tracking_id
from normalizer.envelope import ReportKind
from normalizer.text import DASHES, HASH, fold_word, phrase_pattern, with_compatibility_forms


class Action(StrEnum):
    REPORT = "report"
    FOLLOW_UP = "follow_up"
    STATUS = "status"
    HELP = "help"
    # A status question without a Tracking ID ("CEK", "CEK laporan kemarin", "gimana laporan saya?"): answered with
    # how to ask and where the ID is (`[status_questions]`).
    STATUS_HELP = "status_help"
    BAD_TRACKING_ID = "bad_tracking_id"
    # Only thanks or an "ok" ("Terima kasih", "Ok 👍"): neither filed nor answered.
    COURTESY = "courtesy"
    # Only an opt-out word ("STOP", "UNREG", "Berhenti"): neither filed nor answered, as a courtesy.
    OPT_OUT = "opt_out"
    # Only an opt-in word ("START", "UNSTOP", "YES"): neither filed nor answered, as an opt-out.
    OPT_IN = "opt_in"


@dataclass(frozen=True, slots=True)
class WordTable:
    """A table of short messages made only of its words (`[courtesy]`, `[greeting]`, `[opt_out]`, `[opt_in]`), its
    words squeezed (`_squeeze`). Phrases are word tuples, matched longest first."""

    phrases: frozenset[tuple[str, ...]] = frozenset()
    fillers: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    emoji: frozenset[str] = frozenset()
    longest_phrase: int = 0
    # Every word a message of the table may hold (the phrases' words, fillers, names): one with any other is none.
    vocabulary: frozenset[str] = frozenset()


class Introduces(StrEnum):
    """What one of help's instruction words (`[instructions]`) is read past before."""

    FORM = "form"  # any form help teaches: a kind or flag word, a command, a Tracking ID ("ketik ...")
    QUERY = "query"  # a status query ("Cek status: CEK <id>", "Silakan kirim CEK <id> lagi nanti")
    KIND = "kind"  # a kind word ("Jenis: WBS <isi>")
    # Our answers' name ("LAPOR! 1708: ketik ..."): any form after our short code or another instruction, a status
    # query right after it.
    HEADER = "header"


@dataclass(frozen=True, slots=True)
class Instruction:
    """One of help's instruction words or phrases (`[instructions]`), folded: a verb ("ketik") or a status label ("cek
    status") is read with a space after it (a status label with a space only before a status command: `_introduces`),
    a kind label ("jenis") only with the punctuation help puts after it ("Jenis:")."""

    words: tuple[str, ...]
    introduces: Introduces


@dataclass(frozen=True, slots=True)
class Grammar:
    kinds: dict[str, ReportKind]
    flags: dict[str, str]
    status_words: frozenset[str]
    help_words: frozenset[str]
    english_markers: frozenset[str]
    indonesian_markers: frozenset[str]
    # Words that spell a space in help's instructions ("ketik REG spasi LAPOR"), typed as they read: `[commands]
    # spelled_spaces`, folded.
    spelled_spaces: frozenset[str] = frozenset()
    # What may follow a help word besides our names and fillers, the spelled spaces and the one to be helped
    # (`[commands] help_objects`: "help me", "tolong saya"), folded.
    help_followers: frozenset[str] = frozenset()
    # `english_markers` and the words of our English answers (`copied_english_markers`): a copy of help's instruction.
    copied_english_markers: frozenset[str] = frozenset()
    # Words read with a flag word directly after them as part of the flag ("Tambah ANONIM ...", `[flag_openers]`),
    # and those read so only right after a kind or flag word ("ANONIM dan RAHASIA"; `after_keywords`).
    flag_openers: frozenset[str] = frozenset()
    flag_openers_after_keywords: frozenset[str] = frozenset()
    # Words that negate a flag word right after them (`[flag_negations]`: "bukan rahasia"): prose, not a request.
    flag_negations: frozenset[str] = frozenset()
    # (a flag, a word that makes a noun of the citizen's with its word opening the text, a space between):
    # `[flag_compounds]`, "Rahasia negara ...": the flag is set, the word stays.
    flag_compounds: frozenset[tuple[str, str]] = frozenset()
    # Particles said with the leading flag or kind words (`[flag_particles]`: "Rahasia ya. ..."), folded.
    flag_particles: frozenset[str] = frozenset()
    # The most letters one of them holds: how far back `_negation_start` looks for one, whatever the text.
    flag_negation_letters: int = 0
    # Words after which one of them asks or fears ("bisa gak rahasia", "takut kalau tidak rahasia"), and the most
    # letters one of them holds.
    flag_negations_asked_after: frozenset[str] = frozenset()
    flag_negations_asked_after_letters: int = 0
    # What a citizen adds after a flag word closing the text ("..., rahasia, bukan untuk umum"; `after_flags`), each
    # phrase's folded words, and the most words one holds.
    flag_clarifications: frozenset[tuple[str, ...]] = frozenset()
    flag_clarification_words: int = 0
    # The words a tail `_take_trailing_flags` reads past may end with (thanks, a plea, a clarification), folded: a
    # text ending with another word has none of them, and its tail words are not read.
    tail_last_words: frozenset[str] = frozenset()
    # Anonymity asked in words (`[flags_in_words]`), each phrase folded and padded (" identitas saya dirahasiakan "),
    # under its first word: only the phrases a word of the text opens are looked for in it.
    anonymity_phrases: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # Those only read after a request word, right before or inside them (`anonymous_when_asked`: "mohon nama saya
    # tidak disebutkan"), under their first word: each the phrase once per word of it marked as asked (`_ASKED`).
    anonymity_asked_phrases: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # The words each padded phrase of these four tables holds (its asked mark taken off): a text lacking one of them
    # holds none of the phrase, which `_asks_in_a_phrase` then does not look for.
    phrase_words: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    # A form's name line filled with the wish (`anonymous_name_lines`: "Nama: Anonim"), each phrase's folded words:
    # read only opening the text, a line or a clause (`_fills_a_name_line`).
    anonymity_name_lines: tuple[tuple[str, ...], ...] = ()
    # Their first words: a text holding none of them fills none of the lines.
    anonymity_name_line_openers: frozenset[str] = frozenset()
    # A form's name line left blank or filled with a dash, its own line (`anonymous_blank_name_labels` and
    # `_values`: "Nama: -"), case-insensitive; None: no such labels.
    blank_name_line: re.Pattern[str] | None = None
    # Request words read as absent inside those phrases ("identitas saya mohon dirahasiakan"). Folded.
    anonymity_phrase_fillers: frozenset[str] = frozenset()
    # Words as an SMS shortens them ("sy", "jgn"), each mapped to the word in full those phrases hold. Folded.
    anonymity_abbreviations: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Two words an SMS splits ("di rahasiakan", "di publish"), under the first, then the second: the word in full.
    anonymity_split_abbreviations: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    # Confidentiality asked in words naming the report (`[flags_in_words] confidential`: "laporan ini mohon
    # dirahasiakan"), and those only read after a request word (`confidential_when_asked`): as the anonymity phrases.
    confidentiality_phrases: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    confidentiality_asked_phrases: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # The words that, right before one of those phrases, ask the opposite (`confidential_negations`: "jangan
    # rahasiakan laporan ini"), each folded, its words joined by spaces, a space before it.
    confidentiality_negations: tuple[str, ...] = ()
    # Confidentiality asked of no object, read only as a clause of its own (`confidential_requests`: "jangan
    # dipublikasikan ya min"; `confidential_requests_when_asked` only after a request word: "Mohon dirahasiakan ya
    # pak"), each the phrase's folded words; the words that may open such a clause (request words, `request_openers`,
    # `request_hedges`, terms of address, our names), those of them that ask, and those that may close it
    # (`request_tails`, the courtesy's fillers and words, terms of address, our names).
    confidentiality_requests: tuple[tuple[str, ...], ...] = ()
    confidentiality_requests_when_asked: tuple[tuple[str, ...], ...] = ()
    # The last words of those phrases: a text with none of them (most reports) holds none of the phrases.
    confidentiality_request_ends: frozenset[str] = frozenset()
    # Anonymity asked of no object, read only as a clause of its own, as those are (`anonymous_requests`: "Jangan
    # sebut nama ya pak.", "Saya takut."), each the phrase's folded words, and their last words.
    anonymity_requests: tuple[tuple[str, ...], ...] = ()
    anonymity_request_ends: frozenset[str] = frozenset()
    request_openers: frozenset[str] = frozenset()
    request_askers: frozenset[str] = frozenset()
    request_tails: frozenset[str] = frozenset()
    # A clause that only states the report is secret (`confidential_statements`, `statement_subjects`,
    # `statement_links`: "Laporan ini rahasia.", "This is confidential."): the words that may close it before its
    # tails, the subjects' folded words (longest first), and the words that may stand between. Folded.
    confidentiality_statements: frozenset[str] = frozenset()
    confidentiality_statement_subjects: tuple[tuple[str, ...], ...] = ()
    confidentiality_statement_links: frozenset[str] = frozenset()
    # The report named after the statement's word, its last word but the tails (`statement_nouns`: "This is an
    # anonymous report."). Folded.
    statement_nouns: frozenset[str] = frozenset()
    # A clause that only states the report is anonymous ("Laporan ini anonim.", "This is anonymous."): the words that
    # may stand between its subject (`statement_subjects`) and an anonymity word (`anonymity_words`), the
    # confidentiality statement's and `anonymous_statement_links` ("Laporan ini dikirim secara anonim"). Folded.
    anonymity_statement_links: frozenset[str] = frozenset()
    # Two statement words joined state both (`statement_joins`: "Laporan ini rahasia dan anonim."): the words that
    # may join them (a plain space may too). Either statement's links may stand before them: those of the anonymity
    # statement, which hold the confidentiality statement's. Folded.
    statement_joins: frozenset[str] = frozenset()
    # The reporter's identity stated secret (`identity_statement_subjects`: "Identitas saya rahasia.", "My name is
    # confidential."): the subjects' folded words (longest first), and the words such a clause closes with
    # (`confidential_statements` and `identity_statements`), folded.
    identity_statement_subjects: tuple[tuple[str, ...], ...] = ()
    identity_statements: frozenset[str] = frozenset()
    # The words that say such a clause is someone else's, closing the clause before it or opening the one after it
    # (`said_before`, `said_after`), each phrase's folded words.
    said_before: tuple[tuple[str, ...], ...] = ()
    said_after: tuple[tuple[str, ...], ...] = ()
    # The words of a mail's confidentiality notice (`disclaimer_markers`): no request after them is the citizen's.
    disclaimer_markers: tuple[tuple[str, ...], ...] = ()
    # Anonymity wished in a sentence of the citizen's own (`[flags_in_words]`: "Saya ingin melapor secara anonim"):
    # the anonymity words, the words of someone asking, the words that may stand between, and how many words back
    # the run before an anonymity word is read. Folded.
    anonymity_words: frozenset[str] = frozenset()
    request_words: frozenset[str] = frozenset()
    request_links: frozenset[str] = frozenset()
    request_reach: int = 0
    # A plea for protection in an aside opening the text after a flag word ("(anonim, saya takut) ..."): the words
    # one of which it holds (a fear, a request, a courtesy's "ya pak"), and every word it may hold besides the flag
    # words. Folded.
    plea_asks: frozenset[str] = frozenset()
    plea_vocabulary: frozenset[str] = frozenset()
    # The fears of a plea (`plea_words` alone: "takut", "diancam"): one of them in the words closing a text after a
    # flag word ("..., anonim karena saya takut dipecat") makes them a plea, read past as thanks are.
    plea_fears: frozenset[str] = frozenset()
    status_fillers: frozenset[str] = frozenset()
    # A status question without a Tracking ID (`[status_questions]`): its topic and question words, folded, and every
    # word it may hold (those, its fillers, the status commands and their fillers, the flag words).
    status_question_topics: frozenset[str] = frozenset()
    status_question_asks: frozenset[str] = frozenset()
    status_question_vocabulary: frozenset[str] = frozenset()
    # Words of what became of a report ("ditindaklanjuti", "diproses"), read as the question's only when a "?" closes
    # it ("sudah ditindaklanjuti belum laporan saya?"): without it they state a grievance ("laporan saya belum
    # ditindaklanjuti"), which stays the report it was. Folded.
    status_question_states: frozenset[str] = frozenset()
    status_question_max_words: int = 0
    # (filler, the word it must stand before): a filler read so only there (`[status_questions] fillers_only_before`:
    # "smp" is "sampai" before "mana", elsewhere the school). Folded.
    status_question_fillers_before: frozenset[tuple[str, str]] = frozenset()
    # Its fillers (the first word of each pair).
    status_question_fillers: frozenset[str] = frozenset()
    # Words (and pairs of words) that ask a report checked as a status command does, not opening the text ("mohon
    # dicek <id>", "follow up <id>"): with the ID they name the report asked about (`[status_questions] checks`).
    status_question_checks: frozenset[str] = frozenset()
    status_question_check_pairs: frozenset[tuple[str, str]] = frozenset()
    # A closing word that makes a question of "sudah ... belum" without a "?" ("sudah ditanggapi belum"), the words
    # that must come before it (`closings`, `closings_after`). Folded.
    status_question_closings: frozenset[str] = frozenset()
    status_question_closings_after: frozenset[str] = frozenset()
    # Units of time a number before them counts ("Sudah 2 minggu laporan saya belum ada tanggapan?"): the number a
    # duration, no Tracking ID (`durations`). Folded.
    status_question_durations: frozenset[str] = frozenset()
    # Words that make a status question without an ID in a report's thread a grievance, filed as its addition
    # (`thread_grievances`). Folded.
    status_question_thread_grievances: frozenset[str] = frozenset()
    # After a status command and a valid Tracking ID only (`[status_questions.after_id]`): the topic, question, filler
    # and state words added there to those above (unions, folded), the (filler, next word) pairs, and the words that
    # make a question or a request of a state (`asking`). A word typed with a letter over and over is read squeezed
    # (`after_id_squeezed`: each word of those tables by its squeezed form).
    after_id_topics: frozenset[str] = frozenset()
    after_id_asks: frozenset[str] = frozenset()
    after_id_vocabulary: frozenset[str] = frozenset()
    after_id_states: frozenset[str] = frozenset()
    after_id_fillers_before: frozenset[tuple[str, str]] = frozenset()
    after_id_asking: frozenset[str] = frozenset()
    after_id_squeezed: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Kind words that name the kind right after the generic "LAPOR" (`[second_kinds]`: "LAPOR! WBS ...").
    second_kinds: frozenset[str] = frozenset()
    courtesy: WordTable = WordTable()
    # Thanks for what became of the report ("Terima kasih, laporan saya sudah ditindaklanjuti"; `[courtesy] done`):
    # the courtesy's phrases with the status questions' topics and fillers and these words around them, and the words
    # that must stand among them, a word of done and a state, squeezed.
    thanks_for_done: WordTable = WordTable()
    done_words: frozenset[str] = frozenset()
    done_states: frozenset[str] = frozenset()
    # Words that call the account's admin before a keyword ("Min, lapor ..."; `[courtesy] calls`), folded.
    calls: frozenset[str] = frozenset()
    # A courtesy's words that wait for our answer (`[courtesy] awaiting`), folded: under a quoted post, a report.
    awaiting: frozenset[str] = frozenset()
    # A greeting and nothing more ("Halo", "P", "tes"): answered with help. Same shape as `courtesy`, no emoji.
    greeting: WordTable = WordTable()
    # The words of its phrases alone ("halo", "selamat", "pagi"), squeezed: what may open a message before a command.
    greeting_words: frozenset[str] = frozenset()
    # An opt-out word and nothing more ("STOP", "UNREG 1708"): left unfiled and unanswered. Phrases and our names.
    opt_out: WordTable = WordTable()
    # An opt-in word and nothing more ("START", "YES 1708"): left unfiled and unanswered, as an opt-out is.
    opt_in: WordTable = WordTable()
    # Our short code and handle typed before the message ("1708 CEK 12345678"), lowercased.
    addressed_to: frozenset[str] = frozenset()
    # Words around one of our answers sent back to us ("Fwd:", "Pesan diteruskan"), lowercased.
    forward_markers: frozenset[str] = frozenset()
    # Words labelling an addition before its Tracking ID ("Tambahan: 12345678 ..."), and the words that may stand
    # between the two ("untuk laporan"): their own fillers and the status command's. Lowercased.
    follow_up_words: frozenset[str] = frozenset()
    follow_up_fillers: frozenset[str] = frozenset()
    # A wish to report or a question how to, and nothing more (`[how_to_report]`): every word in `how_to_report`, one
    # of `how_to_report_reports` and one of `how_to_report_asks` among them, at most `how_to_report_max_words`.
    how_to_report: frozenset[str] = frozenset()
    how_to_report_reports: frozenset[str] = frozenset()
    how_to_report_asks: frozenset[str] = frozenset()
    how_to_report_max_words: int = 0
    # The words naming the Tracking ID itself ("nomor lacak"; `[commands] tracking_names`), folded.
    tracking_names: frozenset[str] = frozenset()
    # Words that make the number before them an amount or a count (`[commands] amount_units`: "12500000 rupiah").
    amount_units: frozenset[str] = frozenset()
    # Of those, the units that only ever follow an amount (`[commands] amount_only_units`: "rupiah", "ribu", "juta"),
    # which alone make an amount of a valid Tracking ID marked by a "#" ("#10000004 orang itu datang lagi" is that
    # report's addition). After a status command a valid ID is never an amount (`_parse_status_command`).
    amount_only_units: frozenset[str] = frozenset()
    # Every word of those four tables: a message with any other word is none of them (asked first, once).
    short_message_vocabulary: frozenset[str] = frozenset()
    # Help's instruction words copied before its forms ("ketik LAPOR ...", "Cek status: CEK <id>"), by their first
    # word, longest first (every message's first word is looked up here); what help puts after a form ("kirim ke
    # 1708"), word tuples, longest first; and the text help's placeholder marks open ("<isi laporan>"), matched at a
    # text's start (`[instructions]`).
    instructions: dict[str, tuple[Instruction, ...]] = dataclasses.field(default_factory=dict)
    instruction_closings: tuple[tuple[str, ...], ...] = ()
    placeholder: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class ParsedText:
    action: Action
    text: str
    kind: ReportKind = ReportKind.COMPLAINT
    explicit_kind: bool = False
    anonymous: bool = False
    confidential: bool = False
    tracking_id: str | None = None
    language: str = "id"


@lru_cache(maxsize=4)
def load_grammar(path: Path = CONFIG_DIR / "keywords.toml") -> Grammar:
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    kinds = {word.lower(): ReportKind(kind) for kind, words in raw["kinds"].items() for word in words}
    flags = {word.lower(): flag for flag, words in raw["flags"].items() for word in words}
    courtesy = _load_word_table(raw.get("courtesy", {}))
    # A greeting may be surrounded by the courtesy's fillers and names ("Halo min", "Selamat pagi LAPOR").
    greeting = _load_word_table({**raw.get("courtesy", {}), "emoji": [], **raw.get("greeting", {})})
    # Only our names may stand around an opt-out word, no fillers: as narrow as the forms people send to stop SMS.
    names = raw.get("courtesy", {}).get("names", [])
    opt_out = _load_word_table({"names": names, **raw.get("opt_out", {})})
    opt_in = _load_word_table({"names": names, **raw.get("opt_in", {})})
    negations = raw.get("flag_negations", {})
    fillers = {_squeeze(fold_word(w)) for w in raw.get("courtesy", {}).get("fillers", [])}  # a plea's "ya pak"
    clarifications = [tuple(map(fold_word, _TOKENS.findall(phrase))) for phrase in negations.get("after_flags", [])]
    status_fillers = frozenset(w.lower() for w in raw["commands"].get("status_fillers", []))
    status_words = frozenset(w.lower() for w in raw["commands"]["status"])
    questions = raw.get("status_questions", {})
    done = raw.get("courtesy", {}).get("done", {})
    how = raw.get("how_to_report", {})
    topics = frozenset(fold_word(w) for w in questions.get("topics", []))
    # A status command asks as a question word does ("tolong cek laporan saya"), but for one that is a topic too
    # ("status laporan" names the subject, "lacak" the ID).
    asks = frozenset(fold_word(w) for w in questions.get("questions", [])) | (status_words - topics)
    in_words = raw.get("flags_in_words", {})
    calls = frozenset(fold_word(w) for w in raw.get("courtesy", {}).get("calls", []))
    askers = frozenset(fold_word(w) for key in ("phrase_fillers", "request_openers") for w in in_words.get(key, []))
    grammar = Grammar(
        kinds=kinds,
        flags=flags,
        flag_openers=frozenset(w.lower() for w in raw.get("flag_openers", {}).get("words", [])),
        flag_openers_after_keywords=frozenset(w.lower() for w in raw.get("flag_openers", {}).get("after_keywords", [])),
        flag_negations=frozenset(fold_word(w) for w in negations.get("words", [])),
        flag_particles=frozenset(fold_word(w) for w in raw.get("flag_particles", {}).get("words", [])),
        flag_compounds=frozenset((flag, fold_word(w)) for flag, words in raw.get("flag_compounds", {}).items()
                                 for w in words),
        flag_negation_letters=max((len(w) for w in negations.get("words", [])), default=0),
        flag_negations_asked_after=frozenset(fold_word(w) for w in negations.get("asked_after", [])),
        flag_negations_asked_after_letters=max((len(w) for w in negations.get("asked_after", [])), default=0),
        flag_clarifications=frozenset(clarifications),
        flag_clarification_words=max(map(len, clarifications), default=0),
        anonymity_phrases=_by_first_word([fold_word(w) for w in _TOKENS.findall(phrase)]
                                         for phrase in in_words.get("anonymous", [])),
        anonymity_asked_phrases=_by_first_word(([fold_word(w) for w in _TOKENS.findall(phrase)]
                                                for phrase in in_words.get("anonymous_when_asked", [])), asked=True),
        blank_name_line=_blank_name_line(in_words.get("anonymous_blank_name_labels", []),
                                         in_words.get("anonymous_blank_name_values", [])),
        anonymity_name_lines=tuple(tuple(fold_word(w) for w in _TOKENS.findall(phrase))
                                   for phrase in in_words.get("anonymous_name_lines", [])),
        anonymity_phrase_fillers=frozenset(fold_word(w) for w in in_words.get("phrase_fillers", [])),
        anonymity_abbreviations={fold_word(short): fold_word(full)
                                 for short, full in in_words.get("abbreviations", []) if " " not in short},
        anonymity_split_abbreviations=_split_abbreviations(in_words.get("abbreviations", [])),
        confidentiality_phrases=_by_first_word([fold_word(w) for w in _TOKENS.findall(phrase)]
                                               for phrase in in_words.get("confidential", [])),
        confidentiality_asked_phrases=_by_first_word(([fold_word(w) for w in _TOKENS.findall(phrase)]
                                                      for phrase in in_words.get("confidential_when_asked", [])),
                                                     asked=True),
        confidentiality_negations=tuple(f" {' '.join(words)}" for words
                                        in _phrase_words(in_words.get("confidential_negations", [])) if words),
        confidentiality_requests=_phrase_words(in_words.get("confidential_requests", [])),
        confidentiality_requests_when_asked=_phrase_words(in_words.get("confidential_requests_when_asked", [])),
        confidentiality_request_ends=frozenset(phrase[-1] for key in ("confidential_requests",
                                                                      "confidential_requests_when_asked")
                                               for phrase in _phrase_words(in_words.get(key, [])) if phrase),
        anonymity_requests=_phrase_words(in_words.get("anonymous_requests", [])),
        anonymity_request_ends=frozenset(phrase[-1] for phrase in _phrase_words(in_words.get("anonymous_requests", []))
                                         if phrase),
        # Our names too, as a mention or a comment puts them in ("mohon dirahasiakan @lapor1708").
        request_openers=(askers | calls | {fold_word(w) for w in names}
                         | {fold_word(w) for w in in_words.get("request_hedges", [])}),
        request_askers=askers,
        # The courtesy's thanks close one too, typed without a stop ("mohon dirahasiakan ya pak terima kasih").
        request_tails=(frozenset(fold_word(w) for w in in_words.get("request_tails", [])) | fillers | calls
                       | {fold_word(w) for w in names}
                       | {fold_word(w) for phrase in raw.get("courtesy", {}).get("phrases", [])
                          for w in _TOKENS.findall(phrase)}),
        confidentiality_statements=frozenset(fold_word(w) for w in in_words.get("confidential_statements", [])),
        confidentiality_statement_subjects=_phrase_words(in_words.get("statement_subjects", [])),
        confidentiality_statement_links=frozenset(fold_word(w) for w in in_words.get("statement_links", [])),
        anonymity_statement_links=frozenset(fold_word(w) for key in ("statement_links", "anonymous_statement_links")
                                            for w in in_words.get(key, [])),
        statement_joins=frozenset(fold_word(w) for w in in_words.get("statement_joins", [])),
        statement_nouns=frozenset(fold_word(w) for w in in_words.get("statement_nouns", [])),
        identity_statement_subjects=_phrase_words(in_words.get("identity_statement_subjects", [])),
        identity_statements=frozenset(fold_word(w) for key in ("confidential_statements", "identity_statements")
                                      for w in in_words.get(key, [])),
        said_before=_phrase_words(in_words.get("said_before", [])),
        said_after=_phrase_words(in_words.get("said_after", [])),
        disclaimer_markers=_phrase_words(in_words.get("disclaimer_markers", [])),
        anonymity_words=(frozenset(fold_word(w) for w in in_words.get("anonymous_words", []))
                         | {word for word, flag in flags.items() if flag == "anonymous"}),
        request_words=frozenset(fold_word(w) for w in in_words.get("request_words", [])),
        request_links=frozenset(fold_word(w) for w in in_words.get("request_links", [])),
        request_reach=in_words.get("request_reach", 0),
        plea_asks=frozenset(fold_word(w) for key in ("plea_words", "request_words") for w in in_words.get(key, []))
        | fillers,
        plea_fears=frozenset(fold_word(w) for w in in_words.get("plea_words", [])),
        plea_vocabulary=frozenset(fold_word(w) for key in ("plea_words", "plea_links", "request_words",
                                                           "request_links", "phrase_fillers")
                                  for w in in_words.get(key, []))
        | fillers,
        status_words=status_words,
        help_words=frozenset(w.lower() for w in raw["commands"]["help"]),
        spelled_spaces=frozenset(fold_word(w) for w in raw["commands"].get("spelled_spaces", [])),
        help_followers=frozenset(fold_word(w) for key in ("spelled_spaces", "help_objects")
                                 for w in raw["commands"].get(key, [])),
        english_markers=frozenset(raw["language"]["english_markers"]),
        copied_english_markers=frozenset(raw["language"]["english_markers"])
        | frozenset(raw["language"].get("copied_english_markers", [])),
        indonesian_markers=frozenset(raw["language"]["indonesian_markers"]),
        status_fillers=status_fillers,
        status_question_topics=topics,
        status_question_asks=asks,
        # A greeting may open the question as it opens a message ("Selamat pagi, cek laporan 12345678").
        status_question_vocabulary=(topics | asks | status_words | status_fillers | frozenset(flags)
                                    | {fold_word(w) for w in questions.get("fillers", [])}
                                    | {fold_word(w) for phrase in questions.get("checks", [])
                                       for w in phrase.split()}
                                    | {fold_word(w) for phrase in raw.get("greeting", {}).get("phrases", [])
                                       for w in _TOKENS.findall(phrase)}),
        status_question_states=frozenset(fold_word(w) for w in questions.get("states", [])),
        status_question_max_words=questions.get("max_words", 0),
        status_question_checks=frozenset(fold_word(w) for w in questions.get("checks", []) if " " not in w),
        status_question_check_pairs=frozenset(
            (fold_word(first), fold_word(second))
            for first, second in (w.split() for w in questions.get("checks", []) if len(w.split()) == 2)),
        status_question_closings=frozenset(fold_word(w) for w in questions.get("closings", [])),
        status_question_closings_after=frozenset(fold_word(w) for w in questions.get("closings_after", [])),
        status_question_durations=frozenset(fold_word(w) for w in questions.get("durations", [])),
        status_question_thread_grievances=frozenset(fold_word(w) for w in questions.get("thread_grievances", [])),
        status_question_fillers_before=frozenset(
            (fold_word(filler), fold_word(after))
            for filler, afters in questions.get("fillers_only_before", {}).items() for after in afters),
        second_kinds=frozenset(w.lower() for w in raw.get("second_kinds", {}).get("words", [])) & kinds.keys(),
        courtesy=courtesy,
        thanks_for_done=_load_word_table({**raw.get("courtesy", {}), "fillers": [
            *raw.get("courtesy", {}).get("fillers", []), *questions.get("topics", []), *questions.get("fillers", []),
            *done.get("words", []), *done.get("states", []), *done.get("fillers", [])]}),
        done_words=frozenset(_squeeze(fold_word(w)) for w in done.get("words", [])),
        done_states=frozenset(_squeeze(fold_word(w)) for w in done.get("states", [])),
        calls=calls,
        awaiting=frozenset(fold_word(w) for w in raw.get("courtesy", {}).get("awaiting", [])),
        greeting=greeting,
        greeting_words=frozenset(word for phrase in greeting.phrases for word in phrase),
        opt_out=opt_out,
        opt_in=opt_in,
        short_message_vocabulary=frozenset().union(*(t.vocabulary for t in (courtesy, greeting, opt_out, opt_in))),
        addressed_to=frozenset(w.lower() for w in raw["commands"].get("addressed_to", [])),
        forward_markers=frozenset(w.lower() for w in raw["commands"].get("forward_markers", [])),
        follow_up_words=frozenset(w.lower() for w in raw["commands"].get("follow_up", [])),
        tracking_names=frozenset(fold_word(w) for w in raw["commands"].get("tracking_names", [])),
        amount_units=frozenset(fold_word(w) for w in raw["commands"].get("amount_units", [])),
        amount_only_units=frozenset(fold_word(w) for w in raw["commands"].get("amount_only_units", [])),
        how_to_report=(frozenset(fold_word(w) for key in ("reports", "helps", "asks", "fillers")
                                 for w in how.get(key, []))
                       | frozenset(flags) | greeting.vocabulary),
        how_to_report_reports=frozenset(fold_word(w) for key in ("reports", "helps") for w in how.get(key, [])),
        how_to_report_asks=frozenset(fold_word(w) for w in how.get("asks", [])),
        how_to_report_max_words=how.get("max_words", 0),
        follow_up_fillers=status_fillers | {w.lower() for w in raw["commands"].get("follow_up_fillers", [])},
        **_load_instructions(raw.get("instructions", {})),
    )
    padded = [phrase for table in (grammar.anonymity_phrases, grammar.anonymity_asked_phrases,
                                   grammar.confidentiality_phrases, grammar.confidentiality_asked_phrases)
              for phrases in table.values() for phrase in phrases]
    return dataclasses.replace(grammar, tail_last_words=grammar.courtesy.vocabulary | grammar.plea_vocabulary
                               | {phrase[-1] for phrase in grammar.flag_clarifications if phrase},
                               phrase_words={phrase: frozenset(phrase.replace(_ASKED, "").split())
                                             for phrase in padded},
                               anonymity_name_line_openers=frozenset(line[0] for line in grammar.anonymity_name_lines
                                                                     if line),
                               status_question_fillers=frozenset(
                                   filler for filler, _ in grammar.status_question_fillers_before),
                               **_after_id_tables(raw.get("status_questions", {}).get("after_id", {}), grammar))


def _after_id_tables(table: dict, grammar: Grammar) -> dict:
    """`Grammar.after_id_*` of `[status_questions.after_id]`: its words added to the status question's own."""
    def words(key: str) -> frozenset[str]:
        return frozenset(fold_word(w) for w in table.get(key, []))
    topics = grammar.status_question_topics | words("topics")
    asks = grammar.status_question_asks | words("questions")
    vocabulary = grammar.status_question_vocabulary | topics | asks | words("fillers")
    states = grammar.status_question_states | words("states")
    pairs = grammar.status_question_fillers_before | {
        (fold_word(filler), fold_word(after)) for filler, afters in table.get("fillers_only_before", {}).items()
        for after in afters}
    return {"after_id_topics": topics, "after_id_asks": asks, "after_id_vocabulary": vocabulary,
            "after_id_states": states, "after_id_fillers_before": pairs, "after_id_asking": words("asking"),
            "after_id_squeezed": {_squeeze(word): word for word in sorted(vocabulary | states)}}


def _blank_name_line(labels: list[str], values: list[str]) -> re.Pattern[str] | None:
    """`Grammar.blank_name_line`: one of the labels opening a line or a field of a form typed on one line (after ",",
    ";" or "|"), a colon (or "="), nothing or one of the values, then the line's end, the next field's separator or
    its label ("Nama: - Alamat: ...")."""
    if not labels:
        return None
    label = "|".join(r"\s+".join(map(re.escape, phrase.split())) for phrase in sorted(labels, key=len, reverse=True))
    value = "|".join(map(re.escape, sorted(values, key=len, reverse=True)))
    return re.compile(rf"(?:^|[,;|])[ \t*#>-]*(?:{label})[ \t]*[:=][ \t]*(?:{value})?[ \t.]*"
                      rf"(?:$|[,;|]|(?=[^\W\d_]+(?:[ \t]+[^\W\d_]+)?[ \t]*[:=]))", re.IGNORECASE | re.MULTILINE)


def _split_abbreviations(pairs: list[list[str]]) -> dict[str, dict[str, str]]:
    """The abbreviations of two words (`[flags_in_words] abbreviations`: "di rahasiakan"), folded, under their first
    word, then their second: the word in full."""
    split: dict[str, dict[str, str]] = {}
    for short, full in pairs:
        match [fold_word(w) for w in _TOKENS.findall(short)]:
            case [first, second]:
                split.setdefault(first, {})[second] = fold_word(full)
            case [_, _, _, *_]:
                raise ValueError(f"an abbreviation of more than two words: {short!r}")
    return split


def _phrase_words(phrases: list[str]) -> tuple[tuple[str, ...], ...]:
    """Each phrase's folded words, longest first."""
    return tuple(sorted((tuple(fold_word(w) for w in _TOKENS.findall(phrase)) for phrase in phrases),
                        key=len, reverse=True))


def _load_instructions(table: dict[str, list[str]]) -> dict:
    """`Grammar`'s fields for help's instructions (`[instructions]`)."""
    instructions = [Instruction(tuple(fold_word(word) for word in phrase.split()), introduces)
                    for key, introduces in (("verbs", Introduces.FORM), ("status_labels", Introduces.QUERY),
                                            ("kind_labels", Introduces.KIND), ("headers", Introduces.HEADER))
                    for phrase in table.get(key, [])]
    closings = sorted((tuple(fold_word(word) for word in phrase.split()) for phrase in table.get("closings", [])),
                      key=len, reverse=True)
    marks = table.get("placeholder", [])
    placeholder = None
    if marks:
        opening, closing = (re.escape(with_compatibility_forms(mark)) for mark in marks)
        # A pair of marks opening the text, something inside them: "<jalan rusak> di depan SD". Not one glued to
        # the word after it ("<b>jalan</b> ...", "<RT 05>Jl. ..."): taken off, two words ran into one.
        placeholder = re.compile(rf"[{opening}]\s*(?P<inside>[^{opening}{closing}]*[^{opening}{closing}\s])\s*"
                                 rf"[{closing}](?![^\W_])")
    by_first_word: dict[str, list[Instruction]] = {}
    for instruction in sorted(instructions, key=lambda instruction: len(instruction.words), reverse=True):
        by_first_word.setdefault(instruction.words[0], []).append(instruction)
    return {
        "instructions": {word: tuple(listed) for word, listed in by_first_word.items()},
        "instruction_closings": tuple(closings),
        "placeholder": placeholder,
    }


def _load_word_table(table: dict[str, list[str]]) -> WordTable:
    phrases = frozenset(tuple(_squeeze(word) for word in _TOKENS.findall(phrase.lower()))
                        for phrase in table.get("phrases", []))
    fillers = frozenset(_squeeze(word.lower()) for word in table.get("fillers", []))
    names = frozenset(_squeeze(word.lower()) for word in table.get("names", []))
    return WordTable(
        phrases=phrases,
        fillers=fillers,
        names=names,
        emoji=frozenset(table.get("emoji", [])),
        longest_phrase=max((len(phrase) for phrase in phrases), default=0),
        vocabulary=frozenset(word for phrase in phrases for word in phrase) | fillers | names,
    )


# Fullwidth and other compatibility forms of our punctuation ("＃", "－", "：", "？") count as their ASCII forms in
# every set below, and words are looked up folded (`fold_word`: "ｃｅｋ" is "cek"), so a fullwidth keyboard's
# "ｃｅｋ＃１００００００４" is a status query; what is kept of the text is as typed.
# "&" too, as "dan" is written between two flag words ("RAHASIA & ANONIM", "ANONIM&RAHASIA"): the second was the
# citizen's word, and an anonymity asked for was missed. "+" only before a letter ("ANONIM+RAHASIA", "ANONIM +
# RAHASIA"): before a digit it opens a number ("LAPOR +62812...").
_SEPARATOR_SET = "".join(map(re.escape, with_compatibility_forms(":.,;!?-=/&"))) + "–—"
_PLUS_CHARS = with_compatibility_forms("+")
_PLUS = "".join(map(re.escape, _PLUS_CHARS))
# A hash mark glued to a leading word sets it apart as a separator does: SMS services in Indonesia have their fields
# typed joined by "#" ("REG#...", "LAPOR#ANONIM#<isi>", "TAMBAHAN#<id>#<isi>"). Only glued: after a space a "#" opens
# the citizen's hashtag, kept as typed. Before a word of theirs the readers of kind and flag words and of our short
# code take it back (`_glued_hash_end`: "LAPOR#SaveKPK ...", "Rahasia#Negara bocor"), and the particles' reader takes
# it for no punctuation (`_past_flag_particles_at`).
_SEPARATORS = (rf"(?:[{HASH}]+)?[\s{_SEPARATOR_SET}]*"
               rf"(?:[{_PLUS}](?=[\s{_SEPARATOR_SET}]*[^\W\d_])[\s{_SEPARATOR_SET}]*)*")
# A leading word: optional '#', letters (or a lone '?'), then any run of separators people type after it ("?" too:
# "Bantuan?", "CEK?" ask for help as "Bantuan" and "CEK" do). Letters joined by "_" are one word, as a keypad or a
# hashtag habit joins a kind and a flag word ("LAPOR_ANONIM": a flag word of its own in the tables). Matched at a
# position, with no "^": the loops reading words off a text's start copy none of it.
_LEADING_WORD = re.compile(rf"\s*[{HASH}]?(?P<word>[^\W\d_]+(?:_[^\W\d_]+)*"
                           rf"|[{re.escape(with_compatibility_forms('?'))}])(?P<sep>{_SEPARATORS})", re.UNICODE)
# A word anywhere (`_LEADING_WORD` from a position, letters only): one of help's instruction words (`[instructions]`).
_WORD_AT = re.compile(rf"\s*[{HASH}]?(?P<word>[^\W\d_]+)(?P<sep>[\s{_SEPARATOR_SET}]*)", re.UNICODE)
# Letters joined by "_" are one tag, as in a leading word ("#WBS_Anonim", "#Laporan_Anonim"). What a "+" joins to it
# (`joined`: "#anonim+rahasia", "#anonim+#rahasia") is the tag's when every word of it is a flag word
# (`_read_hashtag`): read as "#anonim" alone, "+rahasia" was left in the text and its flag unread.
_HASHTAG = re.compile(rf"(?<![\w{HASH}])[{HASH}](?P<tag>[^\W\d_]+(?:_[^\W\d_]+)*)"
                      rf"(?P<joined>(?:[{_PLUS}][{HASH}]?[^\W\d_]+(?:_[^\W\d_]+)*)*)\b", re.UNICODE)
# A hash mark in any of its forms: a text without one (most reports) holds no hashtag, and `_HASHTAG`, whose scan
# tries its lookbehind at every character, is not run over it: two scans of a report cost a fifteenth of its parse.
_HASH_MARK = re.compile(f"[{HASH}]")
# One word a "+" joins to a tag, in its `joined`.
_JOINED_TAG = re.compile(rf"[{_PLUS}][{HASH}]?(?P<tag>[^\W\d_]+(?:_[^\W\d_]+)*)", re.UNICODE)
# A leading kind or flag word set off as a tag ("[ANONIM] ...", "(RAHASIA)", WhatsApp's bold "*ANONIM*" and italic
# "_ANONIM_", "【ANONIM】", help's placeholder marks "<ANONIM>"): a pair of marks around the word alone (`_TAG_PAIRS`),
# then separators. Missed, "<ANONIM>" lost its marks with the placeholder's and stayed as the citizen's word. So did
# Markdown's doubled bold ("**ANONIM**": a mark may be typed twice) and quotes around the word ('"ANONIM" ...').
# WhatsApp's strikethrough "~ANONIM~" too, typed as decoration.
_TAG_PAIRS = {"[": "]", "(": ")", "*": "*", "_": "_", "~": "~", "【": "】", "<": ">", '"': '"', "'": "'",
              "\u201c": "\u201d", "\u2018": "\u2019", "«": "»"}
_TAG_OPEN = "".join(map(re.escape, with_compatibility_forms("[(*_~<\"'") + "【\u201c\u2018«"))
_TAG_CLOSE_CHARS = with_compatibility_forms("])*_~>\"'") + "】\u201d\u2019»"
_TAG_CLOSE = "".join(map(re.escape, _TAG_CLOSE_CHARS))
# Opening marks as typed around a word (`_negation_start` reads back past them: "bukan ~rahasia~", "bukan (#rahasia)").
_TAG_OPEN_CHARS = with_compatibility_forms("[(*_~<\"'") + "【\u201c\u2018«"
# What joins a negation to the flag word as one word does ("non-rahasia").
_HYPHENS = with_compatibility_forms("-") + "\u2010\u2011"
_WRAPPED_WORD = re.compile(rf"\s*(?P<open>[{_TAG_OPEN}])(?P=open)?\s*[{HASH}]?(?P<word>[^\W\d_]+)\s*"
                           rf"(?P<close>[{_TAG_CLOSE}])(?P=close)?"
                           rf"(?!\w)(?P<sep>{_SEPARATORS})", re.UNICODE)
# Several flag words in one pair of marks ("(anonim & rahasia)", "[ANONIM, RAHASIA]", "*ANONIM RAHASIA*"): each was
# the citizen's word, and the whistleblower's number reached the agency. Read word by word: the group's first word
# after its opening mark (`_FLAG_GROUP`, the whole group checked to hold flag words only), the last before its closing
# mark (`_GROUP_LAST`, the group checked back to its opening mark), any between as words set apart.
_GROUP_JOIN = rf"(?:\s*[{_SEPARATOR_SET}{_PLUS}]\s*|\s+)"
_FLAG_GROUP = re.compile(rf"\s*(?P<open>[{_TAG_OPEN}])(?P=open)?\s*"
                         rf"(?P<words>[{HASH}]?[^\W\d_]+(?:{_GROUP_JOIN}[{HASH}]?[^\W\d_]+){{1,4}})\s*"
                         rf"(?P<close>[{_TAG_CLOSE}])(?P=close)?(?!\w)", re.UNICODE)
_GROUP_LAST = re.compile(rf"\s*[{HASH}]?(?P<word>[^\W\d_]+)\s*(?P<close>[{_TAG_CLOSE}])(?P=close)?(?!\w)"
                         rf"(?P<sep>{_SEPARATORS})", re.UNICODE)
_GROUP_FIRST = re.compile(rf"[{HASH}]?(?P<word>[^\W\d_]+){_GROUP_JOIN}", re.UNICODE)
_GROUP_BEFORE = re.compile(rf"(?P<open>[{_TAG_OPEN}])(?P=open)?\s*"
                           rf"(?P<words>(?:[{HASH}]?[^\W\d_]+{_GROUP_JOIN}){{1,4}})\Z", re.UNICODE)
# How far back from a group's last word its opening mark is looked for: five flag words and what joins them.
_GROUP_LOOK_BACK = 120
# A bracket opening a group that is never closed ("[ANONIM, RAHASIA pungli di ...", "(anonim & rahasia pungli ..."):
# brackets only, as a mark typed the same on both sides ("*", "~", quotes) cannot tell it is left open.
_UNCLOSED_OPENINGS = with_compatibility_forms("([<") + "【"
_UNCLOSED_OPEN = re.compile(rf"\s*(?P<open>[{re.escape(_UNCLOSED_OPENINGS)}])(?P=open)?\s*", re.UNICODE)
# "1000-0004", "1.000.0004", "1000–0004" (any of `DASHES`: autocorrect makes an en dash of "-")
_ID_GROUPING = "".join(map(re.escape, with_compatibility_forms(".") + DASHES))
_ID_RUN = rf"\d[\d\s{_ID_GROUPING}]{{4,20}}\d"
_LEADING_ID = re.compile(rf"^\s*[{HASH}]?(?P<id>{_ID_RUN})(?=\D|$)")
# The same run anywhere: a text without one holds no Tracking ID any reading of one typed first or named finds.
_ANY_ID_RUN = re.compile(_ID_RUN)
# What people type between a Tracking ID and the text that follows it: "12345678: ...", "12345678 - ...".
_ID_CLOSE = with_compatibility_forms(" \t\n:.,;!") + DASHES + "—"
# What people put around an ID: quotes, brackets, WhatsApp's bold ("CEK (12345678)", "CEK <12345678>", "*12345678*").
_ID_OPEN = with_compatibility_forms(" \t\n\"'*(<[{") + "«“‘"
# Our short code or handle first ("1708 CEK ...", "@lapor1708: ..."), and the separators after it (a "#" glued to it
# before a keyword or an ID too, as after a leading word: "1708#CEK#<id>", `_glued_hash_end`).
_LEADING_NAME = re.compile(rf"\s*[{with_compatibility_forms('@')}]?(?P<name>[^\W_]+)"
                           rf"(?P<sep>(?:[{HASH}]+)?[\s{_SEPARATOR_SET}]*)", re.UNICODE)
# A hash mark glued to a leading word or our short code, and the separators after it ("ANONIM#<isi>", "ANONIM# <isi>").
_GLUED_HASH = re.compile(rf"[{HASH}]+(?P<sep>[\s{_SEPARATOR_SET}]*)", re.UNICODE)
# What makes a "#" a keycap emoji ("#️⃣"): an emoji glued to the word, kept as typed, as after a space.
_KEYCAP = "\ufe0f\u20e3"
# What sets a leading name or word apart from what follows when glued to it, as a separator would ("1708🙏ANONIM",
# "LAPOR🙏ANONIM", "@lapor1708❤️CEK"): an emoji's symbol (a pictograph, a regional indicator, a skin tone), which
# `_after_leading_symbols` then reads past as it does after a space. A digit or letter never does ("17080", "1708an"
# are other words), nor a variation selector or joiner on its own.
_GLUED_SYMBOLS = frozenset({"So", "Sk"})
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)
# Words and numbers for the courtesy check ("lapor1708", "1708" are ours); what lies between them is ignored.
_TOKENS = re.compile(r"[^\W_]+", re.UNICODE)
# The longest text whose folded tokens `_folded_tokens` keeps: an SMS of ten parts and more. A longer one is folded
# lazily, word by word, as its readers stop at its first or second word most times.
_KEPT_TOKENS_CHARS = 2000


@lru_cache(maxsize=32)
def _kept_tokens(text: str) -> tuple[str, ...]:
    """`_TOKENS` of the text, folded (`fold_word`): an ASCII text lowercased once, its tokens the same."""
    return tuple(_TOKENS.findall(text.lower()) if text.isascii() else map(fold_word, _TOKENS.findall(text)))


def _folded_tokens(text: str) -> Iterable[str]:
    """The text's tokens folded, in order. Six readers of a message ask for them (the short-message tables, thanks for
    what was done, how to report, status questions, flags asked in words): folded once a text and kept for the next
    reader, where each folded them again, they cost a tenth of a report's parse. A long text's are folded lazily."""
    if len(text) <= _KEPT_TOKENS_CHARS:
        return _kept_tokens(text)
    return (fold_word(match.group()) for match in _TOKENS.finditer(text))


def _first_folded_tokens(text: str, count: int) -> tuple[str, ...] | list[str]:
    """The text's first `count` folded tokens at least (all of a text `_folded_tokens` keeps)."""
    if len(text) <= _KEPT_TOKENS_CHARS:
        return _kept_tokens(text)
    return list(itertools.islice(_folded_tokens(text), count))


# A letter typed over and over ("makasiiih", "okeee"); digits are left as they are.
_REPEATED_LETTER = re.compile(r"([^\W\d_])\1+", re.UNICODE)
# What follows a status command when it is a number and nothing else ("CEK 12345", "cek no. 1234-56"). The number's
# run is possessive (`*+`): the spaces and dots it shares with the closing marks are never given back one by one, which
# took time quadratic in the text ("CEK 1 . . . x", a long mention: seconds).
_ONLY_A_NUMBER = re.compile(rf"\s*[{HASH}]?\d[\d\s{_ID_GROUPING}]*+"
                            rf"[\s{''.join(map(re.escape, with_compatibility_forms('.!?')))}]*")
# An ID typed straight after a status command, with no space: "cek#12345678", "CEK12345678".
_GLUED_ID = re.compile(rf"[{HASH}]?\d")
# Numbers that open a complaint and are no Tracking ID: a date ("17-08-2025", "17.08.2025", "17–08–2025") or an amount
# written with thousands dots ("1.500.000"). Tracking IDs are shown as one run of digits.
_DOTS = "".join(map(re.escape, with_compatibility_forms(".")))
_DATE_MARKS = "".join(map(re.escape, with_compatibility_forms("./") + DASHES))
_DATE_OR_AMOUNT = re.compile(rf"\d{{1,2}}([{_DATE_MARKS}])\d{{1,2}}\1"
                             rf"\d{{2,4}}|\d{{1,3}}(?:[{_DOTS}]\d{{3}})+")
# An Indonesian number written without its plus ("6281234567890"); a Tracking ID this long and starting so would
# need billions of reports.
_PHONE_WITHOUT_PLUS = re.compile(r"62\d{9,12}")
_SPACE_RUNS = re.compile(r"[ \t]{2,}")
# Around a flag word at the end: the closing marks after it and the separators before it ("... kelurahan, ANONIM!").
# A tag's marks too ("... [ANONIM]", "... *anonim*"); not "_", which joins the words of a handle ("@budi_rahasia").
_TRAILING_CLOSE = with_compatibility_forms(" \t\n.!)]*>~") + "】"
_TRAILING_OPEN = with_compatibility_forms(" \t\n,;:-([*<~") + "–—【"
# Of those, the marks that open and close a word alike (bold, strikethrough): `_opening_marks_end`.
_SYMMETRIC_MARKS = with_compatibility_forms("*~")
# What joins two flag words at the end besides those ("... (anonim & rahasia)", "... ANONIM+RAHASIA"): read back past
# only when a flag word stands before it, so "... jabatan & rahasia" keeps its "&".
_TRAILING_JOIN = with_compatibility_forms(" \t&+")
_SENTENCE_END = tuple(with_compatibility_forms(".!?"))
_QUESTION = with_compatibility_forms("?")
_QUESTION_MARKS = tuple(_QUESTION)
_QUESTION_MARK = re.compile(f"[{re.escape(_QUESTION)}]")
# What may follow a question's closing "?" and still leave it closed: "sudah diproses belum laporan saya?!".
_AFTER_QUESTION = with_compatibility_forms("!") + " \t\r\n"
# What closes a question: "?" in its forms, and the interrobang some keyboards offer ("...diproses‽").
_CLOSING_QUESTION = (*_QUESTION_MARKS, "‽", "⁈")
# What separates a kind or flag word from the text after it, taken off the text's start.
_TEXT_OPEN = with_compatibility_forms(" \t\n:.,;-")


def detect_language(text: str, grammar: Grammar, *, copied: bool = False) -> str:
    """'en' when English markers clearly outnumber Indonesian ones; Indonesian is the default. `copied`: the text
    copies one of help's instructions, and our English answers' words count too (`copied_english_markers`).

    Every SMS goes through this: the markers are counted by `sum` over `map` of the sets' lookups, in C, where one
    Python loop over the words cost twice as much (and two generator sums a third more than that)."""
    english_markers = grammar.copied_english_markers if copied else grammar.english_markers
    # An ASCII text is lowercased once, not word by word. Any other is folded word by word: folded whole, a letter
    # whose fold is no letter ("İ" lowercases to "i" and a combining dot) cut its word in two ("İS" read as "i", "s").
    words = _WORDS.findall(text.lower()) if text.isascii() else [fold_word(word) for word in _WORDS.findall(text)]
    english = sum(map(english_markers.__contains__, words))
    return "en" if english > sum(map(grammar.indonesian_markers.__contains__, words)) else "id"


@lru_cache(maxsize=4096)
def _squeeze(word: str) -> str:
    """The word with letters typed more than once taken once ("makasihhh" -> "makasih"). Cached: a word not in the
    tables as typed is squeezed by `_only_short_message_words` and again by each table then asked."""
    return _REPEATED_LETTER.sub(r"\1", word)


def is_courtesy(text: str, grammar: Grammar) -> bool:
    """Whether the text is only thanks or an "ok": a courtesy phrase or emoji at least, fillers and our names, other
    punctuation and emoji. Any other word or number makes it something more."""
    return _made_only_of(text, grammar.courtesy)


@lru_cache(maxsize=1)
def closing_phrase(path: Path = CONFIG_DIR / "identity.toml") -> re.Pattern[str]:
    """A line that is only a mail's closing phrase (config/identity.toml's `[closings]`, which the anonymous mail's
    sign-off is read with too: "Hormat saya,", "Salam,", "Wassalamualaikum", "Best regards,"), its punctuation
    around it; case-insensitive."""
    with path.open("rb") as handle:
        phrases = tomllib.load(handle)["closings"]["phrases"]
    words = [phrase_pattern(phrase) for phrase in sorted(phrases, key=len, reverse=True)]
    return re.compile(rf"[^\w\n]*(?:{'|'.join(words)})[^\w\n]*", re.IGNORECASE)


def awaits_an_answer(text: str, grammar: Grammar) -> bool:
    """Whether a courtesy's words wait for our answer ("ditunggu tindak lanjutnya"; `[courtesy] awaiting`)."""
    return not grammar.awaiting.isdisjoint(_folded_tokens(text))


def is_greeting(text: str, grammar: Grammar) -> bool:
    """Whether the text is only a greeting ("Halo", "P", "Selamat pagi min"): no report yet, answered with help."""
    return _made_only_of(text, grammar.greeting)


def is_opt_out(text: str, grammar: Grammar) -> bool:
    """Whether the text is only an opt-out word ("STOP", "UNREG", "Berhenti", "batal langganan"), our names around it
    at most: no report, and no answer to someone who asked for none."""
    return _made_only_of(text, grammar.opt_out)


def is_opt_in(text: str, grammar: Grammar) -> bool:
    """Whether the text is only an opt-in word ("START", "UNSTOP", "YES"), our names around it at most: Twilio's
    words for receiving SMS again, nothing to file or answer."""
    return _made_only_of(text, grammar.opt_in)


def _only_short_message_words(text: str, grammar: Grammar) -> bool:
    """Whether every word of the text is in one of the short-message tables' vocabularies: only then is each table
    asked. Most messages fail at their first or second word, once instead of four times."""
    vocabulary = grammar.short_message_vocabulary
    return all(word in vocabulary or _squeeze(word) in vocabulary for word in _folded_tokens(text))


def _asks_how_to_report(text: str, grammar: Grammar, language: str) -> ParsedText | None:
    """Help, when the text only wishes to report or asks how to (`[how_to_report]`: "mau lapor", "bagaimana cara
    lapor?", "gimana caranya lapor anonim?", "How do I report?"), its flag words kept for a photo sent with it; else
    None. Filed, each was a case of its words acknowledged as a report. A loop that stops at the first other word:
    most messages name something at their first or second word."""
    flags: set[str] = set()
    reports, asks = False, False
    for count, word in enumerate(_folded_tokens(text), 1):
        if count > grammar.how_to_report_max_words or (
                word not in grammar.how_to_report and (word := _squeeze(word)) not in grammar.how_to_report):
            return None
        reports = reports or word in grammar.how_to_report_reports
        asks = asks or word in grammar.how_to_report_asks
        if word in grammar.flags:
            flags.add(grammar.flags[word])
    if not (reports and asks):
        return None
    # Anonymity asked in its words too ("Saya mau lapor, tapi takut ketahuan"): a photo sent with it is its report.
    asked = _with_flags_asked_in_words(ParsedText(action=Action.REPORT, text=text, language=language,
                                                  anonymous="anonymous" in flags,
                                                  confidential="confidential" in flags), grammar, text)
    return ParsedText(action=Action.HELP, text="", language=language, anonymous=asked.anonymous,
                      confidential=asked.confidential)


def _thanks_for_what_was_done(text: str, grammar: Grammar) -> bool:
    """Whether the text thanks us for what became of the report and says nothing else ("Terima kasih, laporan saya
    sudah ditindaklanjuti", "laporan sudah selesai, makasih pak"): a courtesy, as thanks alone is. Filed, it was a new
    case at an agency and an acknowledgement for a report nobody made. Not a question ("?": "laporan saya sudah
    diproses?" asks), nor with any other word ("belum", "tapi", "jalan"): those may be a grievance."""
    if _QUESTION_MARK.search(text) is not None or not _made_only_of(text, grammar.thanks_for_done):
        return False
    words = {_squeeze(word) for word in _folded_tokens(text)}
    return not words.isdisjoint(grammar.done_words) and not words.isdisjoint(grammar.done_states)


def _only_greeting_or_thanks(text: str, grammar: Grammar) -> bool:
    """Whether the text is only a greeting or only thanks (`is_greeting`, `is_courtesy`)."""
    return _only_short_message_words(text, grammar) and (is_greeting(text, grammar) or is_courtesy(text, grammar))


def _made_only_of(text: str, table: WordTable) -> bool:
    """Whether the text holds a phrase (or an emoji) of the table at least, and otherwise only its fillers and names,
    punctuation and emoji.

    Asked only of a text whose words are all in some table (`_only_short_message_words`); another table's word ends
    it before any phrase is looked for (squeezing a word costs a regex, so only a word not found as typed is)."""
    squeezed: list[str] = []
    for word in _folded_tokens(text):
        if word not in table.vocabulary:
            word = _squeeze(word)  # vocabulary words are squeezed: one found as typed has no letter twice
            if word not in table.vocabulary:
                return False
        squeezed.append(word)
    found, at = False, 0
    while at < len(squeezed):
        longest = min(table.longest_phrase, len(squeezed) - at)
        length = next((n for n in range(longest, 0, -1) if tuple(squeezed[at:at + n]) in table.phrases), 0)
        if length:
            found = True
        elif squeezed[at] in table.fillers or squeezed[at] in table.names:
            length = 1
        else:
            return False
        at += length
    return found or any(ch in table.emoji for ch in text)


def _is_punctuation(text: str) -> bool:
    """Only punctuation and spaces ("?", " ?!", "..."): nothing a report or a follow-up could hold."""
    return all(unicodedata.category(char).startswith("P") or char.isspace() for char in text)


def _set_apart(text: str, end: int, sep: str) -> bool:
    """Whether a leading name or word ending at `end` stands on its own: separators after it (`sep`), the text's end,
    or an emoji glued to it (`_GLUED_SYMBOLS`). Missed, "1708🙏ANONIM ..." was a named report of the whole text
    where "1708 🙏 ANONIM ..." was an anonymous one."""
    return bool(sep) or end == len(text) or unicodedata.category(text[end]) in _GLUED_SYMBOLS


def _glued_hash_end(text: str, end: int, grammar: Grammar, *, keeps_hashtag: bool = False) -> int | None:
    """Where a leading word or our short code ending at `end`, a "#" glued to it, is set apart by that "#"
    (`_GLUED_HASH`: SMS services in Indonesia have their fields typed joined by it, "REG#...", "LAPOR#ANONIM#<isi>",
    "1708#CEK#<id>"); None when no "#" is glued there, or it opens a word of the citizen's. Set apart: before one of
    our keywords or commands, an ID, spaces or the text's end (past the "#" and its separators); before a keycap
    (`_KEYCAP`: an emoji, kept); after an anonymity or kind word (`keeps_hashtag`) before a word of theirs, at the
    "#": the word is read and the hashtag kept ("ANONIM#SaveKPK ...", "LAPOR#SaveKPK ...": "#SaveKPK ..."; as a
    separator it lost its "#", and a number withheld once too often is the safe error). After a confidentiality word
    or our short code the "#" and the word are the citizen's ("Rahasia#Negara bocor" as "Rahasia+Negara bocor": read,
    the report was confidential)."""
    match = _GLUED_HASH.match(text, end)
    if match is None:
        return None
    after = match.end()
    if after == len(text) or match.group("sep") or text[after].isdigit():
        return after
    if text[end + 1:end + 2] in _KEYCAP and text[end + 1:end + 2]:
        # A keycap emoji ("#️⃣") is kept, unless a word of ours or an ID follows it: read past ("LAPOR#️⃣ANONIM ...",
        # "ANONIM#️⃣<id>"); kept, the ANONIM was the citizen's word and their number reached the agency.
        keycap = end + 1
        while keycap < len(text) and text[keycap] in _KEYCAP:
            keycap += 1
        return keycap if text[keycap:keycap + 1].isdigit() or _our_word_at(text, keycap, grammar) else end
    if _our_word_at(text, after, grammar):
        return after
    return end if keeps_hashtag else None


# A word after the marks that may open a tag or a group before it ("(anonim)", "[ANONIM, RAHASIA]", "#anonim"), or
# our handle's "@".
_MARKED_WORD = re.compile(rf"[{_TAG_OPEN}{HASH}{with_compatibility_forms('@')}]*(?P<word>[^\W\d_]+(?:_[^\W\d_]+)*)",
                          re.UNICODE)


def _our_word_at(text: str, at: int, grammar: Grammar) -> bool:
    """Whether a word a leading reader of the grammar reads opens `text` at `at` (`_a_word_of_ours`)."""
    marked = _MARKED_WORD.match(text, at)
    return marked is not None and _a_word_of_ours(fold_word(marked.group("word")), grammar)


def _flag_or_particle_at(text: str, at: int, grammar: Grammar) -> bool:
    """Whether a flag word opens `text` at `at`, or a particle, term of address, greeting, kind word or our handle
    with a flag word after it: what the leading readers go on with after a spelled space ("LAPOR spasi pak ANONIM
    ...", "LAPOR spasi halo, ANONIM ...", "LAPOR spasi @lapor1708 ANONIM ..."). Not such a word alone: they are a
    citizen's too, and "REPORT space there is no ramp", "REPORT space admin fees are illegal" lost their first word."""
    name = _LEADING_NAME.match(text, at)  # our handle, its digits with it ("@lapor1708")
    if name is not None and name.start("name") > at and fold_word(name.group("name")) in grammar.addressed_to:
        word, end = fold_word(name.group("name")), name.end("name")
    elif (first := _MARKED_WORD.match(text, at)) is not None:
        word, end = fold_word(first.group("word")), first.end()
    else:
        return False
    if word in grammar.flags:
        return True
    if not (word in grammar.flag_particles or word in grammar.calls or word in grammar.greeting_words
            or word in grammar.kinds or word in grammar.addressed_to):
        return False
    after = _MARKED_WORD.match(text, _WORD_GAP.match(text, end).end())
    return after is not None and fold_word(after.group("word")) in grammar.flags


# The spaces and marks between two words ("halo, ANONIM"), up to a word's own marks ("#anonim", "@lapor1708").
_WORD_GAP = re.compile(rf"[^\w{HASH}{with_compatibility_forms('@')}]*", re.UNICODE)


def _a_word_of_ours(word: str, grammar: Grammar) -> bool:
    """Whether a leading reader of the grammar reads `word` (`_glued_hash_end`: a "#" before it is a separator): a
    kind, flag, command or help word, a particle, a term of address or greeting, an addition's label, a word
    introducing a flag, a spelled space, our handle, one of help's instruction words. Missed, "LAPOR#(anonim) ...",
    "RAHASIA#(anonim) ..." were named, "ANONIM#pak#<id> ..." a new report, not an addition."""
    return (word in grammar.kinds or word in grammar.flags or word in grammar.status_words or word in grammar.help_words
            or word in grammar.flag_particles or word in grammar.calls or word in grammar.greeting_words
            or word in grammar.follow_up_words or word in grammar.flag_openers
            or word in grammar.flag_openers_after_keywords or word in grammar.spelled_spaces
            or word in grammar.addressed_to or word in grammar.instructions)


def _without_our_address(text: str, grammar: Grammar) -> str | None:
    """The text after our short code or handle typed first ("1708 CEK 12345678" -> "CEK 12345678"), every one of
    them if repeated; None when the text does not open with one."""
    at = _past_our_address_at(text, 0, grammar)
    return text[at:] if at else None


def _only_our_address(text: str, grammar: Grammar) -> bool:
    """Whether the text is our short codes or handles and nothing else ("1708", "@lapor1708 1708")."""
    at = _past_our_address_at(text, 0, grammar)
    return at > 0 and _blank_from(text, at)


def _past_our_address_at(text: str, at: int, grammar: Grammar) -> int:
    """Where our short codes or handles typed at `at` end (`_without_our_address` from a position); `at` when none is
    typed there."""
    while (match := _LEADING_NAME.match(text, at)) and fold_word(match.group("name")) in grammar.addressed_to and (
            (end := _our_address_end(text, match, grammar)) is not None):
        at = end
    return at


def _our_address_end(text: str, name: re.Match[str], grammar: Grammar) -> int | None:
    """Where our short code or handle `name` (`_LEADING_NAME`) and what sets it apart end; None when it is glued to
    what follows ("17080", "1708an", "1708#<a word of theirs>")."""
    if name.group("sep")[:1] in HASH and name.group("sep"):
        return _glued_hash_end(text, name.end("name"), grammar)
    return name.end() if _set_apart(text, name.end(), name.group("sep")) else None


# Only spaces, or nothing, up to the text's end (as `not text[at:].strip()`, without the copy).
_BLANK_TO_END = re.compile(r"\s*\Z")


def _blank_from(text: str, at: int) -> bool:
    """Whether `text` holds only spaces from `at` on: `not text[at:].strip()` without copying what follows `at`."""
    return _BLANK_TO_END.match(text, at) is not None


def _take_leading_word(text: str) -> tuple[str, str, bool]:
    """(the first word folded as the tables hold it (`fold_word`), the rest, whether it stands on its own
    (`_set_apart`): a separator or a glued emoji after it, or the text's end)."""
    word, end, separated = _leading_word_at(text, 0)
    return word, text[end:], separated


@lru_cache(maxsize=16)
def _leading_word_at(text: str, at: int) -> tuple[str, int, bool]:
    """`_take_leading_word` from a position: (the word folded, where it and the separators after it end, whether it
    stands on its own); ("", `at`, False) when no word opens there. A position, not the rest of the text: the loops
    that read flag words and fillers off a text's start slice it once, at their end. Copying the rest each turn made a
    text of repeated flag words ("anonim " 20,000 times) cost time quadratic in its length.

    Cached: the readers of a message's leading words (kind and flag words, the words introducing a flag, a second
    kind, commands, greetings) ask for the same word three times and more."""
    match = _LEADING_WORD.match(text, at)
    if not match:
        return "", at, False
    return fold_word(match.group("word")), match.end(), _set_apart(text, match.end(), match.group("sep"))


def _leading_keyword_at(text: str, at: int, grammar: Grammar, explicit: bool,
                        after_keyword: bool = False) -> tuple[str, int] | None:
    """(the word, where it and what sets it apart end) when the text opens at `at` with a flag word, or a kind word
    when no kind was given yet (`explicit`), set apart from what follows, or set off as a tag (`_WRAPPED_WORD`); else
    None. A position, not the text after the word, as `_leading_word_at`.

    A word that introduces a flag word (`[flag_openers]`: "Tambah ANONIM ...", "secara anonim") is read with the flag
    word right after it, as one: (the flag word, where it ends). Help said "Tambah ANONIM", and read as the citizen's
    words the ANONIM was theirs too and their number reached the agency. Followed by anything else ("tambah parah ...")
    the word is the citizen's. A word of prose as often (`after_keywords`: "dan", "with") only right after a kind or
    flag word (`after_keyword`: "ANONIM dan RAHASIA", "REPORT with anonymous: ..."): opening the text ("dan rahasia
    itu dibongkar ...") it is the citizen's, and so is the flag word after it."""
    taken = _leading_table_word_at(text, at, grammar, explicit)
    if taken is not None:
        return taken
    word, end, separated = _leading_word_at(text, at)
    if separated and (word in grammar.flag_openers or (after_keyword and word in grammar.flag_openers_after_keywords)
                      ) and (flag := _leading_table_word_at(text, end, grammar, True)) is not None:
        return flag
    return None


def _opens_a_compound(text: str, at: int, end: int, word: str, grammar: Grammar) -> bool:
    """Whether the flag word typed at `at` (taken up to `end`) and the word after it, a space between, are a noun of
    the citizen's (`[flag_compounds]`: "Rahasia negara dijual oknum", "Private sector ..."). Set apart by anything
    but spaces ("RAHASIA: negara ..."), wrapped or introduced ("(rahasia) negara", "tambah rahasia negara"): a flag."""
    typed = _LEADING_WORD.match(text, at)
    if typed is None or fold_word(typed.group("word")) != word:
        return False
    return _compound_after(text, typed.end("word"), grammar.flags[word], grammar)


def _compound_after(text: str, end: int, flag: str, grammar: Grammar) -> bool:
    """Whether the word after a flag word ending at `end`, spaces alone between, makes a noun of the citizen's with it
    (`[flag_compounds]`: "rahasia negara")."""
    after = _LEADING_WORD.match(text, end)
    return (after is not None and end < after.start("word") and text[end:after.start("word")].isspace()
            and (flag, fold_word(after.group("word"))) in grammar.flag_compounds)


def _hashed_compound_after(text: str, end: int, flag: str, grammar: Grammar) -> bool:
    """Whether the word after a flag word ending at `end`, a "#" glued between, makes a noun of the citizen's with it
    (`[flag_compounds]`: "Rahasia#Negara")."""
    marked = _MARKED_WORD.match(text, end)
    return marked is not None and (flag, fold_word(marked.group("word"))) in grammar.flag_compounds


def _opens_with_anonymity_in_prose(text: str, grammar: Grammar) -> bool:
    """Whether the text opens (after emoji and our short code) with a word of prose that also introduces a flag
    (`after_keywords`: "dan", "dengan", "with") and an anonymity flag word set apart after it ("Dengan anonim, saya
    melaporkan ...", "with anonymous ..."): not read as a flag there, but anonymity may be what was asked, and a
    number withheld once too often is the safe error. A status command before it too ("cek anonim, kades minta uang"):
    with no Tracking ID after it the message is a report of its words, and the ANONIM in them was the citizen's."""
    word, end, separated = _leading_word_at(text, 0)
    if not separated or not word:  # emoji, our short code or handle first ("1708 dan anonim ..."): read past them
        word, end, separated = _leading_word_at(text, _past_symbols_and_our_address_at(text, 0, grammar) or 0)
    if not separated or (word not in grammar.flag_openers_after_keywords and word not in grammar.status_words):
        return False
    flag = _leading_keyword_at(text, end, grammar, True)
    return flag is not None and grammar.flags[flag[0]] == "anonymous"


def _second_kind_after(text: str, at: int, past: int | None, grammar: Grammar,
                       kind: ReportKind) -> tuple[str, int] | None:
    """`_second_kind_before_flag`, else `_second_kind_at`: where the keywords after a kind word stop at `at`, our short
    code and emoji read past to `past` (None: none typed there). With none typed, both first read a kind word at `at`,
    and most reports hold none there: it is read once, and neither is asked without it. Each read it on its own, with
    our short code and emoji looked for again: a fortieth of a report's parse."""
    if past is None:
        word = _leading_table_word_at(text, at, grammar, False)
        if word is None or word[0] not in grammar.kinds:
            return None
    return _second_kind_before_flag(text, at, grammar) or _second_kind_at(text, at, grammar, kind)


def _second_kind_before_flag(text: str, at: int, grammar: Grammar) -> tuple[str, int] | None:
    """(a kind word, where the kind words typed at `at` end) when more kind words, emoji or our short code are typed
    at `at` with a flag word after them ("LAPOR WBS ANONIM ...", "LAPOR! LAPOR ANONIM ..." copied from help with our
    name before it, "LAPOR WBS 1708 ANONIM ..."); else None. The word named is the first that is not the generic
    "LAPOR". Left as the text's first words, the ANONIM after them was the citizen's words and their number reached the
    agency. Followed by anything else the words stay theirs ("LAPOR info jalan ditutup ..."). One pass over the run,
    read once: the caller's loop moves past all of it."""
    named: str | None = None
    while True:
        past = _past_symbols_and_our_address_at(text, at, grammar)
        at = at if past is None else past
        kind = _leading_table_word_at(text, at, grammar, False)
        if kind is None or kind[0] not in grammar.kinds:
            break
        if named is None or grammar.kinds[named] is ReportKind.COMPLAINT:
            named = kind[0]
        at = kind[1]
    if named is None or _leading_keyword_at(text, at, grammar, True, True) is None:
        return None
    return named, at


def _second_kind_at(text: str, at: int, grammar: Grammar, kind: ReportKind) -> tuple[str, int] | None:
    """(the kind word, where it ends) when, after the generic "LAPOR" (`kind` still a complaint), the text goes on with
    a kind word no prose opens with (`[second_kinds]`: "LAPOR! WBS pungli ...", help's form after our name); else
    None. Left as the text's first word, a whistleblower's report was filed as a plain complaint."""
    if kind is not ReportKind.COMPLAINT:
        return None
    taken = _leading_table_word_at(text, at, grammar, False)
    return taken if taken is not None and taken[0] in grammar.second_kinds else None


def _leading_table_word_at(text: str, at: int, grammar: Grammar, explicit: bool) -> tuple[str, int] | None:
    """`_leading_keyword_at` without the words that introduce a flag."""
    wrapped = _WRAPPED_WORD.match(text, at)
    if wrapped is not None and _paired(wrapped.group("open"), wrapped.group("close")):
        word, end, separated = fold_word(wrapped.group("word")), wrapped.end(), True
        if wrapped.group("sep")[:1] in HASH and wrapped.group("sep"):  # "(ANONIM)#SaveKPK ...": the hashtag kept
            end = _glued_hash_end(text, wrapped.start("sep"), grammar, keeps_hashtag=True)
    elif (first := _flag_group_first_at(text, at, grammar)) is not None:
        return first
    else:
        word, end, separated = _leading_word_at(text, at)
        if separated and (word in grammar.flags or (word in grammar.kinds and not explicit)) and (
                typed := _LEADING_WORD.match(text, at)).group("sep")[:1] in HASH and typed.group("sep"):
            # "ANONIM#<isi>", "LAPOR#ANONIM#<isi>", "RAHASIA#<isi>"; a confidentiality word glued to a word that makes
            # a noun of the citizen's with it only in a run of fields ("ANONIM#RAHASIA#Negara ..."), else theirs
            # ("Rahasia#Negara bocor"; read as a field always, "LAPOR RAHASIA#camat terima suap" was not confidential)
            hashed = _glued_hash_end(text, typed.end("word"), grammar, keeps_hashtag=(
                grammar.flags.get(word) != "confidential" or (at > 0 and text[at - 1] in HASH)
                or not _hashed_compound_after(text, typed.end("word"), grammar.flags[word], grammar)))
            end, separated = (end, False) if hashed is None else (hashed, True)
        # Not set apart, or set apart by spaces from a closing mark ("( anonim & rahasia ) ..."): its group's last.
        if word in grammar.flags and (not separated or (end < len(text) and text[end] in _TAG_CLOSE_CHARS)) and (
                last := _flag_group_last_at(text, at, grammar)) is not None:
            return last
        if separated and _glued_by_plus_to_a_word_of_theirs(text, at, end, word, grammar):
            separated = False
    if (separated or _blank_from(text, end)) and (word in grammar.flags or (word in grammar.kinds and not explicit)):
        return word, end
    return None


def _glued_by_plus_to_a_word_of_theirs(text: str, at: int, end: int, word: str, grammar: Grammar) -> bool:
    """Whether the kind or confidentiality word at `at` is joined by a "+" typed right after it to a word that is none
    of ours: "Rahasia+Negara bocor", "private+public partnership" are the citizen's words (read as a flag, they were
    taken off the text and the report made confidential), "ANONIM+RAHASIA", "LAPOR+ANONIM" two of ours. Not an
    anonymity word ("ANONIM+foto ..."): a number withheld once too often is the safe error."""
    if grammar.flags.get(word) == "anonymous" or (word not in grammar.flags and word not in grammar.kinds):
        return False
    match = _LEADING_WORD.match(text, at)
    glued = match.end("word") if match is not None else len(text)
    if glued >= len(text) or text[glued] not in _PLUS_CHARS:
        return False
    following, _, _ = _leading_word_at(text, end)
    return following not in grammar.flags and following not in grammar.kinds


def _paired(opening: str, closing: str) -> bool:
    return _TAG_PAIRS.get(unicodedata.normalize("NFKC", opening)) == unicodedata.normalize("NFKC", closing)


def _only_flag_words(words: str, grammar: Grammar, *, closed: bool) -> bool:
    """Whether a group's words (`closed`: all of them; else those before its last, a flag word) are flag words, a
    word of prose as often (`after_keywords`: "dan", "and") only between two of them: "(anonim dan rahasia) ..." was
    a named report where "ANONIM dan RAHASIA ..." and "... (anonim dan rahasia)" were anonymous."""
    folded = [fold_word(word) for word in _WORDS.findall(words)]
    return all(word in grammar.flags or (0 < index < len(folded) - closed and folded[index - 1] in grammar.flags
                                         and word in grammar.flag_openers_after_keywords)
               for index, word in enumerate(folded))


def _flag_group_first_at(text: str, at: int, grammar: Grammar) -> tuple[str, int] | None:
    """(the first flag word, where the next word of its group begins) when a group of flag words in one pair of marks
    (`_FLAG_GROUP`) opens at `at`; else None."""
    group = _FLAG_GROUP.match(text, at)
    if group is None or not _paired(group.group("open"), group.group("close")) or not _only_flag_words(
            group.group("words"), grammar, closed=True):
        return None
    first = _GROUP_FIRST.match(text, group.start("words"))
    return (fold_word(first.group("word")), first.end()) if first is not None else None


def _unclosed_group_first_at(text: str, at: int, grammar: Grammar) -> tuple[str, int] | None:
    """(the first flag word, where the next word begins) when a bracket opens a group of flag words at `at` that no
    bracket closes ("[ANONIM, RAHASIA pungli di ...", "(anonim & rahasia pungli ...", "(anonim pungli ..."): its flag
    words are read as they are with no bracket before them, the next after this one by the caller. Missed, both stayed
    the citizen's words and the whistleblower's number reached the agency. Only two flag words or more, or an
    anonymity word (in doubt a wish): a confidentiality word alone may open the citizen's own aside ("(rahasia umum
    kades ..."). None when a bracket after it closes it ("(anonim saya takut) ...": an aside, `_pleads_in_an_aside`),
    or nothing follows. Counting the brackets reads the rest of the text: the caller asks once a message."""
    opening = _UNCLOSED_OPEN.match(text, at)
    if opening is None or (first := _leading_keyword_at(text, opening.end(), grammar, True)) is None:
        return None
    words, end = [first[0]], first[1]
    while len(words) < 5 and (more := _leading_keyword_at(text, end, grammar, True, True)) is not None:
        words.append(more[0])
        end = more[1]
    if (len(words) < 2 and grammar.flags[words[0]] != "anonymous") or _blank_from(text, end):
        return None
    mark = unicodedata.normalize("NFKC", opening.group("open"))
    opens = sum(text.count(char, opening.end()) for char in with_compatibility_forms(mark))
    closing = re.escape(with_compatibility_forms(_TAG_PAIRS[mark]))
    closes = sum(1 for _ in re.compile(rf"(?<![{_NOT_CLOSING_AFTER}])[{closing}]").finditer(text, opening.end()))
    return first if closes <= opens else None


# What a bracket that closes nothing follows: a smiley's eyes or nose (":)", ";-)", "=)"), a list's number ("1)").
# Counted, the group "(ANONIM, RAHASIA pungli di kelurahan :)" left open was read as closed, its flag words prose.
_NOT_CLOSING_AFTER = r"\d:;=\-"


def _flag_group_last_at(text: str, at: int, grammar: Grammar) -> tuple[str, int] | None:
    """(the flag word, where the group and what sets it apart end) when the last word of a group of flag words in one
    pair of marks stands at `at`, its closing mark after it; else None."""
    last = _GROUP_LAST.match(text, at)
    if last is None:
        return None
    head = last.start("word") - (last.start("word") > at and text[last.start("word") - 1] in HASH)
    opened = _GROUP_BEFORE.search(text, max(0, head - _GROUP_LOOK_BACK), head)
    if (opened is None or not _paired(opened.group("open"), last.group("close"))
            or not _only_flag_words(opened.group("words"), grammar, closed=False)):
        return None
    if not (_set_apart(text, last.end(), last.group("sep")) or _blank_from(text, last.end())):
        return None
    return fold_word(last.group("word")), last.end()


def _parse_command(text: str, grammar: Grammar, language: str) -> ParsedText | None:
    word, rest, separated = _take_leading_word(text)
    if not separated and not (word in grammar.status_words and _GLUED_ID.match(rest)):
        return None
    if word in grammar.help_words:
        if _only_names_and_fillers(rest, grammar.greeting, grammar.help_followers):
            return ParsedText(action=Action.HELP, text="", language=language)
        return _status_command_after_help(rest, grammar, language)
    if word in grammar.status_words:
        return _parse_status_command(rest, grammar, language)
    return None


# The most help words, calls and fillers read before a status command ("tolong bantu cek ...", "Bantuan min, cek").
_HELP_LEAD_WORDS = 4


def _status_command_after_help(rest: str, grammar: Grammar, language: str) -> ParsedText | None:
    """The status query after a help word and any more help words, calls and fillers ("Bantuan cek <id>", "tolong
    bantu cek <id>", "Bantuan min, cek laporan <id>", "help check <id>", "Bantuan cek": how to ask); None when no status
    command follows them. Filed, the citizen asking after their report was answered with a new Tracking ID and their
    question went to an agency. As a status question reads "tolong cek <id>" (`_parse_status_question`): a valid ID
    and nothing after it; words after it ("tolong cek <id> jalan masih rusak") or a mistyped ID stay a report. A loop,
    not `_parse_command` again: "bantuan " repeated must not recurse."""
    at = 0
    for _ in range(_HELP_LEAD_WORDS):
        word, end, separated = _leading_word_at(rest, at)
        if word in grammar.status_words and (separated or _GLUED_ID.match(rest, end)):
            asked = _parse_status_command(rest[end:], grammar, language)
            if asked is not None and (asked.action is Action.STATUS_HELP
                                      or (asked.action is Action.STATUS and not asked.text)):
                return asked
            return None
        if not separated or not (word in grammar.help_words or word in grammar.calls
                                 or word in grammar.greeting.fillers):
            return None
        at = end
    return None


def _parse_status_command(rest: str, grammar: Grammar, language: str) -> ParsedText | None:
    """The query of a status command whose words after it are `rest` ("CEK <id>", "CEK", "CEK laporan saya"); None
    when they are a report's ("Cek 2 lampu jalan mati ...")."""
    # Flag words between the command and the ID ("CEK ANONIM 10000004") are skipped as fillers are: read as the
    # ID, the query was filed as a named report of its words. They change nothing for the query; sent with a
    # photo, they go with it to the report (normalizer/pipeline.py).
    flags: set[str] = set()
    at = _past_fillers_at(rest, 0, grammar, flags)
    # "CEK 1708 10000004": our short code copied from "kirim ke 1708" read with the ID as one 12-digit number.
    # Emoji there are read past as at the start ("CEK 🙏 10000004", "CEK🙏10000004"); missed, the query was filed
    # as a new report. Each turn moves a position on, and the text is sliced once after it: linear in the text.
    while (past := _past_symbols_and_our_address_at(rest, at, grammar)) is not None and not _blank_from(rest, past):
        at = _past_fillers_at(rest, past, grammar, flags)
    after_fillers = rest[at:].lstrip(_ID_OPEN)
    if (misread := _misread_id(after_fillers)) is not None and "," in after_fillers[:misread[1]] and not (
            _is_punctuation(tail := after_fillers[misread[1]:]) or is_courtesy(tail, grammar)):
        # Grouped by commas with words after it ("Cek 12,500,000 dana desa tidak jelas": "cek" is a cheque too): an
        # amount, the citizen's words. Read as an ID, the complaint went unfiled, answered with another's status.
        return None
    candidate = _status_candidate(after_fillers, misread, grammar)
    if not candidate or _asks_status(after_fillers, grammar, flags, after_command=True):
        # A bare "CEK", "CEK laporan saya", or other words of a status question and no ID ("CEK laporan kemarin",
        # "cek dong"): the citizen needs to know how to ask, and where their Tracking ID is. Its flags are kept
        # for a photo sent with it ("CEK ANONIM" and a picture: a report of it, anonymous).
        return _status_help(language, flags)
    if is_valid_tracking_id(candidate):
        # Words after it that tell the report something are a follow-up of it, with a photo or without (the words
        # and their flags go to the report: normalizer/pipeline.py); a question, thanks or urging stay the query.
        words = _follow_up_flags(_words_after_status_id(after_fillers, misread, grammar), grammar, flags)
        return ParsedText(action=Action.STATUS, text=words, tracking_id=candidate, language=language,
                          anonymous="anonymous" in flags, confidential="confidential" in flags)
    if looks_like_tracking_id(candidate) or _ONLY_A_NUMBER.fullmatch(after_fillers):
        # A number too short or too long for an ID and nothing else ("CEK 12345"): a status query with the
        # number mistyped, not a complaint of its own.
        return ParsedText(action=Action.BAD_TRACKING_ID, text="", tracking_id=candidate, language=language,
                          anonymous="anonymous" in flags, confidential="confidential" in flags)
    return None


def _only_names_and_fillers(text: str, table: WordTable, also: frozenset[str] = frozenset()) -> bool:
    """Whether the text's words are only `table`'s fillers, our names and the words in `also` (none at all too:
    punctuation, emoji), as they may stand around a greeting: after a help word ("BANTUAN 1708", "HELP LAPOR", "Bantuan
    min", "REG spasi LAPOR" as help's "ketik REG spasi LAPOR" reads with `[commands] spelled_spaces`), filed, each was
    a case of the citizen's request for the usage text, acknowledged as a report."""
    for word in _folded_tokens(text):
        if word not in also and not any(form in table.fillers or form in table.names
                                        for form in (word, _squeeze(word))):
            return False
    return True


def _asks_status(text: str, grammar: Grammar, flags: set[str], *, after_command: bool, named: bool = False,
                numbers: list[str] | None = None) -> bool:
    """Whether the text is a status question without a Tracking ID (`[status_questions]`): every word one of its
    words, at most `max_words` of them; after a status command any of them ("cek dong"), on its own a topic word and a
    question word or a closing "?" ("gimana laporan saya?"); a word of what became of the report (`states`) only with
    that "?" ("sudah diproses belum laporan saya?"). Its flag words are added to `flags`. With `numbers`, one
    number may stand among the words, added to it ("gimana laporan 12345678?": the caller decides whether it is a
    Tracking ID); a topic word and that number ask without a question word too ("perkembangan laporan 12345678").
    `named`: the words follow a Tracking ID, which names the report as a topic word does ("12345678 gimana?",
    "12345678 sudah sampai mana"). A loop that stops at the first other word (or a second number): most messages
    name something at their first or second word ("cek harga beras ...")."""
    count, topic, asks, states, command = 0, after_command or named, after_command, False, False
    # After a status command and its ID, `[status_questions.after_id]` adds its words, read squeezed too ("lamaaa").
    after_id = after_command and named
    vocabulary = grammar.after_id_vocabulary if after_id else grammar.status_question_vocabulary
    state_words = grammar.after_id_states if after_id else grammar.status_question_states
    topics = grammar.after_id_topics if after_id else grammar.status_question_topics
    question_words = grammar.after_id_asks if after_id else grammar.status_question_asks
    pairs = grammar.after_id_fillers_before if after_id else grammar.status_question_fillers_before
    asking = False
    # The loop reads a word and the one after it, and returns at the word past `max_words`: a long text's first words
    # alone are folded for it (`_first_folded_tokens`); all of them when it has no more.
    words = _first_folded_tokens(text, grammar.status_question_max_words + 2)
    if after_id:
        words = [word if word in vocabulary or word in state_words else grammar.after_id_squeezed.get(
            _squeeze(word), word) for word in words]
    durations = grammar.status_question_durations
    for at, word in enumerate(words):
        count += 1
        command = (command or word in grammar.status_words or word in grammar.status_question_checks
                   or (at > 0 and (words[at - 1], word) in grammar.status_question_check_pairs))
        if count > grammar.status_question_max_words:
            return False
        if _filler_out_of_place(word, words[at + 1:at + 2], grammar, pairs):
            return False
        if word in durations and at > 0 and words[at - 1].isdigit():
            continue  # "Sudah 2 minggu ...": the number before it, read past, was a duration
        asking = asking or word in grammar.after_id_asking
        if word not in vocabulary:
            if word in state_words:
                states = True
                continue
            if word.isdigit() and at + 1 < len(words) and words[at + 1] in durations:
                continue
            if numbers is None or numbers or not word.isdigit():
                return False
            numbers.append(word)
            continue
        if word in grammar.flags:
            flags.add(grammar.flags[word])
        topic = topic or word in topics
        asks = asks or word in question_words
    question = text.rstrip(_AFTER_QUESTION).endswith(_CLOSING_QUESTION) or (
        # "sudah ditanggapi belum": the "sudah ... belum" of a question, its "?" left out
        bool(words) and words[-1] in grammar.status_question_closings
        and not grammar.status_question_closings_after.isdisjoint(words[:-1]))
    # A status command and a number name the report asked about as a topic word does ("tolong cek 12345678", "min cek
    # 12345678"): filed, each was a new report answered with a new Tracking ID instead of the status.
    topic = topic or (command and bool(numbers))
    # What became of it, asked with nothing else ("sudah diproses?", "udah ditindaklanjuti belum?"): of the report,
    # there being nothing else named; filed, each was a case of the question.
    topic = topic or (states and question)
    # After a status command and its ID what became of it is asked about with a "?", "sudah ... belum", a question
    # word or a request (`asking`: "CEK <id> kapan selesai", "CEK <id> mohon ditindaklanjuti"); stated without them
    # ("CEK <id> sudah diperbaiki, terima kasih", "CEK <id> belum ada tindakan") it is the citizen's word on the
    # outcome, an addition to the report, as anywhere else a grievance stays the citizen's words.
    return (count > 0 and topic and (asks or question or bool(numbers))
            and (question or not states or (after_id and asking)))


def _filler_out_of_place(word: str, after: list[str], grammar: Grammar,
                         pairs: frozenset[tuple[str, str]] | None = None) -> bool:
    """Whether `word` is a filler read only before certain words (`pairs`, by default `status_question_fillers_before`)
    and `after` (the next word, if any) is none of them: "smp" in "nomor SMP berapa?" names a school, not "sampai"."""
    pairs = grammar.status_question_fillers_before if pairs is None else pairs
    return word in grammar.status_question_fillers and (word, after[0] if after else "") not in pairs


def _parse_status_question(text: str, grammar: Grammar, language: str, shortest_id: int,
                           flags: set[str] | None = None) -> ParsedText | None:
    """A status question without a status command first ("gimana laporan saya?", "what is the status of my report",
    "tolong cek laporan saya"): answered as a bare "CEK" is. With one valid Tracking ID among its words and nothing
    else ("gimana laporan 12345678?", "laporan 12345678 sudah sampai mana?", "where is my report 12345678"), the
    status query for it: the words name that report and ask how it is doing. Filed, each was a new report under the
    citizen's number (a new Tracking ID for a question about the old one). A number that is no valid ID (a check
    digit that fails, shorter than any ID minted) leaves it to the rules that read it without this question: a
    mistyped ID is answered as one only where it would be anyway. `flags`: read before the text (a flag word, a kind
    word's), the question's own added to them."""
    flags = set() if flags is None else flags
    numbers: list[str] = []
    if not _asks_status(text, grammar, flags, after_command=False, numbers=numbers):
        return None
    if not numbers:
        return _status_help(language, flags)
    candidate = normalize_tracking_id(numbers[0])
    if len(candidate) < shortest_id or not is_valid_tracking_id(candidate) or _is_prose_number(candidate, candidate):
        return None
    return ParsedText(action=Action.STATUS, text="", tracking_id=candidate, language=language,
                      anonymous="anonymous" in flags, confidential="confidential" in flags)


def _status_help(language: str, flags: set[str]) -> ParsedText:
    """How to ask for a status, its flags kept for a photo sent with it (a report of it, normalizer/pipeline.py)."""
    return ParsedText(action=Action.STATUS_HELP, text="", language=language, anonymous="anonymous" in flags,
                      confidential="confidential" in flags)


# A Tracking ID written as a number is ("10,000,004": grouped in thousands, as a calculator or a bank's SMS shows one)
# or with the letter O for a zero ("1OOOOOO4", copied by hand or read aloud) or a lowercase l or capital I for a one
# ("l0000004": filed, it was a new report), a word of its own. A comma after it ends it as after a plain ID ("CEK
# 10,000,004, terima kasih"); one before a digit goes on with the number.
_MISREAD_ID = re.compile(r"(?:\d{1,3}(?:,\d{3}){1,6}|[\dOoIl]{6,24})(?!\w|,\d)")
_MISREAD_AS_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", ",": None})


def _misread_id(rest: str) -> tuple[str, int] | None:
    """(the ID, where it ends) when `rest`, the words after a status command, opens with a Tracking ID misread as
    `_MISREAD_ID` says and valid once read as digits; else None. Only after a status command, and only a valid ID:
    "25,000 diminta ..." and "O2O" stay words. Missed, "CEK 10,000,004" was a new report and got a new Tracking ID."""
    match = _MISREAD_ID.match(rest)
    if match is None or match.group().isdigit():
        return None
    candidate = match.group().translate(_MISREAD_AS_DIGITS)
    return (candidate, match.end()) if is_valid_tracking_id(candidate) else None


def _status_candidate(rest: str, misread: tuple[str, int] | None, grammar: Grammar) -> str:
    """The ID after a status command: a misread ID (`misread`: `_misread_id` of `rest`), the digits at the start
    ("CEK 1000 0004"), or its first word."""
    if misread is not None:
        return misread[0]
    digits = _LEADING_ID.match(rest)
    if digits is not None:
        return _id_in(digits, after_a_command=grammar)[0]
    return normalize_tracking_id(rest.strip().split()[0]) if rest.strip() else ""


# What only an amount has glued after its digits: Indonesian's ",-" ("Rp 12.500.000,-"), a rate ("/bulan", "/orang")
# and the "-an" of "about" ("12500000-an"). No Tracking ID is written so.
_AMOUNT_SUFFIX = re.compile(r",-|-an\b|/[^\W\d_]", re.IGNORECASE)
# Of those, the one only an amount takes: "/" may set words apart from a Tracking ID ("CEK 10000004/pelaku ..."), and
# "-an" glued to one is no amount's either ("CEK 10000004-an pelaku": a typo, the words the report's).
_AMOUNT_ONLY_SUFFIX = re.compile(r",-")
# What closes an ID a status command named ("CEK (12345678) foto", "CEK *12345678*: foto").
_STATUS_ID_CLOSE = _ID_CLOSE + with_compatibility_forms("\"'*)>]}") + "»”’"


def _words_after_status_id(rest: str, misread: tuple[str, int] | None, grammar: Grammar) -> str:
    """The citizen's words after a status command's ID ("CEK 12345678 foto jalannya"; `misread`: `_misread_id` of
    `rest`): a status query answers without them, but sent with a photo they describe it and go with it to the report
    (normalizer/pipeline.py)."""
    digits = _LEADING_ID.match(rest)
    if misread is not None:
        after = rest[misread[1]:]
    elif digits is not None:
        after = rest[_id_in(digits, after_a_command=grammar)[2]:]
    else:
        words = rest.strip().split(maxsplit=1)
        after = words[1] if len(words) > 1 else ""
    after = after.lstrip(_STATUS_ID_CLOSE).strip()
    return "" if _is_punctuation(after) else after


def _id_in(digits: re.Match[str], *, after_a_command: Grammar | None = None) -> tuple[str, str, int]:
    """The ID in a `_LEADING_ID` match, as (digits, as typed, where it ends in the text). A first word of an ID's
    shape is the ID, valid or not: what follows is the text's ("10000004 2 motor jatuh lagi"). An ID typed in groups
    ("1000 0004") is the first run of groups that is a valid one; failing that, the first of an ID's shape (a
    mistyped one), or all of them. `after_a_command` (the grammar, after a status command): a first word whose check
    digit fails gives way to a longer run that holds, where nothing but thanks or a status question's words follow it
    ("CEK 1000000 4", "CEK 1000000 4 terima kasih", the check digit typed apart: answered "1000000 not valid")."""
    start, typed = digits.start("id"), digits.group("id")
    runs = [typed[:group.end()] for group in re.finditer(r"\S+", typed)]
    shaped = [run for run in runs if looks_like_tracking_id(run)]
    if looks_like_tracking_id(runs[0]):
        run = runs[0]
        if after_a_command is not None and not is_valid_tracking_id(run):
            # Not before other words: "cek 1500000 5 bulan gaji honorer belum dibayar" is an amount and the citizen's
            # words, and read as an ID (one amount in ten has a check digit that holds) it was answered with another
            # report's status.
            after = digits.string[start:]
            run = next((longer for longer in runs[1:] if is_valid_tracking_id(longer)
                        and _asks_nothing_more(after[len(longer):], after_a_command)), run)
    else:
        run = next((run for run in shaped if is_valid_tracking_id(run)), shaped[0] if shaped else typed)
    return normalize_tracking_id(run), run, start + len(run)


def _asks_nothing_more(words: str, grammar: Grammar) -> bool:
    """Whether the words after a status query's ID add nothing to it: none, thanks, or a status question's."""
    return (not any(char.isalnum() for char in words) or is_courtesy(words, grammar)
            or _asks_status(words, grammar, set(), after_command=True, named=True))


def addition_of_a_status_query(parsed: ParsedText, typed: str, grammar: Grammar | None = None, *,
                               shortest_id: int = MIN_LENGTH) -> ParsedText | None:
    """The follow-up a status query's words after its ID make of it (`parse_text`'s reading of `typed`, the message):
    its words, flags (a flag word, privacy asked in words) and ID as a photo sent with it files them; None when they
    add nothing (`adds_to_the_report`). One of our answers sent back that opens as a status command does ("LAPOR!
    Status laporan <id> belum bisa dicek saat ini. ..."): read as our answers sent back are (`_parse_quoted_reply`),
    the citizen's words beside it alone, none of ours."""
    grammar = grammar or load_grammar()
    if parsed.action is not Action.STATUS or not parsed.text or parsed.tracking_id is None:
        return None
    quoted = _parse_quoted_reply(typed, grammar, parsed.language, shortest_id)
    if quoted is not None and quoted.tracking_id == parsed.tracking_id:
        if quoted.action is not Action.FOLLOW_UP:
            return None
        added = replace(quoted, anonymous=quoted.anonymous or parsed.anonymous,
                        confidential=quoted.confidential or parsed.confidential)
        return _with_flags_asked_in_words(added, grammar, typed)
    return replace(parsed, action=Action.FOLLOW_UP) if adds_to_the_report(parsed.text, grammar) else None


def adds_to_the_report(words: str, grammar: Grammar) -> bool:
    """Whether the words after a status query's Tracking ID ("CEK 12345678 kepala dinas minta setoran lagi") tell the
    report something new, rather than only ask after it, thank or urge (`_asks_nothing_more`: "sudah sampai mana?",
    "kok lama", "mohon ditindaklanjuti", "terima kasih"; `[status_questions]`), or are words of our own status
    answers copied with the ID ("Silakan kirim CEK <id> ke 1708 lagi nanti.", "... belum bisa dicek saat ini.").
    Answered with the status alone, such words were dropped: a whistleblower's new information lost. A number alone
    is none of theirs to add."""
    if not any(char.isalpha() for char in words) or _asks_nothing_more(words, grammar):
        return False
    return not _copied_from_a_status_answer(words)


def _copied_from_a_status_answer(words: str) -> bool:
    """Whether the words (Tracking IDs read past) run as they do in one of our status answers with a status named in
    it (`_status_answer_runs`: "ke 1708 lagi nanti", "sedang ditindaklanjuti", "belum bisa dicek saat ini"). Their
    words in another order or put together are the citizen's on the outcome ("belum selesai", "ditolak lagi", "not
    resolved", "belum diteruskan ke instansi"): dropped as ours, the word on the report was lost, where the answer
    gives the status either way."""
    typed = tuple(word for word in _folded_tokens(words) if not _AN_ID_TOKEN.fullmatch(word))
    if not typed or not set(typed) <= _status_answer_words():
        return False
    return any(_runs_in(typed, run) for run in _status_answer_runs())


def _runs_in(typed: tuple[str, ...], run: tuple[str, ...]) -> bool:
    """Whether `typed` stands in `run` word for word, one after the other."""
    return any(run[at:at + len(typed)] == typed for at in range(len(run) - len(typed) + 1))


# A Tracking ID's token in our answers' words, read past: the ID is a placeholder in the templates.
_AN_ID_TOKEN = re.compile(r"\d{6,}")


@lru_cache(maxsize=1)
def _status_answer_runs() -> tuple[tuple[str, ...], ...]:
    """Our status answers' words in their order (`_STATUS_ANSWER_KEYS`, current and former texts, both languages),
    each status name put in for `{status}`, and the status names alone, folded."""
    replies = load_replies()
    names = [name for by_language in replies["status_names"].values() for name in by_language.values()]
    texts = [template.replace("{status}", name) if "{status}" in template else template
             for key in _STATUS_ANSWER_KEYS for language in ("id", "en")
             for template in reply_templates(replies[key], language) for name in names]
    return tuple(dict.fromkeys(tuple(_folded_tokens(re.sub(r"\{\w+\}", " ", text))) for text in texts + names))


# Our answers to a status query (config/replies.toml), whose words a citizen copies back with the ID.
_STATUS_ANSWER_KEYS = ("status", "status_retry", "status_pending", "status_unknown")


@lru_cache(maxsize=1)
def _status_answer_words() -> frozenset[str]:
    """The words of our answers to a status query and of the status names (`_status_answer_runs`), folded: "kirim",
    "ke", "1708", "lagi", "nanti", "belum", "bisa", "dicek", "diterima"."""
    return frozenset(word for run in _status_answer_runs() for word in run)


def _skip_fillers(rest: str, grammar: Grammar, flags: set[str] | None = None,
                  fillers: frozenset[str] | None = None) -> str:
    """Drop filler words between a status command and the ID: "CEK laporan no. 12345678". With `flags`, flag words
    too ("CEK ANONIM 12345678", "cek [rahasia] no. 12345678"), added to it. `fillers`: other words to drop than the
    status command's (a follow-up label's: "Tambahan untuk laporan 12345678")."""
    return rest[_past_fillers_at(rest, 0, grammar, flags, fillers):]


def _past_fillers_at(text: str, at: int, grammar: Grammar, flags: set[str] | None = None,
                     fillers: frozenset[str] | None = None) -> int:
    """Where the fillers (and with `flags`, flag words) `_skip_fillers` drops from `at` end. A position: "CEK " and
    "laporan " 20,000 times is read in one pass, where taking the text after each word copied it each turn."""
    fillers = grammar.status_fillers if fillers is None else fillers
    after_flag = False
    while True:
        if flags is not None and (taken := _leading_keyword_at(text, at, grammar, True, after_flag)) is not None:
            flag, at = taken
            flags.add(grammar.flags[flag])
            after_flag = True
            continue
        after_flag = False
        word, end, separated = _leading_word_at(text, at)
        if not word or word not in fillers or not separated:
            return at
        at = end


def _parse_follow_up(text: str, grammar: Grammar, language: str, shortest_id: int, *,
                     ours: bool = False) -> ParsedText | None:
    """A Tracking ID first: with words after it a follow-up, alone a status query, with a check digit that fails a
    mistyped ID; None when the number is prose. The ID may stand in brackets or quotes, as help shows it ("<nomor
    lacak>": "<12345678> jalan masih rusak", "(12345678): ..."), as after a status command; missed, the addition was
    a new report under the sender's number, an anonymous report's reporter's too. The ID typed names the report for
    a status question after it as a topic word does ("12345678 gimana?"); not with `ours`, the ID of one of our
    answers sent back, whose words of the citizen's are added to the report as the forward's rule says."""
    unmarked = text.lstrip(_ID_OPEN)
    marked = unmarked != text.lstrip()
    digits = _LEADING_ID.match(unmarked)
    if digits is None or _is_prose_number(digits.group("id"), normalize_tracking_id(digits.group("id"))):
        return None
    candidate, typed, end = _id_in(digits)
    if not looks_like_tracking_id(candidate) or _is_prose_number(typed, candidate):
        return None
    rest = unmarked[end:].lstrip(_STATUS_ID_CLOSE if marked else _ID_CLOSE).strip()
    if _is_punctuation(rest):  # "12345678?", "12345678 ??": a question about the report, nothing to add to it
        rest = ""
    # Marked as an ID by a "#" or help's brackets ("#10000004 orang itu datang lagi", "<10000004> jiwa saya
    # terancam"), a count's noun after it is the citizen's word, only a unit that follows nothing but an amount not.
    # So after any valid ID: a count's noun, "per" or "rp" opens the citizen's words about the report as often as it
    # counts ("Tambahan: <id> kk saya dicoret", "<id> jiwa saya terancam", "<id> per hari ini ..."); read as an
    # amount, the addition was a new named report holding the ID, an anonymous report's reporter beside it.
    # Written as an amount (",-", "-an", "/bulan" glued to it) it stays one unless marked.
    as_an_id = marked or unmarked[:digits.start("id")].strip() != ""
    units = grammar.amount_only_units if as_an_id or is_valid_tracking_id(candidate) else grammar.amount_units
    if (_AMOUNT_ONLY_SUFFIX if as_an_id else _AMOUNT_SUFFIX).match(unmarked, end) or (
            (unit := _TOKENS.match(rest)) is not None and fold_word(unit.group()) in units):
        # An amount or a count whose check digit happens to hold ("Untuk 12500000 rupiah dana desa dipotong", "About
        # 4500000 rupiah was taken"), or written as one ("12500000,- diminta", "12500000/bulan", "12500000-an"):
        # read as an ID, the complaint went to another report, or to none, unfiled.
        return None
    if rest and len(candidate) < shortest_id:
        # Shorter than any ID that may have been minted, and words follow: an amount ("500000 diminta petugas"),
        # a case or receipt number. Read as a mistyped ID, the complaint would be answered and never filed.
        return None
    if not is_valid_tracking_id(candidate):
        return ParsedText(action=Action.BAD_TRACKING_ID, text=text, tracking_id=candidate, language=language)
    flags: set[str] = set()
    rest = _follow_up_flags(rest, grammar, flags)
    # The question's flag words are read into a copy: in an addition's prose they are the citizen's ("12345678 nomor
    # anonim meneror saya" was an anonymous addition).
    asked = set(flags)
    if not rest or _only_a_status_command(rest, grammar) or _asks_status(rest, grammar, asked, after_command=False,
                                                                         named=not ours):
        # A Tracking ID on its own asks how that report is doing (its flags are kept for a photo sent with it), and
        # so does one followed by a status command ("12345678 cek status"): the query in the other order. Filed,
        # the agency got "cek status" as an addition and the citizen no status. So does one followed by a status
        # question and nothing else ("12345678 laporan saya sudah sampai mana?", "12345678 gimana?",
        # `[status_questions]`): the ID names the report a topic word would.
        return ParsedText(action=Action.STATUS, text="", tracking_id=candidate, language=language,
                          anonymous="anonymous" in asked, confidential="confidential" in asked)
    return ParsedText(action=Action.FOLLOW_UP, text=rest, tracking_id=candidate, language=language,
                      anonymous="anonymous" in flags, confidential="confidential" in flags)


def _parse_labelled_follow_up(text: str, grammar: Grammar, language: str, shortest_id: int) -> ParsedText | None:
    """An addition labelled as help's "Tambahan: <nomor lacak> <isi>" teaches ("Tambahan: 12345678 jalan masih
    rusak", "TAMBAHAN untuk laporan 12345678: ...", "Addition: 12345678 ..."): read as the ID first is ("<id>
    <isi>"), with flag words between the label and the ID ("Tambahan ANONIM 12345678 ...") on top of the follow-up's
    own. Filed as a report, the addition never reached its report, and it carried the sender's number even when that
    report is anonymous.

    Only with a number right after the label and its fillers: after any other word the label is the citizen's own
    ("Tambahan biaya 50000 diminta petugas"), and so is a number `_parse_follow_up` takes for prose (an amount, a
    date, a phone number, one shorter than any ID minted followed by words), or a number that fails the ID's check
    with words after it, right after the word ("Tambahan 25000000 rupiah diminta petugas", an extra charge): None, a
    report of the whole text; answered "not valid", that complaint was never filed. Written as help's label (a colon,
    fillers or a flag word before the number: "Tambahan: 12345672 ..."), a mistyped ID is answered as such."""
    word, rest, separated = _take_leading_word(text)
    if word not in grammar.follow_up_words or not separated:
        return None
    flags: set[str] = set()
    after = _skip_fillers(rest, grammar, flags, grammar.follow_up_fillers)
    if _LEADING_ID.match(after.lstrip(_ID_OPEN)) is None:
        return None
    parsed = _parse_follow_up(after, grammar, language, shortest_id)
    if parsed is None or (_mistyped_id_and_words(parsed) and not _written_as_a_label(text, rest, after)):
        return None
    return _with_flags(parsed, flags)


def _written_as_a_label(text: str, rest: str, after: str) -> bool:
    """Whether "Tambahan" was written as help's label: a colon right after it, or fillers or flags before the number."""
    return after != rest or text.lstrip()[: len(text.lstrip()) - len(rest)].rstrip().endswith(":")


def _only_a_status_command(text: str, grammar: Grammar) -> bool:
    """Whether the words after a Tracking ID are a status command and its fillers alone ("cek", "cek status?",
    "check my report"), with punctuation at most: nothing to add to the report."""
    words = [fold_word(word) for word in _TOKENS.findall(text)]
    return (any(word in grammar.status_words for word in words)
            and all(word in grammar.status_words or word in grammar.status_fillers for word in words)
            and _is_punctuation(_TOKENS.sub("", text)))


def _follow_up_flags(rest: str, grammar: Grammar, flags: set[str]) -> str:
    """The text of a follow-up without the flags it asks for, added to `flags`: flag words opening it ("<id> ANONIM
    ..."), as hashtags anywhere ("... #anonim") and closing it ("..., RAHASIA"), as a report's are read. Read as the
    follow-up's words, an anonymous addition to a named report (a witness adding to someone else's report) carried the
    sender's number to the agency. A kind word stays the citizen's: a follow-up has its report's kind."""
    at, after_flag = 0, False
    while (taken := _leading_keyword_at(rest, at, grammar, True, after_flag)) is not None:
        word, at = taken
        flags.add(grammar.flags[word])
        after_flag = True
    rest = rest[at:]  # once, after the loop: a copy a turn made repeated flag words cost time quadratic in them
    flags.update(hashtag_flags(rest, grammar))
    return _text_without_flags(rest, grammar, flags)


def hashtag_flags(text: str, grammar: Grammar) -> set[str]:
    """The flags the hashtags anywhere in `text` ask for, read as a report's are (`_read_hashtag`: "#WBS_Anonim",
    "#anonim+rahasia"; not "#rahasia_negara" nor a negated "bukan #rahasia"): a mail's body reads them so too."""
    flags: set[str] = set()
    for match in _HASHTAG.finditer(text):
        flags.update(_read_hashtag(match, grammar)[0])
    return flags


def _hashtag_flags(tag: str, grammar: Grammar) -> list[str]:
    """The flags a hashtag asks for: a flag word's ("#anonim", "#WBS_Anonim"), or those of flag words joined by "_"
    ("#anonim_rahasia": it was a named report); none for any other ("#rahasia_negara")."""
    folded = fold_word(tag)
    if folded in grammar.flags:
        return [grammar.flags[folded]]
    parts = [fold_word(part) for part in tag.split("_")] if "_" in tag else []
    return [grammar.flags[part] for part in parts] if parts and all(part in grammar.flags for part in parts) else []


def _read_hashtag(match: re.Match[str], grammar: Grammar) -> tuple[list[str], str]:
    """(the flags a `_HASHTAG` match asks for, what of it stays in the text). Flag words joined by "+" are one tag
    ("#anonim+rahasia", "#anonim+#rahasia"): all their flags, all of it taken out. From the first word joined that is
    none ("#anonim+foto") the rest stays as typed ("+foto"). A tag negated ("bukan #rahasia") stays whole, an
    anonymity word's flag still read (in doubt a wish)."""
    flags = _hashtag_flags(match.group("tag"), grammar)
    if _negation_start(match.string, match.start(), grammar) is not None:
        return [flag for flag in flags if flag == "anonymous"], match.group(0)
    if not flags:
        return [], match.group(0)
    if len(flags) == 1 and match.end() == match.end("tag") and _compound_after(match.string, match.end(), flags[0],
                                                                                 grammar):
        # "Ada #rahasia negara yang dijual": the flag is set, the tag stays the citizen's noun (taken out, the report
        # read "Ada negara yang dijual": the state for sale).
        return flags, match.group(0)
    kept = match.end("tag")
    for part in _JOINED_TAG.finditer(match.string, kept, match.end()):
        more = _hashtag_flags(part.group("tag"), grammar)
        if not more:
            break
        flags.extend(more)
        kept = part.end()
    return flags, match.string[kept:match.end()]


def _text_without_flags(rest: str, grammar: Grammar, flags: set[str]) -> str:
    """A report's or a follow-up's words once its leading keywords are read: without its flag hashtags (the caller
    read them), its closing flags (added to `flags`), the separators left before it and help's placeholder marks;
    the citizen's own closing punctuation stays."""
    if _HASH_MARK.search(rest) is not None:
        rest = _HASHTAG.sub(lambda match: _read_hashtag(match, grammar)[1], rest)
    rest = _take_trailing_flags(rest, grammar, flags)
    return _without_placeholder_marks(_SPACE_RUNS.sub(" ", rest).lstrip(_TEXT_OPEN).rstrip(), grammar)


# What the words after leading flag words may ask without filing anything new: the flags change none of these.
_FLAGGED_QUERIES = frozenset({Action.STATUS, Action.FOLLOW_UP, Action.HELP, Action.STATUS_HELP,
                              Action.BAD_TRACKING_ID})
# What they may ask after a kind word: a status query ("WBS CEK <id>", "LAPOR ANONIM CEK <id>", "LAPOR <id>"), not
# help ("LAPOR bantuan sosial tidak cair" is a complaint), a follow-up ("LAPOR 15000005 rupiah diminta ...": a number
# with a check digit that holds may be an amount, filed with its words) nor a mistyped ID: "LAPOR 15000000" is what
# `[bad_tracking_id]` tells a citizen to send to file a number it refused as an ID.
_QUERIES_AFTER_KIND = frozenset({Action.STATUS, Action.STATUS_HELP})


def _flagged_query(rest: str, grammar: Grammar, language: str, shortest_id: int, flags: set[str], *,
                   after_kind: bool = False, addressed: bool | None = None,
                   commanded: bool = False) -> ParsedText | None:
    """What the words after leading flag words ask when it is no new report, read as they are without the flags,
    with those flags on top of their own. Help's earlier "Tambah ANONIM ..." led people to put the flag before anything:
    "ANONIM <id> saya saksi" (a follow-up), "ANONIM CEK <id>", "RAHASIA laporan <id>" (status queries), "ANONIM CEK"
    (how to ask). Filed as a new report, the addition never reached its report, and the query became a case holding only
    a command and a number. For a query the flags change nothing; sent with a photo, which makes it a follow-up or a
    report (normalizer/pipeline.py), they keep it anonymous or confidential.

    None when the words are a report (the flags kept for it), also when they open with a mistyped ID and more words
    ("ANONIM 12345672 petugas minta uang": they may be the complaint); a mistyped ID alone, or after a status command,
    is the query it is without the flag. `after_kind`: the words follow a kind word, where only `_QUERIES_AFTER_KIND`
    are taken (a status query alone, its words are a report's, and our short code after the kind word is not read
    past again); else `_FLAGGED_QUERIES`. `addressed`: whether our short code opening the words is read past to the
    message after it (by default not after a kind word). `commanded`: after a kind word a status command opens the
    words, whose valid ID with words after it names the report they add to ("WBS CEK <id> kepala dinas minta setoran
    lagi", as "LAPOR CEK <id> ..." reads): filed, the addition was a new named report holding that report's ID."""
    asks = _QUERIES_AFTER_KIND if after_kind else _FLAGGED_QUERIES
    parsed = _parse_query(rest, grammar, language, shortest_id, False,
                          addressed=not after_kind if addressed is None else addressed)
    if parsed is None and not after_kind and (greeted := _past_greeting_at(rest, grammar)) and (
            not _blank_from(rest, greeted)):
        # A greeting or a term of address after the flags ("ANONIM pak <id> jalan masih rusak", "ANONIM, Selamat pagi,
        # <id> ..."), read past as one opening the text is (`_parse_as_typed`): the follow-up was a new report answered
        # with a new Tracking ID. Not through our short code again: "ANONIM pak 1708 " repeated would recurse.
        parsed = _parse_query(rest[greeted:], grammar, language, shortest_id, False, addressed=False)
    if parsed is None or parsed.action not in asks or _mistyped_id_and_words(parsed) or (
            after_kind and parsed.text and not (commanded and parsed.action is Action.STATUS)):
        return None
    return _with_flags(parsed, flags)


def _with_flags(parsed: ParsedText, flags: set[str]) -> ParsedText:
    """The parse with `flags` (read before it: "ANONIM CEK <id>", "Tambahan ANONIM <id> ...") on top of its own."""
    return replace(parsed, anonymous=parsed.anonymous or "anonymous" in flags,
                   confidential=parsed.confidential or "confidential" in flags)


def _mistyped_id_and_words(parsed: ParsedText) -> bool:
    """Whether the parse is a mistyped ID opening words ("12345672 petugas minta uang"): after a word in front of it
    (a flag word, an instruction of help's) the words may be the complaint, and the number its own."""
    return parsed.action is Action.BAD_TRACKING_ID and bool(parsed.text) and not _ONLY_A_NUMBER.fullmatch(
        parsed.text.lstrip(_ID_OPEN).rstrip(_STATUS_ID_CLOSE))  # "ANONIM <12345672>" as "ANONIM 12345672"


def _parse_named_id(text: str, grammar: Grammar, language: str, shortest_id: int) -> ParsedText | None:
    """A Tracking ID named with filler words and nothing else ("Nomor lacak: 12345678", "laporan 12345678",
    "ID (12345678)"): the citizen asks about that report, as with the ID alone. Filed, the report would hold only
    the number. With words after the ID it stays a report: a filler such as "laporan" also opens prose. Not when the
    fillers name the Tracking ID itself (`[commands] tracking_names`: "Nomor lacak saya 12345678, jalan makin rusak"):
    an addition to that report, which was filed as a new one."""
    after = _skip_fillers(text, grammar)
    if after == text:
        return None
    # Its marks left on: `_parse_follow_up` reads what closes them ("Nomor lacak: <12345678>.": a ">" is no
    # punctuation, and taken off here only at the front, it was read as words after the ID).
    parsed = _parse_follow_up(after, grammar, language, shortest_id)
    if parsed is not None and parsed.action is Action.FOLLOW_UP and not grammar.tracking_names.isdisjoint(
            fold_word(word) for word in _TOKENS.findall(text, 0, len(text) - len(after))):
        return parsed
    if parsed is None or parsed.action is Action.FOLLOW_UP:
        return None
    if parsed.action is Action.BAD_TRACKING_ID and (
            not _ONLY_A_NUMBER.fullmatch(after.lstrip(_ID_OPEN)) or _take_leading_word(text)[0] in grammar.kinds):
        # A mistyped ID with words after it: the words may be a complaint of their own. After a kind word
        # ("REPORT 15000000") the citizen follows our advice for a refused ID: they want it filed.
        return None
    return parsed


def _parse_quoted_reply(text: str, grammar: Grammar, language: str, shortest_id: int) -> ParsedText | None:
    """One of our own answers sent back to us (an SMS answer forwarded or copied into a new message, a public reply
    to a mention copied into a new mention): the citizen points at the report it names. With nothing else, or only a
    forward's marker, it asks how the report is doing; with words of their own, those are added to it. Filed as a
    report, our own text would become a new case."""
    pattern, owners = _our_replies(SMS_REPLY_KEYS)
    match = pattern.search(text)
    public = match is None and _PUBLIC_REPLY_MARK.search(text) is not None
    if public:
        pattern, owners = _our_replies(PUBLIC_REPLY_KEYS)
        match = pattern.search(text)
    if match is None:
        return None
    assert match.lastgroup is not None
    tracking_id = normalize_tracking_id(match.group(match.lastgroup))  # `\d` matches any script's digits
    language = match.lastgroup.split("_")[1]  # the language of our answer: the citizen's, when they asked
    before = text[:match.start()].strip()
    if public:
        before = _without_trailing_handles(before)
    rest = " ".join(part for part in (before, text[match.end():].strip()) if part)
    words = [fold_word(word) for word in _TOKENS.findall(rest)]
    if all(word in grammar.forward_markers or word in grammar.addressed_to for word in words):
        rest = ""
    if owners[int(match.lastgroup.rsplit("_", 1)[1])] in _TYPED_ID_REPLY_KEYS:
        # Our "not valid" answer sent back alone: that answer again. With words of the citizen's it is no query: read
        # as the refused number first, they were answered "not valid" again and never filed ("... Laporan baru? Ketik
        # LAPOR <isi>." and the complaint it asks for).
        return None if rest else ParsedText(action=Action.BAD_TRACKING_ID, text="", language=language,
                                            tracking_id=tracking_id)
    # As the ID typed first: alone a status query, with words a follow-up, a check digit that fails a mistyped ID.
    return _parse_follow_up(f"{tracking_id} {rest.lstrip(_ID_CLOSE + _QUESTION)}".rstrip(), grammar, language,
                            shortest_id, ours=True)


# Our answers that name a report (config/replies.toml), both languages: by SMS, and in public to a mention.
SMS_REPLY_KEYS = ("ack", "ack_anonymous", "ack_confidential", "ack_anonymous_confidential", "ack_incomplete",
                  "ack_incomplete_confidential", "duplicate", "duplicate_anonymous", "duplicate_confidential",
                  "duplicate_anonymous_confidential", "follow_up", "follow_up_unknown", "follow_up_unknown_anonymous",
                  "follow_up_unknown_confidential", "follow_up_unknown_anonymous_confidential",
                  "bad_tracking_id_photo", "bad_tracking_id_photo_confidential",
                  "bad_tracking_id", "status", "status_retry", "status_pending", "status_unknown",
                  *(f"report_flood_notice{flags}" for flags in ("", "_anonymous", "_confidential",
                                                                "_anonymous_confidential")),
                  *(f"follow_up_status{later}{flags}" for later in ("", "_pending", "_retry")
                    for flags in ("", "_anonymous", "_confidential", "_anonymous_confidential")))
# Our answers whose ID is the number the citizen typed (`shown_typed_id`), not one we minted.
_TYPED_ID_REPLY_KEYS = frozenset({"bad_tracking_id", "social_bad_tracking_id"})
# Our answers that name no report, sent back whole: answered as they were (the usage text, how to ask for a status;
# the public help copied into a mention). Filed, each was a new case of our own words under the citizen's number,
# acknowledged as their report (help's copies as anonymous ones, for the "ANONIM" and "#anonim" they teach).
# The notice that a message was kept unfiled (`[sms_kept_unfiled]`, sent by the aggregator's reply worker) asks
# nothing and names no report: sent back (a citizen's forward, an auto-responder's echo) it is left as a courtesy is,
# unfiled and unanswered. Filed, our own words went to an agency as the citizen's complaint, and were acknowledged.
# Our short code, which most of them hold (`_our_answer_marks`).
_SHORT_CODE = "1708"
_ANSWER_ACTIONS = {"help": Action.HELP, "status_help": Action.STATUS_HELP, "social_help": Action.HELP,
                   "sms_kept_unfiled": Action.COURTESY}
PUBLIC_REPLY_KEYS = ("social_ack", "social_follow_up", "social_follow_up_unknown", "social_bad_tracking_id_photo",
                     "social_status", "social_bad_tracking_id")
# What every public reply holds, its mention's reference (`(ref <code>)`), looked for first: the public replies'
# pattern opens with no common word, as the SMS answers' ("LAPOR!") does, and searched for in every message it cost
# ten times the SMS answers' pattern.
_PUBLIC_REPLY_MARK = re.compile(r"\(ref\s", re.IGNORECASE)
# An @handle (X: 15 characters, Instagram: 30, with dots), and how many before our public reply copied back are
# taken as the ones X put before its text (those of everyone in the thread: a few, seldom dozens).
_HANDLE = re.compile(r"@[\w.]{1,30}")
_REPLY_HANDLES = 50
# What stands in our public replies for their fields other than IDs: the report's link (as written, or as X shows or
# unwinds it: cut short with "…"), the mention's reference (`workers.social_reply.mention_ref`: 8 base32 characters).
_REPLY_FIELDS = {"link": r"\S{1,300}", "ref": r"[A-Z2-7]{8}"}


@lru_cache(maxsize=2)
def _our_replies(keys: tuple[str, ...]) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """One pattern for the answers of ours under `keys` that name a report, in their current and former words, and
    the key of each alternative; the ID it names is the group that matched (for "not found, filed as a new report":
    the new report's), named `id_<language>_<n>`, `n` the alternative's place. Spaces may be folded or broken into
    lines."""
    replies = load_replies()
    alternatives, owners = [], []
    every = ((key, language, template) for key in keys for language in ("id", "en")
             for template in reply_templates(replies[key], language))
    for index, (key, language, template) in enumerate(every):
        owners.append(key)
        # The ID the reply names: the report's, or for "not valid" without one (the public `social_bad_tracking_id`)
        # the number as typed.
        named = ("tracking_id" if "{tracking_id}" in template
                 else "typed_id" if key in _TYPED_ID_REPLY_KEYS else "follow_up_of")
        pattern, seen = "", False
        for literal, field, _, _ in string.Formatter().parse(template):
            pattern += _literal_pattern(literal)
            if field == named and not seen and key in _TYPED_ID_REPLY_KEYS:
                # the number as the citizen typed it, of any length, cut past the longest ID's 14 with "..."
                pattern, seen = pattern + rf"(?P<id_{language}_{index}>\d{{1,14}})(?:\.\.\.|…)?", True
            elif field == named and not seen:
                pattern, seen = pattern + rf"(?P<id_{language}_{index}>\d{{6,14}})", True
            elif field in ("tracking_id", "follow_up_of"):
                pattern += r"\d{6,14}"
            elif field == "status":  # one of our status names only: "LAPOR! Laporan <id>: <words>." is the citizen's
                pattern += "(?:" + "|".join(re.escape(name) for names in replies["status_names"].values()
                                            for name in names.values()) + ")"
            elif field:
                pattern += _REPLY_FIELDS.get(field, r"[^.\n]{1,60}")
        alternatives.append(pattern)
    return re.compile("|".join(alternatives), re.IGNORECASE), tuple(owners)


def _literal_pattern(literal: str) -> str:
    """A reply template's literal text as a pattern: its words as written, any run of spaces or a line break between
    them (a phone folds a long SMS, a client breaks a copied line)."""
    return r"\s+".join(re.escape(piece) for piece in literal.split(" "))


def _our_answer_sent_back(text: str, grammar: Grammar) -> ParsedText | None:
    """One of our answers that name no report (`_ANSWER_ACTIONS`) sent back whole, a forward's marker or our short
    code or handle around it at most: that answer again, in its language. None for anything else."""
    for pattern, action, language in _our_answers():
        match = pattern.search(text)
        if match is None:
            continue
        rest = f"{text[:match.start()]} {text[match.end():]}"
        if all(fold_word(word) in grammar.forward_markers or fold_word(word) in grammar.addressed_to
               for word in _TOKENS.findall(rest)):
            return ParsedText(action=action, text="", language=language)
    return None


@lru_cache(maxsize=1)
def _our_answers() -> tuple[tuple[re.Pattern[str], Action, str], ...]:
    """The patterns of `_ANSWER_ACTIONS`' answers, each language's: spaces may be folded or broken into lines, and a
    public reply's fields are its link's and reference's shapes (`_REPLY_FIELDS`)."""
    replies = load_replies()
    patterns = []
    for key, action in _ANSWER_ACTIONS.items():
        for language in ("id", "en"):
            for template in reply_templates(replies[key], language):
                pattern = ""
                for literal, field, _, _ in string.Formatter().parse(template):
                    pattern += _literal_pattern(literal)
                    if field:
                        pattern += _REPLY_FIELDS.get(field, r"[^.\n]{1,60}")
                patterns.append((re.compile(pattern, re.IGNORECASE), action, language))
    return tuple(patterns)


@lru_cache(maxsize=1)
def _our_answer_marks() -> re.Pattern[str]:
    """What a text holds, any case, to be one of `_ANSWER_ACTIONS`' answers sent back: our short code, or the first
    word of each of those templates without it (config/replies.toml: "LAPOR!" opening `[sms_kept_unfiled]`). Looked
    for first, as the answers' patterns cost more. Typed in code, the mark was matched in its case alone ("lapor!
    maaf, sedang ada gangguan ..." was filed) and would miss a template's words changed."""
    replies = load_replies()
    marks = {_SHORT_CODE}
    for key in _ANSWER_ACTIONS:
        for language in ("id", "en"):
            for template in reply_templates(replies[key], language):
                if _SHORT_CODE not in template and (words := next(string.Formatter().parse(template))[0].split()):
                    marks.add(words[0])
    return re.compile("|".join(map(re.escape, sorted(marks))), re.IGNORECASE)


def _without_trailing_handles(text: str) -> str:
    """`text` without the @handles at its end: those X puts before our reply's text (`@siti_rahma Laporan Anda ...`),
    copied with it. Theirs no more than the reply is, and one would name an anonymous reporter in their addition.
    A loop from the end, not a pattern: one searched for in a text of many handles took time quadratic in it."""
    for _ in range(_REPLY_HANDLES):
        words = text.rsplit(maxsplit=1)
        if not words or not _HANDLE.fullmatch(words[-1]):
            break
        text = words[0] if len(words) == 2 else ""
    return text


def _parse_query(text: str, grammar: Grammar, language: str, shortest_id: int, short: bool, *,
                 addressed: bool = True) -> ParsedText | None:
    """What the text asks or adds to, when it is no new report: a greeting, a command, a Tracking ID (first, named,
    or in one of our answers sent back), or any of these after our short code (not with `addressed` false: the
    message read after a kind word, where `_parse_addressed` would read "LAPOR 1708 LAPOR 1708 ..." again, once per
    pair, past the recursion limit). `short`: the text's words are all in the short-message tables
    (`_only_short_message_words`), so it may be a greeting."""
    if (short and is_greeting(text, grammar)) or _one_character(text):
        return ParsedText(action=Action.HELP, text="", language=language)
    # The readings of a Tracking ID typed first, labelled or named (`_LEADING_ID` on what is left of the text) are
    # passed by when no run of digits an ID could be stands anywhere in it (most reports): they cost a twentieth of
    # the parse.
    return _read_query(text, grammar, language, shortest_id, addressed=addressed,
                       numbered=_ANY_ID_RUN.search(text) is not None)


def _read_query(text: str, grammar: Grammar, language: str, shortest_id: int, *, addressed: bool,
                numbered: bool) -> ParsedText | None:
    """`_parse_query` past greetings and single characters. `numbered`: whether an ID's run of digits may stand in
    the text (`_ANY_ID_RUN`); if not, the readings that need one are not asked."""
    command = (_parse_command(text, grammar, language)
               or (_parse_follow_up(text, grammar, language, shortest_id) if numbered else None)
               or (_parse_labelled_follow_up(text, grammar, language, shortest_id) if numbered else None))
    if addressed and (command is None or command.action is Action.BAD_TRACKING_ID):
        # "1708 12345678" is our short code and an ID, not the mistyped ID 170812345678; a valid ID that opens with
        # our short code ("1708 0004") stays one.
        addressed = _parse_addressed(text, grammar, language, shortest_id)
        if addressed is not None:
            return addressed
    if command is not None and command.action in (Action.STATUS, Action.FOLLOW_UP):
        # Our answer to a status query sent back ("Status laporan <id> dapat dilihat di ..."): it opens as a status
        # command does, but its words are ours, and any others the citizen's, to add to that report. So does our
        # public answer to an addition ("Tambahan untuk laporan <id> kami terima. Pantau di ..."), which opens as
        # help's label for one does: our words were added to the report as the citizen's.
        ours = _parse_quoted_reply(text, grammar, language, shortest_id)
        if ours is not None and ours.tracking_id == command.tracking_id:
            return ours
    return (command or (_parse_named_id(text, grammar, language, shortest_id) if numbered else None)
            or _parse_quoted_reply(text, grammar, language, shortest_id)
            or _parse_status_question(text, grammar, language, shortest_id))


def _one_character(text: str) -> bool:
    """Whether the text's letters and digits are one character ("1", "a", "3 🙏"): a key pressed, a menu choice as
    other services ask for one. Filed, it was a case of "1" for an agency, acknowledged as a report; help tells the
    citizen how to report. Asked of nearly every message: stops at its first word longer than that, or its second,
    where listing every word cost a tenth of the message's parse."""
    words = _TOKENS.finditer(text)
    first = next(words, None)
    return first is not None and len(first.group()) == 1 and next(words, None) is None


def _parse_addressed(text: str, grammar: Grammar, language: str, shortest_id: int) -> ParsedText | None:
    """The message after our short code typed first ("1708 CEK 12345678", "1708 ANONIM pungli", "1708" alone: help),
    when what follows it is a command, an ID or a kind or flag word; else None, and the text stays whole ("1708 jalan
    rusak"). Missed, an ANONIM there would send the reporter's number to the agency."""
    addressed = _without_our_address(text, grammar)
    if addressed is None:
        return None
    if not addressed.strip():
        return ParsedText(action=Action.HELP, text="", language=language)
    # Emoji after it ("1708 🙏 ANONIM ...", "1708 🙏 CEK <id>") are read past as they are at the start. Missed, the
    # ANONIM was the text's and the reporter's number went to the agency.
    past = _past_symbols_and_our_address(addressed, grammar)
    if past is not None:
        after = _parse_message(past, grammar, shortest_id)
        if after.action in _READ_PAST_SYMBOLS or after.anonymous or after.confidential or after.explicit_kind:
            return after
    after = _parse_message(addressed, grammar, shortest_id)
    if after.action is not Action.REPORT or after.explicit_kind or after.anonymous or after.confidential:
        return after
    return None


# Letters `_take_trailing_flags` steps back over at once while they are all letters.
_LETTER_BLOCK = 64


def _take_trailing_flags(text: str, grammar: Grammar, flags: set[str]) -> str:
    """Flag words at the end ("..., ANONIM", "... (rahasia)", "... ANONIM"), as help's earlier "add ANONIM" led many to
    write: added to `flags`. Missed, an anonymous reporter's number would reach the agency. They are taken off the
    text only when punctuation sets them apart from it; after a plain space they may be the citizen's own words
    ("menyimpan dokumen rahasia"), which stay: a flag set once too often is the safe error, a lost word is not.

    Thanks or a "ya" after them ("..., mohon anonim. Terima kasih", "..., anonim ya pak") hid them, as a closing
    emoji did: the flags before such a tail count, and the text stays as typed."""
    if not _may_end_with_a_tail(text, grammar):  # most texts: their last word opens no tail
        return _flags_at_the_end(text, grammar, flags)
    return _flags_before_a_tail(text, grammar, flags)


def _flags_before_a_tail(text: str, grammar: Grammar, flags: set[str]) -> str:
    """`_take_trailing_flags` reading the tails: what it returns, for any text, with `flags` updated alike."""
    head = _before_courtesy_tail(text, grammar)
    tail_free = text if head is None else head.rstrip(_TRAILING_OPEN)
    clarified = _before_clarification(tail_free, grammar) or _before_plea(tail_free, grammar)
    if clarified is not None:  # "..., rahasia, bukan untuk umum", "..., anonim karena saya takut": as before thanks
        head = clarified
    if head is not None:
        _flags_at_the_end(head.rstrip(_TRAILING_OPEN), grammar, flags)
        return text
    return _flags_at_the_end(text, grammar, flags)


# How far back `_may_end_with_a_tail` looks for the text's last word.
_LAST_WORD_WINDOW = 32


def _may_end_with_a_tail(text: str, grammar: Grammar) -> bool:
    """Whether the text's last word (as `_tail_words` reads it) may end thanks, a plea or a clarification
    (`tail_last_words`); True when it cannot tell cheaply (no word in the last characters, or one longer than them).
    Read each message: reading and folding the tail's words for the three readings cost a tenth of the parse."""
    offset = max(0, len(text) - _LAST_WORD_WINDOW)
    last = None
    for match in _TOKENS.finditer(text, offset):
        last = match
    if last is None or (last.start() == offset and offset > 0):
        return True
    return fold_word(last.group()) in grammar.tail_last_words


def _before_plea(text: str, grammar: Grammar) -> str | None:
    """The text before the plea for protection it ends with (the words of an aside's plea, `plea_vocabulary`, one of
    them a fear: "karena saya takut dipecat", "saya takut"), when there is something before it; else None. Reads a
    bounded tail of the text, as `_before_courtesy_tail` does."""
    cut, feared = None, False
    for start, word, cut_short in reversed(_tail_words(text)[-_COURTESY_TAIL_WORDS:]):
        if cut_short or word not in grammar.plea_vocabulary:
            break
        cut, feared = start, feared or word in grammar.plea_fears
    if cut is None or not feared or not text[:cut].strip():
        return None
    return text[:cut]


def _before_clarification(text: str, grammar: Grammar) -> str | None:
    """The text before the words it ends with that say what the report is not (`[flag_negations] after_flags`:
    "bukan untuk umum", "bukan fitnah"), only punctuation after them, when there is something before them; else
    None. Reads a bounded tail of the text."""
    most = grammar.flag_clarification_words
    tail = _tail_words(text)[-most:] if most else ()
    folded = tuple(word for _, word, _ in tail)
    for count in range(len(tail), 0, -1):
        cut, _, cut_short = tail[-count]
        if cut_short:  # the window began inside this word
            continue
        if folded[-count:] in grammar.flag_clarifications:
            return text[:cut] if text[:cut].strip() else None
    return None


def _flags_at_the_end(text: str, grammar: Grammar, flags: set[str]) -> str:
    """`_take_trailing_flags` on a text without thanks at its end.

    A scan back from the end, not a regex search, and over positions: each flag word read moves `end` back, and the
    text is sliced once, when the scan stops. Slicing and stripping the text before each flag word copied it a turn,
    and ", anonim" 20,000 times cost time quadratic in the text."""
    end, set_apart, found = len(text), False, False
    # A flag word joined by "&" or "+" to the word before it ("... (anonim & rahasia)", "... ANONIM+RAHASIA"): that
    # word's turn decides. Held meanwhile: the flag, where the scan stood, and how it ends should that word be the
    # citizen's (None: glued to it, "C+rahasia", part of a longer word and no flag; else as after a plain space,
    # "jabatan & rahasia": the flag set, the text whole unless punctuation set it apart).
    pending: tuple[str, int, tuple[bool, int] | None] | None = None
    while True:
        body = _closing_marks_start(text, end)
        start = _last_word_start(text, body)
        word = fold_word(text[start:body])
        if pending is not None:
            joined_flag, end_before_join, unless_joined = pending
            if word not in grammar.flags:
                if unless_joined is None:
                    return text[:end_before_join] if found and set_apart else text
                flags.add(grammar.flags[joined_flag])
                return text[:unless_joined[1]] if unless_joined[0] else text
            flags.add(grammar.flags[joined_flag])
            found, pending = True, None
        head = start - 1 if start and text[start - 1] in HASH else start
        negation = _negation_start(text, head, grammar) if word in grammar.flags else None
        if negation is not None:
            # "..., bukan rahasia", "..., bukan ~rahasia~": the citizen's words, which stay (an anonymity word's flag
            # set, and that of one right before them: "..., ANONIM, bukan rahasia"). Struck through without a
            # negation, a flag word asks as "~ANONIM~" does (typed as decoration; in doubt a wish: a report kept
            # from the public once too often is the safe error).
            if grammar.flags[word] == "anonymous" or _anonymity_word_before(
                    text, _stripped_end(text, negation, _TAG_OPEN_CHARS), grammar):
                flags.add("anonymous")
            return text[:end] if found and set_apart else text
        before = _opening_marks_end(text, head)
        joined = _stripped_end(text, before, _TRAILING_JOIN)
        if word in grammar.flags and joined < before:
            pending = (word, end, None if before == head else _flag_set_apart(text, head, before, grammar))
            end = joined
            continue
        if word not in grammar.flags or before == head:  # no separator before it: part of a longer word
            return text[:end] if found and set_apart else text
        flags.add(grammar.flags[word])
        set_apart, end = _flag_set_apart(text, head, before, grammar)
        found = True


def _anonymity_word_before(text: str, end: int, grammar: Grammar) -> bool:
    """Whether an anonymity word stands right before `end`, spaces or punctuation apart ("ANONIM, " before "bukan
    rahasia"). Reads back past them and one word: asked once, where the scan from the end stops."""
    before = _stripped_end(text, end, _FLAG_WORD_APART)
    return before < end and grammar.flags.get(fold_word(text[_last_word_start(text, before):before])) == "anonymous"


# What may set an anonymity word apart from a negated flag word after it (`_anonymity_word_before`).
_FLAG_WORD_APART = " \t,;:.&+" + _TAG_CLOSE_CHARS


def _negation_start(text: str, head: int, grammar: Grammar) -> int | None:
    """Where the word negating the flag word (or hashtag) at `head` starts, None when none does: a word of
    `[flag_negations]` right before it, spaces or a hyphen apart, the marks typed around it aside ("..., bukan
    rahasia", "..., bukan ~rahasia~", "bukan #rahasia", "non-rahasia"), unless a word that asks or fears stands
    right before that one ("bisa gak rahasia", "takut kalau tidak rahasia": `asked_after`). Reads back past those
    marks and spaces, and no further than the longest of the words past them: a scan as `_flags_at_the_end`'s, which
    reads them again."""
    at = head
    while at and text[at - 1] in _TAG_OPEN_CHARS:
        at -= 1
    spaced = _stripped_end(text, at, " \t")
    if spaced == at and at and text[at - 1] in _HYPHENS:
        spaced = at - 1
    if spaced == at:
        return None
    start = _short_word_start(text, spaced, grammar.flag_negation_letters)
    if start is None or fold_word(text[start:spaced]) not in grammar.flag_negations:
        return None
    # "bisa gak rahasia", "takut kalau tidak rahasia": asked or feared, a request
    before = _stripped_end(text, start, " \t")
    if before == start:
        return start
    asker = _short_word_start(text, before, grammar.flag_negations_asked_after_letters)
    return start if asker is None or fold_word(text[asker:before]) not in grammar.flag_negations_asked_after else None


def _short_word_start(text: str, end: int, letters: int) -> int | None:
    """Where the word ending at `end` starts, read back no further than `letters` letters; None when no letter ends
    there or the word is longer."""
    start, reach = end, max(0, end - letters)
    while start > reach and text[start - 1].isalpha():
        start -= 1
    if start == end or (start and text[start - 1].isalpha()):
        return None
    return start


def _flag_set_apart(text: str, head: int, before: int, grammar: Grammar) -> tuple[bool, int]:
    """`_flags_at_the_end`'s: whether the flag word at `head` (after the separators from `before`) is set apart from
    the text, and where the text without it ends. The separator before the leftmost flag word decides: punctuation
    in it ("," "-" "("), or the sentence before it ended ("."), sets them apart."""
    head, before = _with_flag_opener(text, head, before, grammar)
    return text[before:head].strip() != "" or (before > 0 and text[before - 1] in _SENTENCE_END), before


def _last_word_start(text: str, end: int) -> int:
    """Where the letters just before `end` begin (`end` when there are none). Back a block of letters at a time, then
    letter by letter: one at a time, a text ending in a word of 100,000 letters (a hostile message) cost 12 ms of CPU
    a reading."""
    start = end
    while start >= _LETTER_BLOCK and text[start - _LETTER_BLOCK:start].isalpha():
        start -= _LETTER_BLOCK
    while start and text[start - 1].isalpha():
        start -= 1
    return start


def _stripped_end(text: str, end: int, chars: str) -> int:
    """Where `text[:end].rstrip(chars)` would end, without copying `text[:end]`."""
    while end and text[end - 1] in chars:
        end -= 1
    return end


def _opening_marks_end(text: str, end: int) -> int:
    """`_stripped_end` past the separators and opening marks before a closing flag word (`_TRAILING_OPEN`), stopping
    at marks that open and close alike ("*", "~") right after a letter or digit: those close the citizen's own word
    ("pungli di ~kelurahan~ ~ANONIM~" lost the "~" after "kelurahan", "**besar** **RAHASIA**" one "*")."""
    while end and text[end - 1] in _TRAILING_OPEN:
        if text[end - 1] in _SYMMETRIC_MARKS:
            run = _stripped_end(text, end, _SYMMETRIC_MARKS)  # "**besar**": the run after the word, whole
            if run and text[run - 1].isalnum():
                break
            end = run  # the whole run at once: a long one read again at each mark cost time quadratic in it
            continue
        end -= 1
    return end


# The most words of thanks and fillers read back from a text's end (`_before_courtesy_tail`): "terima kasih banyak ya
# pak" is five; a bound keeps the look back short whatever the text.
_COURTESY_TAIL_WORDS = 6
_COURTESY_TAIL_CHARS = 12 * _COURTESY_TAIL_WORDS


@lru_cache(maxsize=2)
def _tail_words(text: str) -> tuple[tuple[int, str, bool], ...]:
    """The words of the text's last `_COURTESY_TAIL_CHARS` characters: (where each starts, folded, whether the window
    began inside it). Read back from the end by the thanks, the clarification and the plea after a closing flag word,
    each of which read and folded the same words again. Cached: a report's parse asks for the same text thrice."""
    offset = max(0, len(text) - _COURTESY_TAIL_CHARS)
    return tuple((match.start(), fold_word(match.group(0)), match.start() == offset and offset > 0)
                 for match in _TOKENS.finditer(text, offset))


def _before_courtesy_tail(text: str, grammar: Grammar) -> str | None:
    """The text before the words of thanks and fillers it ends with (`[courtesy]`: "terima kasih", "ya", "pak"), when
    there are such words and something before them; None otherwise."""
    cut = None
    for start, word, cut_short in reversed(_tail_words(text)[-_COURTESY_TAIL_WORDS:]):
        if cut_short or word not in grammar.courtesy.vocabulary:
            break
        cut = start
    if cut is None or not text[:cut].strip():
        return None
    return text[:cut]


def _with_flag_opener(text: str, head: int, before: int, grammar: Grammar) -> tuple[int, int]:
    """`_flags_at_the_end`'s (where the text up to a flag word ends, where it ends without the separators before the
    flag word), with a word introducing the flag (`[flag_openers]`) before those separators read as part of the flag
    ("..., tambah ANONIM": the text up to "tambah"), when only spaces separate it from the flag word and it is a word
    of its own. Then the separators before that word decide whether the flag is set apart. Positions in `text`, not
    copies of it, as `_flags_at_the_end` reads."""
    if not text[before:head].isspace():  # "rusak tambah, ANONIM": the word before the comma is the citizen's
        return head, before
    start = before
    while start and text[start - 1].isalpha():
        start -= 1
    opener = fold_word(text[start:before])
    if opener not in grammar.flag_openers and not (
            opener in grammar.flag_openers_after_keywords and _ends_with_flag_word(text, start, grammar)):
        return head, before
    opener_before = _opening_marks_end(text, start)
    if start and opener_before == start:  # no separator before it: the end of a longer word
        return head, before
    return start, opener_before


def _ends_with_flag_word(text: str, end: int, grammar: Grammar) -> bool:
    """Whether `text[:end]` ends with a flag word and spaces ("... ANONIM " before "dan RAHASIA"): a word of prose
    that introduces a flag (`after_keywords`) only joins two flags at the end. Read where it is, a block of letters at
    a time, as `_flags_at_the_end` reads."""
    while end and text[end - 1].isspace():
        end -= 1
    start = _last_word_start(text, end)
    return start < end and fold_word(text[start:end]) in grammar.flags


# Emoji and what builds them: symbols (So: pictographs, regional indicators), skin tones (Sk), variation selectors and
# a keycap's enclosing mark (Mn, Me), the zero-width joiner (Cf). Read past after a closing flag word ("..., ANONIM 🙏",
# "... anonim ❤️") and before the leading keywords.
_EMOJI_CATEGORIES = frozenset({"So", "Sk", "Mn", "Me", "Cf"})


def _without_closing_marks(text: str) -> str:
    """`text` without the closing marks (`_TRAILING_CLOSE`) and emoji at its end. Missed, the emoji hid a flag word
    before it ("..., ANONIM 🙏") and the reporter's number reached the agency."""
    return text[:_closing_marks_start(text, len(text))]


def _closing_marks_start(text: str, end: int) -> int:
    """Where the closing marks and emoji just before `end` begin (`_without_closing_marks` of `text[:end]`, as a
    position)."""
    while end and (text[end - 1] in _TRAILING_CLOSE or unicodedata.category(text[end - 1]) in _EMOJI_CATEGORIES):
        end -= 1
    return end


# What a message opening with emoji may ask once they are read past: a courtesy, an opt-out or an opt-in stays what the
# whole message makes of it ("😡 terima kasih" is no thanks), as does a report without a keyword (its emoji kept).
_READ_PAST_SYMBOLS = frozenset({Action.STATUS, Action.HELP, Action.STATUS_HELP, Action.FOLLOW_UP,
                                Action.BAD_TRACKING_ID})


def _after_leading_symbols(text: str) -> str | None:
    """The text after the emoji (and spaces) it opens with; None when it opens with none, or is nothing else."""
    at = _past_leading_symbols_at(text, 0)
    return None if at is None else text[at:]


def _past_leading_symbols_at(text: str, at: int) -> int | None:
    """Where the emoji (and spaces) typed at `at` end (`_after_leading_symbols` from a position); None when none is
    typed there, or nothing else follows them."""
    emoji = False
    while at < len(text):
        if unicodedata.category(text[at]) in _EMOJI_CATEGORIES:
            emoji = True
        elif not text[at].isspace():
            break
        at += 1
    return at if emoji and at < len(text) else None


def _past_symbols_and_our_address(text: str, grammar: Grammar) -> str | None:
    """The text after the emoji and our short codes or handles it opens with, in any order and number ("🙏 ANONIM
    ..." -> "ANONIM ...", "🙏 1708 🙏 CEK ..." -> "CEK ..."); None when it opens with neither."""
    at = _past_symbols_and_our_address_at(text, 0, grammar)
    return None if at is None else text[at:]


# A space spelled out as a format writes it ("spasi", "(spasi)", "<spasi>", "[space]"), and the separators after it.
_SPELLED_SPACE = re.compile(rf"\s*(?P<open>[{_TAG_OPEN}])?\s*(?P<word>[^\W\d_]+)(?:\s*(?P<close>[{_TAG_CLOSE}]))?"
                            rf"(?P<sep>[\s{_SEPARATOR_SET}]*)", re.UNICODE)


def _past_spelled_space_at(text: str, at: int, grammar: Grammar, *, spaced: bool = False) -> int | None:
    """Where a spelled space (`[commands] spelled_spaces`: "spasi", "(spasi)", "<spasi>") typed at `at` ends, with
    the separators after it; None when none is typed there, or it is glued to what follows. `spaced`: only one set
    apart by spaces alone, or bracketed ("Space, please ..." opens an English sentence)."""
    match = _SPELLED_SPACE.match(text, at)
    if match is None or fold_word(match.group("word")) not in grammar.spelled_spaces or (
            bool(match.group("open")) != bool(match.group("close"))):
        return None
    end, sep = match.end(), match.group("sep")
    if spaced and not match.group("close") and sep.strip():
        return None
    return end if sep or match.group("close") or end == len(text) else None


def _past_symbols_and_our_address_at(text: str, at: int, grammar: Grammar) -> int | None:
    """Where `_past_symbols_and_our_address` from `at` ends; None when neither emoji nor our address is typed there.
    Spaces alone are not read past (`_past_symbols_and_address_at`, help's instructions' reading, does). One loop of
    positions, not a recursion through our short code nor a copy of the rest each turn: a text of them repeated
    thousands of times is read in one pass."""
    start = at
    while True:
        past = _past_leading_symbols_at(text, at)
        if past is None:
            past = _past_our_address_at(text, at, grammar)
            if past == at:
                return at if at != start else None
        at = past


def _is_prose_number(typed: str, candidate: str) -> bool:
    """A leading number that is part of the complaint, not a Tracking ID: a phone number ("0812...", "62812..."),
    a date or an amount. Read as an ID with a wrong check digit, the complaint would be answered and never filed."""
    # Tracking IDs never start with 0: a leading "0812..." is the citizen's phone number in prose.
    return (candidate.startswith("0") or bool(_PHONE_WITHOUT_PLUS.fullmatch(candidate))
            or bool(_DATE_OR_AMOUNT.fullmatch(typed)))


def parse_text(text: str, grammar: Grammar | None = None, *, shortest_id: int = MIN_LENGTH,
               glued_anonymity: bool = True) -> ParsedText:
    """Read kind keywords, flags, commands and a leading Tracking ID; return what is left as the text.

    `shortest_id`: the digits of the shortest Tracking ID that may have been minted (the settings'
    `intake.shortest_tracking_id`); a shorter number opening a message with words after it is the citizen's prose.
    After a status command, or alone, any number of an ID's shape is still read as a (maybe mistyped) ID.
    `glued_anonymity`: False leaves out the anonymity read from a flag word glued to a mark (`_with_glued_anonymity`),
    for those that ask what the grammar took out of the words (a comment under our post, a handle read past)."""
    grammar = grammar or load_grammar()
    parsed = _with_flags_asked_in_words(_parse_text(text, grammar, shortest_id), grammar, text)
    return _without_address_alone(_with_glued_anonymity(parsed, grammar) if glued_anonymity else parsed, grammar)


# The text's words and numbers, each one token: "ANONIM~3" is "ANONIM" and "3", "ANONIM5" no flag word.
_HEAD_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# A word after the anonymity word inside the marks it opens ("*ANONIM ya* ...").
_SPACED_TOKEN = re.compile(r"\s+(?P<word>[^\W_]+)", re.UNICODE)
# A handle's name after its "@" ("@pemkot", "@budi.s").
_HANDLE_NAME = re.compile(r"\w(?:\w|\.(?=\w))*", re.UNICODE)
_AT_SIGNS = with_compatibility_forms("@")
# An e-mail address's domain after its "@" ("gmail.com", "pemkot.go.id"): its last label a country's code (ISO 3166,
# as phonenumbers knows the regions, and "uk", "eu") or a common top-level name, as a dotted handle's is not
# ("@pemkot.sukamaju", "@dpr.ri", "@dinas.pu").
_MAIL_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)+\b", re.UNICODE)
_MAIL_TOP_LEVEL = frozenset({region.lower() for region in phonenumbers.SUPPORTED_REGIONS} | {
    "uk", "eu", "com", "net", "org", "info", "biz", "edu", "gov", "mil", "int", "io", "app", "dev", "xyz", "online",
    "site", "web", "email", "mail"})


def _with_glued_anonymity(parsed: ParsedText, grammar: Grammar) -> ParsedText:
    """The report, anonymous when an anonymity flag word opening its text is glued to a mark the grammar does not read
    as a separator (`_glued_anonymity_at_head`: "ANONIM|Kepala desa ...", "LAPOR ANONIM~3 km ...", "WBS *ANONIM ya*
    ..."): each was a named report, the whistleblower's number sent. Only the flag is added, the text and all else
    as read: such marks read as separators cut the citizen's words ("Aduan >50 orang", "Laporan_2024.pdf"). Not a
    confidentiality word: glued to a word it is the citizen's on purpose ("Rahasia+Negara bocor", "#rahasia_negara")."""
    if parsed.action is not Action.REPORT or parsed.anonymous or not _glued_anonymity_at_head(parsed.text, grammar):
        return parsed
    return replace(parsed, anonymous=True)


def _glued_anonymity_at_head(text: str, grammar: Grammar) -> bool:
    """Whether an anonymity flag word (`[flags] anonymous`) among the words opening the text is glued to a mark on
    either side ("ANONIM|...", "ANONIM)...", "*ANONIM*...", "ANONIM>5 orang", "LAPOR|ANONIM ..."), or opens marks that
    close after particles or flag words alone ("*ANONIM ya* ..."; "(anonim menurut warga) ..." is prose). The words
    before it may only be kind and flag words, the words introducing a flag, our names and handles ("@pemkot
    ANONIM|...", as a mention after a pointing mark keeps it): any other ("BUKAN ANONIM|...", "Kepala desa
    ANONIM|...") ends the look, as it ends the flag's reading a space apart, and nothing else does: a bound of 48
    characters left the flag unread past three handles kept ("@lapor1708 → @pemkot_sukamaju @dinaspu_sukamaju
    @bupati_sukamaju ANONIM|..."). A text opening with none of them (nearly every report) is passed after its first
    word."""
    handle_end = 0
    for token in _HEAD_TOKEN.finditer(text):
        start, end = token.span()
        if start < handle_end:
            continue
        if start and text[start - 1] in _AT_SIGNS and (start == 1 or text[start - 2].isspace()):
            handle_end = _HANDLE_NAME.match(text, start).end()
            continue
        word = fold_word(token.group())
        flag = grammar.flags.get(word)
        if flag == "anonymous" and _glued_to_a_mark(text, start, end, grammar):
            return True
        if flag is None and word not in grammar.kinds and word not in grammar.courtesy.names and (
                word not in grammar.flag_openers and word not in grammar.flag_openers_after_keywords):
            return False
    return False


def _a_mail_domain_at(text: str, at: int) -> bool:
    """Whether an e-mail address's domain (`_MAIL_DOMAIN`, `_MAIL_TOP_LEVEL`) begins at `at`."""
    domain = _MAIL_DOMAIN.match(text, at)
    return domain is not None and domain.group().rsplit(".", 1)[1].lower() in _MAIL_TOP_LEVEL


def _glued_to_a_mark(text: str, start: int, end: int, grammar: Grammar) -> bool:
    """Whether the word `text[start:end]` is glued to a mark (`_glued_anonymity_at_head`): after it, or before it with
    a space after it; an opening mark so only when it closes after particles or flag words alone ("*ANONIM ya* ...")."""
    after = text[end] if end < len(text) else ""
    if after and after in _AT_SIGNS and _a_mail_domain_at(text, end + 1):
        return False  # an address of that name ("anonim@gmail.com mengirim ancaman"); "ANONIM@pemkot" is glued
    if after and not after.isspace():
        return True  # no letter or digit: the token ends there
    before = text[start - 1] if start else ""
    if not before or before.isspace():
        return False
    if before not in _TAG_OPEN_CHARS:
        return True
    at = end
    for _ in range(4):
        spaced = _SPACED_TOKEN.match(text, at)
        if spaced is None:
            return False
        word = fold_word(spaced.group("word"))
        if word not in grammar.flag_particles and word not in grammar.flags:
            return False
        at = spaced.end()
        if at < len(text) and _paired(before, text[at]):
            return True
    return False


# The longest text `_without_address_alone` reads word by word: "pak", "min dong", "ya pak please".
_ADDRESS_ALONE_CHARS = 24


def _without_address_alone(parsed: ParsedText, grammar: Grammar) -> ParsedText:
    """The report, its text emptied when it is only terms of address and particles (`[flag_particles]`, `[courtesy]
    calls`: "LAPOR pak", "Tanya min", "info dong", "pak"): nothing reported yet, so help is sent, as for "LAPOR" alone
    (normalizer/pipeline.py). Filed, each was a case of "pak" or "min" at an agency. Only a short text is read."""
    if parsed.action is not Action.REPORT or not parsed.text or len(parsed.text) > _ADDRESS_ALONE_CHARS:
        return parsed
    words = [fold_word(word) for word in _TOKENS.findall(parsed.text)]
    if not words or not all(word in grammar.flag_particles or word in grammar.calls for word in words):
        return parsed
    return replace(parsed, text="")


# What anonymity or confidentiality asked in words flags: what files the citizen's words under their number. A
# status query's words are filed with a photo sent with it, as an addition to its report or a report of its own
# (normalizer/pipeline.py): "CEK <id> foto loketnya, tolong jangan sebut nama saya" was filed open, the number
# beside it.
_FILED = frozenset({Action.REPORT, Action.FOLLOW_UP, Action.STATUS})


def _with_flags_asked_in_words(parsed: ParsedText, grammar: Grammar, typed: str) -> ParsedText:
    """The parse, anonymous when its text asks for it in words (`[flags_in_words]`: "Mohon identitas saya
    dirahasiakan") without a flag word, confidential when it asks so of the report or of us ("Mohon laporan ini tidak
    dipublikasikan", "jangan dipublikasikan ya min"), with the flags of an aside pleading for protection opening it
    ("(anonim, saya takut) ..."); its text as typed. `typed`: the message the parse read."""
    if parsed.action not in _FILED:
        return parsed
    pleaded = _pleads_in_an_aside(parsed.text, grammar)
    if pleaded:
        parsed = replace(parsed, anonymous=parsed.anonymous or "anonymous" in pleaded,
                         confidential=parsed.confidential or "confidential" in pleaded)
    if parsed.anonymous and parsed.confidential:
        return parsed
    words = _folded_words(parsed.text, grammar)
    # The kind word taken off the text named the report in a phrase too ("LAPOR tanpa nama: ...", "Laporan ini mohon
    # dirahasiakan").
    named = _with_kind_word_before(words, parsed.text, typed, grammar) if parsed.explicit_kind else words
    anonymous = parsed.anonymous or (
        _asks_in_a_phrase(named, grammar.anonymity_phrases, grammar.anonymity_asked_phrases, grammar)
        or _fills_a_name_line(parsed.text, words, grammar) or _leaves_the_name_blank(parsed.text, grammar)
        or _fills_a_closing_name_line(parsed.text, words, grammar, typed)
        or _wishes_anonymity(words, grammar)
        or _opens_with_anonymity_in_prose(parsed.text, grammar)
        # A statement's breaks: an SMS sets the wish apart with a dash or an emoji too ("... - tanpa nama", "Saya takut
        # 🙏 ..."), and a colon introduces none of it.
        or _asks_in_a_clause(parsed.text, words, grammar, grammar.anonymity_requests, (),
                             grammar.anonymity_request_ends, _STATEMENT_BREAKS)
        or _states_in_a_clause(parsed.text, words, grammar, typed if parsed.explicit_kind else None,
                               grammar.anonymity_words, grammar.anonymity_statement_links,
                               joined=grammar.confidentiality_statements)
        or _states_in_a_clause(parsed.text, words, grammar, None, grammar.identity_statements,
                               grammar.anonymity_statement_links, subjects=grammar.identity_statement_subjects,
                               joined=grammar.anonymity_words))
    confidential = parsed.confidential or (
        _asks_in_a_phrase(named, grammar.confidentiality_phrases, grammar.confidentiality_asked_phrases, grammar,
                          negations=grammar.confidentiality_negations)
        or _asks_in_a_clause(parsed.text, words, grammar, grammar.confidentiality_requests,
                             grammar.confidentiality_requests_when_asked, grammar.confidentiality_request_ends)
        or _states_in_a_clause(parsed.text, words, grammar, typed if parsed.explicit_kind else None,
                               grammar.confidentiality_statements, grammar.confidentiality_statement_links,
                               joined=grammar.anonymity_words))
    if (anonymous, confidential) == (parsed.anonymous, parsed.confidential):
        return parsed
    return replace(parsed, anonymous=anonymous, confidential=confidential)


def _with_kind_word_before(words: list[str], text: str, typed: str, grammar: Grammar) -> list[str]:
    """The folded words of the parse's text, after the kind word typed right before it if one was taken off it:
    "Laporan ini mohon dirahasiakan: ..." names the report, though "Laporan" was read as the kind word, and so does
    "Aduan ini ..." (`abbreviations`)."""
    return [*_kind_word_before(text, typed, grammar), *words]


def _kind_word_before(text: str, typed: str, grammar: Grammar) -> list[str]:
    """The kind word typed right before the parse's text, folded and read in full ("aduan" is "laporan"), if one was
    taken off it; else none."""
    at = typed.find(text) if text and len(text) < len(typed) else -1
    before = [fold_word(word) for word in _TOKENS.findall(typed, 0, at)[-1:]] if at > 0 else []
    if not before or before[0] not in grammar.kinds:
        return []
    return [grammar.anonymity_abbreviations.get(before[0], before[0])]


def _folded_words(text: str, grammar: Grammar) -> list[str]:
    """The text's words folded, read in full as an SMS shortens them (`[flags_in_words] abbreviations`: "sy" is
    "saya", "di rahasiakan" "dirahasiakan")."""
    shortened, split = grammar.anonymity_abbreviations, grammar.anonymity_split_abbreviations
    # An ASCII text lowercased once, as `detect_language` reads it: its words are the same, each folded.
    folded = tuple(_folded_tokens(text))
    if split.keys().isdisjoint(folded):  # most texts: a word at a time
        if shortened.keys().isdisjoint(folded):  # many none at all: the words as they are
            return list(folded)
        return [shortened.get(word, word) for word in folded]
    words: list[str] = []
    for word in folded:
        joined = split.get(words[-1], {}).get(word) if words and split else None
        if joined is not None:
            words[-1] = joined
        else:
            words.append(shortened.get(word, word))
    return words


def _asks_in_a_phrase(words: list[str], phrases_by_word: Mapping[str, tuple[str, ...]],
                      asked_by_word: Mapping[str, tuple[str, ...]], grammar: Grammar, *,
                      negations: tuple[str, ...] = ()) -> bool:
    """Whether the folded words hold one of the phrases (`[flags_in_words] anonymous`, `confidential`), also read
    without the request words a citizen puts inside a phrase ("identitas saya mohon dirahasiakan"), or one of those
    asked only after a request word (`anonymous_when_asked`, `confidential_when_asked`). Only the phrases a word of the
    text opens are looked for: most reports open none, and looking for every phrase twice cost a fifth of a report's
    parse. `negations`: the words that, right before a phrase, ask the opposite (`confidentiality_negations`)."""
    present = set(words)
    phrases = [phrase for word in phrases_by_word.keys() & present for phrase in phrases_by_word[word]]
    asked = [phrase for word in asked_by_word.keys() & present for phrase in asked_by_word[word]]
    if not phrases and not asked:
        return False
    joined = " ".join(words)
    if joined.count(" ") == len(words) - 1 and _ASKED not in joined:
        # No word holds a space or the asked mark (a fold may hold them: "ͺ" is " ͅ"): a phrase found in the words,
        # with or without their request words, is made of them. Most of those a word opens hold one the text lacks
        # ("tidak" opens "tidak ingin identitas saya diketahui"): looking for each of them cost a tenth of a parse.
        phrase_words = grammar.phrase_words
        phrases = [phrase for phrase in phrases if present.issuperset(phrase_words[phrase])]
        asked = [phrase for phrase in asked if present.issuperset(phrase_words[phrase])]
        if not phrases and not asked:
            return False
    return _said_in_a_phrase(f" {joined} ", words, phrases, asked, grammar, negations)


def _said_in_a_phrase(padded: str, words: list[str], phrases: list[str], asked: list[str], grammar: Grammar,
                      negations: tuple[str, ...]) -> bool:
    """`_asks_in_a_phrase` of the padded phrases `phrases` and `asked` (those read only after a request word), looked
    for in the folded words (`padded`: them joined, a space at both ends), whatever words they hold."""
    fillers = grammar.anonymity_phrase_fillers
    unfilled = f" {' '.join(word for word in words if word not in fillers)} "
    if any(_said_unnegated(phrase, padded, negations) or _said_unnegated(phrase, unfilled, negations)
           for phrase in phrases):
        return True
    marked: list[str] = []  # the words without request words, the word after each marked as asked
    mark = ""
    for word in words:
        if word in fillers:
            mark = _ASKED
        else:
            marked.append(mark + word)
            mark = ""
    requested = f" {' '.join(marked)} "
    return any(phrase in requested for phrase in asked)


def _said_unnegated(phrase: str, said: str, negations: tuple[str, ...]) -> bool:
    """Whether the padded phrase stands in the padded words `said` once at least without one of `negations` right
    before it ("jangan rahasiakan laporan ini" asks it public). Each look starts past the last: linear in `said`."""
    at = said.find(phrase)
    while at != -1:
        if not any(said.endswith(negation, 0, at) for negation in negations):
            return True
        at = said.find(phrase, at + 1)
    return False


def _asks_in_a_clause(text: str, words: list[str], grammar: Grammar, bare: tuple[tuple[str, ...], ...],
                      when_asked: tuple[tuple[str, ...], ...], ends: frozenset[str],
                      breaks: re.Pattern[str] | None = None) -> bool:
    """Whether a clause of the text is a request of no object: for confidentiality (`confidential_requests`: "jangan
    dipublikasikan ya min", "Tolong jangan disebarkan."; `confidential_requests_when_asked` after a request word only:
    "Mohon dirahasiakan ya pak", "bisa dirahasiakan?") or anonymity (`anonymous_requests`: "Jangan sebut nama ya
    pak.", "Saya takut."): the phrase (`bare`, `when_asked`), `request_openers` alone before it, `request_tails` alone
    after it. Any other word and it is prose of something else ("jangan disebarkan hoaks", "pejabat bilang data ini
    jangan dipublikasikan", "Jangan sebut nama dia"). `words`: the text's folded words, to pass at once a text with
    none of the phrases' last words (`ends`). `breaks`: what sets the clauses apart (`_own_clauses`)."""
    if ends.isdisjoint(words):
        return False
    present = set(words)
    # Only the phrases whose last word the text holds: "nama" or "takut" ends a few, and a report holds them often.
    by_end = _by_last_word((*bare, *when_asked))
    if not any(present.issuperset(phrase) for end in ends & present for phrase in by_end.get(end, ())):
        return False
    opened: dict[str, list[tuple[str, ...]]] = {}  # the phrases under their first word: a clause opens few
    opened_asked: dict[str, list[tuple[str, ...]]] = {}
    for phrases, under in ((bare, opened), (when_asked, opened_asked)):
        for phrase in phrases:
            under.setdefault(phrase[0], []).append(phrase)
    first_clause = True
    for clause, said, before, after in _own_clauses(text, grammar, breaks):
        # A Tracking ID's number opening the text is the report it names, no word of the clause: "LAPOR <id> saya
        # takut." keeps the number in a new report's text, and was named where "<id> saya takut." was not.
        at = 1 if first_clause and said and looks_like_tracking_id(said[0]) else 0
        first_clause = False
        while at < len(said) and said[at] in grammar.request_openers:
            at += 1
        asked = any(word in grammar.request_askers for word in said[:at])
        first = said[at] if at < len(said) else ""
        for phrase in (*opened.get(first, ()), *opened_asked.get(first, ())) if asked else opened.get(first, ()):
            end = at + len(phrase)
            if (tuple(said[at:end]) == phrase and all(word in grammar.request_tails for word in said[end:])
                    and not _reports_speech(clause, before, after, grammar)):
                return True
    return False


@lru_cache(maxsize=8)
def _by_last_word(phrases: tuple[tuple[str, ...], ...]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """The phrases (each its folded words) under their last word (`_asks_in_a_clause`)."""
    grouped: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        if phrase:
            grouped.setdefault(phrase[-1], []).append(phrase)
    return {word: tuple(under) for word, under in grouped.items()}


def _states_in_a_clause(text: str, words: list[str], grammar: Grammar, typed: str | None,
                        statements: frozenset[str], links: frozenset[str], *,
                        subjects: tuple[tuple[str, ...], ...] | None = None,
                        joined: frozenset[str] = frozenset()) -> bool:
    """Whether a clause of the text, anywhere in it, only states that the report is secret or anonymous (`statements`:
    `confidential_statements` or the anonymity words; "Laporan ini rahasia. Pungli ...", "Ini sifatnya rahasia ya
    pak", "This is confidential. ...", "Laporan ini anonim. ...", "This is anonymous. ..."): `request_openers` alone
    before it, one of `statement_subjects` or none, `links`, the word, `request_tails` alone after it. Any other word
    and it is prose of something else ("Dokumen ini rahasia negara", "Ini bukan rahasia lagi", "Akun anonim menyebar
    hoaks"); so is such a clause quoted or said by someone, or right before a mail's confidentiality notice. `words`:
    the text's folded words, to pass at once a text with none of the words (most reports). `typed`: the message, when
    a kind word was read off it, which may open the first clause ("Laporan saya rahasia. ..."). `subjects`: what the
    statement is of, by default `statement_subjects` or none; the reporter's identity (`identity_statement_subjects`:
    "Identitas saya rahasia. ..."). `joined`: the other statement's words, which one of `statements` may be joined to
    (`statement_joins`: "Laporan ini rahasia dan anonim. ...")."""
    if statements.isdisjoint(words):
        return False
    if subjects is None:
        subjects = (*grammar.confidentiality_statement_subjects, ())
    opening = _kind_word_before(text, typed, grammar) if typed is not None else []
    for clause, said, before, after in _own_clauses(text, grammar, _STATEMENT_BREAKS):
        if (_only_states([*opening, *said], grammar, statements, links, subjects, joined)
                and not _holds_any(after, grammar.disclaimer_markers)
                and not _reports_speech(clause, before, after, grammar)):
            return True
        opening = []
    return False


def _only_states(said: list[str], grammar: Grammar, statements: frozenset[str], links: frozenset[str],
                 subjects: tuple[tuple[str, ...], ...], joined: frozenset[str]) -> bool:
    """Whether the folded words of a clause are only a statement that the report is secret or anonymous
    (`_states_in_a_clause`). Read from its end: the word before the tails, asked first, passes at once the clauses of a
    text that holds the word elsewhere; the report named after it (`statement_nouns`: "an anonymous report") is read
    past. Words of `joined` may be joined to the statement's (`statement_joins` or a space between: "rahasia dan
    anonim"), one of `statements` among them; either statement's links before them."""
    end = len(said)
    while end and said[end - 1] in grammar.request_tails:
        end -= 1
    if end > 1 and said[end - 1] in grammar.statement_nouns:  # "This is an anonymous report."
        end -= 1
    if not end or (said[end - 1] not in statements and said[end - 1] not in joined):
        return False
    first = end - 1
    stated = said[first] in statements
    if joined:
        while True:
            join = first
            while join and said[join - 1] in grammar.statement_joins:
                join -= 1
            if not join or (said[join - 1] not in statements and said[join - 1] not in joined):
                break
            first = join - 1
            stated = stated or said[first] in statements
        if not stated:
            return False
        if first < end - 1:
            links = grammar.anonymity_statement_links  # either statement's: they hold `statement_links`
    at, end = 0, first
    while at < end and said[at] in grammar.request_openers:
        at += 1
    for subject in subjects:
        after = at + len(subject)
        if after <= end and tuple(said[at:after]) == subject and all(word in links for word in said[after:end]):
            return True
    return False


def _own_clauses(text: str, grammar: Grammar, breaks: re.Pattern[str] | None = None,
                 ) -> Iterator[tuple[str, list[str], list[str], list[str]]]:
    """The clauses of the text holding words (`breaks` apart, by default `_CLAUSE_BREAKS`), each as typed with its
    folded words, the folded words of the clause before it and those of the one after it (each clause folded once);
    none from a mail's confidentiality notice on (`disclaimer_markers`: "Jangan disebarkan." after one is hers). The
    whole message quoted, the quotes are no one else's words."""
    body = text.strip()
    if len(body) > 1 and body[0] in _QUOTES and body[-1] in _QUOTES:
        body = body[1:-1]
    clauses = (breaks or _CLAUSE_BREAKS).split(body)
    spoken = ((clause, said) for clause in clauses if (said := _folded_words(clause, grammar)))
    before: list[str] = []
    current = next(spoken, None)
    while current is not None:
        (clause, said), following = current, next(spoken, None)
        if _holds_any(said, grammar.disclaimer_markers):
            return
        yield clause, said, before, following[1] if following else []
        before, current = said, following


def _holds_any(said: list[str], phrases: tuple[tuple[str, ...], ...]) -> bool:
    """Whether the folded words `said` hold one of `phrases` (each its folded words) in a row. Asked of each clause a
    text's requests and statements are read in: the phrases are padded once, not for each clause."""
    if not phrases:
        return False
    padded = f" {' '.join(said)} "
    return any(phrase in padded for phrase in _padded_phrases(phrases))


@lru_cache(maxsize=8)
def _padded_phrases(phrases: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """Each phrase's words joined by spaces, a space at both ends (`_holds_any`)."""
    return tuple(f" {' '.join(phrase)} " for phrase in phrases)


# Quotation marks: a clause holding one is someone's words quoted ('Kades bilang, "jangan disebarkan."'). Not the
# apostrophes ("don't", "don’t").
_QUOTES = frozenset('"“”„‟«»「」『』＂')


def _reports_speech(clause: str, before: list[str], after: list[str], grammar: Grammar) -> bool:
    """Whether the clause reports someone else's words: quoted, said by the clause before it (`before`, its folded
    words; `said_before` closing them: "Kades bilang, jangan disebarkan") or by the one after it (`after`;
    `said_after` opening them: "Jangan disebarkan, kata kades", "Keep it private, he said")."""
    return (not _QUOTES.isdisjoint(clause)
            or any(tuple(before[-len(words):]) == words for words in grammar.said_before)
            or any(tuple(after[:len(words)]) == words for words in grammar.said_after))


# An aside in brackets (`_pleads_in_an_aside`): its opening bracket, at most `_ASIDE_CHARS` characters of one line,
# its closing bracket. Bounded: looked for in every report and follow-up, each look reads no further than the next
# bracket or that many characters, so the whole text is read in linear time.
_ASIDE_CHARS = 200
_ASIDE_OPENINGS = with_compatibility_forms("([") + "【"
_ASIDE_CLOSINGS = with_compatibility_forms(")]") + "】"
_ASIDE = re.compile(rf"(?P<open>[{re.escape(_ASIDE_OPENINGS)}])"
                    rf"(?P<inside>[^{re.escape(_ASIDE_OPENINGS + _ASIDE_CLOSINGS)}\n]{{1,{_ASIDE_CHARS}}})"
                    rf"(?P<close>[{re.escape(_ASIDE_CLOSINGS)}])", re.UNICODE)


def _pleads_in_an_aside(text: str, grammar: Grammar) -> set[str]:
    """The flags asked by asides in brackets with flag words, their other words a plea for protection (`plea_words`
    and the words around them: "(anonim saya takut) pungli ...", "(anonim, saya takut)", "(anonim ya pak)"), or a flag
    word negated after them ("(anonim, bukan rahasia)": the anonymity word's flag alone); none for any other. Read as
    the citizen's words, the whistleblower who said they were afraid went named, and so did one who asked so in the
    middle of the text ("Pungli di loket 3 (anonim ya pak). Terjadi tiap hari"). An aside of other words is prose
    ("(anonim menurut warga) ..."), and so is a flag word alone in one ("Pak RT (anonim) minta uang": someone else's
    name withheld)."""
    flags: set[str] = set()
    for aside in _ASIDE.finditer(text):
        if _paired(aside.group("open"), aside.group("close")):
            inside = aside.group("inside")
            words = _folded_words(inside, grammar)
            flags |= _aside_flags(words, grammar)
            # An anonymity request alone in an aside opening or closing the text or a clause ("(tanpa nama) pungli
            # ...", "... (tanpa nama)", "(jangan sebut nama ya pak). ..."), read as a clause of its own is; inside a
            # clause it is someone else's ("mayat (tanpa nama) ditemukan"), as "Pak RT (anonim)" is. Passed at once
            # by an aside with none of the requests' last words (`_asks_in_a_clause`).
            if ("anonymous" not in flags and _sets_a_clause_apart(text, aside.start(), aside.end())
                    and _asks_in_a_clause(inside, words, grammar, grammar.anonymity_requests, (),
                                          grammar.anonymity_request_ends, _STATEMENT_BREAKS)):
                flags.add("anonymous")
    return flags


def _sets_a_clause_apart(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` (an aside) opens or closes the text or a clause: nothing but spaces, or a clause
    break, between it and the text's edge or the break."""
    before, after = text[:start].rstrip(), text[end:].lstrip()
    return (not before or not after or _CLAUSE_BREAK.fullmatch(before[-1]) is not None
            or _CLAUSE_BREAK.fullmatch(after[0]) is not None)


def _aside_flags(words: list[str], grammar: Grammar) -> set[str]:
    """`_pleads_in_an_aside` of one aside's folded words."""
    flags: set[str] = set()
    at, negated = 0, False
    while at < len(words):
        if flags and words[at] in grammar.flag_negations and at + 1 < len(words) and words[at + 1] in grammar.flags:
            # "(anonim, bukan rahasia)": a confidentiality word negated asks nothing, an anonymity word still does
            if grammar.flags[words[at + 1]] == "anonymous":
                flags.add("anonymous")
            at, negated = at + 2, True
        elif words[at] in grammar.flags or (flags and words[at] in grammar.flag_openers_after_keywords
                                            and at + 1 < len(words) and words[at + 1] in grammar.flags):
            if words[at] in grammar.flags:
                flags.add(grammar.flags[words[at]])
            at += 1
        else:
            break
    plea = words[at:]
    if not flags or not (plea or negated) or not all(
            word in grammar.plea_vocabulary or word in grammar.flags for word in plea):
        return set()
    return flags if negated or any(word in grammar.plea_asks for word in plea) else set()


# Where a form's name line may open: the text's start, a line's, a clause's.
_CLAUSE_BREAK = re.compile(r"[\n.!?;,\u3002\uff01\uff1f\uff1b\uff0c]")
# A run of them, spaces between: the clauses `_asks_in_a_clause` reads, none empty of characters ("..." is one break).
_CLAUSE_BREAKS = re.compile(rf"(?:{_CLAUSE_BREAK.pattern}\s*)+")
# Those and a colon: the clauses `_states_in_a_clause` reads ("Laporan ini rahasia: pungli di loket 3"). Not a break
# for a request, which a colon may introduce ("Saya minta: jangan disebarkan"), or for a form's name line ("Nama:").
# An SMS sets a statement apart with more: an ellipsis, a dash between spaces (a hyphen inside a word is none:
# "kata-kata"), an emoji, a chat's bold ("Identitas saya rahasia ya pak 🙏 pungli di loket 3", "Ini rahasia…pungli",
# "... - ini rahasia ya pak - ...", "*Ini rahasia* pungli ..."): read as one clause with the report, each statement
# went public or named. Not brackets: "Pak RT (anonim) minta uang" withholds the official's name, not the
# reporter's (an aside that pleads is read on its own, `_pleads_in_an_aside`).
_STATEMENT_BREAKS = re.compile(r"(?:(?:[\n.!?;,:\u3002\uff01\uff1f\uff1b\uff0c\uff1a\u2026\u2013\u2014*"
                               r"\u2600-\u27bf\U0001f000-\U0001faff\ufe0f]|\s-+\s)\s*)+")


def _fills_a_name_line(text: str, words: list[str], grammar: Grammar) -> bool:
    """Whether a clause of the text opens with a form's name line filled with the wish (`anonymous_name_lines`:
    "Nama: Anonim", "Nama: mohon dirahasiakan"). `words`: the text's folded words, to pass at once a text with none of
    the labels (most reports)."""
    if grammar.anonymity_name_line_openers.isdisjoint(words):
        # Most reports: none of their words opens a line. Asked of the list of words line by line, a scan of it per
        # line, it cost a thirtieth of the parse.
        return False
    return _opens_a_clause_with(text, [line for line in grammar.anonymity_name_lines if line and line[0] in words],
                                grammar)


def _fills_a_closing_name_line(text: str, words: list[str], grammar: Grammar, typed: str) -> bool:
    """Whether the message closes with a form's name line filled with the wish whose value was read off as a flag word
    ("...\nNama: Rahasia", "... Pelapor: rahasia", "Name: secret"): the text is left ending with the label alone, and
    read in it the line was not there, the report named (the confidentiality word still sets its flag). Read in the
    message as typed only when the text's last word is one of the labels."""
    if not words or words[-1] not in grammar.anonymity_name_line_openers or typed == text:
        return False
    return _fills_a_name_line(typed, _folded_words(typed, grammar), grammar)


def _opens_a_clause_with(text: str, lines: list[tuple[str, ...]], grammar: Grammar) -> bool:
    """Whether a clause of the text opens with one of the name lines `lines` (`_fills_a_name_line`)."""
    if not lines:
        return False
    fillers = grammar.anonymity_phrase_fillers
    for clause in _CLAUSE_BREAK.split(text):
        opening = [word for word in _folded_words(clause, grammar) if word not in fillers]
        if any(tuple(opening[:len(line)]) == line for line in lines):
            return True
    return False


def _leaves_the_name_blank(text: str, grammar: Grammar) -> bool:
    """Whether a line of the text is a form's name line left blank or filled with a dash ("Nama: -", "Nama pelapor:",
    "Name: n/a"): a reporter who chose to give no name, whose number went to the agency with the form. Only a line
    holding a colon is looked at."""
    return grammar.blank_name_line is not None and (":" in text or "=" in text) and (
        grammar.blank_name_line.search(text) is not None)


# Marks a word right after a request word (`_asks_in_a_phrase`); no word of a text holds it.
_ASKED = "^"


def _by_first_word(phrases: Iterable[list[str]], *, asked: bool = False) -> dict[str, tuple[str, ...]]:
    """Folded phrases, each padded with a space at both ends, under their first word. `asked`: each phrase once per
    word of it, that word marked as asked (`_ASKED`): a request word stood right before it."""
    grouped: dict[str, list[str]] = {}
    for words in phrases:
        if words:
            forms = [[*words[:at], _ASKED + words[at], *words[at + 1:]] for at in range(len(words))] if asked \
                else [words]
            grouped.setdefault(words[0], []).extend(f" {' '.join(form)} " for form in forms)
    return {word: tuple(padded) for word, padded in grouped.items()}


def _wishes_anonymity(words: list[str], grammar: Grammar) -> bool:
    """Whether the folded words hold anonymity wished in a sentence of the citizen's own (`[flags_in_words]`): an
    anonymity word ("anonim", "anonymously", "dianonimkan") with a run of `request_words` and `request_links` right
    before it, at most `request_reach` words, one of them a `request_words` ("Saya ingin melapor secara anonim", "I
    want to report this anonymously", "Tolong laporan ini dianonimkan"). Any other word in the run makes it prose ("akun
    anonim", "dikirim secara anonim"). So do a greeting and terms of address alone before it, opening the message (the
    words of `[greeting]`, the courtesy's thanks, praise, fillers and names: "Selamat pagi, ANONIM. ...", "Halo min,
    anonim ya. ...", "Terima kasih min, ANONIM: ...", "Mantap min, anonim ya. ...", "Lapor pak (anonim) ..." once the
    kind word is read; each was a named report). Our short code or handle between them is read past. Each anonymity
    word looks back a bounded number of words: linear in the text."""
    if grammar.anonymity_words.isdisjoint(words):  # most reports: no word to look back from
        return False
    opening = (grammar.greeting.vocabulary, grammar.courtesy.vocabulary)
    for at, word in enumerate(words):
        if word not in grammar.anonymity_words:
            continue
        if 0 < at <= grammar.request_reach and all(
                any(before in table or _squeeze(before) in table for table in opening) for before in words[:at]):
            return True
        for before in reversed(words[max(0, at - grammar.request_reach):at]):
            if before in grammar.request_words:
                return True
            # Our short code or handle among them ("Tolong @lapor1708 ANONIM ...", a mention's): addressed to us.
            if before not in grammar.request_links and before not in grammar.courtesy.names:
                break
    return False


def _parse_text(text: str, grammar: Grammar, shortest_id: int) -> ParsedText:
    if _our_answer_marks().search(text):  # first: our help's header and instructions read as a form copied
        ours = _our_answer_sent_back(text, grammar)
        if ours is not None:
            # Sent with a photo it is a report of the text (`normalize`), with the flags the text gives a report:
            # help's "LAPOR ANONIM <isi>" and the public help's "#anonim" and "#rahasia" (read as a query's, none, the
            # photo went to the agency named and public though the text held "#anonim").
            filed = _with_flags_asked_in_words(_parse_as_typed(text, grammar, shortest_id), grammar, text)
            return replace(ours, anonymous=filed.anonymous, confidential=filed.confidential)
    return _parse_as_typed(text, grammar, shortest_id)


def _parse_as_typed(text: str, grammar: Grammar, shortest_id: int) -> ParsedText:
    """`_parse_text` of a text that is none of our answers sent back (or read as if it were none)."""
    instructed = _parse_instructed(text, grammar, shortest_id)
    if instructed is not None:
        return instructed
    after_symbols = _after_leading_symbols(text)
    if after_symbols is not None:
        # Emoji typed before a command or a keyword ("🙏 CEK 10000004", "🙏🙏 ANONIM ..."): read past them. Missed,
        # the query was filed as a report, and the ANONIM was the text's and the reporter's number went to the agency.
        # Once, at the start: "🙏 1708 🙏 1708 ..." must not recurse through our short code as deep as it repeats.
        parsed = _parse_message(after_symbols, grammar, shortest_id)
        if parsed.action is Action.HELP and not any(char in _QUESTION for char in after_symbols) and (
                whole := _parse_message(text, grammar, shortest_id)).action is Action.COURTESY:
            # "🙏 1708", "❤️ 1708", "♥ a": thanks to our short code, or a filler after the emoji, as "1708 🙏" is; past
            # the emoji only our short code (or one letter) was left, and the citizen who thanked us was sent help's
            # two SMS parts. ("🙏 ?" and "👍 1708 ?" still ask for help: the "?" after our short code is read as its
            # separator, and the question went unanswered.)
            return whole
        if parsed.action in _READ_PAST_SYMBOLS or parsed.anonymous or parsed.confidential or parsed.explicit_kind:
            return parsed
    whole = _parse_message(text, grammar, shortest_id)
    if whole.action is Action.REPORT and not whole.explicit_kind and (greeted := _past_greeting_at(text, grammar)):
        # A greeting or a call to the admin before an ID or a kind word ("Pak, 10000004", "Min, INFO jadwal posyandu",
        # "Min, <id> jalan masih rusak"): read past, as emoji are. Missed, the follow-up was a new report under the
        # citizen's number, answered with a new Tracking ID, and the kind was lost. A report without a keyword keeps
        # its greeting ("Pak, jalan rusak"), as do flags (`_wishes_anonymity` reads them, the words kept). A kind word
        # alone after it is one alone ("Min, LAPOR": help, or a photo's report of its kind), not a case of its words.
        parsed = _parse_message(text[greeted:], grammar, shortest_id)
        if parsed.action in _READ_PAST_SYMBOLS or parsed.explicit_kind:
            return parsed
    return whole


# The most words a greeting before a command may hold ("Assalamualaikum wr wb selamat pagi pak admin").
_GREETING_WORDS = 8


def _past_greeting_at(text: str, grammar: Grammar) -> int:
    """Where a greeting or a call to the admin opening the text ends (`[greeting]`'s phrases' words, the courtesy's
    `calls`: "Pak,", "Selamat pagi min,", "Halo admin"), before a word of none of them; 0 when it opens with none. Not
    the courtesy's fillers: "ya lapor aja ke polisi" is one citizen's answer to another. A command, kind or flag word
    ends it ("Cek tes" greets, "CEK <id>" asks): never read as one. Emoji before, between or after its words go with
    it ("🙏 Min, <id> ...", "Min 🙏 <id> ..."): read past at the start alone, they left the greeting, and the follow-up
    was a new report."""
    at, words, greeted = 0, 0, 0
    while words < _GREETING_WORDS:
        at = _past_leading_symbols_at(text, at) or at
        if (match := _LEADING_WORD.match(text, at)) is None:
            break
        word = fold_word(match.group("word"))
        if (word in grammar.kinds or word in grammar.flags or word in grammar.status_words or word in grammar.help_words
                or not (word in grammar.greeting_words or _squeeze(word) in grammar.greeting_words
                        or word in grammar.calls)):
            break
        at, words, greeted = match.end(), words + 1, match.end()
    return (_past_leading_symbols_at(text, greeted) or greeted) if words else 0


def _past_flag_particles_at(text: str, at: int, grammar: Grammar) -> int:
    """Where the particles said with the leading flag or kind words (`[flag_particles]`: "ya pak", "min") end, when a
    run of them at `at` is set apart from the text by punctuation or an emoji ("Rahasia ya. Kepala desa ...", "ANONIM
    ya pak 🙏 ..."); `at` when none is, or nothing follows them ("Anonim ya pak kepala desa ...": the text's)."""
    end = at
    while (match := _LEADING_WORD.match(text, end)) and fold_word(match.group("word")) in grammar.flag_particles:
        end = match.end()
        sep = match.group("sep")
        if sep.strip().lstrip(HASH) or (sep[:1] in HASH and sep and _hash_sets_particles_apart(text, match, grammar)):
            # punctuation after the particles: they were said to us
            return at if _blank_from(text, end) else end
        if (past_emoji := _past_leading_symbols_at(text, end)) is not None:  # an emoji after them, and more
            return past_emoji
    return at


def _hash_sets_particles_apart(text: str, particle: re.Match[str], grammar: Grammar) -> bool:
    """Whether the "#" glued to a particle (`particle`, `_LEADING_WORD`) sets the particles apart as punctuation does:
    before a keyword, a command or an ID that is no particle ("ANONIM ya#<id> ...", "LAPOR min#ANONIM#<isi>"), not
    before a word of the citizen's ("LAPOR pak#SaveKPK ...": the hashtag kept)."""
    after = particle.end("word")
    following = _MARKED_WORD.match(text, particle.end())
    return _glued_hash_end(text, after, grammar) not in (None, after) and (
        following is None or fold_word(following.group("word")) not in grammar.flag_particles)


def _parse_instructed(text: str, grammar: Grammar, shortest_id: int) -> ParsedText | None:
    """The form a citizen copied with help's instruction words before it (`[instructions]`: "ketik LAPOR ANONIM
    <isi>", "Cek status: CEK <id>", "Jenis: WBS <isi>", "Cek status: ketik CEK <id> kirim ke 1708.", "LAPOR! 1708:
    ketik LAPOR ANONIM <isi>", "Silakan kirim CEK <id> lagi nanti."), read as the form alone is; None when the text
    opens with none of them, or what follows is no form each of them introduces: then they are the citizen's words
    ("ketik KTP dipungut biaya", "Status: laporan saya belum ditindaklanjuti", "LAPOR! jalan rusak").

    Emoji and our short code may stand around them ("1708 ketik LAPOR ..."). One loop from the start, asked once at
    the top: what follows them is read as a message of its own, never back through here, so repeated instruction
    words cost no recursion."""
    at, read, bare = 0, [], False
    while True:
        found = _instruction_at(text, at, grammar, headers=not read)
        if found is not None and not found[2] and found[0].introduces is Introduces.QUERY and not (
                _status_command_at(text, found[1], grammar)
                or _instruction_at(text, found[1], grammar, headers=False) is not None):
            # A status word without its label's punctuation and no status command after it: the status command
            # itself ("LAPOR! Status laporan <id> ...").
            found = None
        if found is not None:
            instruction, at, punctuated = found
            read.append((instruction, punctuated))
            # Our name with nothing after it yet: only a status query may follow it (`_introduces`).
            bare = instruction.introduces is Introduces.HEADER
            continue
        past = _past_symbols_and_address_at(text, at, grammar)
        if past == at:
            break
        bare = bare and not any(char.isalnum() for char in text[at:past])  # our short code after it: "LAPOR! 1708:"
        at = past
    if not read:
        return None
    rest = text[at:]
    # A status label typed without its punctuation ("Cek status CEK <id>", "kirim CEK <id>"), or our name alone ("LAPOR!
    # Status laporan <id> ..."), only before a status command: "kirim 500000", "LAPOR: <id> ..." stay as they were.
    if (bare or any(instruction.introduces is Introduces.QUERY and not punctuated for instruction, punctuated in read)
            ) and not _status_command_at(text, at, grammar):
        return None
    if any(instruction.introduces is Introduces.FORM for instruction, _ in read):
        # A verb copied: the instruction copied whole, and so its closing ("... kirim ke 1708").
        rest = _without_closing(rest, grammar)
    parsed = replace(_parse_message(rest, grammar, shortest_id), language=detect_language(text, grammar, copied=True))
    if _mistyped_id_and_words(parsed) or not all(
            _introduces(instruction, parsed, punctuated, bare) for instruction, punctuated in read):
        return None
    header = next((instruction.words[0] for instruction, _ in read if instruction.introduces is Introduces.HEADER
                   and instruction.words[0] in grammar.kinds), None)
    if header is not None and parsed.action is Action.REPORT and not parsed.explicit_kind:
        # "LAPOR! 1708: ketik ANONIM <isi>": our name is a kind word, as "LAPOR ANONIM <isi>" reads it.
        parsed = replace(parsed, kind=grammar.kinds[header], explicit_kind=True)
    return parsed


def _instruction_at(text: str, at: int, grammar: Grammar, *, headers: bool) -> tuple[Instruction, int, bool] | None:
    """(the instruction, where it ends, the separators after it taken, whether they hold punctuation) when one of
    help's instruction words or phrases is typed at `at`, its words one space or more apart, set apart from what
    follows: a verb or a status label by anything, a kind label by punctuation ("Jenis:", "Jenis -"). Our answers'
    name only with `headers` (first: after it, "ketik LAPOR ..." and "1708: LAPOR ..." are the kind word)."""
    first = _WORD_AT.match(text, at)
    if first is None:
        return None
    for instruction in grammar.instructions.get(fold_word(first.group("word")), ()):  # longest first: "cek status"
        if instruction.introduces is Introduces.HEADER and not headers:
            continue
        match: re.Match[str] | None = first
        for following in instruction.words[1:]:
            assert match is not None
            sep = match.group("sep")
            match = _WORD_AT.match(text, match.end()) if sep and sep.isspace() else None
            if match is None or fold_word(match.group("word")) != following:
                match = None
                break
        if match is None:
            continue
        sep = match.group("sep")
        punctuated = sep.strip() != ""
        if punctuated if instruction.introduces is Introduces.KIND else _set_apart(text, match.end(), sep):
            return instruction, match.end(), punctuated
    return None


def _status_command_at(text: str, at: int, grammar: Grammar) -> bool:
    """Whether a status command ("CEK", "status") is typed at `at`, read where it is: no copy of the text's rest, so
    `_parse_instructed`'s loop stays linear however often a status label repeats."""
    word = _WORD_AT.match(text, at)
    return word is not None and fold_word(word.group("word")) in grammar.status_words


def _past_symbols_and_address_at(text: str, at: int, grammar: Grammar) -> int:
    """Where the emoji, spaces and our short codes or handles typed at `at` end (`_past_symbols_and_our_address`
    without copying the text: `_parse_instructed`'s loop stays linear however often they repeat)."""
    while True:
        start = at
        while at < len(text) and (text[at].isspace() or unicodedata.category(text[at]) in _EMOJI_CATEGORIES):
            at += 1
        name = _LEADING_NAME.match(text, at)
        if name is not None and fold_word(name.group("name")) in grammar.addressed_to and (
                (end := _our_address_end(text, name, grammar)) is not None):
            at = end
        if at == start:
            return at


def _introduces(instruction: Instruction, parsed: ParsedText, punctuated: bool, bare: bool) -> bool:
    """Whether what follows an instruction word is a form it introduces: a status query after "Cek status:" (one
    without an ID too: "Cek status: CEK", only with the label's punctuation) and after our name alone (`bare`), a report
    of a kind after "Jenis:", any of help's forms after "ketik" and after our name with our short code or another
    instruction after it."""
    if instruction.introduces is Introduces.QUERY or (instruction.introduces is Introduces.HEADER and bare):
        # A status question without an ID after them: only after the label's punctuation or, without it, a status
        # command, which `_parse_instructed` asked for ("LAPOR! CEK laporan saya", "kirim CEK"). Filed, it was a new
        # report under the citizen's number.
        return parsed.action in (Action.STATUS, Action.BAD_TRACKING_ID, Action.STATUS_HELP) or (
            parsed.action is Action.HELP and punctuated and instruction.introduces is Introduces.QUERY)
    report = parsed.action is Action.REPORT
    if instruction.introduces is Introduces.KIND:
        return report and parsed.explicit_kind
    return parsed.action in _FLAGGED_QUERIES or (
        report and (parsed.explicit_kind or parsed.anonymous or parsed.confidential))


def _without_closing(text: str, grammar: Grammar) -> str:
    """`text` without what help puts after a form at its end ("LAPOR jalan rusak kirim ke 1708." -> "LAPOR jalan
    rusak"; `[instructions]` closings), and the separators before it; as it was when it does not end so."""
    body = _without_closing_marks(text)
    for closing in grammar.instruction_closings:
        parts = body.rsplit(maxsplit=len(closing))
        if len(parts) == len(closing) + 1 and tuple(fold_word(part) for part in parts[1:]) == closing:
            return parts[0].rstrip(_TRAILING_OPEN)
    return text


def _without_placeholder_marks(text: str, grammar: Grammar) -> str:
    """`text` without the marks help puts around what the citizen fills in, when they open it ("<jalan rusak di depan
    SD>" -> "jalan rusak di depan SD", "<preman minta uang>: identitas dirahasiakan" as help's sentence copied whole).
    Only a pair opening the text, around words: "harga > 5000", "<3" and a number help's "<nomor lacak>" put in them
    ("<12345672> ...", a mistyped ID, "<17-08-2025> ...") stay as typed."""
    marked = grammar.placeholder.match(text) if grammar.placeholder is not None else None
    if marked is None or not any(char.isalpha() for char in marked.group("inside")):
        return text
    return marked.group("inside") + text[marked.end():]


def _parse_message(text: str, grammar: Grammar, shortest_id: int) -> ParsedText:
    """`parse_text` of a text whose leading emoji, if any, are part of it."""
    language = detect_language(text, grammar)
    # Only thanks, fillers and our names: no command or Tracking ID either ("1708 1708 alhamdulilah" read as the ID
    # 17081708, our short code twice, and was answered "not valid"). Only an opt-out word ("STOP", "UNREG 1708") or
    # only an opt-in word ("START", "YES"): as a courtesy, nothing to file and no answer wanted.
    short = _only_short_message_words(text, grammar)
    unanswered = (None if not short else Action.COURTESY if is_courtesy(text, grammar)
                  else Action.OPT_OUT if is_opt_out(text, grammar) else Action.OPT_IN if is_opt_in(text, grammar)
                  else None)
    if unanswered is None and _thanks_for_what_was_done(text, grammar):
        unanswered = Action.COURTESY
    command = None if unanswered else _parse_query(text, grammar, language, shortest_id, short)
    if command is not None:
        return command
    if not unanswered and (asked := _asks_how_to_report(text, grammar, language)) is not None:
        return asked

    kind, explicit, flags, at, unclosed_asked, compound = ReportKind.COMPLAINT, False, set(), 0, False, False
    spelled = False  # a space spelled out between the leading words ("LAPOR spasi ANONIM spasi <isi>"): a format's
    # Leading words: at most one kind keyword and any number of flag words, in any order (a word introducing a
    # flag word read with it: "Tambah ANONIM", `_leading_keyword_at`). Read by position, the text sliced once after
    # them: a copy of the rest a word made "anonim " 20,000 times cost time quadratic in the text.
    while True:
        taken, past = _leading_keyword_at(text, at, grammar, explicit, explicit or bool(flags)), None
        if taken is None and not unclosed_asked:
            # A group left open ("[ANONIM, RAHASIA pungli ..."), where the leading words first stop: once a message,
            # as the brackets after it are counted.
            unclosed_asked, taken = True, _unclosed_group_first_at(text, at, grammar)
        if taken is None and (explicit or flags):
            # Our short code or emoji between them ("LAPOR 1708 ANONIM ...", "LAPOR 🙏 ANONIM ..."), skipped when a
            # keyword follows them. Missed, the ANONIM was the text's and the reporter's number went to the agency.
            past = _past_symbols_and_our_address_at(text, at, grammar)
            taken = (_leading_keyword_at(text, past, grammar, explicit, True)
                     if past is not None and past < len(text) else None)
        if taken is None and (explicit or flags) and (spaced := _past_spelled_space_at(
                text, at if past is None else past, grammar)) is not None and (
                after := _leading_keyword_at(text, spaced, grammar, explicit, True)) is not None:
            # A space spelled out between them, as Indonesian SMS services write their formats ("ketik LAPOR spasi
            # ANONIM spasi <isi>") and citizens type them: the ANONIM was the text's, the number sent to the agency.
            past, taken, spelled = spaced, after, True
        if taken is None and explicit:
            taken = _second_kind_after(text, at, past, grammar, kind)
        if flags and not explicit and (taken is None or taken[0] in grammar.kinds):
            # The flags end here: what follows them may be a query or a follow-up ("ANONIM CEK <id>", "ANONIM
            # laporan <id>", before "laporan" is taken as a kind). Asked once, so the loop stays linear in the text.
            asked = _flagged_query(text[past:] if past is not None and not _blank_from(text, past) else text[at:],
                                   grammar, language, shortest_id, flags)
            if asked is not None:
                return asked
        if taken is None:
            break
        word, end = taken
        if word in grammar.kinds:
            # A second kind word names the kind when the first was the generic "LAPOR" ("LAPOR WBS ANONIM ...").
            if not explicit or kind is ReportKind.COMPLAINT:
                kind = grammar.kinds[word]
            explicit = True
        else:
            flags.add(grammar.flags[word])
            typed_at = at if past is None else past  # after our short code or emoji read past ("LAPOR 🙏 RAHASIA ...")
            if _opens_a_compound(text, typed_at, end, word, grammar):  # "Rahasia negara ...": the words stay the text's
                at, compound = typed_at, True
                break
        at = end
    if (explicit or flags) and not compound and (
            spaced := _past_spelled_space_at(text, at, grammar, spaced=True)) is not None and (
            spelled or _SPELLED_SPACE.match(text, at).group("close") or _blank_from(text, spaced)
            or text[spaced].isdigit() or _status_command_at(text, spaced, grammar)
            or _flag_or_particle_at(text, spaced, grammar)):
        # The format's: bracketed ("LAPOR (spasi) <isi>"), before a query ("LAPOR spasi CEK <id>") or a word of ours
        # ("LAPOR spasi pak ANONIM <isi>": left, the ANONIM after it was the citizen's and their number reached the
        # agency), or after one between the keywords ("LAPOR spasi ANONIM spasi <isi>"). Else before words of the
        # citizen's it is theirs:
        # "REPORT space for wheelchairs is blocked", "ANONIM space heater ...", "LAPOR spasi antara ..." lost it.
        at = spaced
    if explicit and ((commanded := _status_command_at(text, at, grammar)) or text[at:at + 1].isdigit()):
        # A status query after the kind word ("WBS CEK <id>", "LAPOR ANONIM CEK <id>", "LAPOR <id>"): filed, it was a
        # new case holding a command and a number. Asked only where one may start: every report opens with a kind word.
        asked = _flagged_query(text[at:], grammar, language, shortest_id, flags, after_kind=True,
                               commanded=bool(commanded))
        if asked is not None:
            return asked
    if at and not compound and (past_particles := _past_flag_particles_at(text, at, grammar)) != at:
        at = past_particles
        # Flag words after them, as after the leading words ("LAPOR pak, ANONIM kades ...", "ANONIM ya. RAHASIA ..."):
        # read as the text's first word, the ANONIM was the citizen's and their number reached the agency.
        while (taken := _leading_keyword_at(text, at, grammar, True, True)) is not None:
            word, end = taken
            flags.add(grammar.flags[word])
            if _opens_a_compound(text, at, end, word, grammar):  # "LAPOR pak, Rahasia negara ...": the words stay
                compound = True
                break
            at = _past_flag_particles_at(text, end, grammar)
        # "ANONIM aja. CEK <id>": the query after the particles, our short code and emoji before it only read past
        # ("ANONIM aja. 1708 CEK <id>"). Read as a message of its own (`_parse_addressed`), each "anonim aja. 1708 "
        # repeated read the rest anew: a mail of them (17 kB) went past the recursion limit.
        asked_at = _past_symbols_and_our_address_at(text, at, grammar)
        if asked_at is None or _blank_from(text, asked_at):
            asked_at = at
        if flags and not explicit and (asked := _flagged_query(
                text[asked_at:], grammar, language, shortest_id, flags, addressed=False)) is not None:
            return asked
    rest = text[at:]
    # Flags as hashtags anywhere.
    for match in _HASHTAG.finditer(rest) if _HASH_MARK.search(rest) is not None else ():
        tag = fold_word(match.group("tag"))
        if asked_for := _read_hashtag(match, grammar)[0]:
            flags.update(asked_for)
        elif tag in grammar.kinds and not explicit:
            kind, explicit = grammar.kinds[tag], True
    rest = _text_without_flags(rest, grammar, flags)
    if _without_our_address(rest, grammar) == "":  # "LAPOR 1708": a keyword and our short code, nothing to file
        rest = ""
    elif explicit and not unanswered and (
            asked := _parse_status_question(rest, grammar, language, shortest_id, set(flags))) is not None:
        # A status question after the kind word, without an ID ("Lapor pak, nomor saya berapa?") or with one
        # ("LAPOR! gimana laporan 12345678?"): filed, the question was a new report under the citizen's number. Its
        # kind is kept for a photo sent with it ("WBS laporan saya?"). Its flag words are read into a copy: in a
        # report's prose they are the citizen's ("LAPOR nomor anonim meneror saya" was anonymous).
        return replace(asked, kind=kind, explicit_kind=True)
    elif (explicit or flags) and not unanswered and _only_greeting_or_thanks(rest, grammar):
        # A keyword and a greeting or thanks alone ("ANONIM halo", "WBS halo min", "LAPOR ANONIM terima kasih"):
        # nothing reported yet, a report of no words (help, `normalize`; with a photo, the photo's, its flags kept).
        # Filed, an agency got a case of "halo".
        rest = ""
    return ParsedText(
        # A courtesy (an opt-out or opt-in too) keeps what a report of it would hold: sent with a photo, it is a
        # report (`normalize`).
        action=unanswered or Action.REPORT,
        text=rest,
        kind=kind,
        explicit_kind=explicit,
        anonymous="anonymous" in flags,
        confidential="confidential" in flags,
        language=language,
    )
