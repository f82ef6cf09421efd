"""Payments files and the daily accounting job.

``handler``: S3 ObjectCreated under incoming/{creditor}/payments/ (an S3 notification, or the
same event through EventBridge) -> read (Zengin or CSV), match, book, report.
``daily``: EventBridge Scheduler, once a day -> promises to pay settled (kept / broken: dunning
resumes) and expired disputes / holds released; then write-offs (償却) per each creditor's policy,
the write-off export and the limitation (消滅時効) report, and the unmatched queue's age metric.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from saiken import wiring
from saiken.domain.models import IngestionState
from saiken.observability import logger, metrics, tracer
from saiken.services.ingest import parse_intake_key

PAYMENTS = "payments"
_LOGGED = {"run_id", "state", "rows", "accepted", "rejected", "outcomes", "error_code"}


def _objects(event: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, etag) of each object: S3 notification records, or one EventBridge "Object Created"."""
    if "Records" in event:
        return [
            (unquote_plus(r["s3"]["object"]["key"]), r["s3"]["object"].get("eTag", ""))
            for r in event["Records"]
            if "s3" in r
        ]
    detail = event.get("detail") or {}
    obj = detail.get("object") or {}
    return [(obj["key"], obj.get("etag", ""))] if "key" in obj else []


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    service = wiring.payment_file_service()
    runs = []
    for key, etag in _objects(event):
        parsed = parse_intake_key(key)
        if parsed is None or parsed[1] != PAYMENTS:
            logger.warning("ignored object outside incoming/{creditor}/payments/", extra={"key": key})
            continue
        creditor_id = parsed[0]
        logger.append_keys(creditor_id=creditor_id, file_key=key)
        run = service.ingest(creditor_id, key, etag)
        logger.info("payments file", extra={"run": run.model_dump(mode="json", include=_LOGGED)})
        for state, count in run.outcomes.items():
            metrics.add_metric(name=f"Payments_{state}", unit=MetricUnit.Count, value=count)
        if run.state == IngestionState.FAILED:
            metrics.add_metric(name="PaymentFilesFailed", unit=MetricUnit.Count, value=1)
        runs.append(run.model_dump(mode="json"))
    return {"runs": runs}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def daily(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    service = wiring.accounting_service()
    results = []
    for creditor_id in service.creditors():
        logger.append_keys(creditor_id=creditor_id)
        follow_up = wiring.case_service().follow_up(creditor_id)
        metrics.add_metric(name="PromisesKept", unit=MetricUnit.Count, value=len(follow_up.promises_kept))
        metrics.add_metric(name="PromisesBroken", unit=MetricUnit.Count, value=len(follow_up.promises_broken))
        metrics.add_metric(name="HoldsExpired", unit=MetricUnit.Count, value=len(follow_up.released))
        result = service.run(creditor_id)
        metrics.add_metric(name="WrittenOff", unit=MetricUnit.Count, value=result.written_off)
        metrics.add_metric(name="WrittenOffAmount", unit=MetricUnit.Count, value=result.written_off_amount)
        metrics.add_metric(name="NearingLimitation", unit=MetricUnit.Count, value=result.nearing_limitation)
        metrics.add_metric(name="UnmatchedPayments", unit=MetricUnit.Count, value=result.unmatched)
        metrics.add_metric(name="OldestUnmatchedPaymentDays", unit=MetricUnit.Count, value=result.oldest_unmatched_days)
        logger.info("daily accounting", extra={"result": result.as_dict(), "follow_up": follow_up.as_dict()})
        results.append({**result.as_dict(), "follow_up": follow_up.as_dict()})
    return {"creditors": results}
