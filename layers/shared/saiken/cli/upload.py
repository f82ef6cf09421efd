"""`saiken upload`: the creditor's side of intake (put the file, wait for the run record)."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from saiken import wiring
from saiken.adapters.repository import IngestionRunRepository
from saiken.domain.models import IngestionRun, IngestionState
from saiken.services.ingest import run_id_for


def intake_key(creditor_id: str, file: Path) -> str:
    return f"incoming/{creditor_id}/receivables/{file.name}"


def upload_file(file: Path, creditor_id: str, *, wait_seconds: float, console: Console) -> IngestionRun | None:
    settings = wiring.settings()
    key = intake_key(creditor_id, file)
    s3 = boto3.client("s3", region_name=settings.region)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=console, transient=True
    ) as progress:
        task = progress.add_task(f"upload {file.name}", total=file.stat().st_size)
        s3.upload_file(str(file), settings.bucket, key, Callback=lambda n: progress.advance(task, n))
    etag = s3.head_object(Bucket=settings.bucket, Key=key)["ETag"].strip('"')
    console.print(f"uploaded s3://{settings.bucket}/{key}")
    if not wait_seconds:
        return None
    runs = IngestionRunRepository()
    run_id = run_id_for(key, etag)
    deadline = time.monotonic() + wait_seconds
    with console.status("waiting for ingestion..."):
        while time.monotonic() < deadline:
            run = runs.get(creditor_id, run_id)
            if run is not None and run.state != IngestionState.RUNNING:
                return run
            time.sleep(0.5)  # polling a user-facing command, not a test
    return None
