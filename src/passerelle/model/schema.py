"""The model's JSON Schema, generated from the entity definitions and checked into docs/."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from passerelle.model.entities import ENTITY_TYPES, MODEL_VERSION


def json_schema() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(ENTITY_TYPES, ref_template="#/$defs/{name}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://passerelle.invalid/schema/model-{MODEL_VERSION}.json",
        "title": f"passerelle canonical model {MODEL_VERSION}",
        "$defs": dict(sorted(components.items())),
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
