"""Channel adapters against the real service models: Stubber for SMS and Connect (moto has
neither), moto for SES v2. Throttling and 5xx are retryable; a bad destination is not."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from saiken.adapters.channels import (
    ChannelUnavailable,
    ConnectIvrChannel,
    DeliveryRejected,
    Outgoing,
    SesEmailChannel,
    SmsChannel,
)
from saiken.domain.delivery import make_ref, read_ref

MESSAGE = Outgoing(
    reminder_id="rm-0123456789abcdef",
    creditor_id="acme",
    channel="sms",
    to="+819012345678",
    body="【アクメカード】12/25がお支払期日です。",
    sender_name="アクメカード株式会社",
    attributes={"amount": "12345", "receivable_id": "R1"},
    receivable_id="R1",
)


def client(service: str) -> Any:
    return boto3.client(service, region_name="ap-northeast-1")


def test_sms_request_shape_and_message_id() -> None:
    sms = client("pinpoint-sms-voice-v2")
    channel = SmsChannel(sms, origination_identity="ACME", configuration_set="saiken")
    with Stubber(sms) as stub:
        stub.add_response(
            "send_text_message",
            {"MessageId": "m-1"},
            {
                "DestinationPhoneNumber": "+819012345678",
                "MessageBody": MESSAGE.body,
                "MessageType": "TRANSACTIONAL",
                "OriginationIdentity": "ACME",
                "ConfigurationSetName": "saiken",
                "Context": {"reminder_id": MESSAGE.reminder_id, "saiken_ref": make_ref("acme", "R1")},
            },
        )
        assert channel.send(MESSAGE) == "m-1"
        stub.assert_no_pending_responses()


def test_connect_call_carries_the_message_the_amount_and_an_idempotency_token() -> None:
    connect = client("connect")
    channel = ConnectIvrChannel(connect, "inst-1", "flow-1", source_phone="+81312345678")
    with Stubber(connect) as stub:
        stub.add_response(
            "start_outbound_voice_contact",
            {"ContactId": "c-1"},
            {
                "InstanceId": "inst-1",
                "ContactFlowId": "flow-1",
                "DestinationPhoneNumber": "+819012345678",
                "SourcePhoneNumber": "+81312345678",
                "ClientToken": MESSAGE.reminder_id,
                "Attributes": {
                    "message": MESSAGE.body,
                    "sender": "アクメカード株式会社",
                    "saiken_ref": make_ref("acme", "R1"),
                    "amount": "12345",
                    "receivable_id": "R1",
                },
                "TrafficType": "GENERAL",
            },
        )
        assert channel.send(MESSAGE) == "c-1"


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("ThrottlingException", 400, ChannelUnavailable),
        ("InternalServerException", 500, ChannelUnavailable),
        ("ServiceQuotaExceededException", 402, ChannelUnavailable),
        ("AccessDeniedException", 403, ChannelUnavailable),  # a broken role must reach the DLQ alarm, not vanish
        ("ValidationException", 400, DeliveryRejected),
        ("ConflictException", 409, DeliveryRejected),  # the number opted out at the carrier
    ],
)
def test_sms_errors_are_classified(code: str, status: int, error: type[Exception]) -> None:
    sms = client("pinpoint-sms-voice-v2")
    with Stubber(sms) as stub:
        stub.add_client_error("send_text_message", service_error_code=code, http_status_code=status)
        with pytest.raises(error):
            SmsChannel(sms).send(MESSAGE)


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [("ThrottlingException", 429, ChannelUnavailable), ("InvalidParameterException", 400, DeliveryRejected)],
)
def test_connect_errors_are_classified(code: str, status: int, error: type[Exception]) -> None:
    connect = client("connect")
    with Stubber(connect) as stub:
        stub.add_client_error("start_outbound_voice_contact", service_error_code=code, http_status_code=status)
        with pytest.raises(error):
            ConnectIvrChannel(connect, "i", "f").send(MESSAGE)


def test_email_goes_out_through_ses_v2_in_the_creditors_name(aws: None) -> None:
    from moto.ses.models import ses_backends

    ses = client("sesv2")
    ses.create_email_identity(EmailIdentity="saiken.example")
    ses.create_configuration_set(ConfigurationSetName="reminders")
    email = Outgoing(**{**MESSAGE.__dict__, "channel": "email", "to": "taro@example.jp", "subject": "お支払いのご案内"})
    message_id = SesEmailChannel(ses, "noreply@saiken.example", "reminders").send(email)
    sent = ses_backends["123456789012"]["ap-northeast-1"].sent_messages
    assert message_id and len(sent) == 1
    assert "=?utf-8?" in sent[0].source  # the display name (the creditor) is MIME-encoded Japanese
    assert sent[0].destinations["ToAddresses"] == ["taro@example.jp"]


def test_the_ref_every_provider_event_carries_round_trips_any_receivable_id() -> None:
    for receivable in ("R1", "請求-0001/2026", "x" * 64):
        ref = make_ref("acme", receivable)
        assert set(ref) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
        assert read_ref(ref) == ("acme", receivable)
    assert read_ref("not base64!") is None and read_ref("") is None
