"""Payments and their matching to receivables (入金消込): the pure core.

The reconcile function, the API and ``saiken match`` all run this code. A ``Book`` is one
creditor's receivables indexed the ways a bank line can point at them; the ``Matcher`` tries,
in order of confidence, the receivable id / EDI reference, the virtual account, the debtor with
an exact open balance, then the payer's kana name (normalised, fuzzy) with an exact amount.
A match spreads the money over the debtor's receivables, oldest due first, and leaves what is
left over as a credit; nothing is ever lost: applied + credit == amount, or the payment is
unmatched whole.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Final, NamedTuple

import jaconv
from pydantic import BaseModel
from pydantic import Field as PydanticField
from rapidfuzz import fuzz

from saiken.domain.status import ReceivableStatus

NAME_THRESHOLD: Final = 85.0  # rapidfuzz ratio (0-100) a kana name must reach to count as the payer
NAME_MARGIN: Final = 5.0  # ... and by how much it must beat the next debtor's name
NAMESAKES: Final = "another debtor with open receivables has the same name (同姓同名): an operator decides"


class Method(StrEnum):
    REFERENCE = "reference"
    VIRTUAL_ACCOUNT = "virtual_account"
    AMOUNT_DEBTOR = "amount_debtor"
    NAME_AMOUNT = "name_amount"
    MANUAL = "manual"


# How sure each method is (a name match scales this by its similarity).
CONFIDENCE: Final[dict[Method, float]] = {
    Method.REFERENCE: 1.0,
    Method.VIRTUAL_ACCOUNT: 0.98,
    Method.AMOUNT_DEBTOR: 0.9,
    Method.NAME_AMOUNT: 0.8,
    Method.MANUAL: 1.0,
}


class Unmatched(StrEnum):
    """Why a payment went to the unmatched queue."""

    NO_CANDIDATE = "no_candidate"  # nothing points at any receivable
    AMOUNT_MISMATCH = "amount_mismatch"  # the payer is known, the amount fits no open balance
    BELOW_THRESHOLD = "below_threshold"  # the closest name is not close enough
    AMBIGUOUS = "ambiguous"  # two debtors fit equally well
    UNKNOWN_ORIGINAL = "unknown_original"  # a cancellation of a payment never seen


# --- kana names ------------------------------------------------------------------------

# Zengin text has no small kana (ｼﾖｳｼﾞ for ショウジ): fold them everywhere before comparing.
_SMALL_TO_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
# Legal-entity marks as banks abbreviate them: ｶ) before the name (株式会社 ...), (ｶ after it
# (... 株式会社), (ｶ) inside. After NFKC and the small-kana fold.
_ENTITY_ABBREVIATIONS: Final = (
    "カ",  # 株式会社
    "ユ",  # 有限会社
    "ド",  # 合同会社
    "メ",  # 合名会社
    "シ",  # 合資会社
    "ザイ",  # 財団法人
    "シヤ",  # 社団法人
    "イ",  # 医療法人
    "ガク",  # 学校法人
    "フク",  # 社会福祉法人
    "トク",  # 特定非営利活動法人
    "ソ",  # 相互会社
    "ギヨ",  # 漁業協同組合
    "ノウ",  # 農業協同組合
    "セイ",  # 生活協同組合
)
_MARKS = "|".join(sorted(_ENTITY_ABBREVIATIONS, key=len, reverse=True))
_ENTITY_RE = re.compile(rf"^(?:{_MARKS})\)|\((?:{_MARKS})\)|\((?:{_MARKS})$")
# The same entity types spelled out, as a debtor register writes them.
_ENTITY_WORDS_RE = re.compile(
    "カブシキガイシヤ|カブシキカイシヤ|ユウゲンガイシヤ|ユウゲンカイシヤ|ゴウドウガイシヤ|ゴウドウカイシヤ"
    "|ゴウメイガイシヤ|ゴウシガイシヤ|ザイダンホウジン|シヤダンホウジン|イリヨウホウジン|ガツコウホウジン"
)
_SEPARATORS_RE = re.compile(r"[\s\-ー－‐・.,、。()（）/「」]")


@lru_cache(maxsize=65536)
def normalize_kana_name(text: str | None) -> str:
    """One spelling per name: ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ, ヤマダショウジ（カ and ヤマダ ショウジ all become ヤマダシヨウジ.

    NFKC widens half-width kana (joining ﾀﾞ into ダ), hiragana become katakana, small kana
    become large (Zengin has none), legal-entity marks and separators go.
    """
    if not text:
        return ""
    s = jaconv.hira2kata(unicodedata.normalize("NFKC", text)).upper().translate(_SMALL_TO_LARGE)
    s = s.replace(" ", "")
    s = _ENTITY_RE.sub("", s)
    s = _ENTITY_WORDS_RE.sub("", s)
    return _SEPARATORS_RE.sub("", s)


DAKUTEN_PENALTY: Final = 2.0  # a match only without dakuten scores a little lower than an exact one


@lru_cache(maxsize=65536)
def seion(name: str) -> str:
    """The name without dakuten / handakuten (ガ -> カ, パ -> ハ)."""
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in unicodedata.normalize("NFD", name) if ch not in "\u3099\u309a")
    )


def _account_key(account: str) -> str:
    """Banks zero-pad account numbers (N7 in 振込入金通知, N10 in 入出金取引明細)."""
    return account.lstrip("0")


def normalize_reference(text: str | None) -> str:
    if not text:
        return ""
    if text.isascii():
        return text.strip().upper()
    return unicodedata.normalize("NFKC", text).strip().upper()


# --- what comes in ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncomingPayment:
    """One payment as a bank file, a CSV row or the API reports it."""

    payment_id: str
    paid_on: date
    amount: int
    payer_name_kana: str | None = None
    virtual_account: str | None = None
    reference: str | None = None
    receivable_id: str | None = None
    payer_code: str | None = None  # 振込依頼人コード: the creditor's debtor id, when the bank passes it on
    cancels: str | None = None  # the payment this one reverses (取消)

    @property
    def is_cancellation(self) -> bool:
        return self.cancels is not None


@dataclass(slots=True)
class Entry:
    """A receivable as the matcher sees it: what is still owed, and whether money may go to it."""

    receivable_id: str
    debtor_id: str
    balance: int
    due_date: date
    virtual_account: str | None = None
    payable: bool = True  # False for cancelled receivables: nothing is applied to them


class Allocation(NamedTuple):
    receivable_id: str
    amount: int
    balance_after: int

    @property
    def settles(self) -> bool:
        return self.balance_after == 0


@dataclass(slots=True)  # not frozen: built for every payment, and frozen construction is slow
class Match:
    """The matcher's answer for one payment. Unmatched: method is None and nothing is allocated."""

    payment_id: str
    amount: int
    method: Method | None
    confidence: float = 0.0
    debtor_id: str | None = None
    allocations: tuple[Allocation, ...] = ()
    credit: int = 0
    reason: str | None = None
    detail: str | None = None

    @property
    def matched(self) -> bool:
        return self.method is not None

    @property
    def applied(self) -> int:
        return sum(a.amount for a in self.allocations)

    @property
    def partial(self) -> bool:
        """Some receivable it paid still has a balance left."""
        return any(not a.settles for a in self.allocations)


