"""The operations a Value supports, declared once, and graphs of them evaluated with plain floats.

Every part of the kit reads this table: the checks build graphs from it, the worker builds them
with the student's Values from each operation's `syntax` (handed to it as data: the worker holds
no forward function and no derivative), the stand-in engine records its graph in the same form,
and the visualizer and the diagnosis name nodes with its `text`.

It holds forward values only. No derivative is written here or anywhere in the grader: expected
gradients come from central finite differences (`finite_difference_grads`), so nothing the
student release ships gives an operation's answer away. Standard library only: the worker loads
this file too.

A graph ("spec") is a list of nodes, each a JSON list: ["leaf", x] (optionally ["leaf", x, name]),
then one of the shapes below, operands referring to earlier nodes; the last node is the output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

Spec = list[list[Any]]


def _sigmoid(x: float) -> float:
    # Either form of 1 / (1 + e^-x) keeps exp()'s argument at or below 0.
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


@dataclass(frozen=True)
class Op:
    """One operation: how a node of it is laid out, computed with floats, built with Values."""

    name: str
    shape: str                     # binary [op, i, j] | right [op, i, c] | left [op, c, i]
    #                                unary [op, i] | power [op, i, k] | many [op, [i, ...]]
    text: str                      # how it reads, {0} and {1} in the order of the shape
    forward: Callable[..., float]  # on floats, arguments in the order of the shape
    syntax: str                    # how Python writes it on Values: an operator ("+", "**"),
    #                                "neg", a method (".tanh"), or "sum"
    step: str | None = None        # the step whose TODO writes it; None: given code
    method: str = ""               # the Value method the student writes ("__add__", "tanh")
    # Where the checks call its _backward alone: (operand values, their .grad before the call,
    # out.grad), chosen so that the usual wrong rules give different numbers.
    probes: tuple[tuple[tuple[float, ...], tuple[float, ...], float], ...] = ()
    monotonic: tuple[float, float] | None = None   # where forward() is monotonic (inverted there)

    @property
    def symbol(self) -> str:
        """The operation on its own: "+", "*", "**", "tanh", "sum" (the label Value keeps)."""
        bare = self.text.format("\0", "\0").replace("\0", "")
        return bare.replace("([])", "").replace("()", "").strip()


# A zero input, negative ones, and grads already on the inputs, for the binary operations.
_TWO_INPUTS = (((1.5, -2.5), (0.3, 0.7), 1.7), ((0.0, 2.0), (-0.4, 1.1), -0.6),
               ((-1.2, 0.7), (0.9, -0.2), 2.3))


def _one_input(*xs: float) -> tuple[tuple[tuple[float, ...], tuple[float, ...], float], ...]:
    return tuple(((x,), (g,), up) for x, g, up in zip(xs, (0.3, -0.4, 0.9), (1.7, -0.6, 2.3)))


OPS: dict[str, Op] = {op.name: op for op in (
    Op("add", "binary", "{0} + {1}", lambda a, b: a + b, "+", "add", "__add__",
       _TWO_INPUTS),
    Op("addc", "right", "{0} + {1}", lambda a, c: a + c, "+", "add"),
    Op("cadd", "left", "{0} + {1}", lambda c, a: c + a, "+"),
    Op("mul", "binary", "{0}*{1}", lambda a, b: a * b, "*", "mul", "__mul__",
       _TWO_INPUTS),
    Op("mulc", "right", "{0}*{1}", lambda a, c: a * c, "*", "mul"),
    Op("cmul", "left", "{0}*{1}", lambda c, a: c * a, "*"),
    Op("sub", "binary", "{0} - {1}", lambda a, b: a - b, "-"),
    Op("csub", "left", "{0} - {1}", lambda c, a: c - a, "-"),
    Op("div", "binary", "{0} / {1}", lambda a, b: a / b, "/"),
    Op("cdiv", "left", "{0} / {1}", lambda c, a: c / a, "/"),
    Op("pow", "power", "{0}**{1}", lambda a, k: a ** k, "**"),
    Op("neg", "unary", "-{0}", lambda a: -a, "neg"),
    Op("tanh", "unary", "tanh({0})", math.tanh, ".tanh", "tanh", "tanh",
       _one_input(0.8, -0.55, 0.3), (-20.0, 20.0)),
    Op("relu", "unary", "relu({0})", lambda a: max(0.0, a), ".relu", "activations",
       "relu", _one_input(1.3, -0.7, 2.1)),
    Op("sigmoid", "unary", "sigmoid({0})", _sigmoid, ".sigmoid", "activations",
       "sigmoid", _one_input(0.8, 0.15, 0.6), (-30.0, 30.0)),
    Op("exp", "unary", "exp({0})", math.exp, ".exp", "activations", "exp",
       _one_input(0.6, -1.2, 1.1), (-50.0, 50.0)),
    Op("log", "unary", "log({0})", math.log, ".log", "activations", "log",
       _one_input(1.7, 0.45, 2.6), (1e-9, 1e9)),
    Op("sum", "many", "sum([{0}])", lambda *xs: math.fsum(xs), "sum"),
)}

# The operations whose _backward a student writes, by step (a + 2 and a * 2 reuse them).
STEP_OPS: dict[str, tuple[str, ...]] = {
    step: tuple(op.name for op in OPS.values() if op.step == step and op.shape in
                ("binary", "unary"))
    for step in dict.fromkeys(op.step for op in OPS.values() if op.step)}


def wire(spec: Spec) -> list[list[Any]]:
    """A graph as the worker is handed it: each node its Python syntax and its arguments, in
    order, as ["n", i] (node i) or ["c", x] (a constant), whether a step's TODO writes it (only
    those are looked for among a result's inputs), and its name; a leaf stays ["leaf", x]. The
    worker needs nothing else of an operation: no value, no derivative."""
    wired: list[list[Any]] = []
    for node in spec:
        if node[0] == "leaf":
            wired.append(["leaf", node[1]])
            continue
        op = OPS[node[0]]
        refs = iter(operands(node))
        if op.shape == "left":
            args = [["c", node[1]], ["n", next(refs)]]
        elif op.shape in ("right", "power"):
            args = [["n", next(refs)], ["c", node[2]]]
        else:
            args = [["n", i] for i in refs]
        wired.append([op.syntax, args, op.step is not None, op.name])
    return wired


def operands(node: Sequence[Any]) -> list[int]:
    """The indices of the nodes a node is computed from, in the order of its shape."""
    if node[0] == "leaf":
        return []
    shape = OPS[node[0]].shape
    if shape == "binary":
        return [node[1], node[2]]
    if shape in ("right", "unary", "power"):
        return [node[1]]
    if shape == "left":
        return [node[2]]
    return list(node[1])


def arguments(node: Sequence[Any], values: Sequence[Any]) -> list[Any]:
    """The node's arguments in the order of its shape: operands as `values[i]`, constants as is."""
    shape = OPS[node[0]].shape
    if shape == "binary":
        return [values[node[1]], values[node[2]]]
    if shape in ("right", "power"):
        return [values[node[1]], node[2]]
    if shape == "left":
        return [node[1], values[node[2]]]
    if shape == "unary":
        return [values[node[1]]]
    return [values[j] for j in node[1]]


