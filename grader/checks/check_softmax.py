"""Bonus step softmax: softmax and cross-entropy, stable for large scores.

They run on the grader's stand-in Value, so a mistake in exp or log (the activations step) costs
nothing here."""

from typing import Any, Callable, Sequence
import math
import random

import pytest

from grader.checking import graphs
from grader.checking.kit import Kit
from grader.sandbox import tasks

STEP = "softmax"


def softmax(xs: Sequence[float]) -> list[float]:
    top = max(xs)
    exps = [math.exp(x - top) for x in xs]
    return [e / sum(exps) for e in exps]


def cross_entropy(xs: Sequence[float], target: int) -> float:
    top = max(xs)
    return math.log(math.fsum(math.exp(x - top) for x in xs)) + top - xs[target]


def numeric_grad(f: Callable[[list[float]], float], xs: Sequence[float]) -> list[float]:
    """Central differences of a function of a list of floats (see graphs.finite_difference_grads)."""
    grads = []
    for i, x in enumerate(xs):
        h = 1e-6 * max(1.0, abs(x))
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        grads.append((f(up) - f(down)) / (2 * h))
    return grads


def _compare(kit: Kit, got: Any, want: list[float], what: str, context: str,
             diagnosis: str | None = None) -> None:
    if not isinstance(got, list) or len(got) != len(want):
        raise kit.fail(f"{context}\nexpected {len(want)} {what}, got {got!r}"[:300])
    for i, (g, w) in enumerate(zip(got, want)):
        kit.expect_close(g, w, f"{what}[{i}]", context, diagnosis=diagnosis)


def _fits(got: Any, want: Sequence[float]) -> bool:
    return isinstance(got, list) and len(got) == len(want) and all(
        isinstance(g, (int, float)) and graphs.close(g, w) for g, w in zip(got, want))


def _plain_normaliser(logits: list[float], weights: list[float], got: Any) -> str | None:
    """Whether the gradients are those of a softmax that divides by its sum as a plain number."""
    total = sum(math.exp(x - max(logits)) for x in logits)
    fixed = numeric_grad(lambda xs: sum(w * math.exp(x - max(logits)) / total
                                        for w, x in zip(weights, xs)), logits)
    if _fits(got, fixed):
        return ("softmax divides by the sum of the exponentials as a plain number (its .data): "
                "the probabilities come out right, but backward() cannot see that each one "
                "depends on every score through that sum. Keep the sum a Value.")
    return None


@pytest.mark.check(step=STEP, weight=3, title="softmax: probabilities and the scores' gradients",
                   seeds=(401, 402))
def check_softmax(kit: Kit, seed: int) -> None:
    rng = random.Random(seed)
    logits = [graphs.magnitude(rng) for _ in range(4)]
    weights = [graphs.magnitude(rng) for _ in range(4)]
    result = kit.probe(tasks.SOFTMAX, logits=logits, weights=weights)
    context = (f"softmax of Values {logits}; then backward() from the sum of the probabilities "
               f"weighted by {weights}")
    _compare(kit, result.get("out"), softmax(logits), "the probabilities", context)
    want = numeric_grad(lambda xs: sum(w * p for w, p in zip(weights, softmax(xs))), logits)
    _compare(kit, result.get("grad"), want, "the scores' gradients", context,
             _plain_normaliser(logits, weights, result.get("grad")))


@pytest.mark.check(step=STEP, weight=3, title="cross-entropy: loss and the scores' gradients",
                   seeds=(411, 412))
def check_cross_entropy(kit: Kit, seed: int) -> None:
    rng = random.Random(seed)
    logits = [graphs.magnitude(rng) for _ in range(3)]
    target = rng.randrange(3)
    result = kit.probe(tasks.SOFTMAX, logits=logits, target=target)
    context = f"cross_entropy(Values {logits}, target={target}), then backward()"
    _compare(kit, result.get("out"), [cross_entropy(logits, target)], "the loss", context)
    want = numeric_grad(lambda xs: cross_entropy(xs, target), logits)
    _compare(kit, result.get("grad"), want, "the scores' gradients", context)


@pytest.mark.check(step=STEP, weight=2, edge=True,
                   title="large scores like [1000, 1001, 998] do not overflow")
def check_large_scores(kit: Kit) -> None:
    logits = [1000.0, 1001.0, 998.0]
    result = kit.probe(tasks.SOFTMAX, logits=logits, weights=[1.0, -1.0, 0.5])
    _compare(kit, result.get("out"), softmax(logits), "the probabilities",
             f"softmax of Values {logits}")
    result = kit.probe(tasks.SOFTMAX, logits=[-1000.0, 1000.0, 0.0], target=0)
    _compare(kit, result.get("out"), [cross_entropy([-1000.0, 1000.0, 0.0], 0)], "the loss",
             "cross_entropy(Values [-1000, 1000, 0], target=0): a probability of e^-2000")
