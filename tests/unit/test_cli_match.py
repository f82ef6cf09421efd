"""`saiken match --receivables FILE --payments FILE --json`: offline, the contract other tools use."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from saiken.cli.main import app
from saiken.payments.zengin import Transfer, transfer_notice

runner = CliRunner()
HEADER = "債務者ID,氏名,氏名カナ,電話番号,債権番号,請求金額,支払期日,バーチャル口座番号\r\n"
DAY = date(2026, 11, 13)


def receivables(tmp_path: Path) -> Path:
    path = tmp_path / "債権.csv"
    path.write_bytes(
        (
            HEADER
            + "D1,山田太郎,ヤマダ タロウ,090-1234-5678,R1,10000,2026-10-01,7654321\r\n"
            + "D1,山田太郎,ヤマダ タロウ,090-1234-5678,R2,5000,2026-11-01,\r\n"
            + "D2,鈴木花子,スズキ ハナコ,090-1234-5679,R3,7000,2026-10-05,\r\n"
            + "D4,山田商事,カブシキガイシャ ヤマダショウジ,03-1234-5678,R4,30000,2026-10-07,\r\n"
            + "D5,佐藤,サトウ,090-1234-5670,R5,abc,2026-10-07,\r\n"  # a bad row: reported, not fatal
        ).encode("cp932")
    )
    return path


def run(*args: str) -> tuple[int, dict[str, Any], str]:
    result = runner.invoke(app, ["match", *args, "--json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}, result.stderr


def test_zengin_payments_match_by_every_method(tmp_path: Path) -> None:
    zengin = tmp_path / "nyukin.txt"
    zengin.write_bytes(
        transfer_notice(
            {
                "1111111": [
                    Transfer(DAY, 7000, "ｽｽﾞｷ ﾊﾅｺ", inquiry=1),
                    Transfer(DAY, 30000, "ｶ)ﾔﾏﾀﾞｼﾖｳｼ", inquiry=2),
                    Transfer(DAY, 4321, "ﾜﾀﾅﾍﾞ", inquiry=3),
                    Transfer(DAY, 5000, "ﾔﾏﾀﾞ ﾀﾛｳ", inquiry=5, edi="R2"),
                    Transfer(DAY, 7000, "ｽｽﾞｷ ﾊﾅｺ", inquiry=1, cancel=True),
                ],
                "7654321": [Transfer(DAY, 6000, "ﾔﾏﾀﾞ ﾀﾛｳ", inquiry=4)],
            },
            created=DAY,
        )
    )
    code, out, err = run("--receivables", str(receivables(tmp_path)), "--payments", str(zengin))
    assert code == 0
    assert {k: [e["receivable_id"] for e in out[k]] for k in ("matched", "partial")} == {
        "matched": ["R3", "R4", "R2"],
        "partial": ["R1"],
    }
    assert {e["receivable_id"]: e["method"] for e in out["matched"] + out["partial"]} == {
        "R3": "amount_debtor",
        "R4": "name_amount",
        "R2": "reference",
        "R1": "virtual_account",
    }
    assert out["unmatched"] == [
        {"payment_id": "0001-001-1111111-20261113-000003", "amount": 4321, "reason": "no_candidate"}
    ]
    assert out["reversed"] == [
        {
            "payment_id": "0001-001-1111111-20261113-000001-cancel",
            "cancels": "0001-001-1111111-20261113-000001",
            "amount": 7000,
        }
    ]
    assert [(r["file"], r["row"], r["field"], r["code"]) for r in out["rejected"]] == [
        ("receivables", 5, "amount", "invalid_amount")
    ]
    assert "receivables row 5" in err


def test_csv_payments_and_a_credit(tmp_path: Path) -> None:
    payments = tmp_path / "入金.csv"
    rows = (
        "入金ID,入金日,入金額,振込依頼人名,債権番号\r\n"
        + 'P1,2026/11/13,"8,000",ｽｽﾞｷ ﾊﾅｺ,R3\r\n'
        + "P2,2026-13-01,1,,\r\n"
    )
    payments.write_bytes(rows.encode("utf-8-sig"))
    code, out, _ = run("--receivables", str(receivables(tmp_path)), "--payments", str(payments))
    assert code == 0
    assert out["matched"] == [
        {"payment_id": "P1", "receivable_id": "R3", "amount": 7000, "method": "reference", "confidence": 1.0}
    ]
    assert out["credits"] == [{"payment_id": "P1", "debtor_id": "D2", "amount": 1000}]
    assert [(r["file"], r["row"], r["field"], r["code"]) for r in out["rejected"]] == [
        ("receivables", 5, "amount", "invalid_amount"),
        ("payments", 2, "paid_at", "invalid_date"),
    ]


def test_a_zengin_file_that_does_not_add_up_is_refused_whole(tmp_path: Path) -> None:
    bad = bytearray(transfer_notice([Transfer(DAY, 7000, "ｽｽﾞｷ ﾊﾅｺ")], created=DAY, crlf=False))
    bad[400 + 7 : 400 + 19] = b"000000000001"  # the trailer's total
    zengin = tmp_path / "bad.dat"
    zengin.write_bytes(bytes(bad))
    result = runner.invoke(app, ["match", "--receivables", str(receivables(tmp_path)), "--payments", str(zengin)])
    assert result.exit_code == 2
    assert "trailer_mismatch" in result.stderr and "¥1" in result.stderr
