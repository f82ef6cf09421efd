"""The README's local workflow, as separate processes: `saiken local up`, `saiken upload`, HTTP, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.e2e

SAIKEN = str(Path(sys.executable).with_name("saiken"))
HEADER = "債務者ID,氏名,電話番号,メールアドレス,債権番号,請求金額,支払期日\r\n"


def saiken(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, in another process; a failure shows its output."""
    result = subprocess.run([SAIKEN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_local_up_then_upload_from_another_process(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("AWS_ENDPOINT_URL", None)
    server = subprocess.Popen(
        [SAIKEN, "local", "up", "--port", "0", "--api-port", "0", "--creditor", "acme"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    watchdog = threading.Timer(120, server.kill)  # never wait forever for a server that does not start
    watchdog.start()
    try:
        key = None
        assert server.stdout is not None
        for line in server.stdout:  # ends if the server dies: then the assertions below say so
            if line.startswith("API key for acme: "):
                key = line.split(": ", 1)[1].strip()
            if "state written" in line:
                break
        watchdog.cancel()
        state = json.loads((tmp_path / ".saiken" / "local.json").read_text())
        assert key and key.startswith("sk.acme.")

        file = tmp_path / "請求.csv"
        due = (date.today() + timedelta(days=8)).strftime("%Y/%m/%d")
        file.write_bytes((HEADER + f'D1,山田,090-1234-5678,,R1,"12,000",{due}\r\n').encode("cp932"))
        upload = saiken(tmp_path, env, "upload", str(file), "--creditor", "acme")
        assert "completed" in upload.stdout

        response = requests.get(
            f"{state['api']}/receivables/R1", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        assert response.status_code == 200
        assert response.json()["amount"] == 12000

        # the stream reached the scheduler: R1 has its one schedule; `saiken plan` shows the calendar
        plan: dict[str, Any] = {}
        for _ in range(60):
            result = saiken(tmp_path, env, "plan", "R1", "--creditor", "acme", "--json")
            plan = json.loads(result.stdout)
            if plan["pending_schedule"]:
                break
            time.sleep(0.5)  # waiting for another process, not timing anything
        assert plan["pending_schedule"].startswith("at(") and plan["segment"] == "A"
        emails = [s for s in plan["steps"] if s["channel"] == "email"]
        assert emails and {(s["state"], s["reason"]) for s in emails} == {("skipped", "no_email")}
        assert any(s["channel"] == "sms" and s["state"] == "planned" for s in plan["steps"])

        # the bank's Zengin file: one payment by reference (EDI), one nobody can place
        from saiken.payments.zengin import Transfer, transfer_notice

        bank = tmp_path / "ZENGIN.txt"
        today = date.today()
        bank.write_bytes(
            transfer_notice(
                [Transfer(today, 5000, "ﾔﾏﾀﾞ", inquiry=1, edi="R1"), Transfer(today, 3000, "ﾀﾞﾚｶ", inquiry=2)],
                created=today,
            )
        )
        paid = saiken(tmp_path, env, "upload", str(bank), "--creditor", "acme", "--kind", "payments")
        assert "payments: partial 1, unmatched 1" in " ".join(paid.stdout.split())
        queue = saiken(tmp_path, env, "payments", "unmatched", "--creditor", "acme", "--json")
        (waiting,) = json.loads(queue.stdout)
        assert waiting["amount"] == 3000 and waiting["reason"] == "no_candidate"
        matched = saiken(
            tmp_path, env, "payments", "match", waiting["payment_id"], "R1", "--creditor", "acme", "--json"
        )
        assert json.loads(matched.stdout)["allocations"] == [
            {"receivable_id": "R1", "amount": 3000, "balance_after": 4000}
        ]
        r1 = requests.get(f"{state['api']}/receivables/R1", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert (r1.json()["balance"], r1.json()["status"]) == (4000, "partially_paid")

        # 応対管理 from the CLI: a promise, a dispute and its release, a call-back note -> the worklist
        promised_on = (today + timedelta(days=5)).isoformat()
        promised = saiken(tmp_path, env, "cases", "promise", "R1", promised_on, "--creditor", "acme", "--json")
        assert json.loads(promised.stdout)["status"] == "promised"
        disputed = saiken(
            tmp_path, env, "cases", "dispute", "R1", "--creditor", "acme", "--reason", "amount_disputed", "--json"
        )
        assert json.loads(disputed.stdout)["status"] == "disputed"
        saiken(tmp_path, env, "cases", "release", "R1", "--creditor", "acme", "--by", "tanaka")
        saiken(tmp_path, env, "cases", "note", "R1", "折返し希望", "--creditor", "acme", "--outcome", "callback")
        worklist = json.loads(saiken(tmp_path, env, "cases", "worklist", "--creditor", "acme", "--json").stdout)
        assert [(w["receivable_id"], w["attention"]) for w in worklist] == [("R1", "operator_requested")]
        history = json.loads(saiken(tmp_path, env, "cases", "timeline", "R1", "--creditor", "acme", "--json").stdout)
        kinds = [e["kind"] for e in history]
        assert {"promise_made", "disputed", "released", "note"} <= set(kinds)
        assert [e["actor"] for e in history if e["kind"] == "released"] == ["operator:tanaka"]
        stage = requests.get(
            f"{state['api']}/receivables/R1/stage", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        assert stage.json()["next"]["stage"] == "hard"  # the first boundary, +30 days, is scheduled
        refused = subprocess.run(
            [SAIKEN, "cases", "promise", "R1", "2020-01-01", "--creditor", "acme"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert refused.returncode == 2 and "promise_in_past" in refused.stderr
    finally:
        watchdog.cancel()
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    assert server.returncode == 0
    assert not (tmp_path / ".saiken" / "local.json").exists()


def test_local_up_on_a_taken_port_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [SAIKEN, "local", "up", "--port", str(port), "--api-port", "0"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {port}" in " ".join(result.stderr.split()) and "in use" in result.stderr
