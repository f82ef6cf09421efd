"""cdk-nag AwsSolutions checks; every acknowledged finding carries its reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Stack, Validations
from cdk_nag import AwsSolutionsChecks

_SMS = (
    "SendTextMessage is authorised on the origination identity, which each creditor's account registers "
    "(sender ids and numbers in Japan are issued per carrier); only this one action is allowed"
)

ACKNOWLEDGED: dict[str, str] = {
    "AwsSolutions-IAM5[Resource::*]": (
        "xray:PutTraceSegments/PutTelemetryRecords support no resource-level permissions; this is the whole of "
        "what the wildcard allows"
    ),
    "AwsSolutions-IAM5[Resource::<StorageIntakeEACB8F35.Arn>/incoming/*]": (
        "The ingest function reads any creditor's files under incoming/; the creditor is in the key, not known "
        "at deploy time"
    ),
    "AwsSolutions-IAM5[Resource::<StorageIntakeEACB8F35.Arn>/incoming/*/payments/*]": (
        "The reconcile function reads any creditor's payments files (incoming/{creditor}/payments/); read-only"
    ),
    "AwsSolutions-IAM5[Resource::<StorageIntakeEACB8F35.Arn>/config/*]": (
        "Per-creditor column mappings live under config/{creditor}/; read-only"
    ),
    "AwsSolutions-IAM5[Resource::<StorageIntakeEACB8F35.Arn>/reports/*]": (
        "Error reports are written under reports/{creditor}/; put-only"
    ),
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": (
        "CDK's own BucketNotificationsHandler custom resource (deploy-time only) is built with this policy"
    ),
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AmazonAPIGatewayPushToCloudWatchLogs]": (
        "The account-level role API Gateway needs to write execution logs; AWS documents this managed policy for it"
    ),
    "AwsSolutions-COG4": (
        "Callers are creditors' back-office systems (machine to machine): a Lambda authorizer maps a hashed API "
        "key to the creditor; there are no end users to sign in"
    ),
    "AwsSolutions-APIG2": (
        "The single proxy method validates every request in the Lambda with pydantic against the OpenAPI models "
        "(docs/openapi.json) and answers 422 with per-field errors; an API Gateway model would be a second copy"
    ),
    "AwsSolutions-SQS3": (
        "These queues are themselves dead-letter queues (ingest async invocations, the send queue, the "
        "receivables stream)"
    ),
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:{region}:<AWS::AccountId>:schedule/"
    "saiken-reminders/*]": (
        "One schedule per open receivable, named from the creditor and receivable: only known at run time; the "
        "statement is limited to Saiken's own schedule group"
    ),
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:{region}:<AWS::AccountId>:schedule/"
    "saiken-escalations/*]": (
        "One stage-boundary schedule per open receivable, named from the creditor and receivable: only known at "
        "run time; limited to Saiken's escalation schedule group"
    ),
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sms-voice:{region}:<AWS::AccountId>:phone-number/*]": _SMS,
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sms-voice:{region}:<AWS::AccountId>:sender-id/*]": _SMS,
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sms-voice:{region}:<AWS::AccountId>:pool/*]": _SMS,
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sms-voice:{region}:<AWS::AccountId>:configuration-set/*]": _SMS,
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:connect:{region}:<AWS::AccountId>:instance/{connect}/"
    "contact/*]": (
        "StartOutboundVoiceContact is authorised on the contact it creates, whose id does not exist before the "
        "call; the statement is limited to the configured Connect instance"
    ),
}


def apply_nag(app: App, stack: Stack) -> None:
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    connect = str(stack.node.try_get_context("saiken:connect_instance_id") or "*")
    for finding, reason in ACKNOWLEDGED.items():
        exact = finding.replace("{region}", stack.region).replace("{connect}", connect)
        Validations.of(stack).acknowledge(Acknowledgment(id=exact, reason=reason))
