"""EventBridge Scheduler: at most one pending one-time schedule per open receivable.

moto stores schedules without checking the expression or the zone, so both are validated
here before any call (DESIGN.md 3.4).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import ClientError

TIMEZONE = "Asia/Tokyo"
_AT = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$")
_SAFE = re.compile(r"[^0-9A-Za-z_-]")


class InvalidSchedule(ValueError):
    pass


def at_expression(moment: datetime, zone: str = TIMEZONE) -> str:
    """``at(yyyy-mm-ddThh:mm:ss)`` of an aware moment, in ``zone``; refuses what AWS would refuse."""
    if moment.tzinfo is None:
        raise InvalidSchedule("a schedule time needs a time zone")
    expr = f"at({moment.astimezone(_zone(zone)).strftime('%Y-%m-%dT%H:%M:%S')})"
    parse_at(expr, zone)  # round trip: the string we send is one we can read back
    return expr


def parse_at(expr: str, zone: str = TIMEZONE) -> datetime:
    match = _AT.match(expr)
    if match is None:
        raise InvalidSchedule(f"not a one-time expression at(yyyy-mm-ddThh:mm:ss): {expr!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=_zone(zone))
    except ValueError as exc:
        raise InvalidSchedule(f"{expr!r}: {exc}") from exc


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidSchedule(f"unknown time zone {name!r}") from exc


def schedule_name(creditor_id: str, receivable_id: str) -> str:
    """Deterministic, <= 64 characters of [0-9A-Za-z_.-], readable by ops, unique by its hash."""
    digest = hashlib.sha256(f"{creditor_id}\x1f{receivable_id}".encode()).hexdigest()[:12]
    return f"{_SAFE.sub('_', creditor_id)[:16]}.{_SAFE.sub('_', receivable_id)[:32]}.{digest}"


@dataclass
class ScheduleGateway:
    client: Any  # boto3 "scheduler"
    group: str
    target_arn: str  # the send queue
    role_arn: str  # may only sqs:SendMessage to it
    dlq_arn: str
    window_minutes: int = 0
    max_event_age: int = 3600
    retries: int = 10

    def upsert(self, creditor_id: str, receivable_id: str, at: datetime, payload: dict[str, Any]) -> str:
        name = schedule_name(creditor_id, receivable_id)
        params: dict[str, Any] = {
            "Name": name,
            "GroupName": self.group,
            "ScheduleExpression": at_expression(at),
            "ScheduleExpressionTimezone": TIMEZONE,
            "FlexibleTimeWindow": (
                {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": self.window_minutes}
                if self.window_minutes
                else {"Mode": "OFF"}
            ),
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED",
            "Target": {
                "Arn": self.target_arn,
                "RoleArn": self.role_arn,
                "Input": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                "RetryPolicy": {"MaximumEventAgeInSeconds": self.max_event_age, "MaximumRetryAttempts": self.retries},
                "DeadLetterConfig": {"Arn": self.dlq_arn},
            },
        }
        try:
            self.client.create_schedule(**params)
        except ClientError as exc:
            if _code(exc) != "ConflictException":
                raise
            self.client.update_schedule(**params)  # re-planning: same name, new time and payload
        return name

    def delete(self, creditor_id: str, receivable_id: str) -> bool:
        try:
            self.client.delete_schedule(Name=schedule_name(creditor_id, receivable_id), GroupName=self.group)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return False
            raise
        return True

    def get(self, creditor_id: str, receivable_id: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.client.get_schedule(
                Name=schedule_name(creditor_id, receivable_id), GroupName=self.group
            )
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise
        return found


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
