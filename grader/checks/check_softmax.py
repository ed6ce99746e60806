"""Bonus step softmax: softmax and cross-entropy on the student's Values, stable for large scores."""

import math
import random

import pytest

from grader import graphs

STEP = "softmax"


def softmax(xs):
    top = max(xs)
    exps = [math.exp(x - top) for x in xs]
    return [e / sum(exps) for e in exps]


def cross_entropy(xs, target):
    top = max(xs)
    return math.log(math.fsum(math.exp(x - top) for x in xs)) + top - xs[target]


def numeric_grad(f, xs):
    """Central differences of a function of a list of floats (see graphs.finite_difference_grads)."""
    grads = []
    for i, x in enumerate(xs):
        h = 1e-6 * max(1.0, abs(x))
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        grads.append((f(up) - f(down)) / (2 * h))
    return grads


def _compare(kit, got, want, what, context):
    if not isinstance(got, list) or len(got) != len(want):
        raise kit.fail(f"{context}\nexpected {len(want)} {what}, got {got!r}"[:300])
    for i, (g, w) in enumerate(zip(got, want)):
        kit.expect_close(g, w, f"{what}[{i}]", context)


@pytest.mark.check(step=STEP, weight=3, title="softmax: probabilities and the scores' gradients",
                   seeds=(401, 402))
def check_softmax(kit, seed):
    rng = random.Random(seed)
    logits = [graphs.magnitude(rng) for _ in range(4)]
    weights = [graphs.magnitude(rng) for _ in range(4)]
    result = kit.probe("softmax", logits=logits, weights=weights)
    context = (f"softmax of Values {logits}; then each probability's grad set to {weights} and "
               f"every _backward called, newest first")
    _compare(kit, result.get("out"), softmax(logits), "the probabilities", context)
    want = numeric_grad(lambda xs: sum(w * p for w, p in zip(weights, softmax(xs))), logits)
    _compare(kit, result.get("grad"), want, "the scores' gradients", context)


@pytest.mark.check(step=STEP, weight=3, title="cross-entropy: loss and the scores' gradients",
                   seeds=(411, 412))
def check_cross_entropy(kit, seed):
    rng = random.Random(seed)
    logits = [graphs.magnitude(rng) for _ in range(3)]
    target = rng.randrange(3)
    result = kit.probe("softmax", logits=logits, target=target)
    context = f"cross_entropy(Values {logits}, target={target}), then out.grad = 1"
    _compare(kit, result.get("out"), [cross_entropy(logits, target)], "the loss", context)
    want = numeric_grad(lambda xs: cross_entropy(xs, target), logits)
    _compare(kit, result.get("grad"), want, "the scores' gradients", context)


@pytest.mark.check(step=STEP, weight=2, title="large scores like [1000, 1001, 998] do not overflow")
def check_large_scores(kit):
    logits = [1000.0, 1001.0, 998.0]
    result = kit.probe("softmax", logits=logits, weights=[1.0, -1.0, 0.5])
    _compare(kit, result.get("out"), softmax(logits), "the probabilities",
             f"softmax of Values {logits}")
    result = kit.probe("softmax", logits=[-1000.0, 1000.0, 0.0], target=0)
    _compare(kit, result.get("out"), [cross_entropy([-1000.0, 1000.0, 0.0], 0)], "the loss",
             "cross_entropy(Values [-1000, 1000, 0], target=0): a probability of e^-2000")
