"""SQS: exponential backoff for messages the send function gives back (throttling, outages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

BASE_SECONDS = 60
MAX_SECONDS = 900  # with maxReceiveCount 5: retried after 1, 2, 4 and 8 minutes, then the DLQ


def backoff_seconds(receive_count: int) -> int:
    return int(min(BASE_SECONDS * 2 ** max(receive_count - 1, 0), MAX_SECONDS))


@dataclass
class Backoff:
    client: Any  # boto3 "sqs"
    _urls: dict[str, str] = field(default_factory=dict)

    def apply(self, records: list[dict[str, Any]], failed_ids: set[str]) -> int:
        """Make each failed message come back later the more often it has failed. Best effort: if
        this call fails, the queue's own visibility timeout applies. Returns how many were delayed."""
        delayed = 0
        for record in records:
            if record.get("messageId") not in failed_ids:
                continue
            count = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
            try:
                self.client.change_message_visibility(
                    QueueUrl=self._url(record["eventSourceARN"]),
                    ReceiptHandle=record["receiptHandle"],
                    VisibilityTimeout=backoff_seconds(count),
                )
            except ClientError:
                continue
            delayed += 1
        return delayed

    def _url(self, arn: str) -> str:
        if arn not in self._urls:
            _, _, _, _, account, name = arn.split(":", 5)
            self._urls[arn] = self.client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        return self._urls[arn]
