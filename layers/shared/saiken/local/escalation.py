"""Escalation on the local AWS: the CDK stack's own state machine definition
(infra/statemachines/escalation.asl.json, the file the stack deploys) run by moto's ASL
interpreter, started the way EventBridge Scheduler starts it when a stage boundary comes.

- ``provision``: the state machine, the hand-off queue, and an EventBridge rule that copies
  ``ReceivableEscalated`` events to a queue the local stack reads (what a subscriber would see);
- ``start``: one execution with the schedule's Input, waited for (moto runs it on a thread).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from saiken import wiring
from saiken.local.handlers import REPO_ROOT

DEFINITION = REPO_ROOT / "infra" / "statemachines" / "escalation.asl.json"
STATE_MACHINE = "saiken-escalation"
HANDOFF_QUEUE = "saiken-handoff"
ESCALATION_DLQ = "saiken-escalation-dlq"
EVENTS_QUEUE = "saiken-local-escalated"
EVENT_BUS = "default"
ROLE = "arn:aws:iam::123456789012:role/saiken-escalation"
WAIT_SECONDS = 30.0  # an execution is a few DynamoDB / SQS / EventBridge calls: far less than this


def definition(substitutions: dict[str, str], path: Path = DEFINITION) -> str:
    """The ASL text with ``${Name}`` replaced, as CDK's ``definition_substitutions`` does."""
    text = path.read_text(encoding="utf-8")
    for name, value in substitutions.items():
        text = text.replace("${" + name + "}", value)
    if "${" in text:
        raise ValueError(f"unsubstituted placeholder left in {path.name}: {text[text.index('${') :][:40]}")
    return text


class ExecutionStuck(RuntimeError):
    pass


@dataclass
class LocalEscalation:
    region: str = "ap-northeast-1"
    started: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall time inside executions (start to end), for `make bench`

    def __post_init__(self) -> None:
        self._sfn = boto3.client("stepfunctions", region_name=self.region)
        self._sqs = boto3.client("sqs", region_name=self.region)
        self._events_url = self._sqs.get_queue_url(QueueName=EVENTS_QUEUE)["QueueUrl"]
        self._handoff_url = self._sqs.get_queue_url(QueueName=HANDOFF_QUEUE)["QueueUrl"]
        self.arn = wiring.settings().escalation_state_machine_arn

    @staticmethod
    def provision(region: str = "ap-northeast-1") -> str:
        s = wiring.settings()
        sqs = boto3.client("sqs", region_name=region)
        handoff_url = sqs.create_queue(QueueName=HANDOFF_QUEUE)["QueueUrl"]
        sqs.create_queue(QueueName=ESCALATION_DLQ)
        events_url = sqs.create_queue(QueueName=EVENTS_QUEUE)["QueueUrl"]
        events_arn = sqs.get_queue_attributes(QueueUrl=events_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = boto3.client("events", region_name=region)
        events.put_rule(
            Name="saiken-local-escalated",
            EventPattern=json.dumps({"source": ["saiken.escalation"], "detail-type": ["ReceivableEscalated"]}),
        )
        events.put_targets(Rule="saiken-local-escalated", Targets=[{"Id": "local", "Arn": events_arn}])
        boto3.client("scheduler", region_name=region).create_schedule_group(Name=s.escalation_group)
        text = definition(
            {"ReceivablesTable": s.receivables_table, "EventBus": EVENT_BUS, "HandoffQueueUrl": handoff_url}
        )
        arn: str = boto3.client("stepfunctions", region_name=region).create_state_machine(
            name=STATE_MACHINE, definition=text, roleArn=ROLE
        )["stateMachineArn"]
        if arn != s.escalation_state_machine_arn:
            raise RuntimeError(f"state machine {arn} is not the configured {s.escalation_state_machine_arn}")
        return arn

    def start(self, name: str, payload: str) -> dict[str, Any]:
        """Start one execution (Scheduler's StartExecution) and wait for its end."""
        began = time.perf_counter()
        execution = self._sfn.start_execution(stateMachineArn=self.arn, name=name[:80], input=payload)
        self.started += 1
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            found: dict[str, Any] = self._sfn.describe_execution(executionArn=execution["executionArn"])
            if found["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise ExecutionStuck(f"escalation execution {name} still running after {WAIT_SECONDS} s")
            time.sleep(0.005)  # moto runs the execution on its own thread: poll its status
        self.seconds += time.perf_counter() - began
        if found["status"] != "SUCCEEDED":
            self.failed.append(name)
        return found

    def escalated(self) -> list[dict[str, Any]]:
        """ReceivableEscalated events delivered since the last call (EventBridge -> SQS)."""
        return self._drain(self._events_url, lambda body: body["detail"])

    def handed_off(self) -> list[dict[str, Any]]:
        return self._drain(self._handoff_url, lambda body: body)

    def _drain(self, url: str, pick: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            messages = self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return out
            out.extend(pick(json.loads(m["Body"])) for m in messages)
            self._sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
