"""Wall time of grading: python benchmarks/grading_time.py

Prints the time of one bare pytest process (the floor), of `python -m grader --solutions` for
the 100 points (as a multiple of that floor: the target is 2.5x) and with the bonus (target
1.5 s on 2 cores), of grading the stubs, of the commands that never grade, and what the sealed
worker costs: one grading of the solutions' 100 points
with every protection (under bubblewrap, and as a plain process) against the same grading with
admission and the run-time guard off in a plain process. The sealed worker should add at most
0.1 s."""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader import steps  # noqa: E402
from grader.api import grade_path  # noqa: E402
from grader.limits import Protections  # noqa: E402
from grader.sandbox.boundary import bwrap_works  # noqa: E402


def timed(*args: str, runs: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, check=True,
                       capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def in_process(modes: dict[str, Protections], runs: int = 7) -> dict[str, float]:
    """Median seconds of one grading of the solutions' 100 points in each mode, in this process,
    the modes taking turns (so that a slower minute of the machine counts against none)."""
    times: dict[str, list[float]] = {name: [] for name in modes}
    for protections in modes.values():
        grade_path(ROOT / "solutions", only=steps.CORE_IDS, protections=protections)  # warm up
    for _ in range(runs):
        for name, protections in modes.items():
            start = time.perf_counter()
            result = grade_path(ROOT / "solutions", only=steps.CORE_IDS, protections=protections)
            times[name].append(time.perf_counter() - start)
            assert result.score == 100, result.problems
    return {name: statistics.median(found) for name, found in times.items()}


def bare_pytest(runs: int = 7) -> list[float]:
    """One pytest process that runs one empty test: the floor any pytest-based grader stands on."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "test_nothing.py").write_text("def test_nothing():\n    pass\n")
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            folder], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    core = tuple(a for step in steps.CORE_IDS for a in ("--step", step))
    bare = statistics.median(bare_pytest())
    print(f"one bare pytest process (one empty test)        median {bare:.2f} s")
    for label, args in (("--solutions (the 100 points)", ("--solutions", *core)),
                        ("--solutions (with the bonus)", ("--solutions",)),
                        ("exercises (stubs)", ()),
                        ("hint add", ("hint", "add")), ("steps", ("steps",)),
                        ("--help", ("--help",))):
        times = timed(*args)
        median = statistics.median(times)
        print(f"python -m grader {label:<30} median {median:.2f} s  min {min(times):.2f} s  "
              f"max {max(times):.2f} s  ({len(times)} runs, {median / bare:.1f}x bare pytest)")

    print("\nOne grading of the 100 points, in-process (median of 7, modes taking turns):")
    modes = {"unsealed (no admission, no guard, plain process)":
             Protections(admission=False, guard=False, isolation="process"),
             "sealed, plain process": Protections(isolation="process")}
    if bwrap_works():
        modes["sealed, bubblewrap"] = Protections(isolation="bwrap")
    else:
        print("  (bubblewrap does not run here)")
    found = in_process(modes)
    unsealed = found.pop("unsealed (no admission, no guard, plain process)")
    print(f"  {'unsealed (no admission, no guard, plain process)':<49}  {unsealed:.3f} s")
    for label, sealed in found.items():
        print(f"  {label:<49}  {sealed:.3f} s  ({sealed - unsealed:+.3f} s)")


if __name__ == "__main__":
    main()
