"""Step add: Value.__add__, checked through the operation's own _backward (no backward() needed)."""

import random

import pytest

from grader import graphs

STEP = "add"


@pytest.mark.check(step=STEP, weight=1, title="a + b: value and gradients")
def check_two_leaves(kit):
    kit.graph([["leaf", 1.25], ["leaf", -2.5], ["add", 0, 1]], walk="manual", seed=1.0)


@pytest.mark.check(step=STEP, weight=2, title="a + b in the middle of a graph (out.grad = 1.7)")
def check_upstream_gradient(kit):
    kit.graph([["leaf", 0.75], ["leaf", 2.25], ["add", 0, 1]], walk="manual", seed=1.7)


@pytest.mark.check(step=STEP, weight=2, title="a + a: one leaf used twice")
def check_reused_leaf(kit):
    kit.graph([["leaf", -1.5], ["add", 0, 0]], walk="manual", seed=1.3)


@pytest.mark.check(step=STEP, weight=2, title="b = a + a; b + b: a node used twice")
def check_reused_node(kit):
    kit.graph([["leaf", 0.8], ["add", 0, 0], ["add", 1, 1], ["addc", 2, 0.5]], walk="manual",
              seed=-0.6)


@pytest.mark.check(step=STEP, weight=2, title="constants on either side: a + 2, 2 + a, sum([...])")
def check_constants(kit):
    kit.graph([["leaf", 1.75], ["addc", 0, 2]], walk="manual", seed=2.0)
    kit.graph([["leaf", -0.5], ["cadd", 3.5, 0]], walk="manual", seed=0.5)
    kit.graph([["leaf", 1.1], ["leaf", -2.3], ["leaf", 0.6], ["sum", [0, 1, 2]]], walk="manual",
              seed=1.5)


@pytest.mark.check(step=STEP, weight=3, title="random sums that reuse leaves and nodes",
                   seeds=(101, 102, 103))
def check_random_sums(kit, seed):
    rng = random.Random(seed)
    spec = graphs.random_graph(rng, ("add", "add", "addc", "cadd", "sum"), n_leaves=3, n_ops=6)
    kit.graph(spec, walk="manual", seed=graphs.magnitude(rng))


@pytest.mark.check(step=STEP, weight=1, title="out._backward() alone adds out.grad into a.grad and b.grad")
def check_own_backward(kit):
    kit.local(STEP)
