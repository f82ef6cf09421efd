"""The ops dashboard and the alarm topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.api import Api
from infra.cases import Cases
from infra.constants import METRICS_NAMESPACE, SERVICE
from infra.dunning import Dunning
from infra.ingest import Ingest
from infra.reconcile import Reconcile


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        ingest: Ingest,
        api: Api,
        dunning: Dunning,
        reconcile: Reconcile,
        cases: Cases,
    ) -> None:
        super().__init__(scope, construct_id)
        topic_key = kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns")
        self.topic = sns.Topic(self, "Alarms", display_name="Saiken alarms", master_key=topic_key)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EnforceTLS",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            )
        )
        self.alarms = [*ingest.alarms, api.server_errors, *dunning.alarms, *reconcile.alarms, *cases.alarms]
        for alarm in self.alarms:
            alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.dashboard = self._build_dashboard(api, dunning, reconcile, cases)

    def _build_dashboard(self, api: Api, dunning: Dunning, reconcile: Reconcile, cases: Cases) -> cloudwatch.Dashboard:
        def metric(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": SERVICE},
                statistic="Sum",
                period=Duration.hours(1),
            )

        dashboard = cloudwatch.Dashboard(self, "Ops", dashboard_name="saiken-ops")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Intake rows", left=[metric("RowsAccepted"), metric("RowsRejected")], width=12
            ),
            cloudwatch.GraphWidget(
                title="Intake files",
                left=[
                    metric("IngestionCompleted"),
                    metric("IngestionFailed"),
                    metric("IngestionSkippedDuplicate"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API",
                left=[
                    api.rest_api.metric_count(),
                    api.rest_api.metric_client_error(),
                    api.rest_api.metric_server_error(),
                ],
                right=[api.rest_api.metric_latency(statistic="p99")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Reminders sent",
                left=[metric("Sent_email"), metric("Sent_sms"), metric("Sent_ivr")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Reminders held back (guardrails) and failures",
                left=[
                    metric("Suppressed_daily_cap"),
                    metric("Suppressed_lawyer_retained"),
                    metric("Suppressed_opted_out"),
                    metric("Suppressed_paid"),
                    metric("Deferred"),
                ],
                right=[metric("SendErrors"), metric("Failed")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Schedules (one per open receivable)",
                left=[metric("Schedules_scheduled"), metric("Schedules_deleted"), metric("Schedules_unchanged")],
                right=[
                    dunning.send_queue.metric_approximate_number_of_messages_visible(),
                    dunning.send_dlq.metric_approximate_number_of_messages_visible(),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Payments (入金消込)",
                left=[
                    metric("Payments_applied"),
                    metric("Payments_partial"),
                    metric("Payments_unmatched"),
                    metric("Payments_reversed"),
                    metric("Payments_duplicate"),
                ],
                right=[metric("PaymentFilesFailed")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Unmatched queue and write-offs (daily)",
                left=[reconcile.oldest_unmatched, metric("UnmatchedPayments")],
                right=[metric("WrittenOff"), metric("NearingLimitation")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Answers (応対): channel feedback",
                left=[
                    metric("ChannelEvents_delivered"),
                    metric("ChannelEvents_bounced"),
                    metric("ChannelEvents_opted_out"),
                    metric("ChannelEvents_ivr_answered"),
                    metric("ChannelEvents_ivr_no_answer"),
                ],
                right=[metric("ChannelEvents_promise_made"), metric("ChannelEvents_operator_requested")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Promises, holds and escalation",
                left=[metric("PromisesKept"), metric("PromisesBroken"), metric("HoldsExpired"), metric("Escalated")],
                right=[
                    cases.state_machine.metric_succeeded(period=Duration.hours(1)),
                    cases.state_machine.metric_failed(period=Duration.hours(1)),
                    cases.handoff.metric_approximate_number_of_messages_visible(),
                ],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=12),
        )
        return dashboard
