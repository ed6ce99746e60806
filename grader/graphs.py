"""Expression graphs as data: random generation, plain-float evaluation, finite differences, text.

A graph is a list of nodes, each a JSON list: ["leaf", x], ["add", i, j], ["addc", i, c] (node + c),
["cadd", c, i] (c + node), ["mul", i, j], ["mulc", i, c], ["cmul", c, i], ["sub", i, j],
["csub", c, i], ["div", i, j], ["cdiv", c, i], ["pow", i, k], ["neg", i], ["tanh", i],
["sum", [i, j, ...]]. Operands always refer to earlier nodes; the last node is the output.
Expected values come only from evaluating this list with floats; there is no autograd here.
"""

from __future__ import annotations

import math
import random
from typing import Any, Sequence

Spec = list[list[Any]]

BINARY = {"add": "+", "mul": "*", "sub": "-", "div": "/"}
UNARY = ("tanh", "relu", "sigmoid", "exp", "log")     # written as method calls: a.tanh()


def apply(op: list[Any], values: Sequence[float]) -> float:
    kind = op[0]
    if kind == "leaf":
        return float(op[1])
    if kind == "add":
        return values[op[1]] + values[op[2]]
    if kind == "mul":
        return values[op[1]] * values[op[2]]
    if kind == "sub":
        return values[op[1]] - values[op[2]]
    if kind == "div":
        return values[op[1]] / values[op[2]]
    if kind == "addc":
        return values[op[1]] + op[2]
    if kind == "cadd":
        return op[1] + values[op[2]]
    if kind == "mulc":
        return values[op[1]] * op[2]
    if kind == "cmul":
        return op[1] * values[op[2]]
    if kind == "csub":
        return op[1] - values[op[2]]
    if kind == "cdiv":
        return op[1] / values[op[2]]
    if kind == "pow":
        return values[op[1]] ** op[2]
    if kind == "neg":
        return -values[op[1]]
    if kind == "tanh":
        return math.tanh(values[op[1]])
    if kind == "relu":
        return max(0.0, values[op[1]])
    if kind == "sigmoid":
        x = values[op[1]]
        return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
    if kind == "exp":
        return math.exp(values[op[1]])
    if kind == "log":
        return math.log(values[op[1]])
    if kind == "sum":
        return math.fsum(values[j] for j in op[1])
    raise ValueError(f"unknown op {kind!r}")


def evaluate(spec: Spec, override: dict[int, float] | None = None) -> list[float]:
    """Every node's value; `override` pins chosen nodes to given values (for finite differences)."""
    values: list[float] = []
    for i, op in enumerate(spec):
        if override and i in override:
            values.append(override[i])
        else:
            values.append(apply(op, values))
    return values


def finite_difference_grads(spec: Spec, seed: float = 1.0,
                            only: Sequence[int] | None = None) -> list[float]:
    """d(seed * output)/d(node) for every node, by central differences in double precision.

    Interior nodes are perturbed by pinning their value, so the expected gradient of every node
    (not only the leaves) is known. A step of 1e-6 relative keeps truncation error (~h^2) and
    rounding error (~1e-16 / h) both near 1e-10 for the magnitudes these graphs produce.
    """
    base = evaluate(spec)
    out = len(spec) - 1
    grads = []
    wanted = set(range(len(spec)) if only is None else only)
    for i in range(len(spec)):
        if i not in wanted:
            grads.append(math.nan)
            continue
        if i == out:
            grads.append(seed)
            continue
        h = 1e-6 * max(1.0, abs(base[i]))
        up = evaluate(spec, {i: base[i] + h})[out]
        down = evaluate(spec, {i: base[i] - h})[out]
        grads.append(seed * (up - down) / (2 * h))
    return grads


# Tolerance: a correct engine agrees with central differences to about 1e-9 here, and every bug
# the checks target is off by at least a few percent, so 1e-5 relative (with an absolute floor of
# 1e-6 for gradients that should be zero) leaves four orders of magnitude on each side.
REL_TOL = 1e-5
ABS_TOL = 1e-6


def close(got: float, expected: float, rel: float = REL_TOL, abs_: float = ABS_TOL) -> bool:
    if not (math.isfinite(got) and math.isfinite(expected)):
        return False
    return abs(got - expected) <= abs_ + rel * max(abs(got), abs(expected))


def relative_error(got: float, expected: float) -> float:
    if not (math.isfinite(got) and math.isfinite(expected)):
        return math.inf
    return abs(got - expected) / max(abs(expected), abs(got), 1e-12)


# ------------------------------------------------------------------ text
LEAF_NAMES = "abcdefghjkmnpqrsuvwxyz"


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _const(x: float) -> str:
    return f"({x:.6g})" if x < 0 else f"{x:.6g}"


