"""The payments half of the stack: the EventBridge route for payments files, the daily job's
schedule and role, least-privilege grants, and the unmatched queue's age alarm."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.test_dunning_stack import policy_of, resources

pytestmark = pytest.mark.infra


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_payments_files_reach_the_reconcile_function_through_eventbridge(template_json: dict[str, Any]) -> None:
    (rule,) = [
        r for k, r in resources(template_json, "AWS::Events::Rule").items() if k.startswith("PaymentsPaymentFiles")
    ]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [{"wildcard": "incoming/*/payments/*"}]
    (target,) = rule["Properties"]["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2 and "DeadLetterConfig" in target
    (notifications,) = resources(template_json, "Custom::S3BucketNotifications").values()
    assert "EventBridgeConfiguration" in notifications["Properties"]["NotificationConfiguration"]


def test_the_daily_job_runs_at_two_in_tokyo_and_its_role_only_invokes_it(template_json: dict[str, Any]) -> None:
    (schedule,) = [
        s for k, s in resources(template_json, "AWS::Scheduler::Schedule").items() if k.startswith("Payments")
    ]
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "cron(0 2 * * ? *)" and props["ScheduleExpressionTimezone"] == "Asia/Tokyo"
    assert props["Target"]["Arn"]["Fn::GetAtt"][0].startswith("PaymentsDailyFunction")
    assert _actions(policy_of(template_json, "PaymentsDailyScheduleRoleDefaultPolicy")) == {
        "lambda:InvokeFunction",
        "sqs:SendMessage",
    }
    handlers = {
        k: f["Properties"]["Handler"]
        for k, f in resources(template_json, "AWS::Lambda::Function").items()
        if k.startswith("Payments")
    }
    assert sorted(handlers.values()) == ["handler.daily", "handler.handler"]


def test_reconcile_may_book_payments_but_not_send_or_schedule(template_json: dict[str, Any]) -> None:
    actions = _actions(policy_of(template_json, "PaymentsReconcileRoleDefaultPolicy"))
    assert {"dynamodb:PutItem", "dynamodb:Query", "dynamodb:BatchGetItem", "s3:GetObject"} <= actions
    assert not {a for a in actions if a.startswith(("ses:", "sms-voice:", "connect:", "scheduler:"))}
    assert "dynamodb:DeleteItem" not in actions and "dynamodb:Scan" not in actions
    api = _actions(policy_of(template_json, "HttpApiRoleDefaultPolicy"))
    assert {"dynamodb:PutItem", "dynamodb:Query"} <= api  # POST /payments, manual matches


def test_unmatched_payments_older_than_three_days_raise_an_alarm(template_json: dict[str, Any]) -> None:
    alarms = {k: a for k, a in resources(template_json, "AWS::CloudWatch::Alarm").items() if k.startswith("Payments")}
    (age,) = [a for k, a in alarms.items() if k.startswith("PaymentsUnmatchedAge")]
    assert age["Properties"]["MetricName"] == "OldestUnmatchedPaymentDays"
    assert age["Properties"]["Statistic"] == "Maximum" and age["Properties"]["Threshold"] == 3
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"], "every payments alarm notifies the ops topic"


def test_the_payments_table_has_the_unmatched_index(template_json: dict[str, Any]) -> None:
    tables = [
        t for k, t in resources(template_json, "AWS::DynamoDB::Table").items() if k.startswith("StoragePaymentTable")
    ]
    (table,) = tables
    (index,) = table["Properties"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "unmatched"
    assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True
