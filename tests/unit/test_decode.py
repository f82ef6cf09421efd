"""Encoding detection on streams: UTF-8, UTF-8 with BOM, CP932, chunk boundaries anywhere."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saiken.intake.decode import AutoDecoder, UndecodableError, iter_lines

TEXT = "債務者ID,氏名\r\nD1,山田 太郎\r\nD2,ｻﾄｳ ﾊﾅｺ\r\n"


def split(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, start = [], 0
    for size in sizes:
        chunks.append(data[start : start + size])
        start += size
    chunks.append(data[start:])
    return [c for c in chunks if c]


@pytest.mark.parametrize(("encoding", "expected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp932", "cp932")])
def test_detects_the_encoding(encoding: str, expected: str) -> None:
    decoder = AutoDecoder()
    lines = list(iter_lines([TEXT.encode(encoding)], decoder))
    assert "".join(lines) == TEXT
    assert decoder.encoding == expected


@settings(max_examples=200)
@given(
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp932"]),
    sizes=st.lists(st.integers(min_value=1, max_value=7), max_size=20),
)
def test_any_chunking_gives_the_same_lines(encoding: str, sizes: list[int]) -> None:
    """A multi-byte character or the BOM split across chunks must not change a thing."""
    decoder = AutoDecoder()
    assert "".join(iter_lines(split(TEXT.encode(encoding), sizes), decoder)) == TEXT
    assert decoder.encoding == encoding


def test_a_long_ascii_prefix_does_not_hide_cp932_later() -> None:
    head = ("D0,ascii only row\r\n" * 5000).encode()
    data = head + "D9,日本語\r\n".encode("cp932")
    decoder = AutoDecoder()
    lines = list(iter_lines(split(data, [65536]), decoder))
    assert lines[-1] == "D9,日本語\r\n"
    assert decoder.encoding == "cp932"


def test_binary_is_unreadable() -> None:
    with pytest.raises(UndecodableError):
        list(iter_lines([b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xff\xfe\x80\x81"], AutoDecoder()))


def test_nul_bytes_are_unreadable() -> None:
    with pytest.raises(UndecodableError, match="NUL"):
        list(iter_lines([b"a,b\r\n\x00\x00\r\n"], AutoDecoder()))
