"""The daily accounting job: write-offs (償却), their export, the limitation (消滅時効) report,
and the age of the unmatched payments queue."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any, Protocol

from saiken.adapters.payments import PaymentRepository
from saiken.adapters.repository import ReceivableRepository
from saiken.domain.errors import ConcurrentUpdate
from saiken.domain.models import Receivable
from saiken.domain.planner import JST
from saiken.domain.rules import CreditorConfig
from saiken.domain.status import ReceivableStatus, transition
from saiken.intake.normalize import escape_csv_cell
from saiken.intake.report import csv_report

WRITEOFF_REASON = "償却"
WRITEOFF_HEADER = (
    "receivable_id",
    "debtor_id",
    "amount",
    "balance",
    "due_date",
    "days_past_due",
    "stage",
    "written_off_on",
)
LIMITATION_HEADER = (
    "receivable_id",
    "debtor_id",
    "status",
    "balance",
    "due_date",
    "acknowledged_on",
    "limitation_date",
    "days_left",
)


class ReportSink(Protocol):
    def put_report(self, key: str, body: IO[bytes]) -> None: ...


@dataclass
class DayResult:
    creditor_id: str
    day: date
    written_off: int = 0
    written_off_amount: int = 0
    nearing_limitation: int = 0
    unmatched: int = 0
    oldest_unmatched_days: int = 0
    reports: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["day"] = self.day.isoformat()
        return out


def writeoff_key(creditor_id: str, day: date) -> str:
    return f"reports/{creditor_id}/writeoffs-{day:%Y%m%d}.csv"


def limitation_key(creditor_id: str, day: date) -> str:
    return f"reports/{creditor_id}/limitation-{day:%Y%m%d}.csv"


@dataclass
class AccountingService:
    receivables: ReceivableRepository
    payments: PaymentRepository
    config_for: Callable[[str], CreditorConfig]
    reports: ReportSink
    list_creditors: Callable[[], Iterable[str]]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def creditors(self) -> list[str]:
        return sorted(set(self.list_creditors()))

    def run(self, creditor_id: str) -> DayResult:
        """Idempotent for a day: a second run writes off nothing new and rewrites the same reports
        (the export lists every receivable written off that day, from the receivables themselves)."""
        today = self.clock().astimezone(JST).date()
        rules = self.config_for(creditor_id).rules
        result = DayResult(creditor_id, today)
        stamp = f"{WRITEOFF_REASON} {today.isoformat()}"
        written: list[Receivable] = []
        nearing: list[Receivable] = []
        horizon = today + timedelta(days=rules.limitation_warning_days)
        for r in self.receivables.iterate(creditor_id, unsettled_only=True):
            if rules.writeoff is not None and rules.writeoff.applies(r, today):
                r = self._write_off(r, stamp) or r
            if r.status is ReceivableStatus.WRITTEN_OFF and r.status_reason == stamp:
                written.append(r)
            open_claim = r.balance > 0 and r.status not in (ReceivableStatus.PAID, ReceivableStatus.CANCELLED)
            if open_claim and r.limitation_date <= horizon:
                nearing.append(r)
        result.written_off = len(written)
        result.written_off_amount = sum(r.balance for r in written)
        result.nearing_limitation = len(nearing)
        self.reports.put_report(
            writeoff_key(creditor_id, today), csv_report(WRITEOFF_HEADER, (_writeoff_row(r, today) for r in written))
        )
        self.reports.put_report(
            limitation_key(creditor_id, today),
            csv_report(
                LIMITATION_HEADER, (_limitation_row(r, today) for r in sorted(nearing, key=lambda r: r.limitation_date))
            ),
        )
        result.reports = [writeoff_key(creditor_id, today), limitation_key(creditor_id, today)]
        queue = self.payments.unmatched(creditor_id, limit=1000)
        result.unmatched = len(queue)
        if queue:
            result.oldest_unmatched_days = max(0, (today - min(p.paid_on for p in queue)).days)
        return result

    def _write_off(self, r: Receivable, stamp: str) -> Receivable | None:
        """Written off in a versioned write; a receivable that changed meanwhile (paid a moment
        ago) is left alone: the next day's run looks at it again."""
        try:
            status = transition(r.status, ReceivableStatus.WRITTEN_OFF)
            return self.receivables.save(r.model_copy(update={"status": status, "status_reason": stamp}))
        except ConcurrentUpdate:
            return None


def _writeoff_row(r: Receivable, today: date) -> list[Any]:
    return [
        escape_csv_cell(r.receivable_id),
        escape_csv_cell(r.debtor_id),
        r.amount,
        r.balance,
        r.due_date.isoformat(),
        (today - r.due_date).days,
        r.stage or "",
        today.isoformat(),
    ]


def _limitation_row(r: Receivable, today: date) -> list[Any]:
    return [
        escape_csv_cell(r.receivable_id),
        escape_csv_cell(r.debtor_id),
        r.status.value,
        r.balance,
        r.due_date.isoformat(),
        r.acknowledged_on.isoformat() if r.acknowledged_on else "",
        r.limitation_date.isoformat(),
        (r.limitation_date - today).days,
    ]
