"""The envelope's JSON Schema, generated from the model. `python -m normalizer.schema` rewrites the committed
file after a change to the model; a test fails while the two differ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from normalizer.envelope import ENVELOPE_VERSION, Envelope

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / f"envelope-v{ENVELOPE_VERSION}.json"


def envelope_schema() -> dict[str, Any]:
    schema = Envelope.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://lapor.go.id/schemas/envelope-v{ENVELOPE_VERSION}.json"
    return schema


def render_schema() -> str:
    return json.dumps(envelope_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_PATH.write_text(render_schema())
    print(f"wrote {SCHEMA_PATH}")
