"""Text for people on a terminal."""

from __future__ import annotations

import re

__all__ = ["printable"]

# Control characters (C0 but tab and newline, DEL, C1) would let a server's text drive the terminal:
# clear lines, move the cursor, set the clipboard (OSC 52). Shown escaped instead.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` safe to print for people: every control character shown as an escape, never executed."""
    return _CONTROL.sub(lambda match: repr(match.group())[1:-1], text)
