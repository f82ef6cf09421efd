"""応対管理 end to end on moto: the case routes, channel feedback through the events function,
promises kept / broken by the daily job, disputes and holds, the worklist, and tenancy."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from saiken import wiring
from saiken.adapters.objects import rules_key
from saiken.adapters.repository import DebtorRepository, ReceivableRepository
from saiken.domain.delivery import make_ref
from saiken.local.dunning import DunningRouter, VirtualClock
from saiken.local.handlers import LocalContext, invoke
from tests.integration.test_api import call

ITEM = {
    "debtor_id": "D1",
    "debtor_name": "山田 太郎",
    "phone": "090-1234-5678",
    "email": "yamada@example.jp",
    "receivable_id": "INV-1",
    "amount": 12000,
    "due_date": "2026-12-01",
    "segment": "B",
}
OPERATOR = {"by": "tanaka"}


@pytest.fixture
def case(world: tuple[VirtualClock, DunningRouter], lambda_context: Any) -> tuple[VirtualClock, DunningRouter]:
    status, body = call("POST", "/receivables", ITEM, context=lambda_context)
    assert status == 201, body
    world[1].settle()
    return world


def _timeline(lambda_context: Any, rid: str = "INV-1") -> list[dict[str, Any]]:
    status, body = call("GET", f"/receivables/{rid}/timeline", context=lambda_context)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def _daily() -> dict[str, Any]:
    """The 02:00 job, for every creditor with a config folder."""
    from importlib.resources import files

    s3 = boto3.client("s3", region_name="ap-northeast-1")
    rules = (files("saiken") / "rules" / "default.yaml").read_text(encoding="utf-8")
    s3.put_object(Bucket=wiring.settings().bucket, Key=rules_key("acme"), Body=rules.encode())
    return invoke("reconcile", {}, LocalContext("daily"), entry="daily")  # type: ignore[no-any-return]


def _sent(lambda_context: Any) -> list[dict[str, Any]]:
    """Reminders a provider accepted, from the contact history (email goes to moto's SES)."""
    return [e for e in _timeline(lambda_context) if e["kind"] == "sent"]


ROUTES = [
    ("GET", "/receivables/INV-1/timeline", None),
    ("GET", "/debtors/D1/timeline", None),
    ("POST", "/receivables/INV-1/notes", {"text": "電話: 不在"}),
    ("POST", "/receivables/INV-1/promise", {"promised_date": "2026-12-10"}),
    ("POST", "/receivables/INV-1/dispute", {"reason": "amount_disputed"}),
    ("POST", "/receivables/INV-1/hold", {"reason": "payment_plan"}),
    ("POST", "/receivables/INV-1/release", {}),
    ("POST", "/debtors/D1/hold", {"reason": "bankruptcy"}),
    ("POST", "/debtors/D1/release", {}),
    ("GET", "/receivables/INV-1/stage", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_another_creditor_gets_404_on_every_case_route(
    case: Any, lambda_context: Any, method: str, path: str, body: Any
) -> None:
    status, answer = call(method, path, body, creditor="globex", context=lambda_context)
    assert status == 404, answer
    after = ReceivableRepository().get("acme", "INV-1")
    assert after is not None and after.status.value == "open"  # nothing changed for acme
    status, worklist = call("GET", "/worklist", creditor="globex", context=lambda_context)
    assert status == 200 and worklist == []


def test_a_promise_pauses_reminders_and_a_broken_one_resumes_dunning_once(
    case: tuple[VirtualClock, DunningRouter], lambda_context: Any, tmp_path: Any
) -> None:
    clock, router = case
    status, body = call(
        "POST", "/receivables/INV-1/promise", {**OPERATOR, "promised_date": "2026-12-10"}, context=lambda_context
    )
    assert status == 200 and body["status"] == "promised" and body["promised_amount"] == 12000
    router.settle()
    before = len(_sent(lambda_context))
    for _ in range(6):  # 12/5 .. 12/10: nothing goes out while the promise runs
        clock.advance(timedelta(days=1))
        router.settle()
    assert len(_sent(lambda_context)) == before
    clock.set(clock().replace(day=11, hour=2))
    _daily()
    _daily()  # the job runs twice (a retry): the promise is broken once
    after = ReceivableRepository().get("acme", "INV-1")
    assert after is not None and after.status.value == "open" and after.promises_broken == 1
    assert after.attention == "promise_broken"
    kinds = [e["kind"] for e in _timeline(lambda_context)]
    assert kinds.count("promise_made") == 1 and kinds.count("promise_broken") == 1
    router.settle()
    assert router.due_schedules(wiring.settings().schedule_group)  # dunning resumed: a reminder is scheduled
    clock.advance(timedelta(hours=10))
    router.settle()
    assert len(_sent(lambda_context)) > before
    status, worklist = call("GET", "/worklist", context=lambda_context)
    assert [w["receivable"]["receivable_id"] for w in worklist] == ["INV-1"]


def test_a_promise_out_of_range_is_refused_with_its_reason(case: Any, lambda_context: Any) -> None:
    status, body = call("POST", "/receivables/INV-1/promise", {"promised_date": "2026-11-01"}, context=lambda_context)
    assert status == 409 and body["error"]["code"] == "promise_in_past"
    status, body = call(
        "POST", "/receivables/INV-1/promise", {"promised_date": "2026-12-20", "amount": 99999}, context=lambda_context
    )
    assert status == 409 and body["error"]["code"] == "promise_amount"
    status, body = call("POST", "/receivables/INV-1/promise", {"promised_date": "12/20"}, context=lambda_context)
    assert status == 422 and body["error"]["errors"][0]["field"] == "promised_date"


def test_a_dispute_stops_dunning_at_once_and_its_expiry_resumes_it(
    case: tuple[VirtualClock, DunningRouter], lambda_context: Any
) -> None:
    clock, router = case
    s = wiring.settings()
    assert router.due_schedules(s.schedule_group) and router.due_schedules(s.escalation_group)
    status, body = call(
        "POST",
        "/receivables/INV-1/dispute",
        {"by": "sato", "reason": "amount_disputed", "until": "2026-12-08", "note": "請求額に異議"},
        context=lambda_context,
    )
    assert status == 200 and body["status"] == "disputed" and body["hold_until"] == "2026-12-08"
    assert not router.due_schedules(s.schedule_group) and not router.due_schedules(s.escalation_group)
    (event,) = [e for e in _timeline(lambda_context) if e["kind"] == "disputed"]
    assert (event["actor"], event["reason"], event["note"]) == ("operator:sato", "amount_disputed", "請求額に異議")
    clock.set(clock().replace(day=9, hour=2))
    result = _daily()
    assert result["creditors"][0]["follow_up"]["holds_expired"] == 1
    router.settle()
    after = ReceivableRepository().get("acme", "INV-1")
    assert after is not None and after.status.value == "open" and after.hold_until is None
    assert router.due_schedules(s.schedule_group) and router.due_schedules(s.escalation_group)
    assert [e["reason"] for e in _timeline(lambda_context) if e["kind"] == "released"] == ["hold_expired"]


def test_a_debtor_level_hold_holds_each_open_receivable_and_release_undoes_it(case: Any, lambda_context: Any) -> None:
    call("POST", "/receivables", {**ITEM, "receivable_id": "INV-2", "amount": 3000}, context=lambda_context)
    status, body = call("POST", "/debtors/D1/hold", {"reason": "bankruptcy"}, context=lambda_context)
    assert status == 200 and sorted(r["receivable_id"] for r in body) == ["INV-1", "INV-2"]
    assert {r["status"] for r in body} == {"on_hold"}
    status, body = call("POST", "/debtors/D1/release", OPERATOR, context=lambda_context)
    assert status == 200 and {r["status"] for r in body} == {"open"}
    status, body = call("POST", "/receivables/INV-1/release", OPERATOR, context=lambda_context)
    assert status == 409 and body["error"]["code"] == "not_held"


def _ses(kind: str, detail: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "source": "aws.ses",
        "detail-type": f"Email {kind}",
        "time": "2026-12-04T01:00:00Z",
        "detail": {
            "eventType": {"Bounced": "Bounce", "Delivered": "Delivery", "Complaint": "Complaint"}[kind],
            "mail": {"messageId": "m-1", "tags": {"saiken_ref": [make_ref("acme", "INV-1")], "reminder_id": ["rm-1"]}},
            **detail,
        },
    }


def test_a_hard_bounce_stops_email_for_the_debtor_once_however_often_it_arrives(
    case: tuple[VirtualClock, DunningRouter], lambda_context: Any
) -> None:
    event = _ses("Bounced", {"bounce": {"bounceType": "Permanent", "bounceSubType": "General"}}, "ev-1")
    assert invoke("events", event, lambda_context) == {"outcome": "recorded"}
    assert invoke("events", event, lambda_context) == {"outcome": "duplicate"}
    debtor = DebtorRepository().get("acme", "D1")
    assert debtor is not None and debtor.bounced == ["email"] and debtor.opt_outs == []
    bounces = [e for e in _timeline(lambda_context) if e["kind"] == "bounced"]
    assert len(bounces) == 1 and bounces[0]["channel"] == "email" and bounces[0]["actor"] == "provider"
    status, plan = call("GET", "/receivables/INV-1/plan", context=lambda_context)
    assert status == 200
    assert {s["reason"] for s in plan["steps"] if s["channel"] == "email"} == {"bounced"}
    assert any(s["state"] == "planned" for s in plan["steps"] if s["channel"] == "sms")  # SMS goes on


def test_sms_receipts_and_a_stop_reply(case: Any, lambda_context: Any) -> None:
    receipt = {
        "eventType": "TEXT_DELIVERED",
        "messageId": "sms-1",
        "eventTimestamp": 1733274000000,
        "context": {"saiken_ref": make_ref("acme", "INV-1"), "reminder_id": "rm-2"},
    }
    stop = {"originationNumber": "+819012345678", "destinationNumber": "+8150000", "messageKeyword": "停止"}
    for message in (receipt, stop):
        event = {"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "n-1", "Message": json.dumps(message)}}]}
        invoke("events", event, lambda_context)
    debtor = DebtorRepository().get("acme", "D1")
    assert debtor is not None and debtor.opt_outs == ["sms"]
    status, history = call("GET", "/debtors/D1/timeline", context=lambda_context)
    assert status == 200
    assert {e["kind"] for e in history} >= {"delivered", "opted_out"}


def _ivr(dtmf: str, promised: str | None = None, result: str = "answered") -> dict[str, Any]:
    return {
        "Name": "ContactFlowEvent",
        "Details": {
            "ContactData": {"ContactId": f"c-{dtmf}", "Attributes": {"saiken_ref": make_ref("acme", "INV-1")}},
            "Parameters": {"result": result, "dtmf": dtmf, **({"promised_date": promised} if promised else {})},
        },
    }


def test_ivr_keypad_answers_become_a_promise_or_an_operator_call(case: Any, lambda_context: Any) -> None:
    assert invoke("events", _ivr("1", "1399"), lambda_context) == {"outcome": "invalid_date"}
    answer = invoke("events", _ivr("1", "1210"), lambda_context)
    assert answer == {"outcome": "promise_recorded", "promised_date": "20261210"}
    r = ReceivableRepository().get("acme", "INV-1")
    assert r is not None and r.status.value == "promised" and str(r.promised_until) == "2026-12-10"
    assert invoke("events", _ivr("2"), lambda_context) == {"outcome": "operator"}
    status, worklist = call("GET", "/worklist", context=lambda_context)
    assert [w["receivable"]["attention"] for w in worklist] == ["operator_requested"]
    status, note = call(
        "POST",
        "/receivables/INV-1/notes",
        {"by": "tanaka", "text": "折返し済み", "outcome": "contacted"},
        context=lambda_context,
    )
    assert status == 200 and note["note"] == "折返し済み" and note["actor"] == "operator:tanaka"
    status, worklist = call("GET", "/worklist", context=lambda_context)
    assert worklist == []
    kinds = [e["kind"] for e in _timeline(lambda_context)]
    assert kinds.count("promise_made") == 1 and "operator_requested" in kinds and "note" in kinds


def test_the_worklist_is_ordered_by_balance_times_days_past_due(case: Any, lambda_context: Any) -> None:
    rows = [("W-small", 1000, "2026-11-01"), ("W-big", 90000, "2026-11-20"), ("W-old", 20000, "2026-09-01")]
    for rid, amount, due in rows:
        call(
            "POST",
            "/receivables",
            {**ITEM, "receivable_id": rid, "amount": amount, "due_date": due},
            context=lambda_context,
        )
        invoke(
            "events",
            {
                **_ivr("2"),
                "Details": {
                    **_ivr("2")["Details"],
                    "ContactData": {"ContactId": rid, "Attributes": {"saiken_ref": make_ref("acme", rid)}},
                },
            },
            lambda_context,
        )
    status, worklist = call("GET", "/worklist", context=lambda_context)
    assert status == 200
    order = [w["receivable"]["receivable_id"] for w in worklist]
    assert order == ["W-old", "W-big", "W-small"]  # 20000x94 > 90000x14 > 1000x33
    assert worklist[0]["days_past_due"] == 94


def test_the_audit_trail_names_the_api_key_that_made_the_change(case: Any, lambda_context: Any) -> None:
    from tests.conftest import load_event

    event = load_event("apigw_rest_proxy.json")
    event.update(httpMethod="POST", path="/receivables/INV-1/hold", body=json.dumps({"by": "sato", "reason": "x"}))
    event["requestContext"]["authorizer"] = {"creditor_id": "acme", "key_id": "0123456789ab"}
    response = invoke("api", event, lambda_context)
    assert response["statusCode"] == 200
    (held,) = [e for e in _timeline(lambda_context) if e["kind"] == "held"]
    assert held["actor"] == "operator:sato (key 0123456789ab)"


def test_a_status_set_directly_is_audited_and_a_hold_stops_the_schedules(
    case: tuple[VirtualClock, DunningRouter], lambda_context: Any
) -> None:
    _, router = case
    s = wiring.settings()
    status, body = call(
        "PUT", "/receivables/INV-1/status", {"status": "on_hold", "reason": "本人確認中"}, context=lambda_context
    )
    assert status == 200 and body["status"] == "on_hold"
    assert not router.due_schedules(s.schedule_group) and not router.due_schedules(s.escalation_group)
    call("PUT", "/receivables/INV-1/status", {"status": "open"}, context=lambda_context)
    changes = [
        (e["kind"], e["detail"].get("status_to")) for e in _timeline(lambda_context) if "status_to" in e["detail"]
    ]
    assert changes == [("held", "on_hold"), ("released", "open")]


def test_a_crash_after_the_timeline_entry_is_healed_by_the_redelivery(
    case: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SNS / EventBridge deliver at least once: the first attempt dies after recording the bounce but
    before stopping the channel; the retry stops it, and the timeline still has one entry."""
    event = _ses("Bounced", {"bounce": {"bounceType": "Permanent"}}, "ev-crash")
    real_save = DebtorRepository.save
    calls = {"n": 0}

    def dies_once(self: DebtorRepository, debtor: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("the function was killed here")
        return real_save(self, debtor)

    monkeypatch.setattr(DebtorRepository, "save", dies_once)
    with pytest.raises(ConnectionError):
        invoke("events", event, lambda_context)
    debtor = DebtorRepository().get("acme", "D1")
    assert debtor is not None and debtor.bounced == []
    invoke("events", event, lambda_context)  # the retry
    debtor = DebtorRepository().get("acme", "D1")
    assert debtor is not None and debtor.bounced == ["email"]
    assert [e["kind"] for e in _timeline(lambda_context)].count("bounced") == 1


def test_a_stage_boundary_runs_the_state_machine_and_the_cadence_changes(
    world: tuple[VirtualClock, DunningRouter], lambda_context: Any
) -> None:
    """Scheduler -> state machine (moto's ASL interpreter) -> stream -> scheduler: the stage's segment
    takes over the reminders, the timeline says so, ReceivableEscalated reached the bus."""
    clock, router = world
    late = {**ITEM, "receivable_id": "OLD-1", "due_date": "2026-11-01"}  # 33 days past due: 'hard' is due now
    assert call("POST", "/receivables", late, context=lambda_context)[0] == 201
    router.settle()
    (boundary,) = router.due_schedules(wiring.settings().escalation_group)
    assert boundary[0] == clock() + timedelta(minutes=1)
    clock.advance(timedelta(minutes=2))
    router.settle()
    assert router.escalation.started == 1 and not router.escalation.failed
    status, stage = call("GET", "/receivables/OLD-1/stage", context=lambda_context)
    assert status == 200 and (stage["stage"], stage["segment"]) == ("hard", "hard")
    assert stage["next"]["stage"] == "final" and stage["next"]["at"].startswith("2026-12-31T10:00")
    status, plan = call("GET", "/receivables/OLD-1/plan", context=lambda_context)
    assert plan["segment"] == "hard" and all(s["offset"] >= 31 for s in plan["steps"])
    (escalated,) = [e for e in _timeline(lambda_context, "OLD-1") if e["kind"] == "escalated"]
    assert escalated["reason"] == "hard" and escalated["actor"] == "system"
    (announced,) = router.escalation.escalated()
    assert (announced["receivable_id"], announced["stage"]) == ("OLD-1", "hard")


def test_a_broken_promise_escalates_at_once_when_the_rules_say_so(
    world: tuple[VirtualClock, DunningRouter], lambda_context: Any
) -> None:
    clock, router = world
    from importlib.resources import files

    import yaml

    rules = yaml.safe_load((files("saiken") / "rules" / "default.yaml").read_text(encoding="utf-8"))
    rules["escalation"]["on_broken_promise"] = "escalate"
    boto3.client("s3", region_name="ap-northeast-1").put_object(
        Bucket=wiring.settings().bucket, Key=rules_key("acme"), Body=json.dumps(rules).encode()
    )
    wiring.reset()
    wiring.set_clock(clock)
    call("POST", "/receivables", ITEM, context=lambda_context)
    call("POST", "/receivables/INV-1/promise", {"promised_date": "2026-12-05"}, context=lambda_context)
    router.settle()
    assert not router.due_schedules(wiring.settings().escalation_group)  # no escalation while promised
    clock.set(clock().replace(day=7, hour=2))
    invoke("reconcile", {}, LocalContext("daily"), entry="daily")  # broken
    router.settle()
    (boundary,) = router.due_schedules(wiring.settings().escalation_group)
    assert boundary[0] == clock() + timedelta(minutes=1)  # the next stage at once, not at +30
    clock.advance(timedelta(minutes=2))
    router.settle()
    r = ReceivableRepository().get("acme", "INV-1")
    assert r is not None and r.stage == "hard" and r.promises_broken == 1


def test_two_notes_at_the_same_moment_are_two_entries_and_a_retried_one_is_one(case: Any, lambda_context: Any) -> None:
    for text in ("不在", "再架電予定", "再架電予定"):  # the last one: the same request retried
        assert call("POST", "/receivables/INV-1/notes", {"text": text}, context=lambda_context)[0] == 200
    notes = [e["note"] for e in _timeline(lambda_context) if e["kind"] == "note"]
    assert sorted(notes) == sorted(["不在", "再架電予定"])  # same moment: no order between them


def test_bad_case_requests_name_the_field_and_change_nothing(case: Any, lambda_context: Any) -> None:
    bad = [
        ("/receivables/INV-1/hold", {"reason": "not a code!"}, "reason"),
        ("/receivables/INV-1/dispute", {"reason": "x", "until": "来週"}, "until"),
        ("/receivables/INV-1/notes", {"text": "x", "outcome": "maybe"}, "outcome"),
        ("/receivables/INV-1/notes", {"text": ""}, "text"),
        ("/receivables/INV-1/promise", {"promised_date": "2026-12-10", "amount": -5}, "amount"),
        ("/receivables/INV-1/promise", {"promised_date": "2026-12-10", "who": "x"}, "who"),
    ]
    for path, body, field in bad:
        status, answer = call("POST", path, body, context=lambda_context)
        assert status == 422, (path, answer)
        assert field in {e["field"] for e in answer["error"]["errors"]}, (path, answer)
    r = ReceivableRepository().get("acme", "INV-1")
    assert r is not None and r.status.value == "open" and r.version == 1
    assert [e for e in _timeline(lambda_context) if e["kind"] not in ("sent", "suppressed", "failed")] == []


def test_an_event_that_is_not_a_channel_event_or_not_ours_is_ignored(case: Any, lambda_context: Any) -> None:
    assert invoke("events", {"hello": "world"}, lambda_context) == {"outcome": "ignored"}
    stray = _ses("Delivered", {}, "ev-stray")
    stray["detail"]["mail"]["tags"] = {}  # another system's email through the same configuration set
    assert invoke("events", stray, lambda_context) == {"outcome": "recorded"}
    unknown_number = {"originationNumber": "+819000000000", "messageKeyword": "STOP"}
    sns = {"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "n9", "Message": json.dumps(unknown_number)}}]}
    invoke("events", sns, lambda_context)
    debtor = DebtorRepository().get("acme", "D1")
    assert debtor is not None and debtor.opt_outs == [] and debtor.bounced == []
    assert [e for e in _timeline(lambda_context) if e["kind"] not in ("sent", "suppressed", "failed")] == []
