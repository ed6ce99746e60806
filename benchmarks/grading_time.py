"""Wall time of `python -m grader --solutions` and of grading the stubs: python benchmarks/grading_time.py

The 100 points' steps should take under 1 s on a 2-core machine; the bonus classifier check
trains a network for about 3 s more."""

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader import steps  # noqa: E402


def timed(*args: str, runs: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, check=True,
                       capture_output=True)
        times.append(time.perf_counter() - start)
    return times


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


if __name__ == "__main__":
    main()
