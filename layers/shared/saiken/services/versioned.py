"""Read, change, write with the version check, re-applied when someone else wrote in between.

Every operator action and channel answer changes one item this way; the change is a pure
function of the item as it is now, so re-applying it after a conflict is always right.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from saiken.domain.errors import ConcurrentUpdate, NotFound

MAX_ATTEMPTS = 5
T = TypeVar("T")


def update_versioned(
    read: Callable[[], T | None],
    change: Callable[[T], T | None],
    save: Callable[[T], T],
    *,
    label: str,
) -> tuple[T, T | None]:
    """(before, after) of the write; after is None when ``change`` leaves the item as it is (None or
    an equal copy: nothing is written). ``label`` names the item in NotFound / ConcurrentUpdate."""
    for _ in range(MAX_ATTEMPTS):
        current = read()
        if current is None:
            raise NotFound(f"{label} not found")
        new = change(current)
        if new is None or new == current:
            return current, None
        try:
            return current, save(new)
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(f"{label} kept changing; try again")
