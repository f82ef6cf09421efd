"""API routes of the dunning issue: a receivable's plan, a debtor's contact preferences."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3
import pytest

from saiken import wiring
from saiken.domain.planner import JST
from tests.integration.test_api import call

pytestmark = pytest.mark.usefixtures("aws")

ITEM = {
    "debtor_id": "C1",
    "debtor_name": "山田 太郎",
    "phone": "090-1234-5678",
    "receivable_id": "INV-1",
    "amount": 12000,
    "due_date": "2026-12-10",
    "segment": "B",
}


@pytest.fixture(autouse=True)
def frozen_now() -> Any:
    wiring.set_clock(lambda: datetime(2026, 12, 4, 10, 0, tzinfo=JST))
    yield
    wiring.set_clock(None)


def test_plan_shows_the_calendar_with_each_reason(lambda_context: Any) -> None:
    call("POST", "/receivables", ITEM, context=lambda_context)
    status, plan = call("GET", "/receivables/INV-1/plan", context=lambda_context)
    assert status == 200, plan
    assert (plan["segment"], plan["status"], plan["due_date"]) == ("B", "open", "2026-12-10")
    first = plan["steps"][0]
    assert first["state"] == "skipped" and first["reason"] == "no_email"  # no address: every email is dropped
    sms = [s for s in plan["steps"] if s["channel"] == "sms"]
    assert [s["offset"] for s in sms] == [1, 4, 7, 10, 13, 16, 19, 22, 25, 28]
    assert sms[0] == {
        "at": "2026-12-11T12:00:00+09:00",
        "planned_for": "2026-12-11T12:00:00+09:00",
        "channel": "sms",
        "offset": 1,
        "step": 1,
        "template": "sms_reminder",
        "state": "planned",
        "reason": None,
    }
    closure = [s for s in plan["steps"] if s["reason"] == "year_end_closure"]
    assert closure and all(s["at"][:10] >= "2026-12-29" for s in closure)


def test_plan_follows_the_creditors_own_rules(lambda_context: Any) -> None:
    rules = {
        "version": 7,
        "default_segment": "soft",
        "segments": [{"name": "soft", "cadences": [{"channel": "ivr", "start": 2, "every": 5, "until": 12}]}],
    }
    boto3.client("s3", region_name="ap-northeast-1").put_object(
        Bucket=wiring.settings().bucket, Key="config/acme/rules.yaml", Body=json.dumps(rules).encode()
    )
    call("POST", "/receivables", {**ITEM, "segment": None}, context=lambda_context)
    status, plan = call("GET", "/receivables/INV-1/plan", context=lambda_context)
    assert status == 200 and plan["segment"] == "soft"
    assert [(s["channel"], s["offset"]) for s in plan["steps"]] == [("ivr", 2), ("ivr", 7), ("ivr", 12)]


def test_contact_preferences_are_stored_and_validated(lambda_context: Any) -> None:
    call("POST", "/receivables", ITEM, context=lambda_context)
    status, debtor = call(
        "PUT",
        "/debtors/C1/contact-preferences",
        {"lawyer_retained": True, "opt_outs": ["sms", "sms"]},
        context=lambda_context,
    )
    assert status == 200, debtor
    assert (debtor["lawyer_retained"], debtor["opt_outs"], debtor["do_not_contact"]) == (True, ["sms"], False)
    _, plan = call("GET", "/receivables/INV-1/plan", context=lambda_context)
    assert {s["reason"] for s in plan["steps"]} == {"lawyer_retained"}  # a hard stop: nothing planned

    status, body = call("PUT", "/debtors/C1/contact-preferences", {"opt_outs": ["fax"]}, context=lambda_context)
    assert status == 422 and "opt_outs" in json.dumps(body)


def test_another_creditor_sees_neither_the_plan_nor_the_debtor(lambda_context: Any) -> None:
    call("POST", "/receivables", ITEM, context=lambda_context)
    assert call("GET", "/receivables/INV-1/plan", creditor="globex", context=lambda_context)[0] == 404
    status, _ = call(
        "PUT", "/debtors/C1/contact-preferences", {"do_not_contact": True}, creditor="globex", context=lambda_context
    )
    assert status == 404
    _, debtor = call("GET", "/debtors/C1", context=lambda_context)
    assert debtor["do_not_contact"] is False


def test_contact_history_of_a_receivable(lambda_context: Any) -> None:
    from saiken.adapters.contacts import ContactRepository
    from saiken.domain.models import Contact

    call("POST", "/receivables", ITEM, context=lambda_context)
    at = datetime(2026, 12, 11, 12, 0, tzinfo=JST)
    common = {"creditor_id": "acme", "debtor_id": "C1", "receivable_id": "INV-1", "slot": at, "at": at}
    ContactRepository().record(
        Contact(**common, reminder_id="rm-2", channel="email", outcome="suppressed", reason="no_email")
    )
    ContactRepository().record(
        Contact(**common, reminder_id="rm-1", channel="sms", outcome="sent", to="+819012345678", provider_id="m-1")
    )
    status, history = call("GET", "/receivables/INV-1/contacts", context=lambda_context)
    assert status == 200, history
    assert [(c["channel"], c["outcome"], c["reason"]) for c in history] == [
        ("email", "suppressed", "no_email"),
        ("sms", "sent", None),
    ]
    assert history[1]["slot"].startswith("2026-12-11T12:00:00")
    assert call("GET", "/receivables/INV-1/contacts", creditor="globex", context=lambda_context)[0] == 404
