"""Automated dunning: keep each open receivable's one pending schedule right, and deliver a slot
when its schedule fires.

- ``on_change``: the receivables stream says something changed; re-plan the next slot and
  upsert (or delete) the receivable's single schedule.
- ``fire``: a schedule fired (via the send queue). Re-read the receivable and the debtor,
  re-apply every guardrail, deliver each step exactly once (idempotency keyed by the reminder
  id), record each outcome in the contact history, then chain the next slot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import jinja2
from aws_lambda_powertools.metrics import MetricUnit

from saiken.domain.cases import NextStage, next_stage
from saiken.domain.delivery import DeliveryError, DeliveryRejected, Outgoing
from saiken.domain.errors import NotFound
from saiken.domain.guardrails import Reason, debtor_reason, receivable_reason
from saiken.domain.messages import Renderer, TemplateNotFound
from saiken.domain.models import Contact, ContactOutcome, Debtor, EventKind, Receivable, TimelineEvent
from saiken.domain.planner import JST, PlannedStep, Planner, Slot, from_jst, jst_day, to_jst
from saiken.domain.rules import BrokenPromise, Channel, CreditorConfig, Sender
from saiken.domain.status import ReceivableStatus
from saiken.observability import logger, metrics

PAYLOAD_KIND = "reminder-slot"
# The fields a plan depends on: a change to anything else (a note, a source file) re-plans nothing.
PLAN_FIELDS = (
    "status",
    "due_date",
    "segment",
    "product",
    "balance",
    "score",
    "stage",
    "stage_rank",
    "promised_until",
    "debtor_id",
)


class ChannelPort(Protocol):
    def send(self, message: Outgoing) -> str: ...


class Schedules(Protocol):
    def upsert(self, creditor_id: str, receivable_id: str, at: datetime, payload: dict[str, Any]) -> str: ...
    def delete(self, creditor_id: str, receivable_id: str) -> bool: ...


@dataclass
class SlotResult:
    receivable_id: str
    sent: list[str] = field(default_factory=list)  # channels
    suppressed: dict[str, str] = field(default_factory=dict)  # reminder id -> reason
    failed: dict[str, str] = field(default_factory=dict)
    deferred_to: datetime | None = None
    next_slot: datetime | None = None
    stopped: str | None = None


def slot_payload(creditor_id: str, receivable_id: str, slot: Slot) -> dict[str, Any]:
    return {
        "kind": PAYLOAD_KIND,
        "creditor_id": creditor_id,
        "receivable_id": receivable_id,
        "slot": slot.at.isoformat(),
        "reminders": [{"id": s.reminder_id, "channel": s.channel.value, "offset": s.offset} for s in slot.steps],
    }


def plan_view(r: Receivable | None) -> tuple[Any, ...] | None:
    return None if r is None else tuple(getattr(r, f) for f in PLAN_FIELDS)


def escalation_view(r: Receivable | None) -> tuple[Any, ...] | None:
    """What the next stage boundary depends on."""
    return None if r is None else (r.status, r.stage_rank, r.stage, r.due_date, r.balance > 0)


def _broke_promise_to_escalate(
    old: Receivable | None, new: Receivable, config_for: Callable[[str], CreditorConfig]
) -> bool:
    if old is None or old.status is not ReceivableStatus.PROMISED or new.status_reason != "promise_broken":
        return False
    return config_for(new.creditor_id).rules.escalation.on_broken_promise is BrokenPromise.ESCALATE


class DunningService:
    def __init__(
        self,
        *,
        receivables: Any,
        debtors: Any,
        contacts: Any,
        schedules: Schedules,
        config_for: Callable[[str], CreditorConfig],
        channels: dict[Channel, ChannelPort],
        clock: Callable[[], datetime],
        once: Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]] = lambda f: f,
        escalations: Schedules | None = None,
    ) -> None:
        self.receivables = receivables
        self.debtors = debtors
        self.contacts = contacts
        self.schedules = schedules
        self.config_for = config_for
        self.channels = channels
        self.clock = clock
        self._planners: dict[str, Planner] = {}  # per creditor, rebuilt when its rules object changes
        self.escalations = escalations  # one pending stage boundary per receivable (None: no escalation)
        self._deliver_once = once(self._deliver)
        self._batch: dict[tuple[str, str], tuple[Receivable | None, Debtor | None]] = {}

    def planner(self, creditor_id: str) -> Planner:
        rules = self.config_for(creditor_id).rules
        planner = self._planners.get(creditor_id)
        if planner is None or planner.rules is not rules:
            planner = self._planners[creditor_id] = Planner(rules)
        return planner

    # -- what an operator looks at ------------------------------------------------------
    def plan(self, creditor_id: str, receivable_id: str, *, whole: bool = False) -> dict[str, Any]:
        """A receivable's remaining calendar (``whole``: all of it), each step with its guardrail."""
        r = self.receivables.get(creditor_id, receivable_id)
        if r is None:
            raise NotFound(f"receivable {receivable_id!r} not found")
        debtor = self.debtors.get(creditor_id, r.debtor_id)
        planner = self.planner(creditor_id)
        steps = planner.calendar_for(r, debtor) if whole else planner.remaining(r, self.clock(), debtor)
        return {
            "receivable_id": receivable_id,
            "status": r.status.value,
            "due_date": r.due_date.isoformat(),
            "segment": planner.segment_for(r).name,
            "steps": [step.describe() for step in steps],
        }

    # -- the stream side ---------------------------------------------------------------
    def on_change(self, old: Receivable | None, new: Receivable | None) -> str:
        """Returns what happened to the receivable's schedule: scheduled / deleted / unchanged."""
        if new is None:
            assert old is not None
            self.schedules.delete(old.creditor_id, old.receivable_id)
            if self.escalations is not None:
                self.escalations.delete(old.creditor_id, old.receivable_id)
            return "deleted"
        if old is not None and plan_view(old) == plan_view(new):
            return "unchanged"
        debtor = self.debtors.get(new.creditor_id, new.debtor_id)
        slot = self.reschedule(new, self.clock(), debtor)
        self._follow_transitions(old, new)
        return "scheduled" if slot else "deleted"

    # -- escalation -------------------------------------------------------------------------
    def _follow_transitions(self, old: Receivable | None, new: Receivable) -> None:
        """What a change means beyond the next reminder: the next stage boundary's schedule, and the
        timeline entries of transitions nobody else records (a stage reached, a promise kept by paying)."""
        if self.escalations is None:
            return
        if escalation_view(old) != escalation_view(new):
            self.schedule_escalation(new, at_once=_broke_promise_to_escalate(old, new, self.config_for))
        if old is None:
            return
        if (new.stage_rank or 0) > (old.stage_rank or 0) and new.stage:
            metrics.add_metric(name="Escalated", unit=MetricUnit.Count, value=1)
            self._timeline_event(new, EventKind.ESCALATED, f"stage:{new.stage}", reason=new.stage, stage_from=old.stage)
        if old.status is ReceivableStatus.PROMISED and new.status is ReceivableStatus.PAID:
            self._timeline_event(
                new, EventKind.PROMISE_KEPT, f"paid:{old.promised_until}", promised_on=str(old.promised_until)
            )

    def schedule_escalation(self, r: Receivable, *, at_once: bool = False) -> NextStage | None:
        """Upsert (or delete) the receivable's one pending stage boundary."""
        assert self.escalations is not None
        policy = self.config_for(r.creditor_id).rules.escalation
        nxt = next_stage(r, policy, self.clock(), at_once=at_once)
        if nxt is None:
            self.escalations.delete(r.creditor_id, r.receivable_id)
            return None
        self.escalations.upsert(r.creditor_id, r.receivable_id, nxt.at, nxt.payload(r))
        return nxt

    def _timeline_event(self, r: Receivable, kind: str, source: str, **detail: Any) -> None:
        reason = detail.pop("reason", None)
        event = TimelineEvent.about(
            r, kind, source=source, at=self.clock(), actor="system", reason=reason, detail=detail
        )
        self.contacts.record_event(event)

    def replan_debtor(self, creditor_id: str, debtor_id: str) -> int:
        """A debtor's flags changed (opt-out, do-not-contact, 受任通知): re-plan each of their open
        receivables now, so a hard stop removes the pending schedules at once. Returns how many."""
        debtor = self.debtors.get(creditor_id, debtor_id)
        now = self.clock()
        count = 0
        for r in self.receivables.list_for_debtor(creditor_id, debtor_id):
            if r.status.is_closed:
                continue
            self.reschedule(r, now, debtor)
            count += 1
        return count

    def reschedule(self, r: Receivable, after: datetime, debtor: Debtor | None) -> Slot | None:
        """Upsert the receivable's one schedule for its next slot after ``after`` (or delete it), and
        record the steps the plan drops on the way there (a holiday, an opt-out...) with their reason."""
        planner = self.planner(r.creditor_id)
        slot = planner.next_slot(r, after, debtor)
        if slot is None:
            self.schedules.delete(r.creditor_id, r.receivable_id)
            return None
        config = self.config_for(r.creditor_id)
        now = self.clock()
        dropped = [
            self._suppressed(r, step, step.reason, now, config)
            for step in planner.calendar_for(r, debtor, first=jst_day(after), last=jst_day(slot.at))
            if step.skipped and step.reason is not None and after < step.nominal_at <= slot.at
        ]
        if dropped:
            self.contacts.record_many(dropped)
        self.schedules.upsert(
            r.creditor_id, r.receivable_id, slot.at, slot_payload(r.creditor_id, r.receivable_id, slot)
        )
        return slot

    # -- the send side -----------------------------------------------------------------
    def prefetch(self, payloads: list[dict[str, Any]]) -> None:
        """Read the receivables and debtors of a whole SQS batch in a few batch reads (consistent)
        instead of two reads a message. ``fire`` uses each once; anything else it reads itself."""
        self._batch.clear()
        wanted = [(str(p["creditor_id"]), str(p["receivable_id"])) for p in payloads if p.get("kind") == PAYLOAD_KIND]
        if not wanted:
            return
        found = self.receivables.get_pairs(wanted)
        debtors = self.debtors.get_pairs({(r.creditor_id, r.debtor_id) for r in found.values()})
        for key in wanted:
            r = found.get(key)
            self._batch[key] = (r, debtors.get((r.creditor_id, r.debtor_id)) if r else None)

    def _read(self, creditor_id: str, receivable_id: str) -> tuple[Receivable | None, Debtor | None]:
        hit = self._batch.pop((creditor_id, receivable_id), None)
        if hit is not None:
            return hit
        r = self.receivables.get(creditor_id, receivable_id)
        return r, (self.debtors.get(creditor_id, r.debtor_id) if r else None)

    def fire(self, payload: dict[str, Any]) -> SlotResult:
        if payload.get("kind") != PAYLOAD_KIND:
            raise ValueError(f"not a reminder slot: kind={payload.get('kind')!r}")
        creditor_id, receivable_id = str(payload["creditor_id"]), str(payload["receivable_id"])
        slot_at = datetime.fromisoformat(str(payload["slot"])).astimezone(JST)
        result = SlotResult(receivable_id)
        now = self.clock()
        r, debtor = self._read(creditor_id, receivable_id)
        if r is None:
            self.schedules.delete(creditor_id, receivable_id)
            result.stopped = Reason.NOT_FOUND.value
            return result
        config = self.config_for(creditor_id)
        planner = self.planner(creditor_id)
        steps = planner.steps_at(r, slot_at)
        deferred: list[tuple[int, int]] = []
        unavailable: DeliveryError | None = None
        today = now.astimezone(JST).date()
        now_ord, now_min = from_jst(now)
        stopped_by_status = receivable_reason(r, today, config.rules.guardrails.promise_grace_days)
        for step in steps:
            reason = stopped_by_status
            if reason is None:
                reason = Reason.NOT_FOUND if debtor is None else debtor_reason(debtor, step.channel)
            if reason is not None:
                self._suppress(r, step, reason, now, config)
                result.suppressed[step.reminder_id] = reason.value
                if reason.stops_dunning:
                    result.stopped = reason.value
                continue
            assert debtor is not None
            late = planner.calendar.check(step.channel, now_ord, now_min)
            if late is not None:  # a retry or a slow queue brought it into quiet hours / a closed day
                ordinal, minute, _ = planner.calendar.defer(step.channel, now_ord, now_min)
                deferred.append((ordinal, minute))
                continue
            try:
                outcome = self._deliver_once(
                    task={"reminder_id": step.reminder_id, "slot": slot_at.isoformat()},
                    step=step,
                    r=r,
                    debtor=debtor,
                    config=config,
                )
            except DeliveryError as exc:  # the provider is down or throttling: this message comes back
                unavailable = exc
                continue
            if outcome["outcome"] == ContactOutcome.SENT:
                result.sent.append(step.channel.value)
            elif outcome["outcome"] == ContactOutcome.FAILED:
                result.failed[step.reminder_id] = outcome["reason"]
            else:
                result.suppressed[step.reminder_id] = outcome["reason"]
        if result.stopped:
            self.schedules.delete(creditor_id, receivable_id)
            return result
        if deferred:
            result.deferred_to = to_jst(*min(deferred))
            self.schedules.upsert(creditor_id, receivable_id, result.deferred_to, {**payload, "deferred": True})
            return result
        nxt = self.reschedule(r, max(now, slot_at), debtor)
        result.next_slot = nxt.at if nxt else None
        if unavailable is not None:
            # The cadence goes on (the next slot is scheduled) while this message is retried by the
            # queue; what was delivered is not delivered again (idempotency), what failed is retried.
            raise unavailable
        return result

    def _deliver(
        self, task: dict[str, Any], step: PlannedStep, r: Receivable, debtor: Debtor, config: CreditorConfig
    ) -> dict[str, Any]:
        """Exactly once per reminder id (the caller wraps it in powertools idempotency): count it
        against the debtor's day, hand it to the channel, record the outcome."""
        now = self.clock()
        day = now.astimezone(JST).date()
        guard = config.rules.guardrails
        if not self.contacts.reserve(r.creditor_id, r.debtor_id, day, step.reminder_id, guard.daily_cap):
            self._suppress(r, step, Reason.DAILY_CAP, now, config)
            return {"outcome": ContactOutcome.SUPPRESSED, "reason": Reason.DAILY_CAP.value}
        sender = config.rules.sender or Sender(name=r.creditor_id)
        try:
            message = Renderer({r.creditor_id: config.templates}).render(step, r, debtor, sender)
        except (TemplateNotFound, jinja2.TemplateError) as exc:
            # the creditor's template is broken: retrying cannot help; fail it visibly, free the cap
            self.contacts.release(r.creditor_id, r.debtor_id, day, step.reminder_id)
            reason = f"template {step.template}: {type(exc).__name__}"
            self.contacts.record(self._contact(r, step, config, now, ContactOutcome.FAILED, reason=reason))
            return {"outcome": ContactOutcome.FAILED, "reason": reason}
        to = debtor.email if step.channel is Channel.EMAIL else debtor.phone
        assert to is not None  # debtor_reason checked it
        outgoing = Outgoing(
            reminder_id=step.reminder_id,
            creditor_id=r.creditor_id,
            receivable_id=r.receivable_id,
            debtor_id=r.debtor_id,
            step=step.step,
            offset=step.offset,
            template=step.template,
            deferred_because=step.reason.value if step.deferred and step.reason else None,
            channel=step.channel.value,
            to=to,
            body=message.body,
            subject=message.subject,
            sender_name=sender.name,
            reply_to=sender.email,
            attributes={
                "amount": str(r.balance),
                "due_date": r.due_date.isoformat(),
                "receivable_id": r.receivable_id,
                "reminder_id": step.reminder_id,
            },
        )
        contact = self._contact(
            r,
            step,
            config,
            now,
            ContactOutcome.SENT,
            slot=datetime.fromisoformat(task["slot"]),
            reason=outgoing.deferred_because,
            to=to,
            subject=message.subject,
            body=message.body,
            sms_parts=message.sms.parts if message.sms else None,
        )
        try:
            provider_id = self.channels[step.channel].send(outgoing)
        except DeliveryRejected as exc:
            self.contacts.record(contact.model_copy(update={"outcome": ContactOutcome.FAILED, "reason": str(exc)}))
            return {"outcome": ContactOutcome.FAILED, "reason": str(exc)}
        except Exception:
            self.contacts.release(r.creditor_id, r.debtor_id, day, step.reminder_id)
            raise  # retried by SQS; never marked sent
        try:
            self.contacts.record(contact.model_copy(update={"provider_id": provider_id}))
        except Exception:
            # The provider has the message: failing now would send it again on the retry. A missing
            # history line is the lesser harm; it is logged (ids only) and counted for the alarm.
            logger.exception("contact record failed after delivery", extra={"reminder_id": step.reminder_id})
            metrics.add_metric(name="ContactRecordFailed", unit=MetricUnit.Count, value=1)
        return {"outcome": ContactOutcome.SENT, "provider_id": provider_id}

    def _suppress(
        self, r: Receivable, step: PlannedStep, reason: Reason, now: datetime, config: CreditorConfig
    ) -> None:
        self.contacts.record(self._suppressed(r, step, reason, now, config))

    @classmethod
    def _suppressed(
        cls, r: Receivable, step: PlannedStep, reason: Reason, now: datetime, config: CreditorConfig
    ) -> Contact:
        return cls._contact(r, step, config, now, ContactOutcome.SUPPRESSED, reason=reason.value)

    @staticmethod
    def _contact(
        r: Receivable,
        step: PlannedStep,
        config: CreditorConfig,
        now: datetime,
        outcome: str,
        *,
        slot: datetime | None = None,
        **details: Any,
    ) -> Contact:
        """The contact-history entry of one step (応対履歴)."""
        return Contact(
            creditor_id=r.creditor_id,
            debtor_id=r.debtor_id,
            receivable_id=r.receivable_id,
            reminder_id=step.reminder_id,
            channel=step.channel.value,
            slot=slot or step.at or step.nominal_at,
            at=now,
            outcome=outcome,
            planned_at=step.nominal_at,
            segment=step.segment,
            step=step.step,
            offset=step.offset,
            template=step.template,
            rules_version=config.rules.version,
            **details,
        )
