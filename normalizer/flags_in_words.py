"""Anonymity and confidentiality asked in words (`[flags_in_words]` of `config/keywords.toml`), not by a flag word.

A phrase ("mohon identitas saya dirahasiakan"), a clause of the citizen's own ("saya takut ketahuan"), an aside that
pleads for protection ("(anonim, saya takut) ..."), a name line left blank or filled with "anonim".
`normalizer/keywords.py` (`_with_flags_asked_in_words`) asks them of a filed parse, with the flags it read there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache

from gateway.tracking import looks_like_tracking_id
from normalizer.grammar import _ASKED, Grammar
from normalizer.text import fold_word, with_compatibility_forms
from normalizer.tokens import _TOKENS, _folded_tokens, _paired, _squeeze


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
    # Most texts join no two words: no first word of a split abbreviation, or (many hold "di": "di depan", "di kantor")
    # none of their second words. Read a word at a time, a text of "di" cost a tenth of the flags' reading.
    seconds = grammar.anonymity_split_seconds
    if split.keys().isdisjoint(folded) or (seconds is not None and seconds.isdisjoint(folded)):
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


def _asks_no_flag_in_words(text: str, named: list[str], grammar: Grammar) -> bool:
    """Whether the readers of flags asked in words (`_with_flags_asked_in_words`) would find none in the text, as its
    folded words (`named`: with the kind word read off before it) hold none of `flags_in_words_triggers` and it holds
    no colon or "=" (a blank name line's). Each reader needs one of those words; the phrases need each word of theirs
    whole, so only when no word holds a space or the asked mark, as `_asks_in_a_phrase` reads them. Asked first: each
    reader asked in turn, a report that asks nothing (most) cost a tenth of its normalizing."""
    triggers = grammar.flags_in_words_triggers
    if triggers is None or not triggers.isdisjoint(named) or ":" in text or "=" in text:
        return False
    joined = " ".join(named)
    return joined.count(" ") == len(named) - 1 and _ASKED not in joined


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
    for breaks in statement_breaks(text):
        opening = _kind_word_before(text, typed, grammar) if typed is not None else []
        for clause, said, before, after in _own_clauses(text, grammar, breaks):
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
                    and any(_asks_in_a_clause(inside, words, grammar, grammar.anonymity_requests, (),
                                              grammar.anonymity_request_ends, breaks)
                            for breaks in statement_breaks(inside))):
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
# went public or named. Not brackets: "Pak RT (anonim) minta uang" withholds the official's name, not the reporter's
# (an aside that pleads is read on its own, `_pleads_in_an_aside`).
_STATEMENT_MARKS = (r"\n.!?;,:\u3002\uff01\uff1f\uff1b\uff0c\uff1a\u2026\u2013\u2014*\u2600-\u27bf\U0001f000-\U0001faff"
                    r"\ufe0f")
_STATEMENT_BREAKS = re.compile(rf"(?:(?:[{_STATEMENT_MARKS}]|\s-+\s)\s*)+")
# Those and a pipe, an SMS template's separator as a colon is ("TANPA NAMA|pungli ...", "Laporan ini rahasia | ..."),
# read where a text holds one (`statement_breaks`).
_PIPES = with_compatibility_forms("|")
_STATEMENT_BREAKS_AND_PIPES = re.compile(rf"(?:(?:[{_STATEMENT_MARKS}{_PIPES}]|\s-+\s)\s*)+")


def statement_breaks(text: str) -> tuple[re.Pattern[str], ...]:
    """The breaks a statement's clauses are read with, one after the other: prose's (`_STATEMENT_BREAKS`), then where
    the text holds a pipe, those and the pipe. A wish written as a label and its value ("Identitas saya | rahasia",
    "Nama | jangan disebut"), read with the pipe alone, was cut in two and went named: a pipe may add a reading, never
    take one away."""
    return (_STATEMENT_BREAKS, _STATEMENT_BREAKS_AND_PIPES) if any(pipe in text for pipe in _PIPES) else (
        _STATEMENT_BREAKS,)


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


def _wishes_anonymity(words: list[str], grammar: Grammar) -> bool:
    """Whether the folded words hold anonymity wished in a sentence of the citizen's own (`[flags_in_words]`): an
    anonymity word ("anonim", "anonymously", "dianonimkan") with a run of `request_words` and `request_links` right
    before it, at most `request_reach` words, one of them a `request_words` ("Saya ingin melapor secara anonim", "I
    want to report this anonymously", "Tolong laporan ini dianonimkan"). Any other word in the run makes it prose ("akun
    anonim", "dikirim secara anonim"). So do a greeting and terms of address alone before it, opening the message (the
    words of `[greeting]`, the courtesy's thanks, praise, fillers and names: "Selamat pagi, ANONIM. ...", "Halo min,
    anonim ya. ...", "Terima kasih min, ANONIM: ...", "Mantap min, anonim ya. ...", "Lapor pak (anonim) ..." once the
    kind word is read; each was a named report), and so do an apology or excuse (`apology_words`: "Maaf tadi lupa.
    ANONIM ...", "Sorry, ANONIM ..."). Our short code or handle between them is read past. Each anonymity word looks
    back a bounded number of words: linear in the text."""
    if grammar.anonymity_words.isdisjoint(words):  # most reports: no word to look back from
        return False
    opening = _opening_words(grammar)
    for at, word in enumerate(words):
        if word not in grammar.anonymity_words:
            continue
        # Another flag word among them too ("Maaf tadi lupa. RAHASIA & ANONIM ...": the RAHASIA kept it named).
        if 0 < at <= grammar.request_reach and all(
                before in grammar.flags or any(before in table or _squeeze(before) in table for table in opening)
                for before in words[:at]):
            return True
        for before in reversed(words[max(0, at - grammar.request_reach):at]):
            if before in grammar.request_words:
                return True
            # Our short code or handle among them ("Tolong @lapor1708 ANONIM ...", a mention's): addressed to us.
            if before not in grammar.request_links and before not in grammar.courtesy.names:
                break
    return False


def _opening_words(grammar: Grammar) -> tuple[frozenset[str], ...]:
    """The tables of the words that may open a message before a flag word read as one there (`_wishes_anonymity`,
    `_wishes_confidentiality`): a greeting's, the courtesy's (thanks, praise, fillers, names), an apology's."""
    return grammar.greeting.vocabulary, grammar.courtesy.vocabulary, grammar.apology_words


def _wishes_confidentiality(words: list[str], grammar: Grammar) -> bool:
    """Whether the folded words open with an apology or excuse before a confidentiality word (`apology_words`, at most
    `request_reach` words, a greeting's, a courtesy's or another flag word among them: "Maaf tadi lupa. RAHASIA pungli
    ...", "Maaf min, RAHASIA ...", "Maaf tadi lupa. ANONIM & RAHASIA ..."), read as the anonymity word is after them
    (`_wishes_anonymity`): the word forgotten in an earlier message. The report went public, where "Maaf tadi lupa.
    ANONIM ..." was anonymous. Any other word among them and it is prose ("Maaf, ini bukan rahasia", "Maaf, dokumen
    rahasia ..."); a word of `[flag_compounds]` after it keeps it a wish, as opening the text does ("Maaf, rahasia
    negara dijual": in doubt a wish, the text as typed)."""
    opening = _opening_words(grammar)
    apologized = False
    for word in words[:grammar.request_reach + 1]:
        if grammar.flags.get(word) == "confidential" and apologized:
            return True
        if word in grammar.apology_words or _squeeze(word) in grammar.apology_words:
            apologized = True
        elif word not in grammar.flags and not any(word in table or _squeeze(word) in table for table in opening):
            return False
    return False