def renumber(node: Sequence[Any], new: dict[int, int]) -> list[Any]:
    """The node with its operand indices mapped through `new`."""
    node = list(node)
    shape = "leaf" if node[0] == "leaf" else OPS[node[0]].shape
    if shape == "binary":
        node[1], node[2] = new[node[1]], new[node[2]]
    elif shape in ("right", "unary", "power"):
        node[1] = new[node[1]]
    elif shape == "left":
        node[2] = new[node[2]]
    elif shape == "many":
        node[1] = [new[j] for j in node[1]]
    return node


def apply(node: Sequence[Any], values: Sequence[float]) -> float:
    if node[0] == "leaf":
        return float(node[1])
    return float(OPS[node[0]].forward(*arguments(node, values)))


def evaluate(spec: Spec, override: dict[int, float] | None = None, start: int = 0,
             base: Sequence[float] | None = None) -> list[float]:
    """Every node's value. `override` pins chosen nodes to given values; nodes before `start`
    are taken from `base` (a perturbation cannot change what was computed before it)."""
    values: list[float] = list(base[:start]) if base is not None and start else []
    for i in range(len(values), len(spec)):
        if override and i in override:
            values.append(override[i])
        else:
            values.append(apply(spec[i], values))
    return values


def finite_differences(f: Callable[[list[float]], float], xs: Sequence[float]) -> list[float]:
    """df/dx for each x, by central differences with the step finite_difference_grads uses:
    for a function of many inputs written directly with floats (a network's loss, say), which
    is much faster than evaluating its graph node by node."""
    point = [float(x) for x in xs]
    grads = []
    for i, x in enumerate(point):
        h = 1e-6 * max(1.0, abs(x))
        point[i] = x + h
        up = f(point)
        point[i] = x - h
        down = f(point)
        point[i] = x
        grads.append((up - down) / (2 * h))
    return grads


