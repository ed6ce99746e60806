"""Name the student's mistake: pure functions from observations to one plain sentence.

Each function compares what the student's code did with a few models of well-known mistakes,
using only arithmetic on the observed numbers (never a reference engine). When the symptoms fit
one mistake, it is named; when they fit none with confidence, the observation and the likely
causes are listed instead.
"""

from __future__ import annotations

import math
from itertools import product
from typing import Any, Sequence

from . import graphs

# ---------------------------------------------------------------- the probes the checks use
PRESET = 0.3     # every input's .grad before the local probe: shows whether _backward adds
LOCAL_SEED = 1.7  # out.grad for the local probe: shows whether _backward uses out.grad

LOCAL_PROBES: dict[str, graphs.Spec] = {
    "add": [["leaf", 1.5], ["leaf", -2.5], ["add", 0, 1]],
    "mul": [["leaf", 1.5], ["leaf", -2.5], ["mul", 0, 1]],
    "tanh": [["leaf", 0.8], ["tanh", 0]],
    "relu": [["leaf", 1.3], ["relu", 0]],
    "sigmoid": [["leaf", 0.8], ["sigmoid", 0]],
    "exp": [["leaf", 0.6], ["exp", 0]],
    "log": [["leaf", 1.7], ["log", 0]],
}

OP_NAME = {"add": "__add__", "mul": "__mul__", "tanh": "tanh", "relu": "relu",
           "sigmoid": "sigmoid", "exp": "exp", "log": "log"}


def _same(a: float | None, b: float) -> bool:
    return a is not None and math.isfinite(a) and abs(a - b) <= 1e-6 + 1e-6 * abs(b)


def _local_derivatives(step: str, spec: graphs.Spec, variant: str) -> list[float]:
    """d out / d input for each input of the probe, correct or as a known mistake computes it."""
    x = [op[1] for op in spec if op[0] == "leaf"]
    wrong = variant == "swapped"
    if step == "add":
        return [1.0, 1.0]
    if step == "mul":
        return [x[0], x[1]] if wrong else [x[1], x[0]]
    if step == "relu":
        return [max(0.0, x[0])] if wrong else [1.0 if x[0] > 0 else 0.0]
    if step == "sigmoid":
        s = 1 / (1 + math.exp(-x[0]))
        return [s] if wrong else [s * (1 - s)]
    if step == "exp":
        return [1.0] if wrong else [math.exp(x[0])]
    if step == "log":
        return [x[0]] if wrong else [1 / x[0]]
    t = math.tanh(x[0])
    return [1 - x[0] ** 2] if wrong else [1 - t * t]


LOCAL_MISTAKES = {
    "overwrite": "{op}'s _backward replaces the inputs' .grad (`=`) instead of adding to it "
                 "(`+=`): when a Value is used twice, as in a + a, the second contribution wipes "
                 "out the first.",
    "no_upstream": "{op}'s _backward leaves out.grad out of the chain rule: each input should "
                   "receive (local derivative) * out.grad, or nothing upstream ever reaches it.",
    "swapped_mul": "__mul__'s local gradients are not swapped: d(a*b)/da is b, so self.grad "
                   "gets other.data * out.grad (and other.grad gets self.data * out.grad).",
    "swapped_tanh": "tanh's derivative is computed from the input x (1 - x**2); it is 1 - t**2 "
                    "with t = tanh(x), the output.",
    "swapped_relu": "relu's _backward uses the output as the slope; the slope is 1 where the "
                    "input is positive and 0 elsewhere.",
    "swapped_sigmoid": "sigmoid's derivative is s * (1 - s) with s the output; your _backward "
                       "uses s alone.",
    "swapped_exp": "exp's _backward leaves out its local derivative: d e^x/dx = e^x, the output "
                   "itself.",
    "swapped_log": "log's _backward multiplies by x; d log(x)/dx = 1/x, so divide by x.",
    "inert": "calling the result's own _backward changes nothing: the closure is attached to "
             "the wrong Value (it must be out._backward = _backward) or never attached.",
}


