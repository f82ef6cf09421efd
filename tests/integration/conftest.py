"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from saiken import wiring
from saiken.local.dunning import DunningRouter, VirtualClock
from tests.integration.dunning_start import START


@pytest.fixture
def world(aws: None, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[VirtualClock, DunningRouter]]:
    monkeypatch.setenv("SAIKEN_SMS_MODE", "outbox")
    monkeypatch.setenv("SAIKEN_IVR_MODE", "outbox")
    monkeypatch.setenv("SAIKEN_OUTBOX_PATH", str(tmp_path / "outbox.jsonl"))
    wiring.reset()
    wiring.settings()
    clock = VirtualClock(START)
    wiring.set_clock(clock)
    DunningRouter.provision()
    router = DunningRouter(clock)
    try:
        yield clock, router
    finally:
        wiring.set_clock(None)
