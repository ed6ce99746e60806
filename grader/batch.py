"""Grade a whole class: one submission per entry of a folder, in parallel, into a CSV and a summary."""

from __future__ import annotations

import concurrent.futures
import csv
import hashlib
import io
import json
import multiprocessing
import os
import stat
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from . import __version__, integrity, steps
from .run.sandbox import Limits, Protections
from .output import write_text
from .untrusted import clean, csv_cell

MAX_HASHED_BYTES = 50_000_000      # a bigger file counts by its size and time, not its bytes
STATUSES = ("graded", "timed out", "crashed", "invalid", "error")
SKIP_NAMES = ("__MACOSX", "__pycache__")


@dataclass(frozen=True)
class Entry:
    name: str           # the student, as the entry is named
    path: Path


def entries(folder: Path, skipped: list[str] | None = None) -> list[Entry]:
    """Each folder, .zip, or loose file in `folder` is one student's submission (a symbolic
    link is never followed: it could lead to a classmate's work or anywhere else)."""
    found: list[Entry] = []
    taken: set[str] = set()
    for path in sorted(Path(folder).iterdir()):
        if path.name.startswith(".") or path.name in SKIP_NAMES:
            continue
        if path.is_symlink():
            if skipped is not None:
                skipped.append(clean(path.name))
            continue
        name = clean(path.stem if path.is_file() else path.name)
        base, k = name, 2
        while name in taken:          # alice/ and alice.zip are two entries
            name, k = f"{base}-{k}", k + 1
        taken.add(name)
        found.append(Entry(name, path))
    return found


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
    for file in _files(path):
        digest.update(str(file.relative_to(path) if file != path else file.name).encode())
        try:
            info = file.lstat()
            if stat.S_ISLNK(info.st_mode):
                digest.update(b"link:" + os.readlink(file).encode("utf-8", "replace"))
            elif stat.S_ISREG(info.st_mode) and info.st_size <= MAX_HASHED_BYTES:
                digest.update(file.read_bytes())
            else:
                digest.update(f"size:{info.st_size}:mtime:{info.st_mtime_ns}".encode())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def classify(result: dict[str, Any]) -> tuple[str, str]:
    """(status, reason) of one graded submission, for the CSV."""
    problems = [str(p) for p in result.get("problems") or []]
    if result.get("status") == "invalid":
        return "invalid", problems[0] if problems else "not a submission"
    if result.get("status") == "error":
        return "error", problems[-1] if problems else "the grader failed"
    checks = [c for s in result.get("steps", []) for c in s.get("checks", [])]
    for status, words, kinds in (
            ("timed out", ("timed out", "whole submission"), ("timeout", "run_timeout")),
            ("crashed", ("crashed", "exit status", "was killed"), ("crash", "killed", "exit"))):
        problem = next((p for p in problems if any(w in p for w in words)), None)
        if problem is not None:
            return status, problem
        hit = next((c for c in checks if c.get("error_kind") in kinds), None)
        if hit is not None:
            return status, f"{hit['number']}: {str(hit.get('message', '')).splitlines()[0]}"
    return "graded", "; ".join(problems)


def _grade_entry(path: str, name: str, limits: dict[str, Any], run_as: str | None,
                 protections: dict[str, Any] | None = None) -> dict[str, Any]:
    """Runs in a pool process: grade one submission, never raise."""
    try:
        from .api import grade_path
        from .report import as_json
        result = grade_path(Path(path), limits=Limits(**limits), label=name, run_as=run_as,
                            protections=Protections(**protections) if protections else None)
        return as_json(result)
    except Exception as exc:  # the grader itself failed: a result, not a crash of the batch
        return {"kit": "micrograd-kit", "submission": name, "score": 0.0,
                "max_score": float(steps.TOTAL_POINTS), "status": "error", "steps": [],
                "problems": [f"the grader failed on this submission: {type(exc).__name__}: {exc}"]}


