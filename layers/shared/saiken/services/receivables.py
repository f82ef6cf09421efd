"""Receivables use cases behind the REST API and the CLI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from saiken.domain.errors import ConcurrentUpdate, NotFound
from saiken.domain.intake import UpsertOutcome
from saiken.domain.models import Debtor, Receivable
from saiken.domain.status import OPERATOR_TARGETS, InvalidTransition, ReceivableStatus, transition
from saiken.intake.fields import FieldIssue, ReceivableRow, validate_row
from saiken.services.upsert import Upserter
from saiken.services.versioned import update_versioned

MAX_BATCH = 500
MAX_ATTEMPTS = 5


class ReceivableReader(Protocol):
    def get(self, creditor_id: str, receivable_id: str) -> Receivable | None: ...
    def save(self, receivable: Receivable) -> Receivable: ...
    def list_for_debtor(self, creditor_id: str, debtor_id: str) -> list[Receivable]: ...
    def page(
        self,
        creditor_id: str,
        *,
        limit: int = 100,
        after: str | None = None,
        status: ReceivableStatus | None = None,
    ) -> tuple[list[Receivable], str | None]: ...


@dataclass
class ItemResult:
    index: int
    receivable_id: str | None
    outcome: str | None = None  # created / updated / unchanged
    errors: list[FieldIssue] = field(default_factory=list)


@dataclass(frozen=True)
class DebtorOverview:
    debtor: Debtor
    receivables: list[Receivable]

    @property
    def open_balance(self) -> int:
        """What the debtor still owes on receivables that are not closed (paid, written off, cancelled)."""
        return sum(r.balance for r in self.receivables if not r.status.is_closed)


@dataclass
class ReceivableService:
    repository: ReceivableReader
    upserter: Upserter

    def get(self, creditor_id: str, receivable_id: str) -> Receivable:
        found = self.repository.get(creditor_id, receivable_id)
        if found is None:
            raise NotFound(f"receivable {receivable_id!r} not found")
        return found

    def list_for_debtor(self, creditor_id: str, debtor_id: str) -> list[Receivable]:
        return self.repository.list_for_debtor(creditor_id, debtor_id)

    def debtor(self, creditor_id: str, debtor_id: str) -> DebtorOverview:
        """A debtor with all their receivables: the one place to look (債務者・債権の一元管理)."""
        debtor = self.upserter.debtors.get(creditor_id, debtor_id)
        if debtor is None:
            raise NotFound(f"debtor {debtor_id!r} not found")
        return DebtorOverview(debtor, self.repository.list_for_debtor(creditor_id, debtor_id))

    def page(
        self,
        creditor_id: str,
        *,
        limit: int = 100,
        after: str | None = None,
        status: ReceivableStatus | None = None,
    ) -> tuple[list[Receivable], str | None]:
        return self.repository.page(creditor_id, limit=limit, after=after, status=status)

    def upsert_many(
        self, creditor_id: str, items: Sequence[Mapping[str, Any]], source: str = "api"
    ) -> list[ItemResult]:
        """Validate every item; write the valid ones; report each item's outcome or errors.

        A bad item never blocks the good ones, and a receivable id repeated in one batch is
        rejected the second time (as in a file).
        """
        if len(items) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} receivables per batch")
        results: list[ItemResult] = []
        valid: list[tuple[ItemResult, ReceivableRow]] = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            row, issues = validate_row(item)
            rid = row.receivable_id if row else (str(item.get("receivable_id") or "") or None)
            result = ItemResult(index, rid, errors=list(issues))
            if rid and rid in seen:
                result.errors.append(
                    FieldIssue(
                        "receivable_id",
                        "duplicate_receivable",
                        f"receivable {rid!r} appears earlier in this batch",
                    )
                )
            if rid:
                seen.add(rid)
            results.append(result)
            if row is not None and not result.errors:
                valid.append((result, row))
        if valid:
            written = self.upserter.upsert(creditor_id, [row for _, row in valid], source=source)
            for (result, _), outcome in zip(valid, written.outcomes, strict=True):
                if outcome is None:
                    result.errors.append(FieldIssue("receivable_id", "conflict", "changed concurrently; send it again"))
                else:
                    result.outcome = outcome.value
        return results

    def change_status(
        self, creditor_id: str, receivable_id: str, target: ReceivableStatus, reason: str | None = None
    ) -> Receivable:
        """Operator status change (cancel, hold, dispute, release), re-applied on concurrent updates."""
        before, after = self.change_status_from(creditor_id, receivable_id, target, reason)
        return after or before

    def change_status_from(
        self, creditor_id: str, receivable_id: str, target: ReceivableStatus, reason: str | None = None
    ) -> tuple[Receivable, Receivable | None]:
        """The same, as (before, after): after is None when it already had that status and reason."""
        if target not in OPERATOR_TARGETS:
            allowed = ", ".join(sorted(s.value for s in OPERATOR_TARGETS))
            raise InvalidTransition.not_settable(target, allowed)
        return update_versioned(
            lambda: self.repository.get(creditor_id, receivable_id),
            lambda r: r.model_copy(update={"status": transition(r.status, target), "status_reason": reason}),
            self.repository.save,
            label=f"receivable {receivable_id!r}",
        )

    def set_contact_preferences(self, creditor_id: str, debtor_id: str, changes: Mapping[str, Any]) -> DebtorOverview:
        """Do-not-contact, lawyer retained (受任通知), per-channel opt-outs. The send path reads them
        again before every reminder, so the next one already obeys (and a hard stop removes the
        receivable's schedule when it fires)."""
        allowed = {"do_not_contact", "lawyer_retained", "opt_outs"}
        update = {k: v for k, v in changes.items() if k in allowed and v is not None}
        if "opt_outs" in update:
            update["opt_outs"] = sorted(set(update["opt_outs"]))
        debtors = self.upserter.debtors
        update_versioned(
            lambda: debtors.get(creditor_id, debtor_id),
            lambda d: d.model_copy(update=update),
            debtors.save,
            label=f"debtor {debtor_id!r}",
        )
        return self.debtor(creditor_id, debtor_id)

    def apply_payment(
        self, creditor_id: str, receivable_id: str, amount: int | None = None, reason: str = "payment"
    ) -> Receivable:
        """Take a matched payment off the balance (None: all of it): paid when nothing is left, partly
        paid otherwise. (Matching a bank line to a receivable is the reconcile path's job; this is
        its last step.)"""
        if amount is not None and amount <= 0:
            raise ValueError("a payment is a positive number of yen")
        for _ in range(MAX_ATTEMPTS):
            current = self.get(creditor_id, receivable_id)
            balance = 0 if amount is None else max(current.balance - amount, 0)
            target = ReceivableStatus.PAID if balance == 0 else ReceivableStatus.PARTIALLY_PAID
            new_status = transition(current.status, target)
            try:
                return self.repository.save(
                    current.model_copy(update={"balance": balance, "status": new_status, "status_reason": reason})
                )
            except ConcurrentUpdate:
                continue
        raise ConcurrentUpdate(f"receivable {receivable_id!r} kept changing; try again")


__all__ = ["MAX_BATCH", "ItemResult", "ReceivableService", "UpsertOutcome"]
