"""What the functions print (their CloudWatch logs) never holds a debtor's name, phone or email."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from saiken.local.handlers import handler
from tests.helpers import csv_bytes, put_and_event
from tests.integration.test_api import call
from tests.integration.test_dunning import add, run_until

pytestmark = pytest.mark.usefixtures("aws")

PII = ["山田 花子", "ヤマダ", "ﾔﾏﾀﾞ", "ハナコ", "+819098765432", "090-9876-5432", "hanako@example.jp", "鈴木 次郎"]


def test_ingest_and_api_logs_carry_no_pii(
    lambda_context: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from saiken.observability import logger

    level = logger.log_level
    logger.setLevel("DEBUG")  # everything the functions could say
    try:
        with caplog.at_level(logging.DEBUG):
            _exercise(lambda_context)
    finally:
        logger.setLevel(level)

    printed = capsys.readouterr()  # EMF metrics are printed
    records = [json.dumps(r.__dict__, default=str, ensure_ascii=False) for r in caplog.records]  # message + extras
    logs = "\n".join([printed.out, printed.err, *records])
    assert any(r.getMessage() == "ingestion run" for r in caplog.records)  # the handlers did log
    assert any(r.getMessage() == "payments file" for r in caplog.records)
    for value in PII:
        assert value not in logs, value


def _exercise(lambda_context: Any) -> None:
    rows = ["D1,山田 花子,090-9876-5432,hanako@example.jp,R1,100,2026-12-10", "D2,鈴木 次郎,,,R2,abc,2026-12-10"]
    handler("ingest")(put_and_event("incoming/acme/receivables/pii.csv", csv_bytes(*rows)), lambda_context)
    call("GET", "/receivables/R1", context=lambda_context)
    item = {
        "debtor_id": "D3",
        "debtor_name": "山田 花子",
        "phone": "090-9876-5432",
        "receivable_id": "R3",
        "amount": "x",
        "due_date": "2026-12-10",
    }
    call("POST", "/receivables", item, context=lambda_context)
    # payments: a bank file and an API payment carrying the payer's kana name
    from datetime import date

    from saiken.payments.zengin import Transfer, transfer_notice

    bank = transfer_notice(
        [Transfer(date(2026, 12, 4), 100, "ﾔﾏﾀﾞ ﾊﾅｺ"), Transfer(date(2026, 12, 4), 7, "ﾔﾏﾀﾞ")], created=date(2026, 12, 4)
    )
    handler("reconcile")(put_and_event("incoming/acme/payments/pii.txt", bank), lambda_context)
    payment = {"payment_id": "P1", "paid_at": "2026-12-04", "amount": 5, "payer_name_kana": "ヤマダ ハナコ"}
    call("POST", "/payments", {"payments": [payment]}, context=lambda_context)


def test_dunning_logs_carry_no_pii(
    world: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import date, datetime

    from saiken.domain.planner import JST
    from saiken.observability import logger

    clock, router = world
    add("R1", date(2026, 12, 6), debtor="D1", debtor_name="山田 花子", phone="090-9876-5432", email="hanako@example.jp")
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        with caplog.at_level(logging.DEBUG):
            run_until(clock, router, datetime(2026, 12, 7, 19, 0, tzinfo=JST))  # email, SMS and a call
            _answers()  # the debtor replies 停止 by SMS and keys a promise into the call
    finally:
        logger.setLevel(level)
    printed = capsys.readouterr()
    records = [json.dumps(r.__dict__, default=str, ensure_ascii=False) for r in caplog.records]
    logs = "\n".join([printed.out, printed.err, *records])
    assert any(r.getMessage() == "send batch" for r in caplog.records)
    assert any(r.getMessage() == "channel events" for r in caplog.records)
    from saiken.local.inspect import all_contacts

    assert {c.channel for c in all_contacts() if c.outcome == "sent"} == {"email", "sms", "ivr"}
    for value in PII:
        assert value not in logs, value


def _answers() -> None:
    from saiken.domain.delivery import make_ref
    from saiken.local.handlers import LocalContext, invoke

    stop = {"originationNumber": "+819098765432", "messageKeyword": "停止", "messageBody": "停止 山田 花子"}
    sns = {"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "n1", "Message": json.dumps(stop)}}]}
    invoke("events", sns, LocalContext("events"))
    attributes = {"saiken_ref": make_ref("acme", "R1"), "name": "山田 花子"}
    call = {
        "Details": {
            "ContactData": {"ContactId": "c1", "Attributes": attributes},
            "Parameters": {"result": "answered", "dtmf": "1", "promised_date": "1215"},
        }
    }
    assert invoke("events", call, LocalContext("events"))["outcome"] == "promise_recorded"
