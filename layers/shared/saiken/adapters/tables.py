"""pynamodb item models: the single source of truth for table keys and indexes.

Every key starts with the creditor (the tenant). The CDK stack is checked against these
classes by tests/infra/test_tables_match_models.py. Table names are bound at cold start
from Settings (bind_tables), never at import time.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from saiken.settings import Settings


class DebtorsByPhone(GlobalSecondaryIndex["DebtorItem"]):  # type: ignore[no-untyped-call]
    """Who has this number (an SMS STOP reply names only the phone)."""

    class Meta:
        index_name = "by_phone"
        projection = KeysOnlyProjection()

    phone = UnicodeAttribute(hash_key=True)


class DebtorItem(Model):
    class Meta:
        table_name = "saiken-debtors"
        region = "ap-northeast-1"

    creditor_id = UnicodeAttribute(hash_key=True)
    debtor_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    name_kana = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    postal_code = UnicodeAttribute(null=True)
    address = UnicodeAttribute(null=True)
    do_not_contact = BooleanAttribute(default=False)
    lawyer_retained = BooleanAttribute(default=False)
    opt_outs = UnicodeSetAttribute(null=True)
    bounced = UnicodeSetAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()

    by_phone = DebtorsByPhone()


class ReceivablesByDebtor(GlobalSecondaryIndex["ReceivableItem"]):  # type: ignore[no-untyped-call]
    """A debtor's receivables, oldest due first."""

    class Meta:
        index_name = "by_debtor"
        projection = AllProjection()

    debtor_key = UnicodeAttribute(hash_key=True)  # "{creditor_id}#{debtor_id}"
    due_date = UnicodeAttribute(range_key=True)  # ISO date sorts chronologically


class Worklist(GlobalSecondaryIndex["ReceivableItem"]):  # type: ignore[no-untyped-call]
    """The collector worklist: a creditor's receivables that need a human (sparse: only those carry
    the key; the priority is computed when read, since days past due change daily)."""

    class Meta:
        index_name = "worklist"
        projection = AllProjection()

    worklist_creditor = UnicodeAttribute(hash_key=True)
    receivable_id = UnicodeAttribute(range_key=True)


class ReceivableItem(Model):
    class Meta:
        table_name = "saiken-receivables"
        region = "ap-northeast-1"
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE  # the scheduler consumes the stream

    creditor_id = UnicodeAttribute(hash_key=True)
    receivable_id = UnicodeAttribute(range_key=True)
    debtor_id = UnicodeAttribute()
    debtor_key = UnicodeAttribute()
    amount = NumberAttribute()
    balance = NumberAttribute()
    currency = UnicodeAttribute(default="JPY")
    due_date = UnicodeAttribute()
    status = UnicodeAttribute()
    status_reason = UnicodeAttribute(null=True)
    segment = UnicodeAttribute(null=True)
    product = UnicodeAttribute(null=True)
    virtual_account = UnicodeAttribute(null=True)
    score = NumberAttribute(null=True)
    stage = UnicodeAttribute(null=True)
    promised_until = UnicodeAttribute(null=True)
    acknowledged_on = UnicodeAttribute(null=True)
    payments = JSONAttribute(null=True)  # {payment id: yen applied}, written with the balance
    promised_amount = NumberAttribute(null=True)
    promise_balance = NumberAttribute(null=True)
    promises_kept = NumberAttribute(null=True)
    promises_broken = NumberAttribute(null=True)
    hold_until = UnicodeAttribute(null=True)
    stage_rank = NumberAttribute(null=True)  # escalation only moves forward (the state machine's condition)
    stage_since = UnicodeAttribute(null=True)
    attention = UnicodeAttribute(null=True)
    worklist_creditor = UnicodeAttribute(null=True)  # set while the receivable needs a human (sparse index)
    source = UnicodeAttribute(null=True)
    row_hash = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    version = VersionAttribute()

    by_debtor = ReceivablesByDebtor()
    worklist = Worklist()


class IngestionRunItem(Model):
    class Meta:
        table_name = "saiken-ingestion-runs"
        region = "ap-northeast-1"

    creditor_id = UnicodeAttribute(hash_key=True)
    run_id = UnicodeAttribute(range_key=True)
    file_key = UnicodeAttribute()
    checksum = UnicodeAttribute(null=True)
    encoding = UnicodeAttribute(null=True)
    state = UnicodeAttribute()
    rows = NumberAttribute(default=0)
    accepted = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    created = NumberAttribute(default=0)
    updated = NumberAttribute(default=0)
    unchanged = NumberAttribute(default=0)
    error_counts = JSONAttribute(null=True)
    outcomes = JSONAttribute(null=True)
    error_code = UnicodeAttribute(null=True)
    error_message = UnicodeAttribute(null=True)
    report_key = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)


