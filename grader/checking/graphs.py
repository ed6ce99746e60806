"""Graphs the checks build: random generation, text for messages, networks as graphs.

Values and expected gradients come from grader/ops.py (plain floats and central finite
differences); this module adds what the checks need around them. There is no autograd here.
"""

from __future__ import annotations

import math
import random
from typing import Any, Sequence

from .. import ops
from ..ops import OPS, Spec, evaluate, finite_difference_grads, local_derivatives, operands

__all__ = ["Spec", "evaluate", "finite_difference_grads", "local_derivatives", "operands",
           "close", "relative_error", "render", "node_name", "node_text", "leaf_names",
           "magnitude", "random_graph", "neuron_spec", "mlp_graph", "mlp_size", "path_lengths",
           "mlp_outputs", "mlp_loss"]

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
MAX_TEXT = 160          # a longer expression is shown abbreviated


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _const(x: Any) -> str:
    return f"({x:.6g})" if isinstance(x, (int, float)) and x < 0 else f"{x:.6g}"


def leaf_names(spec: Spec) -> dict[int, str]:
    """Leaves are named a, b, c, ... unless the spec names them (["leaf", 2.0, "x1"])."""
    names: dict[int, str] = {}
    for i, node in enumerate(spec):
        if node[0] == "leaf":
            k = len(names)
            names[i] = node[2] if len(node) > 2 else LEAF_NAMES[k] if k < len(LEAF_NAMES) \
                else f"x{k}"
    return names


def _expr(node: list[Any], text: Any) -> str:
    op = OPS[node[0]]
    # Operands as their labels, constants as numbers, in the order of the shape.
    shape = op.shape
    if shape == "binary":
        parts = [text(node[1]), text(node[2])]
    elif shape in ("right", "power"):
        parts = [text(node[1]), _const(node[2])]
    elif shape == "left":
        parts = [_const(node[1]), text(node[2])]
    elif shape == "unary":
        parts = [_strip(text(node[1]))]
    else:
        parts = [", ".join(text(j) for j in node[1])]
    body = op.text.format(*parts)
    return body if shape in ("unary", "many") else f"({body})"


def _labels(spec: Spec) -> tuple[dict[int, str], list[str]]:
    """A text for every node, and the `tN = ...` definitions of interior nodes used twice or more."""
    uses: dict[int, int] = {}
    for node in spec:
        for j in operands(node):
            uses[j] = uses.get(j, 0) + 1
    labels: dict[int, str] = dict(leaf_names(spec))
    definitions: list[str] = []
    out = len(spec) - 1
    for i, node in enumerate(spec):
        if node[0] == "leaf":
            continue
        e = _expr(node, labels.__getitem__)
        if uses.get(i, 0) > 1 and i != out:
            name = f"t{len(definitions) + 1}"
            definitions.append(f"{name} = {_strip(e)}")
            labels[i] = name
        else:
            labels[i] = e
    return labels, definitions


def render(spec: Spec) -> str:
    """Readable form: `t1 = a*b; out = tanh(t1 + c)  with a=1.5, b=-2, c=0.7`; a long one (a
    chain of 300 additions) is abbreviated in the middle, with what it is made of."""
    labels, definitions = _labels(spec)
    lines = definitions + [f"out = {_strip(labels[len(spec) - 1])}"]
    names = leaf_names(spec)
    given = ", ".join(f"{names[i]}={_fmt(spec[i][1])}" for i in sorted(names))
    text = "; ".join(lines)
    if len(text) > MAX_TEXT:
        counts: dict[str, int] = {}
        for node in spec:
            if node[0] != "leaf":
                form = OPS[node[0]].text.format("x", "y")
                counts[form] = counts.get(form, 0) + 1
        made_of = ", ".join(f"{n} times {form}" for form, n in
                            sorted(counts.items(), key=lambda c: -c[1]))
        text = f"{text[:70]} ... {text[-60:]}  (a graph of {len(spec)} nodes: {made_of})"
    return text + (f"  with {given}" if given else "")


def node_text(spec: Spec, i: int) -> str:
    """Node i as an expression (`a + b`), even when it is the output or has a `tN` name."""
    labels = _labels(spec)[0]
    text = labels[i] if spec[i][0] == "leaf" else _strip(_expr(spec[i], labels.__getitem__))
    return text if len(text) <= 60 else f"node {i} ({spec[i][0]})"


def node_name(spec: Spec, i: int) -> str:
    """How a message refers to node i: a leaf's letter, `out`, a `tN` name or its expression."""
    if i == len(spec) - 1:
        return "out"
    text = _strip(_labels(spec)[0][i])
    return text if len(text) <= 60 else f"node {i} ({spec[i][0]})"


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


# ------------------------------------------------------------------ shapes of graphs
def path_lengths(spec: Spec) -> list[set[int]]:
    """For each node, the lengths of the paths from it to the output."""
    lengths: list[set[int]] = [set() for _ in spec]
    lengths[-1].add(0)
    for i in range(len(spec) - 1, -1, -1):
        for j in operands(spec[i]):
            lengths[j].update(n + 1 for n in lengths[i])
    return lengths


def users_and_paths(spec: Spec) -> list[tuple[int, int]]:
    """For each node, how many nodes use it (a + a counts once, as a set of children does) and
    by how many paths the output reaches it."""
    users, paths = [0] * len(spec), [0] * len(spec)
    paths[-1] = 1
    for i in range(len(spec) - 1, -1, -1):
        for j in dict.fromkeys(operands(spec[i])):
            users[j] += 1
            paths[j] += paths[i]
    return list(zip(users, paths))


