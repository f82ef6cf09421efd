"""Queues and alarms the way every construct here wants them."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def secure_queue(scope: Construct, construct_id: str, *, retention_days: int = 14, **kwargs: Any) -> sqs.Queue:
    """SQS-managed encryption, TLS only, two weeks to look at what landed in it."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(retention_days),
        **kwargs,
    )


def alarm(
    scope: Construct, construct_id: str, metric: cloudwatch.IMetric, description: str, threshold: float = 1
) -> cloudwatch.Alarm:
    """At or above ``threshold`` in one period; no data is not a breach."""
    return cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarm_description=description,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
