"""Write docs/openapi.json (tests/unit/test_openapi.py fails when it is stale)."""

from __future__ import annotations

from pathlib import Path

from saiken.cli.openapi import render

TARGET = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"

if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
