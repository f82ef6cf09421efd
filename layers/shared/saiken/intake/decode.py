"""Streaming text decoding with automatic UTF-8 / UTF-8-BOM / CP932 detection.

The decision is made on the first chunk that holds a non-ASCII byte (ASCII is the same in
all three), so a file is never read whole and a long ASCII prefix does not fool it.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterable, Iterator
from typing import Final

BOM: Final = codecs.BOM_UTF8
CHUNK_SIZE: Final = 1 << 16


class UndecodableError(ValueError):
    """The bytes are neither UTF-8 nor CP932 (or the encoding changes inside the file)."""


class AutoDecoder:
    def __init__(self, encoding: str | None = None) -> None:
        self.encoding: str | None = encoding
        self._decoder: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder(encoding)() if encoding else None
        self._head = b""
        self._offset = 0
        self._failure: UndecodableError | None = None

    def decode(self, data: bytes, final: bool = False) -> str:
        """Decoded text; at the first bad byte, the text before it, then UndecodableError on the next call."""
        if self._failure is not None:
            raise self._failure
        if self._decoder is None:
            data = self._head + data
            self._head = b""
            if not final and len(data) < len(BOM) and BOM.startswith(data):
                self._head = data  # might be the start of a BOM: wait for more
                return ""
            if data.startswith(BOM):
                self._choose("utf-8-sig")
            elif data.isascii():
                self._offset += len(data)
                if final:
                    self.encoding = self.encoding or "utf-8"
                return data.decode("ascii")
            else:
                self._choose(self._guess(data, final))
        assert self._decoder is not None
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            self._failure = UndecodableError(
                f"byte {self._offset + exc.start} is not valid {self.encoding}: the file mixes encodings or is not text"
            )
            good = data[: exc.start].decode(self.encoding or "utf-8", errors="ignore")
            if final:
                raise self._failure from exc
            return good
        self._offset += len(data)
        return text

    def _choose(self, encoding: str) -> None:
        self.encoding = encoding
        self._decoder = codecs.getincrementaldecoder(encoding)()

    @staticmethod
    def _guess(data: bytes, final: bool) -> str:
        """UTF-8 if the bytes decode as UTF-8, else CP932; if neither decodes the whole chunk,
        the one that gets further (rows before the bad bytes are still read)."""
        reach: dict[str, int] = {}
        for encoding in ("utf-8", "cp932"):
            try:
                codecs.getincrementaldecoder(encoding)().decode(data, final)
            except UnicodeDecodeError as exc:
                reach[encoding] = exc.start
                continue
            return encoding
        best = max(reach, key=lambda e: reach[e])
        if reach[best] == 0 or data[: reach[best]].isascii():
            raise UndecodableError("the file is neither UTF-8 nor Shift_JIS (CP932) text")
        return best


def iter_lines(chunks: Iterable[bytes], decoder: AutoDecoder) -> Iterator[str]:
    """Yield text lines with their endings, split exactly as ``open(..., newline="")`` splits them
    (what the csv module expects: quoted fields may span lines)."""
    pending = ""
    for chunk in chunks:
        text = pending + decoder.decode(chunk)
        if "\x00" in text:
            raise UndecodableError("the file contains NUL bytes: it is binary, not CSV text")
        if text.endswith("\r"):  # maybe the first half of \r\n: wait for the next chunk
            text, pending = text[:-1], "\r"
        else:
            pending = ""
        lines = io.StringIO(text, newline="").readlines()
        if lines and not lines[-1].endswith(("\n", "\r")):
            pending = lines.pop() + pending
        yield from lines
    tail = pending + decoder.decode(b"", final=True)
    if tail:
        yield from io.StringIO(tail, newline="").readlines()


def iter_chunks(stream: object, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    read = getattr(stream, "read")  # noqa: B009 - any binary file-like object (file, S3 body)
    while chunk := read(size):
        yield chunk
