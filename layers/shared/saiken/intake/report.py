"""The per-row error report written back to the creditor (CSV, safe to open in Excel)."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable
from typing import IO, Final

from saiken.intake.normalize import escape_csv_cell
from saiken.intake.reader import RowError

REPORT_HEADER: Final = ("row", "line", "field", "code", "message", "value")


class ErrorReportWriter:
    """Streams RowErrors as UTF-8-with-BOM CSV (Excel in Japan reads it without mojibake).

    Every cell goes through escape_csv_cell, so a rejected value such as =HYPERLINK(...)
    cannot become a live formula in the creditor's spreadsheet.
    """

    def __init__(self, out: IO[str]) -> None:
        out.write(codecs.BOM_UTF8.decode("utf-8"))
        self._writer = csv.writer(out, lineterminator="\r\n")
        self._writer.writerow(REPORT_HEADER)
        self.count = 0

    def write(self, errors: Iterable[RowError]) -> None:
        for e in errors:
            self._writer.writerow(
                [escape_csv_cell(v) for v in (e.row, e.line, e.field or "", e.code, e.message, e.value or "")]
            )
            self.count += 1
