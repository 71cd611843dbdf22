"""The report envelope v1: the contract with the case store.

Field names and values here are a published contract (`schemas/envelope-v1.json`, checked by a test): add
fields freely, rename none. Provider detail needed to answer a citizen lives in `channel_meta` and never in
the case store's public fields.

`envelope_version` is the major version: it changes only when a field is renamed, removed or changes meaning, and a
case store refuses a major version it does not know. Fields are added within a major version, at any level (the
envelope, `sender`, an attachment, `triage` and its parts): the published schema leaves every object open, and a case
store keeps a field it does not know as sent (`accept_envelope`), so a gateway can be upgraded before its case store.
The models themselves forbid unknown fields at every level: what this gateway emits is checked strictly.

`envelope_version` is the JSON integer itself, read strictly everywhere: the Literal alone compares by equality, and
Python's `1 == 1.0 == True` took `1.0` and `true` as version 1. Absent, it is 1 (the schema's default). The names a
case store adds to a report it stores (`STORE_FIELDS`) are never an envelope's: an envelope naming one is refused,
not stored for a later revision's field.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator
from pydantic_core import PydanticCustomError

ENVELOPE_VERSION = 1
# What a case store adds to a report it stores (casestore/openapi.yaml's StoredReport): names no envelope field may
# take, so that no envelope sets or shadows what only the store decides (a report's status, arrival order, time and
# follow-ups).
STORE_FIELDS = ("status", "seq", "stored_at", "follow_ups")
# The `type` of the validation error an envelope naming one of them gets, and the case store's `error` for it.
RESERVED_FIELD = "reserved_field"
TRACKING_ID_PATTERN = r"^[1-9][0-9]{5,13}$"
_TRACKING_ID = re.compile(TRACKING_ID_PATTERN)
# The `channel_meta` key of a mail's other names for its sender (the addresses and display names of its Sender,
# Reply-To, Return-Path... fields, channels/email/parse.py SENDER_HEADERS). Kept for the gateway alone: it tells what
# an anonymous report's text must lose (workers/own_identity.py), and no case store ever gets it.
SENDER_IDENTITIES = "sender_identities"
# Its flag that every address the text writes (WRITTEN_ADDRESS) is withheld too, with the name (capitalized words, or
# quoted) written before one in brackets (NAMED_ADDRESS: "Siti Rahayu <siti@...>"): a mail naming reports past those
# read (gateway/followups.py `with_every_written_identity`). Local part and domain bounded (RFC 5321's 64 and 255).
EVERY_ADDRESS = "every_address"
WRITTEN_ADDRESS = r"(?<![^\s<>()\[\],;:\"'])[^\s<>()\[\],;:\"'@]{1,64}@[^\s<>()\[\],;:\"'@]{1,255}"
NAMED_ADDRESS = (r"(?:(?:\"[^\"\n]{1,80}\"|(?<![\w.'-])(?-i:[A-Z])[\w.'-]*(?:[^\S\n]+(?-i:[A-Z])[\w.'-]*){0,3})[^\S\n]*"
                 r"(?P<named_address>[<(])[^\S\n]*)?" + WRITTEN_ADDRESS
                 + r"(?(named_address)[^\S\n]*[>)]|)")


class Channel(StrEnum):
    SMS = "sms"
    TWITTER = "twitter"
    INSTAGRAM = "instagram"
    EMAIL = "email"


class SenderKind(StrEnum):
    MSISDN = "msisdn"
    X_USER = "x_user"
    IG_USER = "ig_user"
    EMAIL = "email"
    # What the case store sees for an anonymous report: an opaque handle only the gateway can map back.
    REPLY_HANDLE = "reply_handle"


class ReportKind(StrEnum):
    COMPLAINT = "complaint"
    ASPIRATION = "aspiration"
    INFORMATION_REQUEST = "information_request"
    WHISTLEBLOWING = "whistleblowing"


class RegionPlace(BaseModel):
    """One official Kemendagri region (code as in the decree: "32", "32.73", "32.73.01")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    name: str
    level: Literal["province", "regency", "district"]


