"""One Lambda function: its own role (logs only until grants are added), log group, the layer."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as _lambda
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constants import METRICS_NAMESPACE, SERVICE

LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"


class SaikenFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        layer: _lambda.ILayerVersion,
        environment: dict[str, str],
        description: str,
        timeout: Duration | None = None,
        memory_size: int = 512,
        entry: str = "handler",
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{SERVICE} {name} function",
        )
        # Instead of the AWSLambdaBasicExecutionRole managed policy: its own log group only.
        self.log_group.grant_write(self.role)
        self.function = _lambda.Function(
            self,
            "Function",
            code=_lambda.Code.from_asset(str(FUNCTIONS / name), exclude=["__pycache__", "*.pyc"]),
            handler=f"handler.{entry}",
            runtime=_lambda.Runtime.PYTHON_3_14,
            architecture=_lambda.Architecture.ARM_64,
            layers=[layer],
            role=self.role,
            log_group=self.log_group,
            timeout=timeout or Duration.seconds(30),
            memory_size=memory_size,
            tracing=_lambda.Tracing.ACTIVE,
            description=description,
            environment={
                "POWERTOOLS_SERVICE_NAME": SERVICE,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "SAIKEN_STAGE": Stack.of(self).stack_name,
                **environment,
            },
        )
        # X-Ray segments (tracing=ACTIVE) without the AWSXRayDaemonWriteAccess managed policy.
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"])
        )
