"""Receivables table stream -> (re)plan each changed receivable's next slot -> its one schedule."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from saiken import wiring
from saiken.adapters.repository import receivable_from_image
from saiken.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
_outcomes: Counter[str] = Counter()


def record_handler(record: DynamoDBRecord) -> None:
    change = record.dynamodb
    assert change is not None
    old = receivable_from_image(change.raw_event.get("OldImage"))
    new = receivable_from_image(change.raw_event.get("NewImage"))
    outcome = wiring.dunning_service().on_change(old, new)
    _outcomes[outcome] += 1


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _outcomes.clear()
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    for outcome, count in _outcomes.items():
        metrics.add_metric(name=f"Schedules_{outcome}", unit=MetricUnit.Count, value=count)
    failures = len(response.get("batchItemFailures", []))
    if failures:
        metrics.add_metric(name="SchedulerRecordFailures", unit=MetricUnit.Count, value=failures)
    logger.info("stream batch", extra={"records": len(event.get("Records", [])), "failed": failures, **_outcomes})
    return dict(response)
