"""The operators' tables (`config/replies.toml`, `config/keywords.toml`, `config/identity.toml`, `config/email.toml`),
loaded and checked as a process starts.

Each is read on first use (and kept: `load_replies`, `load_grammar`, `closing_phrase`, `load_identity_words`), so a
syntax error or a missing key left in one by an edit started every process healthy and then failed every message
it took. The processes that take messages (serve, smtp, pollers, worker, and `status`, which says so) load them all
first, and refuse to start with a configuration error naming the file and what is wrong, as they do a broken
`defaults.toml`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from gateway import settings as _settings
from gateway.settings import SettingsError, _read_toml

T = TypeVar("T")

# Every reply the code renders (gateway.replies.render, and the e-mail, X and Instagram texts read the table alike),
# each in both languages it is written in: a key missing, or missing in one language, failed every message that
# needed it (the e-mail texts read both languages of each). With each, the placeholders its texts may hold: the fields
# the code fills in. A placeholder it does not fill ("{nomor_lacak}", or "{tracking_id}" added to help) raised KeyError
# at every message that needed the text, and one left open ("{tracking_id") ValueError. None: a mark written into a
# report as it stands, never filled in (its braces are its own).
_ID = frozenset({"tracking_id"})
_PUBLIC = frozenset({"tracking_id", "link", "ref"})
_LIMIT = frozenset({"limit"})
REPLY_FIELDS: dict[str, frozenset[str] | None] = {
    "ack": _ID, "ack_anonymous": _ID, "ack_confidential": _ID, "ack_anonymous_confidential": _ID,
    "ack_incomplete": _ID, "ack_incomplete_confidential": _ID, "duplicate": _ID, "duplicate_anonymous": _ID,
    "duplicate_confidential": _ID,
    "duplicate_anonymous_confidential": _ID,
    **{f"follow_up{flags}": frozenset({"follow_up_of"})
       for flags in ("", "_anonymous", "_confidential", "_anonymous_confidential")},
    "follow_up_unknown": frozenset({"follow_up_of", "tracking_id"}),
    "follow_up_unknown_anonymous": frozenset({"follow_up_of", "tracking_id"}),
    "follow_up_unknown_confidential": frozenset({"follow_up_of", "tracking_id"}),
    "follow_up_unknown_anonymous_confidential": frozenset({"follow_up_of", "tracking_id"}),
    **{f"follow_up_status{flags}": frozenset({"follow_up_of", "status"})
       for flags in ("", "_anonymous", "_confidential", "_anonymous_confidential")},
    **{f"follow_up_status_{later}{flags}": frozenset({"follow_up_of"}) for later in ("pending", "retry")
       for flags in ("", "_anonymous", "_confidential", "_anonymous_confidential")},
    "bad_tracking_id_photo": frozenset({"typed_id", "tracking_id"}),
    "bad_tracking_id_photo_confidential": frozenset({"typed_id", "tracking_id"}), "help": frozenset(),
    "status_help": frozenset(),
    "bad_tracking_id": _ID, "sms_kept_unfiled": frozenset(),
    **{f"report_flood_notice{flags}": _ID for flags in ("", "_anonymous", "_confidential", "_anonymous_confidential")},
    "status": frozenset({"tracking_id", "status"}),
    "status_retry": _ID, "status_pending": _ID, "status_unknown": _ID,
    "email_ack": _ID, "email_ack_anonymous": _ID, "email_ack_confidential": _ID,
    "email_ack_anonymous_confidential": _ID,
    "email_duplicate": _ID, "email_duplicate_anonymous": _ID, "email_duplicate_confidential": _ID,
    "email_duplicate_anonymous_confidential": _ID, "email_follow_up": _ID,
    "email_follow_up_status": frozenset({"tracking_id", "status"}),
    "email_follow_up_status_retry": _ID,
    "email_follow_up_unknown": frozenset({"follow_up_of", "tracking_id"}),
    "email_follow_up_unknown_anonymous": frozenset({"follow_up_of", "tracking_id"}),
    "email_follow_up_unknown_confidential": frozenset({"follow_up_of", "tracking_id"}),
    "email_follow_up_unknown_anonymous_confidential": frozenset({"follow_up_of", "tracking_id"}),
    "email_follow_up_other_sender": frozenset({"follow_up_of", "tracking_id"}),
    "email_bad_tracking_id_photo": frozenset({"typed_id", "tracking_id"}),
    "email_bad_tracking_id_photo_confidential": frozenset({"typed_id", "tracking_id"}), "email_bad_tracking_id": _ID,
    "email_status_retry": _ID,
    **{f"email_not_kept_{reason}": frozenset({"name", "limit"})
       for reason in ("too_large", "too_many", "message_too_large")},
    "email_not_kept_unnamed": frozenset({"number"}), "email_not_kept_rest": frozenset({"count"}),
    "email_not_kept_again": frozenset({"file_limit", "count_limit", "total_limit"}),
    "email_text_truncated": frozenset({"length", "kept", "limit", "tracking_id"}),
    "smtp_relay_denied": frozenset(), "smtp_bad_recipient": frozenset(), "smtp_too_many_recipients": frozenset(),
    "smtp_bad_sender": frozenset(), "smtp_retry_later": frozenset(), "smtp_too_large": _LIMIT,
    "smtp_too_many_parts": _LIMIT, "smtp_too_deeply_nested": _LIMIT, "smtp_too_many_header_lines": _LIMIT,
    "smtp_header_too_large": _LIMIT, "smtp_mime_fields_too_large": _LIMIT,
    "social_ack": _PUBLIC, "social_duplicate": _PUBLIC, "social_follow_up": _PUBLIC,
    "social_follow_up_unknown": _PUBLIC | {"typed_id"},
    "social_bad_tracking_id_photo": _PUBLIC | {"typed_id"}, "social_bad_tracking_id": frozenset({"typed_id", "ref"}),
    "social_status": _PUBLIC, "social_help": frozenset({"ref"}),
    "report_quoted_post": None, "report_earlier_post": None, "report_reporter_handle": None,
    "report_text_cut": frozenset({"length"}),
}
REPLY_KEYS = tuple(REPLY_FIELDS)
# The placeholders that name a report: a former text of an answer that names one must hold one of them too.
_ID_FIELDS = frozenset({"tracking_id", "follow_up_of", "typed_id"})
REPLY_LANGUAGES = ("id", "en")
# `[status_names.<language>]`: a case-store status's name in each language.
STATUS_NAMES = "status_names"

# The sections (and their keys) the grammar and the identity words cannot be read without.
KEYWORDS_REQUIRED: dict[str, tuple[str, ...]] = {
    "kinds": (), "flags": (), "commands": ("status", "help"), "language": ("english_markers", "indonesian_markers"),
}
IDENTITY_REQUIRED: dict[str, tuple[str, ...]] = {
    "closings": ("phrases", "letter_openers", "letter_thanks"), "forms_of_address": ("words", "abbreviations"),
    "not_a_name": ("words",),
    "contact_labels": ("labels", "words"),
    "address_lines": ("labels", "openers", "numbered", "areas", "sentence_words", "sentence_suffixes"),
    "someone_else": ("victim", "belongings", "words", "attribution", "speech_openers", "determiners", "offices",
                     "claims", "claim_lead", "label_addressing", "accusing"),
    "own_contact": ("phrases", "connectors", "handles", "reached_by", "asking", "other_of_hers", "list_joining",
                    "next_clause", "next_clause_pleas", "reached_her",
                    "telling_tags", "hers_in_label"),
    "own_name": ("phrases", "joining", "plea_words", "reporter_labels", "sign_off_reporter_labels",
                 "sign_off_name_labels", "joined_name_labels", "detail_headings", "address_leads", "account_labels",
                 "titles", "after_title", "other_party_labels", "reporter_headings", "other_part_words",
                 "bare_form_labels", "before_bare_labels", "label_compounds",
                 "pasted_openers", "pleas_before", "describing", "after_name", "self_words", "not_after_self",
                 "verb_prefixes", "verb_like_names",
                 "told_before_self", "message_sign_offs", "quoting_words", "labels_after",
                 "hers_after", "to_the_reader", "after_thanks", "weekdays", "months", "by_way_of",
                 "pasted_to_the_reader",
                 "own_line_openers", "greetings", "introducing", "pasted_messages", "received", "sent", "pointing",
                 "as_follows", "capitals_name_end", "post_before", "action_pleas", "action_asked", "neighbourhoods",
                 "first_person", "forwarding", "forward_pleas", "destination", "before_writer", "scams"),
    "payments": ("asking", "money", "asked", "paying", "collecting", "undoing", "held_to_due", "clause_on", "negating"),
}


def _replies_problems(raw: dict[str, Any]) -> list[str]:
    problems = []
    for key in REPLY_KEYS:
        table = raw.get(key)
        if not isinstance(table, dict):
            problems.append(f"reply [{key}] is {'missing' if table is None else 'not a table'}")
            continue
        missing = [language for language in REPLY_LANGUAGES if not isinstance(table.get(language), str)]
        if missing:
            problems.append(f"reply [{key}] has no text in {', '.join(missing)}")
        fields = REPLY_FIELDS[key]
        problems += [f"reply [{key}] in {language}: {problem}" for language in REPLY_LANGUAGES
                     if fields is not None and isinstance(table.get(language), str)
                     for problem in _placeholder_problems(table[language], fields)]
        problems += _former_problems(key, table.get("former", {}), fields)
    names = raw.get(STATUS_NAMES)
    missing = [language for language in REPLY_LANGUAGES
               if not isinstance(names, dict) or not isinstance(names.get(language), dict)]
    if missing:
        problems.append(f"[{STATUS_NAMES}] has no table in {', '.join(missing)}")
    return problems


def _former_problems(key: str, former: Any, fields: frozenset[str] | None) -> list[str]:
    """What is wrong with a reply's former texts (`[<key>.former]`: a list of texts per language, which the grammar
    still reads as ours when a citizen sends one back; filled in as the current text is)."""
    if not isinstance(former, dict) or any(language not in REPLY_LANGUAGES for language in former) or not all(
            isinstance(texts, list) and all(isinstance(text, str) for text in texts) for texts in former.values()):
        return [f"reply [{key}.former] must hold a list of texts for each of {', '.join(REPLY_LANGUAGES)} at most"]
    problems = [f"reply [{key}.former] in {language}: {problem}" for language, texts in former.items()
                for text in texts if fields is not None for problem in _placeholder_problems(text, fields)]
    # The grammar reads the report an answer names from its ID: one that names none (left out, or a text left blank,
    # which matches anywhere) raised at every message its pattern met, the citizen's SMS never filed.
    ids = sorted((fields or frozenset()) & _ID_FIELDS)
    return problems + [f"reply [{key}.former] in {language}: {text[:40]!r} names no report (it holds none of "
                       f"{', '.join('{' + name + '}' for name in ids)})" for language, texts in former.items()
                       for text in texts if ids and not any("{" + name + "}" in text for name in ids)]


def _placeholder_problems(text: str, fields: frozenset[str]) -> list[str]:
    """What in a reply's `text` `str.format` cannot fill with `fields`: a brace left open or alone (a literal one is
    written twice), or a placeholder the code does not fill."""
    try:
        named = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as error:
        return [f"{error} (a literal brace is written twice: {{{{ }}}})"]
    unknown = sorted({field for field in named if field not in fields})
    if not unknown:
        return []
    known = ", ".join(f"{{{field}}}" for field in sorted(fields)) or "none"
    return [f"placeholder {', '.join(f'{{{field}}}' for field in unknown)} is not filled in (it may hold: {known})"]


def _sections_problems(raw: dict[str, Any], required: dict[str, tuple[str, ...]]) -> list[str]:
    problems = []
    for section, keys in required.items():
        table = raw.get(section)
        if not isinstance(table, dict):
            problems.append(f"section [{section}] is {'missing' if table is None else 'not a table'}")
            continue
        problems += [f"[{section}] {key} is missing" for key in keys if key not in table]
    return problems


# What building a table from what it holds raises where a value is of the wrong kind or a key is missing.
_UNUSABLE = (KeyError, TypeError, ValueError, AttributeError, re.error)


def _unusable(path: Path, error: Exception) -> SettingsError:
    return SettingsError(f"{path} cannot be used: {type(error).__name__}: {error}: mend it (or restore it from the "
                         "release)")


def read_table(path: Path, build: Callable[[dict[str, Any]], T]) -> T:
    """What `build` makes of the table at `path`, or a SettingsError naming the file and what is wrong: not TOML,
    not UTF-8 or unreadable (`_read_toml`), a key missing or a value of the wrong kind. The triage tables were read
    with tomllib alone: a Latin-1 save of one ended `triage` on a UnicodeDecodeError traceback and failed the triage
    of every report with a `triage.failed` line that named no file."""
    raw = _read_toml(path)
    try:
        return build(raw)
    except _UNUSABLE as error:
        raise _unusable(path, error) from None


def _check(path: Path, problems: Callable[[dict[str, Any]], list[str]], load: Callable[[Path], Any]) -> None:
    found = problems(_read_toml(path))  # a syntax error: `<file> is not valid TOML: ... (at line N, column M)`
    if found:
        raise SettingsError(f"{path}: {'; '.join(found)}: mend it (or restore it from the release)")
    try:
        load(path)  # as the code reads it: a value of the wrong kind (a word where a list goes)
    except _UNUSABLE as error:
        raise _unusable(path, error) from None


def check_tables(config_dir: Path | None = None) -> None:
    """Load every table a process reads messages with, from `config_dir` (by default the config directory);
    raises SettingsError naming the file and what is wrong (the first file that is)."""
    from channels.email.machine_words import EMAIL_REQUIRED, EMAIL_TABLE, load_machine_words
    from gateway.replies import load_replies
    from normalizer.grammar import load_grammar
    from normalizer.small_talk import closing_phrase
    from workers.own_identity import load_identity_words

    as_used = config_dir is None

    def loaded(load: Callable[..., Any]) -> Callable[[Path], Any]:
        """The default tables loaded as the code calls them, without a path: each loader caches by its arguments, and
        loaded here under the path, every table was read and built again at the process's first message."""
        return (lambda _path: load()) if as_used else load

    config_dir = _settings.CONFIG_DIR if config_dir is None else config_dir
    _check(config_dir / "replies.toml", _replies_problems, loaded(load_replies))
    _check(config_dir / "keywords.toml", lambda raw: _sections_problems(raw, KEYWORDS_REQUIRED), loaded(load_grammar))

    def identity(path: Path) -> None:
        loaded(closing_phrase)(path)
        loaded(load_identity_words)(path)

    _check(config_dir / "identity.toml", lambda raw: _sections_problems(raw, IDENTITY_REQUIRED), identity)
    _check(config_dir / EMAIL_TABLE, lambda raw: _sections_problems(raw, EMAIL_REQUIRED), loaded(load_machine_words))
