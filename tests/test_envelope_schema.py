"""The committed JSON Schema is the contract: it must match the model, and real envelopes must satisfy it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest

from normalizer.envelope import Channel, Envelope, ReportDraft, Sender, SenderKind
from normalizer.schema import SCHEMA_PATH, envelope_schema, render_schema

CONTRACT_FIELDS = {
    "envelope_version", "tracking_id", "received_at", "channel", "channel_message_id", "sender", "kind",
    "anonymous", "confidential", "text", "subject", "language", "attachments", "follow_up_of", "channel_meta",
    "from_reports_sender",
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
     ("from_reports_sender", "+6281234567890")],
)
def test_the_schema_refuses_what_the_contract_forbids(field: str, value: str) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    document = json.loads(sample_envelope().model_dump_json())
    document[field] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())


def test_received_at_is_utc_rfc3339() -> None:
    assert json.loads(sample_envelope().model_dump_json())["received_at"] == "2026-11-22T08:30:00Z"
