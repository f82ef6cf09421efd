"""Repositories: domain objects in, domain objects out; pynamodb stays inside this module.

Every method takes the creditor first and every key it builds starts with it, so a caller
cannot reach another tenant's items.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Generic, NamedTuple, TypeVar

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from saiken.adapters.tables import ApiKeyItem, DebtorItem, IngestionRunItem, ReceivableItem
from saiken.domain.errors import ConcurrentUpdate
from saiken.domain.models import Debtor, IngestionRun, Receivable
from saiken.domain.status import ReceivableStatus

BATCH_GET_LIMIT = 100
BOOK_FIELDS = [
    "receivable_id",
    "debtor_id",
    "balance",
    "due_date",
    "virtual_account",
    "status",
    "version",
    "payments",
]


class BookRow(NamedTuple):
    receivable_id: str
    debtor_id: str
    balance: int
    due_date: date
    virtual_account: str | None
    status: ReceivableStatus
    version: int | None
    payments: dict[str, int]


WRITE_CONCURRENCY = 8  # conditional writes in flight per process


DomainT = TypeVar("DomainT", Receivable, Debtor)
ItemT = TypeVar("ItemT", ReceivableItem, DebtorItem)


def _now() -> datetime:
    return datetime.now(UTC)


def is_conditional_failure(exc: Exception) -> bool:
    text = f"{getattr(exc, 'cause_response_code', '')} {exc}"
    return "ConditionalCheckFailed" in text


# --- mapping ---------------------------------------------------------------------------


def _receivable_to_item(r: Receivable) -> ReceivableItem:
    item = ReceivableItem(
        r.creditor_id,
        r.receivable_id,
        debtor_id=r.debtor_id,
        debtor_key=f"{r.creditor_id}#{r.debtor_id}",
        amount=r.amount,
        balance=r.balance,
        currency=r.currency,
        due_date=r.due_date.isoformat(),
        status=r.status.value,
        status_reason=r.status_reason,
        segment=r.segment,
        product=r.product,
        virtual_account=r.virtual_account,
        score=r.score,
        stage=r.stage,
        promised_until=r.promised_until.isoformat() if r.promised_until else None,
        acknowledged_on=r.acknowledged_on.isoformat() if r.acknowledged_on else None,
        payments=r.payments or None,
        promised_amount=r.promised_amount,
        promise_balance=r.promise_balance,
        promises_kept=r.promises_kept or None,
        promises_broken=r.promises_broken or None,
        hold_until=r.hold_until.isoformat() if r.hold_until else None,
        stage_rank=r.stage_rank,
        stage_since=r.stage_since.isoformat() if r.stage_since else None,
        attention=r.attention,
        worklist_creditor=r.creditor_id if r.attention and not r.status.is_closed else None,
        source=r.source,
        row_hash=r.row_hash,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )
    if r.version is not None:
        item.version = r.version
    return item


def _receivable_from_item(item: ReceivableItem) -> Receivable:
    return Receivable(
        creditor_id=item.creditor_id,
        receivable_id=item.receivable_id,
        debtor_id=item.debtor_id,
        amount=int(item.amount),
        balance=int(item.balance),
        currency=item.currency,
        due_date=date.fromisoformat(item.due_date),
        status=ReceivableStatus(item.status),
        status_reason=item.status_reason,
        segment=item.segment,
        product=item.product,
        virtual_account=item.virtual_account,
        score=float(item.score) if item.score is not None else None,
        stage=item.stage,
        promised_until=date.fromisoformat(item.promised_until) if item.promised_until else None,
        acknowledged_on=date.fromisoformat(item.acknowledged_on) if item.acknowledged_on else None,
        payments={k: int(v) for k, v in (item.payments or {}).items()},
        promised_amount=_int(item.promised_amount),
        promise_balance=_int(item.promise_balance),
        promises_kept=int(item.promises_kept or 0),
        promises_broken=int(item.promises_broken or 0),
        hold_until=date.fromisoformat(item.hold_until) if item.hold_until else None,
        stage_rank=_int(item.stage_rank),
        stage_since=date.fromisoformat(item.stage_since) if item.stage_since else None,
        attention=item.attention,
        source=item.source,
        row_hash=item.row_hash,
        version=item.version,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def receivable_from_image(image: dict[str, Any] | None) -> Receivable | None:
    """A DynamoDB stream image (attribute-value JSON) as a Receivable."""
    if not image:
        return None
    item = ReceivableItem.from_raw_data(image)
    return _receivable_from_item(item)


def _debtor_to_item(d: Debtor) -> DebtorItem:
    item = DebtorItem(
        d.creditor_id,
        d.debtor_id,
        name=d.name,
        name_kana=d.name_kana,
        phone=d.phone,
        email=d.email,
        postal_code=d.postal_code,
        address=d.address,
        do_not_contact=d.do_not_contact,
        lawyer_retained=d.lawyer_retained,
        opt_outs=set(d.opt_outs) or None,
        bounced=set(d.bounced) or None,
        updated_at=d.updated_at,
    )
    if d.version is not None:
        item.version = d.version
    return item


def _debtor_from_item(item: DebtorItem) -> Debtor:
    return Debtor(
        creditor_id=item.creditor_id,
        debtor_id=item.debtor_id,
        name=item.name,
        name_kana=item.name_kana,
        phone=item.phone,
        email=item.email,
        postal_code=item.postal_code,
        address=item.address,
        do_not_contact=bool(item.do_not_contact),
        lawyer_retained=bool(item.lawyer_retained),
        opt_outs=sorted(item.opt_outs or ()),
        bounced=sorted(item.bounced or ()),
        version=item.version,
        updated_at=item.updated_at,
    )


@lru_cache(maxsize=1)
def _writers() -> ThreadPoolExecutor:
    """Built on first use, not at import (cold start, and tests that never write)."""
    return ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY, thread_name_prefix="saiken-writer")


# --- repositories ----------------------------------------------------------------------


class _VersionedRepository(Generic[DomainT, ItemT]):
    """get / get_many / save / save_all for a creditor-keyed item with a VersionAttribute."""

    item_class: type[ItemT]
    label: str

    def _to_item(self, obj: DomainT) -> ItemT:
        raise NotImplementedError

    def _from_item(self, item: ItemT) -> DomainT:
        raise NotImplementedError

    def _key(self, obj: DomainT) -> str:
        raise NotImplementedError

    def _stamp(self, obj: DomainT, now: datetime) -> DomainT:
        return obj.model_copy(update={"updated_at": now})

    def get(self, creditor_id: str, key: str) -> DomainT | None:
        try:
            return self._from_item(self.item_class.get(creditor_id, key, consistent_read=True))
        except DoesNotExist:
            return None

    def get_many(self, creditor_id: str, keys: Iterable[str]) -> dict[str, DomainT]:
        """Consistent batch reads, 100 keys a request; missing keys are simply absent."""
        return {key: obj for (_, key), obj in self.get_pairs((creditor_id, key) for key in keys).items()}

    def get_pairs(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], DomainT]:
        """Consistent batch reads of (creditor, key) pairs, possibly of several creditors at once:
        each key carries its own creditor, so the answer is still per tenant."""
        wanted = list(dict.fromkeys(pairs))
        found: dict[tuple[str, str], DomainT] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            for item in self.item_class.batch_get(wanted[start : start + BATCH_GET_LIMIT], consistent_read=True):
                obj = self._from_item(item)
                found[(obj.creditor_id, self._key(obj))] = obj
        return found

    def save(self, obj: DomainT) -> DomainT:
        """Create (version None) or update with the version check; raises ConcurrentUpdate."""
        item = self._to_item(self._stamp(obj, _now()))
        try:
            item.save()
        except (PutError, UpdateError) as exc:
            if is_conditional_failure(exc):
                raise ConcurrentUpdate(f"{self.label} {self._key(obj)} changed concurrently") from exc
            raise
        return self._from_item(item)

    def save_all(self, objs: Sequence[DomainT]) -> list[bool]:
        """Write each item with its own version check, a few at a time in parallel.

        Items are independent, so no transaction: a conflict on one (False in the result)
        does not hold back the others, and there is no 2x transactional write cost.
        """
        if len(objs) <= 1:
            return [self._try_save(obj) for obj in objs]
        return list(_writers().map(self._try_save, objs))

    def _try_save(self, obj: DomainT) -> bool:
        try:
            self.save(obj)
        except ConcurrentUpdate:
            return False
        return True


class ReceivableRepository(_VersionedRepository[Receivable, ReceivableItem]):
    item_class = ReceivableItem
    label = "receivable"

    def _to_item(self, obj: Receivable) -> ReceivableItem:
        return _receivable_to_item(obj)

    def _from_item(self, item: ReceivableItem) -> Receivable:
        return _receivable_from_item(item)

    def _key(self, obj: Receivable) -> str:
        return obj.receivable_id

    def _stamp(self, obj: Receivable, now: datetime) -> Receivable:
        return obj.model_copy(update={"updated_at": now, "created_at": obj.created_at or now})

    def list_for_debtor(self, creditor_id: str, debtor_id: str) -> list[Receivable]:
        return [_receivable_from_item(item) for item in ReceivableItem.by_debtor.query(f"{creditor_id}#{debtor_id}")]

    def page(
        self,
        creditor_id: str,
        *,
        limit: int = 100,
        after: str | None = None,
        status: ReceivableStatus | None = None,
    ) -> tuple[list[Receivable], str | None]:
        """One page of a creditor's receivables by id; ``after`` is the last id of the previous page."""
        last_key = {"creditor_id": {"S": creditor_id}, "receivable_id": {"S": after}} if after else None
        condition = ReceivableItem.status == status.value if status else None
        query = ReceivableItem.query(
            creditor_id, filter_condition=condition, limit=limit, last_evaluated_key=last_key, page_size=limit
        )
        items = [_receivable_from_item(item) for item in query]
        next_after = None
        if query.last_evaluated_key:
            next_after = query.last_evaluated_key["receivable_id"]["S"]
        return items, next_after

    def iterate(self, creditor_id: str, *, unsettled_only: bool = False) -> Iterator[Receivable]:
        """Every receivable of the creditor; ``unsettled_only``: not paid and not cancelled."""
        condition = ~ReceivableItem.status.is_in("paid", "cancelled") if unsettled_only else None
        for item in ReceivableItem.query(creditor_id, filter_condition=condition):
            yield _receivable_from_item(item)

    def in_status(self, creditor_id: str, *statuses: ReceivableStatus) -> Iterator[Receivable]:
        """The creditor's receivables in one of these statuses (the daily follow-up: promises, holds)."""
        condition = ReceivableItem.status.is_in(*(s.value for s in statuses))
        for item in ReceivableItem.query(creditor_id, filter_condition=condition):
            yield _receivable_from_item(item)

    def worklist(self, creditor_id: str) -> list[Receivable]:
        """Receivables flagged for a human (the sparse ``worklist`` index), closed ones left out."""
        items = ReceivableItem.worklist.query(creditor_id)
        found = [_receivable_from_item(item) for item in items]
        return [r for r in found if r.attention and not r.status.is_closed]

    def book_rows(self, creditor_id: str) -> Iterator[BookRow]:
        """What matching needs of every receivable that can still take money (not paid, not
        cancelled), and no more: a projection, a fraction of the read and parsing of full items."""
        unsettled = ~ReceivableItem.status.is_in("paid", "cancelled")
        for item in ReceivableItem.query(creditor_id, filter_condition=unsettled, attributes_to_get=BOOK_FIELDS):
            yield BookRow(
                item.receivable_id,
                item.debtor_id,
                int(item.balance),
                date.fromisoformat(item.due_date),
                item.virtual_account,
                ReceivableStatus(item.status),
                item.version,
                {k: int(v) for k, v in (item.payments or {}).items()},
            )


