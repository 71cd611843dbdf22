"""Loop guards and threading: which mail must never be answered, and which mail continues a report.

RFC 3834 (Auto-Submitted), Precedence, X-Auto-Response-Suppress, List-*, X-Loop, our own addresses and
Message-ID domain, a null envelope sender, delivery status notifications (RFC 3464) and read receipts
(RFC 8098): such mail is logged and counted, never reported and never answered. Our own Message-IDs carry the
Tracking ID (`<lapor-<id>-<token>@<domain>>`), so a reply or a bounce can be tied to its report without state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from prometheus_client import Counter

from channels.email.parse import ParsedMail, header_text, message_ids
from gateway.settings import EmailSettings
from gateway.tracking import is_valid_tracking_id

SUPPRESSED = Counter("lapor_email_suppressed_total", "Mail neither reported nor answered, by loop-guard reason.",
                     ["reason"])
BOUNCES = Counter("lapor_email_bounces_total", "Bounces of our replies recorded against their report.", ["action"])

SUBJECT_TAG = re.compile(r"\[LAPOR\s*#\s*(\d{6,14})\]", re.IGNORECASE)
OUR_MESSAGE_ID = re.compile(r"^lapor-(\d{6,14})-[0-9a-f]+@(.+)$", re.IGNORECASE)
BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})


@dataclass(frozen=True, slots=True)
class Bounce:
    """A DSN about one of our replies: which report, what happened."""

    tracking_id: str
    action: str
    status: str


def our_tracking_id(message_id: str, settings: EmailSettings) -> str | None:
    """The Tracking ID inside one of our own Message-IDs, or None if the id is not ours."""
    match = OUR_MESSAGE_ID.match(message_id.strip("<> "))
    if match and match.group(2).lower() == settings.message_id_domain.lower() and is_valid_tracking_id(match.group(1)):
        return match.group(1)
    return None


def report_type(message: Message) -> str | None:
    if message.get_content_type() != "multipart/report":
        return None
    return (message.get_param("report-type") or "").lower() or None


def is_dsn(message: Message) -> bool:
    if report_type(message) == "delivery-status":
        return True
    return any(part.get_content_type() == "message/delivery-status" for part in message.walk())


def is_mdn(message: Message) -> bool:
    if report_type(message) == "disposition-notification":
        return True
    return any(part.get_content_type() == "message/disposition-notification" for part in message.walk())


def _own_addresses(settings: EmailSettings) -> set[str]:
    return {address.lower() for address in [*settings.addresses, settings.from_address] if address}


def loop_reason(mail: ParsedMail, envelope_sender: str | None, settings: EmailSettings) -> str | None:
    """Why this mail must not be answered (and not reported), or None for an ordinary mail."""
    message = mail.message
    if is_dsn(message):
        return "dsn"
    if is_mdn(message):
        return "read_receipt"
    if envelope_sender is not None and envelope_sender.strip("<> ") == "":
        return "null_sender"
    auto = header_text(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return "auto_submitted"
    if header_text(message, "Precedence").strip().lower() in BULK_PRECEDENCE:
        return "precedence"
    if message.get("X-Auto-Response-Suppress") is not None:
        return "x_auto_response_suppress"
    if message.get("List-Id") is not None or message.get("List-Unsubscribe") is not None:
        return "mailing_list"
    if message.get("X-Loop") is not None:
        return "x_loop"
    if mail.sender_address in _own_addresses(settings):
        return "own_address"
    if mail.message_id and mail.message_id.lower().endswith("@" + settings.message_id_domain.lower()):
        return "own_message_id"
    return None


def follow_up_of(mail: ParsedMail, settings: EmailSettings) -> str | None:
    """The report this mail continues: `[LAPOR #<id>]` in the subject, or one of our replies referenced."""
    match = SUBJECT_TAG.search(mail.subject)
    if match and is_valid_tracking_id(match.group(1)):
        return match.group(1)
    for reference in [*mail.in_reply_to, *reversed(mail.references)]:
        tracking_id = our_tracking_id(reference, settings)
        if tracking_id:
            return tracking_id
    return None


# RFC 3464 2.3.3 and 2.3.4. What a mail claims beyond these is kept out of metric labels and the report's record
# (it can be anything: a number, an address, a new series per mail).
DSN_ACTIONS = frozenset({"failed", "delayed", "delivered", "relayed", "expanded"})
DSN_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


def _delivery_fields(message: Message) -> tuple[str, str]:
    """(action, status) of the first recipient block of a delivery-status part."""
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks[1:] or blocks:
            action = str(block.get("Action", "")).strip().lower()
            if action:
                status = str(block.get("Status", "")).strip()
                return (action if action in DSN_ACTIONS else "other",
                        status if DSN_STATUS.fullmatch(status) else "other")
    return "failed", ""


def _original_ids(message: Message) -> list[str]:
    ids: list[str] = []
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(inner, Message):
                ids += message_ids(header_text(inner, "Message-ID"))
        elif ctype == "text/rfc822-headers":
            text = part.get_payload(decode=True) or b""
            ids += re.findall(r"(?im)^Message-ID:\s*<([^<>\s]+)>", text.decode("utf-8", "replace"))
    return ids


def bounce_of_our_reply(mail: ParsedMail, settings: EmailSettings) -> Bounce | None:
    """A DSN naming one of our replies (in the returned headers or In-Reply-To/References), else None."""
    if not is_dsn(mail.message):
        return None
    for message_id in [*_original_ids(mail.message), *mail.in_reply_to, *mail.references]:
        tracking_id = our_tracking_id(message_id, settings)
        if tracking_id:
            action, status = _delivery_fields(mail.message)
            return Bounce(tracking_id=tracking_id, action=action, status=status)
    return None
