"""The dunning path against moto: stream -> scheduler function -> one schedule per receivable;
send queue -> send function -> delivered once, recorded, chained. Fault injection for every
at-least-once edge: a schedule fired twice, a stream batch replayed, a channel outage."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import boto3
import pytest

from saiken import wiring
from saiken.adapters.channels import ChannelUnavailable, DeliveryRejected, Outgoing
from saiken.adapters.contacts import ContactRepository
from saiken.adapters.repository import DebtorRepository
from saiken.adapters.schedules import parse_at, schedule_name
from saiken.domain.planner import JST
from saiken.domain.rules import Channel
from saiken.local.dunning import DunningRouter, VirtualClock
from saiken.local.inspect import all_contacts
from tests.integration.dunning_start import START


class Flaky:
    """Wraps a channel: fails the next ``n`` sends with ``error``."""

    def __init__(self, inner: Any, error: Exception, n: int) -> None:
        self.inner, self.error, self.n, self.calls = inner, error, n, 0

    def send(self, message: Outgoing) -> str:
        self.calls += 1
        if self.n > 0:
            self.n -= 1
            raise self.error
        return str(self.inner.send(message))


def add(rid: str, due: date, *, debtor: str = "D1", segment: str = "A", **extra: Any) -> None:
    item = {
        "debtor_id": debtor,
        "debtor_name": "山田 太郎",
        "phone": "090-1234-5678",
        "email": f"{debtor.lower()}@example.jp",
        "receivable_id": rid,
        "amount": 12000,
        "due_date": due.isoformat(),
        "segment": segment,
    } | extra
    results = wiring.receivable_service().upsert_many("acme", [item])
    assert not results[0].errors, results[0].errors


def run_until(clock: VirtualClock, router: DunningRouter, until: datetime) -> None:
    router.settle()
    while (nxt := router.next_fire_time()) is not None and nxt <= until:
        clock.set(max(nxt, clock()))
        router.settle()
    clock.set(max(until, clock()))
    router.settle()


def sent(rid: str | None = None) -> list[Any]:
    return sorted(
        (c for c in all_contacts() if c.outcome == "sent" and (rid is None or c.receivable_id == rid)),
        key=lambda c: c.at,
    )


def schedule_of(rid: str) -> dict[str, Any] | None:
    return wiring.schedules().get("acme", rid)


def test_a_new_receivable_gets_exactly_one_schedule_with_the_right_shape(world: Any) -> None:
    _, router = world
    add("R1", date(2026, 12, 10))
    router.settle()
    schedule = schedule_of("R1")
    assert schedule is not None
    assert schedule["Name"] == schedule_name("acme", "R1")
    assert schedule["ScheduleExpression"] == "at(2026-12-05T09:00:00)"  # A: email from -5 at 09:00 JST
    assert schedule["ScheduleExpressionTimezone"] == "Asia/Tokyo"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    target = schedule["Target"]
    assert target["Arn"].endswith(":saiken-send") and target["DeadLetterConfig"]["Arn"].endswith(":saiken-send-dlq")
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}
    payload = json.loads(target["Input"])
    assert (payload["receivable_id"], payload["slot"]) == ("R1", "2026-12-05T09:00:00+09:00")
    names = boto3.client("scheduler", region_name="ap-northeast-1").list_schedules(GroupName="saiken-reminders")
    assert len(names["Schedules"]) == 1


def test_reminders_go_out_on_the_brochure_cadence_and_chain(world: Any) -> None:
    clock, router = world
    add("R1", date(2026, 12, 10), segment="B")
    run_until(clock, router, datetime(2026, 12, 14, 23, 0, tzinfo=JST))
    got = [(c.channel, c.offset, c.at.astimezone(JST).strftime("%m-%d %H:%M")) for c in sent("R1")]
    assert got == [
        ("email", 1, "12-11 09:00"),
        ("sms", 1, "12-11 12:00"),
        ("email", 2, "12-12 09:00"),
        ("email", 3, "12-13 09:00"),
        ("email", 4, "12-14 09:00"),
        ("sms", 4, "12-14 12:00"),
    ]
    first = sent("R1")[0]
    assert first.subject and "アクメ" not in first.subject  # no sender configured: the creditor id speaks
    assert first.subject.startswith("【acme】") and "山田 太郎 様" in (first.body or "")
    assert schedule_of("R1") is not None  # the chain goes on: the next email


def test_payment_deletes_the_schedule_and_nothing_more_is_sent(world: Any) -> None:
    clock, router = world
    add("R1", date(2026, 12, 10))
    run_until(clock, router, datetime(2026, 12, 6, 10, 0, tzinfo=JST))
    before = len(sent("R1"))
    assert before >= 2
    wiring.receivable_service().apply_payment("acme", "R1", 12000)
    router.settle()
    assert schedule_of("R1") is None
    run_until(clock, router, datetime(2026, 12, 20, tzinfo=JST))
    assert len(sent("R1")) == before


def test_a_schedule_fired_twice_sends_once(world: Any) -> None:
    clock, router = world
    add("R1", date(2026, 12, 10))
    router.settle()
    schedule = schedule_of("R1")
    assert schedule is not None
    clock.set(parse_at(schedule["ScheduleExpression"]))
    sqs = boto3.client("sqs", region_name="ap-northeast-1")
    url = sqs.get_queue_url(QueueName="saiken-send")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=schedule["Target"]["Input"])  # Scheduler delivering twice
    router.fire_due()
    router.pump_queue()
    router.pump_queue()
    emails = [c for c in sent("R1") if c.channel == "email"]
    assert len(emails) == 1
    from saiken.local.inspect import sent_emails

    assert len(sent_emails()) == 1


def test_replayed_stream_records_keep_one_schedule(world: Any) -> None:
    _, router = world
    add("R1", date(2026, 12, 10))
    records = router._read_stream()
    from saiken.local.handlers import LocalContext, invoke

    for _ in range(3):
        invoke("scheduler", {"Records": records}, LocalContext("saiken-scheduler"))
    groups = boto3.client("scheduler", region_name="ap-northeast-1").list_schedules(GroupName="saiken-reminders")
    assert [s["Name"] for s in groups["Schedules"]] == [schedule_name("acme", "R1")]


def test_a_channel_outage_loses_nothing_and_never_marks_sent(world: Any) -> None:
    clock, router = world
    add("R1", date(2026, 12, 8))  # A: SMS at -5 = 12/03 (past), -2 = 12/06 12:00
    channels = wiring.channels()
    flaky = Flaky(channels[Channel.SMS], ChannelUnavailable("sms: ThrottlingException"), n=2)
    channels[Channel.SMS] = flaky
    run_until(clock, router, datetime(2026, 12, 6, 12, 0, tzinfo=JST))
    assert not [c for c in sent("R1") if c.channel == "sms"]  # refused: not recorded as sent
    assert not [c for c in all_contacts() if c.channel == "sms"]
    assert schedule_of("R1") is not None  # the cadence goes on meanwhile (email tomorrow)
    for hour in (13, 14):  # each time the visibility timeout runs out, the queue hands it back
        run_until(clock, router, datetime(2026, 12, 6, hour, 0, tzinfo=JST))
    sms = [c for c in sent("R1") if c.channel == "sms"]
    assert len(sms) == 1 and flaky.calls == 3
    assert sms[0].slot == datetime(2026, 12, 6, 12, 0, tzinfo=JST)


def test_a_rejected_number_is_recorded_as_failed_not_retried(world: Any) -> None:
    clock, router = world
    add("R1", date(2026, 12, 8))
    channels = wiring.channels()
    flaky = Flaky(channels[Channel.SMS], DeliveryRejected("sms: ValidationException"), n=99)
    channels[Channel.SMS] = flaky
    run_until(clock, router, datetime(2026, 12, 6, 18, 0, tzinfo=JST))
    failed = [c for c in all_contacts() if c.outcome == "failed"]
    assert [(c.channel, c.reason) for c in failed] == [("sms", "sms: ValidationException")]
    assert flaky.calls == 1


def test_daily_cap_across_a_debtors_receivables(world: Any) -> None:
    clock, router = world
    for i in range(3):  # one debtor, three receivables in A, due the same day: 3 x (email + sms + ivr) on +1
        add(f"R{i}", date(2026, 12, 5), debtor="D9")
    run_until(clock, router, datetime(2026, 12, 6, 23, 0, tzinfo=JST))
    per_day: dict[str, int] = {}
    for c in sent():
        day = c.at.astimezone(JST).date().isoformat()
        per_day[day] = per_day.get(day, 0) + 1
    assert per_day and max(per_day.values()) == 3
    capped = [c for c in all_contacts() if c.reason == "daily_cap"]
    assert capped  # recorded, with the reason


def test_lawyer_retained_is_a_hard_stop(world: Any) -> None:
    clock, router = world
    add("R1", date(2026, 12, 10))
    run_until(clock, router, datetime(2026, 12, 5, 10, 0, tzinfo=JST))
    debtors = DebtorRepository()
    d = debtors.get("acme", "D1")
    assert d is not None
    debtors.save(d.model_copy(update={"lawyer_retained": True}))
    run_until(clock, router, datetime(2026, 12, 20, tzinfo=JST))
    assert all(c.at <= datetime(2026, 12, 5, 10, 0, tzinfo=JST) for c in sent("R1"))
    stopped = [c for c in all_contacts() if c.reason == "lawyer_retained"]
    assert stopped and schedule_of("R1") is None


def test_a_late_delivery_at_night_is_deferred_to_the_morning(world: Any) -> None:
    clock, router = world
    add("R1", date(2026, 12, 10))
    router.settle()
    schedule = schedule_of("R1")
    assert schedule is not None
    clock.set(datetime(2026, 12, 5, 22, 30, tzinfo=JST))  # the queue was stuck until after 21:00
    router.fire_due()
    router.pump_queue()
    assert not sent("R1")
    deferred = schedule_of("R1")
    assert deferred is not None and deferred["ScheduleExpression"] == "at(2026-12-06T08:00:00)"
    run_until(clock, router, datetime(2026, 12, 6, 8, 30, tzinfo=JST))
    first = sent("R1")[0]
    assert first.at == datetime(2026, 12, 6, 8, 0, tzinfo=JST) and first.offset == -5


def test_no_contact_history_leaks_across_creditors(world: Any) -> None:
    clock, router = world
    add("R1", date(2026, 12, 6))
    run_until(clock, router, datetime(2026, 12, 6, 10, 0, tzinfo=JST))
    contacts = ContactRepository()
    assert contacts.for_receivable("acme", "R1")
    assert contacts.for_receivable("globex", "R1") == []
    assert contacts.for_debtor("globex", "D1") == []


def test_reminder_ids_are_stable_across_replanning(world: Any) -> None:
    clock, router = world
    add("R1", date(2026, 12, 10))
    router.settle()
    first = json.loads(schedule_of("R1")["Target"]["Input"])  # type: ignore[index]
    add("R1", date(2026, 12, 10), address="東京都港区1-1")  # a change the plan does not depend on
    router.settle()
    again = json.loads(schedule_of("R1")["Target"]["Input"])  # type: ignore[index]
    assert first == again
    add("R1", date(2026, 12, 20))  # a new due date: a new plan
    router.settle()
    moved = json.loads(schedule_of("R1")["Target"]["Input"])  # type: ignore[index]
    assert moved["slot"] == "2026-12-15T09:00:00+09:00"
    assert {r["id"] for r in moved["reminders"]}.isdisjoint({r["id"] for r in first["reminders"]})
    assert clock() == START  # all of this is planning: no time passed, nothing was sent
    assert not sent("R1")


def test_a_payment_while_the_slot_waits_in_the_queue_is_recorded_not_sent(world: Any) -> None:
    clock, router = world
    add("R1", date(2026, 12, 10))
    router.settle()
    clock.set(datetime(2026, 12, 5, 9, 0, tzinfo=JST))
    router.fire_due()  # the slot is on the queue ...
    wiring.receivable_service().apply_payment("acme", "R1")  # ... when the payment lands
    router.pump_queue()
    assert not sent("R1")
    held = [c for c in all_contacts() if c.receivable_id == "R1"]
    assert [(c.channel, c.outcome, c.reason) for c in held] == [("email", "suppressed", "paid")]
    router.settle()
    assert schedule_of("R1") is None


def test_a_history_write_failing_after_delivery_never_sends_twice(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    clock, router = world
    add("R1", date(2026, 12, 10))
    router.settle()
    contacts = wiring.dunning_service().contacts
    real_record = contacts.record
    failures = {"left": 1}

    def flaky_record(contact: Any) -> None:
        if contact.outcome == "sent" and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("DynamoDB hiccup")
        real_record(contact)

    monkeypatch.setattr(contacts, "record", flaky_record)
    clock.set(datetime(2026, 12, 5, 9, 0, tzinfo=JST))
    router.fire_due()
    router.pump_queue()
    schedule = schedule_of("R1")
    assert schedule is not None
    sqs = boto3.client("sqs", region_name="ap-northeast-1")
    url = sqs.get_queue_url(QueueName="saiken-send")["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps({**json.loads(schedule["Target"]["Input"]), "slot": "2026-12-05T09:00:00+09:00"}),
    )
    router.pump_queue(force=True)  # the 09:00 slot delivered a second time
    from saiken.local.inspect import sent_emails

    assert len(sent_emails()) == 1  # the provider got it once; the history line was the casualty


def test_a_broken_creditor_template_fails_visibly_and_frees_the_cap(world: Any) -> None:
    clock, router = world
    s3 = boto3.client("s3", region_name="ap-northeast-1")
    bucket = wiring.settings().bucket
    s3.put_object(Bucket=bucket, Key="config/acme/templates/email_reminder.j2", Body=b"{{ no_such_variable }}")
    wiring.creditor_config()._cache.clear()
    add("R1", date(2026, 12, 10))
    run_until(clock, router, datetime(2026, 12, 5, 10, 0, tzinfo=JST))
    failed = [c for c in all_contacts() if c.outcome == "failed"]
    assert [(c.channel, c.reason) for c in failed] == [("email", "template email_reminder: UndefinedError")]
    assert ContactRepository().counted("acme", "D1", date(2026, 12, 5)) == 0
    assert schedule_of("R1") is not None  # the rest of the cadence goes on


def test_a_throttled_message_backs_off_exponentially(world: Any) -> None:
    import time as clock_module

    from moto.sqs.models import sqs_backends

    from saiken.local.dunning import _sqs_record
    from saiken.local.handlers import LocalContext, invoke

    clock, router = world
    add("R1", date(2026, 12, 8))  # A: SMS at 12:00 on 12/06
    channels = wiring.channels()
    channels[Channel.SMS] = Flaky(channels[Channel.SMS], ChannelUnavailable("sms: ThrottlingException"), n=99)
    run_until(clock, router, datetime(2026, 12, 6, 11, 0, tzinfo=JST))
    clock.set(datetime(2026, 12, 6, 12, 0, tzinfo=JST))
    router.fire_due()
    sqs = boto3.client("sqs", region_name="ap-northeast-1")
    url = sqs.get_queue_url(QueueName="saiken-send")["QueueUrl"]
    arn = wiring.settings().send_queue_arn
    queue = sqs_backends["123456789012"]["ap-northeast-1"].queues["saiken-send"]
    for attempt, expected in ((1, 60), (2, 120), (3, 240)):
        message = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
        assert message["Attributes"]["ApproximateReceiveCount"] == str(attempt)
        response = invoke("send", {"Records": [_sqs_record(message, arn, "ap-northeast-1")]}, LocalContext("send"))
        assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [message["MessageId"]]
        (held,) = list(queue._messages)
        delay = held.visible_at / 1000 - clock_module.time()
        assert expected - 5 < delay <= expected
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)


def test_lawyer_retained_through_the_api_removes_pending_reminders_at_once(world: Any, lambda_context: Any) -> None:
    from tests.integration.test_api import call

    _, router = world
    add("R1", date(2026, 12, 10))
    add("R2", date(2026, 12, 20))
    add("R3", date(2026, 12, 10), debtor="D2")
    router.settle()
    assert schedule_of("R1") and schedule_of("R2") and schedule_of("R3")
    status, debtor = call("PUT", "/debtors/D1/contact-preferences", {"lawyer_retained": True}, context=lambda_context)
    assert status == 200 and debtor["lawyer_retained"] is True
    assert schedule_of("R1") is None and schedule_of("R2") is None  # no waiting for the next firing
    assert schedule_of("R3") is not None  # another debtor: untouched
    status, _ = call("PUT", "/debtors/D1/contact-preferences", {"lawyer_retained": False}, context=lambda_context)
    assert status == 200 and schedule_of("R1") is not None  # withdrawn: dunning resumes


def test_a_malformed_message_fails_alone_and_the_rest_of_the_batch_goes(world: Any) -> None:
    from saiken.local.dunning import _sqs_record
    from saiken.local.handlers import LocalContext, invoke

    clock, router = world
    add("R1", date(2026, 12, 10))
    router.settle()
    good = schedule_of("R1")
    assert good is not None
    clock.set(parse_at(good["ScheduleExpression"]))
    sqs = boto3.client("sqs", region_name="ap-northeast-1")
    url = sqs.get_queue_url(QueueName="saiken-send")["QueueUrl"]
    for body in ("not json", json.dumps({"kind": "something-else"}), good["Target"]["Input"]):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    records = [_sqs_record(m, wiring.settings().send_queue_arn, "ap-northeast-1") for m in messages]
    response = invoke("send", {"Records": records}, LocalContext("send"))
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    bad = {m["MessageId"] for m in messages if m["Body"] != good["Target"]["Input"]}
    assert failed == bad  # back to the queue, then the DLQ and its alarm: nothing silently dropped
    assert [c.channel for c in sent("R1")] == ["email"]
