"""The dunning wiring AWS does, done on loopback with a virtual clock (DESIGN.md 3.3).

- receivables stream -> scheduler function: read the table's stream from moto
  (dynamodbstreams), hand the records to functions/scheduler/handler.py in the Lambda event
  shape, retry the records it reports as failed;
- EventBridge Scheduler -> send queue: moto stores schedules but never fires them; ``fire_due``
  finds the ones whose ``at()`` has come on the virtual clock, sends their target Input to the
  send queue (what Scheduler does) and deletes them (ActionAfterCompletion=DELETE);
- send queue -> send function: receive in batches of 10, call functions/send/handler.py with
  the SQS event, delete what succeeded; a failed message becomes visible again only when the
  virtual clock moves on (its visibility timeout), and after ``MAX_RECEIVES`` it is moved to the
  DLQ by moto's redrive policy.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config

from saiken import wiring
from saiken.adapters.queues import backoff_seconds
from saiken.adapters.schedules import parse_at
from saiken.local.escalation import LocalEscalation
from saiken.local.handlers import LocalContext, invoke

ACCOUNT = "123456789012"
SEND_QUEUE = "saiken-send"
SEND_DLQ = "saiken-send-dlq"
MAX_RECEIVES = 5  # then the DLQ (the same redrive policy as the CDK stack)
STREAM_BATCH = 100
FIRE_CHUNK = 30  # schedules put on the queue before draining it (see settle)


class VirtualClock:
    """Time for the whole local runtime: set or advanced by the simulation, read by every function."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the virtual clock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            if moment < self._now:
                raise ValueError(f"time does not go backwards ({moment} < {self._now})")
            self._now = moment

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)


@dataclass
class StatusChange:
    at: datetime
    creditor_id: str
    receivable_id: str
    old: str | None
    new: str
    reason: str | None


