"""Channel feedback as the providers send it, read into one shape.

- SES (configuration set -> EventBridge): ``source: aws.ses``, ``detail.eventType`` Delivery /
  Bounce / Complaint, our ``saiken_ref`` and ``reminder_id`` in ``detail.mail.tags``.
- AWS End User Messaging SMS (configuration set -> SNS): delivery receipts (``eventType``
  TEXT_DELIVERED, TEXT_INVALID, ...) with our ``context``; and two-way inbound messages
  (``messageKeyword`` STOP / 停止) that name only the phone number.
- Amazon Connect: the contact flow's "Invoke AWS Lambda function" block, with the call's
  ``Attributes`` (our ``saiken_ref``) and the flow's ``Parameters`` (result, dtmf, promised_date).
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from typing import Any

from saiken.domain.delivery import REF, read_ref
from saiken.domain.feedback import Feedback
from saiken.domain.models import EventKind

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "停止", "ていし", "テイシ", "配信停止"})
_SMS_DELIVERED = frozenset({"TEXT_DELIVERED", "TEXT_SUCCESSFUL"})
_SMS_BOUNCED = frozenset({"TEXT_INVALID", "TEXT_INVALID_MESSAGE", "TEXT_UNREACHABLE"})


class UnknownEvent(ValueError):
    """Not an event this function understands (logged and counted, never retried)."""


def parse(event: dict[str, Any]) -> list[Feedback]:
    if "Records" in event:
        return [_sns(r) for r in event["Records"]]
    if event.get("source") == "aws.ses":
        return [_ses(event)]
    if "Details" in event and "ContactData" in event["Details"]:
        return [_connect(event)]
    raise UnknownEvent(f"not a channel event: keys {sorted(event)[:6]}")


def _when(value: Any) -> datetime | None:
    if isinstance(value, (int, float)):  # epoch milliseconds
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return None


def _ref(value: Any) -> tuple[str | None, str | None]:
    found = read_ref(value[0] if isinstance(value, list) and value else value)
    return found if found else (None, None)


def _ses(event: dict[str, Any]) -> Feedback:
    detail = event.get("detail") or {}
    mail = detail.get("mail") or {}
    tags = mail.get("tags") or {}
    creditor, receivable = _ref(tags.get(REF))
    reminder = (tags.get("reminder_id") or [None])[0]
    kind_of = str(detail.get("eventType", ""))
    extra: dict[str, Any] = {}
    if kind_of == "Delivery":
        kind = EventKind.DELIVERED
    elif kind_of == "Bounce":
        bounce = detail.get("bounce") or {}
        permanent = bounce.get("bounceType") == "Permanent"
        kind = EventKind.BOUNCED if permanent else EventKind.UNDELIVERED
        extra = {"bounce_type": bounce.get("bounceType"), "bounce_subtype": bounce.get("bounceSubType")}
    elif kind_of == "Complaint":
        kind = EventKind.COMPLAINED
        extra = {"feedback_type": (detail.get("complaint") or {}).get("complaintFeedbackType")}
    else:
        raise UnknownEvent(f"SES event type {kind_of!r} is not handled")
    return Feedback(
        kind=kind,
        channel="email",
        source_id=str(event.get("id") or f"{mail.get('messageId')}:{kind_of}"),
        at=_when(event.get("time")),
        creditor_id=creditor,
        receivable_id=receivable,
        reminder_id=reminder,
        detail={k: v for k, v in extra.items() if v} | {"message_id": mail.get("messageId")},
    )


def _sns(record: dict[str, Any]) -> Feedback:
    sns = record.get("Sns") or {}
    try:
        message = json.loads(sns.get("Message") or "{}")
    except json.JSONDecodeError as exc:
        raise UnknownEvent("SNS message is not JSON") from exc
    if "messageKeyword" in message or "originationNumber" in message:  # two-way SMS: the debtor wrote back
        keyword = unicodedata.normalize("NFKC", str(message.get("messageKeyword") or message.get("messageBody") or ""))
        opted_out = keyword.strip().upper() in OPT_OUT_KEYWORDS
        return Feedback(
            kind=EventKind.OPTED_OUT if opted_out else EventKind.NOTE,
            channel="sms",
            source_id=str(message.get("inboundMessageId") or sns.get("MessageId")),
            at=_when(sns.get("Timestamp")),
            phone=str(message.get("originationNumber") or ""),
            detail={"keyword": keyword.strip()[:20]},
        )
    kind_of = str(message.get("eventType", ""))
    if not kind_of.startswith("TEXT_"):
        raise UnknownEvent(f"SMS event type {kind_of!r} is not handled")
    context = message.get("context") or {}
    creditor, receivable = _ref(context.get(REF))
    if kind_of in _SMS_DELIVERED:
        kind = EventKind.DELIVERED
    elif kind_of in _SMS_BOUNCED:
        kind = EventKind.BOUNCED
    else:
        kind = EventKind.UNDELIVERED
    return Feedback(
        kind=kind,
        channel="sms",
        source_id=f"{message.get('messageId')}:{kind_of}",
        at=_when(message.get("eventTimestamp")),
        creditor_id=creditor,
        receivable_id=receivable,
        reminder_id=context.get("reminder_id"),
        detail={"event_type": kind_of, "message_id": message.get("messageId")},
    )


def _connect(event: dict[str, Any]) -> Feedback:
    details = event["Details"]
    contact = details.get("ContactData") or {}
    attributes = contact.get("Attributes") or {}
    params = details.get("Parameters") or {}
    creditor, receivable = _ref(attributes.get(REF))
    result = str(params.get("result") or "")
    answered = result.lower() == "answered"
    return Feedback(
        kind=EventKind.IVR_ANSWERED if answered else EventKind.IVR_NO_ANSWER,
        channel="ivr",
        source_id=f"{contact.get('ContactId')}:{result}:{params.get('dtmf') or ''}:{params.get('promised_date') or ''}",
        at=_when(params.get("at")),
        creditor_id=creditor,
        receivable_id=receivable,
        reminder_id=attributes.get("reminder_id"),
        detail={"contact_id": contact.get("ContactId"), "result": result},
        dtmf=str(params["dtmf"]) if params.get("dtmf") is not None else None,
        promised_date=str(params["promised_date"]) if params.get("promised_date") else None,
        result=result,
    )
