"""`make demo`: the main job on the embedded local AWS, start to finish, no account, no network.

1. moto (in-process) with the wiring AWS would do: S3 -> ingest, receivables stream -> scheduler,
   EventBridge Scheduler -> send queue -> send, HTTP -> API; a virtual clock (saiken.local);
2. two creditors put their dunning rules and their receivables files into S3 (a CP932 CSV; a
   UTF-8-BOM CSV with its own headers and a mapping); ingest validates and upserts them and
   every new receivable gets its first schedule;
3. a back office pushes receivables and a cancellation through the REST API;
4. 45 days pass: schedules fire, reminders go out by email (moto SES v2), SMS and IVR (the local
   outbox), debtors pay at seeded moments (dunning stops), a few retain a lawyer (受任通知) or opt
   out of SMS, and the SMS provider has an outage for an afternoon (nothing is lost);
5. demo-output/ gets outbox.jsonl, events.jsonl and summary.json, checked against the rules.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import requests
from rich.console import Console
from rich.table import Table

from saiken import wiring
from saiken.adapters.channels import ChannelUnavailable, Outgoing
from saiken.adapters.objects import default_rules, mapping_key, rules_key
from saiken.adapters.repository import DebtorRepository, ReceivableRepository
from saiken.cli.demo_cases import Replies
from saiken.cli.demo_payments import PaymentFeed, csv_file, zengin_file
from saiken.domain.planner import JST
from saiken.domain.rules import Channel
from saiken.local.dunning import StatusChange, VirtualClock
from saiken.local.handlers import LocalContext, invoke, send_function_stdout_to
from saiken.local.stack import IngestEvent, LocalStack
from saiken.samples import GLOBEX_MAPPING, HEADERS_CUSTOM, write_file

CREDITORS = {
    "acme": {"sender": "アクメカード株式会社", "phone": "0120-100-200", "email": "billing@acme.example"},
    "globex": {"sender": "グローベックス電力", "phone": "0120-300-400", "email": "support@globex.example"},
}
BANK_FILES = (timedelta(hours=7, minutes=30), timedelta(hours=13, minutes=30))  # the bank's 入金明細, twice a day
OPERATOR_MATCHES = 15  # unmatched payments an operator places by hand, per creditor and round
OPERATOR_EVERY_DAYS = 2
WRITEOFF_DAYS = 35  # the demo creditors write off after 35 days (the shipped default is 180)
# the demo's 45 days need earlier stages than the shipped +30 / +60 / +90 / +120
DEMO_ESCALATION = {
    "at": "10:00",
    "on_broken_promise": "resume",
    "stages": [
        {"name": "hard", "after": 12},
        {"name": "final", "after": 20},
        {"name": "collector", "after": 26, "worklist": True},
        {"name": "legal", "after": 31, "worklist": True, "handoff": True},
    ],
}
DISPUTE_SHARE = 0.01  # receivables an operator marks disputed (異議) during the run
HOLD_SHARE = 0.005  # held for a week (a payment plan being agreed)
BAD_EVERY = 23  # one row in 23 is wrong on purpose: rejected with a reason, the rest go in
SMS_OUTAGE = (timedelta(days=1, hours=10), timedelta(days=1, hours=16))  # after the start


def run_demo(
    out: Path,
    console: Console,
    *,
    days: int = 45,
    receivables: int = 1000,
    seed: int = 7,
    start: date | None = None,
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    with _quiet_functions(out):
        return Demo(out, console, days=days, receivables=receivables, seed=seed, start=start or date.today()).run()


@contextmanager
def _quiet_functions(out: Path) -> Iterator[None]:
    """The functions' JSON logs and EMF metrics would drown the summary: metrics go to a file (as
    Lambda sends them to CloudWatch Logs), logs below ERROR are off."""
    quiet = {"POWERTOOLS_LOG_LEVEL": "ERROR"}
    saved = {
        name: os.environ.get(name) for name in [*quiet, "SAIKEN_OUTBOX_PATH", "SAIKEN_SMS_MODE", "SAIKEN_IVR_MODE"]
    }
    os.environ.update(quiet)
    batch_log = logging.getLogger("aws_lambda_powertools")
    level = batch_log.level
    batch_log.setLevel(logging.CRITICAL)  # a throttled SMS is expected here; the summary reports it
    sink = (out / "function-stdout.jsonl").open("w", encoding="utf-8")
    send_function_stdout_to(sink)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        batch_log.setLevel(level)
        send_function_stdout_to(None)
        sink.close()
        wiring.set_clock(None)
        wiring.reset()


@dataclass
class SmsOutage:
    """The SMS provider throttles every request for an afternoon (fault injection around the channel)."""

    inner: Any
    clock: VirtualClock
    begins: datetime
    ends: datetime
    refused: int = 0
    refused_ids: dict[str, str] = field(default_factory=dict)  # reminder id -> receivable id

    def send(self, message: Outgoing) -> str:
        if self.begins <= self.clock() < self.ends:
            self.refused += 1
            self.refused_ids[message.reminder_id] = message.receivable_id or ""
            raise ChannelUnavailable("sms: ThrottlingException (simulated outage)")
        return str(self.inner.send(message))


class HistoryTap:
    """Sees every contact-history write on its way to the table (what a DynamoDB stream on the
    contacts table would show), so the summary needs no scan of the whole table."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.contacts: dict[tuple[str, str], Any] = {}  # (slot, reminder id) -> last write, as the table keys it

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def record(self, contact: Any) -> None:
        self.inner.record(contact)
        self.contacts[(contact.slot.isoformat(), contact.reminder_id)] = contact

    def record_many(self, contacts: list[Any]) -> None:
        self.inner.record_many(contacts)
        for contact in contacts:
            self.contacts[(contact.slot.isoformat(), contact.reminder_id)] = contact


