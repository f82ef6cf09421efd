"""Tables (built from the pynamodb models), the intake bucket and its access-log bucket."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from pynamodb.attributes import NumberAttribute, TTLAttribute
from pynamodb.models import Model

from infra.constants import INTAKE_PREFIX, REPORT_RETENTION_DAYS, REPORTS_PREFIX
from saiken.adapters.tables import (
    ALL_TABLES,
    ApiKeyItem,
    ContactItem,
    DebtorItem,
    IdempotencyItem,
    IngestionRunItem,
    PaymentItem,
    ReceivableItem,
)


def _attribute(model: type[Model], name: str) -> dynamodb.Attribute:
    attr = model.get_attributes()[name]
    kind = dynamodb.AttributeType.NUMBER if isinstance(attr, NumberAttribute) else dynamodb.AttributeType.STRING
    return dynamodb.Attribute(name=name, type=kind)


def _ttl_attribute(model: type[Model]) -> str | None:
    names = [name for name, attr in model.get_attributes().items() if isinstance(attr, TTLAttribute)]
    return names[0] if names else None


def _keys(model: type[Model]) -> tuple[str, str | None]:
    hash_key = range_key = None
    for name, attr in model.get_attributes().items():
        if attr.is_hash_key:
            hash_key = name
        if attr.is_range_key:
            range_key = name
    assert hash_key is not None
    return hash_key, range_key


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "DataKey",
            enable_key_rotation=True,
            alias="alias/saiken-data",
            description="Encrypts Saiken's tables and intake bucket",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.tables: dict[type[Model], dynamodb.Table] = {model: self._build_table(model) for model in ALL_TABLES}
        self.debtors = self.tables[DebtorItem]
        self.receivables = self.tables[ReceivableItem]
        self.ingestion_runs = self.tables[IngestionRunItem]
        self.api_keys = self.tables[ApiKeyItem]
        self.contacts = self.tables[ContactItem]
        self.idempotency = self.tables[IdempotencyItem]
        self.payments = self.tables[PaymentItem]
        self.access_logs = self._build_access_log_bucket()
        self.bucket = self._build_intake_bucket()

    # Exact actions instead of grant_read_write_data / grant_read (their wildcards:
    # kms:ReEncrypt*, s3:List*, s3:GetBucket*, ...).
    KMS_FOR_DATA = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")

    def grant_items(
        self, role: iam.IRole, table: dynamodb.Table, actions: list[str], *, indexes: list[str] | None = None
    ) -> None:
        resources = [table.table_arn, *(f"{table.table_arn}/index/{name}" for name in indexes or [])]
        role.add_to_principal_policy(iam.PolicyStatement(actions=actions, resources=resources))
        role.add_to_principal_policy(iam.PolicyStatement(actions=list(self.KMS_FOR_DATA), resources=[self.key.key_arn]))

    def grant_objects(self, role: iam.IRole, actions: list[str], *prefixes: str) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=[self.bucket.arn_for_objects(p) for p in prefixes])
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=list(self.KMS_FOR_DATA), resources=[self.key.key_arn]))

    def grant_config_read(self, role: iam.IRole) -> None:
        """Creditors' rules, mappings and templates: read config/*, list under config/ only."""
        self.grant_objects(role, ["s3:GetObject"], "config/*")
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["config/*"]}},
            )
        )

    def _build_table(self, model: type[Model]) -> dynamodb.Table:
        hash_key, range_key = _keys(model)
        stream = getattr(model.Meta, "stream_view_type", None)
        table = dynamodb.Table(
            self,
            model.__name__.removesuffix("Item") + "Table",
            partition_key=_attribute(model, hash_key),
            sort_key=_attribute(model, range_key) if range_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            stream=dynamodb.StreamViewType(stream) if stream else None,
            time_to_live_attribute=_ttl_attribute(model),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in model._indexes.values():
            index_hash, index_range = None, None
            for name, attr in index.Meta.attributes.items():
                if attr.is_hash_key:
                    index_hash = name
                if attr.is_range_key:
                    index_range = name
            assert index_hash is not None
            table.add_global_secondary_index(
                index_name=index.Meta.index_name,
                partition_key=_attribute(model, index_hash),
                sort_key=_attribute(model, index_range) if index_range else None,
                projection_type=dynamodb.ProjectionType(index.Meta.projection.projection_type),
            )
        return table

    def _build_access_log_bucket(self) -> s3.Bucket:
        return s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(400))],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _build_intake_bucket(self) -> s3.Bucket:
        return s3.Bucket(
            self,
            "Intake",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            versioned=True,
            event_bridge_enabled=True,  # payments files reach the reconcile function through EventBridge
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="intake/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-reports",
                    prefix=REPORTS_PREFIX,
                    expiration=Duration.days(REPORT_RETENTION_DAYS),
                ),
                s3.LifecycleRule(
                    id="archive-incoming",
                    prefix=INTAKE_PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(30),
                        )
                    ],
                ),
                s3.LifecycleRule(id="old-versions", noncurrent_version_expiration=Duration.days(30)),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
