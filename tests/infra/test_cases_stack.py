"""Escalation: the state machine the CDK stack deploys, run by moto's ASL interpreter.

The definition is taken from the synthesized template (CloudFormation tokens resolved to the
local table and queue), so what runs here is what the stack ships; the local stack runs the same
file (asserted below). The machine must agree with the pure ``cases.escalate``."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import boto3
import pytest

from saiken import wiring
from saiken.adapters.objects import default_rules
from saiken.adapters.repository import ReceivableRepository
from saiken.domain import cases
from saiken.domain.models import Receivable
from saiken.domain.planner import JST
from saiken.domain.status import ReceivableStatus
from saiken.local.escalation import definition
from tests.infra.test_dunning_stack import policy_of, resources

pytestmark = pytest.mark.infra
REGION = "ap-northeast-1"
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=JST)
S = ReceivableStatus


def _state_machine(template_json: dict[str, Any]) -> dict[str, Any]:
    (machine,) = resources(template_json, "AWS::StepFunctions::StateMachine").values()
    return machine  # type: ignore[no-any-return]


def _resolve(node: Any, refs: dict[str, str], template_json: dict[str, Any]) -> str:
    if isinstance(node, str):
        return node
    if "Fn::Join" in node:
        sep, parts = node["Fn::Join"]
        return str(sep).join(_resolve(p, refs, template_json) for p in parts)
    if "Ref" in node:
        kind = template_json["Resources"][node["Ref"]]["Type"]
        return refs[kind]
    raise AssertionError(f"unexpected token in the definition: {node}")


@pytest.fixture
def machine(aws: None, template_json: dict[str, Any]) -> dict[str, Any]:
    """The template's state machine created in moto, with a queue catching its events."""
    sqs = boto3.client("sqs", region_name=REGION)
    handoff = sqs.create_queue(QueueName="handoff")["QueueUrl"]
    caught = sqs.create_queue(QueueName="caught")["QueueUrl"]
    caught_arn = sqs.get_queue_attributes(QueueUrl=caught, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="caught", EventPattern=json.dumps({"detail-type": ["ReceivableEscalated"]}))
    events.put_targets(Rule="caught", Targets=[{"Id": "1", "Arn": caught_arn}])
    refs = {"AWS::DynamoDB::Table": wiring.settings().receivables_table, "AWS::SQS::Queue": handoff}
    props = _state_machine(template_json)["Properties"]
    text = props["DefinitionString"]  # CloudFormation's DefinitionSubstitutions, done here
    for name, value in props["DefinitionSubstitutions"].items():
        text = text.replace("${" + name + "}", _resolve(value, refs, template_json))
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(name="escalation", definition=text, roleArn="arn:aws:iam::123456789012:role/x")[
        "stateMachineArn"
    ]
    return {"arn": arn, "text": text, "handoff": handoff, "caught": caught, "refs": refs}


def _run(machine: dict[str, Any], payload: dict[str, Any]) -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    execution = sfn.start_execution(stateMachineArn=machine["arn"], name=uuid.uuid4().hex, input=json.dumps(payload))
    for _ in range(2000):  # moto runs it on a thread: wait for its end (by status, not by time)
        found = sfn.describe_execution(executionArn=execution["executionArn"])
        if found["status"] != "RUNNING":
            return str(found["status"])
        time.sleep(0.005)
    raise AssertionError("the execution did not finish")


