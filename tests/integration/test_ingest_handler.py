"""The ingest function against moto, with the real S3 event shape."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from saiken.adapters.repository import DebtorRepository, IngestionRunRepository, ReceivableRepository
from saiken.domain.status import ReceivableStatus
from saiken.local.handlers import handler
from tests.helpers import csv_bytes, put_and_event, read_report

pytestmark = pytest.mark.usefixtures("aws")

KEY = "incoming/acme/receivables/2026-12 請求.csv"
GOOD = [
    'D1,山田 太郎,090-1234-5678,,R1,"￥12,000",令和8年12月10日',
    "D2,鈴木 花子,,hanako@example.jp,R2,５５００,2026/12/20",
]
BAD = [
    "D3,佐藤 一郎,,,R3,3000,2026-12-01",  # no contact
    "D4,=cmd|' /C calc'!A0,090-1111-2222,,R4,-500,2026-02-30",  # formula, bad amount, bad date
]


def ingest(key: str, body: bytes, context: Any) -> dict[str, Any]:
    return handler("ingest")(put_and_event(key, body), context)["runs"][0]


def test_valid_rows_are_stored_and_bad_rows_reported(lambda_context: Any) -> None:
    run = ingest(KEY, csv_bytes(*GOOD, *BAD), lambda_context)

    assert run["state"] == "completed"
    assert run["encoding"] == "cp932"
    assert (run["rows"], run["accepted"], run["rejected"], run["created"]) == (4, 2, 2, 2)
    r1 = ReceivableRepository().get("acme", "R1")
    assert r1 is not None
    assert (r1.amount, r1.balance, r1.due_date.isoformat(), r1.status) == (
        12000,
        12000,
        "2026-12-10",
        ReceivableStatus.OPEN,
    )
    debtor = DebtorRepository().get("acme", "D1")
    assert debtor is not None and debtor.phone == "+819012345678"
    assert ReceivableRepository().get("acme", "R3") is None

    report = list(csv.DictReader(io.StringIO(read_report("reports/acme/2026-12 請求.csv.errors.csv"))))
    assert {(e["row"], e["field"], e["code"]) for e in report} == {
        ("3", "", "no_contact"),
        ("4", "amount", "invalid_amount"),
        ("4", "due_date", "invalid_date"),
    }
    assert all(not e["value"].startswith("=") for e in report)


def test_the_same_event_twice_changes_nothing(lambda_context: Any) -> None:
    event = put_and_event(KEY, csv_bytes(*GOOD))
    first = handler("ingest")(event, lambda_context)["runs"][0]
    before = ReceivableRepository().get("acme", "R1")

    second = handler("ingest")(event, lambda_context)["runs"][0]

    assert first["state"] == "completed"
    assert second["state"] == "skipped_duplicate"
    after = ReceivableRepository().get("acme", "R1")
    assert after == before  # same version, same timestamps: not rewritten


def test_reuploading_a_file_under_a_new_name_writes_nothing(lambda_context: Any) -> None:
    ingest(KEY, csv_bytes(*GOOD), lambda_context)
    before = ReceivableRepository().get("acme", "R1")

    run = ingest("incoming/acme/receivables/again.csv", csv_bytes(*GOOD, encoding="utf-8-sig"), lambda_context)

    assert (run["created"], run["updated"], run["unchanged"]) == (0, 0, 2)
    assert ReceivableRepository().get("acme", "R1") == before


def test_a_changed_row_updates_the_receivable_and_keeps_its_status(lambda_context: Any) -> None:
    ingest(KEY, csv_bytes(*GOOD), lambda_context)
    repo = ReceivableRepository()
    held = repo.save(repo.get("acme", "R1").model_copy(update={"status": ReceivableStatus.ON_HOLD}))  # type: ignore[union-attr]

    run = ingest(
        "incoming/acme/receivables/fix.csv",
        csv_bytes("D1,山田 太郎,090-1234-5678,,R1,15000,2026-12-15"),
        lambda_context,
    )

    assert run["updated"] == 1
    r1 = repo.get("acme", "R1")
    assert r1 is not None
    assert (r1.amount, r1.balance, r1.due_date.isoformat()) == (15000, 15000, "2026-12-15")
    assert r1.status == ReceivableStatus.ON_HOLD
    assert r1.version == (held.version or 0) + 1


def test_a_file_missing_a_required_column_fails_whole_with_a_clear_error(lambda_context: Any) -> None:
    run = ingest(KEY, "氏名,債権番号\r\n山田,R1\r\n".encode("cp932"), lambda_context)

    assert run["state"] == "failed"
    assert run["error_code"] == "missing_column"
    assert "debtor_id" in run["error_message"] and "amount" in run["error_message"]
    assert IngestionRunRepository().get("acme", run["run_id"]).state == "failed"  # type: ignore[union-attr]


def test_rows_before_an_undecodable_tail_are_kept(lambda_context: Any) -> None:
    body = csv_bytes(*GOOD, encoding="utf-8") + b"D9,\xff\xfe\xfa,090-1234-5678,,R9,100,2026-12-01\r\n"

    run = ingest(KEY, body, lambda_context)

    assert run["state"] == "failed" and run["error_code"] == "unreadable"
    assert run["accepted"] == 2
    assert ReceivableRepository().get("acme", "R2") is not None


def test_objects_outside_the_receivables_prefix_are_ignored(lambda_context: Any) -> None:
    result = handler("ingest")(put_and_event("incoming/acme/other/x.csv", csv_bytes(*GOOD)), lambda_context)
    assert result == {"runs": []}
    assert ReceivableRepository().get("acme", "R1") is None


def test_tenants_do_not_share_receivables(lambda_context: Any) -> None:
    ingest(KEY, csv_bytes(*GOOD), lambda_context)
    ingest(
        "incoming/globex/receivables/a.csv",
        csv_bytes("D1,別人,03-1234-5678,,R1,999,2026-12-31"),
        lambda_context,
    )

    acme, globex = ReceivableRepository().get("acme", "R1"), ReceivableRepository().get("globex", "R1")
    assert acme is not None and globex is not None
    assert (acme.amount, globex.amount) == (12000, 999)
    assert DebtorRepository().get("acme", "D1").name == "山田 太郎"  # type: ignore[union-attr]


MAPPED = "お客様コード,お名前,メール,請求No,金額,期限\r\nC1,山田,a@example.jp,R1,500,2026-12-10\r\n".encode("cp932")
MAPPING = (
    "columns:\n  お客様コード: debtor_id\n  お名前: debtor_name\n  メール: email\n  請求No: receivable_id\n"
    "  金額: amount\n  期限: due_date\n"
)


def put_mapping(text: str) -> None:
    import os

    from tests.helpers import s3

    s3().put_object(Bucket=os.environ["SAIKEN_BUCKET"], Key="config/acme/mapping.yaml", Body=text.encode())


def test_a_broken_mapping_fails_the_run_with_its_reason_and_a_fixed_one_is_used(lambda_context: Any) -> None:
    put_mapping("columns:\n  お客様コード: debtor_idd\n")
    event = put_and_event("incoming/acme/receivables/mapped.csv", MAPPED)

    failed = handler("ingest")(event, lambda_context)["runs"][0]

    assert (failed["state"], failed["error_code"]) == ("failed", "invalid_mapping")
    assert "config/acme/mapping.yaml" in failed["error_message"] and "debtor_idd" in failed["error_message"]

    put_mapping(MAPPING)  # the creditor fixes the mapping; S3 redelivers (or they upload the same file again)
    fixed = handler("ingest")(event, lambda_context)["runs"][0]

    assert (fixed["state"], fixed["accepted"]) == ("completed", 1)
    assert ReceivableRepository().get("acme", "R1") is not None


def test_yaml_that_does_not_parse_is_an_invalid_mapping(lambda_context: Any) -> None:
    put_mapping("columns: [unclosed\n")
    run = handler("ingest")(put_and_event("incoming/acme/receivables/mapped.csv", MAPPED), lambda_context)["runs"][0]
    assert (run["state"], run["error_code"]) == ("failed", "invalid_mapping")


def test_a_file_that_failed_whole_is_read_again_when_delivered_again(lambda_context: Any) -> None:
    event = put_and_event(KEY, "氏名,債権番号\r\n山田,R1\r\n".encode("cp932"))
    assert handler("ingest")(event, lambda_context)["runs"][0]["error_code"] == "missing_column"
    again = handler("ingest")(event, lambda_context)["runs"][0]
    assert (again["state"], again["error_code"]) == ("failed", "missing_column")  # same answer, not "skipped"
