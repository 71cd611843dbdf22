"""The channel-neutral inbound message: what a channel adapter builds and the normalizer reads.

It lives with the normalizer, not with the channels, so that data flows one way (channels -> normalizer -> intake ->
workers): the normalizer, and the workers that reach it, never load a channel's HTTP handler to know its input.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.errors import RejectedInput
from normalizer.envelope import Attachment, Channel, SenderKind


@dataclass(frozen=True, slots=True)
class MessagePart:
    """One part of a concatenated SMS (UDH reference, part count, part number), joined by the gateway.

    `data` is the part's payload as delivered: text for GSM-7, hex for UCS-2 and 8-bit, so a character split
    across two parts (a UTF-16 surrogate pair) is decoded only once the bytes are joined.
    """

    reference: str
    total: int
    number: int
    coding: str
    data: str


def decode_payload(coding: str, data: str) -> str:
    """A payload's text by its `MessagePart.coding`: GSM-7 arrives as text, UCS-2 as hex of UTF-16 (`_utf16_text`),
    8-bit as hex of the raw bytes (UTF-8, else Latin-1). RejectedInput when hex is expected and the data is not."""
    if coding == "gsm7":
        return data
    raw = hex_bytes(data)
    if coding == "ucs2":
        return _utf16_text(raw)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _utf16_text(raw: bytes) -> str:
    """UCS-2/UTF-16 bytes as text: big-endian, as the SMS standard (3GPP TS 23.038) has them, unless a byte order mark
    opens them: FFFE is little-endian (some phones and aggregators send it; read big-endian, every character was
    another, CJK or worse), FEFF big-endian. The mark is no text and is dropped."""
    if raw.startswith(codecs.BOM_UTF16_LE):
        return raw[len(codecs.BOM_UTF16_LE):].decode("utf-16-le", errors="replace")
    return raw.removeprefix(codecs.BOM_UTF16_BE).decode("utf-16-be", errors="replace")


def hex_bytes(data: str) -> bytes:
    """Hex as the aggregators send it (either case, spaces allowed); RejectedInput for anything else."""
    cleaned = "".join(data.split())
    try:
        return bytes.fromhex(cleaned)
    except ValueError as error:
        raise RejectedInput("text is not hex for its coding", reason="bad_hex") from error


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message as a provider delivered it, before normalization."""

    channel: Channel
    # The adapter's name ("sms-twilio", "email"...): the label of the channel's health and metrics.
    source: str
    provider_message_id: str
    sender_kind: SenderKind
    sender_address: str
    text: str
    received_at: datetime
    sender_display_name: str | None = None
    recipient: str | None = None
    subject: str | None = None
    attachments: Sequence[Attachment] = ()
    channel_meta: Mapping[str, Any] = field(default_factory=dict)
    incomplete: bool = False
    # Set for one part of a concatenated SMS: the gateway buffers it and normalizes the joined message.
    part: MessagePart | None = None
    # The provider id of the public post this one answers (an X reply): an answer to one of our replies, by that
    # report's sender, adds to the report (gateway.followups.thread_report).
    replied_to: str | None = None
    # The provider id of the public post this one quotes (an X quote tweet): quoting one of our replies, that report's
    # sender answers it, as in its thread.
    quoted_post: str | None = None
    # The post this comment was made on (an Instagram comment, which does not say which comment it answers): a
    # comment there by a report's sender, after our reply to that report there, adds to it
    # (gateway.followups.post_thread_report).
    commented_on: str | None = None
    # The posts this one quotes or answers (X), already marked as not the sender's words: added to the report's text
    # after the keyword grammar has read the sender's own, so nothing in them sets a kind, a flag or an ID.
    quoted_text: str | None = None
    # The sender's own earlier posts this one answers or quotes (X: the post's author is this post's): one that was a
    # mention filed as a report makes this an addition to that report (channels.social.MentionIntake).
    own_posts: tuple[str, ...] = ()
    # One of those asks anonymity: the message is anonymous whatever it adds to (see channels.x_mentions).
    own_post_anonymous: bool = False
    # The posts that the posts this one answers or quotes answer in turn (X: their own `replied_to`, as
    # `includes.tweets` gives them): one the sender filed makes this an addition to what it filed, when it is not the
    # conversation's first post (a whistleblower's #anonim addition inside another's thread, answered by a neighbour
    # or by us, and her answer to that). Never copied to the report: it may name an anonymous post.
    thread_parents: tuple[str, ...] = ()
    # The message's identity at the gateway where the provider's id alone is none: an aggregator's ids are unique per
    # SMSC and sender at most, and two citizens' messages with one id were deduped as one (`message_identity`).
    dedup_id: str | None = None
    # The provider's own reading of the message as its opt-out or opt-in keyword ("opt_out", "opt_in": Twilio's
    # `OptOutType` STOP or START, which its Advanced Opt-Out sets for keywords an operator configured there, in any
    # language): left unanswered and unfiled as our own `[opt_out]` and `[opt_in]` words are, whatever its words.
    provider_action: str | None = None

    @property
    def message_identity(self) -> str:
        """What the gateway knows the message by (dedup, same-text, reply-once keys): `dedup_id`, else the provider
        id."""
        return self.dedup_id or self.provider_message_id

    def personal_values(self) -> tuple[str | None, ...]:
        """What the citizen wrote and what names them, to keep out of every log line about the message
        (`gateway.logs.sensitive_values`): the words, a mail's subject, the sender's address and name, and an X or
        Instagram account's handle (in `channel_meta`, `username`)."""
        handle = self.channel_meta.get("username")
        return (self.text, self.subject, self.sender_address, self.sender_display_name,
                handle if isinstance(handle, str) else None)
