"""What a batch keeps from its last run: a saved result is kept only while the submission's files
and everything that changes grading (the grader, its limits, its protections) are unchanged;
--only and --failed choose whom to regrade, and every regrade says what it changed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import stat
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence, TypedDict, cast

from .. import __version__
from ..limits import LimitValues, Limits, Protections
from ..report.csv import status_of
from ..results import GradingResult, result_from_dict
from ..sandbox import integrity
from ..intake.untrusted import csv_cell

MAX_HASHED_BYTES = 50_000_000      # a bigger file counts by its size and time, not its bytes
MAX_FILES = 5000                   # files an entry's fingerprint reads; more: never cached
RETRIED = ("error", "timed out")   # what --failed regrades: the grading did not end normally


def grader_stamp() -> str:
    """The grader's version and files: a submission graded by another grader is graded again."""
    digest = hashlib.sha256(__version__.encode())
    for name, value in sorted(integrity.digest(bytecode=False).items()):
        digest.update(f"{name}={value}".encode())
    return digest.hexdigest()


class RegradeSettings(TypedDict):
    """Everything besides the files that changes a grade, as a batch keeps it beside a result."""
    grader: str                           # the grader's own files, fingerprinted
    limits: LimitValues
    protections: dict[str, Any]           # Protections, as data
    sandbox_user: str | None


def settings(limits: Limits, protections: Protections | None, run_as: str | None
             ) -> RegradeSettings:
    """Everything besides the files that changes a grade: a result graded under other limits,
    another sandbox or another grader is not kept."""
    return {"grader": grader_stamp(), "limits": limits.as_dict(),
            "protections": asdict(protections or Protections()), "sandbox_user": run_as}


def _files(path: Path, limit: int = 5000) -> list[Path]:
    """The regular files of an entry, never through a symbolic link, at most `limit`."""
    if not path.is_dir():
        return [path]
    found: list[Path] = []
    for folder, dirs, files in os.walk(path, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            found.append(Path(folder) / name)
            if len(found) >= limit:
                return found
    return found


def fingerprint(path: Path, stamp: str = "") -> str:
    """What a submission's files were (and `stamp`): unchanged means skip. Sizes are checked
    before anything is read; a link counts by its target's name only."""
    digest = hashlib.sha256(stamp.encode())
    files = _files(path, MAX_FILES + 1)
    if len(files) > MAX_FILES:
        return "unfingerprinted-" + os.urandom(8).hex()   # never the same: always graded again
    for file in files:
        # Each part with its length: no two different sets of files hash alike.
        name = str(file.relative_to(path) if file != path else file.name).encode()
        digest.update(len(name).to_bytes(8, "big") + name)
        try:
            info = file.lstat()
            if stat.S_ISLNK(info.st_mode):
                digest.update(b"link:" + os.readlink(file).encode("utf-8", "replace"))
            elif stat.S_ISREG(info.st_mode) and info.st_size <= MAX_HASHED_BYTES:
                data = file.read_bytes()
                digest.update(len(data).to_bytes(8, "big") + data)
            else:
                digest.update(f"size:{info.st_size}:mtime:{info.st_mtime_ns}".encode())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


@dataclass
class Saved:
    """What the last run left for one student."""

    result: GradingResult | None = None
    files: str = ""                        # the files' fingerprint
    settings: RegradeSettings | None = None
    fingerprint: str = ""                  # files and settings together (older runs: only this)


def load(path: Path) -> Saved:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            return Saved()
        found = data.get("grading_settings")   # "settings" is the result's own
        # An earlier release's file may lack keys: _changed_settings reads each with get.
        return Saved(result_from_dict(data), str(data.get("files") or ""),
                     cast(RegradeSettings, found) if isinstance(found, dict) else None,
                     str(data.get("fingerprint")))
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        return Saved()                     # not a result of ours any more: regrade


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _changed_settings(old: RegradeSettings | None, new: RegradeSettings) -> str:
    """The settings that differ, in words ("--run-timeout 120 -> 300, a new grader")."""
    if not old:
        return "graded by an earlier release"
    said = []
    if old.get("grader") != new["grader"]:
        said.append("a new grader")
    for before, after in ((old.get("limits") or {}, new["limits"]),
                          (old.get("protections") or {}, new["protections"])):
        said += [f"--{k.replace('_', '-')} {_shown(before.get(k))} -> {_shown(v)}"
                 for k, v in after.items() if before.get(k) != v]
    if old.get("sandbox_user") != new["sandbox_user"]:
        said.append(f"--sandbox-user {old.get('sandbox_user')} -> {new['sandbox_user']}")
    return "changed: " + (", ".join(said) or "the settings")


@dataclass(frozen=True)
class Choice:
    """Whether to grade one student now, and why (None: keep what was saved)."""

    why: str | None
    stale: bool = False       # kept although its files or the settings changed


def choose(saved: Saved, files: str, now: RegradeSettings, *, force: bool = False,
           named: bool = False, selective: bool = False, failed: bool = False) -> Choice:
    """`selective`: --only or --failed was given; `named`: this student is one of --only's;
    `failed`: --failed was given."""
    if saved.result is None:
        return Choice("never graded" if not saved.fingerprint else "its saved result was "
                      "unreadable")
    status = status_of(saved.result)[0]
    if force:
        return Choice("asked by --force")
    if named:
        return Choice("asked by --only")
    if failed and status in RETRIED:
        return Choice(f"it had {status} (--failed)")
    same_files = saved.files == files if saved.files else None
    changed = "its files changed" if same_files is False else None
    if saved.settings != now:
        changed = changed or _changed_settings(saved.settings, now)
    if selective:
        return Choice(None, stale=changed is not None)
    if status == "error":
        return Choice("the grader failed on it last time")
    return Choice(changed)


@dataclass(frozen=True)
class Change:
    """One regrade of a student graded before: what it was, what it is, why it was done."""

    key: str
    student: str
    student_id: str
    old_total: float
    new_total: float
    old_status: str
    new_status: str
    why: str

    def line(self) -> str:
        who = f"{self.student} ({self.student_id})" if self.student_id else self.student
        status = "" if self.old_status == self.new_status else \
            f", {self.old_status} -> {self.new_status}"
        return f"{who}: {self.old_total:g} -> {self.new_total:g}{status} ({self.why})"


HISTORY_COLUMNS = ["when", "student", "id", "old status", "old total", "new status",
                   "new total", "why"]


def history(previous: str, changes: Sequence[Change]) -> str:
    """The regrade log: every run's changes added under the earlier runs' (a CSV)."""
    rows = list(csv.reader(io.StringIO(previous.lstrip("\ufeff"))))
    if not rows or rows[0] != HISTORY_COLUMNS:
        rows = [HISTORY_COLUMNS]                 # not our log: started again
    when = time.strftime("%Y-%m-%d %H:%M:%S")
    rows += [[when, csv_cell(c.student), csv_cell(c.student_id), c.old_status,
              f"{c.old_total:g}", c.new_status, f"{c.new_total:g}", csv_cell(c.why)]
             for c in changes]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()
