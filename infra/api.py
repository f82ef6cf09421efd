"""REST API: API Gateway (REST) -> one Lambda (powertools resolver), a TOKEN authorizer mapping
API keys to creditors, access logs, tracing, throttling."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as _lambda
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.constants import AUTHORIZER_CACHE_SECONDS, REPORTS_PREFIX
from infra.function import SaikenFunction
from infra.storage import Storage


class Api(Construct):
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
        self.handler = SaikenFunction(
            self,
            "Api",
            name="api",
            layer=layer,
            environment=environment,
            description="Saiken REST API (receivables)",
            timeout=Duration.seconds(29),
        )
        self.authorizer_function = SaikenFunction(
            self,
            "Authorizer",
            name="authorizer",
            layer=layer,
            environment=environment,
            description="Maps an API key to its creditor",
            timeout=Duration.seconds(10),
            memory_size=256,
        )
        self._grant(storage)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        self.authorizer = apigw.TokenAuthorizer(
            self,
            "KeyAuthorizer",
            handler=self.authorizer_function.function,
            identity_source=apigw.IdentitySource.header("Authorization"),
            results_cache_ttl=Duration.seconds(AUTHORIZER_CACHE_SECONDS),
        )
        self.rest_api = apigw.LambdaRestApi(
            self,
            "RestApi",
            handler=self.handler.function,
            proxy=True,
            description="Saiken: push and read receivables",
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            default_method_options=apigw.MethodOptions(
                authorizer=self.authorizer,
                authorization_type=apigw.AuthorizationType.CUSTOM,
            ),
            deploy_options=apigw.StageOptions(
                stage_name="prod",
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request bodies carry PII
                metrics_enabled=True,
                throttling_rate_limit=100,
                throttling_burst_limit=200,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
        )
        self.server_errors = cloudwatch.Alarm(
            self,
            "ServerErrors",
            metric=self.rest_api.metric_server_error(period=Duration.minutes(5)),
            threshold=5,
            evaluation_periods=1,
            alarm_description="The API answered 5xx",
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

        self.firewall = self._build_firewall()

    def _grant(self, storage: Storage) -> None:
        role = self.handler.role
        storage.grant_items(role, storage.receivables, [*READ_WRITE, "dynamodb:Query"], indexes=["by_debtor"])
        storage.grant_items(role, storage.debtors, READ_WRITE)
        storage.grant_items(role, storage.ingestion_runs, ["dynamodb:GetItem", "dynamodb:Query"])
        storage.grant_objects(role, ["s3:GetObject"], f"{REPORTS_PREFIX}*")  # presigned report links
        storage.grant_config_read(role)  # dunning rules for GET /receivables/{id}/plan
        storage.grant_items(role, storage.contacts, ["dynamodb:Query"], indexes=["by_receivable"])
        storage.grant_items(self.authorizer_function.role, storage.api_keys, ["dynamodb:GetItem"])

    def _build_firewall(self) -> wafv2.CfnWebACL:
        """AWS managed common rules plus a per-IP rate limit in front of the stage."""

        def managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name
                    )
                ),
                visibility_config=_visibility(name),
            )

        acl = wafv2.CfnWebACL(
            self,
            "Firewall",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("saiken-api"),
            rules=[
                managed("AWSManagedRulesCommonRuleSet", 0),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 1),
                wafv2.CfnWebACL.RuleProperty(
                    name="RatePerIp",
                    priority=2,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=2000, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=_visibility("RatePerIp"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "FirewallAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=acl.attr_arn,
        )
        return acl


READ_WRITE = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )
