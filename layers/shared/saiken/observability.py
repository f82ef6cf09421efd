"""Logger, Metrics and Tracer: created once, here (a second Tracer can undo boto3 patching)."""

from __future__ import annotations

import re

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "saiken"
NAMESPACE = "Saiken"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)

_EMAIL = re.compile(r"([^@\s]{1,2})[^@\s]*@([^\s]+)")
_PHONE = re.compile(r"\+?\d[\d\- ]{6,}(\d{2})")


def mask(text: str) -> str:
    """Mask emails and phone numbers in free text that might reach a log line."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _PHONE.sub(lambda m: f"***{m.group(1)}", text)


def mask_name(name: str | None) -> str:
    return "" if not name else name[0] + "*" * (len(name) - 1)
