"""`saiken validate`: read a file exactly as ingest would, touching nothing but the file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TransferSpeedColumn

from saiken.intake.decode import CHUNK_SIZE
from saiken.intake.mapping import ColumnMapping
from saiken.intake.reader import FileError, ReceivableFileReader, RejectedRow

PROGRESS_THRESHOLD = 4 << 20  # show a bar for files over 4 MB


def _chunks(path: Path, progress: Progress | None) -> Iterator[bytes]:
    task = progress.add_task(path.name, total=path.stat().st_size) if progress else None
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            if progress is not None and task is not None:
                progress.advance(task, len(chunk))
            yield chunk


def validate_file(path: Path, mapping: ColumnMapping | None = None, show_progress: bool = False) -> dict[str, Any]:
    """The `--json` document: {file, encoding, rows, accepted, rejected, errors}; raises FileError."""
    progress = None
    if show_progress and path.stat().st_size > PROGRESS_THRESHOLD:
        progress = Progress(TextColumn("{task.description}"), BarColumn(), TransferSpeedColumn(), transient=True)
    errors: list[dict[str, Any]] = []
    reader = ReceivableFileReader(_chunks(path, progress), filename=path.name, mapping=mapping)
    if progress:
        progress.start()
    try:
        for outcome in reader:
            if isinstance(outcome, RejectedRow):
                errors.extend(e.as_dict() for e in outcome.errors)
    finally:
        if progress:
            progress.stop()
    return {
        "file": str(path),
        "encoding": reader.encoding,
        "rows": reader.rows,
        "accepted": reader.accepted,
        "rejected": reader.rejected,
        "errors": errors,
    }


__all__ = ["FileError", "validate_file"]
