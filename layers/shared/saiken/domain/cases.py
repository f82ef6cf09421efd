"""Case handling (応対管理), pure: promises to pay, disputes and holds, escalation timing, the
collector worklist's priority, and what an IVR answer means.

No clock and no I/O: callers pass ``today`` / ``now``; services persist the results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from saiken.domain.models import Receivable
from saiken.domain.planner import JST
from saiken.domain.rules import EscalationPolicy, Stage
from saiken.domain.status import ReceivableStatus

S = ReceivableStatus
MAX_PROMISE_DAYS = 90  # a promise further out is a payment plan, not a promise
HOLD_STATUSES = frozenset({S.DISPUTED, S.ON_HOLD})
ESCALATABLE = frozenset({S.OPEN, S.PARTIALLY_PAID})


class CaseError(ValueError):
    """A request that cannot apply to this receivable as it stands (the API answers 409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class PromiseOutcome(StrEnum):
    KEPT = "kept"
    BROKEN = "broken"


class Attention(StrEnum):
    """Why a receivable is on the collector worklist."""

    OPERATOR_REQUESTED = "operator_requested"  # IVR "2" or an operator's call back
    PROMISE_BROKEN = "promise_broken"

    @staticmethod
    def stage(name: str) -> str:
        return f"stage:{name}"


def resumed_status(r: Receivable) -> ReceivableStatus:
    """The status dunning resumes with: open, or partly paid if some money came in."""
    return S.PARTIALLY_PAID if 0 < r.balance < r.amount else S.OPEN


# -- promise to pay ------------------------------------------------------------------------


def make_promise(r: Receivable, on: date, amount: int | None, today: date) -> Receivable:
    """The receivable with a promise to pay ``amount`` (default: the balance) by ``on``."""
    if r.status.is_closed:
        raise CaseError("closed", f"receivable {r.receivable_id!r} is {r.status.value}: nothing to promise")
    if r.status in HOLD_STATUSES:
        raise CaseError("on_hold", f"receivable {r.receivable_id!r} is {r.status.value}: release it first")
    if on < today:
        raise CaseError("promise_in_past", f"promised date {on.isoformat()} is before today ({today.isoformat()})")
    if on > today + timedelta(days=MAX_PROMISE_DAYS):
        raise CaseError("promise_too_far", f"a promise can be at most {MAX_PROMISE_DAYS} days ahead")
    amount = r.balance if amount is None else amount
    if not 0 < amount <= r.balance:
        raise CaseError("promise_amount", f"promised amount {amount} must be between 1 and the balance ({r.balance})")
    return r.model_copy(
        update={
            "status": S.PROMISED,
            "status_reason": "promise_to_pay",
            "promised_until": on,
            "promised_amount": amount,
            "promise_balance": r.balance,
        }
    )


def promise_outcome(r: Receivable, today: date, grace_days: int) -> PromiseOutcome | None:
    """Kept once the promised amount came in; broken when the date + grace passed without it;
    None while it still runs (or there is no promise)."""
    if r.status is not S.PROMISED or r.promised_until is None:
        return None
    paid = (r.promise_balance if r.promise_balance is not None else r.balance) - r.balance
    if paid >= (r.promised_amount or r.balance or 1):
        return PromiseOutcome.KEPT
    if today > r.promised_until + timedelta(days=grace_days):
        return PromiseOutcome.BROKEN
    return None


def settle_promise(r: Receivable, outcome: PromiseOutcome, worklist: bool) -> Receivable:
    """Dunning resumes (status back to open / partly paid), the outcome is counted for scoring,
    and a broken promise goes on the worklist when the rules say so."""
    update: dict[str, object] = {
        "status": resumed_status(r),
        "status_reason": f"promise_{outcome.value}",
        "promised_until": None,
        "promised_amount": None,
        "promise_balance": None,
    }
    if outcome is PromiseOutcome.KEPT:
        update["promises_kept"] = r.promises_kept + 1
    else:
        update["promises_broken"] = r.promises_broken + 1
        if worklist:
            update["attention"] = Attention.PROMISE_BROKEN.value
    return r.model_copy(update=update)


# -- dispute and hold ----------------------------------------------------------------------


def hold(r: Receivable, status: ReceivableStatus, reason: str, until: date | None, today: date) -> Receivable:
    if status not in HOLD_STATUSES:
        raise ValueError(f"not a hold status: {status.value}")
    if r.status.is_closed:
        raise CaseError("closed", f"receivable {r.receivable_id!r} is {r.status.value}")
    if until is not None and until < today:
        raise CaseError("until_in_past", f"until {until.isoformat()} is before today ({today.isoformat()})")
    return r.model_copy(
        update={
            "status": status,
            "status_reason": reason,
            "hold_until": until,
            "promised_until": None,
            "promised_amount": None,
            "promise_balance": None,
        }
    )


def release(r: Receivable, reason: str) -> Receivable:
    if r.status not in HOLD_STATUSES:
        raise CaseError("not_held", f"receivable {r.receivable_id!r} is {r.status.value}, not disputed or on hold")
    return r.model_copy(update={"status": resumed_status(r), "status_reason": reason, "hold_until": None})


def hold_expired(r: Receivable, today: date) -> bool:
    return r.status in HOLD_STATUSES and r.hold_until is not None and today > r.hold_until


# -- escalation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NextStage:
    rank: int
    stage: Stage
    at: datetime  # JST

    def payload(self, r: Receivable, attention: str | None = None) -> dict[str, object]:
        """The escalation state machine's input (the Scheduler entry's target Input)."""
        return {
            "kind": "escalation",
            "creditor_id": r.creditor_id,
            "receivable_id": r.receivable_id,
            "stage": self.stage.name,
            "rank": str(self.rank),  # DynamoDB numbers travel as strings
            "at": self.at.date().isoformat(),
            "worklist": self.stage.worklist,
            "handoff": self.stage.handoff,
            "attention": attention or Attention.stage(self.stage.name),
        }


def next_stage(r: Receivable, policy: EscalationPolicy, now: datetime, *, at_once: bool = False) -> NextStage | None:
    """When the receivable's next stage boundary fires (None: no further stage, or it cannot escalate
    now: paid, disputed, held, promised). A boundary already passed fires a minute from now;
    ``at_once`` (a broken promise with ``on_broken_promise: escalate``) does the same."""
    if r.status not in ESCALATABLE or r.balance <= 0:
        return None
    rank = r.stage_rank or policy.rank(r.stage)
    following = policy.after(rank)
    if following is None:
        return None
    new_rank, stage = following
    day = r.due_date + timedelta(days=stage.after)
    boundary = datetime(day.year, day.month, day.day, policy.at.hour, policy.at.minute, tzinfo=JST)
    soon = (now + timedelta(minutes=1)).astimezone(JST).replace(second=0, microsecond=0)
    return NextStage(new_rank, stage, soon if at_once or boundary <= now else boundary)


def escalate(r: Receivable, target: NextStage, today: date) -> Receivable | None:
    """What the state machine's conditional update does, as a pure function (tests hold the two to
    each other): the next stage only forward, only while unpaid and not held; else None (no-op)."""
    if r.status not in ESCALATABLE or r.balance <= 0 or (r.stage_rank or 0) >= target.rank:
        return None
    update: dict[str, object] = {"stage": target.stage.name, "stage_rank": target.rank, "stage_since": today}
    if target.stage.worklist:
        update["attention"] = Attention.stage(target.stage.name)
    return r.model_copy(update=update)


# -- the collector worklist ----------------------------------------------------------------


def priority(r: Receivable, today: date) -> float:
    """Balance x days past due (at least 1); a payment-probability score, when there is one,
    weighs it by 0.5-1.5 (likelier payers first: the call is likelier to collect)."""
    days = max((today - r.due_date).days, 1)
    weight = 0.5 + r.score if r.score is not None else 1.0
    return r.balance * days * weight


# -- IVR answers ---------------------------------------------------------------------------

_DIGITS = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class IvrAnswer:
    answered: bool
    promise_on: date | None = None
    operator: bool = False


def parse_ivr(result: str | None, dtmf: str | None, promised_date: str | None, today: date) -> IvrAnswer:
    """The contact flow's parameters: ``result`` answered / no_answer / busy / voicemail, ``dtmf``
    "1" (I will pay by <date>, keyed as YYYYMMDD or MMDD) or "2" (talk to an operator)."""
    answered = (result or "").lower() == "answered"
    if not answered:
        return IvrAnswer(False)
    if dtmf == "2":
        return IvrAnswer(True, operator=True)
    if dtmf == "1":
        return IvrAnswer(True, promise_on=_keyed_date(promised_date, today))
    return IvrAnswer(True)


def _keyed_date(text: str | None, today: date) -> date | None:
    digits = re.sub(r"\D", "", text or "")
    if len(digits) == 4:  # MMDD: this year, or next year if already past
        digits = f"{today.year}{digits}"
        if _DIGITS.match(digits) and _valid(digits) and _valid(digits) < today:  # type: ignore[operator]
            digits = f"{today.year + 1}{digits[4:]}"
    return _valid(digits) if _DIGITS.match(digits) else None


def _valid(digits: str) -> date | None:
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None
