"""The dunning half of the stack: Scheduler's role, the queues, the event sources, the alarms."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

pytestmark = pytest.mark.infra


def resources(template_json: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template_json["Resources"].items() if v["Type"] == kind}


def policy_of(template_json: dict[str, Any], role_prefix: str) -> list[dict[str, Any]]:
    for key, policy in resources(template_json, "AWS::IAM::Policy").items():
        if key.startswith(role_prefix):
            return policy["Properties"]["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]
    raise AssertionError(f"no policy for {role_prefix}")


def test_scheduler_role_may_only_send_to_the_send_queue_and_its_dlq(template_json: dict[str, Any]) -> None:
    roles = {
        k: v
        for k, v in resources(template_json, "AWS::IAM::Role").items()
        if k.startswith("DunningSchedulerServiceRole")
    }
    (role,) = roles.values()
    principal = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert principal["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert "aws:SourceAccount" in principal["Condition"]["StringEquals"]
    statements = policy_of(template_json, "DunningSchedulerServiceRoleDefaultPolicy")
    assert [s["Action"] for s in statements] == ["sqs:SendMessage"]
    targets = {r["Fn::GetAtt"][0] for r in statements[0]["Resource"]}
    assert {t.rstrip("0123456789ABCDEF") for t in targets} == {"DunningSendQueue", "DunningSendDeadLetters"}


def test_schedule_group_and_ses_configuration_set(template: Any) -> None:
    template.has_resource_properties("AWS::Scheduler::ScheduleGroup", {"Name": "saiken-reminders"})
    template.has_resource_properties(
        "AWS::SES::ConfigurationSet",
        {"Name": "saiken-reminders", "ReputationOptions": {"ReputationMetricsEnabled": True}},
    )


def test_send_queue_redrives_to_a_dlq_and_is_encrypted(template: Any) -> None:
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "RedrivePolicy": {"deadLetterTargetArn": Match.any_value(), "maxReceiveCount": 5},
            "SqsManagedSseEnabled": True,
            "VisibilityTimeout": 360,
        },
    )


def test_event_sources_report_partial_batch_failures(template: Any) -> None:
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "StartingPosition": "LATEST",
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": True,
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 5},
        },
    )


def test_send_function_can_pass_only_the_scheduler_role_and_send_through_the_three_channels(
    template_json: dict[str, Any],
) -> None:
    statements = policy_of(template_json, "DunningSendRoleDefaultPolicy")
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"ses:SendEmail", "sms-voice:SendTextMessage", "connect:StartOutboundVoiceContact"} <= actions
    assert not any(a.endswith("*") for a in actions)
    pass_role = next(s for s in statements if s["Action"] == "iam:PassRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    planning = policy_of(template_json, "DunningSchedulerRoleDefaultPolicy")  # the scheduler function's role
    schedule_actions = {a for s in planning for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "scheduler:CreateSchedule" in schedule_actions and "ses:SendEmail" not in schedule_actions


def test_alarms_on_dlq_depth_and_send_errors_reach_the_topic(template_json: dict[str, Any]) -> None:
    alarms = resources(template_json, "AWS::CloudWatch::Alarm")
    dunning = {k: v for k, v in alarms.items() if k.startswith("Dunning")}
    names = {k.rstrip("0123456789ABCDEF") for k in dunning}
    assert {
        "DunningSendDeadLettered",
        "DunningSendErrors",
        "DunningStreamDeadLettered",
        "DunningSchedulerErrors",
    } <= names
    for alarm in dunning.values():
        assert alarm["Properties"]["AlarmActions"], "every dunning alarm notifies the ops topic"


def test_idempotency_and_contacts_tables_expire_their_records(template: Any) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True}},
    )
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"TimeToLiveSpecification": {"AttributeName": "expires", "Enabled": True}},
    )


def test_the_api_may_replan_a_debtors_receivables(template_json: dict[str, Any]) -> None:
    statements = policy_of(template_json, "HttpApiRoleDefaultPolicy")
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"scheduler:DeleteSchedule", "scheduler:CreateSchedule", "iam:PassRole"} <= actions
    assert "ses:SendEmail" not in actions
