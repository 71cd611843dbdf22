"""Reply texts from `config/replies.toml`, in the citizen's language (Indonesian unless they wrote English)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.settings import CONFIG_DIR
from gateway.tracking import MAX_LENGTH

if TYPE_CHECKING:
    from normalizer.envelope import ReportDraft

DEFAULT_LANGUAGE = "id"


@lru_cache(maxsize=4)
def load_replies(path: Path = CONFIG_DIR / "replies.toml") -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def reply_templates(table: dict[str, Any], language: str) -> list[str]:
    """A reply's text in `language` (config/replies.toml), then its former texts there (`[<key>.former]`): citizens
    hold our answers for months and send them back, so a reworded answer is still known as ours in its old words."""
    former = table.get("former", {}).get(language, [])
    return [table[language], *former]


def render(key: str, language: str | None = None, **fields: Any) -> str:
    """The reply `key` in `language` (falling back to Indonesian), with `fields` filled in."""
    table = load_replies()[key]
    template = table.get(language or DEFAULT_LANGUAGE) or table[DEFAULT_LANGUAGE]
    return template.format(**fields)


def acknowledgement(anonymous: bool, confidential: bool = False, *, repeat: bool = False,
                    incomplete: bool = False) -> str:
    """The reply key that acknowledges a report in private (SMS, e-mail), new or sent again (`repeat`: "we already
    have it"): an anonymous one says the identity is kept secret, so the whistleblower knows their ANONIM was read; a
    confidential one that its content is not made public, so the citizen knows their RAHASIA was; one that is both
    names both (`<key>_anonymous_confidential`). Public replies never say either. A concatenated SMS filed without
    some of its parts (`incomplete`, always anonymous) says so, and how to send what is missing: acknowledged as
    any report, the citizen took the words the network lost for filed."""
    if incomplete and not repeat:
        return flagged("ack_incomplete", anonymous=True, confidential=confidential)
    return flagged("duplicate" if repeat else "ack", anonymous=anonymous, confidential=confidential)


# The replies to a report that is always filed anonymous, whose text says so already: a concatenated SMS filed
# without some of its parts, a photo sent with a mistyped Tracking ID (normalizer/pipeline.py). Their variant for a
# confidential report is `<key>_confidential`, and names both flags.
ALWAYS_ANONYMOUS = frozenset({"ack_incomplete", "bad_tracking_id_photo"})


def flagged(key: str, *, anonymous: bool, confidential: bool) -> str:
    """The private reply `key` (SMS, e-mail) for a report with these flags, as the acknowledgement's: `<key>_anonymous`
    says its identity is kept secret, `<key>_confidential` that its content is not made public, and
    `<key>_anonymous_confidential` names both. A key of `ALWAYS_ANONYMOUS` says the first already, and takes
    `_confidential` alone. A RAHASIA a reply left unsaid left the citizen unsure whether it was read, as an ANONIM's
    did before `[ack_anonymous]`."""
    flags = [flag for flag, on in (("anonymous", anonymous and key not in ALWAYS_ANONYMOUS),
                                   ("confidential", confidential)) if on]
    return "_".join([key, *flags])


def report_reply(language: str, tracking_id: str, *, anonymous: bool, confidential: bool,
                 follow_up_of: str | None = None, unknown_report: str | None = None, mistyped_id: str | None = None,
                 repeat: bool = False, incomplete: bool = False) -> str:
    """The private answer (SMS) to a message filed as a report: an addition to `follow_up_of`; a new report for an ID
    no report has (`unknown_report`) or a mistyped one (`mistyped_id`), saying so; else the acknowledgement. One
    choice for the webhook and for an SMS kept unfiled and filed later (`lapor-gateway unfiled retry`), which
    answered an ID never issued with a plain acknowledgement. Text sent again (`repeat`) is "we already have it"."""
    if follow_up_of:
        return render(flagged("follow_up", anonymous=anonymous, confidential=confidential), language,
                      follow_up_of=follow_up_of)
    if unknown_report and not repeat:
        return render(flagged("follow_up_unknown", anonymous=anonymous, confidential=confidential), language,
                      follow_up_of=unknown_report, tracking_id=tracking_id)
    if mistyped_id and not repeat:
        return render(flagged("bad_tracking_id_photo", anonymous=True, confidential=confidential), language,
                      typed_id=shown_typed_id(mistyped_id), tracking_id=tracking_id)
    return render(acknowledgement(anonymous, confidential, repeat=repeat, incomplete=incomplete), language,
                  tracking_id=tracking_id)


def flags_told(own: ReportDraft, filed: ReportDraft) -> dict[str, bool]:
    """The flags a private answer to `filed` names (`report_reply`, `follow_up_status_reply`): a follow-up's are its
    message's own (`own`, as normalized: its ANONIM, "jangan sebut nama saya", RAHASIA), never those it took from its
    report: "Tambahan anonim untuk laporan <id>" answered anyone who typed an anonymous report's ID, a stranger too,
    that its reporter had asked for anonymity. Any other report's are its own as filed."""
    told = own if filed.follow_up_of else filed
    return {"anonymous": told.anonymous, "confidential": told.confidential}


def follow_up_status_reply(language: str, follow_up_of: str, status: str | None, *, anonymous: bool,
                           confidential: bool, later: bool = True) -> str:
    """The private answer (SMS) to a status query whose words after the ID were added to its report ("CEK <id>
    kepala dinas minta setoran lagi"): that the addition was received, and the status asked for (`status`, one of
    the contract's); without it, that the status follows (`later`: a status job answers, `[follow_up_status_pending]`)
    or is to be asked again later (no job follows: `[follow_up_status_retry]`). The message's own flags are named as
    the acknowledgement names them (`flags_told`)."""
    if status is not None:
        return render(flagged("follow_up_status", anonymous=anonymous, confidential=confidential), language,
                      follow_up_of=follow_up_of, status=status_name(status, language))
    key = "follow_up_status_pending" if later else "follow_up_status_retry"
    return render(flagged(key, anonymous=anonymous, confidential=confidential), language, follow_up_of=follow_up_of)


def is_status(value: Any) -> bool:
    """Whether `value` is a case-store status of the contract (casestore/openapi.yaml): one `status_names` names, in
    Indonesian, the table every language falls back to."""
    return isinstance(value, str) and value in load_replies()["status_names"][DEFAULT_LANGUAGE]


def status_name(status: str, language: str | None = None) -> str:
    names = load_replies()["status_names"]
    return names.get(language or DEFAULT_LANGUAGE, names[DEFAULT_LANGUAGE]).get(status, status)


def status_text(tracking_id: str, status: str | None, language: str | None, *, found: bool = True) -> str:
    """What a citizen reads about a report's status (the webhook's inline answer, the status job and the answer to a
    CEK by mail alike)."""
    if not found:
        return render("status_unknown", language, tracking_id=tracking_id)
    return render("status", language, tracking_id=tracking_id, status=status_name(status or "received", language))


def shown_typed_id(typed: str) -> str:
    """A mistyped Tracking ID as a reply repeats it: cut past the longest ID ("...": GSM-7). The number is the
    citizen's own and may be any length ("CEK" and a receipt number); whole, it made the answer as long, an SMS part
    per 153 digits, none at all past Twilio's 1,600 characters."""
    return typed if len(typed) <= MAX_LENGTH else typed[:MAX_LENGTH] + "..."
