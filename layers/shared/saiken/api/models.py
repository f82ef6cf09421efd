"""API request/response models. Requests are loose on purpose: values are normalised and
validated by the same intake core as CSV rows (saiken.intake.fields), so "¥12,000" or
"令和8年12月10日" are accepted over the API exactly as in a file."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from saiken.domain.models import IngestionRun, Receivable
from saiken.services.receivables import MAX_BATCH, DebtorOverview, ItemResult


class ReceivableIn(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "debtor_id": "C000123",
                "debtor_name": "山田 太郎",
                "debtor_name_kana": "ヤマダ タロウ",
                "phone": "090-1234-5678",
                "email": "taro@example.jp",
                "receivable_id": "INV-2026-0001",
                "amount": 12000,
                "due_date": "2026-12-10",
                "product": "card",
                "segment": "A",
            }
        },
    )

    debtor_id: str | None = Field(default=None, description="required; the creditor's debtor id")
    debtor_name: str | None = Field(default=None, description="required; 氏名")
    debtor_name_kana: str | None = None
    phone: str | None = Field(default=None, description="Japanese number in any format; stored as E.164")
    email: str | None = None
    postal_code: str | None = None
    address: str | None = None
    receivable_id: str | None = Field(default=None, description="required; the creditor's receivable id")
    amount: int | str | None = Field(default=None, description="required; positive whole yen (12000, '¥12,000')")
    due_date: date | str | None = Field(default=None, description="required; 2026-12-10, 2026/12/10, 令和8年12月10日")
    product: str | None = None
    virtual_account: str | None = None
    segment: str | None = None


class BatchIn(BaseModel):
    items: list[ReceivableIn] = Field(min_length=1, max_length=MAX_BATCH)


class FieldErrorOut(BaseModel):
    field: str | None
    code: str
    message: str


class ReceivableOut(BaseModel):
    receivable_id: str
    debtor_id: str
    amount: int
    balance: int
    currency: str
    due_date: date
    status: str
    status_reason: str | None = None
    segment: str | None = None
    product: str | None = None
    virtual_account: str | None = None
    stage: str | None = None
    stage_since: date | None = None
    promised_until: date | None = Field(default=None, description="promise to pay: no reminders up to this date")
    promised_amount: int | None = None
    promises_kept: int = 0
    promises_broken: int = 0
    hold_until: date | None = Field(default=None, description="a dispute or hold ends after this day")
    attention: str | None = Field(default=None, description="why it is on the collector worklist")
    acknowledged_on: date | None = Field(default=None, description="last 承認 (partial payment)")
    limitation_date: date = Field(description="消滅時効: 5 years from the due date or the last 承認")
    version: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, receivable: Receivable) -> ReceivableOut:
        return cls.model_validate(receivable.model_dump())


class UpsertOut(BaseModel):
    outcome: Literal["created", "updated", "unchanged"]
    receivable: ReceivableOut


class BatchItemOut(BaseModel):
    index: int
    receivable_id: str | None
    outcome: Literal["created", "updated", "unchanged"] | None = None
    errors: list[FieldErrorOut] = Field(default_factory=list)

    @classmethod
    def of(cls, result: ItemResult) -> BatchItemOut:
        return cls(
            index=result.index,
            receivable_id=result.receivable_id,
            outcome=result.outcome,
            errors=[FieldErrorOut(field=e.field, code=e.code, message=e.message) for e in result.errors],
        )


class BatchOut(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchItemOut]


class ReceivablePage(BaseModel):
    items: list[ReceivableOut]
    next_after: str | None = Field(default=None, description="pass as ?after= for the next page")


class StatusChangeIn(BaseModel):
    status: Literal["open", "on_hold", "disputed", "cancelled"]
    reason: str | None = Field(default=None, max_length=500)


class ErrorBody(BaseModel):
    code: str
    message: str
    errors: list[FieldErrorOut] = Field(default_factory=list)


class ErrorOut(BaseModel):
    error: ErrorBody


class IngestionRunOut(BaseModel):
    """What became of one file dropped into incoming/{creditor}/receivables/."""

    run_id: str
    file_key: str
    state: Literal["running", "completed", "failed"]
    encoding: str | None = None
    rows: int = Field(description="rows = accepted + rejected, always")
    accepted: int
    rejected: int
    created: int
    updated: int
    unchanged: int
    error_counts: dict[str, int] = Field(default_factory=dict, description="rejected rows per error code")
    outcomes: dict[str, int] = Field(
        default_factory=dict, description="payments files: payments per outcome (applied, partial, unmatched, ...)"
    )
    error_code: str | None = Field(default=None, description="why the whole file failed, if it did")
    error_message: str | None = None
    report_key: str | None = Field(default=None, description="the per-row error report in the intake bucket")
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @classmethod
    def of(cls, run: IngestionRun) -> IngestionRunOut:
        return cls.model_validate(run.model_dump())


class DebtorOut(BaseModel):
    """A debtor's contact details, flags and receivables. Personal data: only for the creditor's key."""

    debtor_id: str
    name: str
    name_kana: str | None = None
    phone: str | None = Field(default=None, description="E.164")
    email: str | None = None
    postal_code: str | None = None
    address: str | None = None
    do_not_contact: bool
    lawyer_retained: bool = Field(description="受任通知 received: no direct contact")
    opt_outs: list[str]
    bounced: list[str] = Field(default_factory=list, description="channels that cannot reach the debtor")
    open_balance: int = Field(description="yen still owed on receivables not paid, written off or cancelled")
    receivables: list[ReceivableOut]

    @classmethod
    def of(cls, overview: DebtorOverview) -> DebtorOut:
        return cls.model_validate(
            {
                **overview.debtor.model_dump(),
                "open_balance": overview.open_balance,
                "receivables": [ReceivableOut.of(r) for r in overview.receivables],
            }
        )


class ReportLinkOut(BaseModel):
    url: str = Field(description="GET this (no Authorization header) for the CSV: row,line,field,code,message,value")
    expires_in: int = Field(description="seconds the link stays valid")


class ContactPreferencesIn(BaseModel):
    """What the debtor (or their lawyer) told the creditor about being contacted. Omitted fields stay."""

    model_config = ConfigDict(extra="forbid")

    do_not_contact: bool | None = None
    lawyer_retained: bool | None = Field(default=None, description="受任通知 received: stops all direct contact")
    opt_outs: list[Literal["email", "sms", "ivr"]] | None = Field(
        default=None, description="the channels the debtor refused (replaces the list)"
    )


class PlanStepOut(BaseModel):
    at: str = Field(description="when it goes out (ISO 8601, +09:00); for a skipped step, when it was planned")
    planned_for: str
    channel: str
    offset: int = Field(description="days from the due date")
    step: int
    template: str
    state: Literal["planned", "deferred", "skipped"]
    reason: str | None = Field(default=None, description="why it moved or was dropped (a guardrail)")


class PlanOut(BaseModel):
    receivable_id: str
    status: str
    due_date: str
    segment: str
    steps: list[PlanStepOut] = Field(description="the remaining reminder calendar")


class ContactOut(BaseModel):
    """One entry of a receivable's contact history (応対履歴)."""

    reminder_id: str
    channel: str
    outcome: Literal["sent", "suppressed", "failed"]
    reason: str | None = Field(default=None, description="why it was held back or failed, or why it was late")
    slot: datetime = Field(description="when it was due to go out")
    at: datetime = Field(description="when this outcome was recorded")
    planned_at: datetime | None = None
    step: int | None = None
    offset: int | None = None
    template: str | None = None
    to: str | None = None
    subject: str | None = None
    provider_id: str | None = None
    sms_parts: int | None = None


