"""The texts of config/replies.toml that our mail replies carry, and the tag of their subject: the reply worker writes
them (`reply.py`), and the parser knows them again where a citizen's answer quotes one or a forward carries one
(`parse.py`): Outlook quotes a mail with no `>`, and nothing else tells our words there from the citizen's below
them."""

from __future__ import annotations

import re
from functools import lru_cache

from gateway.replies import load_replies, reply_templates
from normalizer.text import cut_text, with_compatibility_forms

# A reply's kind -> its text. ("duplicate": replies queued before a mail delivered again was answered as its first
# delivery; see processor.reply_payload)
REPLY_TEXTS = {"ack": "email_ack", "ack_anonymous": "email_ack_anonymous", "ack_confidential": "email_ack_confidential",
               "ack_anonymous_confidential": "email_ack_anonymous_confidential", "duplicate": "email_duplicate",
               # the same mail sent again within the window (gateway/same_text.py), its flags told
               "duplicate_anonymous": "email_duplicate_anonymous",
               "duplicate_confidential": "email_duplicate_confidential",
               "duplicate_anonymous_confidential": "email_duplicate_anonymous_confidential",
               "follow_up": "email_follow_up",
               # a CEK's words of news added, with the status (workers/email_reply.py), or without it: asked again
               "follow_up_status": "email_follow_up_status",
               "follow_up_status_retry": "email_follow_up_status_retry",
               "follow_up_unknown": "email_follow_up_unknown",
               "follow_up_unknown_anonymous": "email_follow_up_unknown_anonymous",
               "follow_up_unknown_confidential": "email_follow_up_unknown_confidential",
               "follow_up_unknown_anonymous_confidential": "email_follow_up_unknown_anonymous_confidential",
               "follow_up_other_sender": "email_follow_up_other_sender",
               "bad_tracking_id_photo": "email_bad_tracking_id_photo",
               "bad_tracking_id_photo_confidential": "email_bad_tracking_id_photo_confidential",
               # a CEK whose status lookups ran out (workers/email_reply.py `_lookup_failed`)
               "status_retry": "email_status_retry"}
# The answers to a CEK by mail: its status (`status_body`), and a Tracking ID that is not valid (the SMS's text, which
# it was before, still quoted in citizens' mailboxes).
ANSWER_TEXTS = ("status", "status_unknown", "email_bad_tracking_id", "bad_tracking_id")
# The lines a reply adds for the files of a mail it did not keep (`reply.not_kept_lines`), each a line of its own,
# and the one it adds for a text cut at the limit (`reply.text_cut_line`).
NOT_KEPT_TEXTS = ("email_not_kept_too_large", "email_not_kept_too_many", "email_not_kept_message_too_large",
                  "email_not_kept_rest", "email_not_kept_again", "email_text_truncated")


def _any_form(char: str) -> str:
    """A class of `char` and its compatibility forms (`with_compatibility_forms`)."""
    return f"[{re.escape(with_compatibility_forms(char))}]"


# `[LAPOR #<id>]`, read as the SMS grammar reads a fullwidth keyboard's text (NFKC): `[LAPOR ＃<id>]`,
# `［ＬＡＰＯＲ　＃１００００００４］` name the report as the ASCII tag does (`\d`: any script's digits, `\s`: the
# ideographic space too). Here, not in guards.py, because the parser reads it too: a mail whose subject carries it is
# read for a quote of our reply whatever its In-Reply-To says (`ParsedMail.tagged_text`).
SUBJECT_TAG = re.compile(rf"{_any_form('[')}\s*{''.join(map(_any_form, 'LAPOR'))}\s*{_any_form('#')}\s*(\d{{6,14}})"
                         rf"{_any_form(']')}", re.IGNORECASE)

_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
# A Tracking ID as a quote shows it: its digits, and the link a client made of it or of the page's address around it
# ("...10001301<https://...>", "10001301 (https://...)", an iPhone's "10001301 (tel:10001301)"). Only that: as a run
# of any 80 characters, the citizen's words typed into our quote beside it ("Nomor lacak laporan Anda: 10001301 LAMPU
# MASIH MATI PAK.") were passed over with it.
_QUOTED_ID = r"\d{1,20}(?:<[^<>\s]{1,300}>|\s?\([^()\s]{1,300}\))?"
# What the reply worker writes for each placeholder, with the whitespace around it (a template's words are matched
# without theirs); any other (a status name, a number as the citizen typed it) is a run of up to 80 characters.
_QUOTED_VALUES = {"{tracking_id}": rf"\s*{_QUOTED_ID}\s*", "{follow_up_of}": rf"\s*{_QUOTED_ID}\s*"}


def _as_quoted(template: str) -> str:
    """A template as a pattern of its quote: its words in order, any whitespace between them (a client wraps long
    lines), each placeholder its value's pattern (`_QUOTED_VALUES`)."""
    pieces = _PLACEHOLDER.split(template.strip())
    words = [r"\s+".join(map(re.escape, piece.split())) for piece in pieces]
    values = [_QUOTED_VALUES.get(name, r"[\s\S]{1,80}?") for name in _PLACEHOLDER.findall(template.strip())]
    return words[0] + "".join(value + word for value, word in zip(values, words[1:], strict=True))


def _templates() -> list[str]:
    """Each text in both languages, current and former (`[<key>.former]`): a citizen's mailbox keeps our replies in
    the words they had, and a quote of a reworded one was taken for the citizen's own words."""
    replies = load_replies()
    return [template for key in (*REPLY_TEXTS.values(), *ANSWER_TEXTS, *NOT_KEPT_TEXTS) for language in ("id", "en")
            for template in reply_templates(replies[key], language)]


@lru_cache(maxsize=1)
def our_paragraph() -> re.Pattern[str]:
    """One text of one of our mail replies, in either language, from where the match starts to the end of a line."""
    alternatives = "|".join(_as_quoted(template) for template in sorted(_templates(), key=len, reverse=True))
    return re.compile(rf"\s*(?:{alternatives})[ \t]*(?=\n|\Z)")


@lru_cache(maxsize=1)
def _openings() -> tuple[str, ...]:
    """Each text's words up to its first placeholder, one space between them."""
    return tuple(" ".join(_PLACEHOLDER.split(template.strip())[0].split()) for template in _templates())


def opens_our_text(line: str) -> bool:
    """Whether the line can be the first of one of our texts as a client quotes it (wrapped anywhere): the words
    before the text's first placeholder, or as many of them as the line holds. A line that is not starts no quote of
    ours, and is passed at once: a mail of thousands of quotes is read in linear time, not each quote's next lines
    again."""
    words = " ".join(line.split())
    return bool(words) and any(opening.startswith(words) or words.startswith(opening) for opening in _openings())


def cut_at_word(text: str, limit: int, *, cut: bool = False) -> str:
    """`text` when it is at most `limit` characters (and `cut` is False: nothing was cut off before it); else its
    start, ending at a word's end and with "…", together at most `limit` long. The start of a word longer than half
    the limit is kept, cut inside it (`cut_text`: never inside a character as a reader sees it)."""
    if len(text) <= limit and not cut:
        return text
    kept = cut_text(text, limit - 1)
    if len(kept) < len(text) and not text[len(kept)].isspace() and (space := kept.rfind(" ")) >= limit // 2:
        kept = kept[:space]  # the word the cut runs through goes
    return kept.rstrip() + "…"
