"""`python -m grader batch FOLDER`: grade a class, in parallel, into a CSV, JSONs and a summary."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import stat
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

from .. import __version__, integrity, scoring, steps
from ..api import grade_path
from ..limits import Limits, Protections
from ..output import write_text
from ..report import csv as csv_view
from ..report.json import as_json
from ..report.markdown import feedback
from ..report.summary import class_summary
from ..results import GradingResult, result_from_dict
from ..untrusted import clean
from . import options, pool

WATCHDOG_MARGIN = 60.0             # seconds past --run-timeout before a grading is stopped
MAX_HASHED_BYTES = 50_000_000
MAX_FILES = 5000                   # files an entry's fingerprint reads; more: never cached      # a bigger file counts by its size and time, not its bytes
SKIP_NAMES = ("__MACOSX", "__pycache__")


@dataclass(frozen=True)
class Entry:
    name: str           # the student, as the entry is named
    path: Path


MAX_NAME = 80     # characters of a student's name: the files named after it must be writable


def student_name(entry: str) -> str:
    """The name an entry is recorded under: one line of printable text in one Unicode form
    (NFC), without characters that show nothing (zero-width spaces, soft hyphens, direction
    marks), short enough to name files after (an export's long upload name keeps its start
    and a hash of the whole)."""
    shown = "".join(c for c in unicodedata.normalize("NFC", clean(entry))
                    if unicodedata.category(c) != "Cf")
    name = " ".join(shown.split()) or "unnamed"
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME - 9] + "-" + hashlib.sha256(entry.encode()).hexdigest()[:8]
    return name


def entries(folder: Path, skipped: list[str] | None = None) -> list[Entry]:
    """Each folder, .zip, or loose file in `folder` is one student's submission (a symbolic
    link is never followed: it could lead to a classmate's work or anywhere else).

    Names are given after cleaning, so that no entry takes another's: every entry whose name is
    already clean keeps it; then one that cleaning changed (` bob`, `bo\x01b`), or a second
    entry of a name (alice/ and alice.zip), gets its cleaned name if no one has it, else the
    first free `name-2`, `name-3`... Names differing only in case count as one (their files
    would be one on macOS and Windows)."""
    found: list[tuple[str, str, Path]] = []
    for path in sorted(Path(folder).iterdir()):
        if path.name.startswith(".") or path.name in SKIP_NAMES:
            continue
        if path.is_symlink():
            if skipped is not None:
                skipped.append(clean(path.name))
            continue
        raw = path.stem if path.is_file() else path.name
        found.append((raw, student_name(raw), path))
    found.sort(key=lambda entry: (entry[1] != entry[0], entry[0] != entry[0].lower(),
                                  entry[0]))   # clean names first; lower case before upper
    taken: set[str] = set()
    named: dict[Path, str] = {}
    for raw, name, path in found:                 # the clean names first, as they are
        if name == raw and name.casefold() not in taken:
            taken.add(name.casefold())
            named[path] = name
    for _raw, base, path in found:
        if path in named:
            continue
        name, k = base, 2
        while name.casefold() in taken:
            name, k = f"{base}-{k}", k + 1
        taken.add(name.casefold())
        named[path] = name
    return sorted((Entry(named[path], path) for _raw, _name, path in found),
                  key=lambda e: e.path.name)


def grader_stamp() -> str:
    """The grader's version and files: a submission graded by another grader is graded again."""
    digest = hashlib.sha256(__version__.encode())
    for name, value in sorted(integrity.digest(bytecode=False).items()):
        digest.update(f"{name}={value}".encode())
    return digest.hexdigest()


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
    """What a submission's files were, and which grader graded them: unchanged means skip.
    Sizes are checked before anything is read; a link counts by its target's name only."""
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


def _grade_entry(path: str, name: str, limits: dict[str, Any], run_as: str | None,
                 protections: dict[str, Any] | None = None) -> dict[str, Any]:
    """Runs in a pool process: grade one submission, never raise; the result as JSON data."""
    try:
        result = grade_path(Path(path), limits=Limits(**limits), label=name, run_as=run_as,
                            protections=Protections(**protections) if protections else None)
    except Exception as exc:  # the grader itself failed: a result, not a crash of the batch
        result = scoring.failed(name, f"the grader failed on this submission: "
                                      f"{type(exc).__name__}: {exc}", limits)
    return as_json(result)


@dataclass
class BatchResult:
    rows: list[dict[str, Any]] = field(default_factory=list)    # one per student, CSV order
    results: dict[str, GradingResult] = field(default_factory=dict)
    skipped: int = 0
    seconds: float = 0.0
    links: list[str] = field(default_factory=list)     # entries not graded: symbolic links


