"""Step backward: Value.backward() on graphs where order, reuse and the seed gradient matter.

The graphs are made of the student's Values, created with Value(data, children, op), but every
node's _backward is the grader's own (its local derivatives come from finite differences): only
the walk is graded, so a mistake in an operation costs nothing here, and an engine without tanh
is graded as well as any other."""

import random

import pytest

from grader import ops
from grader.checking import graphs
from grader.checking.kit import Kit

STEP = "backward"

# The tutorial's neuron. With b = 6.8813735870195432 the pre-activation is exactly atanh(1/sqrt(2)),
# so o = 0.7071 and x1.grad = -1.5, w1.grad = 1.0, x2.grad = 0.5, w2.grad = 0, b.grad = 0.5.
# With b = 6.88 the numbers are o = 0.7064 and x1.grad = -1.5029. The same neuron at other inputs
# is part of the check, so an engine that recognises the tutorial's numbers gains nothing.
TUTORIAL_NEURONS = (
    graphs.neuron_spec(2.0, -3.0, 0.0, 1.0, 6.8813735870195432),
    graphs.neuron_spec(2.0, -3.0, 0.0, 1.0, 6.88),
    graphs.neuron_spec(1.5, -2.0, -0.5, 0.75, 3.2),
)


@pytest.mark.check(step=STEP, weight=3, visible=True,
                   title="the tutorial's neuron: o = tanh(x1*w1 + x2*w2 + b)")
def check_tutorial_neuron(kit: Kit) -> None:
    for spec in TUTORIAL_NEURONS:
        kit.structure(spec)


@pytest.mark.check(step=STEP, weight=2, title="(a * b).backward() starts the chain rule")
def check_seed(kit: Kit) -> None:
    kit.structure([["leaf", 1.5], ["leaf", -2.0], ["mul", 0, 1]])


@pytest.mark.check(step=STEP, weight=2, title="((a * b) + c) * d: gradients flow in order")
def check_chain(kit: Kit) -> None:
    kit.structure([["leaf", 0.7], ["leaf", -1.9], ["leaf", 1.3], ["leaf", 2.2],
                   ["mul", 0, 1], ["add", 4, 2], ["mul", 5, 3]])


@pytest.mark.check(step=STEP, weight=2,
                   title="t = a * b; t * c + t * d: a node on two paths (and one below it)")
def check_diamond(kit: Kit) -> None:
    kit.structure([["leaf", 1.1], ["leaf", -0.8], ["leaf", 2.4], ["leaf", -1.6],
                   ["mul", 0, 1], ["mul", 4, 2], ["mul", 4, 3], ["add", 5, 6]])
    # u = t * e on two paths, t below it on one edge but two paths: a walk that counts paths
    # where it means users (Kahn's algorithm without a visited set) never reaches t.
    kit.structure([["leaf", 1.1], ["leaf", -0.8], ["leaf", 0.6], ["leaf", 2.4], ["leaf", -1.6],
                   ["mul", 0, 1], ["mul", 5, 2], ["mul", 6, 3], ["mul", 6, 4], ["add", 7, 8]])


@pytest.mark.check(step=STEP, weight=3,
                   title="t = a * b; u = t * c; u + t: a node on a short path and a long one")
def check_paths_of_different_lengths(kit: Kit) -> None:
    kit.structure([["leaf", 0.9], ["leaf", -1.4], ["leaf", 1.7],
                   ["mul", 0, 1], ["mul", 3, 2], ["tanh", 4], ["add", 5, 3]])


@pytest.mark.check(step=STEP, weight=2, title="b = a + a; c = b + b; c * c: reuse on every level")
def check_reuse_levels(kit: Kit) -> None:
    kit.structure([["leaf", 0.9], ["add", 0, 0], ["add", 1, 1], ["mul", 2, 2]])


@pytest.mark.check(step=STEP, weight=1,
                   title="a - b, a / b, a ** 3, -a, 2 - a, 2 / a: nodes of every kind")
def check_every_kind_of_node(kit: Kit) -> None:
    kit.structure([["leaf", 1.4], ["leaf", -0.6], ["sub", 0, 1], ["div", 2, 0], ["pow", 3, 3],
                   ["neg", 4], ["csub", 2.0, 5], ["cdiv", 2.0, 6]])


# What a network's graph is made of: the core operations and the given ones that take operands
# on the right (+ and * twice as often, as in a network).
GRAPH_KINDS = tuple(name for name, op in ops.OPS.items()
                    if op.step in (None, "add", "mul", "tanh") and op.shape != "many" and
                    op.shape != "left") + ("add", "mul")


@pytest.mark.check(step=STEP, weight=2, title="random graphs with reuse and uneven paths",
                   seeds=(301, 302, 303, 304))
def check_random_graphs(kit: Kit, seed: int) -> None:
    rng = random.Random(seed)
    kit.structure(graphs.random_graph(rng, GRAPH_KINDS, n_leaves=3, n_ops=8,
                                      require_uneven=True))


@pytest.mark.check(step=STEP, weight=2,
                   title="backward() on a second graph sharing the first one's inputs")
def check_second_graph(kit: Kit) -> None:
    # As in training: every step builds a new graph on the same parameters.
    first = [["leaf", 0.7], ["leaf", -1.1], ["mul", 0, 1], ["tanh", 2], ["add", 3, 0]]
    second = [["leaf", 0.7], ["leaf", -1.1], ["add", 0, 1], ["mul", 2, 0], ["tanh", 3]]
    kit.structure(second, after=first)


@pytest.mark.check(step=STEP, weight=1, title="a chain of 300 additions")
def check_long_chain(kit: Kit) -> None:
    spec = [["leaf", 0.25]]
    for i in range(300):
        spec.append(["addc", i, 0.01])
    spec.append(["mul", len(spec) - 1, 0])
    kit.structure(spec, grads_of=[0, len(spec) - 1])


@pytest.mark.check(step=STEP, weight=0, title="a chain of 1500 additions (advice, no points)")
def check_very_long_chain(kit: Kit) -> None:
    spec = [["leaf", 0.25]]
    for i in range(1500):
        spec.append(["addc", i, 0.001])
    kit.structure(spec, grads_of=[0, len(spec) - 1])
