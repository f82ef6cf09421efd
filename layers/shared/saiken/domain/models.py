"""Debtors and receivables as the rest of the system sees them (persistence-agnostic)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from saiken.domain.status import ReceivableStatus


class Debtor(BaseModel):
    model_config = ConfigDict(extra="ignore")

    creditor_id: str
    debtor_id: str
    name: str
    name_kana: str | None = None
    phone: str | None = Field(default=None, description="E.164")
    email: str | None = None
    postal_code: str | None = None
    address: str | None = None
    do_not_contact: bool = False
    lawyer_retained: bool = False
    opt_outs: list[str] = Field(default_factory=list, description="channels the debtor opted out of")
    bounced: list[str] = Field(
        default_factory=list, description="channels that cannot reach the debtor (hard bounce, invalid number)"
    )
    version: int | None = None
    updated_at: datetime | None = None

    def contact_fingerprint(self) -> str:
        """Hash of the fields intake owns: an unchanged row must not rewrite the item."""
        return _fingerprint(self.name, self.name_kana, self.phone, self.email, self.postal_code, self.address)


class Receivable(BaseModel):
    model_config = ConfigDict(extra="ignore")

    creditor_id: str
    receivable_id: str
    debtor_id: str
    amount: int = Field(gt=0, description="whole yen")
    balance: int = Field(ge=0, description="whole yen still owed")
    currency: str = "JPY"
    due_date: date
    status: ReceivableStatus = ReceivableStatus.OPEN
    status_reason: str | None = None
    segment: str | None = None
    product: str | None = None
    virtual_account: str | None = None
    score: float | None = Field(default=None, ge=0, le=1, description="payment probability, picks the segment")
    stage: str | None = Field(default=None, description="escalation stage, if any")
    promised_until: date | None = Field(default=None, description="no reminders up to this date (promise to pay)")
    promised_amount: int | None = Field(default=None, gt=0, description="yen promised by promised_until")
    promise_balance: int | None = Field(default=None, ge=0, description="the balance when the promise was made")
    promises_kept: int = Field(default=0, ge=0, description="for scoring")
    promises_broken: int = Field(default=0, ge=0, description="for scoring")
    hold_until: date | None = Field(
        default=None, description="a dispute or hold ends after this day (None: open-ended)"
    )
    stage_rank: int | None = Field(default=None, ge=1, description="position of the stage in the rule set's order")
    stage_since: date | None = None
    attention: str | None = Field(default=None, description="why an operator should look (the collector worklist)")
    payments: dict[str, int] = Field(
        default_factory=dict,
        description="payment id -> yen applied here: written in the same conditional write as the balance",
    )
    acknowledged_on: date | None = Field(
        default=None, description="last 承認 (a partial payment): the limitation clock restarts from it"
    )
    source: str | None = Field(default=None, description="file key or 'api'")
    row_hash: str | None = None
    version: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def limitation_date(self) -> date:
        """消滅時効 (民法166条): 5 years from the due date, or from the last 承認 (152条)."""
        return limitation_date(self.acknowledged_on or self.due_date)

    @property
    def dated_promise(self) -> bool:
        """A promise to pay with a date: reminders wait for that date, then resume."""
        return self.status is ReceivableStatus.PROMISED and self.promised_until is not None

    def terms_fingerprint(self) -> str:
        return _fingerprint(
            self.debtor_id,
            self.amount,
            self.due_date.isoformat(),
            self.segment,
            self.product,
            self.virtual_account,
        )


LIMITATION_YEARS = 5


def limitation_date(start: date) -> date:
    """``start`` + 5 years (29 February -> 28 February)."""
    try:
        return start.replace(year=start.year + LIMITATION_YEARS)
    except ValueError:
        return start.replace(year=start.year + LIMITATION_YEARS, day=28)


def event_id(*parts: object) -> str:
    """Deterministic: the same change or provider event twice is one timeline entry."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:24]


def _fingerprint(*values: Any) -> str:
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()[:32]


