"""`make demo` is the main job: its figures are deterministic (seeded samples) and must hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from saiken.cli.demo import run_demo

pytestmark = pytest.mark.e2e


def test_demo_ingests_the_samples_and_reports(tmp_path: Path) -> None:
    summary = run_demo(tmp_path, Console(quiet=True))

    files = {(r["file_key"].split("/")[-1], r["state"]): r for r in summary["files"]}
    sjis = files[("receivables_2026-12_sjis.csv", "completed")]
    assert (sjis["encoding"], sjis["rows"], sjis["accepted"], sjis["rejected"]) == ("cp932", 600, 574, 26)
    update = files[("receivables_2026-12_update.tsv", "completed")]
    assert (update["created"], update["updated"], update["unchanged"]) == (2, 10, 48)
    globex = files[("請求データ_2026-12.csv", "completed")]
    assert (globex["encoding"], globex["accepted"], globex["rejected"]) == ("utf-8-sig", 436, 14)
    assert ("receivables_2026-12_sjis.csv", "skipped_duplicate") in files
    for run in summary["files"]:
        assert run["rows"] == run["accepted"] + run["rejected"]

    assert summary["receivables_stored"] == {"acme": 574 + 2 + 2, "globex": 436}
    api = summary["api"]
    assert (api["batch"]["accepted"], api["batch"]["rejected"]) == (2, 1)
    assert (api["cancelled"], api["other_creditor_read_status"], api["no_key_status"], api["wrong_key_status"]) == (
        "cancelled",
        404,
        401,
        403,
    )
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["accepted"] == summary["accepted"]
    report = (tmp_path / "reports" / "acme" / "receivables_2026-12_sjis.csv.errors.csv").read_text(encoding="utf-8-sig")
    assert report.count("\n") == 1 + sum(sjis["error_counts"].values())
