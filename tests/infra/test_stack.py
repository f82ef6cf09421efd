"""The CDK app: security defaults users rely on, cdk-nag, cfn-lint, tables = pynamodb models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from saiken.adapters.tables import ALL_TABLES

pytestmark = pytest.mark.infra


def resources(template_json: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template_json["Resources"].items() if v["Type"] == kind}


def test_synth_passes_cdk_nag_with_every_acknowledgement_reasoned(template_json: dict[str, Any]) -> None:
    from infra.nag import ACKNOWLEDGED

    assert template_json["Resources"]  # synth (with AwsSolutionsChecks) succeeded
    assert all(len(reason) > 40 for reason in ACKNOWLEDGED.values())


def test_tables_have_exactly_the_keys_and_indexes_of_the_pynamodb_models(
    template_json: dict[str, Any],
) -> None:
    def canonical(key_schema: list[dict[str, str]], attributes: list[dict[str, str]], gsis: list[Any]) -> str:
        return json.dumps(
            {
                "keys": sorted((k["AttributeName"], k["KeyType"]) for k in key_schema),
                "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in attributes),
                "indexes": sorted(
                    (
                        g["name"],
                        sorted((k["AttributeName"], k["KeyType"]) for k in g["keys"]),
                        g["projection"],
                    )
                    for g in gsis
                ),
            }
        )

    from_models = sorted(
        canonical(
            s["key_schema"],
            s["attribute_definitions"],
            [
                {
                    "name": g["index_name"],
                    "keys": g["key_schema"],
                    "projection": g["projection"]["ProjectionType"],
                }
                for g in s["global_secondary_indexes"]
            ],
        )
        for s in (model._get_schema() for model in ALL_TABLES)
    )
    from_stack = sorted(
        canonical(
            p["KeySchema"],
            p["AttributeDefinitions"],
            [
                {
                    "name": g["IndexName"],
                    "keys": g["KeySchema"],
                    "projection": g["Projection"]["ProjectionType"],
                }
                for g in p.get("GlobalSecondaryIndexes", [])
            ],
        )
        for p in (r["Properties"] for r in resources(template_json, "AWS::DynamoDB::Table").values())
    )
    assert from_stack == from_models


def test_tables_are_encrypted_with_pitr_and_the_receivables_stream(
    template: Any, template_json: dict[str, Any]
) -> None:
    tables = resources(template_json, "AWS::DynamoDB::Table")
    assert len(tables) == len(ALL_TABLES)
    for table in tables.values():
        props = table["Properties"]
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["SSESpecification"]["SSEType"] == "KMS"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"
    streams = [t["Properties"].get("StreamSpecification") for t in tables.values()]
    assert streams.count({"StreamViewType": "NEW_AND_OLD_IMAGES"}) == 1


def test_buckets_block_public_access_and_require_tls(template: Any, template_json: dict[str, Any]) -> None:
    buckets = resources(template_json, "AWS::S3::Bucket")
    assert len(buckets) == 2
    for bucket in buckets.values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
    policies = resources(template_json, "AWS::S3::BucketPolicy")
    denies_plain_http = [
        s
        for p in policies.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert len(denies_plain_http) == 2
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"Prefix": "reports/", "ExpirationInDays": 180, "Status": "Enabled"})]
                )
            },
            "BucketEncryption": Match.object_like(
                {"ServerSideEncryptionConfiguration": [Match.object_like({"BucketKeyEnabled": True})]}
            ),
        },
    )


def test_ingest_is_triggered_by_csv_and_tsv_in_either_case_under_incoming(template: Any) -> None:
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "LambdaFunctionConfigurations": [
                    Match.object_like(
                        {
                            "Events": ["s3:ObjectCreated:*"],
                            "Filter": {
                                "Key": {
                                    "FilterRules": [
                                        {"Name": "suffix", "Value": suffix},
                                        {"Name": "prefix", "Value": "incoming/"},
                                    ]
                                }
                            },
                        }
                    )
                    for suffix in (".csv", ".tsv", ".CSV", ".TSV")
                ]
            }
        },
    )


def test_functions_are_arm64_with_their_own_roles_and_the_shared_layer(template_json: dict[str, Any]) -> None:
    functions = {
        k: v
        for k, v in resources(template_json, "AWS::Lambda::Function").items()
        if "BucketNotificationsHandler" not in k
    }
    assert len(functions) == 8  # ingest, api, authorizer, scheduler, send, reconcile, daily, events
    roles = set()
    for fn in functions.values():
        props = fn["Properties"]
        assert props["Architectures"] == ["arm64"]
        assert props["Runtime"] == "python3.14"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert len(props["Layers"]) == 1
        roles.add(json.dumps(props["Role"]))
    assert len(roles) == 8


def test_roles_grant_exact_actions_and_no_managed_policies(template_json: dict[str, Any]) -> None:
    for name, role in resources(template_json, "AWS::IAM::Role").items():
        if "BucketNotificationsHandler" in name or "CloudWatchRole" in name:
            continue
        assert "ManagedPolicyArns" not in role["Properties"], name
    for name, policy in resources(template_json, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                assert action == "s3:PutBucketNotification" or not action.endswith("*"), (name, action)


def test_authorizer_can_only_get_api_keys(template_json: dict[str, Any]) -> None:
    policy = next(p for k, p in resources(template_json, "AWS::IAM::Policy").items() if "Authorizer" in k)
    actions = {
        a
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert {a for a in actions if a.startswith("dynamodb:")} == {"dynamodb:GetItem"}


def test_api_uses_the_token_authorizer_on_every_method(template_json: dict[str, Any]) -> None:
    methods = resources(template_json, "AWS::ApiGateway::Method")
    assert methods
    assert all(m["Properties"]["AuthorizationType"] == "CUSTOM" for m in methods.values())
    [authorizer] = resources(template_json, "AWS::ApiGateway::Authorizer").values()
    assert authorizer["Properties"]["Type"] == "TOKEN"
    assert authorizer["Properties"]["IdentitySource"] == "method.request.header.Authorization"
    assert resources(template_json, "AWS::WAFv2::WebACLAssociation")


def test_alarms_watch_ingest_failures(template: Any) -> None:
    template.has_resource_properties("AWS::CloudWatch::Alarm", {"MetricName": "IngestionFailed", "Namespace": "Saiken"})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {"MetricName": "ApproximateNumberOfMessagesVisible"})
    template.has_resource_properties("AWS::CloudWatch::Alarm", {"MetricName": "Errors", "Namespace": "AWS/Lambda"})


def test_cfn_lint_is_clean(synthesized: tuple[Any, Path]) -> None:
    template_path = synthesized[1]
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--ignore-checks",
            "W3005",
            "--",
            str(template_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_layer_ships_the_package_without_the_cli_or_local_stack(tmp_path: Path) -> None:
    from infra.layer import copy_package, runtime_requirements

    copy_package(tmp_path)

    shipped = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.py")}
    assert "saiken/intake/reader.py" in shipped and "saiken/adapters/repository.py" in shipped
    assert not any(p.startswith(("saiken/local/", "saiken/cli/")) or p == "saiken/samples.py" for p in shipped)
    requirements = runtime_requirements()
    assert not any(r.startswith(("boto3", "botocore")) for r in requirements)
    assert any(r.startswith("pydantic==") for r in requirements)


def test_shipped_modules_never_import_the_local_stack_or_cli() -> None:
    """What Lambda runs must import without moto, typer or rich (they are not in the layer)."""
    package = Path(__file__).resolve().parents[2] / "layers" / "shared" / "saiken"
    functions = Path(__file__).resolve().parents[2] / "functions"
    shipped = [
        p for p in package.rglob("*.py") if p.relative_to(package).parts[0] not in ("local", "cli", "samples.py")
    ]
    for path in [*shipped, *functions.rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for banned in ("saiken.local", "saiken.cli", "import moto", "from moto", "import typer", "from rich"):
            assert banned not in text, f"{path} imports {banned}"


def test_ops_dashboard_shows_intake_and_api(template_json: dict[str, Any]) -> None:
    [dashboard] = resources(template_json, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in ("RowsAccepted", "RowsRejected", "IngestionFailed", "5XXError"):
        assert metric in body