class IngestionState:
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED_DUPLICATE = "skipped_duplicate"


class IngestionRun(BaseModel):
    creditor_id: str
    run_id: str
    file_key: str
    checksum: str | None = None
    encoding: str | None = None
    state: str = IngestionState.RUNNING
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_counts: dict[str, int] = Field(default_factory=dict, description="rejections per error code")
    outcomes: dict[str, int] = Field(
        default_factory=dict, description="payments files: payments per outcome (applied, partial, unmatched, ...)"
    )
    error_code: str | None = None
    error_message: str | None = None
    report_key: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ContactOutcome:
    SENT = "sent"  # the provider accepted it
    SUPPRESSED = "suppressed"  # a guardrail stopped it (reason says which)
    FAILED = "failed"  # the provider refused it for good (bad number, rejected address)


class Contact(BaseModel):
    """One entry of the contact history (応対履歴): a reminder step that reached the send path."""

    creditor_id: str
    debtor_id: str
    receivable_id: str
    reminder_id: str
    channel: str
    slot: datetime = Field(description="when the step was planned to go out (JST)")
    at: datetime = Field(description="when this outcome was recorded")
    outcome: str
    reason: str | None = Field(default=None, description="why suppressed, failed or deferred")
    planned_at: datetime | None = Field(default=None, description="when the rule wanted it (before any deferral)")
    segment: str | None = None
    step: int | None = None
    offset: int | None = None
    template: str | None = None
    rules_version: int | None = None
    to: str | None = None
    subject: str | None = None
    body: str | None = None
    provider_id: str | None = None
    sms_parts: int | None = None


class EventKind:
    """What happened, in the timeline (応対履歴) beside the reminders themselves."""

    DELIVERED = "delivered"  # the provider delivered it (SES delivery, SMS receipt)
    BOUNCED = "bounced"  # hard bounce / invalid number: that channel stops for the debtor
    COMPLAINED = "complained"  # marked as spam: email stops for the debtor
    OPTED_OUT = "opted_out"  # STOP / 停止 keyword
    UNDELIVERED = "undelivered"  # a soft failure (carrier unreachable, mailbox full)
    IVR_ANSWERED = "ivr_answered"
    IVR_NO_ANSWER = "ivr_no_answer"
    OPERATOR_REQUESTED = "operator_requested"  # IVR "2": talk to an operator
    PROMISE_MADE = "promise_made"
    PROMISE_KEPT = "promise_kept"
    PROMISE_BROKEN = "promise_broken"
    DISPUTED = "disputed"
    HELD = "held"
    RELEASED = "released"
    ESCALATED = "escalated"
    NOTE = "note"
    STATUS_CHANGED = "status_changed"  # set directly (e.g. cancelled)


class TimelineEvent(BaseModel):
    """One inbound outcome or case change (who, when, why): the audit trail of 応対管理."""

    creditor_id: str
    debtor_id: str
    receivable_id: str | None = None
    event_id: str = Field(description="deterministic where the source has an id, so a redelivery is one entry")
    at: datetime
    kind: str
    channel: str | None = None
    actor: str = Field(description="who: an API key's name, 'debtor' (IVR/SMS), 'provider', 'system'")
    reason: str | None = None
    note: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def about(
        cls,
        r: Receivable,
        kind: str,
        *,
        source: object,
        at: datetime,
        actor: str,
        channel: str | None = None,
        reason: str | None = None,
        note: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> TimelineEvent:
        """An event of one receivable; ``source`` (a provider's id, a version, a date) makes its id, so
        the same happening recorded twice is one entry. Empty detail values are left out."""
        return cls(
            creditor_id=r.creditor_id,
            debtor_id=r.debtor_id,
            receivable_id=r.receivable_id,
            event_id=event_id(r.creditor_id, r.receivable_id, kind, source),
            at=at,
            kind=kind,
            channel=channel,
            actor=actor,
            reason=reason,
            note=note,
            detail={k: v for k, v in (detail or {}).items() if v is not None},
        )
