"""EventBridge Scheduler pieces the constructs share: the role Scheduler assumes to deliver a
schedule's target, and the right to manage one schedule group's entries (and hand it that role)."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constants import SERVICE

MANAGE = ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"]


def scheduler_role(scope: Construct, construct_id: str, what: str) -> iam.Role:
    """A role only EventBridge Scheduler of this account may assume; the caller grants its target."""
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
        ),
        description=f"{SERVICE} EventBridge Scheduler: {what}",
    )


def grant_schedule_group(
    scope: Construct, role: iam.IRole, group: str, target_role: iam.IRole, actions: list[str] = MANAGE
) -> None:
    """Manage the entries of ``group`` (names are only known at run time: the group is the bound)
    and pass ``target_role`` to Scheduler, nothing else."""
    stack = Stack.of(scope)
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=actions,
            resources=[stack.format_arn(service="scheduler", resource="schedule", resource_name=f"{group}/*")],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[target_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        )
    )
