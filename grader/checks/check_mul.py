"""Step mul: Value.__mul__, through the operation's own _backward (no backward() needed).

`2 * a` goes through the given __rmul__, which the training step's given-operations check looks
at instead."""

import random

import pytest

from grader.checking import graphs
from grader.checking.kit import Kit

STEP = "mul"


@pytest.mark.check(step=STEP, weight=1, title="a * b: value and gradients")
def check_two_leaves(kit: Kit) -> None:
    kit.graph([["leaf", 1.5], ["leaf", -2.5], ["mul", 0, 1]])


@pytest.mark.check(step=STEP, weight=2, title="a * b with a zero input, and with two negatives")
def check_zero_and_negative(kit: Kit) -> None:
    kit.graph([["leaf", 0.0], ["leaf", 2.0], ["mul", 0, 1]], seed=-0.6)
    kit.graph([["leaf", 1.8], ["leaf", 0.0], ["mul", 0, 1]], seed=1.4)
    kit.graph([["leaf", -1.2], ["leaf", -0.7], ["mul", 0, 1]], seed=2.3)


@pytest.mark.check(step=STEP, weight=2, title="a * b in the middle of a graph (out.grad = -1.6)")
def check_upstream_gradient(kit: Kit) -> None:
    kit.graph([["leaf", 2.5], ["leaf", 0.6], ["mul", 0, 1]], seed=-1.6)


@pytest.mark.check(step=STEP, weight=2, title="a * a: one leaf used twice")
def check_reused_leaf(kit: Kit) -> None:
    kit.graph([["leaf", -1.75], ["mul", 0, 0]], seed=1.4)


@pytest.mark.check(step=STEP, weight=2, title="t = a * b; (t * c) * (t * d): a node used twice")
def check_reused_node(kit: Kit) -> None:
    spec = [["leaf", 1.2], ["leaf", -0.7], ["leaf", 2.1], ["leaf", 0.9],
            ["mul", 0, 1], ["mul", 4, 2], ["mul", 4, 3], ["mul", 5, 6]]
    kit.graph(spec, seed=0.8)


@pytest.mark.check(step=STEP, weight=1, title="a * 3: a plain number on the right")
def check_constant(kit: Kit) -> None:
    kit.graph([["leaf", 1.3], ["mulc", 0, 3]], seed=1.5)


@pytest.mark.check(step=STEP, weight=2, title="random products that reuse leaves and nodes",
                   seeds=(201, 202, 203))
def check_random_products(kit: Kit, seed: int) -> None:
    rng = random.Random(seed)
    spec = graphs.random_graph(rng, ("mul", "mul", "mulc"), n_leaves=3, n_ops=5)
    kit.graph(spec, seed=graphs.magnitude(rng))


@pytest.mark.check(step=STEP, weight=2,
                   title="out._backward() alone, with the inputs' .grad already set")
def check_own_backward(kit: Kit) -> None:
    kit.local(STEP)