class RegionSuggestion(BaseModel):
    """Where the text says the report is about: the most specific place, its parents, and how sure we are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    name: str
    level: Literal["province", "regency", "district"]
    confidence: float = Field(ge=0, le=1)
    province: RegionPlace | None = None
    regency: RegionPlace | None = None
    district: RegionPlace | None = None
    ambiguous: bool = Field(default=False, description="Another reading was about as likely: see alternatives.")
    alternatives: list[RegionPlace] = Field(default_factory=list)


class TopicScore(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    category: str
    probability: float = Field(ge=0, le=1)


class TopicSuggestion(BaseModel):
    """The suggested LAPOR! top-level category ("TOPIK LAINNYA" when unsure) and the model's top three."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: str
    confidence: float = Field(ge=0, le=1)
    top: list[TopicScore] = Field(description="The three most probable categories, most probable first.")


class KindSuggestion(BaseModel):
    """The kind a keyword gave (source "keyword", always wins) or the model suggests (source "model")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ReportKind
    confidence: float = Field(ge=0, le=1)
    source: Literal["keyword", "model"]


class LanguageSuggestion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Literal["id", "en", "jv", "su"]
    confidence: float = Field(ge=0, le=1)


class DuplicateMatch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tracking_id: str
    channel: str | None = None
    similarity: float = Field(ge=0, le=1, description="Estimated Jaccard similarity of the texts.")


class DuplicateSuggestion(BaseModel):
    """Near-duplicates of recent reports on any channel, and whether the text is a campaign of many senders."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    matches: list[DuplicateMatch] = Field(default_factory=list)
    campaign: bool = False
    campaign_count: int = Field(default=1, ge=1, description="Distinct senders of (nearly) this text lately.")


class SpamSuggestion(BaseModel):
    """Obvious spam or fraud (pulsa scams, prize scams, links): flagged for the operator, never dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    suspected: bool = False
    reasons: list[str] = Field(default_factory=list)


class Triage(BaseModel):
    """Suggestions an operator can accept in one click. Never overrides a field the citizen set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_version: str
    region: RegionSuggestion | None = None
    topic: TopicSuggestion
    kind: KindSuggestion
    language: LanguageSuggestion
    duplicates: DuplicateSuggestion = Field(default_factory=DuplicateSuggestion)
    spam: SpamSuggestion = Field(default_factory=SpamSuggestion)


