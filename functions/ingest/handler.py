"""S3 ObjectCreated on incoming/{creditor}/receivables/*.csv -> validate, upsert, report."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from saiken import wiring
from saiken.domain.models import IngestionState
from saiken.observability import logger, metrics, tracer
from saiken.services.ingest import parse_intake_key

RECEIVABLES = "receivables"
PAYMENTS = "payments"
_RUN_METRIC = {
    IngestionState.COMPLETED: "IngestionCompleted",
    IngestionState.FAILED: "IngestionFailed",
    IngestionState.SKIPPED_DUPLICATE: "IngestionSkippedDuplicate",
    IngestionState.RUNNING: "IngestionRunning",
}
# Counts and ids only: no names, phones or emails ever reach the logs.
_LOGGED_RUN_FIELDS = {
    "run_id",
    "state",
    "rows",
    "accepted",
    "rejected",
    "created",
    "updated",
    "unchanged",
    "error_code",
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    service, store = wiring.ingest_service(), wiring.object_store()
    runs = []
    for record in event.records:
        key = unquote_plus(record.s3.get_object.key)  # S3 sends keys URL-encoded (+ for space)
        parsed = parse_intake_key(key)
        if parsed is not None and parsed[1] == PAYMENTS:
            continue  # a payments CSV: the reconcile function has it (through EventBridge)
        if parsed is None or parsed[1] != RECEIVABLES:
            logger.warning("ignored object outside incoming/{creditor}/receivables/", extra={"key": key})
            metrics.add_metric(name="IgnoredObjects", unit=MetricUnit.Count, value=1)
            continue
        creditor_id = parsed[0]
        logger.append_keys(creditor_id=creditor_id, file_key=key)
        run = service.ingest(
            creditor_id=creditor_id,
            file_key=key,
            etag=record.s3.get_object.etag or "",
            chunks=store.stream(key),
            load_mapping=partial(store.mapping_for, creditor_id),
        )
        logger.info("ingestion run", extra={"run": run.model_dump(mode="json", include=_LOGGED_RUN_FIELDS)})
        metrics.add_metric(name="RowsAccepted", unit=MetricUnit.Count, value=run.accepted)
        metrics.add_metric(name="RowsRejected", unit=MetricUnit.Count, value=run.rejected)
        metrics.add_metric(name=_RUN_METRIC[run.state], unit=MetricUnit.Count, value=1)
        runs.append(run.model_dump(mode="json"))
    return {"runs": runs}
