"""The payment record shared by the API and payment CSV files, and its validation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from saiken.domain.payments import IncomingPayment
from saiken.intake.fields import Amount, FieldIssue, Identifier, VirtualAccount, issues_from
from saiken.intake.normalize import clean_text, invalid, parse_date

# canonical field -> headers accepted for it (English names match case-insensitively).
PAYMENT_HEADERS: Final[dict[str, tuple[str, ...]]] = {
    "payment_id": ("入金ID", "入金番号", "照会番号"),
    "paid_at": ("入金日", "入金日付", "勘定日"),
    "amount": ("入金額", "金額", "振込金額"),
    "payer_name_kana": ("振込依頼人名", "依頼人名", "振込人名義"),
    "virtual_account": ("口座番号", "バーチャル口座番号", "入金口座番号"),
    "reference": ("参照番号", "EDI", "EDI情報"),
    "receivable_id": ("債権番号", "請求番号"),
    "payer_code": ("振込依頼人コード", "顧客番号"),
    "cancels": ("取消対象入金ID", "取消対象"),
}
REQUIRED: Final = frozenset({"payment_id", "paid_at", "amount"})


def _paid_on(value: Any) -> date:
    """A date, or a timestamp whose date is taken (2026-11-13T10:05:00+09:00)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise invalid("missing_value", "a value is required")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and len(value.strip()) > 10 and value.strip()[:4].isdigit() and "T" in value:
        try:
            return datetime.fromisoformat(value.strip()).date()
        except ValueError:
            pass
    return parse_date(value)


def _optional_id(value: Any) -> str | None:
    text = clean_text(value)
    if text is None:
        return None
    if len(text) > 64 or "#" in text:
        raise invalid("invalid_id", "identifiers are at most 64 characters, without '#'")
    return text


PaidOn = Annotated[date, BeforeValidator(_paid_on)]
OptionalId = Annotated[str | None, BeforeValidator(_optional_id)]
Text = Annotated[str | None, BeforeValidator(clean_text)]


class PaymentRow(BaseModel):
    """One incoming payment (入金) as a creditor reports it."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=256)

    payment_id: Identifier = Field(description="The source's id for the payment; sending it again changes nothing")
    paid_at: PaidOn = Field(description="入金日 (a date, or an ISO timestamp)")
    amount: Amount = Field(description="Positive whole yen")
    payer_name_kana: Text = Field(default=None, description="振込依頼人名, usually half-width kana")
    virtual_account: VirtualAccount = Field(default=None, description="The (virtual) account paid into")
    reference: Text = Field(default=None, description="EDI / reference text, often the receivable id")
    receivable_id: OptionalId = Field(default=None, description="The receivable, when the source knows it")
    payer_code: OptionalId = Field(default=None, description="振込依頼人コード: the debtor id, when passed on")
    cancels: OptionalId = Field(default=None, description="Set on a cancellation (取消): the payment it reverses")

    def incoming(self) -> IncomingPayment:
        return IncomingPayment(
            payment_id=self.payment_id,
            paid_on=self.paid_at,
            amount=self.amount,
            payer_name_kana=self.payer_name_kana,
            virtual_account=self.virtual_account,
            reference=self.reference,
            receivable_id=self.receivable_id,
            payer_code=self.payer_code,
            cancels=self.cancels,
        )


def validate_payment(values: Mapping[str, Any]) -> tuple[PaymentRow | None, list[FieldIssue]]:
    try:
        return PaymentRow.model_validate(values), []
    except ValidationError as exc:
        return None, issues_from(exc, "payment")