class Progress:
    """A bar redrawn in place on a terminal; one line per submission when piped."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.stream: TextIO | None = stream
        self.started = time.monotonic()
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def say(self, text: str) -> None:
        """Write, unless whatever reads the output has gone (`| head`): grading goes on, and
        every file is still written."""
        if self.stream is None:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (BrokenPipeError, OSError, ValueError):
            self.stream = None

    def update(self, name: str, status: str, score: float, skipped: bool = False) -> None:
        self.done += 1
        self.failed += status != "graded"
        elapsed = time.monotonic() - self.started
        clock = f"{int(elapsed) // 60:02d}:{int(elapsed) % 60:02d}"
        if self.tty:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            self.say(f"\r[{'#' * filled}{'-' * (width - filled)}] {self.done}/"
                     f"{self.total}  {clock} elapsed  {self.failed} not graded normally")
            if self.done == self.total:
                self.say("\n")
        else:
            note = " (unchanged, not regraded)" if skipped else ""
            self.say(f"{self.done}/{self.total} {clock} {name}: {score:g}/"
                     f"{steps.TOTAL_POINTS} {status}{note}\n")


def run_batch(folder: Path, out: Path, *, jobs: int | None = None, force: bool = False,
              limits: Limits | None = None, run_as: str | None = "auto",
              protections: Protections | None = None, stream: TextIO = sys.stdout,
              grade: Callable[..., dict[str, Any]] = _grade_entry,
              margin: float = WATCHDOG_MARGIN) -> BatchResult:
    """Grade every entry of `folder`; write `out` (CSV), a JSON per student and a summary."""
    started = time.monotonic()
    limits = limits or Limits()
    out = Path(out)
    per_student = out.with_suffix("")
    per_student.mkdir(parents=True, exist_ok=True)
    batch = BatchResult()
    todo = entries(folder, batch.links)
    progress = Progress(len(todo), stream)
    pending: list[tuple[Entry, str]] = []
    grader = grader_stamp()
    for entry in todo:
        # The entry's own name counts: a saved result is never another entry's.
        stamp = fingerprint(entry.path, grader + "\0" + entry.path.name)
        saved = per_student / f"{entry.name}.json"
        if not force and saved.is_file():
            kept = None
            try:
                previous = json.loads(saved.read_text(encoding="utf-8"))
                if isinstance(previous, dict) and previous.get("fingerprint") == stamp:
                    kept = result_from_dict(previous)
            except (OSError, ValueError, TypeError, AttributeError, KeyError):
                kept = None                       # not a result of ours any more: regrade
            # A grading that failed on the grader's side is never kept: it is done again.
            if kept is not None and csv_view.status_of(kept)[0] != "error":
                # The feedback page follows the saved result (a batch of an earlier release
                # may not have written one).
                write_text(per_student / f"{entry.name}.md", feedback(kept, entry.name))
                batch.results[entry.name] = kept
                batch.skipped += 1
                progress.update(entry.name, csv_view.status_of(kept)[0], kept.score,
                                skipped=True)
                continue
        pending.append((entry, stamp))

    def record(entry: Entry, stamp: str, data: dict[str, Any]) -> None:
        result = result_from_dict(data)
        write_text(per_student / f"{entry.name}.json",
                   json.dumps({**data, "fingerprint": stamp}, indent=2))
        write_text(per_student / f"{entry.name}.md", feedback(result, entry.name))
        batch.results[entry.name] = result
        progress.update(entry.name, csv_view.status_of(result)[0], result.score)

    workers = max(1, jobs or os.cpu_count() or 1)
    shield = asdict(protections) if protections else None

    def finished(job: pool.Job) -> None:
        entry, stamp = job.key
        data = job.result if job.result is not None else as_json(scoring.failed(
            entry.name, job.problem or "no result", limits.as_dict()))
        record(entry, stamp, data)

    # Each submission in a process of its own, under a watchdog: past the whole-run limit and
    # a margin for the grader's own work, it is stopped and the batch goes on.
    pool.run([pool.Job((e, s), (str(e.path), e.name, limits.as_dict(), run_as, shield))
              for e, s in pending], grade, workers, limits.run_timeout + margin,
             finished)
    batch.rows = [csv_view.row(entry.name, batch.results[entry.name]) for entry in todo]
    write_text(out, csv_view.table(batch.rows))
    batch.seconds = time.monotonic() - started
    renamed = [(ascii(e.path.name), e.name) for e in todo
               if e.name not in (e.path.name, e.path.stem)]
    summary = class_summary([batch.results[e.name] for e in todo], skipped=batch.skipped,
                            links=batch.links, seconds=batch.seconds, renamed=renamed)
    write_text(out.with_name(out.stem + "-summary.txt"), summary)
    progress.say("\n" + summary)
    return batch


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader batch",
        description="Grade every submission in a folder: each sub-folder, .zip or notebook in "
                    "it is one student, named by the entry.")
    parser.add_argument("submissions", type=Path, help="the folder of submissions")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"),
                        help="the CSV to write (default grades.csv); a JSON per student goes in "
                             "the folder of the same name, the class summary in NAME-summary.txt")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="submissions graded at once (default: the number of cores)")
    parser.add_argument("--force", action="store_true",
                        help="regrade every submission, even those unchanged since the last run")
    options.limit_options(parser)
    args = parser.parse_args(argv)
    limits = options.limits(parser, args)
    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be 1 or more")
    if args.out.suffix.lower() != ".csv":
        # The per-student files go in the folder named like the CSV without its suffix.
        parser.error(f"--out {args.out}: give a file name ending in .csv, such as grades.csv")
    run_batch(args.submissions, args.out, jobs=args.jobs, force=args.force, limits=limits,
              run_as=args.sandbox_user, protections=options.protections(args))
    return 0
