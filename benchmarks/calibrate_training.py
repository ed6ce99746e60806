"""Calibrate the training step's thresholds on the reference solution: python benchmarks/calibrate_training.py

Runs the tutorial's training (MLP(3, [4, 4, 1]), 4 examples, lr 0.05, 50 steps) with solutions/
from many starting points drawn the way the grader draws them (weights uniform in [-1, 1], bias 0,
from random.Random(seed)), and prints the distribution of the final loss. The training check
(grader/checks/check_training.py) uses FULL_RUN_SEEDS and FINAL_LOSS_LIMIT; rerun this script after
changing either, or the data, and keep the figures it prints in the check's comment.
"""

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "solutions"))
sys.path.insert(0, str(ROOT))

import nn  # noqa: E402  (the reference solution)
import train  # noqa: E402

from grader.checks.check_training import (  # noqa: E402
    FINAL_LOSS_LIMIT, FULL_RUN_SEEDS, initial_parameters)


def final_loss(seed: int) -> tuple[float, list[float]]:
    model = nn.MLP(3, [4, 4, 1])
    for p, value in zip(model.parameters(), initial_parameters(seed)):
        p.data = value
    losses = train.train(model, train.XS, train.YS, steps=50, learning_rate=0.05, log=None)
    predictions = [model(x).data for x in train.XS]
    return losses[-1], predictions


def main(count: int = 500) -> None:
    finals = []
    signs_wrong = 0
    for seed in range(count):
        loss, predictions = final_loss(seed)
        finals.append(loss)
        signs_wrong += any(p * y <= 0 for p, y in zip(predictions, train.YS))
    finals.sort()
    q = lambda f: finals[min(len(finals) - 1, int(f * len(finals)))]  # noqa: E731
    print(f"reference final loss over {count} seeds: median {statistics.median(finals):.4f}, "
          f"90% {q(0.9):.4f}, 99% {q(0.99):.4f}, max {finals[-1]:.4f}")
    print(f"runs with a prediction of the wrong sign: {signs_wrong} of {count}")
    print(f"runs above FINAL_LOSS_LIMIT = {FINAL_LOSS_LIMIT}: "
          f"{sum(f > FINAL_LOSS_LIMIT for f in finals)} of {count}")
    graded = [final_loss(seed)[0] for seed in FULL_RUN_SEEDS]
    print(f"graded seeds {FULL_RUN_SEEDS}: final losses {[round(x, 4) for x in graded]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
