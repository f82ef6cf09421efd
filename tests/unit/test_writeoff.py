"""Write-off policy (償却) and the limitation date (消滅時効) on the receivable."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saiken.domain.models import Receivable, limitation_date
from saiken.domain.rules import WriteOffPolicy
from saiken.domain.status import ReceivableStatus

TODAY = date(2026, 12, 4)


def receivable(days_past_due: int, balance: int = 10000, **extra: object) -> Receivable:
    return Receivable(
        creditor_id="acme",
        receivable_id="R1",
        debtor_id="D1",
        amount=max(balance, 1),
        balance=balance,
        due_date=TODAY - timedelta(days=days_past_due),
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("days", "balance", "stage", "status", "expected"),
    [
        (180, 10000, None, ReceivableStatus.OPEN, True),
        (179, 10000, None, ReceivableStatus.OPEN, False),
        (10, 10000, "legal", ReceivableStatus.OPEN, True),  # the stage alone is enough
        (400, 500, None, ReceivableStatus.OPEN, False),  # below the minimum balance
        (400, 10000, None, ReceivableStatus.PARTIALLY_PAID, True),
        (400, 10000, None, ReceivableStatus.ON_HOLD, True),
        (400, 0, None, ReceivableStatus.PAID, False),
        (400, 10000, None, ReceivableStatus.WRITTEN_OFF, False),  # once is enough
    ],
)
def test_policy(days: int, balance: int, stage: str | None, status: ReceivableStatus, expected: bool) -> None:
    policy = WriteOffPolicy(days_past_due=180, stages=["legal"], min_balance=1000)
    assert policy.applies(receivable(days, balance, stage=stage, status=status), TODAY) is expected


def test_a_policy_without_triggers_writes_off_nothing() -> None:
    assert not WriteOffPolicy().applies(receivable(10_000), TODAY)


def test_limitation_is_five_years_from_due_or_the_last_acknowledgement() -> None:
    r = receivable(0)
    assert r.limitation_date == date(2031, 12, 4)
    acknowledged = r.model_copy(update={"acknowledged_on": date(2027, 3, 1)})
    assert acknowledged.limitation_date == date(2032, 3, 1)
    assert limitation_date(date(2028, 2, 29)) == date(2033, 2, 28)
    assert r.model_dump(mode="json")["limitation_date"] == "2031-12-04"  # what the API shows


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
def test_limitation_date_is_the_same_day_five_years_on(start: date) -> None:
    end = limitation_date(start)
    assert end.year == start.year + 5 and end.month == start.month
    assert end.day == start.day or (start.month, start.day, end.day) == (2, 29, 28)


def test_a_bad_policy_in_a_rules_file_names_the_field() -> None:
    from saiken.adapters.objects import default_rules
    from saiken.domain.rules import RuleSet

    rules = default_rules().model_dump(mode="json")
    with pytest.raises(ValueError, match=r"writeoff\.days_past_due"):
        RuleSet.model_validate({**rules, "writeoff": {"days_past_due": 0, "min_balance": 1}})
    with pytest.raises(ValueError, match=r"writeoff\.after"):
        RuleSet.model_validate({**rules, "writeoff": {"days_past_due": 90, "after": 3}})
