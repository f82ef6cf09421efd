"""Send queue (fed by EventBridge Scheduler) -> re-check, deliver once, record, chain the next slot."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from saiken import wiring
from saiken.observability import logger, metrics, tracer

# All records failing (a provider down) is an answer, not an error: every message goes back to the
# queue with its backoff, and the metrics are still written.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_counts: Counter[str] = Counter()


def _payload(body: str) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def record_handler(record: SQSRecord) -> None:
    result = wiring.dunning_service().fire(json.loads(record.body))
    for channel in result.sent:
        _counts[f"Sent_{channel}"] += 1
    for reason in result.suppressed.values():
        _counts[f"Suppressed_{reason}"] += 1
    _counts["Failed"] += len(result.failed)
    if result.deferred_to:
        _counts["Deferred"] += 1


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _counts.clear()
    wiring.idempotency().config.register_lambda_context(context)
    wiring.dunning_service().prefetch([_payload(r.get("body", "")) for r in event.get("Records", [])])
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    if failed:
        wiring.backoff().apply(event.get("Records", []), failed)
    _counts["SendErrors"] += len(failed)
    for name, count in _counts.items():
        if count:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    # ids and counts only: never an address, a number or a message body
    logger.info("send batch", extra={"records": len(event.get("Records", [])), **_counts})
    return dict(response)
