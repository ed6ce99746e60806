"""Batch grading throughput: python benchmarks/batch_grading.py [COUNT] [JOBS]

Builds COUNT submissions (default 100) from tests/fixtures: correct engines, single-bug ones and
hostile ones (hangs, crashes, exits, memory bombs, floods of output) in the proportions below, then
grades them with `python -m grader batch` semantics and prints the wall time and throughput.
"""

import io
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from conftest import FIXTURES, SOLUTIONS, copy_tree, fixture_submission  # noqa: E402

from grader import steps  # noqa: E402
from grader.commands.batch import run_batch  # noqa: E402


def kinds():
    names = sorted(p.parent.name for p in FIXTURES.glob("*/mutation.json"))
    bugs = [n for n in names if "step" in json.loads((FIXTURES / n / "mutation.json").read_text())]
    hostile = [n for n in names if n.startswith(("hostile_", "broken_")) and "writes" not in n]
    return bugs, hostile


def build(folder: Path, count: int) -> dict:
    bugs, hostile = kinds()
    # 40% correct (a quarter of them with the bonus extensions.py, whose classifier check trains
    # a network), 45% one bug, 15% hostile or broken.
    plan = {"correct": round(count * 0.40), "hostile": round(count * 0.15)}
    plan["buggy"] = count - plan["correct"] - plan["hostile"]
    n = itertools.count()
    for k in range(plan["correct"]):
        copy_tree(SOLUTIONS, folder / f"s{next(n):03d}",
                  steps.ALL_FILES if k % 4 == 0 else steps.SUBMISSION_FILES)
    for name, _ in zip(itertools.cycle(bugs), range(plan["buggy"])):
        fixture_submission(name, folder / f"s{next(n):03d}")
    for name, _ in zip(itertools.cycle(hostile), range(plan["hostile"])):
        fixture_submission(name, folder / f"s{next(n):03d}", {"__TARGETS__": "[]"})
    return plan


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        plan = build(folder, count)
        started = time.perf_counter()
        batch = run_batch(folder, Path(tmp) / "grades.csv", jobs=jobs, stream=io.StringIO())
        seconds = time.perf_counter() - started
    statuses = {}
    for row in batch.rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    print(f"{count} submissions ({plan}) on {jobs} jobs: {seconds:.1f} s wall, "
          f"{count / seconds:.2f} submissions/s")
    print(f"statuses: {statuses}")


if __name__ == "__main__":
    main()
