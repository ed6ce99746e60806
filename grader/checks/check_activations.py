"""Bonus step activations: relu, sigmoid, exp and log, through each operation's own _backward.

Inputs stay away from relu's kink at 0 and log's edge at 0, where a finite difference means
nothing, and exp's inputs stay small enough not to overflow."""

import pytest

from grader import ops
from grader.checking.kit import Kit

STEP = "activations"
OPS = ops.STEP_OPS[STEP]
CASES = [("relu", 1.3), ("relu", -0.7), ("sigmoid", 0.8), ("sigmoid", -2.1), ("sigmoid", 0.0),
         ("exp", 0.9), ("exp", -1.6), ("exp", 0.0), ("log", 0.45), ("log", 2.6)]


@pytest.mark.check(step=STEP, weight=1, title="relu, sigmoid, exp and log of one input")
@pytest.mark.parametrize("op, x", CASES)
def check_each_operation(kit: Kit, op: str, x: float) -> None:
    kit.graph([["leaf", x], [op, 0]])


@pytest.mark.check(step=STEP, weight=2, title="in the middle of a graph (out.grad = 1.8)")
@pytest.mark.parametrize("op", OPS)
def check_upstream_gradient(kit: Kit, op: str) -> None:
    # op(op(a)) for relu and exp; log(exp(a)) and sigmoid(sigmoid(a)) keep the domain valid.
    inner = "exp" if op == "log" else op
    kit.graph([["leaf", 0.7], [inner, 0], [op, 1]], seed=1.8)


@pytest.mark.check(step=STEP, weight=2, title="one input used twice, each use with its own grad")
@pytest.mark.parametrize("op", OPS)
def check_reused_input(kit: Kit, op: str) -> None:
    kit.graph([["leaf", 1.15], [op, 0], [op, 0]], seeds={1: 0.8, 2: -1.4})


@pytest.mark.check(step=STEP, weight=2, edge=True, title="sigmoid of large inputs: no overflow")
@pytest.mark.parametrize("x", [40.0, -40.0, 800.0, -800.0])
def check_sigmoid_large_inputs(kit: Kit, x: float) -> None:
    kit.graph([["leaf", x], ["sigmoid", 0]])


@pytest.mark.check(step=STEP, weight=2,
                   title="out._backward() alone, with the input's .grad already set")
@pytest.mark.parametrize("op", OPS)
def check_own_backward(kit: Kit, op: str) -> None:
    kit.local(op)
