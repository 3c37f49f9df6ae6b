"""Errors on one line: what the library prints or records for a failure is a single line.

Library errors often span many lines (a checkpoint loader lists every file it tried, an HTTP error
carries a body), and some carry no message at all (``KeyError()``): every place that reports a
failure goes through these two functions, so neither case can break a message or raise while
formatting one.
"""

from __future__ import annotations

LIMIT = 300  # characters of a recorded failure reason: enough to name the cause, short enough for a table


def first_line(error: BaseException) -> str:
    """The first non-blank line of an error's message, or the error's type name when it has none."""
    for line in str(error).splitlines():
        if line.strip():
            return line.strip()
    return type(error).__name__


def one_line(error: BaseException) -> str:
    """``"TypeName: first line of the message"`` cut at :data:`LIMIT` characters (a failure reason to record)."""
    name = type(error).__name__
    if not str(error).strip():
        return name
    return f"{name}: {first_line(error)[:LIMIT]}"
