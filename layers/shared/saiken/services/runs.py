"""Ingestion runs as creditors see them: what became of each file they dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from saiken.domain.errors import NotFound
from saiken.domain.models import IngestionRun


class RunReader(Protocol):
    def get(self, creditor_id: str, run_id: str) -> IngestionRun | None: ...
    def for_creditor(self, creditor_id: str) -> list[IngestionRun]: ...


class ReportLinks(Protocol):
    def presigned_get(self, key: str, expires_in: int) -> str: ...


_EPOCH = datetime.min.replace(tzinfo=UTC)
REPORT_LINK_SECONDS = 900


@dataclass
class RunService:
    runs: RunReader
    reports: ReportLinks

    def latest(self, creditor_id: str, limit: int = 50) -> list[IngestionRun]:
        runs = self.runs.for_creditor(creditor_id)
        runs.sort(key=lambda r: r.started_at or _EPOCH, reverse=True)
        return runs[:limit]

    def get(self, creditor_id: str, run_id: str) -> IngestionRun:
        run = self.runs.get(creditor_id, run_id)
        if run is None:
            raise NotFound(f"ingestion run {run_id!r} not found")
        return run

    def report_link(self, creditor_id: str, run_id: str) -> tuple[str, int]:
        """A short-lived download link for the run's error report (the creditor's own runs only)."""
        run = self.get(creditor_id, run_id)
        if not run.report_key or run.state == "running":
            raise NotFound(f"ingestion run {run_id!r} has no report yet")
        return self.reports.presigned_get(run.report_key, REPORT_LINK_SECONDS), REPORT_LINK_SECONDS