def leaf_names(spec: Spec) -> dict[int, str]:
    """Leaves are named a, b, c, ... unless the spec names them (["leaf", 2.0, "x1"])."""
    names: dict[int, str] = {}
    for i, op in enumerate(spec):
        if op[0] == "leaf":
            k = len(names)
            names[i] = op[2] if len(op) > 2 else LEAF_NAMES[k] if k < len(LEAF_NAMES) else f"x{k}"
    return names


def _labels(spec: Spec) -> tuple[dict[int, str], list[str]]:
    """A text for every node, and the `tN = ...` definitions of interior nodes used twice or more."""
    uses: dict[int, int] = {}
    for op in spec:
        for j in operands(op):
            uses[j] = uses.get(j, 0) + 1
    labels: dict[int, str] = dict(leaf_names(spec))
    definitions: list[str] = []
    out = len(spec) - 1
    for i, op in enumerate(spec):
        if op[0] == "leaf":
            continue
        e = _expr(op, labels.__getitem__)
        if uses.get(i, 0) > 1 and i != out:
            name = f"t{len(definitions) + 1}"
            definitions.append(f"{name} = {_strip(e)}")
            labels[i] = name
        else:
            labels[i] = e
    return labels, definitions


def render(spec: Spec) -> str:
    """Readable form: `t1 = a*b; out = tanh(t1 + c)  with a=1.5, b=-2, c=0.7`."""
    labels, definitions = _labels(spec)
    lines = definitions + [f"out = {_strip(labels[len(spec) - 1])}"]
    names = leaf_names(spec)
    given = ", ".join(f"{names[i]}={_fmt(spec[i][1])}" for i in sorted(names))
    return "; ".join(lines) + (f"  with {given}" if given else "")


def node_text(spec: Spec, i: int) -> str:
    """Node i as an expression (`a + b`), even when it is the output or has a `tN` name."""
    labels = _labels(spec)[0]
    return labels[i] if spec[i][0] == "leaf" else _strip(_expr(spec[i], labels.__getitem__))


def node_name(spec: Spec, i: int) -> str:
    """How a message refers to node i: a leaf's letter, `out`, a `tN` name or its expression."""
    if i == len(spec) - 1:
        return "out"
    return _strip(_labels(spec)[0][i])


def _strip(e: str) -> str:
    return e[1:-1] if e.startswith("(") and e.endswith(")") and _balanced(e[1:-1]) else e


def _balanced(e: str) -> bool:
    depth = 0
    for ch in e:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def _expr(op: list[Any], text: Any) -> str:
    kind = op[0]
    if kind in BINARY:
        return f"({text(op[1])}{BINARY[kind]}{text(op[2])})" if kind == "mul" else \
            f"({text(op[1])} {BINARY[kind]} {text(op[2])})"
    if kind == "addc":
        return f"({text(op[1])} + {_const(op[2])})"
    if kind == "cadd":
        return f"({_const(op[1])} + {text(op[2])})"
    if kind == "mulc":
        return f"({text(op[1])}*{_const(op[2])})"
    if kind == "cmul":
        return f"({_const(op[1])}*{text(op[2])})"
    if kind == "csub":
        return f"({_const(op[1])} - {text(op[2])})"
    if kind == "cdiv":
        return f"({_const(op[1])} / {text(op[2])})"
    if kind == "pow":
        return f"{text(op[1])}**{_const(op[2])}"
    if kind == "neg":
        return f"(-{text(op[1])})"
    if kind in UNARY:
        return f"{kind}({_strip(text(op[1]))})"
    if kind == "sum":
        return f"sum([{', '.join(text(j) for j in op[1])}])"
    return "?"


def operands(op: list[Any]) -> list[int]:
    kind = op[0]
    if kind in BINARY:
        return [op[1], op[2]]
    if kind in ("addc", "mulc", "pow", "neg") or kind in UNARY:
        return [op[1]]
    if kind in ("cadd", "cmul", "csub", "cdiv"):
        return [op[2]]
    if kind == "sum":
        return list(op[1])
    return []


# ------------------------------------------------------------------ random graphs
def magnitude(rng: random.Random, low: float = 0.5, high: float = 3.0) -> float:
    """A value of size 0.5 to 3 with a random sign, rounded so messages stay readable."""
    return round(rng.choice((-1, 1)) * rng.uniform(low, high), 3)