@dataclass
class Delivered:
    """Records each message a channel accepted, as an outbox.jsonl line."""

    inner: Any
    clock: VirtualClock
    lines: list[dict[str, Any]]
    replies: Replies | None = None

    def send(self, message: Outgoing) -> str:
        provider_id = str(self.inner.send(message))
        if self.replies is not None:
            self.replies.accepted(self.clock(), message, provider_id)
        self.lines.append(
            {
                "channel": message.channel,
                "creditor_id": message.creditor_id,
                "receivable_id": message.receivable_id,
                "debtor_id": message.debtor_id,
                "to": message.to,
                "sent_at": self.clock().astimezone(JST).isoformat(),
                "step": message.step,
                "offset": message.offset,
                "template": message.template,
                "subject": message.subject,
                "body": message.body,
                "deferred_because": message.deferred_because,
                "reminder_id": message.reminder_id,
                "provider_id": provider_id,
            }
        )
        return provider_id


@dataclass
class Demo:
    out: Path
    console: Console
    days: int
    receivables: int
    seed: int
    start: date
    events: list[StatusChange] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    redriven: int = 0
    payment_runs: list[dict[str, Any]] = field(default_factory=list)
    daily_runs: list[dict[str, Any]] = field(default_factory=list)
    manual_matches: list[dict[str, Any]] = field(default_factory=list)
    payment_files: list[str] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    case_actions: Counter[str] = field(default_factory=Counter)

    def run(self) -> dict[str, Any]:
        began = time.perf_counter()
        self.out.mkdir(parents=True, exist_ok=True)
        for name in ("outbox.jsonl", "events.jsonl", "summary.json", "channel-outbox.jsonl"):
            (self.out / name).unlink(missing_ok=True)
        for old in (self.out / "payments").glob("*"):  # the bank files of an earlier run
            old.unlink()
        t0 = datetime(self.start.year, self.start.month, self.start.day, 7, 0, tzinfo=JST)
        self.clock = VirtualClock(t0)
        wiring.set_clock(self.clock)
        stack = LocalStack(
            in_process=True,
            api_port=0,
            outbox=self.out / "channel-outbox.jsonl",
            on_ingest=self._collect,
            clock=self.clock,
        ).start()
        self._stack = stack
        self._t0 = t0
        try:
            self.router = stack.router  # the stack's wiring, on the virtual clock
            self.router.on_status_change = self.events.append
            c = self.console
            c.rule(f"[bold]Saiken demo: {self.days} days of dunning on the local AWS (moto, virtual clock)")
            c.print(f"start {t0:%Y-%m-%d %H:%M} JST, seed {self.seed}, ~{self.receivables} receivables, 2 creditors")
            self.replies = Replies(self.seed)
            outage = self._outage = self._install_outage(t0)
            self.history = HistoryTap(wiring.dunning_service().contacts)
            wiring.dunning_service().contacts = self.history
            self._configure()
            self._ingest()
            api = self._api_calls(stack.api_url or "")
            self.router.settle()
            scheduled = len(self.router.due_schedules(wiring.settings().schedule_group))
            c.print(f"{scheduled} receivables have their first reminder scheduled (one schedule each)")
            self._simulate(t0, t0 + timedelta(days=self.days))
            summary = self._summarise(api, outage, scheduled, time.perf_counter() - began)
            self._print(summary)
            return summary
        finally:
            stack.stop()

    # -- setup -------------------------------------------------------------------------
    def _configure(self) -> None:
        s3 = boto3.client("s3", region_name="ap-northeast-1")
        bucket = wiring.settings().bucket
        base = default_rules().model_dump(mode="json")
        for creditor, info in CREDITORS.items():
            rules = {
                **base,
                "name": f"{info['sender']} 督促ルール",
                "sender": {"name": info["sender"], "phone": info["phone"], "email": info["email"]},
                "writeoff": {"days_past_due": WRITEOFF_DAYS, "min_balance": 1},
                "escalation": DEMO_ESCALATION,
            }
            body = json.dumps(rules, ensure_ascii=False).encode()  # JSON is YAML
            s3.put_object(Bucket=bucket, Key=rules_key(creditor), Body=body)
        s3.put_object(Bucket=bucket, Key=mapping_key("globex"), Body=GLOBEX_MAPPING.encode())

    def _ingest(self) -> None:
        s3 = boto3.client("s3", region_name="ap-northeast-1")
        bucket = wiring.settings().bucket
        rows = -(-self.receivables * BAD_EVERY // (BAD_EVERY - 1))  # enough that the accepted ones reach the target
        acme_rows = rows * 3 // 5
        files = [
            (
                "acme",
                write_file(
                    self.out / "portfolio" / "acme_receivables_sjis.csv",
                    acme_rows,
                    encoding="cp932",
                    seed=self.seed,
                    prefix="A",
                    bad_every=BAD_EVERY,
                    today=self.start,
                ),
            ),
            (
                "globex",
                write_file(
                    self.out / "portfolio" / "globex_請求データ.csv",
                    rows - acme_rows,
                    encoding="utf-8-sig",
                    seed=self.seed + 1,
                    prefix="G",
                    bad_every=BAD_EVERY,
                    today=self.start,
                    headers=HEADERS_CUSTOM,
                ),
            ),
        ]
        for creditor, path in files:
            key = f"incoming/{creditor}/receivables/{path.name}"
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
            self._stack_pump()
        # S3 delivers at least once: the same event again is recognised and skipped.
        self._replay(f"incoming/acme/receivables/{files[0][1].name}")
        table = Table("creditor/file", "enc", "state", "rows", "accepted", "rejected", title="S3 intake")
        for r in self.runs:
            _, creditor, _, name = r["file_key"].split("/", 3)
            table.add_row(
                f"{creditor}/{name}",
                r.get("encoding") or "-",
                r["state"],
                *(str(r.get(k, "-")) for k in ("rows", "accepted", "rejected")),
            )
        self.console.print(table)

    def _replay(self, key: str) -> None:
        """The same object's event once more (same bytes, same ETag), as S3 may deliver it."""
        bucket = wiring.settings().bucket
        boto3.client("s3", region_name="ap-northeast-1").copy_object(
            Bucket=bucket,
            Key=key,
            CopySource={"Bucket": bucket, "Key": key},
            MetadataDirective="REPLACE",
            Metadata={"replayed": "true"},
        )
        self._stack_pump()

    def _stack_pump(self) -> None:
        self._stack.pump()  # the S3 event reaches the ingest function

    def _collect(self, event: IngestEvent) -> None:
        runs = self.payment_runs if "/payments/" in event.key else self.runs
        if event.result is not None:
            runs.append(event.result)
        else:
            runs.append({"file_key": event.key, "state": "error", "error_message": event.error})

    def _api_calls(self, base: str) -> dict[str, Any]:
        acme_key = wiring.api_keys().issue("acme", name="demo")
        globex_key = wiring.api_keys().issue("globex", name="demo")

        def call(method: str, path: str, key: str | None, body: Any = None) -> requests.Response:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return requests.request(method, base + path, headers=headers, json=body, timeout=30)

        due = self.start + timedelta(days=3)
        batch = [
            {
                "debtor_id": "API-D1",
                "debtor_name": "高橋 健一",
                "phone": "080-2222-3333",
                "email": "takahashi@example.co.jp",
                "receivable_id": "API-R1",
                "amount": "￥48,000",
                "due_date": f"{due:%Y/%m/%d}",
                "segment": "B",
            },
            {
                "debtor_id": "API-D1",
                "debtor_name": "高橋 健一",
                "phone": "080-2222-3333",
                "receivable_id": "API-R2",
                "amount": 5500,
                "due_date": due.isoformat(),
            },
            {"debtor_id": "API-D2", "debtor_name": "", "receivable_id": "API-R3", "amount": "12.5", "due_date": "x"},
        ]
        self._call, self._keys = call, {"acme": acme_key, "globex": globex_key}
        pushed = call("POST", "/receivables/batch", acme_key, {"items": batch}).json()
        cancelled = call("PUT", "/receivables/API-R2/status", acme_key, {"status": "cancelled", "reason": "請求取消"})
        result = {
            "batch_accepted": pushed["accepted"],
            "batch_rejected": pushed["rejected"],
            "rejections": [
                f"{e['field'] or '-'}: {e['code']}" for item in pushed["results"] for e in item.get("errors", [])
            ],
            "cancelled": cancelled.json().get("status"),
            "other_creditor_read_status": call("GET", "/receivables/API-R1", globex_key).status_code,
            "no_key_status": call("GET", "/receivables", None).status_code,
        }
        self.console.print(
            f"REST API: batch {result['batch_accepted']} accepted / {result['batch_rejected']} rejected "
            f"({'; '.join(result['rejections'])}); API-R2 -> {result['cancelled']}; "
            f"globex reading acme's API-R1 -> HTTP {result['other_creditor_read_status']}"
        )
        return result

    def _install_outage(self, t0: datetime) -> SmsOutage:
        """Wrap the channels the send path holds (the same dict): an SMS outage inside, and the
        outbox recorder outside, so outbox.jsonl has exactly what a provider accepted."""
        channels = wiring.channels()
        midnight = t0.replace(hour=0)
        outage = SmsOutage(channels[Channel.SMS], self.clock, midnight + SMS_OUTAGE[0], midnight + SMS_OUTAGE[1])
        channels[Channel.SMS] = outage
        for channel in Channel:
            channels[channel] = Delivered(channels[channel], self.clock, self.outbox, self.replies)
        return outage

    # -- the simulation ------------------------------------------------------------------
    def _simulate(self, t0: datetime, end: datetime) -> None:
        rng = random.Random(self.seed)
        self.feed = PaymentFeed(random.Random(self.seed + 100))
        timeline: list[tuple[datetime, str, str, str, int]] = []  # (at, kind, creditor, id, amount)
        for creditor in CREDITORS:
            portfolio = list(ReceivableRepository().iterate(creditor))
            for r in portfolio:
                if not r.status.is_dunnable:
                    continue
                days_to_pay = _payer_days(rng)
                if days_to_pay is not None:
                    pay_day = max(r.due_date + timedelta(days=days_to_pay), self.start)
                    at = datetime(pay_day.year, pay_day.month, pay_day.day, rng.randint(8, 22), tzinfo=JST)
                    amount = r.balance
                    if rng.random() < 0.08:  # pays half first, the rest a few days later
                        timeline.append((at, "payment", creditor, r.receivable_id, r.balance // 2))
                        at += timedelta(days=rng.randint(2, 6))
                        amount = r.balance - r.balance // 2
                    elif rng.random() < 0.03:  # pays a little too much: a credit
                        amount = r.balance + 1000
                    timeline.append((at, "payment", creditor, r.receivable_id, amount))
            debtors = sorted({r.debtor_id for r in portfolio})
            for d in _sample(rng, debtors, 0.02):
                timeline.append(
                    (t0 + timedelta(days=rng.randint(3, 20), hours=rng.randint(1, 10)), "lawyer", creditor, d, 0)
                )
            for d in _sample(rng, debtors, 0.03):
                timeline.append(
                    (t0 + timedelta(days=rng.randint(1, 15), hours=rng.randint(1, 10)), "optout", creditor, d, 0)
                )
        midnight = t0.replace(hour=0)
        for day in range(self.days + 1):
            base = midnight + timedelta(days=day)
            timeline.append((base + timedelta(hours=2), "daily", "", "", 0))  # the write-off job
            for hour in BANK_FILES:  # the bank's 入金明細 files
                timeline.append((base + hour, "bank", "", "", 0))
        timeline.append((midnight + timedelta(days=9, hours=10), "bank_reversal", "acme", "", 0))
        timeline.append((midnight + timedelta(days=3, hours=9), "replay", "", "", 0))
        for day in range(2, self.days, OPERATOR_EVERY_DAYS):  # an operator works the unmatched queue
            timeline.append((midnight + timedelta(days=day, hours=10), "operator", "", "", 0))
            timeline.append((midnight + timedelta(days=day, hours=15), "worklist", "", "", 0))
        self._callers: dict[str, list[str]] = {}
        for creditor in CREDITORS:  # operators record disputes and holds as debtors call in
            ids = sorted(r.receivable_id for r in ReceivableRepository().iterate(creditor) if r.status.is_dunnable)
            rng.shuffle(ids)
            self._callers[creditor] = ids  # who calls next (someone who has paid does not)
            for kind, share in (("dispute", DISPUTE_SHARE), ("hold", HOLD_SHARE)):
                for _ in range(max(1, round(len(ids) * share))):
                    at = t0 + timedelta(days=rng.randint(1, 30), hours=rng.randint(2, 9))
                    timeline.append((at, kind, creditor, "", 0))
        # ops see the DLQ alarm during the SMS outage and redrive the DLQ an hour after it ends
        timeline.append((self._outage.ends + timedelta(hours=1), "redrive", "", "", 0))
        timeline = sorted(t for t in timeline if t[0] < end)
        i = 0
        while True:
            candidates = [end]
            fire = self.router.next_fire_time()
            if fire is not None:
                candidates.append(max(fire, self.clock()))
            if i < len(timeline):
                candidates.append(max(timeline[i][0], self.clock()))
            retry = self.router.next_retry  # failed messages come back after their backoff
            if retry is not None:
                candidates.append(max(retry, self.clock()))
            moment = min(candidates)
            if moment >= end:
                break
            self.clock.set(moment)
            while i < len(timeline) and timeline[i][0] <= moment:
                self._apply(timeline[i])
                i += 1
            self.router.settle()
            while self.replies.deliver():  # the providers' events about what just went out
                self.router.settle()
            self._collect_escalations()
        self.clock.set(end)

    def _apply(self, event: tuple[datetime, str, str, str, int]) -> None:
        at, kind, creditor, ident, amount = event
        if kind == "redrive":
            self.redriven += self.router.redrive_dlq()
        elif kind == "payment":
            r = ReceivableRepository().get(creditor, ident)
            if r is None or r.status.value == "cancelled":  # cancelled through the API meanwhile
                return
            debtor = DebtorRepository().get(creditor, r.debtor_id)
            kana = debtor.name_kana if debtor else None
            self.feed.pay(at, creditor, ident, r.debtor_id, kana, r.virtual_account, amount)
        elif kind == "bank":
            self._deliver_bank_files(at)
        elif kind == "bank_reversal":  # the bank takes back one payment it reported (取消)
            taken = next((p for p in self.feed.delivered if p.creditor_id == creditor and p.how == "name"), None)
            if taken is not None:
                self.feed.cancel(taken)
        elif kind == "replay" and self.payment_files:  # S3 delivers a payments file's event again
            self._replay(self.payment_files[0])
        elif kind == "daily":
            result = invoke("reconcile", {}, LocalContext("saiken-reconcile-daily"), entry="daily")
            self.daily_runs.extend(result["creditors"])
        elif kind == "operator":
            self._work_unmatched_queue()
        elif kind == "worklist":
            self._work_worklist()
        elif kind in ("dispute", "hold"):
            self._dispute(kind, at, creditor)
        else:
            repo = DebtorRepository()
            debtor = repo.get(creditor, ident)
            if debtor is None:
                return
            if kind == "lawyer":
                repo.save(debtor.model_copy(update={"lawyer_retained": True}))
            else:
                repo.save(debtor.model_copy(update={"opt_outs": sorted({*debtor.opt_outs, "sms"})}))

    def _dispute(self, kind: str, at: datetime, creditor: str) -> None:
        """A debtor with an open receivable calls in; the operator records it through the API."""
        callers = self._callers[creditor]
        while callers:
            receivable_id = callers.pop()
            current = ReceivableRepository().get(creditor, receivable_id)
            if current is not None and current.status.is_dunnable:
                break
        else:
            return
        if kind == "dispute":
            body = {"by": "demo-operator", "reason": "amount_disputed", "note": "請求額に心当たりがないとの申し出"}
        else:
            until = (at + timedelta(days=7)).date().isoformat()
            body = {"by": "demo-operator", "reason": "payment_plan", "until": until, "note": "分割払いの相談中"}
        answer = self._call("POST", f"/receivables/{receivable_id}/{kind}", self._keys[creditor], body)
        self.case_actions[f"{kind}:{answer.status_code}"] += 1

    def _work_worklist(self) -> None:
        """Operators call the top of each worklist and log the outcome (the worklist updates)."""
        for key in self._keys.values():
            items = self._call("GET", "/worklist?limit=5", key).json()
            for n, item in enumerate(items):
                rid = item["receivable"]["receivable_id"]
                outcome = "no_answer" if n % 3 == 2 else "contacted"
                note = {"by": "demo-operator", "text": "督促架電", "outcome": outcome}
                answer = self._call("POST", f"/receivables/{rid}/notes", key, note)
                self.case_actions[f"worklist_call:{outcome}:{answer.status_code}"] += 1

    def _collect_escalations(self) -> None:
        now = self.clock().astimezone(JST).isoformat()
        for detail in self.router.escalation.escalated():
            self.escalations.append({"at": now, **detail})
        self.handoffs.extend(self.router.escalation.handed_off())

    def _deliver_bank_files(self, now: datetime) -> None:
        s3 = boto3.client("s3", region_name="ap-northeast-1")
        bucket = wiring.settings().bucket
        for creditor, payments in self.feed.due(now).items():
            local = now.astimezone(JST)
            if creditor == "acme":
                key = f"incoming/acme/payments/zengin-{local:%Y%m%d-%H%M}.txt"
                body = zengin_file(payments, local.date())
            else:
                key = f"incoming/globex/payments/入金明細-{local:%Y%m%d-%H%M}.csv"
                body = csv_file(payments)
            path = self.out / "payments" / key.rsplit("/", 1)[-1]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            self.payment_files.append(key)
        self._stack_pump()

    def _work_unmatched_queue(self) -> None:
        """An operator goes through the unmatched queue (API), finds the payer (a phone call) and
        matches the payment by hand."""
        meant = {p.payment_id: p for p in self.feed.delivered}
        for creditor, key in self._keys.items():
            queue = self._call("GET", "/payments/unmatched?limit=500", key).json()
            for payment in queue[:OPERATOR_MATCHES]:
                intended = meant.get(payment["payment_id"])
                if intended is None:
                    continue
                response = self._call(
                    "POST", f"/payments/{payment['payment_id']}/match", key, {"receivable_id": intended.receivable_id}
                )
                self.manual_matches.append(
                    {
                        "creditor_id": creditor,
                        "payment_id": payment["payment_id"],
                        "status": response.status_code,
                        "state": response.json().get("state"),
                    }
                )

    # -- outputs -------------------------------------------------------------------------
    def _summarise(self, api: dict[str, Any], outage: SmsOutage, scheduled: int, seconds: float) -> dict[str, Any]:
        from saiken.local.inspect import sent_emails

        held_back = [c for c in self.history.contacts.values() if c.outcome != "sent"]
        sent = sorted(self.outbox, key=lambda m: (m["sent_at"], m["receivable_id"], m["channel"]))
        with (self.out / "outbox.jsonl").open("w", encoding="utf-8") as f:
            for m in sent:
                f.write(json.dumps(m, ensure_ascii=False) + "\n")
        with (self.out / "events.jsonl").open("w", encoding="utf-8") as f:
            for e in self.events:
                f.write(
                    json.dumps(
                        {
                            "at": e.at.isoformat(),
                            "creditor_id": e.creditor_id,
                            "receivable_id": e.receivable_id,
                            "from": e.old,
                            "to": e.new,
                            "reason": e.reason,
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
            for esc in self.escalations:
                line = {
                    "at": esc["at"],
                    "creditor_id": esc["creditor_id"],
                    "receivable_id": esc["receivable_id"],
                    "from": None,
                    "to": f"stage:{esc['stage']}",
                    "reason": "escalated",
                }
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
        stored: dict[str, int] = {}
        segments: Counter[str] = Counter()
        for creditor in CREDITORS:
            items = list(ReceivableRepository().iterate(creditor))
            stored[creditor] = len(items)
            segments.update(f"{creditor}/{r.segment or '-'}" for r in items)
        per_channel = Counter(m["channel"] for m in sent)
        suppressed = Counter(c.reason for c in held_back if c.outcome == "suppressed")
        deferred = Counter(m["deferred_because"] for m in sent if m["deferred_because"])
        reconciliation = self._reconciliation()
        written_off = [e for e in self.events if e.new == "written_off"]
        summary = {
            "simulated": {
                "from": self._t0.isoformat(),
                "to": self.clock().isoformat(),
                "days": self.days,
                "seed": self.seed,
            },
            "intake": [
                {k: r.get(k) for k in ("file_key", "state", "encoding", "rows", "accepted", "rejected", "error_counts")}
                for r in self.runs
            ],
            "receivables": sum(stored.values()),
            "receivables_per_creditor": stored,
            "receivables_per_segment": dict(sorted(segments.items())),
            "first_schedules": scheduled,
            "reminders_sent": sum(per_channel.values()),
            "reminders_sent_per_channel": {ch.value: per_channel.get(ch.value, 0) for ch in Channel},
            "suppressed_per_reason": dict(suppressed.most_common()),
            "deferred_per_reason": dict(deferred.most_common()),
            "failed": sum(1 for c in held_back if c.outcome == "failed"),
            "payments": reconciliation["payments_in"],
            "paid_receivables": sum(1 for e in self.events if e.new == "paid"),
            "paid_amount": reconciliation["collected"],
            "collected_amount": reconciliation["collected"],
            "reconciliation": reconciliation,
            "write_offs": {
                "receivables": len(written_off),
                "amount": sum(r["written_off_amount"] for r in self.daily_runs),
                "exports": sorted({k for r in self.daily_runs if r["written_off"] for k in r["reports"][:1]}),
                "nearing_limitation": max((r["nearing_limitation"] for r in self.daily_runs), default=0),
            },
            "status_changes": dict(Counter(f"{e.old}->{e.new}" for e in self.events if e.old)),
            "cases": self._cases(),
            "sms_outage": {
                "from": outage.begins.isoformat(),
                "to": outage.ends.isoformat(),
                "refused_attempts": outage.refused,
                "reminders_refused": len(outage.refused_ids),
                "redriven_from_dlq": self.redriven,
                "send_queue_dlq": self.router.dlq_depth(),
                # every refused reminder ends sent, or held back by a guardrail (paid meanwhile...)
                "not_delivered": sorted(
                    outage.refused_ids[rid]
                    for rid in set(outage.refused_ids)
                    - {m["reminder_id"] for m in sent}
                    - {c.reminder_id for c in held_back}
                ),
            },
            "emails_in_moto_ses": len(sent_emails()),
            "schedules_fired": self.router.fired,
            "send_invocations": self.router.send_invocations,
            "api": api,
            "checks": check_outbox(
                self.out / "outbox.jsonl", self.out / "events.jsonl", default_rules().guardrails.daily_cap
            ),
            "seconds": round(seconds, 1),
        }
        (self.out / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )
        return summary

    def _cases(self) -> dict[str, Any]:
        """応対管理 over the run: replies, promises, disputes, escalations, the worklist now."""
        follow = [r["follow_up"] for r in self.daily_runs]
        replies = self.replies.results
        worklist = {}
        for creditor, key in self._keys.items():
            items = self._call("GET", "/worklist?limit=500", key).json()
            worklist[creditor] = {
                "size": len(items),
                "top": [
                    {
                        "receivable_id": w["receivable"]["receivable_id"],
                        "priority": w["priority"],
                        "days_past_due": w["days_past_due"],
                        "why": w["receivable"]["attention"],
                    }
                    for w in items[:3]
                ],
            }
        return {
            "channel_events": dict(sorted(replies.items())),
            "promises_made": sum(1 for e in self.events if e.new == "promised"),
            "promises_made_by_ivr": replies.get("ivr:promise_recorded", 0),
            "promises_kept": sum(f["promises_kept"] for f in follow)
            + sum(1 for e in self.events if e.old == "promised" and e.new == "paid"),
            "promises_broken": sum(f["promises_broken"] for f in follow),
            "operator_requested_by_ivr": replies.get("ivr:operator", 0),
            "disputes": sum(n for k, n in self.case_actions.items() if k.startswith("dispute:2")),
            "holds": sum(n for k, n in self.case_actions.items() if k.startswith("hold:2")),
            "holds_expired": sum(f["holds_expired"] for f in follow),
            "case_api_calls": dict(sorted(self.case_actions.items())),
            "escalations_per_stage": dict(Counter(e["stage"] for e in self.escalations)),
            "handed_off": len(self.handoffs),
            "escalation_executions": self.router.escalation.started,
            "escalation_seconds": round(self.router.escalation.seconds, 2),
            "escalation_failures": len(self.router.escalation.failed),
            "worklist": worklist,
        }

    def _reconciliation(self) -> dict[str, Any]:
        """What the reconcile path did with the bank's files, from the payments table itself."""
        from saiken.adapters.payments import PaymentRepository
        from saiken.domain.payments import PaymentState

        meant = {p.payment_id: p for p in self.feed.delivered}
        states: Counter[str] = Counter()
        methods: Counter[str] = Counter()
        collected = credits = partial = 0
        misapplied: list[dict[str, Any]] = []
        for creditor in CREDITORS:
            for record in PaymentRepository().iterate(creditor):
                states[record.state.value] += 1
                if record.state is not PaymentState.APPLIED:
                    continue
                methods[record.method.value if record.method else "-"] += 1
                collected += sum(a.amount for a in record.allocations)
                credits += record.credit
                partial += any(a.balance_after for a in record.allocations)
                intended = meant.get(record.payment_id)
                if intended is not None and intended.debtor_id != record.debtor_id:
                    misapplied.append(
                        {
                            "payment_id": record.payment_id,
                            "method": record.method.value if record.method else None,
                            "payer": intended.how,
                            "meant_for": intended.receivable_id,
                            "applied_to": [a.receivable_id for a in record.allocations],
                        }
                    )
        runs = Counter(r["state"] for r in self.payment_runs)
        unmatched = Counter(p.reason for c in CREDITORS for p in wiring.reconcile_service().unmatched(c, limit=1000))
        return {
            "files": len(self.payment_files),
            "file_runs": dict(runs),
            "payments_in": len(self.feed.delivered),
            "per_state": dict(states),
            "matched_per_method": dict(methods.most_common()),
            "partial": partial,
            "unmatched_now": sum(unmatched.values()),
            "unmatched_per_reason": dict(unmatched.most_common()),
            "manual_matches": len([m for m in self.manual_matches if m["status"] == 200]),
            "reversed": states.get("reversed", 0),
            "credits": credits,
            "collected": collected,
            "misapplied": len(misapplied),
            "misapplied_payments": misapplied[:10],
            "payer_mix": dict(Counter(p.how for p in self.feed.delivered if not p.cancel)),
        }

    def _print(self, s: dict[str, Any]) -> None:
        c = self.console
        table = Table("", "email", "sms", "ivr", title=f"Reminders delivered over {s['simulated']['days']} days")
        sent = s["reminders_sent_per_channel"]
        table.add_row("sent", str(sent["email"]), str(sent["sms"]), str(sent["ivr"]))
        c.print(table)
        c.print(
            f"receivables {s['receivables']} {s['receivables_per_creditor']}; paid {s['paid_receivables']} "
            f"(¥{s['paid_amount']:,} collected from {s['payments']} bank payments)"
        )
        r = s["reconciliation"]
        table = Table(
            "入金消込", "count", title=f"Reconciliation: {r['files']} bank files (Zengin 01 for acme, CSV for globex)"
        )
        for method, n in r["matched_per_method"].items():
            table.add_row(f"matched by {method}", str(n))
        table.add_row("of which partial (balance left)", str(r["partial"]))
        table.add_row("unmatched (queue now)", f"{r['unmatched_now']} {r['unmatched_per_reason']}")
        table.add_row("reversed by the bank (取消)", str(r["reversed"]))
        table.add_row("credits (overpaid yen)", f"¥{r['credits']:,}")
        table.add_row("applied to the wrong debtor", str(r["misapplied"]))
        c.print(table)
        k = s["cases"]
        table = Table("応対管理", "count", title="Contacts, answers and escalation")
        table.add_row("promises made (of which by IVR)", f"{k['promises_made']} ({k['promises_made_by_ivr']})")
        table.add_row("promises kept / broken", f"{k['promises_kept']} / {k['promises_broken']}")
        table.add_row("IVR: asked for an operator", str(k["operator_requested_by_ivr"]))
        table.add_row("disputes / holds (expired)", f"{k['disputes']} / {k['holds']} ({k['holds_expired']})")
        table.add_row("escalations per stage", ", ".join(f"{st} {n}" for st, n in k["escalations_per_stage"].items()))
        table.add_row("handed to agency / legal", str(k["handed_off"]))
        table.add_row("worklist now", ", ".join(f"{cr} {w['size']}" for cr, w in k["worklist"].items()))
        c.print(table)
        w = s["write_offs"]
        c.print(
            f"write-offs (償却): {w['receivables']} receivables, ¥{w['amount']:,}; "
            f"limitation (消滅時効) within 90 days: {w['nearing_limitation']}"
        )
        c.print("suppressed: " + (", ".join(f"{k} {v}" for k, v in s["suppressed_per_reason"].items()) or "none"))
        c.print("deferred:   " + (", ".join(f"{k} {v}" for k, v in s["deferred_per_reason"].items()) or "none"))
        o = s["sms_outage"]
        c.print(
            f"SMS outage {o['from'][5:16]}..{o['to'][11:16]}: {o['refused_attempts']} attempts throttled "
            f"({o['reminders_refused']} reminders), retried by the queue, {o['redriven_from_dlq']} redriven from "
            f"the DLQ; undelivered: {len(o['not_delivered'])}; DLQ now: {o['send_queue_dlq']}"
        )
        for name, ok in s["checks"].items():
            c.print(
                f"  [{'green' if ok is True else 'red'}]{'✓' if ok is True else '✗'}[/] {name}"
                + ("" if ok is True else f": {ok}")
            )
        c.print(f"\nwrote {self.out}/outbox.jsonl, events.jsonl, summary.json in {s['seconds']} s")


def _payer_days(rng: random.Random) -> int | None:
    """When a debtor pays, in days from the due date (None: not within the demo)."""
    u = rng.random()
    if u < 0.50:  # most pay on or before the due date once reminded
        return rng.randint(-5, 0)
    if u < 0.80:  # "forgot": the first reminders after the due date do it
        return rng.randint(1, 7)
    if u < 0.94:  # slower
        return rng.randint(8, 25)
    return None  # still unpaid when the simulation ends (escalation's business)


def _sample(rng: random.Random, debtors: list[str], share: float) -> list[str]:
    return rng.sample(debtors, max(1, int(len(debtors) * share)))


def check_outbox(outbox: Path, events: Path, daily_cap: int) -> dict[str, Any]:
    """The rules the issue names, checked on the files a user reads. True, or what broke."""
    from saiken.domain.guardrails import _jp_holidays

    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines() if line]
    statuses: dict[tuple[str, str], list[tuple[str, str]]] = {}  # receivable -> (at, status from then on)
    for line in events.read_text(encoding="utf-8").splitlines():
        e = json.loads(line)
        if not str(e["to"]).startswith("stage:"):  # escalations are not status changes
            statuses.setdefault((e["creditor_id"], e["receivable_id"]), []).append((e["at"], e["to"]))

    def status_at(key: tuple[str, str], at: str) -> str:
        state = "open"
        for when, status in statuses.get(key, ()):
            if when > at:
                break
            state = status
        return state

    def was_closed(key: tuple[str, str], at: str) -> bool:
        """Paid or written off at that moment (a payment the bank took back reopens it)."""
        return status_at(key, at) in ("paid", "written_off")

    per_day: Counter[tuple[str, str, str]] = Counter()
    night, holiday, after_paid, not_named, while_held = [], [], [], [], []
    for m in lines:
        at = datetime.fromisoformat(m["sent_at"])
        if m["channel"] in ("sms", "ivr", "email") and not (8 <= at.hour < 21):
            night.append(m["receivable_id"])
        d = at.date()
        if d in _jp_holidays(d.year) or (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3):
            holiday.append(m["receivable_id"])
        if was_closed((m["creditor_id"], m["receivable_id"]), m["sent_at"]):
            after_paid.append(m["receivable_id"])
        if status_at((m["creditor_id"], m["receivable_id"]), m["sent_at"]) in ("disputed", "on_hold"):
            while_held.append(m["receivable_id"])
        if CREDITORS[m["creditor_id"]]["sender"] not in (m["body"] or "") + (m["subject"] or ""):
            not_named.append(m["receivable_id"])
        per_day[(m["creditor_id"], m["debtor_id"], d.isoformat())] += 1
    over_cap = [k for k, n in per_day.items() if n > daily_cap]
    return {
        "no SMS/IVR/email outside 08:00-21:00 JST": not night or night[:5],
        "nothing on a public holiday or 12/29-1/3": not holiday or holiday[:5],
        f"no debtor above {daily_cap} contacts a day": not over_cap or over_cap[:5],
        "no message after the receivable was paid or written off": not after_paid or after_paid[:5],
        "every message names the creditor": not not_named or not_named[:5],
        "nothing while disputed or on hold": not while_held or while_held[:5],
    }
