"""Calibrate the classifier step on the reference solution: python benchmarks/calibrate_classifier.py [N]

Trains solutions/extensions.py's classifier on N (default 20) other splits and seeds of the Iris
data, prints the held-out accuracy and time of each, and the graded split's. The pass mark in
grader/checks/check_classifier.py comes from these figures.
"""

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "solutions"))
sys.path.insert(0, str(ROOT))

import extensions  # noqa: E402  (the reference solution)

from grader.checks.check_classifier import PASS_MARK, SPLIT_SEED, TRAIN_SEED, split  # noqa: E402


def accuracy(split_seed: int, train_seed: int) -> tuple[int, float]:
    train_x, train_y, test_x, test_y = split(split_seed)
    started = time.perf_counter()
    model = extensions.train_classifier(train_x, train_y, seed=train_seed)
    seconds = time.perf_counter() - started
    right = sum(extensions.predict(model, x) == y for x, y in zip(test_x, test_y))
    return right, seconds


def main(count: int = 20) -> None:
    graded, seconds = accuracy(SPLIT_SEED, TRAIN_SEED)
    print(f"graded split: {graded}/45 right in {seconds:.1f} s (pass mark {PASS_MARK})")
    scores, times = [], []
    for k in range(1, count + 1):
        right, took = accuracy(1000 + k, k)
        scores.append(right)
        times.append(took)
    print(f"{count} other splits: right out of 45: min {min(scores)}, median "
          f"{statistics.median(scores)}, max {max(scores)}; training time median "
          f"{statistics.median(times):.1f} s, max {max(times):.1f} s")
    print(f"below the pass mark: {sum(s < PASS_MARK for s in scores)} of {count}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
