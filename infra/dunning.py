"""Automated dunning: receivables stream -> scheduler function -> EventBridge Scheduler (one
schedule per open receivable) -> send queue -> send function -> SES / SMS / Connect."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as _lambda
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constants import METRICS_NAMESPACE, SCHEDULE_GROUP, SERVICE, SES_CONFIGURATION_SET
from infra.function import SaikenFunction
from infra.queues import alarm, secure_queue
from infra.scheduling import MANAGE, grant_schedule_group, scheduler_role
from infra.storage import Storage

SEND_TIMEOUT = Duration.seconds(60)
MAX_RECEIVES = 5  # then the send DLQ (and its alarm)
SEND_CONCURRENCY = 5  # Connect takes about 2 calls a second per instance; SES and SMS have quotas too


class Dunning(Construct):
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
        self.send_dlq = secure_queue(self, "SendDeadLetters")
        self.send_queue = secure_queue(
            self,
            "SendQueue",
            retention_days=4,
            visibility_timeout=Duration.seconds(SEND_TIMEOUT.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.send_dlq, max_receive_count=MAX_RECEIVES),
        )
        self.stream_dlq = secure_queue(self, "StreamDeadLetters")
        self.group = scheduler.CfnScheduleGroup(self, "Reminders", name=SCHEDULE_GROUP)
        # The role Scheduler assumes to deliver a fired schedule: send to the queue (and, when that
        # fails after the retry policy, to the DLQ), nothing else.
        self.scheduler_role = scheduler_role(self, "SchedulerServiceRole", "deliver reminder slots to the send queue")
        self.scheduler_role.add_to_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage"], resources=[self.send_queue.queue_arn, self.send_dlq.queue_arn]
            )
        )
        self.configuration_set = ses.ConfigurationSet(
            self,
            "Email",
            configuration_set_name=SES_CONFIGURATION_SET,
            reputation_metrics=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        email_from = str(self.node.try_get_context("saiken:email_from") or "noreply@saiken.example")
        connect_instance = str(self.node.try_get_context("saiken:connect_instance_id") or "")
        connect_flow = str(self.node.try_get_context("saiken:connect_contact_flow_id") or "")
        sms_origin = str(self.node.try_get_context("saiken:sms_origination_identity") or "")
        self.environment = env = {
            **environment,
            "SAIKEN_SCHEDULE_GROUP": SCHEDULE_GROUP,
            "SAIKEN_SEND_QUEUE_ARN": self.send_queue.queue_arn,
            "SAIKEN_SEND_DLQ_ARN": self.send_dlq.queue_arn,
            "SAIKEN_SCHEDULER_ROLE_ARN": self.scheduler_role.role_arn,
            "SAIKEN_SES_CONFIGURATION_SET": SES_CONFIGURATION_SET,
            "SAIKEN_EMAIL_FROM": email_from,
            "SAIKEN_CONNECT_INSTANCE_ID": connect_instance or "unset",
            "SAIKEN_CONNECT_CONTACT_FLOW_ID": connect_flow or "unset",
            "SAIKEN_SCHEDULE_WINDOW_MINUTES": "10",
            **({"SAIKEN_SMS_ORIGINATION_IDENTITY": sms_origin} if sms_origin else {}),
        }
        self.scheduler_fn = SaikenFunction(
            self,
            "Scheduler",
            name="scheduler",
            layer=layer,
            environment=env,
            description="Receivables stream -> one EventBridge schedule per open receivable (its next reminder)",
            timeout=Duration.seconds(60),
        )
        self.scheduler_fn.function.add_event_source(
            sources.DynamoEventSource(
                storage.receivables,
                starting_position=_lambda.StartingPosition.LATEST,
                batch_size=100,
                bisect_batch_on_error=True,
                retry_attempts=5,
                max_record_age=Duration.hours(6),
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.stream_dlq),
            )
        )
        self.send_fn = SaikenFunction(
            self,
            "Send",
            name="send",
            layer=layer,
            environment=env,
            description="Fired reminder slots: re-check guardrails, deliver once, record, chain the next",
            timeout=SEND_TIMEOUT,
        )
        self.send_fn.function.add_event_source(
            sources.SqsEventSource(
                self.send_queue,
                batch_size=10,
                report_batch_item_failures=True,
                max_concurrency=SEND_CONCURRENCY,
            )
        )
        for fn in (self.scheduler_fn, self.send_fn):
            self._grant_planning(fn.role, storage)
        self._grant_sending(self.send_fn.role, storage, connect_instance, email_from)
        self.alarms = self._build_alarms()

    def allow_replanning(self, fn: SaikenFunction, storage: Storage) -> None:
        """Another function (the API, when a debtor's flags change) re-plans receivables too."""
        for name, value in self.environment.items():
            if name.startswith("SAIKEN_"):
                fn.function.add_environment(name, value)
        self._grant_planning(fn.role, storage)

    def _grant_planning(self, role: iam.IRole, storage: Storage) -> None:
        """What both functions need to plan and (re)schedule a receivable."""
        storage.grant_items(role, storage.receivables, ["dynamodb:GetItem", "dynamodb:BatchGetItem"])
        storage.grant_items(role, storage.debtors, ["dynamodb:GetItem", "dynamodb:BatchGetItem"])
        storage.grant_items(role, storage.contacts, ["dynamodb:PutItem", "dynamodb:BatchWriteItem"])
        storage.grant_config_read(role)
        grant_schedule_group(self, role, SCHEDULE_GROUP, self.scheduler_role, [*MANAGE, "scheduler:GetSchedule"])

    def _grant_sending(self, role: iam.IRole, storage: Storage, connect_instance: str, email_from: str) -> None:
        stack = Stack.of(self)
        storage.grant_items(role, storage.contacts, ["dynamodb:GetItem", "dynamodb:UpdateItem"])
        storage.grant_items(
            role,
            storage.idempotency,
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        )
        domain = email_from.split("@", 1)[-1]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail"],
                resources=[
                    stack.format_arn(service="ses", resource="identity", resource_name=domain),
                    stack.format_arn(service="ses", resource="configuration-set", resource_name=SES_CONFIGURATION_SET),
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sms-voice:SendTextMessage"],
                resources=[
                    stack.format_arn(service="sms-voice", resource="phone-number", resource_name="*"),
                    stack.format_arn(service="sms-voice", resource="sender-id", resource_name="*"),
                    stack.format_arn(service="sms-voice", resource="pool", resource_name="*"),
                    stack.format_arn(service="sms-voice", resource="configuration-set", resource_name="*"),
                ],
            )
        )
        instance = connect_instance or "*"
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["connect:StartOutboundVoiceContact"],
                resources=[
                    stack.format_arn(service="connect", resource="instance", resource_name=f"{instance}/contact/*")
                ],
            )
        )

    def _build_alarms(self) -> list[cloudwatch.Alarm]:
        five_minutes = Duration.minutes(5)
        send_errors = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="SendErrors",
            dimensions_map={"service": SERVICE},
            statistic="Sum",
            period=five_minutes,
        )
        return [
            alarm(
                self,
                "SendDeadLettered",
                self.send_dlq.metric_approximate_number_of_messages_visible(period=five_minutes),
                "Reminder slots reached the send DLQ (a channel down for long): fix, then redrive the DLQ",
            ),
            alarm(
                self,
                "SendErrors",
                send_errors,
                "Many reminder deliveries failed in 5 minutes (throttling or a provider outage); they are retried",
                threshold=20,
            ),
            alarm(
                self,
                "StreamDeadLettered",
                self.stream_dlq.metric_approximate_number_of_messages_visible(period=five_minutes),
                "Receivable changes could not be planned: their schedules may be stale",
            ),
            alarm(
                self,
                "SchedulerErrors",
                self.scheduler_fn.function.metric_errors(period=five_minutes),
                "The scheduler function raised on the receivables stream",
            ),
        ]
