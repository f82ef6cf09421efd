"""`saiken validate FILE --json`: the contract other tools depend on."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from saiken.cli.main import app

runner = CliRunner()
HEADER = "債務者ID,氏名,電話番号,メールアドレス,債権番号,請求金額,支払期日\r\n"


def run(*args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = runner.invoke(app, ["validate", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_valid_and_invalid_rows(tmp_path: Path) -> None:
    path = tmp_path / "請求.csv"
    path.write_bytes(
        (
            HEADER
            + "D1,山田,090-1234-5678,,R1,１２，０００,令和8年12月10日\r\n"
            + "D2,鈴木,,,R2,12.5,2026/12/10\r\n"
            + "D3,佐藤,,x@example.jp,R1,100,2026-12-10\r\n"
        ).encode("cp932")
    )
    code, out = run(str(path))
    assert code == 0
    assert out == {
        "file": str(path),
        "encoding": "cp932",
        "rows": 3,
        "accepted": 1,
        "rejected": 2,
        "errors": [
            {
                "row": 2,
                "line": 3,
                "field": "amount",
                "code": "invalid_amount",
                "message": out["errors"][0]["message"],
            },
            {
                "row": 2,
                "line": 3,
                "field": None,
                "code": "no_contact",
                "message": out["errors"][1]["message"],
            },
            {
                "row": 3,
                "line": 4,
                "field": "receivable_id",
                "code": "duplicate_receivable",
                "message": out["errors"][2]["message"],
            },
        ],
    }
    assert all(e["message"] for e in out["errors"])


def test_missing_column_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("氏名,債権番号\n山田,R1\n", encoding="utf-8")
    code, out = run(str(path))
    assert code == 2
    assert out["error"]["code"] == "missing_column"


def test_binary_file_exits_2_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx.csv"
    path.write_bytes(b"PK\x03\x04" + bytes(range(128, 256)) * 4)
    code, out = run(str(path))
    assert (code, out["error"]["code"]) == (2, "unreadable")


def test_mapping_option(tmp_path: Path) -> None:
    path, mapping = tmp_path / "g.csv", tmp_path / "m.yaml"
    path.write_text(
        "お客様コード,お名前,メール,請求No,金額(税込),期限\nC1,山田,a@example.jp,R1,500,2026-12-10\n",
        encoding="utf-8-sig",
    )
    mapping.write_text(
        "columns:\n  お客様コード: debtor_id\n  お名前: debtor_name\n  メール: email\n  請求No: receivable_id\n"
        "  金額(税込): amount\n  期限: due_date\n",
        encoding="utf-8",
    )
    code, out = run(str(path), "--mapping", str(mapping))
    assert (code, out["encoding"], out["accepted"], out["rejected"]) == (0, "utf-8-sig", 1, 0)


def test_human_output_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(HEADER + "D1,山田,,,R1,100,2026-02-30\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0
    assert "invalid_date" in result.stdout and "1 rejected" in result.stdout


def test_upload_without_a_local_stack_says_how_to_start_one(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "x.csv"
    path.write_text(HEADER, encoding="utf-8")
    result = runner.invoke(app, ["upload", str(path), "--creditor", "acme"])
    assert result.exit_code == 2
    assert "saiken local up" in " ".join(result.output.split())


def test_a_missing_file_or_a_broken_mapping_is_still_one_json_error(tmp_path: Path) -> None:
    code, out = run(str(tmp_path / "nope.csv"))
    assert (code, out["error"]["code"]) == (2, "unreadable")

    path, mapping = tmp_path / "x.csv", tmp_path / "m.yaml"
    path.write_text(HEADER, encoding="utf-8")
    mapping.write_text("columns:\n  X: debtor_idd\n", encoding="utf-8")
    code, out = run(str(path), "--mapping", str(mapping))
    assert (code, out["error"]["code"]) == (2, "invalid_mapping")
    assert "debtor_idd" in out["error"]["message"]

    mapping.write_text("columns: [oops\n", encoding="utf-8")
    assert run(str(path), "--mapping", str(mapping))[1]["error"]["code"] == "invalid_mapping"
    assert run(str(path), "--mapping", str(tmp_path / "missing.yaml"))[1]["error"]["code"] == "unreadable"