# --- the book --------------------------------------------------------------------------


class Book:
    """One creditor's receivables with the indexes matching needs; balances change as payments apply.

    Every index is kept up to date in O(1) per change (the matcher runs over 100,000s of
    payments): open balances are counted per (amount, debtor), each debtor's open total is
    indexed by amount, and names are blocked by their first and last two kana so a fuzzy
    match compares a payer with a handful of names, not with everyone who owes that amount.
    """

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.debtor_names: dict[str, str] = {}  # debtor -> normalised kana
        self._by_debtor: dict[str, list[Entry]] = defaultdict(list)  # oldest due first
        self._by_account: dict[str, list[Entry]] = defaultdict(list)
        self._by_reference: dict[str, Entry] = {}
        self._by_name: dict[str, set[str]] = defaultdict(set)
        self._blocks: dict[str, set[str]] = defaultdict(set)  # "^ヤマ" / "ロウ$" -> debtors
        self._by_balance: dict[int, dict[str, int]] = defaultdict(dict)  # balance -> {debtor: how many}
        self._totals: dict[str, int] = defaultdict(int)
        self._by_total: dict[int, set[str]] = defaultdict(set)
        # (amount, name block) -> debtors owing that amount (one balance or the total) under such a
        # name; built on the first fuzzy lookup (a file without a mistyped name never pays for it)
        self._owing_by_block: dict[tuple[int, str], dict[str, int]] | None = None
        self._debtor_blocks: dict[str, tuple[str, ...]] = {}

    @classmethod
    def of(cls, entries: Iterable[Entry], debtor_names: Mapping[str, str | None]) -> Book:
        """Build every index in one pass (each debtor's receivables sorted once)."""
        book = cls()
        for debtor_id, name in debtor_names.items():
            book._rename(debtor_id, normalize_kana_name(name))
        for entry in entries:
            book._place(entry, totals=False)
        key = _due_order
        for debtor_id, owed in book._by_debtor.items():
            owed.sort(key=key)
            total = sum(e.balance for e in owed if e.payable and e.balance > 0)
            if total:
                book._move_total(debtor_id, total)
        for same in book._by_account.values():
            same.sort(key=key)
        return book

    def _rename(self, debtor_id: str, name: str) -> None:
        self._debtor_blocks[debtor_id] = _blocks_of(name)
        old = self.debtor_names.get(debtor_id)
        if old:
            self._by_name[old].discard(debtor_id)
            for block in _blocks_of(old):
                self._blocks[block].discard(debtor_id)
        if name:
            self.debtor_names[debtor_id] = name
            self._by_name[name].add(debtor_id)
            for block in _blocks_of(name):
                self._blocks[block].add(debtor_id)

    def _place(self, entry: Entry, *, totals: bool = True) -> None:
        self.entries[entry.receivable_id] = entry
        self._by_reference[entry.receivable_id] = entry
        folded = normalize_reference(entry.receivable_id)
        if folded != entry.receivable_id:
            self._by_reference.setdefault(folded, entry)
        self._by_debtor[entry.debtor_id].append(entry)
        if entry.virtual_account:
            self._by_account[_account_key(entry.virtual_account)].append(entry)
        self._index_balance(entry, totals=totals)

    def add(self, entry: Entry) -> None:
        """Add or replace a receivable (a reload after a concurrent change replaces it)."""
        old = self.entries.get(entry.receivable_id)
        if old is not None:
            self._unindex_balance(old)
            self._by_debtor[old.debtor_id].remove(old)
            if old.virtual_account:
                self._by_account[_account_key(old.virtual_account)].remove(old)
        self._place(entry)
        self._by_debtor[entry.debtor_id].sort(key=_due_order)
        if entry.virtual_account:
            self._by_account[_account_key(entry.virtual_account)].sort(key=_due_order)

    def _index_balance(self, entry: Entry, *, totals: bool = True) -> None:
        if not (entry.payable and entry.balance > 0):
            return
        debtor = entry.debtor_id
        counts = self._by_balance[entry.balance]
        counts[debtor] = counts.get(debtor, 0) + 1
        self._count_owing(entry.balance, debtor, 1)
        if totals:
            self._move_total(debtor, entry.balance)

    def _unindex_balance(self, entry: Entry) -> None:
        if not (entry.payable and entry.balance > 0):
            return
        debtor = entry.debtor_id
        counts = self._by_balance[entry.balance]
        left = counts[debtor] - 1
        if left:
            counts[debtor] = left
        else:
            del counts[debtor]
        self._count_owing(entry.balance, debtor, -1)
        self._move_total(debtor, -entry.balance)

    def _count_owing(self, amount: int, debtor_id: str, delta: int) -> None:
        index = self._owing_by_block
        if index is None:
            return
        for block in self._debtor_blocks.get(debtor_id, ()):
            key = (amount, block)
            counts = index.get(key)
            if counts is None:
                counts = index[key] = {}
            n = counts.get(debtor_id, 0) + delta
            if n:
                counts[debtor_id] = n
            else:
                del counts[debtor_id]

    def _move_total(self, debtor_id: str, delta: int) -> None:
        before = self._totals[debtor_id]
        if before:
            self._by_total[before].discard(debtor_id)
            self._count_owing(before, debtor_id, -1)
        after = self._totals[debtor_id] = before + delta
        if after:
            self._by_total[after].add(debtor_id)
            self._count_owing(after, debtor_id, 1)

    def set_balance(self, receivable_id: str, balance: int) -> None:
        """The one hot write path (every applied payment): each index moved once."""
        entry = self.entries[receivable_id]
        before = entry.balance
        if not entry.payable or before == balance:
            entry.balance = balance
            return
        debtor = entry.debtor_id
        if before > 0:
            counts = self._by_balance[before]
            left = counts[debtor] - 1
            if left:
                counts[debtor] = left
            else:
                del counts[debtor]
            self._count_owing(before, debtor, -1)
        if balance > 0:
            counts = self._by_balance[balance]
            counts[debtor] = counts.get(debtor, 0) + 1
            self._count_owing(balance, debtor, 1)
        entry.balance = balance
        self._move_total(debtor, balance - before)

    # -- lookups ------------------------------------------------------------------------
    def by_reference(self, reference: str | None) -> Entry | None:
        if not reference:
            return None
        found = self._by_reference.get(reference)
        return found if found is not None else self._by_reference.get(normalize_reference(reference))

    def by_account(self, account: str | None) -> list[Entry]:
        return self._by_account.get(_account_key(account), []) if account else []

    def owed_by(self, debtor_id: str) -> list[Entry]:
        return [e for e in self._by_debtor.get(debtor_id, ()) if e.payable and e.balance > 0]

    def knows(self, debtor_id: str) -> bool:
        return bool(self._by_debtor.get(debtor_id))

    def owes(self, debtor_id: str, amount: int) -> bool:
        """One open balance, or the debtor's open total, is exactly ``amount``."""
        return debtor_id in self._by_balance.get(amount, _EMPTY) or self._totals.get(debtor_id) == amount

    def debtors_named(self, normalised: str) -> set[str]:
        return self._by_name.get(normalised, set())

    def similar_owing(self, normalised: str, amount: int) -> set[str]:
        """Debtors owing exactly ``amount`` (one balance or their total) whose name shares its
        first or its last two kana with this one: two dictionary lookups."""
        index = self._owing_by_block if self._owing_by_block is not None else self._build_block_index()
        found: set[str] = set()
        for block in _blocks_of(normalised):
            found.update(index.get((amount, block), _EMPTY))
        return found

    def _build_block_index(self) -> dict[tuple[int, str], dict[str, int]]:
        index: dict[tuple[int, str], dict[str, int]] = {}
        totals = self._totals
        for debtor, blocks in self._debtor_blocks.items():
            if not blocks:
                continue
            amounts = [e.balance for e in self._by_debtor.get(debtor, ()) if e.payable and e.balance > 0]
            if totals.get(debtor):
                amounts.append(totals[debtor])
            for amount in amounts:
                for block in blocks:
                    counts = index.get((amount, block))
                    if counts is None:
                        counts = index[(amount, block)] = {}
                    counts[debtor] = counts.get(debtor, 0) + 1
        self._owing_by_block = index
        return index

    def allocate(self, debtor_id: str, amount: int, first: Iterable[Entry] = ()) -> tuple[tuple[Allocation, ...], int]:
        """Spread ``amount`` over ``first`` then the debtor's other open receivables, oldest due
        first; return the allocations and what is left over (a credit). Changes nothing."""
        allocations: list[Allocation] = []
        left = amount
        seen: set[str] = set()
        for entry in (*first, *self._by_debtor.get(debtor_id, ())):
            if left == 0:
                break
            if not (entry.payable and entry.balance > 0) or entry.receivable_id in seen:
                continue
            seen.add(entry.receivable_id)
            take = left if left < entry.balance else entry.balance
            allocations.append(Allocation(entry.receivable_id, take, entry.balance - take))
            left -= take
        return tuple(allocations), left

    def commit(self, match: Match) -> None:
        for a in match.allocations:
            self.set_balance(a.receivable_id, a.balance_after)

    def revert(self, allocations: Iterable[Allocation]) -> None:
        """Put back what a cancelled payment took off."""
        for a in allocations:
            entry = self.entries.get(a.receivable_id)
            if entry is not None:
                self.set_balance(a.receivable_id, entry.balance + a.amount)


