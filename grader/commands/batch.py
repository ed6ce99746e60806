"""`python -m grader batch FOLDER`: grade a class, in parallel, into a CSV, JSONs and a summary."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

from .. import scoring, similarity, steps
from ..api import grade_path
from ..intake import classfolder
from ..limits import LimitValues, Limits, Protections
from ..report import csv as csv_view
from ..report import lms
from ..report.files import write_text
from ..report.html import class_page
from ..report.json import as_json
from ..report.markdown import feedback
from ..report.stats import Graded
from ..report.summary import Run, class_summary
from ..results import GradingResult, result_from_dict
from ..intake.untrusted import clean
from ..batching import pool, regrade
from ..cli import options

WATCHDOG_MARGIN = 60.0             # seconds past --run-timeout before a grading is stopped


@dataclass
class Entry:
    name: str                   # unique in the batch: the student's files are named after it
    path: Path | None           # what is graded (loose files: the folder they are laid out in)
    student: str = ""           # the student's name, as shown
    lms: str = ""               # "canvas", "moodle", or "" (a folder, zip or notebook each)
    lms_id: str = ""            # the student's id on that platform
    late: bool = False
    raw: str = ""               # the entry's name in the class folder
    found: classfolder.Found | None = field(default=None, repr=False)

    @property
    def who(self) -> str:
        """The name and the id, as progress lines, the summary and feedback pages show them."""
        shown = self.student or self.name
        return f"{shown} ({self.lms_id})" if self.lms_id else shown


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
    """Each student's submission in `folder` (see intake/classfolder.py): a folder, .zip or
    notebook each, or the flat files and folders of a Canvas or a Moodle download, grouped by
    student (a symbolic link is never followed: it could lead to a classmate's work or
    anywhere else).

    Names are given after cleaning, so that no entry takes another's: every entry whose name is
    already clean keeps it; then one that cleaning changed (` bob`, `bo\x01b`), or a second
    entry of a name (alice/ and alice.zip), gets its cleaned name if no one has it, else the
    first free `name-2`, `name-3`... Names differing only in case count as one (their files
    would be one on macOS and Windows). A platform's students are named with their id
    (`Alice Martin_12345`): two students of one name stay two."""
    found = [(f.key, student_name(f.key), f) for f in classfolder.find(Path(folder), skipped)]
    # Clean names first, lower case before upper: which of two colliding entries keeps the
    # name never depends on the order a file system lists them in.
    found.sort(key=lambda entry: (entry[1] != entry[0], entry[0] != entry[0].lower(), entry[0]))
    taken: set[str] = set()
    named: dict[int, str] = {}
    for k, (raw, name, _f) in enumerate(found):       # the clean names first, as they are
        if " ".join(clean(raw).split()) == raw and name.casefold() not in taken:
            taken.add(name.casefold())
            named[k] = name
    for k, (_raw, base, _f) in enumerate(found):
        if k in named:
            continue
        name, n = base, 2
        while name.casefold() in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name.casefold())
        named[k] = name
    return [Entry(named[k], f.path, student_name(f.student) if f.lms else named[k], f.lms,
                  clean(f.lms_id), f.late, f.raw, f) for k, (_r, _n, f) in enumerate(found)]


def _grade_entry(path: str, name: str, limits: LimitValues, run_as: str | None,
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
    changes: list[regrade.Change] = field(default_factory=list)   # regrades that changed
    regraded: int = 0                  # students regraded after an earlier run had graded them
    pairs: list[similarity.Pair] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)     # every file besides the JSONs


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
            note = " (kept from the last run, not regraded)" if skipped else ""
            self.say(f"{self.done}/{self.total} {clock} {name}: {score:g}/"
                     f"{steps.TOTAL_POINTS} {status}{note}\n")


def outputs(out: Path) -> dict[str, Path]:
    """The files a batch writes beside its CSV (the JSONs and pages go in the folder named like
    the CSV)."""
    stem = out.stem
    return {"summary": out.with_name(f"{stem}-summary.txt"),
            "report": out.with_name(f"{stem}-report.html"),
            "similar": out.with_name(f"{stem}-similar.csv"),
            "regrades": out.with_name(f"{stem}-regrades.csv"),
            "canvas": out.with_name(f"{stem}-canvas.csv"),
            "moodle": out.with_name(f"{stem}-moodle.csv")}


def chosen(todo: Sequence[Entry], names: Sequence[str]) -> set[str]:
    """The entries --only names: by the name their files have, the student's name, or their id
    on the platform (case aside). A name that matches no one stops the batch."""
    picked: set[str] = set()
    for wanted in names:
        key = " ".join(clean(wanted).split()).casefold()
        hits = {e.name for e in todo if key in (e.name.casefold(), e.student.casefold(),
                                                  e.lms_id.casefold(), e.raw.casefold())}
        if not hits:
            raise ValueError(f"--only {wanted}: no student of that name or id in the class "
                             f"folder")
        picked |= hits
    return picked


def _stage(todo: list[Entry], into: Path) -> list[str]:
    """Lay out each student's loose files (a Canvas or Moodle download) as a folder; what was
    left out of a submission, and why, for the summary."""
    left: list[str] = []
    for k, entry in enumerate(todo):
        found = entry.found
        if found is None:
            continue
        dropped = list(found.left_out)
        if entry.path is None:
            entry.path = into / f"{k:05d}" / entry.name
            dropped += classfolder.stage(found, entry.path)
        left += [f"{entry.who}: {d}" for d in dropped]
    return left


def run_batch(folder: Path, out: Path, *, jobs: int | None = None, force: bool = False,
              limits: Limits | None = None, run_as: str | None = "auto",
              protections: Protections | None = None, stream: TextIO = sys.stdout,
              grade: Callable[..., dict[str, Any]] = _grade_entry,
              margin: float = WATCHDOG_MARGIN, only: Sequence[str] = (),
              failed: bool = False, excel: bool = False,
              assignment: str = lms.DEFAULT_ASSIGNMENT, compare: bool = True) -> BatchResult:
    """Grade every student of `folder`; write `out` (CSV), a JSON and a feedback page per
    student, the summary, the class report, and the gradebook imports of the platform the
    class came from."""
    started = time.monotonic()
    limits = limits or Limits()
    out = Path(out)
    per_student = out.with_suffix("")
    per_student.mkdir(parents=True, exist_ok=True)
    batch = BatchResult()
    todo = entries(folder, batch.links)
    named = chosen(todo, only)
    with tempfile.TemporaryDirectory(prefix="micrograd-kit-class-") as staging:
        left_out = _stage(todo, Path(staging))
        run = Run(links=batch.links, left_out=left_out)
        _grade_all(todo, batch, run, per_student, limits=limits, run_as=run_as,
                   protections=protections, stream=stream, grade=grade, margin=margin,
                   jobs=jobs, force=force, named=named, selective=bool(only) or failed,
                   failed=failed)
        if compare:
            batch.pairs = similarity.compare_class({e.name: e.path for e in todo
                                                    if e.path is not None})
    graded = [Graded(e.name, e.student, batch.results[e.name], e.lms, e.lms_id, e.late)
              for e in todo]
    batch.rows = [csv_view.row(e.student, batch.results[e.name], e.lms_id, e.late)
                  for e in todo]
    write_text(out, csv_view.table(batch.rows, excel=excel))
    batch.seconds = time.monotonic() - started
    _write_outputs(out, todo, graded, batch, run, excel=excel, assignment=assignment,
                   compare=compare, stream=stream)
    return batch


def _grade_all(todo: list[Entry], batch: BatchResult, run: Run, per_student: Path, *,
               limits: Limits, run_as: str | None, protections: Protections | None,
               stream: TextIO, grade: Callable[..., dict[str, Any]], margin: float,
               jobs: int | None, force: bool, named: set[str], selective: bool,
               failed: bool) -> None:
    """Keep what the last run graded where nothing changed; grade the others."""
    progress = Progress(len(todo), stream)
    now = regrade.settings(limits, protections, run_as)
    settings_text = json.dumps(now, sort_keys=True)
    pending: list[tuple[Entry, dict[str, Any]]] = []
    for entry in todo:
        assert entry.path is not None
        # The entry's own name counts: a saved result is never another entry's.
        files = regrade.fingerprint(entry.path, entry.name)
        stamp = hashlib.sha256(f"{files}\0{settings_text}".encode()).hexdigest()
        saved = regrade.load(per_student / f"{entry.name}.json")
        choice = regrade.choose(saved, files, now, force=force, named=entry.name in named,
                                selective=selective, failed=failed)
        if choice.why is None and saved.result is not None:
            kept = saved.result
            # The feedback page follows the saved result (a batch of an earlier release
            # may not have written one).
            write_text(per_student / f"{entry.name}.md", feedback(kept, entry.who))
            batch.results[entry.name] = kept
            batch.skipped += 1
            if choice.stale:
                run.stale.append(entry.who)
            progress.update(entry.who, csv_view.status_of(kept)[0], kept.score, skipped=True)
            continue
        pending.append((entry, {"fingerprint": stamp, "files": files, "settings": now,
                                "saved": saved, "why": choice.why}))

    def finished(job: pool.Job[dict[str, Any]]) -> None:
        entry, meta = job.key
        if job.result is not None:
            data = job.result
        else:
            data = as_json(scoring.failed(entry.who, job.problem or "no result",
                                          limits.as_dict(), seconds=job.seconds))
        if not data.get("seconds"):          # not timed by the grading (not a submission)
            data = {**data, "seconds": round(job.seconds, 3)}
        result = result_from_dict(data)
        saved: regrade.Saved = meta["saved"]
        write_text(per_student / f"{entry.name}.json", json.dumps(
            {**data, "fingerprint": meta["fingerprint"], "files": meta["files"],
             "grading_settings": meta["settings"], "student": entry.student,
             "student_id": entry.lms_id, "lms": entry.lms}, indent=2))
        write_text(per_student / f"{entry.name}.md", feedback(result, entry.who))
        batch.results[entry.name] = result
        if saved.result is not None:
            batch.regraded += 1
            old, new = csv_view.status_of(saved.result)[0], csv_view.status_of(result)[0]
            if (old, saved.result.score) != (new, result.score):
                batch.changes.append(regrade.Change(
                    entry.name, entry.student, entry.lms_id, saved.result.score,
                    result.score, old, new, meta["why"] or ""))
        progress.update(entry.who, csv_view.status_of(result)[0], result.score)

    workers = max(1, jobs or os.cpu_count() or 1)
    shield = asdict(protections) if protections else None
    # Each submission in a process of its own, under a watchdog: past the whole-run limit and
    # a margin for the grader's own work, it is stopped and the batch goes on.
    pool.run([pool.Job((e, meta), (str(e.path), e.who, limits.as_dict(), run_as, shield))
              for e, meta in pending], grade, workers, limits.run_timeout + margin,
             finished)
    run.skipped, run.regraded = batch.skipped, batch.regraded
    run.changes = [c.line() for c in batch.changes]


def _write_outputs(out: Path, todo: list[Entry], graded: list[Graded], batch: BatchResult,
                   run: Run, *,
                   excel: bool, assignment: str, compare: bool, stream: TextIO) -> None:
    """Everything beside the CSV: the platforms' imports, the pairs, the regrade log, the class
    report and the summary."""
    files = outputs(out)
    written = [files["report"]]
    if any(g.lms == "canvas" for g in graded):
        written.append(write_text(files["canvas"], lms.canvas_import(graded, assignment)))
    if any(g.lms == "moodle" for g in graded):
        written.append(write_text(files["moodle"], lms.moodle_worksheet(graded)))
    if compare:
        who = {g.key: (g.student, g.lms_id) for g in graded}
        written.append(write_text(files["similar"],
                                  csv_view.pairs_table(who, batch.pairs, excel)))
    if batch.regraded:
        try:
            previous = files["regrades"].read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            previous = ""
        written.append(write_text(files["regrades"], regrade.history(previous, batch.changes)))
    renamed = [(ascii(e.found.path.name if e.found.path else e.raw), e.name) for e in todo
               if e.found is not None and e.name != e.found.key]
    run.renamed, run.pairs, run.seconds = renamed, batch.pairs, batch.seconds
    run.written = [p.name for p in written]
    write_text(files["report"], class_page(
        graded, pairs=batch.pairs, title=f"Class report ({out.name})", seconds=batch.seconds,
        feedback_folder=out.with_suffix("").name))
    summary = class_summary(graded, run)
    written.append(write_text(files["summary"], summary))
    batch.written = written
    Progress(0, stream).say("\n" + summary)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader batch",
        description="Grade every submission in a folder: a sub-folder, .zip or notebook per "
                    "student, or a Canvas or Moodle download of all submissions as it comes "
                    "(recognised by its file names).")
    parser.add_argument("submissions", type=Path, help="the folder of submissions")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"),
                        help="the CSV to write (default grades.csv); a JSON and a feedback page "
                             "per student go in the folder of the same name, the summary in "
                             "NAME-summary.txt, the class report in NAME-report.html")
    parser.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                        help="submissions graded at once (default: the number of cores)")
    parser.add_argument("--force", action="store_true",
                        help="regrade every submission, even those unchanged since the last run")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME",
                        help="regrade these students (by name, by the name of their files, or "
                             "by their Canvas or Moodle id); everyone else keeps the last "
                             "run's result")
    parser.add_argument("--failed", action="store_true",
                        help="regrade the students whose grading timed out or failed on the "
                             "grader's side; everyone else keeps the last run's result")
    parser.add_argument("--excel", action="store_true",
                        help="write the CSVs for Excel: UTF-8 with a byte-order mark (without "
                             "it Excel misreads accented names)")
    parser.add_argument("--assignment", default=lms.DEFAULT_ASSIGNMENT, metavar="TITLE",
                        help="the assignment column of the Canvas gradebook import; give "
                             "\"Title (id)\" as Canvas's gradebook export names it to fill an "
                             f"existing assignment (default: {lms.DEFAULT_ASSIGNMENT}, a new one)")
    parser.add_argument("--no-similarity", action="store_true",
                        help="do not compare the submissions with each other and with the "
                             "reference solutions")
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
    if args.force and (args.only or args.failed):
        parser.error("--force regrades everyone: give it, or --only / --failed, not both")
    try:                        # before any grading: a class is not graded to be lost
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=args.out.parent).close()
    except OSError as exc:
        parser.error(f"--out {args.out}: cannot write there ({exc.strerror or exc})")
    try:
        run_batch(args.submissions, args.out, jobs=args.jobs, force=args.force, limits=limits,
                  run_as=args.sandbox_user, protections=options.protections(args),
                  only=args.only, failed=args.failed, excel=args.excel,
                  assignment=args.assignment, compare=not args.no_similarity)
    except ValueError as exc:
        parser.error(str(exc))
    except OSError as exc:      # the disk filled, a file became unwritable: said, not a traceback
        print(f"error: {exc.strerror or exc}: {exc.filename or args.out}", file=sys.stderr)
        return 1
    return 0
