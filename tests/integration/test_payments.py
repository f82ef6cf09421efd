"""Payments against moto: Zengin and CSV files through the reconcile function, the API, the
unmatched queue and manual matches, cancellations, and every at-least-once edge (the same S3
event twice, an API retry, a cancellation twice, a receivable changing mid-match, a payment
landing while a reminder waits in the send queue)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest

from saiken import wiring
from saiken.domain.planner import JST
from saiken.local.handlers import LocalContext, handler, load_module
from saiken.payments.zengin import Transfer, transfer_notice
from tests.helpers import put_and_event, read_report
from tests.integration.test_api import call as api_call
from tests.integration.test_dunning import add, schedule_of, sent

DAY = date(2026, 11, 13)


def call(method: str, path: str, body: Any = None, creditor: str = "acme") -> tuple[int, Any]:
    return api_call(method, path, body, creditor, context=LocalContext("saiken-api"))


def receivables(*rows: tuple[str, str, str, int, str, str | None]) -> None:
    """(receivable, debtor, kana, amount, due, virtual account)"""
    items = [
        {
            "debtor_id": debtor,
            "debtor_name": "債務者",
            "debtor_name_kana": kana,
            "phone": "090-1234-5678",
            "receivable_id": rid,
            "amount": amount,
            "due_date": due,
            **({"virtual_account": va} if va else {}),
        }
        for rid, debtor, kana, amount, due, va in rows
    ]
    results = wiring.receivable_service().upsert_many("acme", items)
    assert not any(r.errors for r in results), results


def book() -> None:
    receivables(
        ("R1", "D1", "ヤマダ タロウ", 10000, "2026-10-01", "7654321"),
        ("R2", "D1", "ヤマダ タロウ", 5000, "2026-11-01", None),
        ("R3", "D2", "スズキ ハナコ", 7000, "2026-10-05", None),
        ("R4", "D4", "カブシキガイシャ ヤマダショウジ", 30000, "2026-10-07", None),
    )


def receivable(rid: str, creditor: str = "acme") -> Any:
    return wiring.receivable_service().get(creditor, rid)


def zengin_file() -> bytes:
    return transfer_notice(
        {
            "1111111": [  # the creditor's collection account: matched by name and amount
                Transfer(DAY, 7000, "ｽｽﾞｷ ﾊﾅｺ", inquiry=1),
                Transfer(DAY, 30000, "ｶ)ﾔﾏﾀﾞｼﾖｳｼ", inquiry=2),  # mistyped: fuzzy
                Transfer(DAY, 4321, "ﾜﾀﾅﾍﾞ ｹﾝ", inquiry=3),  # nobody: unmatched
            ],
            "7654321": [Transfer(DAY, 12000, "ﾔﾏﾀﾞ ﾀﾛｳ", inquiry=4)],  # a virtual account: partial
        },
        created=DAY,
    )


def reconcile(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handler("reconcile")(event, context)  # type: ignore[no-any-return]


@pytest.mark.usefixtures("aws")
def test_a_zengin_file_is_matched_applied_and_reported(lambda_context: Any) -> None:
    book()
    event = put_and_event("incoming/acme/payments/zengin-20261113.txt", zengin_file())
    (run,) = reconcile(event, lambda_context)["runs"]
    assert run["state"] == "completed" and run["rows"] == 4 and run["accepted"] == 4
    assert run["outcomes"] == {"applied": 2, "partial": 1, "unmatched": 1}
    assert (receivable("R3").balance, receivable("R3").status) == (0, "paid")
    assert (receivable("R4").balance, receivable("R4").status) == (0, "paid")
    assert (receivable("R1").balance, receivable("R2").balance) == (0, 3000)
    assert receivable("R2").status == "partially_paid"
    assert receivable("R2").acknowledged_on == DAY  # 承認: the limitation clock restarts
    assert receivable("R2").limitation_date == date(2031, 11, 13)
    report = read_report("reports/acme/payments/zengin-20261113.txt.result.csv").splitlines()
    assert report[0] == "payment_id,state,amount,method,confidence,receivables,credit,reason"
    methods = {line.split(",")[3] for line in report[1:]}
    assert methods == {"amount_debtor", "name_amount", "virtual_account", ""}
    (waiting,) = wiring.reconcile_service().unmatched("acme")
    assert (waiting.amount, waiting.reason) == (4321, "no_candidate")  # nobody owes ¥4,321


@pytest.mark.usefixtures("aws")
def test_the_same_file_delivered_twice_or_uploaded_again_applies_once(lambda_context: Any) -> None:
    book()
    event = put_and_event("incoming/acme/payments/zengin.txt", zengin_file())
    reconcile(event, lambda_context)
    (again,) = reconcile(event, lambda_context)["runs"]  # S3 delivered the event twice
    assert again["state"] == "skipped_duplicate"
    copy = put_and_event("incoming/acme/payments/zengin-copy.dat", zengin_file())  # a re-upload
    (rerun,) = reconcile(copy, lambda_context)["runs"]
    assert rerun["outcomes"] == {"duplicate": 4}
    assert receivable("R2").balance == 3000 and receivable("R3").balance == 0


@pytest.mark.usefixtures("aws")
def test_a_trailer_that_does_not_add_up_rejects_the_whole_file(lambda_context: Any) -> None:
    book()
    data = bytearray(zengin_file())
    trailer = 4 * 202  # header + 3 data records, each with CR LF
    data[trailer + 7 : trailer + 19] = b"000000099999"
    (run,) = reconcile(put_and_event("incoming/acme/payments/bad.txt", bytes(data)), lambda_context)["runs"]
    assert run["state"] == "failed" and run["error_code"] == "trailer_mismatch"
    assert "trailer" in run["error_message"] and "¥99,999" in run["error_message"]
    assert receivable("R3").balance == 7000  # nothing applied


@pytest.mark.usefixtures("aws")
def test_a_csv_with_bad_rows_applies_the_good_ones_and_reports_each_bad_one(lambda_context: Any) -> None:
    book()
    body = (
        "入金ID,入金日,入金額,振込依頼人名,口座番号,参照番号,債権番号\r\n"
        "P1,令和8年11月13日,７，０００,ｽｽﾞｷ ﾊﾅｺ,,,\r\n"
        "P2,2026-13-01,5000,,,,R2\r\n"
        "P3,2026-11-13,-5,,,,R2\r\n"
        "P4,2026-11-13,5000,,,INV R2,R2\r\n"
    ).encode("cp932")
    (run,) = reconcile(put_and_event("incoming/acme/payments/入金.csv", body), lambda_context)["runs"]
    assert (run["rows"], run["accepted"], run["rejected"]) == (4, 2, 2)
    assert run["error_counts"] == {"invalid_date": 1, "invalid_amount": 1}
    errors = read_report("reports/acme/payments/入金.csv.errors.csv").splitlines()
    assert errors[1].startswith("2,3,paid_at,invalid_date") and errors[2].startswith("3,4,amount,invalid_amount")
    assert receivable("R3").status == "paid" and receivable("R2").status == "paid"


@pytest.mark.usefixtures("aws")
def test_the_eventbridge_shape_of_the_s3_event_works_too(lambda_context: Any) -> None:
    book()
    put_and_event("incoming/acme/payments/eb.txt", zengin_file())
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": "b"}, "object": {"key": "incoming/acme/payments/eb.txt", "etag": "x"}},
    }
    (run,) = reconcile(event, lambda_context)["runs"]
    assert run["state"] == "completed" and run["outcomes"]["applied"] == 2


# --- the API ------------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_api_payments_are_idempotent_on_their_id() -> None:
    book()
    body = {
        "payments": [
            {"payment_id": "A-1", "paid_at": "2026-11-13T10:00:00+09:00", "amount": 7000, "receivable_id": "R3"}
        ]
    }
    status, first = call("POST", "/payments", body)
    assert status == 200 and first["results"][0]["state"] == "applied"
    assert first["results"][0]["method"] == "reference"
    status, retry = call("POST", "/payments", body)  # the client's retry after a timeout
    assert status == 200 and retry["results"][0]["state"] == "duplicate"
    assert receivable("R3").balance == 0


@pytest.mark.usefixtures("aws")
def test_api_batch_reports_each_bad_item_by_field() -> None:
    book()
    status, out = call(
        "POST",
        "/payments",
        {
            "payments": [
                {"payment_id": "B-1", "paid_at": "2026-11-13", "amount": "¥5,000", "reference": "R2"},
                {"payment_id": "B-2", "paid_at": "yesterday", "amount": 0},
                {"payment_id": "B-1", "paid_at": "2026-11-13", "amount": 1},
            ]
        },
    )
    assert status == 200 and (out["accepted"], out["rejected"]) == (1, 2)
    assert {(e["field"], e["code"]) for e in out["results"][1]["errors"]} == {
        ("paid_at", "invalid_date"),
        ("amount", "invalid_amount"),
    }
    assert out["results"][2]["errors"][0]["code"] == "duplicate_payment"
    assert receivable("R2").status == "paid"


@pytest.mark.usefixtures("aws")
def test_a_cancellation_sent_twice_reverses_once() -> None:
    book()
    call(
        "POST",
        "/payments",
        {"payments": [{"payment_id": "C-1", "paid_at": "2026-11-13", "amount": 12000, "virtual_account": "7654321"}]},
    )
    cancel = {"payments": [{"payment_id": "C-1-x", "paid_at": "2026-11-14", "amount": 12000, "cancels": "C-1"}]}
    _, first = call("POST", "/payments", cancel)
    _, again = call("POST", "/payments", cancel)
    _, other = call("POST", "/payments", {"payments": [{**cancel["payments"][0], "payment_id": "C-1-y"}]})
    assert [first["results"][0]["state"], again["results"][0]["state"], other["results"][0]["state"]] == [
        "reversed",
        "duplicate",
        "ignored",
    ]
    assert (receivable("R1").balance, receivable("R1").status) == (10000, "open")
    assert (receivable("R2").balance, receivable("R2").status) == (5000, "open")
    _, original = call("GET", "/payments/C-1")
    assert original["state"] == "reversed" and original["reversed_by"] == "C-1-x"


@pytest.mark.usefixtures("aws")
def test_unmatched_queue_and_manual_match() -> None:
    book()
    call(
        "POST",
        "/payments",
        {"payments": [{"payment_id": "U-1", "paid_at": "2026-11-13", "amount": 6000, "payer_name_kana": "ﾀﾞﾚｶ"}]},
    )
    status, queue = call("GET", "/payments/unmatched")
    assert status == 200 and [p["payment_id"] for p in queue] == ["U-1"]
    status, matched = call("POST", "/payments/U-1/match", {"receivable_id": "R2"})
    assert status == 200 and matched["method"] == "manual"
    assert [(a["receivable_id"], a["amount"]) for a in matched["allocations"]] == [("R2", 5000), ("R1", 1000)]
    assert call("GET", "/payments/unmatched")[1] == []
    status, again = call("POST", "/payments/U-1/match", {"receivable_id": "R2"})
    assert status == 409, again and again["error"]["code"] == "not_matchable"


@pytest.mark.usefixtures("aws")
def test_another_creditor_never_sees_or_matches_these_payments() -> None:
    book()
    call(
        "POST",
        "/payments",
        {"payments": [{"payment_id": "T-1", "paid_at": "2026-11-13", "amount": 1, "payer_name_kana": "ﾀﾞﾚｶ"}]},
    )
    assert call("GET", "/payments/T-1", creditor="globex")[0] == 404
    assert call("GET", "/payments/unmatched", creditor="globex")[1] == []
    assert call("POST", "/payments/T-1/match", {"receivable_id": "R1"}, creditor="globex")[0] == 404
    # globex reporting a payment with acme's receivable id touches nothing of acme's
    _, out = call(
        "POST",
        "/payments",
        {"payments": [{"payment_id": "T-2", "paid_at": "2026-11-13", "amount": 7000, "receivable_id": "R3"}]},
        creditor="globex",
    )
    assert out["results"][0]["state"] == "unmatched"
    assert receivable("R3").balance == 7000


# --- fault injection ----------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_a_receivable_changed_between_reading_and_booking_is_matched_again(monkeypatch: pytest.MonkeyPatch) -> None:
    book()
    service = wiring.reconcile_service()
    real_load = service.load
    interfered = []

    def load_then_someone_pays(creditor_id: str) -> Any:
        ledger = real_load(creditor_id)
        if not interfered:  # between our read and our write, another payment lands on R1
            interfered.append(True)
            wiring.receivable_service().apply_payment("acme", "R1", 4000)
        return ledger

    monkeypatch.setattr(service, "load", load_then_someone_pays)
    call(
        "POST",
        "/payments",
        {"payments": [{"payment_id": "F-1", "paid_at": "2026-11-13", "amount": 12000, "virtual_account": "7654321"}]},
    )
    # the stale read said R1 owed 10,000; after the retry the payment saw 6,000 and moved on to R2
    assert (receivable("R1").balance, receivable("R2").balance) == (0, 0)
    _, stored = call("GET", "/payments/F-1")
    assert [(a["receivable_id"], a["amount"]) for a in stored["allocations"]] == [("R1", 6000), ("R2", 5000)]
    assert stored["credit"] == 1000


@pytest.mark.parametrize("crash_after_writes", [0, 1, 2])
@pytest.mark.usefixtures("aws")
def test_a_crash_mid_booking_is_finished_by_the_retry_and_never_applied_twice(
    crash_after_writes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function dies after 0, 1 or 2 of the payment's receivable writes (the payment spans
    R1 and R2; after 2 it dies before marking the payment applied); the same payment comes
    again: it ends booked exactly once."""
    from saiken.adapters.payments import PaymentRepository
    from saiken.adapters.repository import ReceivableRepository

    book()
    real_save = ReceivableRepository.save
    writes = []

    def dying_save(self: Any, obj: Any) -> Any:
        if len(writes) >= crash_after_writes:
            raise RuntimeError("Lambda timed out")
        writes.append(obj.receivable_id)
        return real_save(self, obj)

    item = {"payment_id": "K-1", "paid_at": "2026-11-13", "amount": 12000, "virtual_account": "7654321"}

    def dying_mark(self: Any, record: Any) -> Any:
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(ReceivableRepository, "save", dying_save)
    monkeypatch.setattr(PaymentRepository, "save", dying_mark)
    with pytest.raises(RuntimeError):
        wiring.reconcile_service().receive_items("acme", [item])
    monkeypatch.undo()
    assert wiring.reconcile_service().payments.get("acme", "K-1").state == "booking"  # claimed, not finished
    ((outcome, _),) = wiring.reconcile_service().receive_items("acme", [item])  # the retry
    assert outcome is not None and outcome.state == "partial"
    assert (receivable("R1").balance, receivable("R2").balance) == (0, 3000)
    assert receivable("R1").payments == {"K-1": 10000} and receivable("R2").payments == {"K-1": 2000}
    ((again, _),) = wiring.reconcile_service().receive_items("acme", [item])
    assert again is not None and again.state == "duplicate"
    assert receivable("R2").balance == 3000