_EMPTY: dict[str, int] = {}


def _due_order(e: Entry) -> tuple[date, str]:
    return (e.due_date, e.receivable_id)


def _blocks_of(name: str) -> tuple[str, ...]:
    """Blocks on the plain-kana form, so a lost dakuten keeps both."""
    plain = seion(name)
    return ("^" + plain[:2], plain[-2:] + "$") if plain else ()


# --- the matcher -----------------------------------------------------------------------


@dataclass
class Matcher:
    book: Book
    name_threshold: float = NAME_THRESHOLD

    def match(self, payment: IncomingPayment) -> Match:
        """Deterministic: the same book and payment always give the same answer. Changes nothing;
        ``book.commit(match)`` once the match is applied."""
        book = self.book
        for ref in (payment.receivable_id, payment.reference):
            entry = book.by_reference(ref)
            if entry is not None and entry.payable:
                return self._settle(payment, Method.REFERENCE, entry.debtor_id, [entry])
        accounts = book.by_account(payment.virtual_account)
        if accounts:
            owner = accounts[0].debtor_id
            if any(e.debtor_id != owner for e in accounts):
                return self._unmatched(payment, Unmatched.AMBIGUOUS, "the virtual account belongs to several debtors")
            return self._settle(payment, Method.VIRTUAL_ACCOUNT, owner, accounts)
        name = normalize_kana_name(payment.payer_name_kana)
        known: set[str] = set()
        if payment.payer_code and book.knows(payment.payer_code):
            known = {payment.payer_code}
        elif name:
            known = set(book.debtors_named(name))
        fits = sorted(d for d in known if self._fits(d, payment.amount))
        if len(fits) == 1:
            if self._namesakes(fits[0]):
                return self._unmatched(payment, Unmatched.AMBIGUOUS, NAMESAKES)
            return self._by_amount(payment, Method.AMOUNT_DEBTOR, fits[0], CONFIDENCE[Method.AMOUNT_DEBTOR])
        if len(fits) > 1:
            return self._unmatched(payment, Unmatched.AMBIGUOUS, f"{len(fits)} debtors of that name owe that amount")
        if not name:
            return self._unmatched(payment, Unmatched.NO_CANDIDATE, "no reference, account or name to go on")
        # a slip keeps the first or the last two kana: compare only with those names, owing that amount
        candidates = book.similar_owing(name, payment.amount)
        best, best_score, runner_up = None, 0.0, 0.0
        plain = seion(name)
        for debtor in sorted(candidates):
            other = book.debtor_names.get(debtor, "")
            # a lost dakuten (ｽｽｷ for ｽｽﾞｷ) is the commonest slip: score the plain-kana forms too
            score = max(fuzz.ratio(name, other), fuzz.ratio(plain, seion(other)) - DAKUTEN_PENALTY)
            if score > best_score:
                best, best_score, runner_up = debtor, score, best_score
            elif score > runner_up:
                runner_up = score
        if best is not None and best_score >= self.name_threshold:
            if best_score - runner_up < NAME_MARGIN:  # money never goes to a coin toss between two names
                return self._unmatched(
                    payment,
                    Unmatched.AMBIGUOUS,
                    f"two debtors owing that amount have names this close ({best_score:.0f} / {runner_up:.0f})",
                )
            if self._namesakes(best):
                return self._unmatched(payment, Unmatched.AMBIGUOUS, NAMESAKES)
            confidence = round(CONFIDENCE[Method.NAME_AMOUNT] * best_score / 100, 3)
            return self._by_amount(payment, Method.NAME_AMOUNT, best, confidence)
        if known:
            return self._unmatched(payment, Unmatched.AMOUNT_MISMATCH, "the payer is known but owes no such amount")
        if best is not None:
            return self._unmatched(
                payment, Unmatched.BELOW_THRESHOLD, f"closest name scores {best_score:.0f} < {self.name_threshold:.0f}"
            )
        return self._unmatched(payment, Unmatched.NO_CANDIDATE, "nobody with a similar name owes that amount")

    def _namesakes(self, debtor_id: str) -> bool:
        """Another debtor with open receivables has exactly this debtor's name (同姓同名): the
        amount alone must not decide which of them paid (one may be paying part of theirs)."""
        book = self.book
        name = book.debtor_names.get(debtor_id)
        return bool(name) and any(d != debtor_id and book.owed_by(d) for d in book.debtors_named(name or ""))

    def _fits(self, debtor_id: str, amount: int) -> bool:
        return self.book.owes(debtor_id, amount)

    def _by_amount(self, payment: IncomingPayment, method: Method, debtor_id: str, confidence: float) -> Match:
        """The debtor owes exactly this: one receivable of that balance (oldest), else all of them."""
        exact = [e for e in self.book.owed_by(debtor_id) if e.balance == payment.amount]
        first = exact[:1] if exact else []
        return self._settle(payment, method, debtor_id, first, confidence)

    def _settle(
        self,
        payment: IncomingPayment,
        method: Method,
        debtor_id: str,
        first: Iterable[Entry],
        confidence: float | None = None,
    ) -> Match:
        allocations, credit = self.book.allocate(debtor_id, payment.amount, first)
        return Match(
            payment.payment_id,
            payment.amount,
            method,
            CONFIDENCE[method] if confidence is None else confidence,
            debtor_id,
            allocations,
            credit,
        )

    def _unmatched(self, payment: IncomingPayment, reason: Unmatched, detail: str) -> Match:
        return Match(payment.payment_id, payment.amount, None, reason=reason.value, detail=detail)

    def manual(self, payment: IncomingPayment, receivable_id: str) -> Match:
        """An operator says which receivable: it comes first, then the debtor's others, then credit."""
        entry = self.book.entries.get(receivable_id)
        if entry is None or not entry.payable:
            raise LookupError(f"receivable {receivable_id!r} cannot take payments")
        return self._settle(payment, Method.MANUAL, entry.debtor_id, [entry])


