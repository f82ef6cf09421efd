"""Receivable statuses and the transitions allowed between them.

One place decides whether a status change is legal; every entry point (API, files,
payments, escalation) asks here instead of comparing strings.
"""

from __future__ import annotations

from enum import StrEnum


class ReceivableStatus(StrEnum):
    OPEN = "open"
    PROMISED = "promised"
    DISPUTED = "disputed"
    ON_HOLD = "on_hold"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    WRITTEN_OFF = "written_off"
    CANCELLED = "cancelled"

    @property
    def is_dunnable(self) -> bool:
        """Reminders may go out only while the receivable is open or partly paid."""
        return self in _DUNNABLE

    @property
    def is_closed(self) -> bool:
        return self in _CLOSED


S = ReceivableStatus

_DUNNABLE = frozenset({S.OPEN, S.PARTIALLY_PAID})
_CLOSED = frozenset({S.PAID, S.WRITTEN_OFF, S.CANCELLED})

# from -> allowed targets. Paid can go back (a payment reversed); written-off can still be
# recovered (paid); cancelled is final.
TRANSITIONS: dict[ReceivableStatus, frozenset[ReceivableStatus]] = {
    S.OPEN: frozenset({S.PROMISED, S.DISPUTED, S.ON_HOLD, S.PARTIALLY_PAID, S.PAID, S.WRITTEN_OFF, S.CANCELLED}),
    S.PARTIALLY_PAID: frozenset({S.OPEN, S.PROMISED, S.DISPUTED, S.ON_HOLD, S.PAID, S.WRITTEN_OFF, S.CANCELLED}),
    S.PROMISED: frozenset({S.OPEN, S.PARTIALLY_PAID, S.PAID, S.DISPUTED, S.ON_HOLD, S.WRITTEN_OFF, S.CANCELLED}),
    S.DISPUTED: frozenset({S.OPEN, S.PARTIALLY_PAID, S.PAID, S.ON_HOLD, S.WRITTEN_OFF, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.OPEN, S.PARTIALLY_PAID, S.PAID, S.DISPUTED, S.WRITTEN_OFF, S.CANCELLED}),
    S.PAID: frozenset({S.OPEN, S.PARTIALLY_PAID}),
    S.WRITTEN_OFF: frozenset({S.PAID, S.PARTIALLY_PAID}),
    S.CANCELLED: frozenset(),
}

# What an operator may set directly through the API; paid / partially paid / written off
# only ever come from payments and write-off runs.
OPERATOR_TARGETS: frozenset[ReceivableStatus] = frozenset({S.OPEN, S.ON_HOLD, S.DISPUTED, S.CANCELLED})


class InvalidTransition(ValueError):
    def __init__(self, current: ReceivableStatus | None, target: ReceivableStatus, message: str | None = None) -> None:
        origin = current.value if current else "any status"
        super().__init__(message or f"a receivable cannot go from {origin} to {target.value}")
        self.current = current
        self.target = target

    @classmethod
    def not_settable(cls, target: ReceivableStatus, allowed: str) -> InvalidTransition:
        return cls(
            None,
            target,
            f"{target.value!r} is set by payments or write-off, not directly (allowed: {allowed})",
        )


def can_transition(current: ReceivableStatus, target: ReceivableStatus) -> bool:
    return target in TRANSITIONS[current]


def transition(current: ReceivableStatus, target: ReceivableStatus) -> ReceivableStatus:
    """Return the new status or raise InvalidTransition. Setting the same status is a no-op."""
    if current == target or can_transition(current, target):
        return target
    raise InvalidTransition(current, target)
