"""A fingerprint of the grader's own files, to notice a submission that edits them mid-run.

Compiled bytecode counts too: a `.pyc` planted in `grader/__pycache__` would run in every later
grading. The grader writes no bytecode of its own while it grades (see api.grade_submission), so
any change there during a grading is tampering, and the tampered caches are removed. So do the
files Python runs at every start-up (`.pth` files, sitecustomize): one planted in the grader's
environment would run inside every later grading.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import site
import stat
import sys
from pathlib import Path

from .. import GRADER_DIR

GRADER = GRADER_DIR          # the whole of grader/, not only the sandbox/ this file sits in
STARTUP_FILES = ("sitecustomize.py", "usercustomize.py")


def _startup_files() -> list[Path]:
    """The files Python reads when it starts, in this environment's site folders."""
    folders = list(getattr(site, "getsitepackages", lambda: [])())
    user = getattr(site, "getusersitepackages", lambda: "")()
    folders += [user] if isinstance(user, str) and user else []
    folders += [p for p in sys.path if p and p.endswith("site-packages")]
    found: list[Path] = []
    for folder in dict.fromkeys(folders):
        try:
            found += sorted(Path(folder).glob("*.pth"))
            found += [Path(folder) / name for name in STARTUP_FILES
                      if (Path(folder) / name).exists()]
        except OSError:
            continue
    return found


def _files(bytecode: bool) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(GRADER, followlinks=False):
        if not bytecode:
            dirs[:] = [d for d in dirs if d != "__pycache__"]
        found.extend(Path(folder) / name for name in files)
    return sorted(found)


def digest(bytecode: bool = True) -> dict[str, str]:
    """Relative path -> hash of every file of the grader (bytecode caches included, or not),
    and of the start-up files of its environment (as "startup:PATH")."""
    found = {}
    files = [(str(path.relative_to(GRADER)), path) for path in _files(bytecode)]
    files += [(f"startup:{path}", path) for path in _startup_files()]
    for name, path in files:
        try:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                found[name] = "link:" + os.readlink(path)
            elif not stat.S_ISREG(info.st_mode):
                # A FIFO or a device is never opened: reading one could wait for ever.
                found[name] = f"special:{stat.S_IFMT(info.st_mode):o}"
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


def remove_added_files(before: dict[str, str]) -> list[str]:
    """Delete the grader's files and start-up files that appeared since `before`: planted
    during a grading (the grader writes none), they would otherwise stay for the next one."""
    removed = []
    for name in digest(bytecode=False):
        if name not in before:
            path = Path(name[len("startup:"):]) if name.startswith("startup:") else GRADER / name
            try:
                os.remove(path)
                removed.append(name)
            except OSError:
                pass
    return removed
