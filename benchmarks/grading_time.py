"""Wall time of grading: python benchmarks/grading_time.py

Prints the time of `python -m grader --solutions` for the 100 points and with the bonus, of
grading the stubs, and what the sealed worker costs: one grading of the solutions' 100 points
with every protection (under bubblewrap, and as a plain process) against the same grading with
admission and the run-time guard off in a plain process. The sealed worker should add at most
0.1 s."""

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader import steps  # noqa: E402
from grader.api import grade_path  # noqa: E402
from grader.limits import Protections  # noqa: E402
from grader.run.sandbox import bwrap_works  # noqa: E402


def timed(*args: str, runs: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, check=True,
                       capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def in_process(protections: Protections, runs: int = 7) -> float:
    """Median seconds of one grading of the solutions' 100 points, in this process."""
    grade_path(ROOT / "solutions", only=steps.CORE_IDS, protections=protections)   # warm up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = grade_path(ROOT / "solutions", only=steps.CORE_IDS, protections=protections)
        times.append(time.perf_counter() - start)
        assert result.score == 100, result.problems
    return statistics.median(times)


def main() -> None:
    core = tuple(a for step in steps.CORE_IDS for a in ("--step", step))
    for label, args in (("--solutions (the 100 points)", ("--solutions", *core)),
                        ("--solutions (with the bonus)", ("--solutions",)),
                        ("exercises (stubs)", ())):
        times = timed(*args)
        print(f"python -m grader {label:<30} median {statistics.median(times):.2f} s  "
              f"min {min(times):.2f} s  max {max(times):.2f} s  ({len(times)} runs)")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import pytest"], check=True)
    print(f"python -c 'import pytest' (for scale)   {time.perf_counter() - start:.2f} s")

    print("\nOne grading of the 100 points, in-process (median of 7):")
    unsealed = in_process(Protections(admission=False, guard=False, isolation="process"))
    print(f"  unsealed (no admission, no guard, plain process)   {unsealed:.3f} s")
    modes = [("sealed, plain process", Protections(isolation="process"))]
    if bwrap_works():
        modes.insert(0, ("sealed, bubblewrap", Protections(isolation="bwrap")))
    else:
        print("  (bubblewrap does not run here)")
    for label, protections in modes:
        sealed = in_process(protections)
        print(f"  {label:<49}  {sealed:.3f} s  ({sealed - unsealed:+.3f} s)")


if __name__ == "__main__":
    main()
