"""Wall time of `python -m grader --solutions` and of grading the stubs: python benchmarks/grading_time.py"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(*args: str, runs: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, check=True,
                       capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    for label, args in (("--solutions", ("--solutions",)), ("exercises (stubs)", ())):
        times = timed(*args)
        print(f"python -m grader {label:<18} median {statistics.median(times):.2f} s  "
              f"min {min(times):.2f} s  max {max(times):.2f} s  ({len(times)} runs)")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import pytest"], check=True)
    print(f"python -c 'import pytest' (for scale)   {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
