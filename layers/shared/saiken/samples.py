"""Seeded generator of realistic Japanese receivables files (sample data and benchmarks)."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

SURNAMES = [
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
]
GIVEN = [
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("翔太", "ショウタ"),
    ("美咲", "ミサキ"),
    ("健一", "ケンイチ"),
    ("陽菜", "ヒナ"),
    ("大輔", "ダイスケ"),
    ("さくら", "サクラ"),
    ("直樹", "ナオキ"),
    ("愛", "アイ"),
]
PLACES = [
    "東京都千代田区丸の内1-1-1",
    "大阪府大阪市北区梅田2-4-9",
    "千葉県千葉市美浜区中瀬1-5-1",
    "愛知県名古屋市中村区名駅4-7-1",
    "福岡県福岡市博多区博多駅前3-2-8",
    "北海道札幌市中央区北5条西2-5",
]
PRODUCTS = ["card", "loan", "subscription", "utility", "insurance"]
# The mapping for files with HEADERS_CUSTOM (samples/globex/mapping.yaml, the demo's globex).
GLOBEX_MAPPING = """\
# Column mapping for globex: its export uses its own headers.
columns:
  お客様コード: debtor_id
  ご契約者名: debtor_name
  ご契約者名(カナ): debtor_name_kana
  ご連絡先電話: phone
  ご連絡先メール: email
  〒: postal_code
  ご住所: address
  ご請求No: receivable_id
  ご請求額(税込): amount
  お支払期限: due_date
  サービス: product
  専用振込口座: virtual_account
  区分: segment
defaults:
  product: utility
"""
# A creditor whose export uses its own headers: read with a mapping file (samples/globex/mapping.yaml).
HEADERS_CUSTOM = [
    "お客様コード",
    "ご契約者名",
    "ご契約者名(カナ)",
    "ご連絡先電話",
    "ご連絡先メール",
    "〒",
    "ご住所",
    "ご請求No",
    "ご請求額(税込)",
    "お支払期限",
    "サービス",
    "専用振込口座",
    "区分",
]
HEADERS_JA = [
    "顧客番号",
    "氏名",
    "フリガナ",
    "携帯電話番号",
    "メールアドレス",
    "郵便番号",
    "住所",
    "請求番号",
    "請求金額",
    "支払期日",
    "商品区分",
    "バーチャル口座番号",
    "督促グループ",
]


def _wareki(d: date) -> str:
    return f"令和{d.year - 2018}年{d.month}月{d.day}日"


def generate_rows(
    count: int,
    *,
    seed: int = 7,
    today: date | None = None,
    prefix: str = "",
    bad_every: int = 0,
    debtors: int | None = None,
) -> Iterator[list[str]]:
    """Rows in the messy style of Excel exports. With bad_every=N, every Nth row is wrong."""
    rng = random.Random(seed)
    base = today or date(2026, 12, 4)
    debtor_count = debtors or max(1, count * 4 // 5)
    for i in range(1, count + 1):
        d = rng.randrange(debtor_count)
        srng = random.Random(f"{seed}-{prefix}-{d}")
        (sur, sur_k), (given, given_k) = srng.choice(SURNAMES), srng.choice(GIVEN)
        phone = f"090-{srng.randrange(1000, 9999)}-{srng.randrange(1000, 9999)}"
        if srng.random() < 0.3:
            phone = phone.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
        email = f"user{d}@example.co.jp" if srng.random() < 0.8 else ""
        due = base + timedelta(days=rng.randint(-20, 25))
        amount = rng.choice([3300, 5500, 12000, 29800, 48000, 150000, 8640])
        due_text = rng.choice([due.isoformat(), due.strftime("%Y/%m/%d"), _wareki(due), due.strftime("%Y%m%d")])
        amount_text = rng.choice([str(amount), f"{amount:,}", f"￥{amount:,}", f"{amount}円"])
        row = [
            f"{prefix}D{d:06d}",
            f"{sur} {given}",
            f"{sur_k} {given_k}",
            phone,
            email,
            f"{srng.randrange(100, 999)}-{srng.randrange(1000, 9999)}",
            srng.choice(PLACES),
            f"{prefix}R{i:07d}",
            amount_text,
            due_text,
            rng.choice(PRODUCTS),
            f"{9000000 + d:010d}",
            "A" if rng.random() < 0.5 else "B",
        ]
        if bad_every and i % bad_every == 0:
            kind = (i // bad_every) % 5
            if kind == 0:
                row[8] = "-500"
            elif kind == 1:
                row[9] = "2026-02-30"
            elif kind == 2:
                row[3], row[4] = "", ""
            elif kind == 3:
                row[3] = "12345"
            else:
                row[1] = '=HYPERLINK("http://evil")' if i % 2 else ""
                row[8] = "abc"
        yield row


def write_file(
    path: Path,
    count: int,
    *,
    encoding: str = "utf-8",
    seed: int = 7,
    prefix: str = "",
    bad_every: int = 0,
    today: date | None = None,
    headers: list[str] | None = None,
    delimiter: str = ",",
) -> Path:
    """Write a sample file the way Excel exports it (CRLF, quoted where needed)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", delimiter=delimiter)
    writer.writerow(headers or HEADERS_JA)
    writer.writerows(generate_rows(count, seed=seed, prefix=prefix, bad_every=bad_every, today=today))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path