@dataclass
class DunningRouter:
    clock: Callable[[], datetime]  # a VirtualClock in the demo, the real time under `saiken local up`
    region: str = "ap-northeast-1"
    on_status_change: Callable[[StatusChange], None] | None = None
    _iterators: dict[str, str] = field(default_factory=dict)
    _pending_visibility: list[tuple[datetime, str]] = field(default_factory=list)  # (visible again at, receipt)
    _shards: list[str] = field(default_factory=list)
    _queued: int = 0  # messages put on the send queue (or made visible again) since the last pump
    _expr_cache: dict[tuple[str, str], datetime] = field(default_factory=dict)
    fired: int = 0
    send_invocations: int = 0
    stream_invocations: int = 0

    def __post_init__(self) -> None:
        # botocore routes calls that carry a stream ARN to an account-based endpoint
        # ({account}.streams-ddb...), which moto does not serve: use the regional one.
        self._ddb_streams = boto3.client(
            "dynamodbstreams", region_name=self.region, config=Config(account_id_endpoint_mode="disabled")
        )
        self._sqs = boto3.client("sqs", region_name=self.region)
        s = wiring.settings()
        self._group = s.schedule_group
        self._escalation_group = s.escalation_group
        self.escalation = LocalEscalation(self.region)
        self._queue_url = self._sqs.get_queue_url(QueueName=SEND_QUEUE)["QueueUrl"]
        self._queue_arn = s.send_queue_arn
        desc = boto3.client("dynamodb", region_name=self.region).describe_table(TableName=s.receivables_table)
        self._stream_arn = desc["Table"]["LatestStreamArn"]

    # -- provisioning (what the CDK stack creates) -----------------------------------------
    @staticmethod
    def provision(region: str = "ap-northeast-1") -> None:
        s = wiring.settings()
        sqs = boto3.client("sqs", region_name=region)
        dlq_url = sqs.create_queue(QueueName=SEND_DLQ)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.create_queue(
            QueueName=SEND_QUEUE,
            Attributes={
                "VisibilityTimeout": "43200",  # made visible again by the virtual clock, not by real time
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}),
            },
        )
        boto3.client("scheduler", region_name=region).create_schedule_group(Name=s.schedule_group)
        LocalEscalation.provision(region)
        sender = s.email_from.split("@", 1)[1]
        boto3.client("sesv2", region_name=region).create_email_identity(EmailIdentity=sender)
        boto3.client("sesv2", region_name=region).create_configuration_set(ConfigurationSetName=s.ses_configuration_set)

    # -- stream -> scheduler function ------------------------------------------------------
    def pump_stream(self) -> int:
        records = self._read_stream()
        for start in range(0, len(records), STREAM_BATCH):
            self._invoke_scheduler(records[start : start + STREAM_BATCH])
        return len(records)

    def _read_stream(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        if not self._shards:  # a table's stream keeps its shard for the life of the local stack
            description = self._ddb_streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]
            self._shards = [shard["ShardId"] for shard in description["Shards"]]
        for shard_id in self._shards:
            iterator = (
                self._iterators.get(shard_id)
                or self._ddb_streams.get_shard_iterator(
                    StreamArn=self._stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            )
            while True:
                page = self._ddb_streams.get_records(ShardIterator=iterator, Limit=1000)
                iterator = page["NextShardIterator"]
                got = page["Records"]
                for record in got:
                    record["eventSourceARN"] = self._stream_arn
                records.extend(got)
                if len(got) < 1000:
                    break
            self._iterators[shard_id] = iterator
        return records

    def _invoke_scheduler(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self._notice_status(record)
        pending = records
        for _ in range(3):  # Lambda retries what the function reported as failed
            self.stream_invocations += 1
            try:
                response = invoke("scheduler", {"Records": pending}, LocalContext("saiken-scheduler"))
            except Exception:  # every record failed: Lambda retries the whole batch
                response = {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in pending]}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            if not failed:
                return
            pending = [r for r in pending if r["dynamodb"]["SequenceNumber"] in failed]
        raise RuntimeError(f"scheduler kept failing on {len(pending)} stream records")

    def _notice_status(self, record: dict[str, Any]) -> None:
        if self.on_status_change is None:
            return
        change = record.get("dynamodb", {})
        new, old = change.get("NewImage") or {}, change.get("OldImage") or {}
        new_status = new.get("status", {}).get("S")
        old_status = old.get("status", {}).get("S") if old else None
        if new_status and new_status != old_status:
            self.on_status_change(
                StatusChange(
                    at=self.clock(),
                    creditor_id=new["creditor_id"]["S"],
                    receivable_id=new["receivable_id"]["S"],
                    old=old_status,
                    new=new_status,
                    reason=new.get("status_reason", {}).get("S") or ("created" if old_status is None else None),
                )
            )

    # -- Scheduler -> send queue ---------------------------------------------------------
    def due_schedules(self, group_name: str | None = None) -> list[tuple[datetime, Any]]:
        """(at, schedule) of every pending schedule (reminders and escalations, or one group's), read
        from moto's store."""
        from moto.scheduler.models import scheduler_backends

        groups = scheduler_backends[ACCOUNT][self.region].schedule_groups
        names = [group_name] if group_name else [self._group, self._escalation_group]
        schedules = [s for name in names if (g := groups.get(name)) is not None for s in list(g.schedules.values())]
        out = []
        for schedule in schedules:
            key = (schedule.name, schedule.schedule_expression)
            at = self._expr_cache.get(key)
            if at is None:
                at = self._expr_cache[key] = parse_at(
                    schedule.schedule_expression, schedule.schedule_expression_timezone
                )
            out.append((at, schedule))
        return out

    def next_fire_time(self) -> datetime | None:
        times = [at for at, s in self.due_schedules() if s.state == "ENABLED"]
        return min(times) if times else None

    def fire_due(self, limit: int | None = None) -> int:
        """Do what Scheduler does when a schedule's time comes: put a reminder's Input on the send
        queue (batches of 10), or start the escalation state machine with a stage boundary's; then
        remove it from its group. ``limit``: at most this many, earliest first."""
        now = self.clock()
        due = [(at, s) for at, s in self.due_schedules() if at <= now and s.state == "ENABLED"]
        due.sort(key=lambda x: x[0])
        due = due[:limit] if limit else due
        reminders = []
        for at, schedule in due:
            if schedule.target["Arn"] == self._queue_arn:
                reminders.append((at, schedule))
            elif schedule.target["Arn"] == self.escalation.arn:  # Scheduler's StartExecution
                self.escalation.start(f"{schedule.name}-{at:%Y%m%dT%H%M}", schedule.target["Input"])
                self._delete_schedule(schedule)
            else:
                raise RuntimeError(f"schedule {schedule.name} targets {schedule.target['Arn']}: not wired locally")
        for start in range(0, len(reminders), 10):
            chunk = reminders[start : start + 10]
            self._sqs.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "MessageBody": s.target["Input"]} for i, (_, s) in enumerate(chunk)],
            )
            self._queued += len(chunk)
            for _, schedule in chunk:
                self._delete_schedule(schedule)
        self.fired += len(due)
        return len(due)

    def _delete_schedule(self, schedule: Any) -> None:
        """ActionAfterCompletion=DELETE is the service's own action: done in moto's store."""
        from moto.scheduler.models import scheduler_backends

        if schedule.action_after_completion == "DELETE":
            scheduler_backends[ACCOUNT][self.region].schedule_groups[schedule.group_name].delete_schedule(schedule.name)

    @property
    def next_retry(self) -> datetime | None:
        """When the first failed message becomes visible again (virtual clock), if any."""
        return min((at for at, _ in self._pending_visibility), default=None)

    # -- send queue -> send function -----------------------------------------------------
    def pump_queue(self, *, force: bool = False) -> int:
        """Deliver what is visible now; returns how many messages the send function handled.
        Without ``force`` the receive is skipped when nothing went onto the queue through this router
        since the last pump (pass it after putting a message there yourself)."""
        self._release_failed()
        if not (self._queued or force):  # nothing can be waiting: skip the empty receive
            return 0
        self._queued = 0
        handled = 0
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                break
            event = {"Records": [_sqs_record(m, self._queue_arn, self.region) for m in messages]}
            self.send_invocations += 1
            try:
                response = invoke("send", event, LocalContext("saiken-send"))
            except Exception:  # the invocation failed (powertools raises when every record failed): all return
                response = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                self._sqs.delete_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
                )
            now = self.clock()
            for m in messages:
                if m["MessageId"] in failed:  # back after the send function's backoff, on the virtual clock
                    count = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                    self._pending_visibility.append(
                        (now + timedelta(seconds=backoff_seconds(count)), m["ReceiptHandle"])
                    )
            handled += len(messages)
        return handled

    def _release_failed(self) -> None:
        """A failed message's visibility timeout (the send function's backoff) runs on the virtual
        clock: when it is over, the message is visible again. In real time (`saiken local up`) the
        queue's own timeouts rule."""
        if not isinstance(self.clock, VirtualClock):
            self._pending_visibility.clear()
            self._queued += 1  # a message may come back by itself: keep receiving
            return
        now = self.clock()
        due = [receipt for at, receipt in self._pending_visibility if at <= now]
        if not due:
            return
        self._pending_visibility = [(at, receipt) for at, receipt in self._pending_visibility if at > now]
        for receipt in due:
            self._sqs.change_message_visibility(QueueUrl=self._queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
        self._queued += len(due)

    def dlq_depth(self) -> int:
        url = self._sqs.get_queue_url(QueueName=SEND_DLQ)["QueueUrl"]
        attrs = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attrs["Attributes"]["ApproximateNumberOfMessages"])

    def redrive_dlq(self) -> int:
        """What ops do after an outage (StartMessageMoveTask): move the DLQ back to the send queue."""
        url = self._sqs.get_queue_url(QueueName=SEND_DLQ)["QueueUrl"]
        moved = 0
        while True:
            messages = self._sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return moved
            for m in messages:
                self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=m["Body"])
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                self._queued += 1
                moved += 1

    def settle(self) -> None:
        """Run every wire until nothing moves at the current virtual time. Due schedules go onto the
        queue a few batches at a time and are drained in between: moto's receive costs in
        proportion to the queue's length (AWS's does not), and 09:00 fires hundreds at once."""
        for _ in range(50):
            moved = self.pump_stream()
            while fired := self.fire_due(limit=FIRE_CHUNK):
                moved += fired + self.pump_queue()
            moved += self.pump_queue()
            if not moved:
                return
        raise RuntimeError("the local dunning wiring did not settle (a loop between stream and schedules?)")


def _sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum, not security
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
