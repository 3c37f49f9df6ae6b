"""Frame grouping (paper §1.5): consecutive kept captions in fixed-size, non-overlapping groups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

__all__ = ["group_consecutive"]

T = TypeVar("T")


def group_consecutive(items: Sequence[T], size: int = 15, *, min_size: int = 1) -> list[list[T]]:
    """Split ``items`` into consecutive groups of ``size`` (the last one may be shorter).

    Args:
        items: kept captions (or frames) in time order.
        size: items per group (the paper uses 15).
        min_size: a trailing group shorter than this is merged into the group before it (when there is
            one), so QA generation never sees a 1-caption group of leftovers; 1 keeps it as is.

    Returns:
        The groups, in order; empty when ``items`` is empty.
    """
    if size < 1:
        raise ValueError(f"group size must be >= 1, got {size}")
    if min_size < 1:
        raise ValueError(f"min_size must be >= 1, got {min_size}")
    groups = [list(items[start : start + size]) for start in range(0, len(items), size)]
    if len(groups) > 1 and len(groups[-1]) < min_size:
        groups[-2].extend(groups.pop())
    return groups
