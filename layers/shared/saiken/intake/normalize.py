"""Normalisers for the messy values of Japanese spreadsheet exports.

Each takes what a creditor typed and returns the canonical value, or raises
``invalid(code, message)`` (a PydanticCustomError): the code is the one reported to the user.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

import jaconv
import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic_core import PydanticCustomError

MAX_AMOUNT = 10**12  # one trillion yen: anything larger is a typo, not a receivable


def invalid(code: str, message: str) -> PydanticCustomError:
    """A validation error whose type is the user-facing code (``invalid_amount``, ...)."""
    return PydanticCustomError(code, "{detail}", {"detail": message})


def nfkc(value: str) -> str:
    """NFKC folds full-width digits/letters and half-width kana; collapse inner whitespace."""
    text = value if value.isascii() else unicodedata.normalize("NFKC", value)
    if "  " in text or "\t" in text or "\n" in text or "\r" in text:
        return " ".join(text.split())
    return text.strip()


def clean_text(value: object) -> str | None:
    """nfkc() for optional text; blank -> None. Inlined: it runs for most cells of every row."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = " ".join(text.split()) if "  " in text or "\t" in text or "\n" in text or "\r" in text else text.strip()
    return text or None


def clean_kana(value: object) -> str | None:
    """Kana names are stored as full-width katakana (NFKC widens half-width kana)."""
    if value.__class__ is str:
        return _kana_text(value)
    text = clean_text(value)
    return None if text is None else jaconv.hira2kata(text)


@lru_cache(maxsize=8192)  # family and given names repeat across debtors
def _kana_text(value: str) -> str | None:
    text = clean_text(value)
    return None if text is None else jaconv.hira2kata(text)


_AMOUNT_STRIP = str.maketrans("", "", ",¥\\円 ")
_AMOUNT_RE = re.compile(r"(\d+)(?:\.0+)?")


def parse_amount(value: object) -> int:
    """A positive whole number of yen: 12000, 12,000, ¥12,000, ￥12,000, 12000円, １２，０００, 12000.00."""
    if isinstance(value, bool):
        raise invalid("invalid_amount", "amount must be a number of yen")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise invalid("invalid_amount", "amount must be a whole number of yen")
        amount = int(value)
    else:
        amount = _amount_text(value if value.__class__ is str else str(value))
    if amount <= 0:
        raise invalid("invalid_amount", "amount must be greater than zero")
    if amount >= MAX_AMOUNT:
        raise invalid("invalid_amount", "amount is implausibly large")
    return amount


@lru_cache(maxsize=4096)  # a billing file repeats a handful of amounts (and of due dates)
def _amount_text(value: str) -> int:
    match = _AMOUNT_RE.fullmatch(nfkc(value).translate(_AMOUNT_STRIP))
    if match is None:
        raise invalid("invalid_amount", f"amount must be a positive whole number of yen, got {value!r}")
    return int(match.group(1))


# Era name -> first day. Abbreviations (R, H, S, T, M) as printed by business systems.
_ERAS: dict[str, date] = {
    "令和": date(2019, 5, 1),
    "平成": date(1989, 1, 8),
    "昭和": date(1926, 12, 25),
    "大正": date(1912, 7, 30),
    "明治": date(1868, 1, 25),
}
_ERA_ABBREV = {"R": "令和", "H": "平成", "S": "昭和", "T": "大正", "M": "明治"}

_ISO_RE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_KANJI_RE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?")
_WAREKI_RE = re.compile(
    r"(令和|平成|昭和|大正|明治|[RHSTM])\s*(元|\d{1,2})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?"
)


def parse_date(value: object) -> date:
    """ISO, slashes, compact, 2026年12月10日 and 和暦 (令和8年12月10日, 令和元年5月1日, R8.12.10).

    Year first only: 12/10/2026 is ambiguous and rejected. An era year past the era's end
    (平成32年) is accepted as the continued count, as systems not updated in 2019 print it.
    """
    if isinstance(value, date):
        return value
    return _date_text(value if value.__class__ is str else str(value))


