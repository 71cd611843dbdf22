"""The committed JSON Schema is the contract: it must match the model, and real envelopes must satisfy it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest
from pydantic import ValidationError

from normalizer.envelope import (
    STORE_FIELDS,
    Attachment,
    Channel,
    Envelope,
    KindSuggestion,
    LanguageSuggestion,
    ReportDraft,
    ReportKind,
    Sender,
    SenderKind,
    TopicSuggestion,
    Triage,
    accept_envelope,
)
from normalizer.schema import SCHEMA_PATH, envelope_schema, render_schema

CONTRACT_FIELDS = {
    "envelope_version", "tracking_id", "received_at", "channel", "channel_message_id", "sender", "kind",
    "anonymous", "confidential", "text", "subject", "language", "attachments", "follow_up_of", "channel_meta",
    "from_reports_sender", "text_truncated",
}


def sample_envelope(**overrides: object) -> Envelope:
    draft = ReportDraft(
        received_at=datetime(2026, 11, 22, 8, 30, tzinfo=UTC),
        channel=Channel.SMS,
        channel_message_id="SM123",
        sender=Sender(kind=SenderKind.MSISDN, id="+6281234567890"),
        text="Jalan rusak",
    )
    return draft.with_tracking_id("10000004").model_copy(update=overrides)


def test_committed_schema_matches_the_model() -> None:
    assert SCHEMA_PATH.read_text() == render_schema(), "run `python -m normalizer.schema` and commit the result"


def test_the_schema_keeps_every_contract_field() -> None:
    assert set(envelope_schema()["properties"]) >= CONTRACT_FIELDS


def test_a_real_envelope_validates_against_the_committed_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validate(json.loads(sample_envelope().model_dump_json()), schema)


@pytest.mark.parametrize(
    ("field", "value"),
    [("tracking_id", "12345"), ("channel", "fax"), ("kind", "gossip"), ("anonymous", "yes"),
     ("from_reports_sender", "+6281234567890"), ("envelope_version", 2)],
)
def test_the_schema_refuses_what_the_contract_forbids(field: str, value: str) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    document = json.loads(sample_envelope().model_dump_json())
    document[field] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())


def test_received_at_is_utc_rfc3339() -> None:
    assert json.loads(sample_envelope().model_dump_json())["received_at"] == "2026-11-22T08:30:00Z"


@pytest.mark.parametrize("version", [True, False, 1.0, "1", None], ids=["true", "false", "1.0", "string-1", "null"])
def test_the_model_takes_envelope_version_only_as_the_integer(version: object) -> None:
    """Pydantic's lax Literal compared by equality (`1 == 1.0 == True`): strict wherever an envelope is read."""
    document = {**json.loads(sample_envelope().model_dump_json()), "envelope_version": version}
    for read in (Envelope.model_validate, accept_envelope, lambda d: Envelope.model_validate_json(json.dumps(d))):
        with pytest.raises(ValidationError, match="envelope_version\n  must be the JSON integer 1, not "):
            read(document)


def test_the_gateway_writes_envelope_version_as_the_integer() -> None:
    """What intake stores (and the forward worker sends as it is) and what the model dumps: the JSON integer 1."""
    draft = ReportDraft.model_validate({key: value for key, value in full_envelope().items()
                                        if key not in ("envelope_version", "tracking_id")})
    for emitted in (draft.envelope_json("10000004"), draft.with_tracking_id("10000004").model_dump_json(),
                    sample_envelope().model_dump_json()):
        version = json.loads(emitted)["envelope_version"]
        assert type(version) is int and version == 1, emitted
        assert accept_envelope(json.loads(emitted)).envelope_version == 1


def test_no_envelope_field_takes_a_name_the_case_store_adds() -> None:
    assert not set(envelope_schema(strict=True)["properties"]) & set(STORE_FIELDS)


def full_envelope() -> dict[str, object]:
    """An envelope with every nested object: sender, an attachment, triage."""
    triage = Triage(model_version="test", topic=TopicSuggestion(category="TOPIK LAINNYA", confidence=0.4, top=[]),
                    kind=KindSuggestion(kind=ReportKind.COMPLAINT, confidence=0.9, source="model"),
                    language=LanguageSuggestion(code="id", confidence=0.99))
    attachment = Attachment(content_type="image/jpeg", size=10, sha256="a" * 64, location="attachments/aa/photo.jpg")
    return sample_envelope(attachments=[attachment], triage=triage).model_dump(mode="json")


@pytest.mark.parametrize(
    "where",
    [pytest.param((), id="envelope"), pytest.param(("sender",), id="sender"),
     pytest.param(("attachments", 0), id="attachment"), pytest.param(("triage", "spam"), id="triage-spam")],
)
def test_a_later_revisions_field_is_taken_by_the_published_schema_and_refused_in_the_gateways_own(
    where: tuple[str | int, ...],
) -> None:
    """Fields are added within a major version at any level: a case store validating against the published schema
    takes one it does not know. What this gateway emits is held to the model (and the strict schema), where a
    misspelled field fails."""
    document = full_envelope()
    target: object = document
    for step in where:
        target = target[step]  # type: ignore[index]
    target["received_via"] = "a later revision"  # type: ignore[index]
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()), format_checker=jsonschema.FormatChecker())
    assert accept_envelope(document).tracking_id == "10000004"
    with pytest.raises(jsonschema.ValidationError, match="received_via"):
        jsonschema.validate(document, envelope_schema(strict=True))
    with pytest.raises(ValidationError, match="received_via"):
        Envelope.model_validate(document)
