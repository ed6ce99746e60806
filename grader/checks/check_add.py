"""Step add: Value.__add__, through the operation's own _backward (no backward() needed).

Every check builds with the student's __add__ only: `2 + a` and `sum(...)` go through the given
__radd__, which the training step's given-operations check looks at instead."""

import random

import pytest

from grader.checking import graphs
from grader.checking.kit import Kit

STEP = "add"


@pytest.mark.check(step=STEP, weight=1, title="a + b: value and gradients")
def check_two_leaves(kit: Kit) -> None:
    kit.graph([["leaf", 1.25], ["leaf", -2.5], ["add", 0, 1]])


@pytest.mark.check(step=STEP, weight=1, title="a + b with a zero and with negative inputs")
def check_zero_and_negative(kit: Kit) -> None:
    kit.graph([["leaf", 0.0], ["leaf", -3.5], ["add", 0, 1]], seed=0.6)
    kit.graph([["leaf", -1.5], ["leaf", -0.25], ["add", 0, 1]], seed=-1.1)


@pytest.mark.check(step=STEP, weight=2, title="a + b in the middle of a graph (out.grad = 1.7)")
def check_upstream_gradient(kit: Kit) -> None:
    kit.graph([["leaf", 0.75], ["leaf", 2.25], ["add", 0, 1]], seed=1.7)


@pytest.mark.check(step=STEP, weight=2, title="a + a: one leaf used twice")
def check_reused_leaf(kit: Kit) -> None:
    kit.graph([["leaf", -1.5], ["add", 0, 0]], seed=1.3)


@pytest.mark.check(step=STEP, weight=2, title="b = a + a; c = b + b: a node used twice")
def check_reused_node(kit: Kit) -> None:
    kit.graph([["leaf", 0.8], ["add", 0, 0], ["add", 1, 1], ["addc", 2, 0.5]], seed=-0.6)


@pytest.mark.check(step=STEP, weight=1, title="a + 2: a plain number on the right")
def check_constant(kit: Kit) -> None:
    kit.graph([["leaf", 1.75], ["addc", 0, 2]], seed=2.0)


@pytest.mark.check(step=STEP, weight=3, title="random sums that reuse leaves and nodes",
                   seeds=(101, 102, 103))
def check_random_sums(kit: Kit, seed: int) -> None:
    rng = random.Random(seed)
    spec = graphs.random_graph(rng, ("add", "add", "addc"), n_leaves=3, n_ops=6)
    kit.graph(spec, seed=graphs.magnitude(rng))


@pytest.mark.check(step=STEP, weight=2,
                   title="out._backward() alone, with the inputs' .grad already set")
def check_own_backward(kit: Kit) -> None:
    kit.local(STEP)
