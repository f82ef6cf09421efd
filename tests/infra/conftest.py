from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """One synth for the whole session (jsii start costs ~2 s). Bundling is skipped; cdk-nag runs:
    an unacknowledged finding makes synth raise, so this fixture itself is the nag check."""
    from aws_cdk.assertions import Template

    from infra.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app({"aws:cdk:bundling-stacks": []}, outdir=str(outdir))
    assembly = app.synth()
    template_path = Path(assembly.directory) / f"{stack.stack_name}.template.json"
    return Template.from_stack(stack), template_path


@pytest.fixture(scope="session")
def template(synthesized: tuple[Any, Path]) -> Any:
    return synthesized[0]


@pytest.fixture(scope="session")
def template_json(synthesized: tuple[Any, Path]) -> dict[str, Any]:
    return json.loads(synthesized[1].read_text())  # type: ignore[no-any-return]
