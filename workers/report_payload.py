"""What the case store gets of a report: the envelope as stored, or, for an anonymous report, nothing that points
back to its citizen (no number, address or handle, in the sender or in the text and subject; no provider id, file
name or provider address; no sha256 of a file it gets no bytes of). The forward worker sends it, and
`lapor-gateway attachments list` says what was sent by the same code (workers/handover.py), without loading the
forward worker's triage model.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from gateway.attachments import is_provider_url, kept_by_gateway
from gateway.settings import Settings
from normalizer.envelope import SENDER_IDENTITIES, SenderKind
from workers.own_identity import without_own_identity

# An anonymous report's reply handle, mapped back to its Tracking ID (by the forward worker, for the reply worker).
HANDLE_KEY = "lapor:handle:{handle}"
# The flag of an attachment whose bytes the case store did not get: the gateway could not read its file, or the case
# store refused it. Without it the report would list a sha256 the case store has no file for, and nothing saying why.
NOT_UPLOADED = "not_uploaded"


# What of a report's channel_meta is the gateway's alone, sent to no case store, of a named report either: a mail's
# other names for its sender (to know what an anonymous text must lose), and an X post's conversation, the first post
# of its thread (to tell what a reporter's answer adds to): that post may be an #anonim one whose records are gone
# (channels.social drops it while they stand), and its id opens it and names its author.
# So are the accounts an X mention names besides its author, which our reply leaves out of its prefix
# (channels.x_mentions.others_named): the agency gets the mention's words, which name them. So is an Instagram
# comment's thread under our post, its first comment's id (where our reply goes): a named comment answering a
# whistleblower's #anonim one carried that id, which our token turns into their handle.
GATEWAYS_OWN = frozenset({SENDER_IDENTITIES, "conversation_id", "reply_exclude", "thread"})


def reply_handle(secret: str, tracking_id: str) -> str:
    """An opaque, per-report handle: unlinkable across reports, mapped back only by the gateway."""
    digest = hmac.new(secret.encode(), f"reply-handle:{tracking_id}".encode(), hashlib.sha256).hexdigest()
    return f"h_{digest[:32]}"


def case_store_payload(envelope: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """What the case store receives. An anonymous report carries no number, address or handle of the citizen."""
    payload = dict(envelope)
    if GATEWAYS_OWN.intersection(envelope.get("channel_meta") or {}):
        payload["channel_meta"] = {key: value for key, value in envelope["channel_meta"].items()
                                   if key not in GATEWAYS_OWN}
    if payload.get("anonymous"):
        # Before the sender and channel_meta go: they say what the sender's own identity looks like in the text.
        payload.update(without_own_identity(envelope))
        payload["sender"] = {
            "kind": SenderKind.REPLY_HANDLE.value,
            "id": reply_handle(settings.privacy.reply_handle_secret, payload["tracking_id"]),
            "display_name": None,
        }
        payload["channel_meta"] = {}
        # The provider's id leads back to the citizen: a tweet id opens the tweet and its author, a Message-ID
        # often names the sender's domain or address. An opaque, stable stand-in keeps it unique per report.
        payload["channel_message_id"] = opaque_message_id(settings.privacy.reply_handle_secret,
                                                          str(payload.get("channel", "")),
                                                          str(payload.get("channel_message_id", "")))
        payload["attachments"] = [anonymous_attachment(attachment) for attachment in payload.get("attachments") or []]
    return payload


# The flag of an anonymous report's attachment whose provider address was left out (see anonymous_attachment).
LOCATION_WITHHELD = "location_withheld"


def anonymous_attachment(attachment: dict[str, Any]) -> dict[str, Any]:
    """An anonymous report's attachment as the case store gets it: its type (with the size and sha256 of a file the
    gateway keeps), nothing that points back.

    A name says who sent it: an Instagram post's is its media id (which opens the post and its author), an X photo's
    its media key, a mailed file is often named after its sender. A provider's address names the message just as
    well: a Twilio media URL holds the Message SID (Twilio maps it to the sender's number), an X or Instagram CDN
    address the media id. Such a location, of a file the forward worker could not fetch (workers/media.py), is
    withheld and flagged (the gateway's envelope copy keeps it); a file the gateway keeps, mailed or fetched, goes by
    its sha256 path, which names nothing but the bytes; one it does not keep goes without sha256 and size.
    """
    anonymous = {**attachment, "name": None}
    if not kept_by_gateway(attachment):
        # A file the case store gets no bytes of (not stored: too large, one too many; not fetched): its sha256 and
        # size would tell the copy on the reporter's phone, as a withheld file's would (workers/image_metadata.py).
        anonymous.update(sha256=None, size=None)
    if is_provider_url(str(attachment.get("location") or "")):
        anonymous["location"] = ""
        anonymous["flags"] = [*attachment.get("flags", []), LOCATION_WITHHELD]
    return anonymous


def opaque_message_id(secret: str, channel: str, message_id: str) -> str:
    digest = hmac.new(secret.encode(), f"message-id:{channel}:{message_id}".encode(), hashlib.sha256).hexdigest()
    return f"anon_{digest[:32]}"
