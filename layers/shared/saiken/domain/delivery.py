"""What the send path hands a channel, and how a channel says no (pure; adapters implement it)."""

from __future__ import annotations

from dataclasses import dataclass, field


class DeliveryError(Exception):
    retryable = True


class ChannelUnavailable(DeliveryError):
    retryable = True


class DeliveryRejected(DeliveryError):
    retryable = False


@dataclass(frozen=True)
class Outgoing:
    reminder_id: str
    creditor_id: str
    channel: str
    to: str
    body: str
    sender_name: str
    subject: str | None = None
    reply_to: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    # what the message is about (never sent to the provider except as ids)
    receivable_id: str | None = None
    debtor_id: str | None = None
    step: int | None = None
    offset: int | None = None
    template: str | None = None
    deferred_because: str | None = None
