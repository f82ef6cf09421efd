"""Channel feedback into the timeline and into the rules: a bounce or an opt-out stops that channel
for the debtor, an IVR "1" records a promise to pay, an IVR "2" puts the receivable on the
collector worklist. Every provider event is recorded once, however often it is delivered."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from saiken.domain.cases import CaseError, parse_ivr
from saiken.domain.errors import NotFound
from saiken.domain.feedback import Feedback
from saiken.domain.models import Debtor, EventKind, Receivable, TimelineEvent, event_id
from saiken.domain.planner import JST
from saiken.observability import logger
from saiken.services.cases import CaseService
from saiken.services.versioned import update_versioned


@dataclass
class FeedbackService:
    receivables: Any  # ReceivableRepository
    debtors: Any  # DebtorRepository
    timeline: Any  # ContactRepository
    cases: CaseService
    replan_debtor: Callable[[str, str], int]
    clock: Callable[[], datetime]

    def handle(self, items: list[Feedback]) -> tuple[Counter[str], dict[str, str]]:
        """Apply each item; returns what was done per kind, and the IVR flow's answer (if any)."""
        done: Counter[str] = Counter()
        answer: dict[str, str] = {}
        for fb in items:
            outcome = self._one(fb, answer)
            done[outcome] += 1
        return done, answer

    def _one(self, fb: Feedback, answer: dict[str, str]) -> str:
        at = fb.at or self.clock()
        if fb.kind == EventKind.OPTED_OUT and fb.phone:
            return self._opt_out_number(fb, at)
        if not (fb.creditor_id and fb.receivable_id):
            logger.warning("channel event without our reference", extra={"kind": fb.kind, "channel": fb.channel})
            return "unreferenced"
        r = self.receivables.get(fb.creditor_id, fb.receivable_id)
        if r is None:
            return "unknown_receivable"
        # Recorded first, then applied; every effect is idempotent and is applied again on a
        # redelivery, so a crash between the two is healed by the retry (the entry stays one).
        fresh = self._record(r, fb, at)
        done = str(fb.kind)
        if fb.kind == EventKind.BOUNCED:
            self._block(r, fb.channel, "bounced")
        elif fb.kind == EventKind.COMPLAINED:
            self._block(r, fb.channel, "opt_outs")
        elif fb.channel == "ivr" and fb.kind == EventKind.IVR_ANSWERED:
            done = self._ivr(r, fb, at, answer if fresh else {})
        if not fresh:
            answer.setdefault("outcome", "duplicate")
            return "duplicate"
        return done

    def _record(self, r: Receivable, fb: Feedback, at: datetime) -> bool:
        detail = {k: v for k, v in fb.detail.items() if v is not None}
        if fb.reminder_id:
            detail["reminder_id"] = fb.reminder_id
        if fb.dtmf:
            detail["dtmf"] = fb.dtmf
        actor = "provider" if fb.channel != "ivr" else "debtor"
        event = TimelineEvent.about(
            r, fb.kind, source=f"{fb.channel}:{fb.source_id}", at=at, actor=actor, channel=fb.channel, detail=detail
        )
        return bool(self.timeline.record_event(event))

    def _ivr(self, r: Receivable, fb: Feedback, at: datetime, answer: dict[str, str]) -> str:
        today = at.astimezone(JST).date()
        parsed = parse_ivr(fb.result, fb.dtmf, fb.promised_date, today)
        if parsed.operator:
            self.cases.request_operator(r, actor="debtor", channel="ivr", source_id=fb.source_id)
            answer["outcome"] = "operator"
            return EventKind.OPERATOR_REQUESTED
        if fb.dtmf == "1":
            if parsed.promise_on is None:
                answer["outcome"] = "invalid_date"  # the flow asks again
                return "invalid_date"
            try:
                promised = self.cases.promise(
                    r.creditor_id,
                    r.receivable_id,
                    parsed.promise_on,
                    actor="debtor",
                    channel="ivr",
                    source_id=fb.source_id,
                )
            except CaseError as exc:
                answer["outcome"] = exc.code
                return f"promise_refused:{exc.code}"
            answer["outcome"] = "promise_recorded"
            answer["promised_date"] = f"{promised.promised_until:%Y%m%d}"
            return EventKind.PROMISE_MADE
        answer["outcome"] = "answered"
        return EventKind.IVR_ANSWERED

    def _block(self, r: Receivable, channel: str, field_name: str) -> None:
        """A hard bounce / a complaint: this channel stops for the debtor (the others go on)."""
        if self._add_flag(r.creditor_id, r.debtor_id, field_name, channel):
            self.replan_debtor(r.creditor_id, r.debtor_id)

    def _add_flag(self, creditor_id: str, debtor_id: str, field_name: str, channel: str) -> bool:
        """Add ``channel`` to the debtor's ``bounced`` / ``opt_outs``; False if it was there (or no debtor)."""

        def add(debtor: Debtor) -> Debtor:
            return debtor.model_copy(update={field_name: sorted({*getattr(debtor, field_name), channel})})

        try:
            _, after = update_versioned(
                lambda: self.debtors.get(creditor_id, debtor_id), add, self.debtors.save, label=f"debtor {debtor_id!r}"
            )
        except NotFound:
            return False
        return after is not None

    def _opt_out_number(self, fb: Feedback, at: datetime) -> str:
        """STOP / 停止 from a number: SMS stops for every debtor with that number."""
        assert fb.phone is not None
        found = self.debtors.with_phone(fb.phone)
        for creditor_id, debtor_id in found:
            self.timeline.record_event(
                TimelineEvent(
                    creditor_id=creditor_id,
                    debtor_id=debtor_id,
                    event_id=event_id("sms", fb.source_id, creditor_id),
                    at=at,
                    kind=EventKind.OPTED_OUT,
                    channel="sms",
                    actor="debtor",
                    detail=dict(fb.detail),
                )
            )
            if self._add_flag(creditor_id, debtor_id, "opt_outs", "sms"):
                self.replan_debtor(creditor_id, debtor_id)
        return EventKind.OPTED_OUT if found else "unknown_number"
