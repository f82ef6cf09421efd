from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Property tests judge behaviour, never speed: no per-example deadline (a loaded CI machine would
# turn a slow first example into a failure).
settings.register_profile("saiken", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("saiken")

# Before anything imports boto3/powertools: a fake account, a fixed region, no real AWS.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
        "AWS_REGION": "ap-northeast-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Saiken",
        "POWERTOOLS_SERVICE_NAME": "saiken",
        "POWERTOOLS_DEV": "false",
        "SAIKEN_BUCKET": "saiken-intake-test",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

EVENTS = Path(__file__).parent / "events"
ROOT = Path(__file__).resolve().parents[1]


def load_event(name: str, **replacements: str) -> dict[str, Any]:
    """Test events are files (tests/events/*.json); ${NAME} placeholders are filled in."""
    text = (EVENTS / name).read_text(encoding="utf-8")
    for key, value in replacements.items():
        text = text.replace("${" + key + "}", value)
    return json.loads(text)  # type: ignore[no-any-return]


@pytest.fixture
def lambda_context() -> Any:
    from saiken.local.handlers import LocalContext

    return LocalContext("test-function")


@pytest.fixture
def aws() -> Iterator[None]:
    """In-process moto with the project's tables and bucket, and fresh cold-start wiring."""
    import boto3
    from moto import mock_aws

    from saiken import wiring
    from saiken.adapters.tables import create_tables
    from saiken.local.stack import MOTO_CONFIG

    with mock_aws(config=MOTO_CONFIG):
        wiring.reset()
        wiring.settings()
        create_tables()
        boto3.client("s3", region_name="ap-northeast-1").create_bucket(
            Bucket=os.environ["SAIKEN_BUCKET"],
            CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"},
        )
        yield
        wiring.reset()