class Sender(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SenderKind
    id: str = Field(description="Normal form: E.164 for phones, lowercased address for mail, user id for social.")
    display_name: str | None = None


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    content_type: str
    size: int | None = Field(default=None, ge=0)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    name: str | None = None
    location: str = Field(description="Where the bytes are: a URL, or a path under the gateway's data dir.")
    flags: list[str] = Field(default_factory=list, description="e.g. 'executable'.")


class ReportDraft(BaseModel):
    """Everything the normalizer knows about a report before intake gives it a Tracking ID."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    received_at: AwareDatetime
    channel: Channel
    source: str | None = Field(default=None, description="The gateway adapter that received it, e.g. 'sms-twilio'.")
    channel_message_id: str = Field(min_length=1, max_length=512)
    sender: Sender
    kind: ReportKind = ReportKind.COMPLAINT
    explicit_kind: bool = Field(default=False, description="The citizen chose the kind with a keyword.")
    anonymous: bool = False
    confidential: bool = False
    text: str
    subject: str | None = None
    language: str | None = Field(default=None, description="BCP 47 tag, e.g. 'id' or 'en'.")
    attachments: list[Attachment] = Field(default_factory=list)
    follow_up_of: str | None = Field(default=None, pattern=TRACKING_ID_PATTERN)
    from_reports_sender: bool | None = Field(
        default=None,
        description="A follow-up: whether its report's own sender sent it (the same number, mail address or account; "
                    "for mail also the Reply-To the report was answered at): false for anyone else, or the reporter "
                    "on another phone, address or channel. Null for a new report, when the gateway no longer held "
                    "the report and cannot tell, and for an anonymous follow-up to a report that names its sender "
                    "(either value would tell who wrote it). It names nobody; never show it publicly: it would tell "
                    "whoever can forge a sender (a mail's From) whether that sender wrote an anonymous report.",
    )
    channel_meta: dict[str, Any] = Field(default_factory=dict)
    incomplete: bool = Field(default=False, description="Some parts of the message never arrived.")
    text_truncated: bool = Field(
        default=False,
        description="The text was longer than the gateway keeps (its intake.max_text_chars, 100,000 characters by "
                    "default): `text` is its start, ended by a marker in Indonesian and English that gives the "
                    "length it had. The rest reached no one. Keywords were read in the whole text.",
    )
    duplicate_of: str | None = Field(
        default=None, pattern=TRACKING_ID_PATTERN,
        description="Set when a retried message got a second Tracking ID during a Redis outage: the first one.",
    )
    triage: Triage | None = Field(default=None, description="Suggestions added by the forward worker.")
    # `InboundMessage.dedup_id`: intake's alone, never in the envelope (it is digested from the sender).
    dedup_id: str | None = Field(default=None, exclude=True, repr=False)

    @property
    def message_identity(self) -> str:
        """What intake dedups the message by: `dedup_id`, else `channel_message_id`."""
        return self.dedup_id or self.channel_message_id

    def under_identity(self, identity: str) -> ReportDraft:
        """This draft as one message with another of `identity` (a same-text repeat mapped onto its first)."""
        return self.model_copy(update={"dedup_id" if self.dedup_id else "channel_message_id": identity})

    @field_serializer("received_at")
    def _rfc3339_utc(self, value: datetime) -> str:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def with_tracking_id(self, tracking_id: str) -> Envelope:
        return Envelope(tracking_id=tracking_id, **self.model_dump())

    def envelope_json(self, tracking_id: str) -> str:
        """`with_tracking_id(tracking_id).model_dump_json()`, byte for byte, without building the Envelope (which
        validates every field again and cost three times the dump): the draft's JSON with the two fields
        Envelope adds, which come last. Only the Tracking ID is new, and it is checked."""
        if type(self) is not ReportDraft:
            return self.with_tracking_id(tracking_id).model_dump_json()
        if not _TRACKING_ID.fullmatch(tracking_id):
            raise ValueError(f"not a Tracking ID: {tracking_id!r}")
        return f'{self.model_dump_json()[:-1]},"envelope_version":{ENVELOPE_VERSION},"tracking_id":"{tracking_id}"}}'


class Envelope(ReportDraft):
    """A report as intake made it durable: a draft plus its Tracking ID."""

    envelope_version: Literal[1] = Field(
        default=ENVELOPE_VERSION,
        description="The major version, as the JSON integer itself: 1.0, true or \"1\" is refused (absent, it is 1). "
                    "Fields added later keep it; a rename, a removal or a new meaning changes it.",
    )
    tracking_id: str = Field(pattern=TRACKING_ID_PATTERN)

    @model_validator(mode="before")
    @classmethod
    def _no_store_field(cls, data: Any) -> Any:
        """A case store reads an envelope with the fields it does not know kept as sent (`accept_envelope`): one named
        as a stored report's own would set or shadow it (`status: resolved` on arrival)."""
        if isinstance(data, dict):
            taken = [name for name in STORE_FIELDS if name in data]
            if taken:
                raise PydanticCustomError(RESERVED_FIELD, "{names}: a stored report's own field(s), set by the case "
                                                          "store, never by an envelope", {"names": ", ".join(taken)})
        return data

    @field_validator("envelope_version", mode="before")
    @classmethod
    def _the_json_integer(cls, value: Any) -> Any:
        """Strict where the Literal is lax: it compared by equality, so `true` and `1.0` were version 1."""
        if type(value) is not int:
            raise PydanticCustomError("envelope_version_type", "must be the JSON integer {major}, not {given}",
                                      {"major": ENVELOPE_VERSION, "given": _json_form(value)})
        return value


def _json_form(value: Any) -> str:
    """A refused value as JSON wrote it (`true`, `1.0`, `"1"`), short: it is echoed in a 422's detail."""
    try:
        shown = orjson.dumps(value).decode()
    except TypeError:
        shown = type(value).__name__
    return shown if len(shown) <= 40 else f"{shown[:37]}..."


def accept_envelope(document: Any) -> Envelope:
    """How a case store reads an envelope of this major version: typed as the model says, a field of a later revision
    (at any level) ignored by the model and kept by the caller in the document as sent; `envelope_version` strictly
    the JSON integer, and none of `STORE_FIELDS` (the error's type: `RESERVED_FIELD`). Raises ValidationError."""
    return Envelope.model_validate(document, extra="ignore")


def utc_now() -> datetime:
    return datetime.now(UTC)
