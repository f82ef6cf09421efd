"""Domain errors raised by repositories and services; handlers turn them into responses."""

from __future__ import annotations


class SaikenError(Exception):
    code = "error"


class NotFound(SaikenError):
    code = "not_found"


class ConcurrentUpdate(SaikenError):
    """Someone else changed the item between our read and our write (optimistic locking)."""

    code = "conflict"


class NotMatchable(SaikenError):
    """A manual match asked of a payment that is not waiting in the unmatched queue."""

    code = "not_matchable"
