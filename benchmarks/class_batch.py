"""A realistic class, graded as an instructor grades it:
python benchmarks/class_batch.py [--count 40] [--jobs 2] [--layout canvas|moodle|folders]

Builds COUNT submissions (default 40) the way a class hands them in: correct engines in the
styles of real learners (tests/fixtures/real_*), single bugs in those styles (realbug_*) and in
the reference (the mutation fixtures), most of them with the bonus's extensions.py; lays them
out as a Canvas download (flat files, default), a Moodle download, or a folder per student;
then runs `python -m grader batch -j JOBS` on it and prints the wall time, the submissions per
second, the statuses and the slowest gradings (from the CSV's seconds column).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from conftest import SOLUTIONS, fixture_submission, mutation_fixtures  # noqa: E402
from test_real_styles import BUGS, CORRECT, style_submission  # noqa: E402

from grader import steps  # noqa: E402



def plan(count: int) -> list[tuple[str, str]]:
    """(kind, fixture) for each student: a third correct styles, a quarter single bugs in a
    style, the rest single bugs in the reference (one per step, round-robin)."""
    mutations = mutation_fixtures()
    by_step: dict[str, list[str]] = {}
    for name in mutations:
        by_step.setdefault(name.split("_")[0], []).append(name)
    spread = [name for group in itertools.zip_longest(*by_step.values()) for name in group
              if name]
    correct = round(count / 3)
    styled_bugs = round(count / 4)
    chosen = [("style", n) for n, _ in zip(itertools.cycle(CORRECT), range(correct))]
    chosen += [("style", n) for n, _ in zip(itertools.cycle(BUGS), range(styled_bugs))]
    chosen += [("mutation", n) for n, _ in zip(itertools.cycle(spread),
                                               range(count - correct - styled_bugs))]
    return chosen


def build(folder: Path, count: int, layout: str) -> tuple[Counter[str], dict[str, str]]:
    """The class in `folder`; the mix, and which fixture each student id is."""
    staging = folder.parent / "staging"
    mix: Counter[str] = Counter()
    made_of: dict[str, str] = {}
    for k, (kind, name) in enumerate(plan(count)):
        student = staging / f"s{k:03d}"
        if kind == "style":
            style_submission(name, student)
        else:
            fixture_submission(name, student)
        with_bonus = k % 4 != 3               # three in four hand in the bonus too
        if with_bonus and not (student / steps.EXTENSION_FILE).exists():
            shutil.copy(SOLUTIONS / steps.EXTENSION_FILE, student / steps.EXTENSION_FILE)
        elif not with_bonus and (student / steps.EXTENSION_FILE).exists():
            (student / steps.EXTENSION_FILE).unlink()
        what = "correct style" if name in CORRECT else \
            "bug in a style" if kind == "style" else "bug in the reference"
        mix[what + (" + bonus" if with_bonus else "")] += 1
        made_of[str(1000 + k)] = name + (" + bonus" if with_bonus else "")
        _lay_out(student, folder, k, layout)
    return mix, made_of


def _lay_out(student: Path, folder: Path, k: int, layout: str) -> None:
    """One student's folder as the chosen platform's download holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    if layout == "folders":
        shutil.copytree(student, folder / student.name)
    elif layout == "moodle":
        shutil.copytree(student, folder / f"Student {k:03d}_{1000 + k}_assignsubmission_file_")
    else:
        for n, file in enumerate(sorted(p for p in student.iterdir() if p.is_file())):
            shutil.copy(file, folder / f"student{k:03d}_{1000 + k}_{90000 + 10 * k + n}_"
                                       f"{file.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--layout", choices=("canvas", "moodle", "folders"), default="canvas")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        mix, made_of = build(folder, args.count, args.layout)
        out = Path(tmp) / "out" / "grades.csv"
        started = time.perf_counter()
        ran = subprocess.run([sys.executable, "-m", "grader", "batch", str(folder), "--out",
                              str(out), "-j", str(args.jobs)], cwd=ROOT, capture_output=True,
                             text=True)
        seconds = time.perf_counter() - started
        if ran.returncode != 0:
            sys.exit(ran.stderr)
        with open(out, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        summary = out.with_name("grades-summary.txt").read_text(encoding="utf-8")
    statuses = Counter(row["status"] for row in rows)
    print(f"{len(rows)} submissions ({args.layout} layout): "
          + ", ".join(f"{n} {kind}" for kind, n in sorted(mix.items())))
    print(f"batch -j {args.jobs}: {seconds:.1f} s wall, {len(rows) / seconds:.2f} "
          f"submissions/s; graded in {sum(float(r['seconds']) for r in rows):.1f} s of "
          f"gradings")
    print(f"statuses: {dict(statuses)}; mean total "
          f"{sum(float(r['total']) for r in rows) / len(rows):.1f}")
    print("slowest:")
    for r in sorted(rows, key=lambda r: -float(r["seconds"]))[:5]:
        print(f"  {float(r['seconds']):5.1f} s  {r['student']} ({r['id']}): "
              f"{made_of.get(r['id'], '?')}, {r['total']} points, {r['status']}")
    flagged = [line for line in summary.splitlines() if line.startswith("  ") and "%  " in line]
    print(f"similar-code flags: {len(flagged)} shown in the summary")


if __name__ == "__main__":
    main()