def finite_difference_grads(spec: Spec, seed: float = 1.0,
                            only: Sequence[int] | None = None) -> list[float]:
    """d(seed * output)/d(node) for every node (or those in `only`), by central differences.

    A node is perturbed by pinning its value, so the gradient of every node (not only the
    leaves) is known. A step of 1e-6 relative keeps truncation error (~h^2) and rounding error
    (~1e-16 / h) both near 1e-10 for the magnitudes these graphs produce.
    """
    base = evaluate(spec)
    out = len(spec) - 1
    wanted = set(range(len(spec)) if only is None else only)
    users: list[list[int]] = [[] for _ in spec]
    for j, node in enumerate(spec):
        for i in dict.fromkeys(operands(node)):
            users[i].append(j)

    def moved(i: int, value: float, affected: list[int]) -> float:
        # Only what depends on node i is computed again: the same operations on the same
        # numbers as evaluating the whole graph with node i pinned.
        values = list(base)
        values[i] = value
        for j in affected:
            values[j] = apply(spec[j], values)
        return values[out]

    grads = []
    for i in range(len(spec)):
        if i not in wanted:
            grads.append(math.nan)
            continue
        if i == out:
            grads.append(seed)
            continue
        seen, pending = set(), list(users[i])
        while pending:
            j = pending.pop()
            if j not in seen:
                seen.add(j)
                pending.extend(users[j])
        if out not in seen:
            grads.append(0.0)                  # the output does not depend on it
            continue
        affected = sorted(seen)
        h = 1e-6 * max(1.0, abs(base[i]))
        up, down = moved(i, base[i] + h, affected), moved(i, base[i] - h, affected)
        grads.append(seed * (up - down) / (2 * h))
    return grads