class DebtorRepository(_VersionedRepository[Debtor, DebtorItem]):
    item_class = DebtorItem
    label = "debtor"

    def _to_item(self, obj: Debtor) -> DebtorItem:
        return _debtor_to_item(obj)

    def _from_item(self, item: DebtorItem) -> Debtor:
        return _debtor_from_item(item)

    def _key(self, obj: Debtor) -> str:
        return obj.debtor_id

    def kana_names(self, creditor_id: str) -> dict[str, str | None]:
        """debtor -> kana name (a projection), for matching payers' names."""
        return {
            i.debtor_id: i.name_kana
            for i in DebtorItem.query(creditor_id, attributes_to_get=["debtor_id", "name_kana"])
        }

    def with_phone(self, phone: str) -> list[tuple[str, str]]:
        """(creditor, debtor) pairs with this E.164 number (an SMS STOP names only the number)."""
        return [(i.creditor_id, i.debtor_id) for i in DebtorItem.by_phone.query(phone)]

    def iterate(self, creditor_id: str) -> Iterator[Debtor]:
        for item in DebtorItem.query(creditor_id):
            yield _debtor_from_item(item)


class IngestionRunRepository:
    def get(self, creditor_id: str, run_id: str) -> IngestionRun | None:
        try:
            item = IngestionRunItem.get(creditor_id, run_id, consistent_read=True)
        except DoesNotExist:
            return None
        return IngestionRun.model_validate(item.attribute_values)

    def save(self, run: IngestionRun) -> None:
        IngestionRunItem(**run.model_dump()).save()

    def for_creditor(self, creditor_id: str) -> list[IngestionRun]:
        return [IngestionRun.model_validate(i.attribute_values) for i in IngestionRunItem.query(creditor_id)]


