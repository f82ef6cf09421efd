"""Regenerate samples/ (seeded, so the files are the same every time)."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from saiken.samples import GLOBEX_MAPPING, HEADERS_CUSTOM, HEADERS_JA, generate_rows, write_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
TODAY = date(2026, 12, 4)
ACME_ROWS = 600
ACME_DEBTORS = ACME_ROWS * 4 // 5  # the update file must draw the same debtors

MAPPING = GLOBEX_MAPPING


def write_update(path: Path) -> None:
    """A later TSV from the same creditor: the first 60 receivables again, every 6th with a new amount."""
    rows = list(generate_rows(60, seed=11, prefix="A", today=TODAY, debtors=ACME_DEBTORS))
    for i, row in enumerate(rows):
        if i % 6 == 5:
            row[8] = "9,999円"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\r\n")
    writer.writerow(HEADERS_JA)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def main() -> None:
    write_file(
        SAMPLES / "acme" / "receivables_2026-12_sjis.csv",
        600,
        encoding="cp932",
        seed=11,
        prefix="A",
        bad_every=23,
        today=TODAY,
    )
    write_update(SAMPLES / "acme" / "receivables_2026-12_update.tsv")
    write_file(
        SAMPLES / "globex" / "請求データ_2026-12.csv",
        450,
        encoding="utf-8-sig",
        seed=23,
        prefix="G",
        bad_every=31,
        today=TODAY,
        headers=HEADERS_CUSTOM,
    )
    (SAMPLES / "globex" / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    print(f"wrote samples under {SAMPLES}")


if __name__ == "__main__":
    main()
