"""The per-row error report written back to the creditor (CSV, safe to open in Excel)."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Sequence
from typing import IO, Any, Final

from saiken.intake.normalize import escape_csv_cell
from saiken.intake.reader import RowError

REPORT_HEADER: Final = ("row", "line", "field", "code", "message", "value")


def csv_report(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> IO[bytes]:
    """A small report (results, write-offs, limitation) as UTF-8-with-BOM CSV bytes, CRLF lines.
    Callers pass text a creditor typed through escape_csv_cell."""
    text = io.StringIO()
    text.write(codecs.BOM_UTF8.decode("utf-8"))
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return io.BytesIO(text.getvalue().encode("utf-8"))


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
