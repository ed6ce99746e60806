"""A fingerprint of the grader's own files, to notice a submission that edits them mid-run.

Compiled bytecode counts too: a `.pyc` planted in `grader/__pycache__` would run in every later
grading. The grader writes no bytecode of its own while it grades (see api.grade_submission), so
any change there during a grading is tampering, and the tampered caches are removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

GRADER = Path(__file__).resolve().parent


def _files(bytecode: bool) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(GRADER, followlinks=False):
        if not bytecode:
            dirs[:] = [d for d in dirs if d != "__pycache__"]
        found.extend(Path(folder) / name for name in files)
    return sorted(found)


def digest(bytecode: bool = True) -> dict[str, str]:
    """Relative path -> hash of every file of the grader (bytecode caches included, or not)."""
    found = {}
    for path in _files(bytecode):
        name = str(path.relative_to(GRADER))
        try:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                found[name] = "link:" + os.readlink(path)
            else:
                found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            found[name] = "unreadable"
    return found


def changed(before: dict[str, str]) -> list[str]:
    """Files added, removed or edited since `before`."""
    after = digest()
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def drop_bytecode() -> None:
    """Remove every bytecode cache of the grader: Python compiles the sources again next time."""
    for folder, dirs, _ in os.walk(GRADER, followlinks=False):
        for name in [d for d in dirs if d == "__pycache__"]:
            shutil.rmtree(Path(folder) / name, ignore_errors=True)
