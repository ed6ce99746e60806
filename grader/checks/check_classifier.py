"""Bonus step classifier: train on the Iris flowers with the student's whole engine, then classify
flowers it has not seen (the bonus steps' end-to-end check)."""

from typing import Any
import math
import random
from pathlib import Path

import pytest

from grader import steps
from grader.checks.kit import Kit

STEP = "classifier"
DATA = Path(__file__).resolve().parent.parent / "data" / "iris.csv"

# Calibrated with benchmarks/calibrate_classifier.py: the reference classifies 42 of these 45
# held-out flowers (93%), and 41 to 45 over 20 other splits and seeds (median 43), so 40 of 45
# (89%) separates working training from broken training (which stays near 33%).
SPLIT_SEED = 0
TRAIN_SEED = 0
PASS_MARK = 40
TIME_LIMIT = 60.0     # seconds; the reference needs about 3 on a 2-core machine


def split(seed: int = SPLIT_SEED, n_test: int = 45) -> tuple[list[list[float]], list[int],
                                                             list[list[float]], list[int]]:
    rows = DATA.read_text(encoding="utf-8").splitlines()[1:]
    xs = [[float(v) for v in row.split(",")[:4]] for row in rows]
    ys = [int(row.split(",")[4]) for row in rows]
    shuffled = list(range(len(xs)))
    random.Random(seed).shuffle(shuffled)
    train, test = shuffled[:-n_test], shuffled[-n_test:]
    columns = list(zip(*[xs[i] for i in train]))
    mean = [sum(c) / len(c) for c in columns]
    spread = [math.sqrt(sum((v - m) ** 2 for v in c) / len(c)) for c, m in zip(columns, mean)]
    scale = lambda i: [(v - m) / s for v, m, s in zip(xs[i], mean, spread)]  # noqa: E731
    return ([scale(i) for i in train], [ys[i] for i in train],
            [scale(i) for i in test], [ys[i] for i in test])


def _why(kit: Kit, predictions: list[Any], right: int, train_x: list[list[float]],
         train_y: list[int], test_x: list[list[float]]) -> str | None:
    """What the predictions say about the training."""
    if len(set(predictions)) == 1:
        return ("every prediction is the same class: the network did not learn to tell the "
                "flowers apart. Check that the loss goes down over the epochs.")
    # Trained for a single epoch, the model should already differ; if it is the same as after
    # all of them, training changes nothing.
    short = kit.quietly("classifier", timeout=TIME_LIMIT, train_x=train_x, train_y=train_y,
                        test_x=test_x, seed=TRAIN_SEED, epochs=1)
    if short is not None and short.get("predictions") == predictions:
        return ("training changes nothing: the model predicts the same after one epoch as "
                "after all of them, so the parameters are never updated (or their gradients "
                "are always 0).")
    if right <= 20:
        return ("the model is about as good as a guess: it learns, but not towards the right "
                "classes (check which class each output stands for, and the sign of the "
                "update).")
    return None


@pytest.mark.check(step=STEP, weight=1, end_to_end=True, needs=steps.get(STEP).needs,
                   title="test accuracy on 45 held-out flowers")
def check_accuracy(kit: Kit) -> None:
    train_x, train_y, test_x, test_y = split()
    try:
        result = kit.probe("classifier", timeout=TIME_LIMIT, train_x=train_x, train_y=train_y,
                           test_x=test_x, seed=TRAIN_SEED)
        predictions = result.get("predictions") or []
        if len(predictions) != len(test_y):
            raise kit.fail(f"expected {len(test_y)} predictions, got {len(predictions)}")
        right = sum(1 for p, y in zip(predictions, test_y) if p == y)
        if right < PASS_MARK:
            raise kit.fail(
                f"train_classifier on 105 standardized flowers (seed {TRAIN_SEED}), then "
                f"predict on 45 others: {right} of 45 right ({right / 45:.0%}); the reference "
                f"gets 42 and the pass mark is {PASS_MARK}",
                diagnosis=_why(kit, predictions, right, train_x, train_y, test_x))
    except Exception as failure:
        kit.blame(failure)
        raise