def local_derivatives(node: Sequence[Any], values: Sequence[float]) -> list[float]:
    """d(node)/d(operand) for each operand of one node, at the operands' values, by central
    differences: what a node's own _backward must multiply out.grad by, without the rule."""
    name = node[0]
    if name == "sum":
        # Each input of a sum moves it one for one: exact, and linear in its inputs (by
        # differences, a sum of n inputs would cost n sums of n).
        indices = node[1]
        counts: dict[int, int] = {}
        for i in indices:
            counts[i] = counts.get(i, 0) + 1
        return _first_counts(indices, counts)
    op = OPS[name]
    forward, shape = op.forward, op.shape
    # The shapes one operand fills, spelled out: this runs for every node of every graph the
    # stand-in engine asks about (thousands per training), where a general loop costs double.
    if shape == "unary":
        x = values[node[1]]
        h = 1e-6 * max(1.0, abs(x))
        return [(forward(x + h) - forward(x - h)) / (2 * h)]
    if shape in ("right", "power"):
        x, c = values[node[1]], node[2]
        h = 1e-6 * max(1.0, abs(x))
        return [(float(forward(x + h, c)) - float(forward(x - h, c))) / (2 * h)]
    if shape == "left":
        c, x = node[1], values[node[2]]
        h = 1e-6 * max(1.0, abs(x))
        return [(float(forward(c, x + h)) - float(forward(c, x - h))) / (2 * h)]
    a, b = values[node[1]], values[node[2]]
    if node[1] == node[2]:
        # An operand used twice (a * a) moves in both places: that is the node's derivative
        # with respect to the operand node, which is what its _backward must add up to.
        h = 1e-6 * max(1.0, abs(a))
        return [(float(forward(a + h, a + h)) - float(forward(a - h, a - h))) / (2 * h), 0.0]
    ha, hb = 1e-6 * max(1.0, abs(a)), 1e-6 * max(1.0, abs(b))
    return [(float(forward(a + ha, b)) - float(forward(a - ha, b))) / (2 * ha),
            (float(forward(a, b + hb)) - float(forward(a, b - hb))) / (2 * hb)]


def _first_counts(indices: Sequence[int], counts: dict[int, int]) -> list[float]:
    """Each operand's count at its first place, 0 at the others (in one pass)."""
    seen: set[int] = set()
    result = []
    for i in indices:
        result.append(float(counts[i]) if i not in seen else 0.0)
        seen.add(i)
    return result


def checked(spec: Any, limit: int) -> Spec | None:
    """A graph from outside (the stand-in engine's, in a worker) as a Spec, or None when it is
    not one: known operations, operands that come before their node, numbers where numbers
    belong, at most `limit` nodes."""
    if not isinstance(spec, list) or not 0 < len(spec) <= limit:
        return None
    references = 0                   # operands over all nodes: the work of the walk
    for i, node in enumerate(spec):
        refs = _references(node)
        if refs is None:
            return None
        references += len(refs)
        if references > 4 * limit:
            return None
        for j in refs:
            if type(j) is not int or not 0 <= j < i:
                return None
    return spec


SIZES = {"binary": 3, "right": 3, "left": 3, "unary": 2, "power": 3, "many": 2}


def _references(node: Any) -> list[Any] | None:
    """The nodes a well-formed node refers to ([] for a leaf), or None when it is not one."""
    if type(node) is not list or not node or type(node[0]) is not str:
        return None
    name = node[0]
    if name == "leaf":
        return [] if len(node) == 2 and _number(node[1]) else None
    op = OPS.get(name)
    if op is None or len(node) != SIZES[op.shape]:
        return None
    shape = op.shape
    if shape == "binary":
        return [node[1], node[2]]
    if shape == "unary":
        return [node[1]]
    if shape == "many":
        return node[1] if type(node[1]) is list else None
    if shape == "left":
        return [node[2]] if _number(node[1]) else None
    return [node[1]] if _number(node[2]) else None          # right, power


def _number(x: Any) -> bool:
    """A finite number a float holds (an int past a float's range is not one)."""
    if type(x) is float:
        return math.isfinite(x)
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


def leaf_gradients(spec: Spec, leaves: Sequence[int]) -> list[float]:
    """d(output)/d(node) for each of `leaves`: the chain rule over each node's local
    derivatives, each by central differences (local_derivatives). For the stand-in engine's
    graphs: as exact as finite_difference_grads, in a time linear in the graph."""
    values = evaluate(spec)
    grads = [0.0] * len(spec)
    grads[-1] = 1.0
    for i in range(len(spec) - 1, -1, -1):
        node = spec[i]
        if node[0] == "leaf" or grads[i] == 0.0:
            continue
        for j, d in zip(operands(node), local_derivatives(node, values)):
            grads[j] += d * grads[i]
    return [grads[i] for i in leaves]
