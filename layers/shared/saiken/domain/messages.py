"""Reminder messages: Jinja2 templates in Japanese, rendered per creditor/segment/channel/step.

Templates are looked up by name: the creditor's own (``config/{creditor}/templates/{name}.j2``
in the intake bucket, supplied by the caller as a mapping) first, then the ones shipped in
saiken/templates/. An email template's first line is the subject. Every message names the
creditor as its sender. IVR text is what the contact flow plays once the debtor has confirmed
who they are (the flow asks first: a debt is never read out to a third party).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import jinja2

from saiken.domain.models import Debtor, Receivable
from saiken.domain.planner import PlannedStep
from saiken.domain.rules import Channel, Sender

GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXT = frozenset("^{}\\[~]|€")
SMS_MAX_UCS2_CHARS = 670  # what Japanese handsets take (10 x 67)

_ERAS = ((date(2019, 5, 1), "令和"), (date(1989, 1, 8), "平成"), (date(1926, 12, 25), "昭和"))
_WEEKDAYS = "月火水木金土日"


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # characters as the network counts them
    parts: int  # billed segments


def sms_size(text: str) -> SmsSize:
    """70 UCS-2 units in one SMS, 67 a part once split (160 / 153 for GSM-7)."""
    if all(ch in GSM7 or ch in GSM7_EXT for ch in text):
        units = sum(2 if ch in GSM7_EXT else 1 for ch in text)
        return SmsSize("GSM-7", units, 1 if units <= 160 else -(-units // 153))
    units = len(text.encode("utf-16-le")) // 2  # characters outside the BMP take two
    return SmsSize("UCS-2", units, 1 if units <= 70 else -(-units // 67))


def yen(amount: int) -> str:
    return f"{amount:,}円"


def yen_spoken(amount: int) -> str:
    return f"{amount}円"  # text-to-speech reads plain digits more reliably than 12,345


def jdate(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日({_WEEKDAYS[d.weekday()]})"


def jdate_short(d: date) -> str:
    return f"{d.month}/{d.day}"


def wareki(d: date) -> str:
    for start, era in _ERAS:
        if d >= start:
            year = d.year - start.year + 1
            return f"{era}{'元' if year == 1 else year}年{d.month}月{d.day}日"
    return jdate(d)


@dataclass(frozen=True)
class Message:
    channel: Channel
    template: str
    body: str
    subject: str | None = None
    sms: SmsSize | None = None


class TemplateNotFound(LookupError):
    pass


class Renderer:
    """One per process: compiled templates are cached; a creditor's own templates override ours."""

    def __init__(self, overrides: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self._overrides = overrides or {}

    def render(self, step: PlannedStep, r: Receivable, debtor: Debtor, sender: Sender) -> Message:
        context = context_for(step, r, debtor, sender)
        template = self._template(r.creditor_id, step.template)
        text = template.render(context).strip()
        if step.channel is Channel.EMAIL:
            subject, _, body = text.partition("\n")
            return Message(step.channel, step.template, body.strip() + "\n", subject=subject.strip())
        body = " ".join(line.strip() for line in text.splitlines() if line.strip())
        return Message(step.channel, step.template, body, sms=sms_size(body) if step.channel is Channel.SMS else None)

    def _template(self, creditor_id: str, name: str) -> jinja2.Template:
        own = self._overrides.get(creditor_id, {}).get(name)
        if own is not None:
            return _compile(own)
        try:
            return _environment().get_template(f"{name}.j2")
        except jinja2.TemplateNotFound as exc:
            raise TemplateNotFound(f"no template {name!r} for creditor {creditor_id}") from exc


def context_for(step: PlannedStep, r: Receivable, debtor: Debtor, sender: Sender) -> dict[str, Any]:
    return {
        "sender": sender,
        "debtor_name": debtor.name,
        "receivable_id": r.receivable_id,
        "amount": r.amount,
        "balance": r.balance,
        "due_date": r.due_date,
        "offset": step.offset,
        "days_overdue": max(step.offset, 0),
        "step": step.step,
        "channel": step.channel.value,
        "segment": step.segment,
        "virtual_account": r.virtual_account,
        "product": r.product,
    }


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("saiken", "templates"),
        autoescape=False,  # noqa: S701 - plain text mail, SMS and speech; nothing is rendered as HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        auto_reload=False,  # packaged templates never change under a running process
        trim_blocks=True,
        lstrip_blocks=True,
    )
    _filters(env)
    return env


@lru_cache(maxsize=256)
def _compile(source: str) -> jinja2.Template:
    env = jinja2.Environment(
        autoescape=False,  # noqa: S701 - plain text mail, SMS and speech; nothing is rendered as HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    _filters(env)
    return env.from_string(source)


def _filters(env: jinja2.Environment) -> None:
    env.filters.update(yen=yen, yen_spoken=yen_spoken, jdate=jdate, jdate_short=jdate_short, wareki=wareki)
