"""One channel feedback item (a delivery receipt, a bounce, an IVR answer, an SMS reply), whatever
provider sent it; adapters/feedback.py reads the providers' shapes into it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Feedback:
    kind: str  # an EventKind
    channel: str  # email / sms / ivr
    source_id: str  # the provider's id of this event: a redelivery is the same entry
    at: datetime | None  # None: the provider gives none (Connect): the time it arrives
    creditor_id: str | None = None
    receivable_id: str | None = None
    reminder_id: str | None = None
    phone: str | None = None  # inbound SMS: only the number is known
    detail: dict[str, Any] = field(default_factory=dict)
    # IVR
    dtmf: str | None = None
    promised_date: str | None = None
    result: str | None = None
