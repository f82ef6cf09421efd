"""S3 ObjectCreated (incoming/*.csv|.tsv) -> ingest function; failures to a DLQ, with alarms."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as _lambda
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk.aws_lambda_destinations import SqsDestination
from constructs import Construct

from infra.constants import INTAKE_PREFIX, METRICS_NAMESPACE, REPORTS_PREFIX, SERVICE
from infra.function import SaikenFunction
from infra.queues import alarm, secure_queue
from infra.storage import Storage
from saiken.services.ingest import ASYNC_RETRIES, INTAKE_SUFFIXES


class Ingest(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        layer: _lambda.ILayerVersion,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = secure_queue(self, "DeadLetters")
        self.handler = SaikenFunction(
            self,
            "Ingest",
            name="ingest",
            layer=layer,
            environment=environment,
            description="Validates receivables files from S3 and upserts them",
            timeout=Duration.minutes(15),
            memory_size=1024,
        )
        function = self.handler.function
        function.configure_async_invoke(
            retry_attempts=ASYNC_RETRIES, max_event_age=Duration.hours(6), on_failure=SqsDestination(self.dead_letters)
        )
        self._grant(storage)
        for suffix in INTAKE_SUFFIXES:
            storage.bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.LambdaDestination(function),
                s3.NotificationKeyFilter(prefix=INTAKE_PREFIX, suffix=suffix),
            )
        self.alarms = self._build_alarms()

    def _grant(self, storage: Storage) -> None:
        role = self.handler.role
        storage.grant_objects(role, ["s3:GetObject"], f"{INTAKE_PREFIX}*", "config/*")
        # Large reports go up in parts: a failed multipart upload must be abortable.
        storage.grant_objects(role, ["s3:PutObject", "s3:AbortMultipartUpload"], f"{REPORTS_PREFIX}*")
        read_write = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
        storage.grant_items(role, storage.receivables, read_write)
        storage.grant_items(role, storage.debtors, read_write)
        storage.grant_items(role, storage.ingestion_runs, ["dynamodb:GetItem", "dynamodb:PutItem"])

    def _build_alarms(self) -> list[cloudwatch.Alarm]:
        function = self.handler.function
        failed_runs = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="IngestionFailed",
            dimensions_map={"service": SERVICE},
            statistic="Sum",
            period=Duration.minutes(5),
        )
        five_minutes = Duration.minutes(5)
        return [
            alarm(
                self,
                "Errors",
                function.metric_errors(period=five_minutes),
                "The ingest function raised (it will retry, then dead-letter)",
            ),
            alarm(
                self,
                "DeadLettered",
                self.dead_letters.metric_approximate_number_of_messages_visible(period=five_minutes),
                "A receivables file could not be ingested after retries: see the DLQ",
            ),
            alarm(
                self,
                "FailedFiles",
                failed_runs,
                "A creditor's file was rejected whole (missing column, not CSV, bad encoding)",
            ),
        ]
