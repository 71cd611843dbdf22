"""Our own replies, known again when a citizen sends one back or quotes it (config/replies.toml).

The answers that name a report (`SMS_REPLY_KEYS`, `PUBLIC_REPLY_KEYS`: a quoted one with words is a follow-up of its
ID), and those that name none, sent back whole (help, the usage text): answered as they were, never filed.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

from gateway.replies import load_replies, reply_templates
from normalizer.grammar import Action, Grammar, ParsedText
from normalizer.text import fold_word
from normalizer.tokens import _TOKENS

# Our answers that name a report (config/replies.toml), both languages: by SMS, and in public to a mention.
SMS_REPLY_KEYS = ("ack", "ack_anonymous", "ack_confidential", "ack_anonymous_confidential", "ack_incomplete",
                  "ack_incomplete_confidential", "duplicate", "duplicate_anonymous", "duplicate_confidential",
                  "duplicate_anonymous_confidential", "follow_up_unknown", "follow_up_unknown_anonymous",
                  "follow_up_unknown_confidential", "follow_up_unknown_anonymous_confidential",
                  "bad_tracking_id_photo", "bad_tracking_id_photo_confidential",
                  "bad_tracking_id", "status", "status_retry", "status_pending", "status_unknown",
                  *(f"report_flood_notice{flags}" for flags in ("", "_anonymous", "_confidential",
                                                                "_anonymous_confidential")),
                  *(f"follow_up{status}{flags}" for status in ("", "_status", "_status_pending", "_status_retry")
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
PUBLIC_REPLY_KEYS = ("social_ack", "social_duplicate", "social_follow_up", "social_follow_up_unknown",
                     "social_bad_tracking_id_photo", "social_status", "social_bad_tracking_id")
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
