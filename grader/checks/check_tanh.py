"""Step tanh: Value.tanh, through the operation's own _backward (no backward() needed)."""

import pytest
from grader.checking.kit import Kit

STEP = "tanh"


@pytest.mark.check(step=STEP, weight=3, title="tanh(a) at inputs from -3 to 3, 0 included")
@pytest.mark.parametrize("x", [0.0, 0.55, -1.3, 2.7])
def check_values(kit: Kit, x: float) -> None:
    kit.graph([["leaf", x], ["tanh", 0]])


@pytest.mark.check(step=STEP, weight=3, title="tanh(tanh(a)) with out.grad = 2.5")
@pytest.mark.parametrize("x", [0.9, -1.7])
def check_chained(kit: Kit, x: float) -> None:
    kit.graph([["leaf", x], ["tanh", 0], ["tanh", 1]], seed=2.5)


@pytest.mark.check(step=STEP, weight=3, title="tanh(a) twice from one a, each with its own grad")
def check_reused_input(kit: Kit) -> None:
    spec = [["leaf", 0.65], ["tanh", 0], ["tanh", 0]]
    kit.graph(spec, seeds={1: 0.7, 2: -1.3})


@pytest.mark.check(step=STEP, weight=3, edge=True,
                   title="tanh of large inputs: +-1, gradient 0, no overflow")
@pytest.mark.parametrize("x", [25.0, -40.0, 1000.0, -1000.0])
def check_large_inputs(kit: Kit, x: float) -> None:
    kit.graph([["leaf", x], ["tanh", 0]])


@pytest.mark.check(step=STEP, weight=2,
                   title="out._backward() alone, with the input's .grad already set")
def check_own_backward(kit: Kit) -> None:
    kit.local(STEP)
