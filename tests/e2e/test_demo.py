"""`make demo` is the main job: intake, then days of automated dunning on the virtual clock.
Run here at a smaller size (the same code path); the figures a user reads must hold together."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from saiken.cli.demo import CREDITORS, run_demo

pytestmark = pytest.mark.e2e

OUTBOX_FIELDS = {"channel", "creditor_id", "receivable_id", "debtor_id", "to", "sent_at", "step", "template", "body"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("demo-output")
    summary = run_demo(out, Console(quiet=True), days=30, receivables=240, seed=11, start=date(2026, 12, 4))
    return out, summary


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_the_three_files_and_every_check_passes(demo: tuple[Path, dict[str, Any]]) -> None:
    out, summary = demo
    for name in ("outbox.jsonl", "events.jsonl", "summary.json"):
        assert (out / name).stat().st_size > 0
    assert all(ok is True for ok in summary["checks"].values()), summary["checks"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["reminders_sent"] == summary["reminders_sent"]


def test_portfolio_has_two_creditors_both_groups_and_rejected_rows_reported(demo: tuple[Path, dict[str, Any]]) -> None:
    _, summary = demo
    assert summary["receivables"] >= 240
    assert set(summary["receivables_per_creditor"]) == set(CREDITORS)
    segments = {key.split("/")[1] for key in summary["receivables_per_segment"]}
    assert {"A", "B"} <= segments
    completed = [r for r in summary["intake"] if r["state"] == "completed"]
    assert all(r["rows"] == r["accepted"] + r["rejected"] and r["rejected"] > 0 for r in completed)
    assert any(r["state"] == "skipped_duplicate" for r in summary["intake"])


def test_outbox_lines_are_complete_and_add_up(demo: tuple[Path, dict[str, Any]]) -> None:
    out, summary = demo
    outbox = lines(out / "outbox.jsonl")
    assert outbox and all(set(m) >= OUTBOX_FIELDS for m in outbox)
    assert all(datetime.fromisoformat(m["sent_at"]).utcoffset().total_seconds() == 9 * 3600 for m in outbox)  # type: ignore[union-attr]
    per_channel = Counter(m["channel"] for m in outbox)
    assert dict(per_channel) == {k: v for k, v in summary["reminders_sent_per_channel"].items() if v}
    assert set(per_channel) == {"email", "sms", "ivr"}
    # email really went through moto's SES; SMS and IVR through the local outbox channel
    assert summary["emails_in_moto_ses"] == per_channel["email"]
    raw = lines(out / "channel-outbox.jsonl")
    assert Counter(m["channel"] for m in raw) == Counter({"sms": per_channel["sms"], "ivr": per_channel["ivr"]})


def test_payments_stop_dunning_and_appear_as_events(demo: tuple[Path, dict[str, Any]]) -> None:
    out, summary = demo
    events = lines(out / "events.jsonl")
    paid = [e for e in events if e["to"] == "paid"]
    assert len(paid) == summary["paid_receivables"] > 0
    assert all({"at", "receivable_id", "from", "to", "reason"} <= set(e) for e in events)
    assert summary["paid_amount"] > 0


def test_the_sms_outage_lost_nothing(demo: tuple[Path, dict[str, Any]]) -> None:
    _, summary = demo
    outage = summary["sms_outage"]
    assert outage["refused_attempts"] > 0
    assert outage["send_queue_dlq"] == 0
    assert outage["not_delivered"] == []


def test_guardrails_left_their_reasons(demo: tuple[Path, dict[str, Any]]) -> None:
    _, summary = demo
    suppressed = summary["suppressed_per_reason"]
    assert suppressed.get("daily_cap", 0) > 0
    assert suppressed.get("year_end_closure", 0) > 0  # the closure's steps: dropped, the next one goes
    assert suppressed.get("no_email", 0) > 0


def test_bank_files_are_reconciled_by_every_method(demo: tuple[Path, dict[str, Any]]) -> None:
    out, summary = demo
    r = summary["reconciliation"]
    zengin = sorted((out / "payments").glob("zengin-*.txt"))
    assert zengin and sorted((out / "payments").glob("入金明細-*.csv"))
    records = zengin[0].read_bytes().split(b"\r\n")[:-1]
    assert records and all(len(record) == 200 for record in records)  # byte-exact Zengin records
    assert {"virtual_account", "reference", "amount_debtor", "name_amount", "manual"} <= set(r["matched_per_method"])
    assert r["partial"] > 0 and r["reversed"] == 1 and r["manual_matches"] > 0
    assert r["file_runs"].get("skipped_duplicate") == 1  # the replayed S3 event
    matched = sum(r["matched_per_method"].values())
    assert r["misapplied"] <= matched // 100  # a payment on the wrong debtor: at most 1 in 100 (fuzzy names)
    assert summary["collected_amount"] == summary["paid_amount"] > 0


def test_partial_payments_and_write_offs_appear_as_events(demo: tuple[Path, dict[str, Any]]) -> None:
    out, summary = demo
    events = Counter(e["to"] for e in lines(out / "events.jsonl"))
    assert events["partially_paid"] > 0
    assert events["written_off"] == summary["write_offs"]["receivables"] > 0
    assert summary["write_offs"]["amount"] > 0 and summary["write_offs"]["exports"]


def test_debtors_answer_promise_dispute_and_receivables_escalate(demo: tuple[Path, dict[str, Any]]) -> None:
    out, summary = demo
    k = summary["cases"]
    events = lines(out / "events.jsonl")
    assert k["promises_made_by_ivr"] > 0 and k["promises_made"] >= k["promises_made_by_ivr"]
    assert k["promises_kept"] + k["promises_broken"] > 0
    assert k["promises_made"] == sum(1 for e in events if e["to"] == "promised")
    assert k["disputes"] > 0 and sum(1 for e in events if e["to"] == "disputed") == k["disputes"]
    stages = k["escalations_per_stage"]
    assert stages.get("hard", 0) > 0 and stages.get("final", 0) > 0
    assert sum(stages.values()) == sum(1 for e in events if e["to"].startswith("stage:"))
    assert stages.get("legal", 0) == k["handed_off"] and k["escalation_failures"] == 0
    assert any(key.startswith("email:") for key in k["channel_events"])
    assert any(key.startswith("ivr:") for key in k["channel_events"])
    worklist = k["worklist"]
    assert set(worklist) == set(CREDITORS)
    for board in worklist.values():
        priorities = [w["priority"] for w in board["top"]]
        assert priorities == sorted(priorities, reverse=True)
