"""Schedule expressions and names: validated here, because moto accepts anything."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saiken.adapters.schedules import InvalidSchedule, at_expression, parse_at, schedule_name
from saiken.domain.planner import JST


def test_at_is_written_in_tokyo_time() -> None:
    assert at_expression(datetime(2026, 12, 4, 0, 30, tzinfo=UTC)) == "at(2026-12-04T09:30:00)"


@pytest.mark.parametrize(
    "expr", ["at(2026-13-45T99:00:00)", "at(2026-12-04 09:00:00)", "rate(5 minutes)", "at(2026-02-30T09:00:00)"]
)
def test_bad_expressions_are_refused(expr: str) -> None:
    with pytest.raises(InvalidSchedule):
        parse_at(expr)


def test_naive_times_and_unknown_zones_are_refused() -> None:
    with pytest.raises(InvalidSchedule):
        at_expression(datetime(2026, 12, 4, 9, 0))
    with pytest.raises(InvalidSchedule, match="Mars/Olympus"):
        at_expression(datetime(2026, 12, 4, 9, 0, tzinfo=JST), zone="Mars/Olympus")


@given(st.datetimes(datetime(2026, 1, 1), datetime(2030, 1, 1)).map(lambda d: d.replace(microsecond=0, tzinfo=JST)))
def test_round_trip(moment: datetime) -> None:
    assert parse_at(at_expression(moment)) == moment


@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=120))
def test_names_are_valid_deterministic_and_distinct(creditor: str, receivable: str) -> None:
    name = schedule_name(creditor, receivable)
    assert re.fullmatch(r"[0-9A-Za-z_.-]{1,64}", name)
    assert name == schedule_name(creditor, receivable)
    assert name != schedule_name(creditor, receivable + "x")


def test_backoff_doubles_to_a_ceiling() -> None:
    from saiken.adapters.queues import backoff_seconds

    assert [backoff_seconds(n) for n in range(1, 7)] == [60, 120, 240, 480, 900, 900]
