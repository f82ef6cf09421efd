"""The demo's bank side: debtors' payments become the files creditors receive.

acme gets a Zengin 振込入金通知 (種別 01) file twice a day: one group for its collection
account (payers typed their name, sometimes wrongly, sometimes with the invoice number in EDI)
and one group per virtual account paid into. globex gets a CSV of the same payments from its
payment service. Every payment remembers the receivable its payer meant, so the summary can
say how many the matcher placed right.
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from saiken.payments.zengin import Transfer, to_zengin_kana, transfer_notice

COLLECTION_ACCOUNT = "1111111"  # acme's own account: payments without a virtual account land here
# how payers pay (shares): into their virtual account, with the invoice number, by name, by a
# mistyped name, or from someone else's account (a relative: only an operator can place it)
HOW = (("virtual_account", 0.55), ("reference", 0.18), ("name", 0.17), ("typo", 0.07), ("stranger", 0.03))
STRANGERS = ("ﾀﾅｶ ｹﾝｼﾞ", "ｺﾊﾞﾔｼ ﾐﾕｷ", "ﾜﾀﾅﾍﾞ ｻﾄｼ", "ｲﾄｳ ﾏｻﾙ")


@dataclass
class BankPayment:
    at: datetime
    creditor_id: str
    receivable_id: str  # what the payer meant to pay
    debtor_id: str
    amount: int
    how: str
    payer_name: str
    virtual_account: str | None
    inquiry: int
    cancel: bool = False

    @property
    def payment_id(self) -> str:
        """The id the reconcile path will give it (Zengin: bank-branch-account-date-照会番号)."""
        if self.creditor_id == "acme":
            account = (self.virtual_account or COLLECTION_ACCOUNT).lstrip("0").rjust(7, "0")
            return f"0001-001-{account}-{self.at:%Y%m%d}-{self.inquiry:06d}" + ("-cancel" if self.cancel else "")
        return f"GX-{self.inquiry:07d}" + ("-cancel" if self.cancel else "")


def typo(kana: str, rng: random.Random) -> str:
    """One slip of the kind payers make: a dakuten lost, a letter dropped or doubled."""
    text = to_zengin_kana(kana)
    if "ﾞ" in text and rng.random() < 0.5:
        i = text.index("ﾞ")
        return text[:i] + text[i + 1 :]
    letters = [i for i, ch in enumerate(text) if ch not in " ﾞﾟ"]
    i = rng.choice(letters[1:] or letters)
    return text[:i] + text[i + 1 :] if rng.random() < 0.5 else text[: i + 1] + text[i:]


@dataclass
class PaymentFeed:
    rng: random.Random
    pending: list[BankPayment] = field(default_factory=list)
    delivered: list[BankPayment] = field(default_factory=list)
    _inquiry: int = 0

    def pay(
        self,
        at: datetime,
        creditor_id: str,
        receivable_id: str,
        debtor_id: str,
        kana: str | None,
        account: str | None,
        amount: int,
    ) -> BankPayment:
        roll, how = self.rng.random(), "name"
        for name, share in HOW:
            if roll < share:
                how = name
                break
            roll -= share
        if how == "virtual_account" and not account:
            how = "name"
        payer = {
            "virtual_account": to_zengin_kana(kana or ""),
            "reference": to_zengin_kana(kana or ""),
            "name": to_zengin_kana(kana or ""),
            "typo": typo(kana or "ｱ", self.rng),
            "stranger": self.rng.choice(STRANGERS),
        }[how]
        self._inquiry += 1
        payment = BankPayment(
            at,
            creditor_id,
            receivable_id,
            debtor_id,
            amount,
            how,
            payer,
            account if how == "virtual_account" else None,
            self._inquiry,
        )
        self.pending.append(payment)
        return payment

    def cancel(self, original: BankPayment) -> None:
        """The bank takes a payment back (取消): same 照会番号 and 勘定日, 取消区分 1."""
        self.pending.append(
            BankPayment(
                original.at,
                original.creditor_id,
                original.receivable_id,
                original.debtor_id,
                original.amount,
                original.how,
                original.payer_name,
                original.virtual_account,
                original.inquiry,
                cancel=True,
            )
        )

    def due(self, now: datetime) -> dict[str, list[BankPayment]]:
        ready = [p for p in self.pending if p.at <= now]
        self.pending = [p for p in self.pending if p.at > now]
        self.delivered.extend(ready)
        out: dict[str, list[BankPayment]] = defaultdict(list)
        for p in ready:
            out[p.creditor_id].append(p)
        return out


def zengin_file(payments: list[BankPayment], created: date) -> bytes:
    groups: dict[str, list[Transfer]] = defaultdict(list)
    for p in sorted(payments, key=lambda p: (p.at, p.inquiry, p.cancel)):
        account = (p.virtual_account or COLLECTION_ACCOUNT).lstrip("0")
        groups[account].append(
            Transfer(
                p.at.date(),
                p.amount,
                p.payer_name,
                inquiry=p.inquiry,
                edi=p.receivable_id if p.how == "reference" else None,
                cancel=p.cancel,
            )
        )
    return transfer_notice(dict(groups), created=created, bank_name="ｻｲｹﾝｷﾞﾝｺｳ", account_name="ｱｸﾒｶ-ﾄﾞ(ｶ")


def csv_file(payments: list[BankPayment]) -> bytes:
    """globex's payment service export: Japanese headers, UTF-8 with BOM."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(["入金ID", "入金日", "入金額", "振込依頼人名", "口座番号", "参照番号", "取消対象入金ID"])
    for p in sorted(payments, key=lambda p: (p.at, p.inquiry, p.cancel)):
        original = f"GX-{p.inquiry:07d}"
        writer.writerow(
            [
                p.payment_id,
                f"{p.at:%Y/%m/%d}",
                f"{p.amount:,}",
                p.payer_name,
                p.virtual_account or "",
                p.receivable_id if p.how == "reference" else "",
                original if p.cancel else "",
            ]
        )
    return text.getvalue().encode("utf-8-sig")
