"""The local stack as a user drives it: upload a file to S3, query it back over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from rich.console import Console

from saiken import wiring
from saiken.cli.upload import upload_file
from saiken.local.stack import LocalStack

pytestmark = pytest.mark.e2e

HEADER = "顧客番号,氏名,携帯電話番号,メールアドレス,請求番号,請求金額,支払期日\r\n"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    local = LocalStack(api_port=0).start()
    router = threading.Thread(target=local.run_forever, kwargs={"poll_seconds": 0.1}, daemon=True)
    router.start()
    try:
        yield local
    finally:
        local.stop()
        router.join(timeout=5)


def own_output(stdout: str) -> str:
    """The command's own output: in this one process the stack's router (another thread) runs the
    functions too, and their EMF metric lines (CloudWatch's, locally stdout) can land in between."""
    return "\n".join(line for line in stdout.splitlines() if not line.startswith('{"_aws"')).strip()


def api(stack: LocalStack, method: str, path: str, key: str | None, body: Any = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.request(method, f"{stack.api_url}{path}", headers=headers, json=body, timeout=30)


def test_upload_then_read_back_over_http(stack: LocalStack, tmp_path: Path) -> None:
    acme, globex = wiring.api_keys().issue("acme"), wiring.api_keys().issue("globex")
    file = tmp_path / "12月請求.csv"
    file.write_bytes(
        (
            HEADER
            + 'C1,山田 太郎,090-1111-2222,,INV-1,"￥12,000",令和8年12月10日\r\n'
            + "C1,山田 太郎,090-1111-2222,,INV-2,3300,2026/12/25\r\n"
            + "C2,鈴木,,,INV-3,abc,2026-12-10\r\n"
        ).encode("cp932")
    )

    run = upload_file(file, "acme", wait_seconds=30, console=Console(quiet=True))

    assert run is not None
    assert (run.state, run.rows, run.accepted, run.rejected) == ("completed", 3, 2, 1)
    response = api(stack, "GET", "/receivables/INV-1", acme)
    assert response.status_code == 200
    assert response.json()["amount"] == 12000 and response.json()["due_date"] == "2026-12-10"
    listed = api(stack, "GET", "/debtors/C1/receivables", acme).json()
    assert [r["receivable_id"] for r in listed] == ["INV-1", "INV-2"]
    assert api(stack, "GET", "/receivables/INV-1", globex).status_code == 404
    assert api(stack, "GET", "/receivables/INV-1", None).status_code == 401
    assert api(stack, "GET", "/receivables/INV-1", "sk.acme.nobody").status_code == 403

    link = api(stack, "GET", f"/ingestions/{run.run_id}/report", acme).json()
    report = requests.get(link["url"], timeout=30)  # a plain download, as a creditor's browser would
    assert report.status_code == 200
    lines = report.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,line,field,code,message,value"
    assert lines[1].startswith("3,4,amount,invalid_amount,")


def test_push_over_http_and_cancel(stack: LocalStack) -> None:
    push = wiring.api_keys().issue("pushco")
    item = {
        "debtor_id": "P1",
        "debtor_name": "佐藤",
        "email": "sato@example.jp",
        "receivable_id": "P-1",
        "amount": 5000,
        "due_date": "2026-12-31",
    }
    created = api(stack, "POST", "/receivables", push, item)
    assert created.status_code == 201
    cancelled = api(stack, "PUT", "/receivables/P-1/status", push, {"status": "cancelled"})
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    swagger = api(stack, "GET", "/swagger?format=json", push)
    assert swagger.status_code == 200 and "/receivables/batch" in swagger.json()["paths"]


def test_cli_against_the_running_stack(stack: LocalStack, tmp_path: Path) -> None:
    """What an operator types: generate a file, create a key, upload, list."""
    import json

    from typer.testing import CliRunner

    from saiken.cli.main import app

    runner = CliRunner()
    file = tmp_path / "load.csv"
    assert (
        runner.invoke(app, ["generate", str(file), "--rows", "40", "--bad-every", "10", "--prefix", "L"]).exit_code == 0
    )
    created = runner.invoke(app, ["apikey", "create", "--creditor", "loadco", "--endpoint", stack.endpoint])
    key = own_output(created.stdout)
    assert created.exit_code == 0 and key.startswith("sk.loadco.")

    uploaded = runner.invoke(app, ["upload", str(file), "--creditor", "loadco", "--endpoint", stack.endpoint])
    assert uploaded.exit_code == 0, uploaded.stdout
    assert "rows 40 = accepted 36 + rejected 4" in " ".join(uploaded.stdout.split())  # rich wraps at 80

    listed = runner.invoke(app, ["receivables", "list", "--creditor", "loadco", "--json", "--endpoint", stack.endpoint])
    assert listed.exit_code == 0
    assert len(json.loads(own_output(listed.stdout))) == 36
    response = api(stack, "GET", "/receivables?limit=500", key)
    assert len(response.json()["items"]) == 36

    revoked = runner.invoke(app, ["apikey", "revoke", key, "--endpoint", stack.endpoint])
    assert revoked.exit_code == 0
    assert api(stack, "GET", "/receivables", key).status_code == 403  # no cache locally
    assert runner.invoke(app, ["apikey", "revoke", "sk.loadco.nope", "--endpoint", stack.endpoint]).exit_code == 2


def test_an_upper_case_extension_from_windows_is_ingested(stack: LocalStack, tmp_path: Path) -> None:
    file = tmp_path / "月次データ.CSV"
    file.write_bytes((HEADER + "U1,田中,090-3333-4444,,UP-1,1000,2026-12-10\r\n").encode("cp932"))

    run = upload_file(file, "upperco", wait_seconds=30, console=Console(quiet=True))

    assert run is not None and (run.state, run.accepted) == ("completed", 1)
