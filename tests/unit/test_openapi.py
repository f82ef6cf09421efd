from __future__ import annotations

import json
from pathlib import Path

from saiken.cli.openapi import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_document_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "run `make openapi` and commit docs/openapi.json"


def test_document_describes_every_route_and_the_bearer_scheme() -> None:
    doc = json.loads(render())
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) >= {
        "/receivables",
        "/receivables/batch",
        "/receivables/{receivable_id}",
        "/receivables/{receivable_id}/status",
        "/debtors/{debtor_id}/receivables",
    }
    assert doc["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    batch = doc["components"]["schemas"]["BatchIn"]["properties"]["items"]
    assert batch["maxItems"] == 500


def test_document_is_valid_openapi() -> None:
    from openapi_spec_validator import validate

    validate(json.loads(render()))