KEY_PREFIX = "sk."


def new_api_key(creditor_id: str) -> str:
    """``sk.{creditor}.{secret}``: 256 random bits; the creditor part only says where to look."""
    return f"{KEY_PREFIX}{creditor_id}.{secrets.token_urlsafe(32)}"


def creditor_named_in(key: str) -> str | None:
    if not key.startswith(KEY_PREFIX):
        return None
    creditor, dot, secret = key[len(KEY_PREFIX) :].rpartition(".")
    return creditor if dot and creditor and secret else None


def hash_api_key(key: str) -> str:
    """Keys are 256-bit random tokens, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyRepository:
    def creditor_for(self, key: str) -> str | None:
        """The creditor a key acts for, or None. Naming another creditor in a key finds nothing:
        the hash is looked up under the named creditor only."""
        creditor = creditor_named_in(key)
        if creditor is None:
            return None
        try:
            item = ApiKeyItem.get(creditor, hash_api_key(key))
        except DoesNotExist:
            return None
        return None if item.disabled else item.creditor_id

    def revoke(self, key: str) -> bool:
        """Disable a key at once (the authorizer's cached policy expires within its TTL); False if unknown."""
        creditor = creditor_named_in(key)
        if creditor is None:
            return False
        try:
            item = ApiKeyItem.get(creditor, hash_api_key(key))
        except DoesNotExist:
            return False
        item.update(actions=[ApiKeyItem.disabled.set(True)])
        return True

    def issue(self, creditor_id: str, name: str | None = None) -> str:
        """Create a key for the creditor; the caller shows it once, only its hash is kept."""
        key = new_api_key(creditor_id)
        ApiKeyItem(creditor_id, hash_api_key(key), name=name, created_at=_now()).save()
        return key
