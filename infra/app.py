"""CDK entry point: `make synth` (plain `python infra/app.py`, offline, no Docker)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aws_cdk as cdk  # noqa: E402

from infra.nag import apply_nag  # noqa: E402
from infra.stack import SaikenStack  # noqa: E402

FEATURE_FLAGS: dict[str, object] = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]


def build_app(context: dict[str, object] | None = None, outdir: str | None = None) -> tuple[cdk.App, SaikenStack]:
    """The app with cdk.json's feature flags, whether run by the cdk CLI, `make synth` or a test."""
    app = cdk.App(context={**FEATURE_FLAGS, **(context or {})}, outdir=outdir)
    stack = SaikenStack(
        app,
        "Saiken",
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION", "ap-northeast-1"),
        ),
        description="Saiken: receivables management and automated dunning",
    )
    apply_nag(app, stack)
    return app, stack


if __name__ == "__main__":
    app, _ = build_app(outdir=os.environ.get("CDK_OUTDIR", str(ROOT / "cdk.out")))
    app.synth()
