"""The whole AWS side on loopback: moto server + the wiring Lambda would get from AWS.

S3 -> ingest: the intake bucket notifies an SQS queue (moto builds the real S3 event);
the router takes each event off the queue and calls functions/ingest/handler.py with it,
exactly as the Lambda service would. HTTP -> API Gateway proxy event -> the API handler,
behind the same authorizer (saiken.local.http).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
from moto.core.config import DefaultConfig
from moto.server import ThreadedMotoServer

from saiken import wiring
from saiken.adapters.tables import create_tables
from saiken.local.handlers import LocalContext, invoke
from saiken.payments.files import PAYMENT_SUFFIXES
from saiken.services.ingest import ASYNC_RETRIES, INTAKE_SUFFIXES, parse_intake_key

REGION = "ap-northeast-1"
EVENTS_QUEUE = "saiken-local-s3-events"
STATE_FILE = Path(".saiken") / "local.json"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Saiken",
    "POWERTOOLS_SERVICE_NAME": "saiken",
}
# Where moto has no API (End User Messaging SMS, Connect), the local stack records messages in
# an outbox file instead (DESIGN.md 3.2); email goes through moto's SES v2.
LOCAL_CHANNELS = {"SAIKEN_SMS_MODE": "outbox", "SAIKEN_IVR_MODE": "outbox"}
# moto runs Step Functions definitions (DynamoDB, SQS and EventBridge tasks) instead of only storing them.
MOTO_CONFIG: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}}


def use_endpoint(endpoint: str | None) -> None:
    """Point boto3 and pynamodb (and so every adapter) at a local endpoint (None = moto in-process)."""
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.update(LOCAL_CHANNELS)
    os.environ.pop("AWS_PROFILE", None)
    if endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
    else:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    wiring.reset()


@dataclass
class IngestEvent:
    key: str
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class LocalStack:
    port: int = 0
    api_port: int | None = None
    on_ingest: Callable[[IngestEvent], None] | None = None
    quiet: bool = True
    in_process: bool = False  # moto inside this process (the demo: no HTTP hop per AWS call)
    outbox: Path | None = None
    endpoint: str = ""
    api_url: str | None = None
    _server: ThreadedMotoServer | None = None
    _mock: Any = None
    router: Any = None
    clock: Any = None  # a VirtualClock for simulations; None = real time
    _api: Any = None
    _queue_url: str = ""
    _sqs: Any = None
    _stop: threading.Event = field(default_factory=threading.Event)

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> LocalStack:
        for port, what in ((self.port, "AWS endpoint"), (self.api_port, "REST API")):
            if port:
                _ensure_free(port, what)
        if self.quiet:
            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request lines
            warnings.filterwarnings("ignore", message="No application metrics to publish")
        if self.outbox is not None:
            os.environ["SAIKEN_OUTBOX_PATH"] = str(self.outbox)
        if self.in_process:
            from moto import mock_aws

            self._mock = mock_aws(config=MOTO_CONFIG)
            self._mock.start(reset=True)
            self.endpoint = "in-process"
            use_endpoint(None)
        else:
            from moto.core.config import default_user_config

            default_user_config.update(MOTO_CONFIG)  # the server runs in this process
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=not self.quiet)
            self._server.start()
            host, port = self._server.get_host_and_port()
            os.environ["MOTO_PORT"] = str(port)  # where moto's state machine tasks send their calls
            self.endpoint = f"http://{host}:{port}"
            # moto keeps its state per process: start from nothing, whatever ran before here.
            urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"))  # noqa: S310
            use_endpoint(self.endpoint)
        self._provision()
        from saiken.local.dunning import DunningRouter

        self.router = DunningRouter(self.clock or wiring.now)
        if self.api_port is not None:
            from saiken.local.http import serve_api

            self._api = serve_api(self.api_port)
            self.api_url = f"http://127.0.0.1:{self._api.server_address[1]}"
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._api is not None:
            self._api.shutdown()
            self._api.server_close()
        if self._server is not None:
            self._server.stop()
        if self._mock is not None:
            self._mock.stop()
        os.environ.pop("AWS_ENDPOINT_URL", None)
        wiring.reset()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _provision(self) -> None:
        from saiken.local.dunning import DunningRouter

        settings = wiring.settings()
        create_tables()
        DunningRouter.provision(REGION)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=settings.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_public_access_block(
            Bucket=settings.bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        sqs = self._sqs = boto3.client("sqs", region_name=REGION)
        self._queue_url = sqs.create_queue(QueueName=EVENTS_QUEUE)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        s3.put_bucket_notification_configuration(
            Bucket=settings.bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": queue_arn,
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {
                            "Key": {
                                "FilterRules": [
                                    {"Name": "prefix", "Value": "incoming/"},
                                    {"Name": "suffix", "Value": suffix},
                                ]
                            }
                        },
                    }
                    for suffix in dict.fromkeys(INTAKE_SUFFIXES + PAYMENT_SUFFIXES)
                ]
            },
        )

    # -- the S3 -> ingest wiring ---------------------------------------------------------
    def pump(self) -> int:
        """Deliver the S3 events waiting now; returns how many files were handed to ingest."""
        sqs = self._sqs
        delivered = 0
        while True:
            messages = sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return delivered
            for message in messages:
                event = json.loads(message["Body"])
                if "Records" in event:  # s3:TestEvent has none
                    delivered += self._invoke_ingest(event)
                sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _invoke_ingest(self, event: dict[str, Any]) -> int:
        """Like Lambda's async invocation: the first try and up to two retries, then give up loudly.
        Receivables files go to the ingest function, payments files to the reconcile function (in
        AWS the latter arrive through EventBridge; the function reads both shapes)."""
        keys = [r["s3"]["object"]["key"] for r in event["Records"]]
        parsed = parse_intake_key(unquote_plus(keys[0])) if keys else None
        function = "reconcile" if parsed is not None and parsed[1] == "payments" else "ingest"
        error: Exception | None = None
        for _ in range(1 + ASYNC_RETRIES):
            try:
                result = invoke(function, event, LocalContext(f"saiken-{function}"))
            except Exception as exc:  # the function failed: Lambda would retry the same event
                error = exc
                continue
            for run in result["runs"]:
                if self.on_ingest:
                    self.on_ingest(IngestEvent(run["file_key"], result=run))
            return len(keys)
        for key in keys:  # where AWS would dead-letter the event
            if self.on_ingest:
                self.on_ingest(IngestEvent(key, error=f"{type(error).__name__}: {error}"))
        return len(keys)

    def run_forever(self, poll_seconds: float = 0.5) -> None:
        """Real time: S3 events, the receivables stream, schedules as they come due, the send queue."""
        while not self._stop.wait(poll_seconds):
            self.pump()
            try:
                self.router.settle()
            except Exception:  # a function kept failing: say so, keep serving (Lambda would retry, then DLQ)
                logging.getLogger("saiken.local").exception("the dunning wiring failed; retrying on the next poll")

    def write_state(self, path: Path = STATE_FILE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"endpoint": self.endpoint, "api": self.api_url, "bucket": wiring.settings().bucket}, indent=2)
        )


class PortInUse(RuntimeError):
    pass


def _ensure_free(port: int, what: str) -> None:
    """Say which port is taken, instead of a traceback from a server thread."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PortInUse(
                f"port {port} for the {what} is in use (another `saiken local up`?): "
                "choose another with --port / --api-port"
            ) from exc


def read_state(path: Path = STATE_FILE) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(
            f"no local stack found ({path} is missing): start one with `saiken local up` in another terminal"
        )
    return json.loads(path.read_text())  # type: ignore[no-any-return]
