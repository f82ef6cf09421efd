"""The demo's debtors answer: what the providers would send back for each reminder a channel
accepted (SES events via EventBridge, SMS receipts via SNS, Connect's contact flow invoking the
events function with keypad answers), built in the providers' own shapes and handed to the
events function; plus operators disputing a few receivables and working the worklist."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from saiken.domain.delivery import Outgoing
from saiken.domain.planner import JST
from saiken.local.handlers import LocalContext, invoke

# who does what, decided per debtor (stable across the run) or per message
BOUNCING_EMAIL = 0.03  # the debtor's mailbox does not exist: hard bounce on the first email
IVR_ANSWERS = 0.45  # of calls, the debtor picks up
PROMISES = 0.40  # of answered calls, "1" + a date 3-10 days ahead
OPERATOR = 0.10  # of answered calls, "2": talk to an operator
STOP_SMS = 0.01  # replies 停止 to an SMS


def _unit(*parts: object) -> float:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class Replies:
    """Collects accepted messages during a send batch; ``deliver`` then answers them (after the
    batch, as the providers' events arrive a little later)."""

    seed: int
    pending: list[tuple[datetime, Outgoing, str]] = field(default_factory=list)
    results: Counter[str] = field(default_factory=Counter)

    def accepted(self, at: datetime, message: Outgoing, provider_id: str) -> None:
        self.pending.append((at, message, provider_id))

    def deliver(self) -> int:
        batch, self.pending = self.pending, []
        for at, message, provider_id in batch:
            for label, event in self._events(at, message, provider_id):
                answer = invoke("events", event, LocalContext("saiken-events"))
                if message.channel == "ivr" and answer.get("outcome") not in (None, "recorded"):
                    label = str(answer["outcome"])  # what the flow was told: promise_recorded, operator...
                self.results[f"{message.channel}:{label}"] += 1
        return len(batch)

    def _events(self, at: datetime, m: Outgoing, provider_id: str) -> list[tuple[str, dict[str, Any]]]:
        when = at.astimezone(JST)
        if m.channel == "email":
            bounced = _unit(self.seed, "bounce", m.creditor_id, m.debtor_id) < BOUNCING_EMAIL
            kind = "Bounce" if bounced else "Delivery"
            detail: dict[str, Any] = {
                "eventType": kind,
                "mail": {"messageId": provider_id, "tags": {"saiken_ref": [m.ref], "reminder_id": [m.reminder_id]}},
            }
            if bounced:
                detail["bounce"] = {"bounceType": "Permanent", "bounceSubType": "NoEmail"}
            return [
                (
                    "bounced" if bounced else "delivered",
                    {
                        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, provider_id + kind)),
                        "source": "aws.ses",
                        "detail-type": "Email Bounced" if bounced else "Email Delivered",
                        "time": when.isoformat(),
                        "detail": detail,
                    },
                )
            ]
        if m.channel == "sms":
            receipt = {
                "eventType": "TEXT_DELIVERED",
                "messageId": provider_id,
                "eventTimestamp": int(when.timestamp() * 1000),
                "context": {"saiken_ref": m.ref, "reminder_id": m.reminder_id},
            }
            out = [("delivered", _sns(receipt, provider_id))]
            if _unit(self.seed, "stop", m.reminder_id) < STOP_SMS:
                reply = {"originationNumber": m.to, "messageKeyword": "停止", "inboundMessageId": f"in-{provider_id}"}
                out.append(("replied_stop", _sns(reply, f"in-{provider_id}")))
            return out
        # IVR: Connect's contact flow calls the events function with the caller's answers
        u = _unit(self.seed, "ivr", m.reminder_id)
        params: dict[str, str] = {"result": "answered" if u < IVR_ANSWERS else "no_answer"}
        if u < IVR_ANSWERS:
            v = _unit(self.seed, "choice", m.reminder_id)
            if v < PROMISES:
                day = when.date() + timedelta(days=3 + int(v * 100) % 8)
                params.update(dtmf="1", promised_date=f"{day:%m%d}")
            elif v < PROMISES + OPERATOR:
                params["dtmf"] = "2"
        return [
            (
                params["result"],
                {
                    "Name": "ContactFlowEvent",
                    "Details": {
                        "ContactData": {
                            "ContactId": provider_id,
                            "Channel": "VOICE",
                            "InitiationMethod": "OUTBOUND",
                            "Attributes": {"saiken_ref": m.ref, "reminder_id": m.reminder_id},
                        },
                        "Parameters": params,
                    },
                },
            )
        ]


def _sns(message: dict[str, Any], message_id: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {"MessageId": message_id, "Message": json.dumps(message, ensure_ascii=False)},
            }
        ]
    }