def uneven(spec: Spec) -> bool:
    """Whether some interior node is reached from the output by paths of different lengths (a
    breadth-first walk passes its gradient on before all of it has arrived)."""
    lengths = path_lengths(spec)
    return any(spec[i][0] != "leaf" and len(lengths[i]) > 1 for i in range(len(spec) - 1))


# ------------------------------------------------------------------ random graphs
def magnitude(rng: random.Random, low: float = 0.5, high: float = 3.0) -> float:
    """A value of size 0.5 to 3 with a random sign, rounded so messages stay readable."""
    return round(rng.choice((-1, 1)) * rng.uniform(low, high), 3)


def random_graph(rng: random.Random, kinds: Sequence[str], n_leaves: int = 3, n_ops: int = 6,
                 limit: float = 50.0, require_uneven: bool = False) -> Spec:
    """A random graph over `kinds` in which leaves and interior nodes are reused.

    Operands are drawn with a bias towards recent nodes (so graphs are deep) and all earlier
    nodes stay eligible (so they branch and rejoin). Values are kept below `limit` in size; with
    `require_uneven`, some interior node is reached by paths of different lengths.
    """
    while True:
        spec: Spec = [["leaf", magnitude(rng)] for _ in range(n_leaves)]
        for _ in range(n_ops):
            kind = rng.choice(list(kinds))
            spec.append(_random_node(rng, kind, spec))
        try:
            values = evaluate(spec)
        except (ZeroDivisionError, ValueError, OverflowError):
            continue
        if _tame(spec, values, limit):
            # The output must depend on every leaf, or some gradients are trivially 0 (the
            # shape is looked at first: it costs nothing beside finite differences).
            pruned = prune(spec)
            if (not require_uneven or uneven(pruned)) and \
                    all(abs(g) > 1e-9 for g in finite_difference_grads(spec)[:n_leaves]):
                return pruned


def _random_node(rng: random.Random, kind: str, spec: Spec) -> list[Any]:
    """A node of `kind` on earlier nodes, drawn with a bias towards recent ones."""
    def pick() -> int:
        return min(len(spec) - 1, int(len(spec) * rng.random() ** 0.6))

    shape = OPS[kind].shape
    if shape == "binary":
        return [kind, pick(), pick()]
    if shape == "right":
        return [kind, pick(), magnitude(rng)]
    if shape == "left":
        return [kind, magnitude(rng), pick()]
    if shape == "power":
        return [kind, pick(), rng.choice((2, 3, -1))]
    if shape == "many":
        return [kind, [pick() for _ in range(3)]]
    return [kind, pick()]


def _tame(spec: Spec, values: list[float], limit: float) -> bool:
    """Every value finite and below `limit`, and nothing divided by a number near 0."""
    divisors = [values[node[2]] for node in spec if node[0] in ("div", "cdiv")]
    divisors += [values[node[1]] for node in spec if node[0] == "pow" and node[2] < 0]
    return all(math.isfinite(v) and abs(v) < limit for v in values) and \
        all(abs(d) > 0.2 for d in divisors)


def prune(spec: Spec) -> Spec:
    """Drop the nodes the output does not depend on, renumbering the rest."""
    keep = {len(spec) - 1}
    for i in range(len(spec) - 1, -1, -1):
        if i in keep:
            keep.update(operands(spec[i]))
    new_index = {old: new for new, old in enumerate(sorted(keep))}
    return [ops.renumber(spec[old], new_index) for old in sorted(keep)]


# ------------------------------------------------------------------ the tutorial's neuron
def neuron_spec(x1: float, w1: float, x2: float, w2: float, b: float) -> Spec:
    """o = tanh(x1*w1 + x2*w2 + b), with the tutorial's names for its leaves."""
    return [["leaf", x1, "x1"], ["leaf", w1, "w1"], ["leaf", x2, "x2"], ["leaf", w2, "w2"],
            ["leaf", b, "b"], ["mul", 0, 1], ["mul", 2, 3], ["add", 5, 6], ["add", 7, 4],
            ["tanh", 8]]


# ------------------------------------------------------------------ networks as graphs
def mlp_outputs(nin: int, sizes: Sequence[int], params: Sequence[float],
                xs: Sequence[Sequence[float]]) -> list[float]:
    """The outputs of MLP(nin, sizes) with these parameters on each x, written directly with
    floats (the same operations in the same order as mlp_graph)."""
    outputs: list[float] = []
    for x in xs:
        current = [float(v) for v in x]
        k, fan_in = 0, nin
        for size in sizes:
            layer = []
            for _ in range(size):
                products = [params[k + j] * current[j] for j in range(fan_in)]
                layer.append(math.tanh(math.fsum(products + [params[k + fan_in]])))
                k += fan_in + 1
            current, fan_in = layer, size
        outputs += current
    return outputs


def mlp_loss(nin: int, sizes: Sequence[int], params: Sequence[float],
             xs: Sequence[Sequence[float]], ys: Sequence[float]) -> float:
    """What mlp_graph(..., ys) computes: the summed squared error of MLP(nin, sizes)."""
    outs = mlp_outputs(nin, sizes, params, xs)
    per = len(outs) // max(1, len(ys))
    return math.fsum((out - float(y)) ** 2 for k, y in enumerate(ys)
                     for out in outs[k * per:(k + 1) * per])


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
