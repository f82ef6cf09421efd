"""Case rules as properties: nothing goes out while disputed, held or promised (before date +
grace), a broken promise resumes dunning exactly once, stages only move forward, escalating a
paid receivable is a no-op however often it fires, IVR keyed dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from saiken.adapters.objects import default_rules
from saiken.domain import cases
from saiken.domain.guardrails import Reason, receivable_reason
from saiken.domain.models import Receivable
from saiken.domain.planner import JST, Planner
from saiken.domain.rules import RuleSet
from saiken.domain.status import ReceivableStatus

S = ReceivableStatus
RULES = default_rules()
POLICY = RULES.escalation
days = st.dates(date(2026, 1, 1), date(2028, 12, 31))


def receivable(due: date, **kw: object) -> Receivable:
    base = {"creditor_id": "acme", "receivable_id": "R1", "debtor_id": "D1", "amount": 10000, "balance": 10000}
    return Receivable(**{**base, "due_date": due, **kw})  # type: ignore[arg-type]


def _rules(grace: int) -> RuleSet:
    data = RULES.model_dump()
    data["guardrails"]["promise_grace_days"] = grace
    return RuleSet.model_validate(data)


@given(days, st.integers(0, 60), st.integers(0, 10), st.integers(-5, 80), st.sampled_from(["A", "B"]))
def test_no_reminder_while_a_promise_runs_and_dunning_after_it(
    due: date, promise_in: int, grace: int, day_offset: int, segment: str
) -> None:
    today = due + timedelta(days=5)
    r = cases.make_promise(receivable(due, segment=segment), today + timedelta(days=promise_in), None, today)
    assert r.promised_until is not None
    limit = r.promised_until + timedelta(days=grace)
    day = today + timedelta(days=day_offset)
    # the send path's decision on that day
    assert (receivable_reason(r, day, grace) is Reason.PROMISED) == (day <= limit)
    # the planner's next slot from any moment lies after the promise (+ grace)
    now = datetime(today.year, today.month, today.day, 7, 0, tzinfo=JST)
    slot = Planner(_rules(grace)).next_slot(r, now)
    assert slot is None or slot.at.date() > limit


@given(days, st.sampled_from([S.DISPUTED, S.ON_HOLD]), st.integers(0, 200))
def test_nothing_is_planned_or_sent_while_disputed_or_held(due: date, status: S, day_offset: int) -> None:
    today = due
    r = cases.hold(receivable(due), status, "reason", None, today)
    day = today + timedelta(days=day_offset)
    assert receivable_reason(r, day, 3) in (Reason.DISPUTED, Reason.ON_HOLD)
    assert Planner(RULES).next_slot(r, datetime(day.year, day.month, day.day, tzinfo=JST)) is None
    assert cases.next_stage(r, POLICY, datetime(day.year, day.month, day.day, tzinfo=JST)) is None


@given(days, st.integers(1, 30), st.integers(0, 9999), st.integers(1, 5), st.integers(0, 3))
def test_a_broken_promise_resumes_dunning_exactly_once(
    due: date, promise_in: int, paid: int, runs: int, grace: int
) -> None:
    today = due + timedelta(days=3)
    r = cases.make_promise(receivable(due), today + timedelta(days=promise_in), None, today)
    r = r.model_copy(update={"balance": r.balance - paid, "status": S.PROMISED})
    after_date = today + timedelta(days=promise_in + grace + 1)
    resumed = 0
    for _ in range(runs):  # the daily job, run again and again (retries, the next days)
        outcome = cases.promise_outcome(r, after_date, grace)
        if outcome is None:
            continue
        r = cases.settle_promise(r, outcome, worklist=True)
        resumed += 1
    assert resumed == 1 and r.status.is_dunnable
    assert (r.promises_broken, r.promises_kept) == ((1, 0) if paid < 10000 else (0, 1))


@given(st.lists(st.integers(1, len(POLICY.stages)), min_size=1, max_size=12), st.sampled_from(list(S)))
def test_stages_never_move_backwards_and_only_open_receivables_move(targets: list[int], status: S) -> None:
    r = receivable(date(2026, 1, 1), status=status, balance=0 if status is S.PAID else 10000)
    now = datetime(2026, 12, 4, 10, 0, tzinfo=JST)
    ranks = [0]
    for target in targets:
        moved = cases.escalate(r, cases.NextStage(target, POLICY.stages[target - 1], now), now.date())
        if moved is not None:
            assert status in (S.OPEN, S.PARTIALLY_PAID) and moved.stage_rank == target > ranks[-1]
            r = moved
        ranks.append(r.stage_rank or 0)
    assert ranks == sorted(ranks)
    if status not in (S.OPEN, S.PARTIALLY_PAID):
        assert r.stage is None  # paid, held, disputed, promised, written off, cancelled: never escalated


@given(days, st.integers(1, 12), st.integers(1, 28))
def test_a_keyed_month_day_is_the_next_such_date(today: date, month: int, day: int) -> None:
    answer = cases.parse_ivr("answered", "1", f"{month:02d}{day:02d}", today)
    assert answer.promise_on is not None and today <= answer.promise_on < today.replace(
        year=today.year + 1
    ) + timedelta(days=1)
    assert (answer.promise_on.month, answer.promise_on.day) == (month, day)


def test_ivr_answers() -> None:
    today = date(2026, 12, 4)
    assert cases.parse_ivr("no_answer", "1", "1210", today) == cases.IvrAnswer(False)
    assert cases.parse_ivr("answered", "2", None, today).operator
    assert cases.parse_ivr("answered", "1", "20261231", today).promise_on == date(2026, 12, 31)
    assert cases.parse_ivr("answered", "1", "1340", today).promise_on is None


def test_priority_grows_with_balance_and_age_and_a_likely_payer_comes_first() -> None:
    today = date(2026, 12, 4)
    old = receivable(date(2026, 9, 1), balance=20000)
    young = receivable(date(2026, 11, 20), balance=90000)
    assert cases.priority(old, today) > cases.priority(young, today)
    assert cases.priority(old.model_copy(update={"score": 0.9}), today) > cases.priority(
        old.model_copy(update={"score": 0.1}), today
    )
