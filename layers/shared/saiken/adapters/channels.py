"""Delivery channels: SES v2 (email), AWS End User Messaging SMS (pinpoint-sms-voice-v2) and
Amazon Connect outbound calls (IVR); and the local outbox that records what would be sent.

A channel either returns the provider's message id (it accepted the message) or raises:
``ChannelUnavailable`` (throttling, 5xx, network: retry later, then the DLQ) or
``DeliveryRejected`` (this message can never go: a bad address, an opted-out number).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from email.header import Header
from email.utils import formataddr
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from saiken.domain.delivery import REF, ChannelUnavailable, DeliveryError, DeliveryRejected, Outgoing

# Error codes that mean "this message is wrong", not "the service is having a bad moment".
_REJECTED = frozenset(
    {
        "ValidationException",
        "BadRequestException",
        "MessageRejected",
        "InvalidParameterValue",
        "InvalidParameterException",
        "InvalidParameterValueException",
        "DestinationNotAllowedException",
        "ConflictException",  # pinpoint-sms-voice-v2: destination opted out
    }
)


__all__ = ["ChannelUnavailable", "DeliveryError", "DeliveryRejected", "Outgoing"]


class Channel(Protocol):
    def send(self, message: Outgoing) -> str: ...


def _classify(exc: Exception, channel: str) -> DeliveryError:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _REJECTED and status < 500:
            return DeliveryRejected(f"{channel}: {code}")
        return ChannelUnavailable(f"{channel}: {code or status}")
    return ChannelUnavailable(f"{channel}: {type(exc).__name__}")


@dataclass
class SesEmailChannel:
    client: Any  # boto3 "sesv2"
    from_address: str
    configuration_set: str

    def send(self, message: Outgoing) -> str:
        sender = formataddr((str(Header(message.sender_name, "utf-8")), self.from_address))
        params: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [message.to]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": message.subject or message.sender_name, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": message.body, "Charset": "UTF-8"}},
                }
            },
            "ConfigurationSetName": self.configuration_set,
            "EmailTags": [
                {"Name": "reminder_id", "Value": message.reminder_id},
                {"Name": REF, "Value": message.ref},
            ],
        }
        if message.reply_to:
            params["ReplyToAddresses"] = [message.reply_to]
        try:
            return str(self.client.send_email(**params)["MessageId"])
        except (ClientError, BotoCoreError) as exc:
            raise _classify(exc, "email") from exc


@dataclass
class SmsChannel:
    client: Any  # boto3 "pinpoint-sms-voice-v2"
    origination_identity: str | None = None
    configuration_set: str | None = None

    def send(self, message: Outgoing) -> str:
        params: dict[str, Any] = {
            "DestinationPhoneNumber": message.to,
            "MessageBody": message.body,
            "MessageType": "TRANSACTIONAL",
            "Context": {"reminder_id": message.reminder_id, REF: message.ref},
        }
        if self.origination_identity:
            params["OriginationIdentity"] = self.origination_identity
        if self.configuration_set:
            params["ConfigurationSetName"] = self.configuration_set
        try:
            return str(self.client.send_text_message(**params)["MessageId"])
        except (ClientError, BotoCoreError) as exc:
            raise _classify(exc, "sms") from exc


@dataclass
class ConnectIvrChannel:
    client: Any  # boto3 "connect"
    instance_id: str
    contact_flow_id: str
    source_phone: str | None = None

    def send(self, message: Outgoing) -> str:
        params: dict[str, Any] = {
            "InstanceId": self.instance_id,
            "ContactFlowId": self.contact_flow_id,
            "DestinationPhoneNumber": message.to,
            "ClientToken": message.reminder_id,  # Connect's own idempotency: a retry never rings twice
            "Attributes": {
                "message": message.body,
                "sender": message.sender_name,
                REF: message.ref,
                **message.attributes,
            },
            "TrafficType": "GENERAL",
        }
        if self.source_phone:
            params["SourcePhoneNumber"] = self.source_phone
        try:
            return str(self.client.start_outbound_voice_contact(**params)["ContactId"])
        except (ClientError, BotoCoreError) as exc:
            raise _classify(exc, "ivr") from exc


@dataclass
class OutboxChannel:
    """The local stack's stand-in where moto has no API (SMS, Connect): one JSON line per message."""

    path: Path
    channel: str
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: Outgoing) -> str:
        provider_id = f"outbox-{uuid.uuid4().hex[:16]}"
        line = {"provider_id": provider_id, **message.__dict__, "channel": self.channel}
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        return provider_id
