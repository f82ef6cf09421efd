"""Logger, Metrics and Tracer: created once, here (a second Tracer can undo boto3 patching).

No PII in logs: handlers log ids, counts and states, never names, phones or emails
(tests/integration/test_no_pii_in_logs.py reads what they print)."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "saiken"
NAMESPACE = "Saiken"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)

# These libraries log whole requests at DEBUG (DynamoDB items, route arguments: names, phones,
# emails). Whatever level the function runs at, they never go below INFO.
PAYLOAD_LOGGERS = ("pynamodb", "botocore", "boto3", "urllib3", "aws_lambda_powertools.event_handler")
for _name in PAYLOAD_LOGGERS:
    logging.getLogger(_name).setLevel(logging.INFO)
