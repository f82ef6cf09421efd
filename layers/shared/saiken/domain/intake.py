"""From an accepted intake row to the debtor and receivable it describes, and how an upsert merges."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from saiken.domain.models import Debtor, Receivable
from saiken.intake.fields import ReceivableRow


def debtor_from_row(creditor_id: str, row: ReceivableRow) -> Debtor:
    return Debtor(
        creditor_id=creditor_id,
        debtor_id=row.debtor_id,
        name=row.debtor_name,
        name_kana=row.debtor_name_kana,
        phone=row.phone,
        email=row.email,
        postal_code=row.postal_code,
        address=row.address,
    )


def receivable_from_row(creditor_id: str, row: ReceivableRow, source: str) -> Receivable:
    receivable = Receivable(
        creditor_id=creditor_id,
        receivable_id=row.receivable_id,
        debtor_id=row.debtor_id,
        amount=row.amount,
        balance=row.amount,
        due_date=row.due_date,
        segment=row.segment,
        product=row.product,
        virtual_account=row.virtual_account,
        source=source,
    )
    return receivable.model_copy(update={"row_hash": receivable.terms_fingerprint()})


class UpsertOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Merge:
    outcome: UpsertOutcome
    receivable: Receivable


def merge_receivable(existing: Receivable | None, incoming: Receivable) -> Merge:
    """Intake owns the terms (amount, due date, segment, ...); status and payments are kept.

    A changed amount moves the balance by the same difference (what was paid stays paid),
    never below zero.
    """
    if existing is None:
        return Merge(UpsertOutcome.CREATED, incoming)
    if existing.row_hash == incoming.row_hash:
        return Merge(UpsertOutcome.UNCHANGED, existing)
    paid = existing.amount - existing.balance
    merged = existing.model_copy(
        update={
            "debtor_id": incoming.debtor_id,
            "amount": incoming.amount,
            "balance": max(incoming.amount - paid, 0),
            "due_date": incoming.due_date,
            "segment": incoming.segment,
            "product": incoming.product,
            "virtual_account": incoming.virtual_account,
            "source": incoming.source,
            "row_hash": incoming.row_hash,
        }
    )
    return Merge(UpsertOutcome.UPDATED, merged)


def merge_debtor(existing: Debtor | None, incoming: Debtor) -> Debtor | None:
    """The debtor to write, or None when nothing changes. Flags (opt-outs, 受任通知) are kept,
    and a blank incoming value never erases a known one (a file may simply lack the column)."""
    if existing is None:
        return incoming
    contact_fields = ("name", "name_kana", "phone", "email", "postal_code", "address")
    update = {
        name: getattr(incoming, name)
        for name in contact_fields
        if getattr(incoming, name) is not None and getattr(incoming, name) != getattr(existing, name)
    }
    return existing.model_copy(update=update) if update else None