@lru_cache(maxsize=4096)
def _date_text(value: str) -> date:
    text = nfkc(value).upper()
    try:
        if m := _ISO_RE.fullmatch(text) or _COMPACT_RE.fullmatch(text) or _KANJI_RE.fullmatch(text):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _WAREKI_RE.fullmatch(text):
            era = _ERA_ABBREV.get(m.group(1), m.group(1))
            start = _ERAS[era]
            year_in_era = 1 if m.group(2) == "元" else int(m.group(2))
            if year_in_era < 1:
                raise ValueError("era year starts at 1")
            result = date(start.year + year_in_era - 1, int(m.group(3)), int(m.group(4)))
            if result < start:
                raise invalid("invalid_date", f"{value!r} is before the {era} era began")
            return result
    except ValueError as exc:
        raise invalid("invalid_date", f"{value!r} is not a real calendar date") from exc
    raise invalid("invalid_date", f"{value!r} is not a date (use YYYY-MM-DD, YYYY/M/D, YYYYMMDD or 和暦)")


_PHONE_STRIP = str.maketrans("", "", "-() .ー−‐‒–—―")


JP_PREFIX_DIGITS = 6


@lru_cache(maxsize=8192)
def _valid_jp_shape(prefix: str, length: int) -> bool:
    """phonenumbers' JP patterns fix at most the first six national digits and leave the rest
    free (``\\d{n}``), so validity depends only on (prefix, length): one library call per
    shape instead of one per number. tests/unit/test_normalize.py proves the two agree."""
    padded = prefix + "0" * (length - len(prefix))
    return bool(phonenumbers.is_valid_number(phonenumbers.PhoneNumber(country_code=81, national_number=int(padded))))


@lru_cache(maxsize=65536)
def normalize_phone(value: str) -> str:
    """Any valid Japanese number (hyphens, spaces, full-width, +81) as E.164, e.g. +819012345678."""
    text = value.translate(_PHONE_STRIP)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_PHONE_STRIP)
    national: str | None = None
    if text.startswith("+81"):
        national = text[3:]
        if national.startswith("0"):
            national = national[1:]
    elif text.startswith("0") and not text.startswith(("00", "010")):  # 010: Japan's international prefix
        national = text[1:]
    if national is not None and national.isdigit() and 9 <= len(national) <= 10 and national[0] != "0":
        if _valid_jp_shape(national[:JP_PREFIX_DIGITS], len(national)):
            return "+81" + national
        raise invalid("invalid_phone", f"{value!r} is not a valid Japanese phone number")
    try:
        number = phonenumbers.parse(text, "JP")
    except phonenumbers.NumberParseException as exc:
        raise invalid("invalid_phone", f"{value!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise invalid("invalid_phone", f"{value!r} is not a valid Japanese phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


# RFC 5322 dot-atom local part and LDH domain: what almost every address looks like.
_EMAIL_FAST_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
# Japanese carriers issued addresses with consecutive or trailing dots before 2009; they are
# still delivered, so they are accepted for these domains only.
_CARRIER_LEGACY_RE = re.compile(r"[A-Za-z0-9._+-]+@(?:docomo\.ne\.jp|ezweb\.ne\.jp)")


@lru_cache(maxsize=65536)
def normalize_email(value: str) -> str:
    text = nfkc(value)
    if len(text) <= 254 and (_EMAIL_FAST_RE.fullmatch(text) or _CARRIER_LEGACY_RE.fullmatch(text)):
        local, _, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}"
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise invalid("invalid_email", f"{value!r} is not an email address: {exc}") from exc
    return str(result.normalized)


_POSTAL_RE = re.compile(r"〒?(\d{3})-?(\d{4})")


def normalize_postal_code(value: str) -> str:
    """123-4567 when it looks like a postal code; otherwise the cleaned text (it is optional)."""
    text = nfkc(value).replace("ー", "-").replace("−", "-")
    match = _POSTAL_RE.fullmatch(text)
    return f"{match.group(1)}-{match.group(2)}" if match else text


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_csv_cell(value: object) -> str:
    """Neutralise spreadsheet formulas (CSV injection) when writing any value back to a CSV."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text