# --- payments (入金) ---------------------------------------------------------------------


class PaymentIn(BaseModel):
    """One payment. Loosely typed on purpose: each field is checked by the same rules as a
    payments CSV row, and every problem comes back with its field and code."""

    model_config = ConfigDict(extra="forbid")

    payment_id: str | None = Field(default=None, description="required; the source's id (sending it again is safe)")
    paid_at: date | datetime | str | None = Field(default=None, description="required; 入金日, a date or timestamp")
    amount: int | str | None = Field(default=None, description="required; positive whole yen")
    payer_name_kana: str | None = Field(default=None, description="振込依頼人名 (half-width kana is fine)")
    virtual_account: str | None = None
    reference: str | None = Field(default=None, description="EDI / reference text, often the receivable id")
    receivable_id: str | None = None
    payer_code: str | None = Field(default=None, description="振込依頼人コード / the debtor id, if known")
    cancels: str | None = Field(default=None, description="on a cancellation (取消): the payment_id it reverses")


class PaymentBatchIn(BaseModel):
    payments: list[PaymentIn] = Field(min_length=1, max_length=MAX_BATCH)


class AllocationOut(BaseModel):
    receivable_id: str
    amount: int
    balance_after: int | None = Field(default=None, description="what the receivable still owes after it")


PaymentState = Literal["applied", "partial", "unmatched", "reversed", "ignored", "duplicate", "rejected"]


