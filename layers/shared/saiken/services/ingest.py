"""Ingest one receivables file: stream, validate, upsert in batches, report, record the run."""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Protocol

from saiken.domain.models import IngestionRun, IngestionState
from saiken.intake.fields import ReceivableRow
from saiken.intake.mapping import ColumnMapping
from saiken.intake.reader import AcceptedRow, FileError, ReceivableFileReader, RejectedRow, RowError
from saiken.intake.report import ErrorReportWriter
from saiken.services.upsert import Upserter

INTERNAL_ERROR = "internal_error"
# S3 notification filters are case-sensitive, and Windows exports say DATA.CSV as often as data.csv.
INTAKE_SUFFIXES = (".csv", ".tsv", ".CSV", ".TSV")
# Lambda retries a failed S3 event this many times, then dead-letters it (the stack and the local
# stack both use this number).
ASYNC_RETRIES = 2


class RunStore(Protocol):
    def get(self, creditor_id: str, run_id: str) -> IngestionRun | None: ...
    def save(self, run: IngestionRun) -> None: ...


class ReportSink(Protocol):
    def put_report(self, key: str, body: IO[bytes]) -> None: ...


def run_id_for(file_key: str, etag: str, mapping_fingerprint: str = "") -> str:
    """The same object (key + ETag) read with the same mapping maps to the same run."""
    return hashlib.sha256(f"{file_key}\n{etag}\n{mapping_fingerprint}".encode()).hexdigest()[:32]


def report_key_for(creditor_id: str, file_key: str) -> str:
    prefix = f"incoming/{creditor_id}/receivables/"
    name = file_key[len(prefix) :] if file_key.startswith(prefix) else file_key.rsplit("/", 1)[-1]
    return f"reports/{creditor_id}/{name}.errors.csv"


class _Checksum:
    """Hashes the bytes as they stream past, so the file is read once."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._hash = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._hash.update(chunk)
            yield chunk

    @property
    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class _Pass:
    """One read of one file: batches accepted rows into upserts, streams rejections to the report."""

    def __init__(self, upserter: Upserter, creditor_id: str, file_key: str, report: ErrorReportWriter) -> None:
        self.upserter, self.creditor_id, self.file_key, self.report = upserter, creditor_id, file_key, report
        self.batch: list[AcceptedRow] = []
        self.outcomes: Counter[str] = Counter()
        self.error_counts: Counter[str] = Counter()

    def accept(self, row: AcceptedRow, batch_size: int) -> None:
        self.batch.append(row)
        if len(self.batch) >= batch_size:
            self.flush()

    def reject(self, row: RejectedRow) -> None:
        self.report.write(row.errors)
        self.error_counts.update({e.code for e in row.errors})

    def flush(self) -> None:
        if not self.batch:
            return
        result = self.upserter.upsert(self.creditor_id, [a.data for a in self.batch], source=self.file_key)
        for accepted, outcome in zip(self.batch, result.outcomes, strict=True):
            if outcome is None:  # kept changing under concurrent writers: reported, never lost silently
                self.outcomes["write_failed"] += 1
                self.error_counts["conflict"] += 1
                self.report.write([_write_failed(accepted)])
            else:
                self.outcomes[outcome.value] += 1
        self.batch.clear()


@dataclass
class IngestService:
    upserter: Upserter
    runs: RunStore
    reports: ReportSink
    batch_size: int = 500
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def ingest(
        self,
        *,
        creditor_id: str,
        file_key: str,
        etag: str,
        chunks: Iterable[bytes],
        mapping: ColumnMapping | None = None,
        load_mapping: Callable[[], ColumnMapping | None] | None = None,
    ) -> IngestionRun:
        """``load_mapping`` reads the creditor's mapping; a broken one fails the run with its reason."""
        mapping_error: FileError | None = None
        if load_mapping is not None:
            try:
                mapping = load_mapping()
            except FileError as exc:
                mapping_error = exc
        run_id = run_id_for(file_key, etag, mapping.fingerprint() if mapping else ("broken" if mapping_error else ""))
        previous = self.runs.get(creditor_id, run_id)
        if previous is not None and previous.state == IngestionState.COMPLETED:
            # A duplicate S3 event or an identical re-upload (same bytes, same mapping): the work is
            # done, change nothing. A failed run is always tried again: the creditor may have fixed
            # the mapping, and Lambda's retry after an internal error is the point.
            return previous.model_copy(update={"state": IngestionState.SKIPPED_DUPLICATE})
        run = IngestionRun(
            creditor_id=creditor_id,
            run_id=run_id,
            file_key=file_key,
            started_at=self.clock(),
            report_key=report_key_for(creditor_id, file_key),
        )
        self.runs.save(run)

        checksum = _Checksum(chunks)
        reader = ReceivableFileReader(checksum, filename=file_key, mapping=mapping)
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
            text = io.TextIOWrapper(spool, encoding="utf-8", newline="", write_through=True)
            one = _Pass(self.upserter, creditor_id, file_key, ErrorReportWriter(text))
            error: FileError | None = None
            try:
                if mapping_error is not None:
                    raise mapping_error
                for outcome in reader:
                    if isinstance(outcome, AcceptedRow):
                        one.accept(outcome, self.batch_size)
                    else:
                        one.reject(outcome)
            except FileError as exc:
                error = exc  # the file as a whole could not be read on
            except Exception:
                self.runs.save(
                    run.model_copy(
                        update={
                            "state": IngestionState.FAILED,
                            "error_code": INTERNAL_ERROR,
                            "finished_at": self.clock(),
                        }
                    )
                )
                raise
            one.flush()  # rows accepted before a file-level fault are kept
            text.detach()  # the spool stays open for the upload
            spool.seek(0)
            self.reports.put_report(run.report_key or "", spool)

        failed = one.outcomes["write_failed"]
        run = run.model_copy(
            update={
                "state": IngestionState.FAILED if error else IngestionState.COMPLETED,
                "checksum": None if error else checksum.hexdigest,
                "encoding": reader.encoding,
                "rows": reader.rows,
                "accepted": reader.accepted - failed,
                "rejected": reader.rejected + failed,
                "created": one.outcomes["created"],
                "updated": one.outcomes["updated"],
                "unchanged": one.outcomes["unchanged"],
                "error_counts": dict(one.error_counts),
                "error_code": error.code if error else None,
                "error_message": error.message if error else None,
                "finished_at": self.clock(),
            }
        )
        self.runs.save(run)
        return run


def _write_failed(accepted: AcceptedRow) -> RowError:
    row: ReceivableRow = accepted.data
    return RowError(
        accepted.row,
        accepted.line,
        "receivable_id",
        "conflict",
        "the receivable kept changing while this file was written; upload the file again",
        row.receivable_id,
    )


def parse_intake_key(key: str) -> tuple[str, str] | None:
    """``incoming/{creditor}/{kind}/...`` -> (creditor, kind); None for any other key."""
    parts = key.split("/")
    if len(parts) < 4 or parts[0] != "incoming" or not parts[1] or not parts[-1]:
        return None
    return parts[1], parts[2]
