"""The operation table's numeric helpers: the fast paths the stand-in engine's gradients take
give what the plain definition gives, and graphs from a worker are refused when malformed."""

import random

import pytest

from grader import ops
from grader.sandbox.protocol import _depth


def _by_definition(node: list, values: list[float]) -> list[float]:
    """d(node)/d(operand) by central differences, the slow general way: every place an operand
    fills moves together, and an operand listed twice counts at its first place only."""
    op = ops.OPS[node[0]]
    indices = ops.operands(node)
    base = ops.arguments(node, values)
    places = [1] if op.shape == "left" else list(range(len(indices)))
    result = []
    for k, i in enumerate(indices):
        if indices.index(i) != k:
            result.append(0.0)
            continue
        x, h = values[i], 1e-6 * max(1.0, abs(values[i]))
        mine = [p for p, j in zip(places, indices) if j == i]

        def moved(delta: float, mine: list[int] = mine, x: float = x) -> float:
            nudged = list(base)
            for p in mine:
                nudged[p] = x + delta
            return float(op.forward(*nudged))
        result.append((moved(h) - moved(-h)) / (2 * h))
    return result


@pytest.mark.parametrize("name", [n for n in ops.OPS if n != "sum"])
def test_local_derivatives_are_the_central_differences_of_each_operation(name):
    op, draw = ops.OPS[name], random.Random(name)
    for _ in range(50):
        values = [draw.uniform(-3, 3), draw.uniform(-3, 3), draw.uniform(0.2, 3)]
        constant = draw.choice([2, 3, -1, 0.5, 1.5])
        nodes = {"binary": [[name, 0, 1], [name, 1, 1]], "right": [[name, 2, constant]],
                 "power": [[name, 2, constant]], "left": [[name, constant, 2]],
                 "unary": [[name, 2]]}[op.shape]
        for node in nodes:
            assert ops.local_derivatives(node, values) == _by_definition(node, values), node


def test_a_sum_moves_one_for_one_with_each_input_counted_at_its_first_place():
    assert ops.local_derivatives(["sum", [0, 1, 1, 2]], [1.0, 2.0, 3.0]) == [1.0, 2.0, 0.0, 1.0]


@pytest.mark.parametrize("spec", [
    [["leaf", True]], [["leaf", float("nan")]], [["leaf", 1.0], ["add", 0, 1]],
    [["leaf", 1.0], ["mulc", 0, "2"]], [["leaf", 1.0], ["cmul", None, 0]],
    [["leaf", 1.0], ["sum", 0]], [["leaf", 1.0], ["tanh", 0, 0]], [["leaf", 1.0], ["nope", 0]],
    [["leaf", 1.0], ["neg", True]], [], [["leaf", 1.0]] * 11, "graph"])
def test_a_malformed_graph_from_a_worker_is_refused(spec):
    assert ops.checked(spec, 10) is None


def test_a_well_formed_graph_is_taken_as_it_is():
    spec = [["leaf", 1.0], ["leaf", 2], ["mul", 0, 1], ["pow", 2, 2], ["sum", [0, 3, 3]],
            ["tanh", 4]]
    assert ops.checked(spec, 10) is spec


@pytest.mark.parametrize("value, depth", [
    (1, 0), ([], 1), ({}, 1), ([1, [2]], 2), ({"a": [{"b": []}]}, 4), ([[1], [[2]], 3], 3)])
def test_an_answers_depth_counts_nested_lists_and_dicts(value, depth):
    assert _depth(value, 32) == depth


def test_the_depth_count_stops_past_its_limit():
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    assert _depth(deep, 32) == 33