def test_a_payment_while_a_reminder_waits_in_the_queue_stops_it(world: Any) -> None:
    clock, router = world
    add("R9", date(2026, 12, 10))
    router.settle()
    clock.set(datetime(2026, 12, 5, 9, 0, tzinfo=JST))
    router.fire_due()  # the reminder is on the send queue ...
    _, out = call(
        "POST",
        "/payments",
        {"payments": [{"payment_id": "Q-1", "paid_at": "2026-12-05", "amount": 12000, "receivable_id": "R9"}]},
    )
    assert out["results"][0]["state"] == "applied"  # ... when the bank's payment is reconciled
    router.pump_queue()
    assert not sent("R9")
    router.settle()  # the stream tells the scheduler function: the pending schedule goes
    assert schedule_of("R9") is None


# --- the daily job ------------------------------------------------------------------------


@pytest.mark.usefixtures("aws")
def test_the_daily_job_writes_off_exports_and_warns_of_limitation(lambda_context: Any) -> None:
    import boto3

    from saiken.adapters.objects import default_rules, rules_key

    rules = default_rules().model_dump(mode="json") | {"writeoff": {"days_past_due": 30, "min_balance": 1000}}
    s3 = boto3.client("s3", region_name="ap-northeast-1")
    s3.put_object(Bucket=wiring.settings().bucket, Key=rules_key("acme"), Body=json.dumps(rules).encode())
    receivables(
        ("W1", "D1", "ヤマダ", 10000, "2026-10-01", None),  # 64 days past due: written off
        ("W2", "D2", "スズキ", 500, "2026-10-01", None),  # too small for the policy
        ("W3", "D3", "タナカ", 9000, "2026-11-20", None),  # not yet
        ("L1", "D4", "サトウ", 8000, "2021-12-20", None),  # limitation on 2026-12-20: in the report
    )
    wiring.set_clock(lambda: datetime(2026, 12, 4, 2, 0, tzinfo=JST))
    try:
        daily = load_module("reconcile").daily
        (first,) = daily({}, lambda_context)["creditors"]
        (second,) = daily({}, lambda_context)["creditors"]
    finally:
        wiring.set_clock(None)
    assert first["written_off"] == 2 and first["written_off_amount"] == 18000  # W1 and the old L1
    assert second["written_off"] == 2  # the same day again: the same export, nothing new
    assert receivable("W1").status == "written_off" and receivable("W2").status == "open"
    export = read_report("reports/acme/writeoffs-20261204.csv").splitlines()
    assert export[0].startswith("receivable_id,debtor_id,amount,balance,due_date,days_past_due")
    assert sorted(line.split(",")[0] for line in export[1:]) == ["L1", "W1"]
    limitation = read_report("reports/acme/limitation-20261204.csv").splitlines()
    assert [line.split(",")[0] for line in limitation[1:]] == ["L1"]
    assert limitation[1].endswith("2026-12-20,16")
