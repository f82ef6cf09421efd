"""Ingest one receivables file: stream, validate, upsert in batches, report, record the run."""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from saiken.domain.models import IngestionRun, IngestionState
from saiken.intake.fields import ReceivableRow
from saiken.intake.mapping import ColumnMapping
from saiken.intake.reader import AcceptedRow, FileError, ReceivableFileReader, RowError
from saiken.intake.report import ErrorReportWriter
from saiken.services.upsert import Upserter

INTERNAL_ERROR = "internal_error"


class RunStore(Protocol):
    def get(self, creditor_id: str, run_id: str) -> IngestionRun | None: ...
    def save(self, run: IngestionRun) -> None: ...


class ReportSink(Protocol):
    def put_report(self, key: str, body: bytes) -> None: ...


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
        on_progress: Callable[[int], None] | None = None,
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
        spool = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+b")  # noqa: SIM115 - closed below
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        report = ErrorReportWriter(text)
        batch: list[AcceptedRow] = []
        counts = {"created": 0, "updated": 0, "unchanged": 0, "write_failed": 0}
        error_counts: Counter[str] = Counter()

        def flush() -> None:
            if not batch:
                return
            result = self.upserter.upsert(creditor_id, [a.data for a in batch], source=file_key)
            for accepted, outcome in zip(batch, result.outcomes, strict=True):
                if outcome is None:
                    counts["write_failed"] += 1
                    error_counts["conflict"] += 1
                    report.write([_write_failed(accepted)])
                else:
                    counts[outcome.value] += 1
            batch.clear()
            if on_progress:
                on_progress(reader.rows)

        try:
            if mapping_error is not None:
                raise mapping_error
            for outcome in reader:
                if isinstance(outcome, AcceptedRow):
                    batch.append(outcome)
                    if len(batch) >= self.batch_size:
                        flush()
                else:
                    report.write(outcome.errors)
                    error_counts.update({e.code for e in outcome.errors})
            flush()
            state, error = IngestionState.COMPLETED, None
        except FileError as exc:
            flush()  # rows accepted before the fault are kept
            state, error = IngestionState.FAILED, exc
        except Exception:
            run.state = IngestionState.FAILED
            run.error_code = INTERNAL_ERROR
            run.finished_at = self.clock()
            self.runs.save(run)
            raise

        text.flush()
        spool.seek(0)
        self.reports.put_report(run.report_key or "", spool.read())
        text.close()

        failed = counts["write_failed"]
        run = run.model_copy(
            update={
                "state": state,
                "checksum": checksum.hexdigest if state == IngestionState.COMPLETED else None,
                "encoding": reader.encoding,
                "rows": reader.rows,
                "accepted": reader.accepted - failed,
                "rejected": reader.rejected + failed,
                "created": counts["created"],
                "updated": counts["updated"],
                "unchanged": counts["unchanged"],
                "error_counts": dict(error_counts),
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
