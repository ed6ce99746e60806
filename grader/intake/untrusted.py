"""What came from a submission, made safe: text without control characters or CSV formulas,
and files read only when they are regular files of a bounded size.

A submission's output, its error messages and its file and folder names reach the instructor's
terminal and spreadsheet. Escape sequences in them could repaint the screen (a fake scoreboard),
and a cell starting with `=` runs as a formula when the CSV is opened.
"""

from __future__ import annotations

import ast
import io
import os
import re
import stat
import tokenize
from pathlib import Path
from typing import Any

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides that can
# make text display in another order than it is stored.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """The text without control characters (a carriage return becomes a line break)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def one_line(text: str) -> str:
    """A name as text on one line: every character that is not printable (a line break, an
    escape sequence) written as its escape (`\\n`, `\\x1b`), so it can neither move the
    cursor nor fake a line of a report."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def clean_all(value: Any, limit: int | None = None) -> Any:
    """`value` (JSON data) with every string in it cleaned, and clipped to `limit` characters
    when one is given."""
    if isinstance(value, str):
        if limit is not None and len(value) > limit:
            value = value[:limit] + " ..."
        return clean(value)
    if isinstance(value, dict):
        return {clean(k) if isinstance(k, str) else k: clean_all(v, limit)
                for k, v in value.items()}
    if isinstance(value, list):
        return [clean_all(v, limit) for v in value]
    return value


def csv_cell(text: str) -> str:
    """A cell that a spreadsheet shows as text: one starting with =, +, -, @, a tab or a
    carriage return would be read as a formula."""
    text = clean(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of a regular file of at most `limit` bytes; None for anything else (a link, a
    FIFO or a device, which reading could make wait for ever or never end, or too much)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) |
                     getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
        return data if len(data) <= limit else None
    finally:
        os.close(fd)


# A kit file is a few hundred lines; these bounds keep parsing a submitted text cheap whatever
# it holds (Python 3.11 parses an f-string's fields in time quadratic in their number).
MAX_LINES = 20_000
MAX_FSTRING_FIELDS = 1_000


class Costly(ValueError):
    """A text too costly to parse; its message says why."""


def costly(source: str) -> str | None:
    """Why parsing `source` would cost too much (too many lines, or an f-string with too many
    fields), read in one linear pass; None when it may be parsed."""
    lines = source.count("\n") + 1
    if lines > MAX_LINES:
        return f"it has {lines} lines, more than the {MAX_LINES} a file here may have"
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            prefix = token.string.split("'")[0].split('"')[0].lower()
            if token.type == tokenize.STRING and "f" in prefix:
                fields = token.string.count("{") - 2 * token.string.count("{{")
                if fields > MAX_FSTRING_FIELDS:
                    return (f"line {token.start[0]} has an f-string with {fields} fields, more "
                            f"than the {MAX_FSTRING_FIELDS} one may have")
    except (tokenize.TokenError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None                 # the parser says what is wrong with it, cheaply
    return None


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    """ast.parse of a submitted text, or Costly when it would cost too much."""
    reason = costly(source)
    if reason is not None:
        raise Costly(reason)
    return ast.parse(source, filename=filename)
