"""Text that came from a submission, made safe to show: no control characters, no CSV formulas.

A submission's output, its error messages and its file and folder names reach the instructor's
terminal and spreadsheet. Escape sequences in them could repaint the screen (a fake scoreboard),
and a cell starting with `=` runs as a formula when the CSV is opened.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that can
# make text display in another order than it is stored.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """The text without control characters (a carriage return becomes a line break)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def csv_cell(text: str) -> str:
    """A cell that a spreadsheet shows as text: one starting with =, +, -, @, a tab or a
    carriage return would be read as a formula."""
    text = clean(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
