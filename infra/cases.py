"""Contact and response management (応対管理): channel feedback into the events function, and
escalation on Step Functions.

- SES configuration set -> EventBridge (delivered / bounced / complained) -> events function;
  End User Messaging SMS events and two-way replies -> SNS topic -> events function; Amazon
  Connect's contact flow invokes the events function with the caller's keypad answers.
- One EventBridge Scheduler entry per receivable at its next stage boundary (group
  ``saiken-escalations``) starts the escalation state machine: service integrations only
  (DynamoDB conditional UpdateItem, EventBridge PutEvents, SQS SendMessage), no Lambda.
  The definition is infra/statemachines/escalation.asl.json, the file the tests execute.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as _lambda
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constants import ESCALATION_GROUP, SERVICE
from infra.function import SaikenFunction
from infra.queues import alarm, secure_queue
from infra.scheduling import grant_schedule_group, scheduler_role
from infra.storage import Storage

DEFINITION = Path(__file__).parent / "statemachines" / "escalation.asl.json"
EVENT_BUS = "default"
SES_EVENTS = ["Email Delivered", "Email Bounced", "Email Complaint"]


class Cases(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        layer: _lambda.ILayerVersion,
        environment: dict[str, str],
        configuration_set: ses.ConfigurationSet,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = secure_queue(self, "DeadLetters")
        self.handoff = secure_queue(self, "Handoff", retention_days=14)
        self._build_state_machine(storage)
        self.group = scheduler.CfnScheduleGroup(self, "Escalations", name=ESCALATION_GROUP)
        self.scheduler_role = scheduler_role(
            self, "EscalationSchedulerRole", "start the escalation state machine at a stage boundary"
        )
        self.state_machine.grant_start_execution(self.scheduler_role)
        self.scheduler_role.add_to_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.dead_letters.queue_arn])
        )
        self.environment = {
            "SAIKEN_ESCALATION_GROUP": ESCALATION_GROUP,
            "SAIKEN_ESCALATION_STATE_MACHINE_ARN": self.state_machine.state_machine_arn,
            "SAIKEN_ESCALATION_ROLE_ARN": self.scheduler_role.role_arn,
            "SAIKEN_ESCALATION_DLQ_ARN": self.dead_letters.queue_arn,
        }
        self.events_fn = SaikenFunction(
            self,
            "Events",
            name="events",
            layer=layer,
            environment={**environment, **self.environment},
            description="Channel feedback (SES, SMS, Connect IVR) -> timeline, channel stops, promises, worklist",
            timeout=Duration.seconds(30),
        )
        self._wire_feedback(configuration_set)
        self._grant_events(storage)
        self.alarms = self._build_alarms()

    def _build_state_machine(self, storage: Storage) -> None:
        log_group = logs.LogGroup(
            self, "EscalationLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        self.state_machine = sfn.StateMachine(
            self,
            "Escalation",
            state_machine_name=f"{SERVICE}-escalation",
            state_machine_type=sfn.StateMachineType.STANDARD,
            # inline (no S3 asset): the same text the local stack and the tests run
            definition_body=sfn.DefinitionBody.from_string(DEFINITION.read_text(encoding="utf-8")),
            definition_substitutions={
                "ReceivablesTable": storage.receivables.table_name,
                "EventBus": EVENT_BUS,
                "HandoffQueueUrl": self.handoff.queue_url,
            },
            timeout=Duration.minutes(5),  # a few service calls: timing belongs to the Scheduler
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        role = self.state_machine.role
        storage.grant_items(role, storage.receivables, ["dynamodb:UpdateItem"])
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["events:PutEvents"],
                resources=[Stack.of(self).format_arn(service="events", resource="event-bus", resource_name=EVENT_BUS)],
            )
        )
        self.handoff.grant_send_messages(role)

    def _wire_feedback(self, configuration_set: ses.ConfigurationSet) -> None:
        stack = Stack.of(self)
        fn = self.events_fn.function
        configuration_set.add_event_destination(
            "ToEventBridge",
            destination=ses.EventDestination.event_bus(
                events.EventBus.from_event_bus_name(self, "DefaultBus", EVENT_BUS)
            ),
            events=[ses.EmailSendingEvent.DELIVERY, ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT],
        )
        events.Rule(
            self,
            "EmailEvents",
            description="SES delivery, bounce and complaint events of the reminders' configuration set",
            event_pattern=events.EventPattern(source=["aws.ses"], detail_type=SES_EVENTS),
            targets=[
                targets.LambdaFunction(
                    fn, dead_letter_queue=self.dead_letters, retry_attempts=2, max_event_age=Duration.hours(6)
                )
            ],
        )
        self.sms_topic = sns.Topic(
            self,
            "SmsEvents",
            display_name=f"{SERVICE} SMS delivery receipts and replies",
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
            enforce_ssl=True,
        )
        self.sms_topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("sms-voice.amazonaws.com")],
                resources=[self.sms_topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        fn.add_event_source(sources.SnsEventSource(self.sms_topic, dead_letter_queue=self.dead_letters))
        # Amazon Connect's contact flow ("Invoke AWS Lambda function") passes the keypad answers
        fn.add_permission(
            "ConnectInvoke",
            principal=iam.ServicePrincipal("connect.amazonaws.com"),
            source_account=stack.account,
        )

    def _grant_events(self, storage: Storage) -> None:
        role = self.events_fn.role
        # a promise or a worklist flag (GetItem / PutItem); a channel stop re-plans the debtor's receivables
        storage.grant_items(
            role, storage.receivables, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], indexes=["by_debtor"]
        )
        storage.grant_items(
            role, storage.debtors, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], indexes=["by_phone"]
        )
        storage.grant_items(role, storage.contacts, ["dynamodb:PutItem"])
        self.grant_scheduling(role)

    def grant_scheduling(self, role: iam.IRole) -> None:
        """Create / move / delete a receivable's stage-boundary schedule (scheduler, API, events)."""
        grant_schedule_group(self, role, ESCALATION_GROUP, self.scheduler_role)

    def allow_escalation(self, fn: SaikenFunction) -> None:
        for name, value in self.environment.items():
            fn.function.add_environment(name, value)
        self.grant_scheduling(fn.role)

    def _build_alarms(self) -> list[cloudwatch.Alarm]:
        five_minutes = Duration.minutes(5)
        return [
            alarm(
                self,
                "EscalationsFailed",
                self.state_machine.metric_failed(period=five_minutes),
                "Escalation executions failed (not: skipped because paid or held): see the state machine's log",
            ),
            alarm(
                self,
                "EventsErrors",
                self.events_fn.function.metric_errors(period=five_minutes),
                "The channel events function raised (EventBridge / SNS retry, then the DLQ)",
            ),
            alarm(
                self,
                "DeadLettered",
                self.dead_letters.metric_approximate_number_of_messages_visible(period=five_minutes),
                "Channel events or escalation starts could not be delivered after retries: see the DLQ",
            ),
        ]
