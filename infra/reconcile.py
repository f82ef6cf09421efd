"""Payments (入金消込) and the daily accounting job.

incoming/{creditor}/payments/* -> (S3 -> EventBridge) -> reconcile function -> payments and
receivables tables (one transaction per payment); the unmatched queue is the payments table's
sparse ``unmatched`` index, its age a metric with an alarm. EventBridge Scheduler runs the daily
job (write-offs, exports, limitation report) at 02:00 JST.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as _lambda
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.constants import INTAKE_PREFIX, METRICS_NAMESPACE, REPORTS_PREFIX, SERVICE
from infra.function import SaikenFunction
from infra.queues import alarm, secure_queue
from infra.scheduling import scheduler_role
from infra.storage import Storage
from saiken.services.ingest import ASYNC_RETRIES

PAYMENTS_PATTERN = f"{INTAKE_PREFIX}*/payments/*"
DAILY_AT = "cron(0 2 * * ? *)"  # 02:00, in Asia/Tokyo
UNMATCHED_MAX_AGE_DAYS = 3  # an unmatched payment older than this pages someone


class Reconcile(Construct):
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
            "Reconcile",
            name="reconcile",
            layer=layer,
            environment=environment,
            description="Payments files (Zengin 01/03, CSV) from S3: match, book, report",
            timeout=Duration.minutes(15),
            memory_size=1024,
        )
        self.daily = SaikenFunction(
            self,
            "Daily",
            name="reconcile",
            entry="daily",
            layer=layer,
            environment=environment,
            description="Daily: write-offs per policy, write-off export, limitation report, unmatched age",
            timeout=Duration.minutes(15),
            memory_size=1024,
        )
        self.rule = events.Rule(
            self,
            "PaymentFiles",
            description="A payments file arrived under incoming/{creditor}/payments/",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [storage.bucket.bucket_name]},
                    "object": {"key": [{"wildcard": PAYMENTS_PATTERN}]},
                },
            ),
            targets=[
                targets.LambdaFunction(
                    self.handler.function,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=ASYNC_RETRIES,
                    max_event_age=Duration.hours(6),
                )
            ],
        )
        self._schedule_daily()
        self._grant(storage)
        self.alarms = self._build_alarms()

    def _schedule_daily(self) -> None:
        role = scheduler_role(self, "DailyScheduleRole", "start the daily accounting job")
        role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.daily.function.function_arn])
        )
        role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.dead_letters.queue_arn]))
        self.daily_schedule = scheduler.CfnSchedule(
            self,
            "DailySchedule",
            description="Write-offs (償却), exports and the limitation report, every day at 02:00 JST",
            schedule_expression=DAILY_AT,
            schedule_expression_timezone="Asia/Tokyo",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.daily.function.function_arn,
                role_arn=role.role_arn,
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=3, maximum_event_age_in_seconds=6 * 3600
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=self.dead_letters.queue_arn),
            ),
        )

    def _grant(self, storage: Storage) -> None:
        # the file path: read the file, write its reports, record the run, match and book
        role = self.handler.role
        storage.grant_objects(role, ["s3:GetObject"], PAYMENTS_PATTERN)
        storage.grant_objects(role, ["s3:PutObject", "s3:AbortMultipartUpload"], f"{REPORTS_PREFIX}*")
        storage.grant_items(role, storage.ingestion_runs, ["dynamodb:GetItem", "dynamodb:PutItem"])
        grant_booking(storage, role)
        # the daily job: every receivable of each creditor, write-offs, reports, the unmatched index
        role = self.daily.role
        storage.grant_items(role, storage.receivables, ["dynamodb:Query", "dynamodb:PutItem"])
        storage.grant_items(role, storage.payments, ["dynamodb:Query"], indexes=["unmatched"])
        storage.grant_config_read(role)
        storage.grant_objects(role, ["s3:PutObject", "s3:AbortMultipartUpload"], f"{REPORTS_PREFIX}*")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[storage.bucket.bucket_arn],
                conditions={"StringEquals": {"s3:prefix": ["config/", INTAKE_PREFIX], "s3:delimiter": ["/"]}},
            )
        )

    def _build_alarms(self) -> list[cloudwatch.Alarm]:
        self.oldest_unmatched = oldest = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="OldestUnmatchedPaymentDays",
            dimensions_map={"service": SERVICE},
            statistic="Maximum",
            period=Duration.days(1),
        )
        failed_files = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="PaymentFilesFailed",
            dimensions_map={"service": SERVICE},
            statistic="Sum",
            period=Duration.minutes(5),
        )
        five_minutes = Duration.minutes(5)
        return [
            alarm(
                self,
                "UnmatchedAge",
                oldest,
                f"A payment has waited in the unmatched queue for {UNMATCHED_MAX_AGE_DAYS}+ days: match it "
                "(GET /payments/unmatched, POST /payments/{id}/match)",
                threshold=UNMATCHED_MAX_AGE_DAYS,
            ),
            alarm(
                self,
                "FailedFiles",
                failed_files,
                "A payments file was refused whole (trailer totals, structure, encoding): ask the bank again",
            ),
            alarm(
                self,
                "Errors",
                self.handler.function.metric_errors(period=five_minutes),
                "The reconcile function raised (EventBridge retries, then the DLQ)",
            ),
            alarm(
                self,
                "DailyErrors",
                self.daily.function.metric_errors(period=Duration.hours(1)),
                "The daily write-off / limitation job failed",
            ),
            alarm(
                self,
                "DeadLettered",
                self.dead_letters.metric_approximate_number_of_messages_visible(period=five_minutes),
                "A payments file or the daily job could not run after retries: see the DLQ",
            ),
        ]


def grant_booking(storage: Storage, role: iam.IRole) -> None:
    """Matching and booking payments (the reconcile function, and the API's /payments routes):
    read the creditor's book, write payments and receivables in one transaction."""
    storage.grant_items(
        role,
        storage.payments,
        ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:Query"],
        indexes=["unmatched"],
    )
    storage.grant_items(
        role, storage.receivables, ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:Query"]
    )
    storage.grant_items(role, storage.debtors, ["dynamodb:Query"])