def random_graph(rng: random.Random, ops: Sequence[str], n_leaves: int = 3, n_ops: int = 6,
                 limit: float = 50.0) -> Spec:
    """A random graph over `ops` in which leaves and interior nodes are reused.

    Operands are drawn with a bias towards recent nodes (so graphs are deep) and all earlier
    nodes stay eligible (so they branch and rejoin). Values are kept below `limit` in size.
    """
    while True:
        spec: Spec = [["leaf", magnitude(rng)] for _ in range(n_leaves)]
        for _ in range(n_ops):
            kind = rng.choice(list(ops))
            pick = lambda: min(len(spec) - 1, int(len(spec) * rng.random() ** 0.6))  # noqa: E731
            if kind in BINARY:
                spec.append([kind, pick(), pick()])
            elif kind in ("addc", "mulc"):
                spec.append([kind, pick(), magnitude(rng)])
            elif kind in ("cadd", "cmul", "csub", "cdiv"):
                spec.append([kind, magnitude(rng), pick()])
            elif kind == "pow":
                spec.append([kind, pick(), rng.choice((2, 3, -1))])
            elif kind == "sum":
                spec.append([kind, [pick() for _ in range(3)]])
            else:
                spec.append([kind, pick()])
        try:
            values = evaluate(spec)
        except (ZeroDivisionError, ValueError, OverflowError):
            continue
        divisors = [values[op[2]] for op in spec if op[0] in ("div", "cdiv")]
        divisors += [values[op[1]] for op in spec if op[0] == "pow" and op[2] < 0]
        if all(math.isfinite(v) and abs(v) < limit for v in values) and \
                all(abs(d) > 0.2 for d in divisors):
            # The output must depend on every leaf, or some gradients are trivially 0.
            if all(abs(g) > 1e-9 for g in finite_difference_grads(spec)[:n_leaves]):
                return prune(spec)


def prune(spec: Spec) -> Spec:
    """Drop the nodes the output does not depend on, renumbering the rest."""
    keep = {len(spec) - 1}
    for i in range(len(spec) - 1, -1, -1):
        if i in keep:
            keep.update(operands(spec[i]))
    new_index = {old: new for new, old in enumerate(sorted(keep))}
    pruned: Spec = []
    for old in sorted(keep):
        op = list(spec[old])
        kind = op[0]
        if kind in BINARY:
            op[1], op[2] = new_index[op[1]], new_index[op[2]]
        elif kind in ("addc", "mulc", "pow", "neg") or kind in UNARY:
            op[1] = new_index[op[1]]
        elif kind in ("cadd", "cmul", "csub", "cdiv"):
            op[2] = new_index[op[2]]
        elif kind == "sum":
            op[1] = [new_index[j] for j in op[1]]
        pruned.append(op)
    return pruned


# ------------------------------------------------------------------ the tutorial's neuron
def neuron_spec(x1: float, w1: float, x2: float, w2: float, b: float) -> Spec:
    """o = tanh(x1*w1 + x2*w2 + b), with the tutorial's names for its leaves."""
    return [["leaf", x1, "x1"], ["leaf", w1, "w1"], ["leaf", x2, "x2"], ["leaf", w2, "w2"],
            ["leaf", b, "b"], ["mul", 0, 1], ["mul", 2, 3], ["add", 5, 6], ["add", 7, 4],
            ["tanh", 8]]


# ------------------------------------------------------------------ networks as graphs
def mlp_graph(nin: int, sizes: Sequence[int], params: Sequence[float],
              xs: Sequence[Sequence[float]], ys: Sequence[float] | None = None
              ) -> tuple[Spec, list[int], list[int]]:
    """The graph of MLP(nin, sizes) on inputs xs, its parameters in parameters() order.

    Each neuron is tanh(sum(w_i * x_i) + b), parameters listed layer by layer, neuron by neuron,
    weights then bias. With ys, the output is the summed squared error; without, the sum of the
    outputs. Returns (spec, indices of the parameter leaves, indices of each example's output).
    """
    spec: Spec = [["leaf", float(p)] for p in params]
    outputs: list[int] = []
    for x in xs:
        current = []
        for xi in x:
            spec.append(["leaf", float(xi)])
            current.append(len(spec) - 1)
        k = 0
        fan_in = nin
        for size in sizes:
            layer = []
            for _ in range(size):
                products = []
                for j in range(fan_in):
                    spec.append(["mul", k + j, current[j]])
                    products.append(len(spec) - 1)
                spec.append(["sum", products + [k + fan_in]])
                spec.append(["tanh", len(spec) - 1])
                layer.append(len(spec) - 1)
                k += fan_in + 1
            current, fan_in = layer, size
        outputs.extend(current)
    if ys is None:
        spec.append(["sum", list(outputs)])
    else:
        squares = []
        for out, y in zip(outputs, ys):
            spec.append(["addc", out, -float(y)])
            spec.append(["pow", len(spec) - 1, 2])
            squares.append(len(spec) - 1)
        spec.append(["sum", squares])
    return spec, list(range(len(params))), outputs


def mlp_size(nin: int, sizes: Sequence[int]) -> int:
    total, fan_in = 0, nin
    for size in sizes:
        total += size * (fan_in + 1)
        fan_in = size
    return total
