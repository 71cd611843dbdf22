"""The keyword grammar's data: its tables read from `config/keywords.toml`, and what a parse gives back.

`load_grammar` reads and checks the tables once into a `Grammar`; `ParsedText` is a message's reading (its `Action`,
its kind, its flags, its Tracking ID, its language and the text left). Every reader of the grammar
(`normalizer/keywords.py`, the small-talk checks, the flags asked in words, our replies sent back) imports these from
here.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from gateway.settings import CONFIG_DIR
from normalizer.envelope import ReportKind
from normalizer.text import fold_word, with_compatibility_forms
from normalizer.tokens import _TOKENS, _squeeze


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
    # One word of each phrase the readers of flags asked in words need whole (`_flags_in_words_triggers`):
    # the phrases of the four tables above and the requests below. With the name lines' first words and the statements'
    # words, a text holding none of them asks for no flag in words but by an opening "dengan anonim" (most reports).
    # None (a grammar not made by `load_grammar`): every text is read for them.
    flags_in_words_triggers: frozenset[str] | None = None
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
    # Their second words, of any first: a text holding none of them joins no two words ("di depan" is no abbreviation).
    # None (a grammar not made by `load_grammar`): each text is read for them.
    anonymity_split_seconds: frozenset[str] | None = None
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
    # An apology or excuse before it, read as a greeting there is ("Maaf tadi lupa. ANONIM ..."). Folded.
    apology_words: frozenset[str] = frozenset()
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
    # Words that, between the two, make a statement of them ("sudah diperbaiki tapi lampunya belum";
    # `closings_contrasts`). Folded.
    status_question_closings_contrasts: frozenset[str] = frozenset()
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
    # A currency before a number and a month's name after one (`[commands] amount_currencies`, `months`), folded: with
    # `amount_only_units`, the words of a number typed in words opening a report's text ("Rp 15.000.000", "17
    # Agustus"), after which flag words are read as after a Tracking ID.
    amount_currencies: frozenset[str] = frozenset()
    number_words: frozenset[str] = frozenset()
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
        apology_words=frozenset(fold_word(w) for w in in_words.get("apology_words", [])),
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
        status_question_closings_contrasts=frozenset(
            fold_word(w) for w in questions.get("closings_contrasts", [])),
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
        amount_currencies=frozenset(fold_word(w) for w in raw["commands"].get("amount_currencies", [])),
        number_words=frozenset(fold_word(w) for key in ("amount_only_units", "months")
                               for w in raw["commands"].get(key, [])),
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
                               flags_in_words_triggers=_flags_in_words_triggers(grammar, padded),
                               anonymity_split_seconds=frozenset(
                                   second for seconds in grammar.anonymity_split_abbreviations.values()
                                   for second in seconds),
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


# Marks a word right after a request word (`_asks_in_a_phrase`); no word of a text holds it.
_ASKED = "^"


def _flags_in_words_triggers(grammar: Grammar, padded: list[str]) -> frozenset[str]:
    """`Grammar.flags_in_words_triggers`: one word of each padded phrase (`padded`) and of each request phrase, which
    a text must hold for the phrase to stand in it (the longest that is no language marker: the common words "saya",
    "nomor", "laporan" are markers, and a report holding one would be read through for nothing); the first words of
    the name lines; the anonymity words and the words of the confidentiality and identity statements."""
    requests = (*grammar.anonymity_requests, *grammar.confidentiality_requests,
                *grammar.confidentiality_requests_when_asked)
    phrases = [phrase.replace(_ASKED, "").split() for phrase in padded] + [list(words) for words in requests]
    common = grammar.indonesian_markers | grammar.english_markers
    openers = {line[0] for line in grammar.anonymity_name_lines if line}
    return frozenset(min(sorted(words), key=lambda word: (word in common, -len(word))) for words in phrases) | (
        openers | grammar.anonymity_words | grammar.confidentiality_statements | grammar.identity_statements)


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