class ApiKeyItem(Model):
    """API keys, stored as their SHA-256 only. A key names its creditor (``sk.{creditor}.{secret}``),
    so this table is keyed by the creditor like every other."""

    class Meta:
        table_name = "saiken-api-keys"
        region = "ap-northeast-1"

    creditor_id = UnicodeAttribute(hash_key=True)
    key_hash = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute(null=True)
    disabled = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute(null=True)


class ContactsByReceivable(GlobalSecondaryIndex["ContactItem"]):  # type: ignore[no-untyped-call]
    """A receivable's contact history, in time order."""

    class Meta:
        index_name = "by_receivable"
        projection = AllProjection()

    receivable_key = UnicodeAttribute(hash_key=True)  # "{creditor_id}#{receivable_id}"
    sk = UnicodeAttribute(range_key=True)


class ContactItem(Model):
    """応対履歴: one item per reminder step that reached the send path (sent, suppressed or failed),
    one per inbound outcome or case change (sk ``e#...``: delivered, bounced, IVR answer, promise,
    dispute, note, escalation), and one counter item per debtor and day for the daily cap
    (sk ``cap#YYYY-MM-DD``)."""

    class Meta:
        table_name = "saiken-contacts"
        region = "ap-northeast-1"

    debtor_key = UnicodeAttribute(hash_key=True)  # "{creditor_id}#{debtor_id}"
    sk = UnicodeAttribute(range_key=True)  # "c#{slot ISO}#{reminder_id}" | "e#{event_id}" | "cap#{JST date}"
    by_receivable = ContactsByReceivable()
    receivable_key = UnicodeAttribute(null=True)
    creditor_id = UnicodeAttribute(null=True)
    receivable_id = UnicodeAttribute(null=True)
    reminder_id = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    detail = JSONAttribute(null=True)
    reminders = UnicodeSetAttribute(null=True)  # cap items: the reminders counted that day
    expires = TTLAttribute(null=True)  # cap items go after a few days


class UnmatchedPayments(GlobalSecondaryIndex["PaymentItem"]):  # type: ignore[no-untyped-call]
    """The unmatched queue: a creditor's payments waiting for an operator, oldest first (sparse:
    only unmatched payments carry the key)."""

    class Meta:
        index_name = "unmatched"
        projection = AllProjection()

    unmatched_creditor = UnicodeAttribute(hash_key=True)
    paid_on = UnicodeAttribute(range_key=True)


class PaymentItem(Model):
    """入金: one item per source payment id (the id makes a second delivery a no-op)."""

    class Meta:
        table_name = "saiken-payments"
        region = "ap-northeast-1"

    creditor_id = UnicodeAttribute(hash_key=True)
    payment_id = UnicodeAttribute(range_key=True)
    unmatched = UnmatchedPayments()
    unmatched_creditor = UnicodeAttribute(null=True)
    paid_on = UnicodeAttribute()
    amount = NumberAttribute()
    state = UnicodeAttribute()
    record = JSONAttribute()  # the rest of the PaymentRecord (payer, method, allocations, ...)
    version = VersionAttribute()


class IdempotencyItem(Model):
    """powertools idempotency records (send: one per reminder id)."""

    class Meta:
        table_name = "saiken-idempotency"
        region = "ap-northeast-1"

    id = UnicodeAttribute(hash_key=True)
    expiration = TTLAttribute(null=True)


ALL_TABLES: tuple[type[Model], ...] = (
    DebtorItem,
    ReceivableItem,
    IngestionRunItem,
    ApiKeyItem,
    ContactItem,
    IdempotencyItem,
    PaymentItem,
)
STREAMED_TABLES: frozenset[type[Model]] = frozenset({ReceivableItem})


def bind_tables(settings: Settings) -> None:
    """Point the models at the configured tables and region (cold start, or a test's setup)."""
    names: dict[type[Model], str] = {
        DebtorItem: settings.debtors_table,
        ReceivableItem: settings.receivables_table,
        IngestionRunItem: settings.ingestion_runs_table,
        ApiKeyItem: settings.api_keys_table,
        ContactItem: settings.contacts_table,
        IdempotencyItem: settings.idempotency_table,
        PaymentItem: settings.payments_table,
    }
    for model, name in names.items():
        model.Meta.table_name = name
        model.Meta.region = settings.region
        model._connection = None  # drop a connection bound to an old name/endpoint


def create_tables(**kwargs: Any) -> None:
    """Create every table (local stack and tests; the CDK stack creates them in AWS)."""
    for model in ALL_TABLES:
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=False, **kwargs)
