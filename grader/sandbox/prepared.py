"""The submission as every worker of one grading gets it: its own modules, read once (regular files
only, never through a link, sizes first), admitted, and with their main blocks disarmed; and the
worker's own files. Each worker's folder is written from this, so no two workers share one.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..intake.untrusted import read_regular
from . import cleanup
from .modules import Admitted, admit, describe, own_modules
from .rules import MAX_FILE_BYTES, MAX_TOTAL_BYTES
from .source import without_main_blocks

WORKER_DIR = Path(__file__).with_name("worker")
# The worker's files: its package, and the task table it answers (plain data).
WORKER_FILES = (*sorted(p for p in WORKER_DIR.glob("*.py") if p.name != "__init__.py"),
                Path(__file__).with_name("tasks.py"))


@dataclass
class Prepared:
    """What a grading's workers run: module name -> source bytes, and what admission said."""

    sources: dict[str, bytes] = field(default_factory=dict)
    admitted: Admitted = field(default_factory=Admitted)
    skipped: list[str] = field(default_factory=list)     # files not taken, and why

    @property
    def modules(self) -> list[str]:
        return sorted(self.sources)

    def refused(self) -> dict[str, str]:
        """module -> why admission refused it (its file does not run)."""
        return {name: describe(found) for name, found in self.admitted.refused().items()}


def prepare(submission: Path, admission: bool = True) -> Prepared:
    """Read the submission's modules from `submission` (a folder) and admit them."""
    prepared = Prepared()
    try:
        names = os.listdir(submission)
    except OSError:
        return prepared
    wanted, prepared.skipped = own_modules(names)
    total = 0                             # bytes taken so far: what admission will parse
    for name in wanted:
        path = Path(submission) / f"{name}.py"
        try:
            info = path.lstat()
        except OSError:
            continue
        if stat.S_ISLNK(info.st_mode):
            prepared.skipped.append(f"{path.name} is a symbolic link: it was not graded (hand "
                                    f"in the file itself)")
            continue
        if info.st_size > MAX_FILE_BYTES:
            prepared.skipped.append(f"{path.name} is larger than {MAX_FILE_BYTES // 1000} KB: "
                                    f"it was not graded")
            continue
        if total + info.st_size > MAX_TOTAL_BYTES:
            prepared.skipped.append(f"{path.name} was not graded: the submission's files "
                                    f"together may be at most {MAX_TOTAL_BYTES // 1000} KB")
            continue
        raw = read_regular(path, MAX_FILE_BYTES)
        if raw is not None:               # not a regular file (a FIFO, a device): never read
            prepared.sources[name] = raw
            total += len(raw)
    if admission:
        prepared.admitted = admit(dict(prepared.sources))
    for name, raw in prepared.sources.items():
        # Checked as written; run with its main blocks disarmed (admission skips them).
        try:
            prepared.sources[name] = without_main_blocks(raw.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            pass                              # not text: the worker says so
    return prepared


def write_folder(prepared: Prepared, ids: tuple[int, int] | None, as_root: bool,
                 shared: bool) -> Path:
    """A fresh folder for one worker: worker/ (its files), submission/ and home/. As root with
    a user of the worker's own (`ids`), readable by that user's group only, and nothing but
    home/ writable by it; `shared`: readable by others (bubblewrap's own user reads it)."""
    cleanup.sweep_stale_roots()
    root = Path(tempfile.mkdtemp(prefix=f"micrograd-kit-{os.getpid()}-"))
    worker, code, home = root / "worker", root / "submission", root / "home"
    for folder in (worker, code, home):
        folder.mkdir()
    for file in WORKER_FILES:
        shutil.copy(file, worker / file.name)
    for name, raw in prepared.sources.items():
        (code / f"{name}.py").write_bytes(raw)
    if ids is not None and as_root:
        gid = ids[1]
        files = [*worker.iterdir(), *code.iterdir()]
        for path, mode in [(root, 0o710), (worker, 0o750), (code, 0o750),
                           *[(f, 0o640) for f in files]]:
            os.chown(path, 0, gid)
            os.chmod(path, mode)
        os.chown(home, *ids)
        os.chmod(home, 0o700)
    else:
        os.chmod(root, 0o755 if shared else 0o700)
    return root
