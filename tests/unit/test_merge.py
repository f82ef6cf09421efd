"""What an upsert keeps and what it changes."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from saiken.domain.intake import (
    UpsertOutcome,
    debtor_from_row,
    merge_debtor,
    merge_receivable,
    receivable_from_row,
)
from saiken.domain.status import ReceivableStatus
from saiken.intake.fields import ReceivableRow


def row(**changes: object) -> ReceivableRow:
    base: dict[str, object] = {
        "debtor_id": "D1",
        "debtor_name": "山田",
        "phone": "09012345678",
        "receivable_id": "R1",
        "amount": 10000,
        "due_date": "2026-12-10",
    }
    return ReceivableRow.model_validate({**base, **changes})


def test_the_same_row_is_unchanged() -> None:
    first = receivable_from_row("acme", row(), "a.csv")
    again = receivable_from_row("acme", row(), "b.csv")
    assert merge_receivable(first.model_copy(update={"version": 3}), again).outcome == UpsertOutcome.UNCHANGED


def test_a_new_amount_keeps_status_and_what_was_paid() -> None:
    stored = receivable_from_row("acme", row(), "a.csv").model_copy(
        update={"balance": 4000, "status": ReceivableStatus.PARTIALLY_PAID, "version": 2}
    )
    merge = merge_receivable(stored, receivable_from_row("acme", row(amount=12000, due_date=date(2026, 12, 20)), "b"))
    assert merge.outcome == UpsertOutcome.UPDATED
    assert (merge.receivable.amount, merge.receivable.balance) == (12000, 6000)
    assert merge.receivable.status == ReceivableStatus.PARTIALLY_PAID
    assert merge.receivable.version == 2  # the write checks it


@given(st.integers(1, 10**9), st.integers(0, 10**9), st.integers(1, 10**9))
def test_balance_never_goes_negative(amount: int, paid: int, new_amount: int) -> None:
    paid = min(paid, amount)
    stored = receivable_from_row("acme", row(amount=amount), "a").model_copy(update={"balance": amount - paid})
    merged = merge_receivable(stored, receivable_from_row("acme", row(amount=new_amount), "b")).receivable
    assert 0 <= merged.balance <= merged.amount


def test_a_blank_value_never_erases_a_known_contact_and_flags_stay() -> None:
    stored = debtor_from_row("acme", row(email="a@example.jp")).model_copy(
        update={"lawyer_retained": True, "version": 1}
    )
    assert merge_debtor(stored, debtor_from_row("acme", row())) is None
    merged = merge_debtor(stored, debtor_from_row("acme", row(phone="03-1234-5678")))
    assert merged is not None
    assert (merged.phone, merged.email, merged.lawyer_retained) == ("+81312345678", "a@example.jp", True)
