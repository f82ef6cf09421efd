"""The planner: a receivable + a rule set -> its reminder calendar, and the next slot after "now".

Pure: no clock, no I/O. Times are Asia/Tokyo (Japan has no daylight saving, so a day is
always 1,440 minutes and arithmetic on date ordinals + minutes is exact). The calendar and
the next-slot fast path answer the same question two ways; tests hold them to each other.

A *slot* is one moment at which one or more steps of a receivable fall due (e.g. the email
and the SMS of day -5 at 09:00 and 12:00 are two slots; two channels at the same time are one
slot). Each open receivable owns at most one pending schedule: its next slot.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from saiken.domain.guardrails import ContactCalendar, Reason, debtor_reason, minutes, receivable_reason
from saiken.domain.models import Debtor, Receivable
from saiken.domain.rules import CHANNEL_ORDER, Cadence, Channel, RuleSet, Segment

JST = ZoneInfo("Asia/Tokyo")
# A deferred step moves at most this many days (the 6-day year-end closure next to a holiday
# and a weekend is the worst case); the fast path looks this far back for steps deferred into
# the future.
MAX_DEFERRAL_DAYS = 14


def reminder_id(creditor_id: str, receivable_id: str, due_date: date, channel: Channel, offset: int) -> str:
    """Deterministic id of one step: the idempotency key of its delivery. A new due date makes
    new reminders; re-planning the same receivable never does."""
    raw = f"{creditor_id}\x1f{receivable_id}\x1f{due_date.isoformat()}\x1f{channel.value}\x1f{offset}"
    return "rm-" + hashlib.sha256(raw.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class PlannedStep:
    creditor_id: str
    receivable_id: str
    due_date: date
    channel: Channel
    offset: int  # days from the due date
    step: int  # 1-based position in its cadence
    template: str
    segment: str
    nominal: tuple[int, int]  # (date ordinal, minute) JST: what the rule says
    at: datetime | None  # when it may go out (None = skipped)
    reason: Reason | None  # why it moved or was skipped

    @property
    def nominal_at(self) -> datetime:
        return to_jst(*self.nominal)

    @property
    def reminder_id(self) -> str:
        """Computed when asked (most planned steps never need one)."""
        return reminder_id(self.creditor_id, self.receivable_id, self.due_date, self.channel, self.offset)

    @property
    def skipped(self) -> bool:
        return self.at is None

    @property
    def deferred(self) -> bool:
        return self.at is not None and self.reason is not None

    @property
    def state(self) -> str:
        return "skipped" if self.skipped else ("deferred" if self.deferred else "planned")

    def describe(self) -> dict[str, Any]:
        """The step as `GET /receivables/{id}/plan` and `saiken plan` show it."""
        return {
            "at": (self.at or self.nominal_at).isoformat(),
            "planned_for": self.nominal_at.isoformat(),
            "channel": self.channel.value,
            "offset": self.offset,
            "step": self.step,
            "template": self.template,
            "state": self.state,
            "reason": self.reason.value if self.reason else None,
            "reminder_id": self.reminder_id,
        }


@dataclass(frozen=True, slots=True)
class Slot:
    at: datetime
    steps: tuple[PlannedStep, ...]

    @property
    def segment(self) -> str:
        return self.steps[0].segment


def to_jst(ordinal: int, minute: int) -> datetime:
    d = date.fromordinal(ordinal)
    return datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=JST)


def from_jst(moment: datetime) -> tuple[int, int]:
    if moment.tzinfo is None:
        raise ValueError("planning needs an aware datetime (a naive one has no time zone)")
    local = moment.astimezone(JST)
    minute = local.hour * 60 + local.minute + (1 if (local.second or local.microsecond) else 0)
    return local.toordinal(), minute


@dataclass(frozen=True, slots=True)
class _Compiled:
    cadence: Cadence
    channel: Channel
    start: int
    every: int
    until: int
    minute: int
    window: tuple[int, int]


class Planner:
    def __init__(self, rules: RuleSet, calendar: ContactCalendar | None = None) -> None:
        self.rules = rules
        self.calendar = calendar or ContactCalendar(rules.guardrails)
        self._grace = rules.guardrails.promise_grace_days
        self._segments = {s.name: s for s in rules.segments}
        self._lookbacks: dict[int, int] = {}
        self._compiled: dict[str, tuple[_Compiled, ...]] = {
            s.name: tuple(
                _Compiled(
                    c,
                    c.channel,
                    c.start,
                    c.every,
                    c.until,
                    minutes(s.send_time_for(c)),
                    self.calendar.window(c.channel),
                )
                for c in sorted(s.cadences, key=lambda c: CHANNEL_ORDER[c.channel])
            )
            for s in rules.segments
        }

    def segment_for(self, r: Receivable) -> Segment:
        if r.stage:
            return self.rules.select(r)  # a stage may bring its own segment
        named = self._segments.get(r.segment) if r.segment else None
        return named if named is not None else self.rules.select(r)

    # -- one step -----------------------------------------------------------------------
    def _promise_limit(self, r: Receivable) -> int | None:
        """Last day (ordinal) a promise to pay keeps reminders away, if one is running."""
        if r.dated_promise:
            assert r.promised_until is not None
            return r.promised_until.toordinal() + self._grace
        return None

    def _resolve(
        self, c: _Compiled, offset: int, due_ord: int, blocked: Reason | None, promise: int | None
    ) -> tuple[int, int, Reason | None, bool]:
        """(ordinal, minute, reason, skipped) for the step of cadence ``c`` on day ``offset``."""
        ordinal = due_ord + offset
        if blocked is not None:
            return ordinal, c.minute, blocked, True
        if promise is not None and ordinal <= promise:
            return ordinal, c.minute, Reason.PROMISED, True
        eff_ord, eff_min, reason = self.calendar.defer(c.channel, ordinal, c.minute, c.window)
        if eff_ord != ordinal:
            following = offset + c.every
            if following <= c.until and due_ord + following <= eff_ord:
                # the next step of this channel lands on the same day (its own, or deferred there
                # too): that one goes, this one is dropped, and says why
                return ordinal, c.minute, reason, True
        return eff_ord, eff_min, reason, False

    def _blocked(self, r: Receivable, debtor: Debtor | None, channel: Channel) -> Reason | None:
        """Reasons that hold for every step of this channel (status, debtor flags)."""
        reason = None if r.dated_promise else receivable_reason(r, None)
        if reason is None and debtor is not None:
            reason = debtor_reason(debtor, channel)
        return reason

    def _step(
        self, r: Receivable, seg: Segment, c: _Compiled, offset: int, res: tuple[int, int, Reason | None, bool]
    ) -> PlannedStep:
        eff_ord, eff_min, reason, skipped = res
        due_ord = r.due_date.toordinal()
        return PlannedStep(
            creditor_id=r.creditor_id,
            receivable_id=r.receivable_id,
            due_date=r.due_date,
            channel=c.channel,
            offset=offset,
            step=(offset - c.start) // c.every + 1,
            template=c.cadence.template_for(offset),
            segment=seg.name,
            nominal=(due_ord + offset, c.minute),
            at=None if skipped else to_jst(eff_ord, eff_min),
            reason=reason,
        )

    # -- the whole calendar -------------------------------------------------------------
    def calendar_for(
        self,
        r: Receivable,
        debtor: Debtor | None = None,
        *,
        first: date | None = None,
        last: date | None = None,
        ignore_status: bool = False,
    ) -> list[PlannedStep]:
        """Every step of the receivable's segment (or those due between ``first`` and ``last``), in the
        order they go out (skipped ones at their nominal time), each with the reason it moved or was
        dropped. ``ignore_status`` plans as if the receivable were open (the send path judges the
        status itself, so that a step stopped by a payment is recorded as such)."""
        seg = self.segment_for(r)
        due_ord = r.due_date.toordinal()
        promise = None if ignore_status else self._promise_limit(r)
        lo = first.toordinal() - due_ord if first else -(10**6)
        hi = last.toordinal() - due_ord if last else 10**6
        steps: list[PlannedStep] = []
        for c in self._compiled[seg.name]:
            blocked = (
                (debtor_reason(debtor, c.channel) if debtor else None)
                if ignore_status
                else self._blocked(r, debtor, c.channel)
            )
            for offset in range(c.start, c.until + 1, c.every):
                if lo <= offset <= hi:
                    steps.append(self._step(r, seg, c, offset, self._resolve(c, offset, due_ord, blocked, promise)))
        steps.sort(key=lambda s: (s.at or s.nominal_at, CHANNEL_ORDER[s.channel]))
        return steps

    # -- the next slot (fast path) ------------------------------------------------------
    def next_slot(self, r: Receivable, now: datetime, debtor: Debtor | None = None) -> Slot | None:
        """The first moment strictly after ``now`` at which a step of this receivable may go out."""
        status = r.status
        if not status.is_dunnable and not r.dated_promise:
            return None
        seg = self.segment_for(r)
        now_key = from_jst(now)
        due_ord = r.due_date.toordinal()
        promise = self._promise_limit(r)
        lookback = now_key[0] - due_ord - self._lookback(now_key[0])
        found: list[tuple[tuple[int, int], _Compiled, int, tuple[int, int, Reason | None, bool]]] = []
        best: tuple[int, int] | None = None
        for c in self._compiled[seg.name]:
            blocked = self._blocked(r, debtor, c.channel) if debtor is not None else None
            if blocked is not None:
                continue
            offset = c.start
            if lookback > offset:
                offset += -(-(lookback - offset) // c.every) * c.every
            while offset <= c.until:
                res = self._resolve(c, offset, due_ord, None, promise)
                key = (res[0], res[1])
                if not res[3] and key > now_key:
                    if best is None or key < best:
                        best = key
                    found.append((key, c, offset, res))
                    break
                offset += c.every
        if best is None:
            return None
        steps = tuple(self._step(r, seg, c, offset, res) for key, c, offset, res in found if key == best)
        return Slot(at=to_jst(*best), steps=steps)

    def _lookback(self, today: int) -> int:
        """How many days back a step can start and still be deferred to today or later: the run of
        closed days just before today, plus one for a step pushed past the evening window."""
        try:
            return self._lookbacks[today]
        except KeyError:
            days = 1
            while days <= MAX_DEFERRAL_DAYS and self.calendar.day_reason(today - days) is not None:
                days += 1
            self._lookbacks[today] = days
            return days

    def steps_at(self, r: Receivable, at: datetime, debtor: Debtor | None = None) -> list[PlannedStep]:
        """The steps of this moment as planned for an open receivable (what a fired schedule carries);
        the caller applies the receivable's status and the debtor's flags to each."""
        day = jst_day(at)
        first = day - timedelta(days=MAX_DEFERRAL_DAYS + 1)
        window = self.calendar_for(r, debtor, first=first, last=day, ignore_status=True)
        return [s for s in window if s.at == at]

    def remaining(self, r: Receivable, now: datetime, debtor: Debtor | None = None) -> list[PlannedStep]:
        """Steps still ahead of ``now`` (skipped ones by their nominal time), for `saiken plan`."""
        return [s for s in self.calendar_for(r, debtor) if (s.at or s.nominal_at) > now]


def jst_day(moment: datetime) -> date:
    return moment.astimezone(JST).date()
