"""What the send path hands a channel, and how a channel says no (pure; adapters implement it)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

REF = "saiken_ref"  # the tag / context key / contact attribute that ties a provider event back to us


def make_ref(creditor_id: str, receivable_id: str) -> str:
    """creditor + receivable in the characters every provider accepts in a tag value ([A-Za-z0-9_-])."""
    raw = f"{creditor_id}\x1f{receivable_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_ref(ref: str | None) -> tuple[str, str] | None:
    if not ref:
        return None
    try:
        raw = base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    creditor, sep, receivable = raw.partition("\x1f")
    return (creditor, receivable) if sep and creditor and receivable else None


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

    @property
    def ref(self) -> str:
        return make_ref(self.creditor_id, self.receivable_id or "")