class PaymentResultOut(BaseModel):
    index: int | None = None
    payment_id: str | None
    state: PaymentState = Field(
        description="applied / partial (a balance is left) / unmatched (in the queue) / reversed (a cancellation "
        "gave money back) / ignored (a second cancellation) / duplicate (already received) / rejected (invalid)"
    )
    amount: int | None = None
    method: str | None = Field(
        default=None, description="reference, virtual_account, amount_debtor, name_amount, manual"
    )
    confidence: float | None = None
    allocations: list[AllocationOut] = Field(default_factory=list)
    credit: int = Field(default=0, description="overpaid yen left as the debtor's credit")
    reason: str | None = None
    detail: str | None = None
    errors: list[FieldErrorOut] = Field(default_factory=list)


class PaymentBatchOut(BaseModel):
    accepted: int
    rejected: int
    results: list[PaymentResultOut]


class PaymentOut(BaseModel):
    payment_id: str
    paid_on: date
    amount: int
    payer_name_kana: str | None = None
    virtual_account: str | None = None
    reference: str | None = None
    receivable_id: str | None = None
    cancels: str | None = None
    state: Literal["applied", "unmatched", "reversed", "cancellation"]
    method: str | None = None
    confidence: float | None = None
    debtor_id: str | None = None
    allocations: list[AllocationOut] = Field(default_factory=list)
    credit: int = 0
    reason: str | None = None
    detail: str | None = None
    reversed_by: str | None = None
    source: str | None = None
    received_at: datetime | None = None


class ManualMatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receivable_id: str = Field(min_length=1, max_length=64, description="the receivable the operator says it pays")


# --- cases (応対管理) ----------------------------------------------------------------------

_REASON = r"^[A-Za-z0-9_.:-]{1,40}$"


class TimelineEntryOut(BaseModel):
    """One line of the contact timeline: a reminder (sent / suppressed / failed) or an inbound
    outcome or case change (delivered, bounced, IVR answer, promise, dispute, note, escalation)."""

    at: datetime
    kind: str = Field(description="reminder outcome (sent, suppressed, failed) or event kind")
    receivable_id: str | None = None
    channel: str | None = None
    actor: str = Field(description="'system', 'provider', 'debtor', or the operator")
    reason: str | None = None
    note: str | None = None
    reminder_id: str | None = None
    detail: dict[str, object] = Field(default_factory=dict)


class _CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str = Field(default="operator", min_length=1, max_length=64, description="who (the operator's name or id)")


class NoteIn(_CaseIn):
    text: str = Field(min_length=1, max_length=2000)
    outcome: Literal["contacted", "no_answer", "callback", "wrong_number", "done"] | None = Field(
        default=None, description="a call's outcome: anything but no_answer / callback takes it off the worklist"
    )


class PromiseIn(_CaseIn):
    promised_date: date = Field(description="the debtor will pay by this day (at most 90 days ahead)")
    amount: int | None = Field(default=None, gt=0, description="yen promised (default: the balance)")
    note: str | None = Field(default=None, max_length=2000)


class HoldIn(_CaseIn):
    reason: str = Field(pattern=_REASON, description="a reason code, e.g. amount_disputed, bankruptcy, deceased")
    until: date | None = Field(default=None, description="dunning resumes after this day (default: until released)")
    note: str | None = Field(default=None, max_length=2000)


class ReleaseIn(_CaseIn):
    reason: str = Field(default="released", pattern=_REASON)
    note: str | None = Field(default=None, max_length=2000)


class WorkItemOut(BaseModel):
    priority: float = Field(description="balance x days past due (x 0.5-1.5 by the score, when there is one)")
    days_past_due: int
    receivable: ReceivableOut


class NextStageOut(BaseModel):
    stage: str
    at: datetime


class StageOut(BaseModel):
    receivable_id: str
    stage: str | None = None
    stage_since: date | None = None
    segment: str = Field(description="the cadence now in force")
    stages: list[str] = Field(description="the creditor's stages, in order")
    next: NextStageOut | None = Field(default=None, description="the next boundary, if it can escalate")
