"""`make demo`: the main job on the embedded local AWS, start to finish, no account, no network.

1. start moto on loopback and wire S3 -> ingest and HTTP -> API (saiken.local),
2. creditors drop their files into S3 (CP932 CSV, UTF-8-BOM CSV with a mapping, a later TSV),
3. the ingest function validates and upserts them and writes the error reports,
4. a creditor's back office pushes receivables and a cancellation through the REST API,
5. a duplicate S3 event and another creditor's key change nothing,
then print what was accepted and rejected and write demo-output/.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import requests
from rich.console import Console
from rich.table import Table

from saiken import wiring
from saiken.adapters.objects import mapping_key
from saiken.adapters.repository import IngestionRunRepository, ReceivableRepository
from saiken.local.handlers import REPO_ROOT
from saiken.local.stack import IngestEvent, LocalStack

SAMPLES = REPO_ROOT / "samples"
UPLOADS = [
    ("acme", SAMPLES / "acme" / "receivables_2026-12_sjis.csv"),
    ("globex", SAMPLES / "globex" / "請求データ_2026-12.csv"),
    ("acme", SAMPLES / "acme" / "receivables_2026-12_update.tsv"),
]


def run_demo(out: Path, console: Console) -> dict[str, Any]:
    with _quiet_functions():
        return _run(out, console)


@contextmanager
def _quiet_functions() -> Iterator[None]:
    """The functions' JSON logs and EMF metrics would drown the summary (they are for CloudWatch)."""
    quiet = {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"}
    saved = {name: os.environ.get(name) for name in quiet}
    os.environ.update(quiet)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run(out: Path, console: Console) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    stack = LocalStack(api_port=0, on_ingest=lambda e: _collect(e, runs)).start()
    try:
        console.rule("[bold]Saiken demo: intake on the local AWS")
        console.print(f"moto on {stack.endpoint}, REST API on {stack.api_url}")
        settings = wiring.settings()
        s3 = boto3.client("s3", region_name=settings.region)
        s3.put_object(
            Bucket=settings.bucket,
            Key=mapping_key("globex"),
            Body=(SAMPLES / "globex" / "mapping.yaml").read_bytes(),
        )
        for creditor, path in UPLOADS:
            key = f"incoming/{creditor}/receivables/{path.name}"
            s3.put_object(Bucket=settings.bucket, Key=key, Body=path.read_bytes())
            stack.pump()  # the S3 event reaches the ingest function
        # S3 delivers at least once: replay the first file's event; the run is recognised and skipped.
        first_key = f"incoming/acme/receivables/{UPLOADS[0][1].name}"
        s3.copy_object(
            Bucket=settings.bucket,
            Key=first_key,
            CopySource={"Bucket": settings.bucket, "Key": first_key},
            MetadataDirective="REPLACE",
            Metadata={"replayed": "true"},
        )
        stack.pump()
        api = _api_calls(stack.api_url or "")
        _print_runs(console, runs)
        _print_api(console, api)
        summary = _summary(runs, api)
        _write_outputs(out, s3, settings.bucket, summary)
        console.print(f"\nwrote {out}/summary.json and the error reports in {out}/reports/")
        return summary
    finally:
        stack.stop()


def _collect(event: IngestEvent, runs: list[dict[str, Any]]) -> None:
    if event.result is not None:
        runs.append(event.result)
    else:
        runs.append({"file_key": event.key, "state": "error", "error_message": event.error})


def _api_calls(base: str) -> dict[str, Any]:
    acme_key = wiring.api_keys().issue("acme", name="demo")
    globex_key = wiring.api_keys().issue("globex", name="demo")

    def call(method: str, path: str, key: str | None, body: Any = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return requests.request(method, base + path, headers=headers, json=body, timeout=30)

    batch = [
        {
            "debtor_id": "API-D1",
            "debtor_name": "高橋 健一",
            "phone": "080-2222-3333",
            "receivable_id": "API-R1",
            "amount": "￥48,000",
            "due_date": "令和8年12月25日",
            "segment": "B",
        },
        {
            "debtor_id": "API-D1",
            "debtor_name": "高橋 健一",
            "phone": "080-2222-3333",
            "receivable_id": "API-R2",
            "amount": 5500,
            "due_date": "2026/12/31",
        },
        {
            "debtor_id": "API-D2",
            "debtor_name": "",
            "email": "not-an-email",
            "receivable_id": "API-R3",
            "amount": "12.5",
            "due_date": "12/31/2026",
        },
    ]
    pushed = call("POST", "/receivables/batch", acme_key, {"items": batch}).json()
    cancelled = call("PUT", "/receivables/API-R2/status", acme_key, {"status": "cancelled", "reason": "請求取消"})
    return {
        "batch": pushed,
        "cancel_status": cancelled.status_code,
        "cancelled": cancelled.json().get("status"),
        "debtor_receivables": [r["receivable_id"] for r in call("GET", "/debtors/API-D1/receivables", acme_key).json()],
        "other_creditor_read_status": call("GET", "/receivables/API-R1", globex_key).status_code,
        "no_key_status": call("GET", "/receivables", None).status_code,
        "wrong_key_status": call("GET", "/receivables", "sk.acme.not-a-key").status_code,
    }


def _print_runs(console: Console, runs: list[dict[str, Any]]) -> None:
    table = Table(
        "creditor/file",
        "enc",
        "state",
        "rows",
        "ok",
        "ng",
        "new",
        "upd",
        "same",
        title="S3 intake: one line per S3 event",
        caption="ok + ng = rows, always",
    )
    for r in runs:
        _, creditor, _, name = r["file_key"].split("/", 3)
        table.add_row(
            f"{creditor}/{name}",
            r.get("encoding") or "-",
            r["state"].replace("skipped_duplicate", "duplicate"),
            *(str(r.get(k, "-")) for k in ("rows", "accepted", "rejected", "created", "updated", "unchanged")),
        )
    console.print(table)
    codes: Counter[str] = Counter()
    for r in runs:
        if r["state"] == "completed":
            codes.update(r.get("error_counts") or {})
    if codes:
        console.print("rejections by reason: " + ", ".join(f"{c} {n}" for c, n in codes.most_common()))


def _print_api(console: Console, api: dict[str, Any]) -> None:
    batch = api["batch"]
    console.print(f"\nREST API batch: {batch['accepted']} accepted, {batch['rejected']} rejected")
    for item in batch["results"]:
        if item["errors"]:
            reasons = "; ".join(f"{e['field'] or '-'}: {e['code']}" for e in item["errors"])
            console.print(f"  item {item['index']} ({item['receivable_id']}): {reasons}")
    console.print(f"cancel API-R2: HTTP {api['cancel_status']} -> {api['cancelled']}")
    console.print(
        f"tenant isolation: globex reading acme's API-R1 -> HTTP {api['other_creditor_read_status']}; "
        f"no key -> {api['no_key_status']}; unknown key -> {api['wrong_key_status']}"
    )


def _summary(runs: list[dict[str, Any]], api: dict[str, Any]) -> dict[str, Any]:
    completed = [r for r in runs if r["state"] == "completed"]
    per_creditor: dict[str, int] = {}
    for creditor in ("acme", "globex"):
        per_creditor[creditor] = len(list(ReceivableRepository().iterate(creditor)))
    return {
        "files": runs,
        "rows": sum(r.get("rows", 0) for r in completed),
        "accepted": sum(r.get("accepted", 0) for r in completed),
        "rejected": sum(r.get("rejected", 0) for r in completed),
        "duplicate_events_skipped": sum(1 for r in runs if r["state"] == "skipped_duplicate"),
        "receivables_stored": per_creditor,
        "ingestion_runs": {c: len(IngestionRunRepository().for_creditor(c)) for c in ("acme", "globex")},
        "api": api,
    }


def _write_outputs(out: Path, s3: Any, bucket: str, summary: dict[str, Any]) -> None:
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    reports = out / "reports"
    reports.mkdir(exist_ok=True)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="reports/"):
        for obj in page.get("Contents", []):
            target = reports / obj["Key"].removeprefix("reports/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
