"""The canonical receivable row, its accepted headers and its validation (the intake contract)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Annotated, Any, Final, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from saiken.intake.normalize import (
    clean_kana,
    clean_text,
    invalid,
    normalize_email,
    normalize_phone,
    normalize_postal_code,
    parse_amount,
    parse_date,
)

# canonical field -> headers accepted for it (English names match case-insensitively).
HEADER_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "debtor_id": ("債務者ID", "顧客番号", "会員番号"),
    "debtor_name": ("氏名", "債務者名", "顧客名"),
    "debtor_name_kana": ("氏名カナ", "フリガナ", "カナ氏名"),
    "phone": ("電話番号", "携帯電話番号"),
    "email": ("メールアドレス", "Eメール"),
    "postal_code": ("郵便番号",),
    "address": ("住所",),
    "receivable_id": ("債権番号", "請求番号", "契約番号"),
    "amount": ("請求金額", "金額", "債権額"),
    "due_date": ("支払期日", "期日", "約定日"),
    "product": ("商品区分", "サービス区分"),
    "virtual_account": ("バーチャル口座番号", "入金口座番号"),
    "segment": ("督促グループ", "セグメント"),
}
CANONICAL_FIELDS: Final[tuple[str, ...]] = tuple(HEADER_ALIASES)
NO_CONTACT: Final = "a phone number or an email address is required"
# The codes a row can be rejected with (README: the intake contract).
ROW_CODES: Final[frozenset[str]] = frozenset(
    {
        "missing_value",
        "invalid_amount",
        "invalid_date",
        "invalid_phone",
        "invalid_email",
        "no_contact",
        "invalid_id",
        "invalid_account",
    }
)
REQUIRED_FIELDS: Final[frozenset[str]] = frozenset({"debtor_id", "debtor_name", "receivable_id", "amount", "due_date"})


# One plain function per field type: these run for every cell of every row, so each does its
# blank check and its parsing in a single call (no wrapper layers).


def _blank(value: Any) -> bool:
    return value is None or (value.__class__ is str and (not value or value.isspace()))


def _required_text(value: Any) -> str:
    text = clean_text(value)
    if text is None:
        raise invalid("missing_value", "a value is required")
    return text


def _identifier(value: Any) -> str:
    text = clean_text(value)
    if text is None:
        raise invalid("missing_value", "a value is required")
    if len(text) > 64:
        raise invalid("invalid_id", "identifiers are at most 64 characters")
    if "#" in text:
        raise invalid("invalid_id", "identifiers may not contain '#'")
    return text


def _amount(value: Any) -> int:
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        raise invalid("missing_value", "a value is required")
    return parse_amount(value)


def _due_date(value: Any) -> date:
    if value is None or (value.__class__ is str and (not value or value.isspace())):
        raise invalid("missing_value", "a value is required")
    return parse_date(value)


# The optional parsers test for blanks inline (not through _blank): they run for every row.
def _phone(value: Any) -> str | None:
    if value.__class__ is str:
        return normalize_phone(value) if value and not value.isspace() else None
    return None if value is None else normalize_phone(str(value))


def _email(value: Any) -> str | None:
    if value.__class__ is str:
        return normalize_email(value) if value and not value.isspace() else None
    return None if value is None else normalize_email(str(value))


def _postal_code(value: Any) -> str | None:
    if value.__class__ is str:
        return _postal_text(value) if value and not value.isspace() else None
    return None if value is None else normalize_postal_code(str(value))


# Columns whose values repeat across a file (service names, groups, towns, postal areas):
# cleaned once per distinct value.
_repeating_text = lru_cache(maxsize=4096)(clean_text)
_postal_text = lru_cache(maxsize=8192)(normalize_postal_code)


def _repeating(value: Any) -> str | None:
    return _repeating_text(value) if value.__class__ is str else clean_text(value)


def _virtual_account(value: Any) -> str | None:
    text = clean_text(value)
    if text is None:
        return None
    digits = text.replace("-", "").replace(" ", "")
    if not digits.isdigit() or len(digits) > 14:
        raise invalid("invalid_account", f"{value!r} is not an account number")
    return digits


Identifier = Annotated[str, BeforeValidator(_identifier)]
RequiredText = Annotated[str, BeforeValidator(_required_text)]
RepeatingText = Annotated[str | None, BeforeValidator(_repeating)]
Amount = Annotated[int, BeforeValidator(_amount)]
DueDate = Annotated[date, BeforeValidator(_due_date)]
Phone = Annotated[str | None, BeforeValidator(_phone)]
Email = Annotated[str | None, BeforeValidator(_email)]
Kana = Annotated[str | None, BeforeValidator(clean_kana)]
PostalCode = Annotated[str | None, BeforeValidator(_postal_code)]
VirtualAccount = Annotated[str | None, BeforeValidator(_virtual_account)]


class ReceivableRow(BaseModel):
    """One receivable as a creditor hands it over, normalised. Shared by CSV and API intake."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=512)

    debtor_id: Identifier = Field(description="The creditor's id for the debtor (債務者ID, 顧客番号, 会員番号)")
    debtor_name: RequiredText = Field(description="氏名")
    debtor_name_kana: Kana = None
    phone: Phone = Field(default=None, description="Stored as E.164 (+81...)")
    email: Email = None
    postal_code: PostalCode = None
    address: RepeatingText = None
    receivable_id: Identifier = Field(description="The creditor's id for the receivable (債権番号)")
    amount: Amount = Field(description="Positive whole yen")
    due_date: DueDate = Field(description="Payment due date (支払期日)")
    product: RepeatingText = None
    virtual_account: VirtualAccount = None
    segment: RepeatingText = None

    @model_validator(mode="after")
    def _needs_a_contact(self) -> ReceivableRow:
        if self.phone is None and self.email is None:
            raise invalid("no_contact", NO_CONTACT)
        return self


class FieldIssue(NamedTuple):
    field: str | None
    code: str
    message: str


def issues_from(exc: ValidationError, noun: str) -> list[FieldIssue]:
    """pydantic's errors as the codes users see (missing_value, invalid_amount, unknown_field, ...)."""
    issues = []
    for err in exc.errors(include_url=False):
        name = str(err["loc"][0]) if err["loc"] else None
        if err["type"] == "missing":
            issues.append(FieldIssue(name, "missing_value", "a value is required"))
        elif err["type"] == "extra_forbidden":
            issues.append(FieldIssue(name, "unknown_field", f"{name!r} is not a {noun} field"))
        elif err["type"] in ROW_CODES:
            issues.append(FieldIssue(name, err["type"], err["msg"]))
        else:  # pydantic's own checks (a value over 512 characters, a list where text belongs, ...)
            issues.append(FieldIssue(name, "invalid_value", err["msg"]))
    return issues


def validate_row(values: Mapping[str, Any]) -> tuple[ReceivableRow | None, list[FieldIssue]]:
    """Validate one record (CSV cells or an API object); every problem is reported, not just the first."""
    try:
        return ReceivableRow.model_validate(values), []
    except ValidationError as exc:
        issues = issues_from(exc, "receivable")
        if (
            _blank(values.get("phone"))
            and _blank(values.get("email"))
            and not any(i.code == "no_contact" for i in issues)
        ):
            # pydantic stops before the whole-row check when a field fails; report it anyway.
            issues.append(FieldIssue(None, "no_contact", NO_CONTACT))
        return None, issues
