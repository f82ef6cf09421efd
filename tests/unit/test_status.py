from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saiken.domain.status import (
    OPERATOR_TARGETS,
    TRANSITIONS,
    InvalidTransition,
    ReceivableStatus,
    transition,
)

S = ReceivableStatus


def test_only_open_and_partially_paid_are_dunned() -> None:
    assert {s for s in S if s.is_dunnable} == {S.OPEN, S.PARTIALLY_PAID}


def test_cancelled_is_final() -> None:
    for target in S:
        if target != S.CANCELLED:
            with pytest.raises(InvalidTransition):
                transition(S.CANCELLED, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.OPEN, S.ON_HOLD),
        (S.ON_HOLD, S.OPEN),
        (S.DISPUTED, S.OPEN),
        (S.PAID, S.PARTIALLY_PAID),
        (S.WRITTEN_OFF, S.PAID),
    ],
)
def test_allowed_transitions(current: ReceivableStatus, target: ReceivableStatus) -> None:
    assert transition(current, target) == target


@pytest.mark.parametrize(("current", "target"), [(S.PAID, S.ON_HOLD), (S.WRITTEN_OFF, S.OPEN), (S.PAID, S.CANCELLED)])
def test_refused_transitions_name_both_ends(current: ReceivableStatus, target: ReceivableStatus) -> None:
    with pytest.raises(InvalidTransition, match=f"from {current.value} to {target.value}"):
        transition(current, target)


@given(st.sampled_from(list(S)))
def test_setting_the_same_status_is_a_no_op(status: ReceivableStatus) -> None:
    assert transition(status, status) == status


def test_every_status_has_a_row_and_operators_cannot_mark_paid() -> None:
    assert set(TRANSITIONS) == set(S)
    assert S.PAID not in OPERATOR_TARGETS and S.WRITTEN_OFF not in OPERATOR_TARGETS
