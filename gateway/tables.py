"""The operators' tables (`config/replies.toml`, `config/keywords.toml`, `config/identity.toml`), loaded and checked
as a process starts.

Each is read on first use (and kept: `load_replies`, `load_grammar`, `closing_phrase`, `load_identity_words`), so a
syntax error or a missing key left in one by an edit started every process healthy and then failed every message
it took. The processes that take messages (serve, smtp, pollers, worker, and `status`, which says so) load them all
first, and refuse to start with a configuration error naming the file and what is wrong, as they do a broken
`defaults.toml`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway import settings as _settings
from gateway.settings import SettingsError, _read_toml

# Every reply the code renders (gateway.replies.render, and the e-mail, X and Instagram texts read the table alike),
# each in both languages it is written in: a key missing, or missing in one language, failed every message that
# needed it (the e-mail texts read both languages of each).
REPLY_KEYS = (
    "ack", "ack_anonymous", "duplicate", "duplicate_anonymous", "follow_up", "follow_up_unknown",
    "bad_tracking_id_photo", "help", "status_help", "bad_tracking_id", "sms_kept_unfiled", "status", "status_retry",
    "status_pending", "status_unknown",
    "email_ack", "email_ack_anonymous", "email_duplicate", "email_follow_up", "email_follow_up_unknown",
    "email_follow_up_other_sender", "email_bad_tracking_id_photo", "email_bad_tracking_id",
    "smtp_relay_denied", "smtp_bad_recipient", "smtp_too_many_recipients", "smtp_bad_sender", "smtp_retry_later",
    "smtp_too_large", "smtp_too_many_parts", "smtp_too_deeply_nested", "smtp_too_many_header_lines",
    "smtp_header_too_large", "smtp_mime_fields_too_large",
    "social_ack", "social_follow_up", "social_follow_up_unknown", "social_bad_tracking_id_photo",
    "social_bad_tracking_id", "social_status", "social_help",
    "report_quoted_post", "report_earlier_post", "report_reporter_handle", "report_text_cut",
)
REPLY_LANGUAGES = ("id", "en")
# `[status_names.<language>]`: a case-store status's name in each language.
STATUS_NAMES = "status_names"

# The sections (and their keys) the grammar and the identity words cannot be read without.
KEYWORDS_REQUIRED: dict[str, tuple[str, ...]] = {
    "kinds": (), "flags": (), "commands": ("status", "help"), "language": ("english_markers", "indonesian_markers"),
}
IDENTITY_REQUIRED: dict[str, tuple[str, ...]] = {
    "closings": ("phrases",), "forms_of_address": ("words",), "not_a_name": ("words",),
    "contact_labels": ("labels", "words"),
    "address_lines": ("labels", "openers", "numbered", "areas", "sentence_words", "sentence_suffixes"),
    "someone_else": ("victim", "words"), "own_contact": ("phrases", "connectors"),
    "own_name": ("phrases", "joining"),
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
    names = raw.get(STATUS_NAMES)
    missing = [language for language in REPLY_LANGUAGES
               if not isinstance(names, dict) or not isinstance(names.get(language), dict)]
    if missing:
        problems.append(f"[{STATUS_NAMES}] has no table in {', '.join(missing)}")
    return problems


def _sections_problems(raw: dict[str, Any], required: dict[str, tuple[str, ...]]) -> list[str]:
    problems = []
    for section, keys in required.items():
        table = raw.get(section)
        if not isinstance(table, dict):
            problems.append(f"section [{section}] is {'missing' if table is None else 'not a table'}")
            continue
        problems += [f"[{section}] {key} is missing" for key in keys if key not in table]
    return problems


def _check(path: Path, problems: Callable[[dict[str, Any]], list[str]], load: Callable[[Path], Any]) -> None:
    found = problems(_read_toml(path))  # a syntax error: `<file> is not valid TOML: ... (at line N, column M)`
    if found:
        raise SettingsError(f"{path}: {'; '.join(found)}: mend it (or restore it from the release)")
    try:
        load(path)  # as the code reads it: a value of the wrong kind (a word where a list goes)
    except (KeyError, TypeError, ValueError, AttributeError, re.error) as error:
        raise SettingsError(f"{path} cannot be used: {type(error).__name__}: {error}: mend it (or restore it from "
                            "the release)") from None


def check_tables(config_dir: Path | None = None) -> None:
    """Load every table a process reads messages with, from `config_dir` (by default the config directory);
    raises SettingsError naming the file and what is wrong (the first file that is)."""
    from gateway.replies import load_replies
    from normalizer.keywords import closing_phrase, load_grammar
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
