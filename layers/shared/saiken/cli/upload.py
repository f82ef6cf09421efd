"""`saiken upload`: the creditor's side of intake (put the file, wait for the run record)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from saiken import wiring
from saiken.adapters.repository import IngestionRunRepository
from saiken.domain.models import IngestionRun, IngestionState


def intake_key(creditor_id: str, file: Path, kind: str = "receivables") -> str:
    return f"incoming/{creditor_id}/{kind}/{file.name}"


def upload_file(
    file: Path, creditor_id: str, *, wait_seconds: float, console: Console, kind: str = "receivables"
) -> IngestionRun | None:
    settings = wiring.settings()
    key = intake_key(creditor_id, file, kind)
    s3 = boto3.client("s3", region_name=settings.region)
    uploaded_at = datetime.now(UTC) - timedelta(seconds=5)  # S3's clock may run a little behind ours
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=console, transient=True
    ) as progress:
        task = progress.add_task(f"upload {file.name}", total=file.stat().st_size)
        s3.upload_file(str(file), settings.bucket, key, Callback=lambda n: progress.advance(task, n))
    console.print(f"uploaded s3://{settings.bucket}/{key}")
    if not wait_seconds:
        return None
    runs = IngestionRunRepository()
    deadline = time.monotonic() + wait_seconds
    with console.status("waiting for ingestion..."):
        while time.monotonic() < deadline:
            for run in runs.for_creditor(creditor_id):
                done = run.state != IngestionState.RUNNING
                if run.file_key == key and done and run.started_at and run.started_at >= uploaded_at:
                    return run
            time.sleep(0.5)  # polling a user-facing command, not a test
    return None
