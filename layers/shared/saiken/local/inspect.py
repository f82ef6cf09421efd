"""Read-outs for the demo and tests: everything in the local contacts table, what moto's SES sent.

Local only (a scan across tenants is an operator's view of a laptop, never a product path).
"""

from __future__ import annotations

from typing import Any

from saiken.adapters.contacts import _contact
from saiken.adapters.tables import ContactItem
from saiken.domain.models import Contact

ACCOUNT = "123456789012"


def all_contacts(*, held_back_only: bool = False) -> list[Contact]:
    """Every contact record, or only those that did not go out (suppressed or failed)."""
    condition = ContactItem.sk.startswith("c#")
    if held_back_only:
        condition = condition & (ContactItem.outcome != "sent")
    return [_contact(item) for item in ContactItem.scan(condition)]


def sent_emails(region: str = "ap-northeast-1") -> list[Any]:
    """Messages moto's SES accepted (SES v2 SendEmail lands in the same store as v1)."""
    from moto.ses.models import ses_backends

    return list(ses_backends[ACCOUNT][region].sent_messages)
