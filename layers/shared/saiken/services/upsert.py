"""Batch upsert of debtors and receivables, shared by file intake and the REST API.

Idempotent: an unchanged row writes nothing. Each changed row is written with its own
version check (optimistic locking); when someone else changed an item between our read and
our write, that item is re-read, merged again and retried, so a concurrent update is never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from saiken.domain.errors import ConcurrentUpdate
from saiken.domain.intake import (
    UpsertOutcome,
    debtor_from_row,
    merge_debtor,
    merge_receivable,
    receivable_from_row,
)
from saiken.domain.models import Debtor, Receivable
from saiken.intake.fields import ReceivableRow

MAX_ATTEMPTS = 5


class ReceivableStore(Protocol):
    def get(self, creditor_id: str, receivable_id: str) -> Receivable | None: ...
    def get_many(self, creditor_id: str, receivable_ids: Sequence[str]) -> dict[str, Receivable]: ...
    def save(self, receivable: Receivable) -> Receivable: ...
    def save_all(self, receivables: Sequence[Receivable]) -> list[bool]: ...


class DebtorStore(Protocol):
    def get(self, creditor_id: str, debtor_id: str) -> Debtor | None: ...
    def get_many(self, creditor_id: str, debtor_ids: Sequence[str]) -> dict[str, Debtor]: ...
    def save(self, debtor: Debtor) -> Debtor: ...
    def save_all(self, debtors: Sequence[Debtor]) -> list[bool]: ...


@dataclass
class UpsertResult:
    outcomes: list[UpsertOutcome | None] = field(default_factory=list)  # None = could not be written


@dataclass
class Upserter:
    receivables: ReceivableStore
    debtors: DebtorStore

    def upsert(self, creditor_id: str, rows: Sequence[ReceivableRow], source: str) -> UpsertResult:
        """Rows must have distinct receivable ids (the intake reader guarantees it)."""
        self._upsert_debtors(creditor_id, rows)
        return self._upsert_receivables(creditor_id, rows, source)

    # -- debtors: the last row of a batch wins for a debtor's contact details
    def _upsert_debtors(self, creditor_id: str, rows: Sequence[ReceivableRow]) -> None:
        incoming = {row.debtor_id: debtor_from_row(creditor_id, row) for row in rows}
        existing = self.debtors.get_many(creditor_id, list(incoming))
        changed = [m for d in incoming.values() if (m := merge_debtor(existing.get(d.debtor_id), d)) is not None]
        for debtor, saved in zip(changed, self.debtors.save_all(changed), strict=True):
            if not saved:
                self._retry_debtor(creditor_id, incoming[debtor.debtor_id])

    def _retry_debtor(self, creditor_id: str, incoming: Debtor) -> None:
        for _ in range(MAX_ATTEMPTS):
            merged = merge_debtor(self.debtors.get(creditor_id, incoming.debtor_id), incoming)
            if merged is None:
                return
            try:
                self.debtors.save(merged)
                return
            except ConcurrentUpdate:
                continue
        raise ConcurrentUpdate(f"debtor {incoming.debtor_id} kept changing; gave up after {MAX_ATTEMPTS} attempts")

    # -- receivables
    def _upsert_receivables(self, creditor_id: str, rows: Sequence[ReceivableRow], source: str) -> UpsertResult:
        incoming = [receivable_from_row(creditor_id, row, source) for row in rows]
        existing = self.receivables.get_many(creditor_id, [r.receivable_id for r in incoming])
        merges = [merge_receivable(existing.get(r.receivable_id), r) for r in incoming]
        result = UpsertResult([m.outcome for m in merges])
        pending = [(i, m.receivable) for i, m in enumerate(merges) if m.outcome != UpsertOutcome.UNCHANGED]
        saved = self.receivables.save_all([r for _, r in pending])
        for (index, _), ok in zip(pending, saved, strict=True):
            if not ok:
                result.outcomes[index] = self._retry_receivable(creditor_id, incoming[index])
        return result

    def _retry_receivable(self, creditor_id: str, incoming: Receivable) -> UpsertOutcome | None:
        for _ in range(MAX_ATTEMPTS):
            merge = merge_receivable(self.receivables.get(creditor_id, incoming.receivable_id), incoming)
            if merge.outcome == UpsertOutcome.UNCHANGED:
                return merge.outcome
            try:
                self.receivables.save(merge.receivable)
                return merge.outcome
            except ConcurrentUpdate:
                continue
        return None
