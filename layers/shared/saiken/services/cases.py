"""Case handling (応対管理): promises to pay, disputes and holds, operator notes, the collector
worklist, and the daily follow-up that settles promises and ends expired holds.

Every change is a versioned write of the receivable (re-read and re-applied on a conflict) plus a
timeline event saying who, when and why. A change that stops dunning deletes the pending reminder
and escalation schedules at once (the stream would do it moments later anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from saiken.domain import cases
from saiken.domain.cases import Attention, CaseError, PromiseOutcome
from saiken.domain.errors import NotFound
from saiken.domain.models import EventKind, Receivable, TimelineEvent
from saiken.domain.planner import JST
from saiken.domain.rules import CreditorConfig
from saiken.domain.status import ReceivableStatus
from saiken.services.versioned import update_versioned

S = ReceivableStatus


class Unschedule(Protocol):
    def delete(self, creditor_id: str, receivable_id: str) -> bool: ...


@dataclass
class FollowUp:
    """What the daily follow-up did for one creditor."""

    creditor_id: str
    promises_kept: list[str] = field(default_factory=list)
    promises_broken: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "creditor_id": self.creditor_id,
            "promises_kept": len(self.promises_kept),
            "promises_broken": len(self.promises_broken),
            "holds_expired": len(self.released),
        }


@dataclass
class WorkItem:
    receivable: Receivable
    priority: float
    days_past_due: int


@dataclass
class CaseService:
    receivables: Any  # ReceivableRepository
    timeline: Any  # ContactRepository: record_event, timeline_for_receivable / _debtor
    schedules: Unschedule  # pending reminders
    escalations: Unschedule  # pending stage boundaries
    config_for: Callable[[str], CreditorConfig]
    clock: Callable[[], datetime]

    def _today(self) -> date:
        return self.clock().astimezone(JST).date()

    def _get(self, creditor_id: str, receivable_id: str) -> Receivable:
        found: Receivable | None = self.receivables.get(creditor_id, receivable_id)
        if found is None:
            raise NotFound(f"receivable {receivable_id!r} not found")
        return found

    def _change(
        self, creditor_id: str, receivable_id: str, change: Callable[[Receivable], Receivable | None]
    ) -> tuple[Receivable, Receivable | None]:
        """(before, after) of a versioned read-change-write, re-applied on a concurrent update;
        after is None when ``change`` decided there is nothing to do."""
        return update_versioned(
            lambda: self.receivables.get(creditor_id, receivable_id),
            change,
            self.receivables.save,
            label=f"receivable {receivable_id!r}",
        )

    def _debtor_receivables(self, creditor_id: str, debtor_id: str) -> list[Receivable]:
        found: list[Receivable] = self.receivables.list_for_debtor(creditor_id, debtor_id)
        if not found:
            raise NotFound(f"debtor {debtor_id!r} not found")
        return found

    def _record(
        self,
        r: Receivable,
        kind: str,
        actor: str,
        *,
        reason: str | None = None,
        note: str | None = None,
        channel: str | None = None,
        source_id: str | None = None,
        **detail: Any,
    ) -> TimelineEvent:
        now = self.clock()
        event = TimelineEvent.about(
            r,
            kind,
            source=source_id or r.version or now.isoformat(),
            at=now,
            actor=actor,
            channel=channel,
            reason=reason,
            note=note,
            detail=detail,
        )
        self.timeline.record_event(event)
        return event

    def _stop_dunning(self, r: Receivable) -> None:
        self.schedules.delete(r.creditor_id, r.receivable_id)
        self.escalations.delete(r.creditor_id, r.receivable_id)

    # -- promise to pay ---------------------------------------------------------------------
    def promise(
        self,
        creditor_id: str,
        receivable_id: str,
        on: date,
        amount: int | None = None,
        *,
        actor: str,
        channel: str = "operator",
        note: str | None = None,
        source_id: str | None = None,
    ) -> Receivable:
        """Reminders pause until ``on`` (+ the rules' grace days); the daily follow-up then decides
        kept or broken. The pending reminder is re-planned past the promise by the stream."""
        today = self._today()
        _, after = self._change(creditor_id, receivable_id, lambda r: cases.make_promise(r, on, amount, today))
        r = after or self._get(creditor_id, receivable_id)
        if after is not None:
            self.escalations.delete(creditor_id, receivable_id)  # no escalation while a promise runs
            self._record(
                r,
                EventKind.PROMISE_MADE,
                actor,
                channel=channel,
                note=note,
                source_id=source_id,
                promised_on=on.isoformat(),
                amount=r.promised_amount,
            )
        return r

    # -- dispute / hold / release -------------------------------------------------------------
    def hold(
        self,
        creditor_id: str,
        receivable_id: str,
        status: ReceivableStatus,
        reason: str,
        until: date | None = None,
        *,
        actor: str,
        note: str | None = None,
    ) -> Receivable:
        """Dispute (異議) or hold: dunning and escalation stop now; ``until`` passes -> resumes."""
        today = self._today()
        _, after = self._change(creditor_id, receivable_id, lambda r: cases.hold(r, status, reason, until, today))
        r = after or self._get(creditor_id, receivable_id)
        self._stop_dunning(r)
        if after is not None:
            kind = EventKind.DISPUTED if status is S.DISPUTED else EventKind.HELD
            self._record(r, kind, actor, reason=reason, note=note, until=until.isoformat() if until else None)
        return r

    def hold_debtor(
        self,
        creditor_id: str,
        debtor_id: str,
        status: ReceivableStatus,
        reason: str,
        until: date | None = None,
        *,
        actor: str,
        note: str | None = None,
    ) -> list[Receivable]:
        """The same for every receivable of the debtor that is not closed."""
        found = self._debtor_receivables(creditor_id, debtor_id)
        return [
            self.hold(creditor_id, r.receivable_id, status, reason, until, actor=actor, note=note)
            for r in found
            if not r.status.is_closed
        ]

    def release(
        self, creditor_id: str, receivable_id: str, *, actor: str, reason: str = "released", note: str | None = None
    ) -> Receivable:
        _, after = self._change(creditor_id, receivable_id, lambda r: cases.release(r, reason))
        assert after is not None
        self._record(after, EventKind.RELEASED, actor, reason=reason, note=note)
        return after

    def release_debtor(
        self, creditor_id: str, debtor_id: str, *, actor: str, note: str | None = None
    ) -> list[Receivable]:
        found = self._debtor_receivables(creditor_id, debtor_id)
        return [
            self.release(creditor_id, r.receivable_id, actor=actor, note=note)
            for r in found
            if r.status in cases.HOLD_STATUSES
        ]

    def record_status_change(self, before: Receivable, after: Receivable, *, actor: str) -> None:
        """The audit entry of a status set through ``PUT /receivables/{id}/status`` (hold, dispute,
        release, cancel); a hold or dispute also stops the pending schedules at once."""
        if after.status in cases.HOLD_STATUSES:
            self._stop_dunning(after)
            kind = EventKind.DISPUTED if after.status is S.DISPUTED else EventKind.HELD
        elif before.status in cases.HOLD_STATUSES:
            kind = EventKind.RELEASED
        else:
            kind = EventKind.STATUS_CHANGED
        self._record(
            after,
            kind,
            actor,
            reason=after.status_reason,
            status_from=before.status.value,
            status_to=after.status.value,
        )

    # -- operator notes and the worklist ----------------------------------------------------
    def note(
        self, creditor_id: str, receivable_id: str, text: str, *, actor: str, outcome: str | None = None
    ) -> TimelineEvent:
        """An operator's note (応対メモ). With an ``outcome`` other than ``no_answer`` / ``callback``,
        the receivable leaves the worklist (the call is done)."""
        r = self._get(creditor_id, receivable_id)
        if outcome is not None and outcome not in ("no_answer", "callback") and r.attention:
            self._change(creditor_id, receivable_id, lambda cur: cur.model_copy(update={"attention": None}))
        elif outcome == "callback" and not r.attention:
            attention = Attention.OPERATOR_REQUESTED.value
            self._change(creditor_id, receivable_id, lambda cur: cur.model_copy(update={"attention": attention}))
        # the same note sent twice at the same moment (a retried request) is one entry; two notes are two
        source = f"{self.clock().isoformat()}\x1f{actor}\x1f{text}\x1f{outcome}"
        return self._record(r, EventKind.NOTE, actor, note=text, reason=outcome, source_id=source)

    def worklist(self, creditor_id: str, limit: int = 100) -> list[WorkItem]:
        """Receivables that need a human, highest priority first."""
        today = self._today()
        items = [
            WorkItem(r, cases.priority(r, today), (today - r.due_date).days)
            for r in self.receivables.worklist(creditor_id)
        ]
        items.sort(key=lambda w: (-w.priority, w.receivable.receivable_id))
        return items[:limit]

    def request_operator(self, r: Receivable, *, actor: str, channel: str, source_id: str) -> Receivable:
        attention = Attention.OPERATOR_REQUESTED.value
        _, after = self._change(
            r.creditor_id,
            r.receivable_id,
            lambda cur: None if cur.status.is_closed else cur.model_copy(update={"attention": attention}),
        )
        self._record(r, EventKind.OPERATOR_REQUESTED, actor, channel=channel, source_id=source_id)
        return after or r

    # -- what an operator reads ------------------------------------------------------------
    def history(
        self, creditor_id: str, *, receivable_id: str | None = None, debtor_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Reminders and events in one list, oldest first (応対履歴). 404 unless it is this creditor's."""
        if receivable_id is not None:
            self._get(creditor_id, receivable_id)
            contacts, events = self.timeline.timeline_for_receivable(creditor_id, receivable_id)
        else:
            assert debtor_id is not None
            self._debtor_receivables(creditor_id, debtor_id)  # 404 unless it is this creditor's debtor
            contacts, events = self.timeline.timeline_for_debtor(creditor_id, debtor_id)
        entries = [
            {
                "at": c.at,
                "kind": c.outcome,
                "receivable_id": c.receivable_id,
                "channel": c.channel,
                "actor": "system",
                "reason": c.reason,
                "reminder_id": c.reminder_id,
                "detail": {
                    k: v
                    for k, v in {"step": c.step, "offset": c.offset, "template": c.template}.items()
                    if v is not None
                },
            }
            for c in contacts
        ] + [
            {
                "at": e.at,
                "kind": e.kind,
                "receivable_id": e.receivable_id,
                "channel": e.channel,
                "actor": e.actor,
                "reason": e.reason,
                "note": e.note,
                "detail": e.detail,
            }
            for e in events
        ]
        entries.sort(key=lambda x: x["at"])
        return entries

    def stage(self, creditor_id: str, receivable_id: str) -> dict[str, Any]:
        r = self._get(creditor_id, receivable_id)
        rules = self.config_for(creditor_id).rules
        nxt = cases.next_stage(r, rules.escalation, self.clock())
        return {
            "receivable_id": r.receivable_id,
            "stage": r.stage,
            "stage_since": r.stage_since,
            "segment": rules.select(r).name,
            "stages": [st.name for st in rules.escalation.stages],
            "next": {"stage": nxt.stage.name, "at": nxt.at} if nxt else None,
        }

    # -- the daily follow-up ------------------------------------------------------------------
    def follow_up(self, creditor_id: str) -> FollowUp:
        """Promises past their date + grace: kept (the money came) or broken (dunning resumes at the
        next step, once; per the rules also the next stage at once). Holds past ``until``: released.
        Safe to run twice: each change is conditional on the receivable being as it was read."""
        rules = self.config_for(creditor_id).rules
        grace = rules.guardrails.promise_grace_days
        policy = rules.escalation
        today = self._today()
        result = FollowUp(creditor_id)
        for r in self.receivables.in_status(creditor_id, S.PROMISED, S.DISPUTED, S.ON_HOLD):
            if r.status is S.PROMISED:
                outcome = cases.promise_outcome(r, today, grace)
                if outcome is None:
                    continue
                settled = self._settle(r, outcome, policy.broken_promise_worklist)
                if settled is not None:
                    (result.promises_kept if outcome is PromiseOutcome.KEPT else result.promises_broken).append(
                        r.receivable_id
                    )
            elif cases.hold_expired(r, today):
                try:
                    self.release(creditor_id, r.receivable_id, actor="system", reason="hold_expired")
                except CaseError:
                    continue  # released by someone else meanwhile
                result.released.append(r.receivable_id)
        return result

    def _settle(self, seen: Receivable, outcome: PromiseOutcome, worklist: bool) -> Receivable | None:
        def change(cur: Receivable) -> Receivable | None:
            # only the promise that was read: a new promise or a payment meanwhile is left alone
            if cur.status is not S.PROMISED or cur.promised_until != seen.promised_until:
                return None
            return cases.settle_promise(cur, outcome, worklist)

        _, after = self._change(seen.creditor_id, seen.receivable_id, change)
        if after is None:
            return None
        kind = EventKind.PROMISE_KEPT if outcome is PromiseOutcome.KEPT else EventKind.PROMISE_BROKEN
        self._record(
            after,
            kind,
            "system",
            source_id=f"{seen.promised_until}",
            promised_on=seen.promised_until.isoformat() if seen.promised_until else None,
            amount=seen.promised_amount,
        )
        return after
