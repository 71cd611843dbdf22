"""The envelope's JSON Schema, generated from the model. `python -m normalizer.schema` rewrites the committed
file after a change to the model; a test fails while the two differ.

The published schema leaves every object open (no `additionalProperties: false`): a case store that validates
against it takes an envelope of a later revision of the same major version, whose new fields it does not know. The
strict variant (the model's own, unknown fields refused at every level) checks what this gateway emits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from normalizer.envelope import ENVELOPE_VERSION, Envelope

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / f"envelope-v{ENVELOPE_VERSION}.json"


def _open(node: Any) -> Any:
    """The schema with every object's `additionalProperties: false` taken out (an open map, `true`, stays)."""
    if isinstance(node, dict):
        return {key: _open(value) for key, value in node.items()
                if not (key == "additionalProperties" and value is False)}
    if isinstance(node, list):
        return [_open(value) for value in node]
    return node


def envelope_schema(*, strict: bool = False) -> dict[str, Any]:
    schema = Envelope.model_json_schema(mode="serialization")
    if not strict:
        schema = _open(schema)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://lapor.go.id/schemas/envelope-v{ENVELOPE_VERSION}.json"
    return schema


def render_schema() -> str:
    return json.dumps(envelope_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(render_schema())
    print(f"wrote {SCHEMA_PATH}")
