"""The planner: properties over random receivables, rule sets and moments (hypothesis)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from saiken.adapters.objects import default_rules
from saiken.domain.guardrails import ContactCalendar, Reason
from saiken.domain.models import Debtor, Receivable
from saiken.domain.planner import JST, Planner, from_jst
from saiken.domain.rules import Cadence, Channel, RuleSet, Segment
from saiken.domain.status import ReceivableStatus

DEFAULT = Planner(default_rules())


@st.composite
def cadences(draw: st.DrawFn, channel: Channel) -> Cadence:
    start = draw(st.integers(-10, 20))
    return Cadence(
        channel=channel,
        start=start,
        every=draw(st.integers(1, 7)),
        until=start + draw(st.integers(0, 30)),
        at=draw(st.none() | st.builds(time, st.integers(8, 20), st.sampled_from([0, 15, 30, 45]))),
    )


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    channels = draw(st.lists(st.sampled_from(list(Channel)), min_size=1, max_size=3, unique=True))
    segment = Segment(
        name="S",
        send_time=draw(st.builds(time, st.integers(8, 20), st.sampled_from([0, 30]))),
        cadences=[draw(cadences(ch)) for ch in channels],
    )
    return RuleSet(version=1, default_segment="S", segments=[segment])


due_dates = st.dates(date(2026, 1, 1), date(2028, 12, 31))
moments = st.datetimes(datetime(2025, 12, 1), datetime(2029, 2, 1)).map(lambda d: d.replace(tzinfo=JST))


def receivable(due: date, **kw: object) -> Receivable:
    base: dict[str, object] = {
        "creditor_id": "acme",
        "receivable_id": "R1",
        "debtor_id": "D1",
        "amount": 12000,
        "balance": 12000,
        "due_date": due,
    }
    return Receivable.model_validate(base | kw)


@given(rule_sets(), due_dates)
def test_steps_stay_inside_each_cadence_and_on_open_moments(rules: RuleSet, due: date) -> None:
    planner = Planner(rules)
    cal = ContactCalendar(rules.guardrails)
    seg = rules.segments[0]
    for step in planner.calendar_for(receivable(due)):
        cadence = seg.cadence(step.channel)
        assert cadence is not None
        assert cadence.start <= step.offset <= cadence.until  # never before start, never after until
        assert (step.offset - cadence.start) % cadence.every == 0
        assert step.nominal_at.date() == due + timedelta(days=step.offset)
        if step.at is not None:
            assert step.at >= step.nominal_at
            assert cal.check(step.channel, *from_jst(step.at)) is None  # window, holidays, closure
        else:
            assert step.reason is not None  # a dropped step always says why


@given(rule_sets(), due_dates, moments)
def test_next_slot_is_strictly_after_now_and_agrees_with_the_calendar(rules: RuleSet, due: date, now: datetime) -> None:
    planner = Planner(rules)
    r = receivable(due)
    slot = planner.next_slot(r, now)
    later = [s for s in planner.calendar_for(r) if s.at is not None and s.at > now]
    if not later:
        assert slot is None
        return
    assert slot is not None
    assert slot.at > now
    first = min(s.at for s in later if s.at is not None)
    assert slot.at == first
    assert {s.reminder_id for s in slot.steps} == {s.reminder_id for s in later if s.at == first}


@given(rule_sets(), due_dates, moments)
def test_planning_is_deterministic_and_replanning_is_idempotent(rules: RuleSet, due: date, now: datetime) -> None:
    r = receivable(due)
    assert Planner(rules).calendar_for(r) == Planner(rules).calendar_for(r)
    first = Planner(rules).next_slot(r, now)
    # a change the plan does not depend on (a note, the source file) changes nothing
    again = Planner(rules).next_slot(r.model_copy(update={"status_reason": "note", "source": "api"}), now)
    assert first == again


@given(due_dates, moments)
def test_a_new_due_date_makes_new_reminder_ids(due: date, now: datetime) -> None:
    r = receivable(due, segment="A")
    moved = r.model_copy(update={"due_date": due + timedelta(days=7)})
    old = {s.reminder_id for s in DEFAULT.calendar_for(r)}
    new = {s.reminder_id for s in DEFAULT.calendar_for(moved)}
    assert not old & new


@given(due_dates, moments, st.sampled_from([s for s in ReceivableStatus if not s.is_dunnable]))
def test_nothing_is_planned_for_a_closed_disputed_or_held_receivable(
    due: date, now: datetime, status: ReceivableStatus
) -> None:
    assert DEFAULT.next_slot(receivable(due, status=status), now) is None


@given(due_dates, st.integers(0, 20))
def test_a_promise_keeps_reminders_away_until_its_date(due: date, days: int) -> None:
    promised = due + timedelta(days=days)
    r = receivable(due, segment="A", status=ReceivableStatus.PROMISED, promised_until=promised)
    now = datetime(due.year, due.month, due.day, tzinfo=JST) - timedelta(days=10)
    slot = DEFAULT.next_slot(r, now)
    assert slot is None or slot.at.date() > promised
    assert all(s.reason == Reason.PROMISED for s in DEFAULT.calendar_for(r) if s.nominal_at.date() <= promised)


def test_year_end_steps_move_to_january_4_or_are_dropped_when_that_day_has_its_own() -> None:
    r = receivable(date(2026, 12, 27), segment="B")  # B: email daily from +1, SMS every 3 days from +1
    steps = {(s.channel, s.offset): s for s in DEFAULT.calendar_for(r)}
    email_jan4 = steps[(Channel.EMAIL, 8)]
    assert (email_jan4.at, email_jan4.reason) == (datetime(2027, 1, 4, 9, 0, tzinfo=JST), None)
    dropped = steps[(Channel.EMAIL, 3)]  # 12/30: 1/4 has its own email
    assert (dropped.at, dropped.reason) == (None, Reason.YEAR_END_CLOSURE)
    # SMS +4 (12/31) and +7 (1/3) both fall in the closure: one SMS on 1/4, the later step's
    assert (steps[(Channel.SMS, 4)].at, steps[(Channel.SMS, 4)].reason) == (None, Reason.YEAR_END_CLOSURE)
    moved = steps[(Channel.SMS, 7)]
    assert (moved.at, moved.reason) == (datetime(2027, 1, 4, 12, 0, tzinfo=JST), Reason.YEAR_END_CLOSURE)


def test_a_debtor_without_email_gets_no_email_steps() -> None:
    debtor = Debtor(creditor_id="acme", debtor_id="D1", name="山田", phone="+819012345678")
    r = receivable(date(2026, 12, 10), segment="A")
    slot = DEFAULT.next_slot(r, datetime(2026, 12, 5, 7, 0, tzinfo=JST), debtor)
    assert slot is not None and slot.at == datetime(2026, 12, 5, 12, 0, tzinfo=JST)
    assert [s.channel for s in slot.steps] == [Channel.SMS]
    skipped = [s for s in DEFAULT.calendar_for(r, debtor) if s.channel is Channel.EMAIL]
    assert skipped and all(s.reason == Reason.NO_EMAIL for s in skipped)
