"""The generated documents in docs/ are current, and every diagnostic code used is catalogued."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from passerelle.diagnostics import CODES
from passerelle.reference_docs import documents

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("relative", "text"), sorted(documents().items()))
def test_generated_document_is_current(relative: str, text: str) -> None:
    committed = ROOT / "docs" / relative
    assert committed.read_text(encoding="utf-8") == text, f"docs/{relative} is stale: run `make docs`"


def test_every_code_used_in_the_code_is_catalogued() -> None:
    namespaces = "|".join(sorted({code.split(".")[0] for code in CODES}))
    used: set[str] = set()
    for path in (ROOT / "src" / "passerelle").rglob("*.py"):
        used |= set(re.findall(rf"\"((?:{namespaces})\.[a-z_]+)\"", path.read_text(encoding="utf-8")))
    assert used, "the scan found no codes at all"
    assert used <= set(CODES), used - set(CODES)
