"""Writing the reports to their files (grades, feedback, results.json): to a temporary name first,
then renamed into place, so that a reader (or an interrupted run) never sees half a file, and a
failure leaves the old one whole."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> Path:
    """Write `text` to `path` as UTF-8, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            if hasattr(os, "fchmod"):
                # mkstemp makes it 0600: the file gets the mode a plain open() would (a TA in
                # the instructor's group reads the grades as with any file they write).
                os.fchmod(handle.fileno(), 0o666 & ~_umask())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    return path