def _drain(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    out = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in messages:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def _receivable(status: S = S.OPEN, rank: int | None = None, balance: int = 30000) -> Receivable:
    policy = default_rules().escalation
    stage = policy.stages[rank - 1].name if rank else None
    r = Receivable(
        creditor_id="acme",
        receivable_id=f"R-{uuid.uuid4().hex[:8]}",
        debtor_id="D1",
        amount=30000,
        balance=balance,
        due_date=NOW.date() - timedelta(days=130),
        status=status,
        stage=stage,
        stage_rank=rank,
    )
    return ReceivableRepository().save(r)


def _payload(r: Receivable, rank: int) -> dict[str, Any]:
    policy = default_rules().escalation
    stage = policy.stages[rank - 1]
    return cases.NextStage(rank, stage, NOW).payload(r)


def test_the_local_stack_runs_the_stacks_own_definition(machine: dict[str, Any]) -> None:
    substitutions = {
        "ReceivablesTable": machine["refs"]["AWS::DynamoDB::Table"],
        "EventBus": "default",
        "HandoffQueueUrl": machine["handoff"],
    }
    assert json.loads(machine["text"]) == json.loads(definition(substitutions))
    states = json.loads(machine["text"])["States"]
    resources_used = {s["Resource"] for s in states.values() if s["Type"] == "Task"}
    assert resources_used == {
        "arn:aws:states:::dynamodb:updateItem",
        "arn:aws:states:::events:putEvents",
        "arn:aws:states:::sqs:sendMessage",
    }  # service integrations only: no Lambda task


def test_an_open_receivable_moves_to_the_next_stage_once_and_is_announced(machine: dict[str, Any]) -> None:
    r = _receivable()
    payload = _payload(r, 1)
    assert _run(machine, payload) == "SUCCEEDED"
    after = ReceivableRepository().get("acme", r.receivable_id)
    assert after is not None and after.stage == "hard" and after.stage_rank == 1 and after.version == 2
    assert after.stage_since == NOW.date() and after.attention is None
    (event,) = _drain(machine["caught"])
    assert event["source"] == "saiken.escalation" and event["detail"]["receivable_id"] == r.receivable_id
    assert event["detail"]["stage"] == "hard"
    assert _run(machine, payload) == "SUCCEEDED"  # Scheduler delivered it twice
    again = ReceivableRepository().get("acme", r.receivable_id)
    assert again == after and _drain(machine["caught"]) == []
    assert _drain(machine["handoff"]) == []


def test_the_legal_stage_puts_it_on_the_worklist_and_hands_it_off(machine: dict[str, Any]) -> None:
    r = _receivable(rank=3)
    assert _run(machine, _payload(r, 4)) == "SUCCEEDED"
    after = ReceivableRepository().get("acme", r.receivable_id)
    assert after is not None and after.stage == "legal" and after.attention == "stage:legal"
    assert [w.receivable_id for w in ReceivableRepository().worklist("acme")] == [r.receivable_id]
    (handoff,) = _drain(machine["handoff"])
    assert handoff == {"creditor_id": "acme", "receivable_id": r.receivable_id, "stage": "legal", "at": "2026-12-04"}


@pytest.mark.parametrize(
    ("status", "rank", "target", "balance"),
    [
        (S.PAID, None, 1, 0),
        (S.ON_HOLD, None, 1, 30000),
        (S.DISPUTED, 1, 2, 30000),
        (S.PROMISED, 1, 2, 30000),
        (S.WRITTEN_OFF, 2, 3, 30000),
        (S.OPEN, 3, 2, 30000),  # backwards
        (S.OPEN, 2, 2, 30000),  # the same stage again
        (S.PARTIALLY_PAID, 2, 3, 12000),  # moves
    ],
)
def test_the_machine_agrees_with_the_pure_rule_and_never_escalates_paid_held_or_backwards(
    machine: dict[str, Any], status: S, rank: int | None, target: int, balance: int
) -> None:
    r = _receivable(status, rank, balance)
    payload = _payload(r, target)
    expected = cases.escalate(
        r, cases.NextStage(target, default_rules().escalation.stages[target - 1], NOW), NOW.date()
    )
    for _ in range(2):  # fired twice
        assert _run(machine, payload) == "SUCCEEDED"
    after = ReceivableRepository().get("acme", r.receivable_id)
    assert after is not None
    if expected is None:
        assert after == r and _drain(machine["caught"]) == []
    else:
        assert (after.stage, after.stage_rank, after.status) == (expected.stage, expected.stage_rank, r.status)
        assert len(_drain(machine["caught"])) == 1


def test_the_machine_may_only_update_receivables_put_events_and_hand_off(template_json: dict[str, Any]) -> None:
    props = _state_machine(template_json)["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    role = props["RoleArn"]["Fn::GetAtt"][0][:-8]  # the logical id without its hash
    actions = {
        a
        for s in policy_of(template_json, role)
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "dynamodb:UpdateItem" in actions and "events:PutEvents" in actions
    assert not {a for a in actions if a.startswith("lambda:") or a in ("dynamodb:DeleteItem", "dynamodb:PutItem")}


def test_stage_boundaries_start_the_machine_through_its_own_scheduler_role(template_json: dict[str, Any]) -> None:
    groups = resources(template_json, "AWS::Scheduler::ScheduleGroup")
    assert {g["Properties"]["Name"] for g in groups.values()} == {"saiken-reminders", "saiken-escalations"}
    roles = resources(template_json, "AWS::IAM::Role")
    (role_id,) = [k for k in roles if k.startswith("CasesEscalationSchedulerRole")]
    actions = {
        a
        for s in policy_of(template_json, role_id[:-8])
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {"states:StartExecution", "sqs:SendMessage"}


def test_channel_feedback_reaches_the_events_function(template_json: dict[str, Any]) -> None:
    rules = resources(template_json, "AWS::Events::Rule")
    (ses_rule,) = [r for k, r in rules.items() if k.startswith("CasesEmailEvents")]
    assert ses_rule["Properties"]["EventPattern"]["source"] == ["aws.ses"]
    (topic,) = [t for k, t in resources(template_json, "AWS::SNS::Topic").items() if k.startswith("CasesSmsEvents")]
    assert "KmsMasterKeyId" in topic["Properties"]
    assert resources(template_json, "AWS::SNS::Subscription")
    permissions = resources(template_json, "AWS::Lambda::Permission").values()
    assert any(p["Properties"]["Principal"] == "connect.amazonaws.com" for p in permissions)
    (destination,) = resources(template_json, "AWS::SES::ConfigurationSetEventDestination").values()
    matching = destination["Properties"]["EventDestination"]["MatchingEventTypes"]
    assert sorted(matching) == ["bounce", "complaint", "delivery"]


def test_next_stage_is_at_the_boundary_or_at_once_when_it_passed() -> None:
    policy = default_rules().escalation
    r = Receivable(
        creditor_id="acme", receivable_id="R1", debtor_id="D1", amount=1000, balance=1000, due_date=date(2026, 12, 1)
    )
    nxt = cases.next_stage(r, policy, NOW)
    assert nxt is not None and nxt.stage.name == "hard" and nxt.at == datetime(2026, 12, 31, 10, 0, tzinfo=JST)
    late = r.model_copy(update={"due_date": date(2026, 9, 1)})
    soon = cases.next_stage(late, policy, NOW)
    assert soon is not None and soon.stage.name == "hard" and soon.at == NOW + timedelta(minutes=1)
    assert cases.next_stage(r.model_copy(update={"stage": "legal", "stage_rank": 4}), policy, NOW) is None
    assert cases.next_stage(r.model_copy(update={"status": S.DISPUTED}), policy, NOW) is None


def test_the_events_function_may_do_what_its_answers_need_and_no_more(template_json: dict[str, Any]) -> None:
    statements = policy_of(template_json, "CasesEventsRole")
    granted: dict[str, set[str]] = {}
    for st in statements:
        targets = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        for action in [st["Action"]] if isinstance(st["Action"], str) else st["Action"]:
            granted.setdefault(action, set()).update(json.dumps(t) for t in targets)
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"} <= set(granted)
    assert any("index/by_debtor" in t for t in granted["dynamodb:Query"])  # re-plan a debtor after a bounce
    assert any("index/by_phone" in t for t in granted["dynamodb:Query"])  # an SMS 停止 names only the number
    assert "scheduler:DeleteSchedule" in granted and "iam:PassRole" in granted
    assert all("config/" in t for t in granted["s3:GetObject"])  # the creditor's rules, nothing else in S3
    assert not {a for a in granted if a.startswith(("s3:Put", "s3:Delete", "sqs:", "ses:", "sms-voice:", "connect:"))}