def local_rule(step: str, got: Sequence[float | None]) -> str | None:
    """Diagnose an operation's _backward from the local probe (inputs preset, one call)."""
    spec = LOCAL_PROBES[step]
    inputs = got[:-1]
    if all(_same(g, PRESET) for g in inputs):
        return LOCAL_MISTAKES["inert"].format(op=OP_NAME[step])
    for variant, upstream, accumulate in product(("right", "swapped"), (True, False),
                                                 (True, False)):
        local = _local_derivatives(step, spec, variant)
        predicted = [(PRESET if accumulate else 0.0) + d * (LOCAL_SEED if upstream else 1.0)
                     for d in local]
        if step == "add" and variant == "swapped":
            continue
        if all(_same(g, p) for g, p in zip(inputs, predicted)):
            mistakes = []
            if not accumulate:
                mistakes.append(LOCAL_MISTAKES["overwrite"])
            if not upstream:
                mistakes.append(LOCAL_MISTAKES["no_upstream"])
            if variant == "swapped":
                mistakes.append(LOCAL_MISTAKES[f"swapped_{step}"])
            return " Also: ".join(m.format(op=OP_NAME[step]) for m in mistakes) or None
    return None


# ---------------------------------------------------------------- errors
def from_error(step: str, error: dict[str, Any]) -> str | None:
    """A diagnosis for an exception the student's code raised, when its cause is well known."""
    etype = str(error.get("type", ""))
    message = str(error.get("message", ""))
    where = str(error.get("where") or "")
    if etype == "OverflowError" and ("tanh" in where or step == "tanh"):
        return ("tanh(x) built from exp() overflows for large x: math.exp(2 * 1000) is too big "
                "for a float. Use math.tanh, or rearrange the formula so exp() only ever sees "
                "a negative argument.")
    if etype == "OverflowError" and "sigmoid" in where:
        return ("1 / (1 + exp(-x)) overflows for x = -800: exp(800) is too big for a float. For "
                "negative x use the equal form exp(x) / (1 + exp(x)), where exp() sees x < 0.")
    if etype == "OverflowError" and step == "softmax":
        return ("exp() of a large score overflows: softmax(x) equals softmax(x - c) for any c, so "
                "subtract the largest score (as a plain number) before exponentiating.")
    if etype == "ValueError" and "math domain error" in message and step == "softmax":
        return ("a probability underflowed to 0 and its log failed: compute cross-entropy as "
                "log(sum(exp(x - top))) + top - x[target] instead of -log(softmax(x)[target]).")
    if etype == "AttributeError" and "has no attribute 'data'" in message and \
            ("'int'" in message or "'float'" in message):
        return ("a plain number reached code that expects a Value (a + 2 or 2 * a): wrap it "
                "first, as in other = other if isinstance(other, Value) else Value(other).")
    if etype == "TypeError" and "unsupported operand" in message and "Value" in message:
        return ("Python could not combine a number with a Value: check that __radd__ and "
                "__rmul__ (given in the stub) are still there, and that your operations return "
                "a Value.")
    if error.get("kind") == "recursion" and step == "backward":
        return ("the walk over the graph recursed too deep. A recursive depth-first search "
                "uses one Python frame per node on a path, and Python stops at about 1000. "
                "Make it iterative: keep an explicit stack of nodes still to visit.")
    return None


# ---------------------------------------------------------------- backward()
def _consumers(prev: Sequence[Sequence[int] | None]) -> dict[int, set[int]]:
    users: dict[int, set[int]] = {}
    for node, parents in enumerate(prev):
        for p in parents or ():
            if p >= 0:
                users.setdefault(p, set()).add(node)
    return users