@dataclass
class BatchResult:
    rows: list[dict[str, Any]] = field(default_factory=list)    # one per student, CSV order
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: int = 0
    seconds: float = 0.0
    links: list[str] = field(default_factory=list)     # entries not graded: symbolic links


class Progress:
    """A bar redrawn in place on a terminal; one line per submission when piped."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream, self.done, self.failed = total, stream, 0, 0
        self.started = time.monotonic()
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def update(self, name: str, status: str, score: float, skipped: bool = False) -> None:
        self.done += 1
        self.failed += status != "graded"
        elapsed = time.monotonic() - self.started
        clock = f"{int(elapsed) // 60:02d}:{int(elapsed) % 60:02d}"
        if self.tty:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            self.stream.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {self.done}/"
                              f"{self.total}  {clock} elapsed  {self.failed} not graded normally")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            note = " (unchanged, not regraded)" if skipped else ""
            self.stream.write(f"{self.done}/{self.total} {clock} {name}: {score:g}/"
                              f"{steps.TOTAL_POINTS} {status}{note}\n")
        self.stream.flush()


def run_batch(folder: Path, out: Path, *, jobs: int | None = None, force: bool = False,
              limits: Limits | None = None, run_as: str | None = "auto",
              protections: Protections | None = None, stream: TextIO = sys.stdout,
              grade: Callable[..., dict[str, Any]] = _grade_entry) -> BatchResult:
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
        stamp = fingerprint(entry.path, grader)
        saved = per_student / f"{entry.name}.json"
        if not force and saved.is_file():
            try:
                previous = json.loads(saved.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                previous = {}
            # A grading that failed on the grader's side is never kept: it is done again.
            if previous.get("fingerprint") == stamp and previous.get("status") != "error":
                batch.results[entry.name] = previous
                batch.skipped += 1
                progress.update(entry.name, previous.get("batch_status", "graded"),
                                previous.get("score", 0.0), skipped=True)
                continue
        pending.append((entry, stamp))

    def record(entry: Entry, stamp: str, result: dict[str, Any]) -> None:
        status, reason = classify(result)
        result.update(fingerprint=stamp, batch_status=status, batch_reason=reason)
        write_text(per_student / f"{entry.name}.json", json.dumps(result, indent=2))
        batch.results[entry.name] = result
        progress.update(entry.name, status, result.get("score", 0.0))

    workers = max(1, jobs or os.cpu_count() or 1)
    if pending:
        context = multiprocessing.get_context("spawn")   # the same on Linux, macOS and Windows
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            shield = asdict(protections) if protections else None
            futures = {pool.submit(grade, str(e.path), e.name, limits.as_dict(), run_as, shield):
                       (e, s) for e, s in pending}
            for future in concurrent.futures.as_completed(futures):
                entry, stamp = futures[future]
                try:
                    result = future.result()
                except Exception as exc:     # a pool process died: record it, go on
                    result = {"submission": entry.name, "score": 0.0, "status": "error",
                              "steps": [], "problems": [f"grading process failed: {exc}"]}
                record(entry, stamp, result)
    for entry in todo:
        result = batch.results[entry.name]
        row: dict[str, Any] = {"student": csv_cell(entry.name),
                               "status": result.get("batch_status", "graded"),
                               "reason": csv_cell(result.get("batch_reason", ""))}
        points = {s["id"]: s["points"] for s in result.get("steps", [])}
        for step_id in steps.STEP_IDS:
            row[step_id] = points.get(step_id, 0.0)
        row["total"] = result.get("score", 0.0)
        row["bonus"] = result.get("bonus_score", 0.0)
        batch.rows.append(row)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=["student", "status", "reason", *steps.CORE_IDS,
                                               "total", *[s.id for s in steps.BONUS_STEPS],
                                               "bonus"])
    writer.writeheader()
    writer.writerows(batch.rows)
    write_text(out, table.getvalue())
    batch.seconds = time.monotonic() - started
    summary = class_summary(batch)
    write_text(out.with_name(out.stem + "-summary.txt"), summary)
    stream.write("\n" + summary)
    stream.flush()
    return batch


def protections_text(shields: dict[str, Any]) -> str:
    """The protections a grading had, in one line (from the JSON's settings)."""
    parts = ["admission" if shields.get("admission") else "NO admission",
             "run-time guard" if shields.get("guard") else "NO run-time guard"]
    boundary = shields.get("boundary")
    parts.append(f"{boundary} boundary" if boundary and boundary != "none"
                 else "no operating-system boundary (bubblewrap not available)")
    parts.append(f"clean-up by {shields.get('cleanup')}")
    if shields.get("address_randomization") == "off":
        parts.append("address randomization off")
    return ", ".join(parts)


def _first_sentence(text: str) -> str:
    for end in (". ", ": ", "\n"):
        text = text.split(end)[0]
    return text.rstrip(".")[:160]


def class_summary(batch: BatchResult, top: int = 10) -> str:
    """What an instructor reads to decide what to re-teach."""
    results = list(batch.results.values())
    n = len(results)
    statuses = Counter(r.get("batch_status", "graded") for r in results)
    lines = [f"Class summary: {n} submissions ("
             + ", ".join(f"{statuses[s]} {s}" for s in STATUSES if statuses[s]) + ")"]
    if batch.skipped:
        lines.append(f"({batch.skipped} unchanged since the last run, not regraded)")
    if batch.links:
        lines.append(f"Not graded, symbolic links (hand in the files themselves): "
                     f"{', '.join(batch.links)}")
    shields = next((r.get("settings", {}).get("protections") for r in results
                    if r.get("settings", {}).get("protections")), None)
    if shields:
        lines.append(f"Protections: {protections_text(shields)}")
    lines.append("")
    lines.append(f"  {'step':<10} {'mean points':>14}  {'full marks':>10}")
    for step in steps.STEPS:
        got = [next((s["points"] for s in r.get("steps", []) if s["id"] == step.id), 0.0)
               for r in results]
        mean = sum(got) / n if n else 0.0
        full = sum(1 for g in got if g >= step.points) / n if n else 0.0
        lines.append(f"  {step.id:<10} {mean:>9.1f}/{step.points:<4} {full:>10.0%}")
    totals = [r.get("score", 0.0) for r in results]
    mean_total = sum(totals) / n if n else 0.0
    full_total = sum(1 for t in totals if t >= steps.TOTAL_POINTS) / n if n else 0.0
    lines.append(f"  {'total':<10} {mean_total:>9.1f}/{steps.TOTAL_POINTS:<4} {full_total:>10.0%}")
    failed: Counter[tuple[str, str]] = Counter()
    named: Counter[str] = Counter()
    for r in results:
        seen_checks, seen_named = set(), set()
        for s in r.get("steps", []):
            if s.get("state") == "not started":
                continue     # failures that say nothing about this step
            for c in s.get("checks", []):
                if c.get("state") in ("failed", "error") and c.get("weight", 1):
                    seen_checks.add((c["number"], c["title"]))
                    if c.get("diagnosis") and not c.get("blocked_by"):
                        # The mistake itself, not a run that fails because of another step.
                        seen_named.add(_first_sentence(str(c["diagnosis"])))
        failed.update(seen_checks)
        named.update(seen_named)
    if failed:
        lines += ["", "Checks failed most often (students):"]
        for (number, title), count in failed.most_common(top):
            lines.append(f"  {count:>4}  {number:<12} {title}")
    if named:
        lines += ["", "Mistakes named most often (students):"]
        for text, count in named.most_common(top):
            lines.append(f"  {count:>4}  {text}")
    lines.append("")
    lines.append(f"Graded in {batch.seconds:.1f} s.")
    return "\n".join(lines) + "\n"
