"""Read a receivables file row by row: every record ends up accepted or rejected with reasons."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Final

from saiken.intake.decode import AutoDecoder, UndecodableError, iter_lines
from saiken.intake.fields import (
    CANONICAL_FIELDS,
    HEADER_ALIASES,
    REQUIRED_FIELDS,
    ReceivableRow,
    validate_row,
)
from saiken.intake.mapping import ColumnMapping
from saiken.intake.normalize import clean_text, nfkc

csv.field_size_limit(1 << 20)


@dataclass(slots=True)
class RowError:
    row: int
    line: int
    field: str | None
    code: str
    message: str
    value: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "line": self.line,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


@dataclass(slots=True)
class AcceptedRow:
    row: int
    line: int
    data: ReceivableRow


@dataclass(slots=True)
class RejectedRow:
    row: int
    line: int
    errors: tuple[RowError, ...]


class FileError(Exception):
    """The file as a whole cannot be read: nothing in it was accepted."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_dict(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message}}


def _header_key(text: str) -> str:
    return nfkc(text).lstrip("\ufeff").strip().strip('"').lower()


_ALIAS_INDEX: Final[dict[str, str]] = {
    _header_key(alias): name for name, aliases in HEADER_ALIASES.items() for alias in (name, *aliases)
}


def map_headers(headers: list[str], mapping: ColumnMapping | None) -> dict[str, int]:
    """canonical field -> column index. Raises FileError for missing or doubly mapped columns."""
    custom = {_header_key(k): v for k, v in (mapping.columns if mapping else {}).items()}
    defaults = mapping.defaults if mapping else {}
    by_field: dict[str, int] = {}
    for index, header in enumerate(headers):
        key = _header_key(header)
        name = custom.get(key) or _ALIAS_INDEX.get(key)
        if name is None:
            continue
        if name in by_field:
            first = headers[by_field[name]]
            raise FileError(
                "duplicate_column", f"columns {first!r} and {header!r} both map to field {name!r}: keep one"
            )
        by_field[name] = index
    missing = sorted(REQUIRED_FIELDS - by_field.keys() - defaults.keys(), key=CANONICAL_FIELDS.index)
    if missing:
        accepted = {f: [f, *HEADER_ALIASES[f]] for f in missing}
        raise FileError(
            "missing_column",
            "required column(s) missing: "
            + "; ".join(f"{f} (accepted headers: {', '.join(a)})" for f, a in accepted.items()),
        )
    return by_field


def _getter(indexes: tuple[int, ...]) -> Callable[[list[str]], tuple[str, ...]]:
    """The cells of a record at these indexes, as a tuple, in one C call."""
    if len(indexes) == 1:
        only = indexes[0]
        return lambda record: (record[only],)
    return itemgetter(*indexes)


def delimiter_for(filename: str) -> str:
    return "\t" if filename.lower().endswith(".tsv") else ","


@dataclass
class ReceivableFileReader:
    """Iterate a receivables file as AcceptedRow / RejectedRow; counts are kept as it goes.

    ``chunks`` is any iterable of bytes (a local file, an S3 streaming body); nothing is
    loaded whole. FileError is raised when the file cannot be read at all (bad encoding,
    missing required columns); rows already yielded stay yielded.
    """

    chunks: Iterable[bytes]
    filename: str = "upload.csv"
    mapping: ColumnMapping | None = None
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    _decoder: AutoDecoder = field(init=False)
    _seen: set[str] = field(init=False, default_factory=set)
    _picker: tuple[tuple[str, ...], Callable[[list[str]], tuple[str, ...]]] = field(init=False)

    def __post_init__(self) -> None:
        self._decoder = AutoDecoder(self.mapping.encoding if self.mapping else None)

    @property
    def encoding(self) -> str | None:
        return self._decoder.encoding

    def __iter__(self) -> Iterator[AcceptedRow | RejectedRow]:
        lines = iter_lines(self.chunks, self._decoder)
        reader = csv.reader(lines, delimiter=delimiter_for(self.filename))
        try:
            yield from self._records(reader)
        except UndecodableError as exc:
            raise FileError("unreadable", str(exc)) from exc
        except csv.Error as exc:
            raise FileError("unreadable", f"line {reader.line_num}: not CSV: {exc}") from exc

    def _records(self, reader: Any) -> Iterator[AcceptedRow | RejectedRow]:
        last_line = 0
        header: list[str] | None = None
        columns: dict[str, int] = {}
        defaults: dict[str, str] = dict(self.mapping.defaults) if self.mapping else {}
        width = 0
        for record in reader:
            start = last_line + 1
            last_line = reader.line_num
            if not "".join(record).strip():
                continue  # blank line or an Excel row of empty cells
            if header is None:
                header = record
                columns = map_headers(record, self.mapping)
                width = len(record)
                self._picker = (tuple(columns), _getter(tuple(columns.values())))
                continue
            self.rows += 1
            result = self._row(self.rows, start, record, columns, defaults, width)
            if isinstance(result, AcceptedRow):
                self.accepted += 1
            else:
                self.rejected += 1
            yield result
        if header is None:
            raise FileError("missing_column", "the file is empty: no header row")

    def _row(
        self,
        row: int,
        line: int,
        record: list[str],
        columns: dict[str, int],
        defaults: dict[str, str],
        width: int,
    ) -> AcceptedRow | RejectedRow:
        names, pick = self._picker
        size = len(record)
        if size >= width:
            values = dict(zip(names, pick(record), strict=True))
        else:
            values = {name: record[index] for name, index in columns.items() if index < size}
        if defaults:
            values = {**defaults, **{k: v for k, v in values.items() if v}}
        errors: list[RowError] = []
        if size > width and any(cell.strip() for cell in record[width:]):
            errors.append(
                RowError(
                    row,
                    line,
                    None,
                    "malformed_row",
                    f"{size} cells but the header has {width}: check quoting",
                )
            )
        data, issues = validate_row(values)
        for issue in issues:
            value = values.get(issue.field) if issue.field else None
            errors.append(RowError(row, line, issue.field, issue.code, issue.message, value))
        receivable_id = data.receivable_id if data else clean_text(values.get("receivable_id"))
        if receivable_id:
            if receivable_id in self._seen:
                errors.append(
                    RowError(
                        row,
                        line,
                        "receivable_id",
                        "duplicate_receivable",
                        f"receivable {receivable_id!r} already appears earlier in this file",
                        receivable_id,
                    )
                )
            self._seen.add(receivable_id)
        if errors or data is None:
            return RejectedRow(row, line, tuple(errors))
        return AcceptedRow(row, line, data)