# --- a whole run, offline --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reversal:
    """A cancellation (取消): it gives back exactly what the payment it names took, once."""

    payment_id: str
    cancels: str
    amount: int
    allocations: tuple[Allocation, ...] = ()
    reason: str | None = None  # set when nothing was reversed (unknown payment, already reversed)

    @property
    def done(self) -> bool:
        return self.reason is None


@dataclass
class Reconciliation:
    """Payments in order through one book (``saiken match``, tests): a payment seen twice is
    matched once, a cancellation reverses its payment once."""

    matcher: Matcher
    results: dict[str, Match] = field(default_factory=dict)
    reversals: dict[str, Reversal] = field(default_factory=dict)  # cancelled payment id -> its reversal

    def take(self, payment: IncomingPayment) -> Match | Reversal:
        if payment.cancels is not None:
            return self.cancel(payment)
        if payment.payment_id in self.results:  # delivered twice
            return self.results[payment.payment_id]
        match = self.matcher.match(payment)
        if match.matched:
            self.matcher.book.commit(match)
        self.results[payment.payment_id] = match
        return match

    def cancel(self, payment: IncomingPayment) -> Reversal:
        target = payment.cancels or ""
        original = self.results.get(target)
        if original is None:
            return Reversal(payment.payment_id, target, payment.amount, reason=Unmatched.UNKNOWN_ORIGINAL.value)
        if target in self.reversals:
            return Reversal(payment.payment_id, target, payment.amount, reason="already_reversed")
        self.matcher.book.revert(original.allocations)
        reversal = Reversal(payment.payment_id, target, original.amount, original.allocations)
        self.reversals[target] = reversal
        return reversal


