"""Channel feedback -> the timeline (応対履歴) and the rules.

Three shapes arrive here: SES events through EventBridge (delivered, bounced, complained), AWS End
User Messaging SMS events and two-way replies through SNS (receipts, STOP / 停止), and Amazon
Connect's contact flow invoking this function with the caller's keypad answers (1 = I will pay
by <date>, 2 = talk to an operator). For Connect the answer goes back to the flow as flat
string attributes (``outcome``, ``promised_date``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from saiken import wiring
from saiken.adapters.feedback import UnknownEvent, parse
from saiken.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        items = parse(event)
    except UnknownEvent as exc:  # not ours to retry: say so and count it
        logger.warning("unknown channel event", extra={"why": str(exc)})
        metrics.add_metric(name="ChannelEventsUnknown", unit=MetricUnit.Count, value=1)
        return {"outcome": "ignored"}
    done, answer = wiring.feedback_service().handle(items)
    for kind, count in done.items():
        metrics.add_metric(name=f"ChannelEvents_{kind.replace(':', '_')}", unit=MetricUnit.Count, value=count)
    logger.info("channel events", extra={"done": dict(done)})
    return answer or {"outcome": "recorded"}
