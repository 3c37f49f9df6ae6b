"""Text from files shown on a terminal: control characters made visible, escape sequences dropped.

A release, a prepared folder or a prediction file can hold any string. Printed as it is, an ANSI escape
sequence in a question or a path can recolour, clear or rewrite the terminal (or set its title, or a
hyperlink), a carriage return can overwrite the line it is on, and a bidirectional override can make
text read differently from what it is. Every command that prints a string it did not write itself passes
it through :func:`printable`. A leaf module: it imports nothing from the package.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

# ESC (or the 8-bit CSI/OSC/DCS/...) sequences: CSI "ESC [ params final", OSC/DCS/SOS/PM/APC strings
# ended by BEL or ST, and two-character escapes. Removed whole: their bytes mean nothing to a reader.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]"  # other escapes (ESC c, ESC ( B, ...)
)
# C0 and C1 controls, DEL, and the Unicode bidirectional embeddings, overrides and isolates.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(value: object, *, keep_newlines: bool = False) -> str:
    """``value`` as text safe to print: escape sequences removed, other controls shown as ``\\xNN``.

    Newlines become ``\\n`` too (a one-line message stays one line) unless ``keep_newlines``; tabs are
    always shown as ``\\t``. Printable text, non-ASCII letters included, is unchanged.
    """
    text = _ESCAPE_SEQUENCE.sub("", str(value))
    if keep_newlines:
        return "\n".join(_CONTROL.sub(_visible, line) for line in text.split("\n"))
    return _CONTROL.sub(_visible, text)