def backward_trace(spec: graphs.Spec, grads: Sequence[float | None],
                   calls: Sequence[Sequence[Any]], prev: Sequence[Sequence[int] | None]) -> str:
    """Diagnose backward() from the order in which it called each node's _backward."""
    out = len(spec) - 1
    order = [int(c[0]) for c in calls if isinstance(c, (list, tuple)) and c and c[0] >= 0]
    out_grad = grads[out]
    if out_grad is None or abs(out_grad) < 1e-12:
        return ("backward() never sets the output's gradient to 1 before walking the graph, so "
                "every gradient stays 0: set self.grad = 1.0 first (d out / d out = 1).")
    interior = [i for i, op in enumerate(spec) if op[0] != "leaf"]
    never = [i for i in interior if i not in order]
    if never:
        if any(not prev[i] for i in never if prev[i] is not None):
            return ("some results are not linked to their inputs (their _prev is empty), so "
                    "backward() cannot reach them: build each result with its inputs, as in "
                    "Value(data, (self, other), '+').")
        name = graphs.node_text(spec, never[0])
        return (f"backward() never called the _backward of {name}: the walk does not reach every "
                f"node. Collect the whole graph by following _prev from the output.")
    counts = {i: order.count(i) for i in set(order)}
    repeated = [i for i in interior if counts.get(i, 0) > 1]
    if repeated:
        name = graphs.node_text(spec, repeated[0])
        following = order[1] if len(order) > 1 and order[0] == out else None
        parents = [p for p in (prev[out] or []) if p >= 0]
        if len(set(parents)) > 1 and following == parents[0]:
            return (f"backward() pushes gradients down recursively without a topological order: "
                    f"the _backward of {name} ran {counts[repeated[0]]} times, and a node passed "
                    f"its gradient on before every node using it had added to it. Build the "
                    f"full order first, then walk it from the output.")
        if len(set(parents)) > 1 and following == parents[-1]:
            return (f"the topological sort has no visited set: {name} is reached by two paths, "
                    f"so it was placed in the order {counts[repeated[0]]} times and its gradient "
                    f"was pushed on more than once. Remember which nodes you have already placed.")
        return (f"backward() called the _backward of {name} {counts[repeated[0]]} times; each "
                f"node must be processed exactly once. Likely causes: no visited set in the "
                f"topological sort, or a recursive walk that does not build an order first.")
    users = _consumers(prev)
    position = {node: k for k, node in enumerate(order)}
    pairs = [(u, x) for x, us in users.items() for u in us if u in position and x in position
             and spec[x][0] != "leaf"]
    early = [(u, x) for u, x in pairs if position[x] < position[u]]
    if pairs and len(early) == len(pairs):
        return ("backward() walks the graph from the inputs to the output. A node may pass its "
                "gradient on only after every node that uses it has added to it, so walk the "
                "topological order in reverse: output first.")
    if early:
        u, x = early[0]
        return (f"backward() called the _backward of {graphs.node_text(spec, x)} before that of "
                f"{graphs.node_text(spec, u)}, which uses it, so part of its gradient had not "
                f"arrived yet. Walk a topological order from the output.")
    return ("every _backward ran once and in a valid order, yet the gradients are off: the "
            "operations' _backward functions are the likely cause (check the add, mul and tanh "
            "steps), or backward() changes .grad itself besides seeding the output.")


# ---------------------------------------------------------------- the neuron
def neuron_forward(params: Sequence[float], x: Sequence[float], got: float) -> str | None:
    """Name the neuron's mistake when its output matches a known wrong formula."""
    w, b = params[:-1], params[-1]
    dot = math.fsum(wi * xi for wi, xi in zip(w, x))
    models = [
        (math.tanh(dot), "the neuron leaves out the bias: add self.b to the weighted sum."),
        (dot + b, "the neuron returns w . x + b without tanh: return the sum's .tanh()."),
        (dot, "the neuron returns w . x: add the bias, then apply tanh."),
    ]
    for value, sentence in models:
        if _same(got, value):
            return sentence
    return None


def neuron_parameters(n: int, count: int, distinct: int) -> str | None:
    if count == n:
        return ("parameters() returns the weights but not the bias: training would never change "
                "it. Return self.w + [self.b].")
    if distinct < count:
        return ("the weights are one shared Value: a list like [Value(...)] * n repeats the same "
                "object. Create each weight with its own Value(random.uniform(-1, 1)).")
    return None


def neuron_weights(weights: Sequence[float]) -> str | None:
    if weights and min(weights) >= 0 and max(weights) <= 1:
        return ("the weights are all between 0 and 1: random.random() draws from [0, 1). Use "
                "random.uniform(-1, 1).")
    return ("draw each weight with random.uniform(-1, 1): every weight its own draw, spread over "
            "the whole range from -1 to 1.")


# ---------------------------------------------------------------- training
def training_update(moved: Sequence[float], grads: Sequence[float], lr: float,
                    leftover: Sequence[float] | None) -> str | None:
    """Name train_step's mistake when every parameter moved as one known mistake predicts."""
    models = [
        ([-lr * (g + l) for g, l in zip(grads, leftover or [0.0] * len(grads))],
         "train_step never clears the gradients before backward(), so they pile up from step "
         "to step: set p.grad = 0.0 for every parameter first."),
        ([lr * g for g in grads],
         "train_step moves the parameters uphill: the gradient points where the loss grows, so "
         "subtract learning_rate * p.grad."),
        ([0.0] * len(grads),
         "train_step never changes the parameters: update p.data for every parameter."),
    ]
    if not leftover or not any(leftover):
        models = models[1:]
    for predicted, sentence in models:
        if len(moved) == len(predicted) and all(
                abs(m - p) <= 1e-8 + 1e-4 * abs(p) for m, p in zip(moved, predicted)):
            return sentence
    return None
