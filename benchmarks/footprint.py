"""What one submission costs: python benchmarks/footprint.py [RUNS]

Grades three submissions with `python -m grader PATH` in a fresh process, as a platform's
container does (the solutions with the bonus, the solutions with one bug, the untouched stubs),
and prints for each the median wall time and the peak memory of the whole process tree (the
grading process, pytest, the worker and anything it starts), sampled every 10 ms from /proc.
Linux only (it reads /proc).
"""

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from conftest import EXERCISES, SOLUTIONS, copy_tree, fixture_submission  # noqa: E402

from grader import steps  # noqa: E402

PAGE = 4096


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                found.add(child)
                frontier.append(child)
    return list(found)


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def measure(path: Path) -> tuple[float, int]:
    """Seconds and peak bytes of the whole tree for one `python -m grader PATH`."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "grader", str(path)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(_rss(pid) for pid in _tree(proc.pid)))
        time.sleep(0.01)
    return time.perf_counter() - start, peak


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as folder:
        cases = {
            "solutions, bonus included": copy_tree(SOLUTIONS, Path(folder, "full"),
                                                   steps.ALL_FILES),
            "one bug (mul_half_swapped)": fixture_submission("mul_half_swapped",
                                                             Path(folder, "bug")),
            "the stubs": copy_tree(EXERCISES, Path(folder, "stubs"), steps.ALL_FILES),
        }
        measure(cases["the stubs"])                            # warm the file cache
        print(f"one grading in a fresh process, median of {runs} (peak: the whole process "
              "tree)")
        for name, path in cases.items():
            found = [measure(path) for _ in range(runs)]
            seconds = statistics.median(s for s, _ in found)
            peak = max(p for _, p in found)
            print(f"  {name:28s} {seconds:5.2f} s   peak {peak / 2**20:5.0f} MB")


if __name__ == "__main__":
    main()