# --- what is kept ----------------------------------------------------------------------


_INCOMING_FIELDS: Final = tuple(f.name for f in dataclass_fields(IncomingPayment))


class PaymentState(StrEnum):
    BOOKING = "booking"  # matched, its receivables being written (a retry finishes it)
    APPLIED = "applied"  # matched: its allocations (and any credit) are booked
    UNMATCHED = "unmatched"  # waiting for an operator (the unmatched queue)
    REVERSED = "reversed"  # a cancellation gave its money back
    CANCELLATION = "cancellation"  # a record that reversed another payment


class PaymentRecord(BaseModel):
    """A payment as stored: what came in, and what was done with it."""

    creditor_id: str
    payment_id: str
    paid_on: date
    amount: int = PydanticField(gt=0)
    payer_name_kana: str | None = None
    virtual_account: str | None = None
    reference: str | None = None
    receivable_id: str | None = None
    payer_code: str | None = None
    cancels: str | None = None
    state: PaymentState
    method: Method | None = None
    confidence: float | None = None
    debtor_id: str | None = None
    allocations: list[AllocationView] = PydanticField(default_factory=list)
    credit: int = 0
    reason: str | None = None
    detail: str | None = None
    reversed_by: str | None = None
    source: str | None = None
    received_at: datetime | None = None
    version: int | None = None

    def incoming(self) -> IncomingPayment:
        return IncomingPayment(**{name: getattr(self, name) for name in _INCOMING_FIELDS})

    @classmethod
    def of(
        cls, creditor_id: str, payment: IncomingPayment, match: Match, *, source: str | None, at: datetime
    ) -> PaymentRecord:
        return cls(
            creditor_id=creditor_id,
            **{name: getattr(payment, name) for name in _INCOMING_FIELDS},
            source=source,
            received_at=at,
            state=PaymentState.APPLIED if match.matched else PaymentState.UNMATCHED,
        ).with_match(match)

    def with_match(self, match: Match) -> PaymentRecord:
        return self.model_copy(
            update={
                "state": PaymentState.APPLIED if match.matched else PaymentState.UNMATCHED,
                "method": match.method,
                "confidence": match.confidence if match.matched else None,
                "debtor_id": match.debtor_id,
                "allocations": [
                    AllocationView(receivable_id=a.receivable_id, amount=a.amount, balance_after=a.balance_after)
                    for a in match.allocations
                ],
                "credit": match.credit,
                "reason": match.reason,
                "detail": match.detail,
            }
        )


class AllocationView(BaseModel):
    receivable_id: str
    amount: int
    balance_after: int | None = None


PaymentRecord.model_rebuild()


def status_after_payment(status: ReceivableStatus, balance: int) -> ReceivableStatus:
    """Paid when nothing is left. Otherwise an open receivable is partly paid and dunning goes on
    for the rest; a promised, disputed, held or written-off one keeps its status."""
    if balance == 0:
        return ReceivableStatus.PAID
    if status in (ReceivableStatus.OPEN, ReceivableStatus.PARTIALLY_PAID, ReceivableStatus.PAID):
        return ReceivableStatus.PARTIALLY_PAID
    return status


def status_after_reversal(status: ReceivableStatus, balance: int, amount: int) -> ReceivableStatus:
    """A cancelled payment puts the money back: open again (or partly paid if other payments remain)."""
    if status in (ReceivableStatus.PAID, ReceivableStatus.PARTIALLY_PAID):
        return ReceivableStatus.OPEN if balance >= amount else ReceivableStatus.PARTIALLY_PAID
    return status
