"""Name the student's mistake from evidence: pure functions from observations to one sentence.

An operation's _backward is diagnosed by comparing what it did on several single-call probes
with a table of candidate rules: each candidate changes one part of the chain rule (keep or
replace the input's .grad, what multiplies the local derivative, the local derivative itself).
A mistake is named only when exactly one candidate with the fewest changes fits every probe.
The correct local derivative is never written here: it is the finite-difference value the caller
passes in, and the candidates are built from it and from the observed numbers (the inputs, the
output, the gradients before the call). When nothing fits, the caller says what was observed and
the likely causes for the step instead of guessing.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from itertools import product
from typing import Any, Callable, Sequence

from .. import ops, steps
from .graphs import node_text, path_lengths, users_and_paths

# ------------------------------------------------------------------------ an operation's rule
def local_spec(op: str, inputs: Sequence[float]) -> ops.Spec:
    """The graph of one call: the inputs as leaves, then the operation on them."""
    leaves: ops.Spec = [["leaf", x] for x in inputs]
    return leaves + [[op, *range(len(inputs))]]


@dataclass(frozen=True)
class LocalProbe:
    """One call of an operation's _backward: what went in, what the chain rule says, and what
    the student's code left in the inputs' .grad."""

    inputs: list[float]
    presets: list[float]
    upstream: float
    output: float
    derivatives: list[float]        # d out / d input, by finite differences
    got: list[float | None]
    default_backward: bool | None = None   # out._backward is a fresh Value's: never attached


@dataclass(frozen=True)
class Part:
    """One candidate for one part of the chain rule: how to compute it, and, when it is not
    the right one, what the code does instead."""

    name: str
    value: Callable[[LocalProbe, int], float]
    says: str = ""                  # "" for the right one


def _inverse(op: str, y: float) -> float | None:
    """x with op(x) = y, by bisection, for the monotonic operations (None elsewhere)."""
    f = ops.OPS[op].forward
    bounds = ops.OPS[op].monotonic
    if bounds is None:
        return None
    low, high = bounds
    try:
        if not min(f(low), f(high)) < y < max(f(low), f(high)):
            return None
        increasing = f(high) > f(low)
        for _ in range(200):
            mid = math.sqrt(low * high) if low > 0 else (low + high) / 2
            if (f(mid) < y) == increasing:
                low = mid
            else:
                high = mid
        return (low + high) / 2
    except (ValueError, OverflowError):
        return None


def _slope(op: str, x: float | None) -> float:
    """The operation's derivative at x, by central differences (nan where it is not defined)."""
    if x is None:
        return math.nan
    f = ops.OPS[op].forward
    h = 1e-6 * max(1.0, abs(x))
    try:
        return (f(x + h) - f(x - h)) / (2 * h)
    except (ValueError, OverflowError, ZeroDivisionError):
        return math.nan


def _parts(op: str) -> tuple[list[Part], list[Part], list[Part]]:
    binary = ops.OPS[op].shape == "binary"
    other = "other" if binary else "self"
    bases = [Part("accumulate", lambda p, k: p.presets[k]),
             Part("overwrite", lambda p, k: 0.0,
                  "replaces {grad} (`=`) instead of adding to it (`+=`): a Value used twice, "
                  "as in {twice}, keeps only its last contribution")]
    factors = [Part("out.grad", lambda p, k: p.upstream),
               Part("nothing", lambda p, k: 1.0,
                    "leaves out.grad out: {who} must get the local derivative times out.grad, or "
                    "nothing from the operations after this one ever reaches it"),
               Part("out.data", lambda p, k: p.output,
                    "multiplies by out.data where out.grad belongs"),
               Part("own grad", lambda p, k: p.presets[k],
                    "multiplies by {grad} where out.grad belongs")]
    if binary:
        factors += [Part("other grad", lambda p, k: p.presets[1 - k],
                         "uses {other}.grad where out.grad belongs"),
                    Part("other grad after", lambda p, k: _or_nan(p.got[1 - k]),
                         "adds {other}.grad to {grad}")]
    locals_ = [Part("right", lambda p, k: p.derivatives[k]),
               Part("sign", lambda p, k: -p.derivatives[k], "flips the sign of the local "
                                                           "derivative"),
               Part("double", lambda p, k: 2 * p.derivatives[k], "counts the local derivative "
                                                                 "twice"),
               Part("half", lambda p, k: p.derivatives[k] / 2, "halves the local derivative"),
               Part("one", lambda p, k: 1.0, "leaves the local derivative out: {grad} gets "
                                             "out.grad itself, as if this were an addition"),
               Part("zero", lambda p, k: 0.0, "adds nothing to {grad}")]
    if binary:
        locals_ += [
            Part("own value", lambda p, k: p.inputs[k],
                 "uses {whose} own value ({data}) as {its} local derivative"),
            Part("other value", lambda p, k: p.inputs[1 - k],
                 "uses {others} value ({other_data}) as the local derivative of {who}"),
            Part("swapped", lambda p, k: p.derivatives[1 - k],
                 "gives {who} the local derivative that belongs to {other}: the two are "
                 "swapped")]
    else:
        locals_ += [
            Part("output", lambda p, k: p.output,
                 "uses the output itself (t = out.data) as the local derivative"),
            Part("input", lambda p, k: p.inputs[0],
                 "uses the input itself (x = self.data) as the local derivative"),
            Part("one minus output", lambda p, k: 1 - p.output,
                 "uses 1 - t (t = out.data) as the local derivative"),
            Part("input for output", lambda p, k: _slope(op, _inverse(op, p.inputs[0])),
                 "computes the derivative from the input x where its formula is written with "
                 "the output t = {name}(x): it takes x for t"),
            Part("output for input", lambda p, k: _slope(op, p.output),
                 "evaluates the derivative at the output t, as if t were the input")]
    del other
    return bases, factors, locals_


def fits(a: float | None, b: float) -> bool:
    return a is not None and math.isfinite(a) and math.isfinite(b) and \
        abs(a - b) <= 1e-7 + 1e-6 * max(abs(a), abs(b))


def _or_nan(x: float | None) -> float:
    return math.nan if x is None else x


def _predict(combo: tuple[Part, ...], probe: LocalProbe, k: int) -> float:
    base, factor, local = combo
    try:
        return base.value(probe, k) + factor.value(probe, k) * local.value(probe, k)
    except (ValueError, OverflowError, ZeroDivisionError):
        return math.nan


def _agree(a: Sequence[float], b: Sequence[float]) -> bool:
    """Two predictions agree where both are defined (and both are defined somewhere twice)."""
    both = [(x, y) for x, y in zip(a, b) if math.isfinite(x) and math.isfinite(y)]
    return len(both) >= 2 and all(fits(x, y) for x, y in both)


def _candidates(op: str, probes: Sequence[LocalProbe], k: int
                ) -> list[tuple[tuple[Part, ...], list[float]]]:
    """The combinations (base, factor, local) that fit input k on every probe where they are
    defined, with the fewest changes from the right rule, and their predictions. One that gives
    the same numbers as the right rule on these probes is no mistake, and is left out."""
    bases, factors, locals_ = _parts(op)
    right = (bases[0], factors[0], locals_[0])
    expected = [_predict(right, p, k) for p in probes]
    got = [_or_nan(p.got[k]) for p in probes]
    fitting: list[tuple[int, tuple[Part, ...], list[float]]] = []
    for combo in product(bases, factors, locals_):
        changes = sum(part is not correct for part, correct in zip(combo, right))
        if changes > 2:
            continue
        predicted = [_predict(combo, p, k) for p in probes]
        if changes and _agree(predicted, expected) and \
                all(math.isfinite(x) for x in predicted):
            continue
        if _agree(got, predicted) and all(math.isfinite(x) for x in got):
            fitting.append((changes, combo, predicted))
    if not fitting:
        return []
    fewest = min(c for c, _, _ in fitting)
    return [(combo, predicted) for c, combo, predicted in fitting if c == fewest]


def local_rule(op: str, probes: Sequence[LocalProbe], kept: str | None = None) -> str | None:
    """The mistake in an operation's _backward that fits every probe, in one sentence; None when
    the code is right, or when no single explanation fits (the caller then shows the numbers).
    Two candidates that predict the same numbers are one computation: the first one in the
    table names it. `kept`: the attribute an engine of local derivatives keeps them in (its
    rule is then named by it, not by a _backward it does not have)."""
    name = ops.OPS[op].method
    subject = f"{name}, in the {kept} it keeps" if kept else f"{name}'s _backward"
    if not kept and all(all(fits(p.got[k], p.presets[k]) for k in range(len(p.inputs)))
                        for p in probes):
        if all(p.default_backward is False for p in probes):
            # A closure of its own is there, and adds nothing: the out.grad it uses was read
            # when the result was made, when it was still 0.
            return (f"calling {name}'s out._backward() changes nothing, though it is a "
                    f"function of yours: it uses out.grad as it was when the result was made "
                    f"(0), not as it is when _backward runs. Read out.grad inside _backward.")
        return (f"calling {name}'s out._backward() changes nothing: the closure is attached to "
                f"another Value than the result (out), or never attached.")
    binary = ops.OPS[op].shape == "binary"
    who_names = ["self", "other"] if binary else ["self"]
    twice = ops.OPS[op].text.format("a", "a") if binary else "the same input used twice"
    found: list[tuple[tuple[Part, ...], str]] = []
    for k, who in enumerate(who_names):
        fitting = _candidates(op, probes, k)
        if not fitting:
            return None
        first, predicted = fitting[0]
        if any(not _agree(predicted, other) for _, other in fitting[1:]):
            return None                      # two different explanations fit: no guess
        other = who_names[1 - k] if binary else "self"
        parts = [part for part in first if part.says]
        if [part.name for part in parts] == ["other grad after", "one"]:
            parts = parts[:1]        # adding one .grad to another says it all
        words = [part.says.format(
            who=who, other=other, grad=f"{who}.grad", twice=twice, name=op,
            whose=f"{who}'s", its="its", data=f"{who}.data", others=f"{other}'s",
            other_data=f"{other}.data") for part in parts]
        if words:
            found.append((first, " and ".join(words)))
    if not found:
        return None
    if len(found) == 2 and [p.name for p in found[0][0]] == [p.name for p in found[1][0]]:
        # The same mistake for both inputs: say it once.
        words = [part.says.format(
            who="each input", other="the other input", grad="each input's .grad",
            twice=twice, name=op, whose="each input's", its="its", data=".data",
            others="the other input's", other_data=".data") for part in found[0][0] if part.says]
        return f"{subject}, for both inputs, " + " and ".join(words) + "."
    return f"{subject}{',' if kept else ''} " + "; and it ".join(text for _, text in found) + "."




def forward_value(spec: ops.Spec, i: int, values: Sequence[float], got: float | None
                  ) -> str | None:
    """A wrong forward value of one operation on one input, when it is the right value of
    another input: |x| for x (a sign lost), or -x."""
    node = spec[i]
    if got is None or node[0] == "leaf" or ops.OPS[node[0]].shape != "unary":
        return None
    x = values[node[1]]
    name = ops.OPS[node[0]].name
    def at(y: float) -> float | None:
        try:
            return float(ops.OPS[node[0]].forward(y))
        except (ArithmeticError, ValueError):
            return None
    if x < 0 and fits(got, at(-x) or math.nan):
        return (f"{name}({x:g}) came out as {got:g}, the value at {-x:g}: the formula works on "
                f"the size of x and loses its sign for negative inputs. Put the sign back "
                f"(math.copysign)" + (f", or use math.{name}." if hasattr(math, name) else "."))
    return None


# ------------------------------------------------------------------------ backward()
MAX_CALLS = 5000     # _backward calls a diagnosis reads: a graph here has a few dozen nodes


def backward_trace(spec: ops.Spec, grads: Sequence[float | None], calls: Sequence[Any],
                   prev: Sequence[Any], preset_probe: dict[str, Any] | None = None,
                   collapses: bool = False) -> str | None:
    """Diagnose backward() from the order in which it called the nodes' _backward (the grader's
    own closures, which log each call with the node's grad at that moment). `preset_probe`:
    a leaf's grad before and after a second backward() that started with it non-zero;
    `collapses`: two Values of the same number are one in a set (__eq__ on .data)."""
    out = len(spec) - 1
    # What the worker reported is the submission's doing: only well-formed calls of this
    # graph's nodes count, and no more of anything than a diagnosis can use (the work below
    # must stay small whatever a backward() did).
    calls = calls if isinstance(calls, list) else []
    prev = prev if isinstance(prev, list) else []
    calls = [c for c in calls[:MAX_CALLS + 1] if isinstance(c, list) and len(c) == 2
             and type(c[0]) is int and 0 <= c[0] < len(spec)]
    if len(calls) > MAX_CALLS:
        return (f"backward() called the nodes' _backward more than {MAX_CALLS} times for a "
                f"graph of {len(spec)} nodes: collect the nodes once, in topological order, "
                f"then call each one's _backward once, from the output.")
    prev = [p[:len(spec) + 1] if isinstance(p, list) else p for p in prev[:len(spec)]]
    prev += [None] * (len(spec) - len(prev))
    order = [c[0] for c in calls]
    at_call = {c[0]: c[1] for c in calls}
    interior = [i for i, node in enumerate(spec) if node[0] != "leaf"]
    if not order:
        if preset_probe is not None and preset_probe.get("leaf_after") == 0:
            return ("backward() resets every gradient without walking the graph: no node's "
                    "_backward was called.")
        return ("backward() called no node's _backward: collect the nodes by following _prev "
                "from the output, then call each one's _backward.")
    if out in at_call and at_call[out] in (0, 0.0, None):
        if preset_probe is not None and preset_probe.get("leaf_after") == 0.0 and \
                preset_probe.get("leaf_before") not in (0, 0.0):
            return ("backward() sets the output's gradient to 1 and then resets every gradient "
                    "to 0, the output's included, before walking: set out.grad = 1 after "
                    "clearing, or do not clear.")
        return ("backward() never sets the output's gradient to 1 before walking the graph, so "
                "every gradient stays 0: d(out)/d(out) = 1 is where the chain rule starts.")
    never = [i for i in interior if i not in order]
    if never:
        if any(prev[i] == [] for i in never if isinstance(prev[i], list)):
            return ("some nodes' _prev is empty, so backward() cannot reach past them: build "
                    "the graph from _prev as Value(data, children, op) stores it.")
        values = ops.evaluate(spec)
        twin = next((j for j in range(len(spec)) if j != never[0] and
                     values[j] == values[never[0]]), None)
        if collapses and twin is not None:
            return (f"backward() never called the _backward of {node_text(spec, never[0])}: "
                    f"your Value compares equal by its number (__eq__ on .data, with a "
                    f"__hash__ to match), so a visited set takes it for "
                    f"{node_text(spec, twin)}, of the same value ({values[twin]:g}), and skips "
                    f"it. Let Values compare by identity (drop __eq__ and __hash__), or keep "
                    f"the visited set by id(node).")
        n_users, paths = users_and_paths(spec)[never[0]]
        if paths > n_users and all(i in order for i in range(len(spec))
                                 if never[0] in ops.operands(spec[i])):
            return (f"backward() never called the _backward of {node_text(spec, never[0])}, "
                    f"though every node that uses it did: {n_users} node"
                    f"{' uses' if n_users == 1 else 's use'} it, but the output reaches it by "
                    f"{paths} paths. If the walk waits until each node has heard "
                    f"from all its users, count each user once (visit each node once when "
                    f"counting), not once per path.")
        return (f"backward() never called the _backward of {node_text(spec, never[0])}: the "
                f"walk does not reach every node. Collect the whole graph by following _prev "
                f"from the output.")
    passing = [i for i in dict.fromkeys(order) if i != out]
    first = {node: k for k, node in reversed(list(enumerate(order)))}
    in_order = all(first[u] < first[i] for u in passing for i in ops.operands(spec[u])
                   if i in first)                 # every node after the nodes that use it
    leaves_zero = all(g in (0, 0.0) for i, g in enumerate(grads[:len(spec)])
                      if spec[i][0] == "leaf")
    if in_order and at_call.get(out) not in (0, 0.0, None) and (
            (passing and all(at_call.get(i) in (0, 0.0) for i in passing)) or
            (not passing and leaves_zero)):
        return ("backward() sets each node's gradient to 0 while it walks, just before the "
                "node passes it on, so nothing reaches past the output: clear gradients "
                "before the walk starts (train_step does it), never during it.")
    counts = Counter(order)
    repeated = [i for i in interior if counts.get(i, 0) > 1]
    if repeated:
        name, times = node_text(spec, repeated[0]), counts[repeated[0]]
        style = _walk_style(order, spec, prev)
        if style == "recursive":
            return (f"backward() pushes gradients down recursively, without a topological "
                    f"order: the _backward of {name} ran {times} times, and a node passed its "
                    f"gradient on before every node using it had added to it. Build the whole "
                    f"order first, then walk it from the output.")
        if style == "topological":
            return (f"backward() called the _backward of {name} {times} times: a node reached "
                    f"by two paths was placed in the order once per path. The topological sort "
                    f"needs a visited set, so each node is placed, and walked, once.")
        return (f"backward() called the _backward of {name} {times} times: each node's "
                f"_backward must run once, after every node that uses it has added its share.")
    users: dict[int, list[int]] = {}
    for i in interior:
        for j in ops.operands(spec[i]):
            users.setdefault(j, []).append(i)
    position = {node: k for k, node in enumerate(order)}
    pairs = [(u, x) for x, us in users.items() for u in us
             if u in position and x in position and spec[x][0] != "leaf"]
    early = [(u, x) for u, x in pairs if position[x] < position[u]]
    if pairs and len(early) == len(pairs):
        return ("backward() walks the graph from the inputs to the output: a node may pass its "
                "gradient on only after every node that uses it has added to it, so walk the "
                "topological order from the output end.")
    if early:
        u, x = early[0]
        if len(path_lengths(spec)[x]) > 1 and _breadth_first(order, spec):
            return (f"backward() walks the graph breadth-first from the output: "
                    f"{node_text(spec, x)} is reached by a short path and a long one, and it "
                    f"passed its gradient on before the long path's share arrived. Order the "
                    f"nodes topologically, then walk that order from the output.")
        return (f"backward() called the _backward of {node_text(spec, x)} before that of "
                f"{node_text(spec, u)}, which uses it, so part of its gradient had not arrived "
                f"yet. Walk a topological order from the output.")
    return None


def _walk_style(order: Sequence[int], spec: ops.Spec, prev: Sequence[Any]) -> str | None:
    """How a walk that calls some _backward twice moves, told by the first node with two
    different interior inputs: a recursive push goes on to its first input (in its _prev's
    order) at once; the reverse of a depth-first post-order comes to it from its last one.
    None when no node tells (a chain, or a walk that matches neither)."""
    for k, node in enumerate(order[:-1]):
        if node >= len(prev) or not isinstance(prev[node], list):
            continue
        inputs = [j for j in dict.fromkeys(prev[node]) if isinstance(j, int) and 0 <= j < len(spec)
                  and spec[j][0] != "leaf"]
        if len(inputs) < 2:
            continue
        if order[k + 1] == inputs[0]:
            return "recursive"
        if order[k + 1] == inputs[-1]:
            return "topological"
        return None
    return None


def _breadth_first(order: Sequence[int], spec: ops.Spec) -> bool:
    """Whether `order` visits nodes by their shortest distance from the output."""
    shortest = [min(s) if s else math.inf for s in path_lengths(spec)]
    seen = [shortest[i] for i in order]
    return all(a <= b for a, b in zip(seen, seen[1:]))


# ------------------------------------------------------------------------ errors
def given_function(file: str, function: str) -> bool:
    """Whether file:function is code the kit hands out complete (not a TODO)."""
    return function in steps.GIVEN.get(file, ())


def short_name(function: str) -> str:
    """`Value.tanh.<locals>._backward` -> `Value.tanh's _backward`; comprehensions dropped."""
    parts = [p for p in function.split(".") if p not in ("<locals>", "<listcomp>", "<genexpr>",
                                                         "<lambda>", "<dictcomp>", "<setcomp>")]
    if len(parts) > 1 and parts[-1] == "_backward":
        return f"{'.'.join(parts[:-1])}'s _backward"
    return ".".join(parts) or function


def step_of(file: str, function: str) -> str | None:
    """The step whose TODO a function of the student's is (a closure counts as its method's:
    Value.__mul__.<locals>._backward is mul's)."""
    method = function.split(".<locals>")[0]
    # A notebook's cell defines a method at the top of its module and attaches it to Value.
    names = (method, f"Value.{method}") if file == "engine.py" and "." not in method else \
        (method,)
    for step in steps.STEPS:
        if step.file == file and any(name in step.todos for name in names):
            return step.id
    return None


def owners_of(error: dict[str, Any]) -> list[str | None]:
    """Whose code each frame of an error is, innermost first: a step id, a given function's
    name (code the kit hands out), or None (a function of the student's own)."""
    found: list[str | None] = []
    for frame in reversed([f for f in error.get("stack") or [] if isinstance(f, dict)]):
        file, function = str(frame.get("file")), str(frame.get("function"))
        found.append(function if given_function(file, function) else step_of(file, function))
    return found


def missing_operation(error: dict[str, Any]) -> bool:
    """An error Python raised because the Value has no such operation (2 ** a, 0 + a)."""
    message = str(error.get("message", ""))
    return (error.get("type") == "TypeError" and "unsupported operand type" in message and
            "'Value'" in message) or (error.get("type") == "AttributeError" and
                                      "'Value' object has no attribute '__" in message)


SYMBOLS = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "** or pow()": "pow",
           "**": "pow"}


def operation_of(error: dict[str, Any]) -> str | None:
    """The Value method an "unsupported operand" error asks for: `2 + a` gives __radd__,
    `a ** 2` __pow__; None for any other error."""
    message = str(error.get("message", ""))
    if error.get("type") != "TypeError" or "unsupported operand type(s) for " not in message:
        return None
    symbol, _, operands = message.split("unsupported operand type(s) for ", 1)[1] \
        .partition(": ")
    name = SYMBOLS.get(symbol.strip())
    left, _, right = operands.partition(" and ")
    if name is None:
        return None
    if left.strip() == "'Value'":
        return f"__{name}__"
    return f"__r{name}__" if right.strip() == "'Value'" else None


def from_error(step: str, error: dict[str, Any], inputs: Sequence[float] = (),
               changed: Sequence[str] = ()) -> str | None:
    """A diagnosis for an exception, from where it happened (not from the step being graded).
    `inputs`: the values the failing probe started from, when it knows them; `changed`: the
    given functions the submission changed (the evidence that given code is to blame)."""
    etype = str(error.get("type", ""))
    message = str(error.get("message", ""))
    stack = [f for f in error.get("stack") or [] if isinstance(f, dict)]
    innermost = stack[-1] if stack else None
    if innermost is None:
        return None
    file, function = str(innermost.get("file")), str(innermost.get("function"))
    name, place = short_name(function), f"{file}:{innermost.get('line')}"
    if given_function(file, function):
        if function == "Value.__init__" and etype == "TypeError" and \
                "'Value' object is not iterable" in message and len(stack) > 1:
            maker = stack[-2]
            return (f"{short_name(str(maker.get('function')))} ({maker.get('file')}:"
                    f"{maker.get('line')}) gives Value(...) one Value where the tuple of "
                    f"children belongs: (self) is only self in parentheses. Write (self,), a "
                    f"tuple of one.")
        if function in changed:
            return (f"the error is in {name} ({place}), code the kit hands out complete: it "
                    f"has been changed. Put back the kit's version of it.")
        # The kit's own code, as handed out: what reached it from the student's code is wrong.
        caller = next((f for f in reversed(stack[:-1])
                       if not given_function(str(f.get("file")), str(f.get("function")))), None)
        if caller is not None:
            return (f"the error happens in {name} ({place}), the kit's own code, when "
                    f"{short_name(str(caller.get('function')))} ({caller.get('file')}:"
                    f"{caller.get('line')}) calls it: look at what that line gives it.")
        return (f"the error happens in {name} ({place}), the kit's own code as handed out: "
                f"something it uses from your Value is not as it expects.")
    if etype == "OverflowError":
        big = max(inputs, key=abs) if inputs else None
        at = f" for an input of {big:g}" if big is not None else ""
        tail = ""
        if name.endswith(".tanh") or name == "tanh":
            tail = " (math.tanh computes tanh without ever overflowing)"
        elif name.startswith(("softmax", "cross_entropy")):
            tail = " (shifting every score by the same constant changes neither function)"
        return (f"{name} ({place}) overflows{at}: it calls exp() (or cosh, sinh) on a number "
                f"so large that the result does not fit in a float. Rearrange it so that exp() "
                f"only ever sees an argument at or below 0{tail}.")
    if error.get("kind") in ("timeout", "run_timeout"):
        loop = error.get("loop")
        text = str(innermost.get("text") or "")
        return (f"{name} ({place}) was still running when it was stopped"
                + (f", inside the loop that starts at {file}:{loop}: check that every pass "
                   f"brings the loop closer to its end (something is taken off what it walks, "
                   f"or a counter moves)" if isinstance(loop, int) else
                   (f", at `{text}`" if text else "")) + ".")
    if error.get("kind") == "withheld" or etype == "WithheldError":
        return _withheld(message, name, place)
    if etype == "AttributeError" and "Did you mean: '" in message:
        wrong = message.split("no attribute '", 1)[-1].split("'", 1)[0]
        right = message.split("Did you mean: '", 1)[1].split("'", 1)[0]
        return (f"{name} ({place}) reads .{wrong}, which nothing has: a misspelt name, for "
                f".{right} as Python suggests.")
    if etype == "ValueError" and "math domain error" in message:
        softmax = any("cross_entropy" in str(f.get("function")) for f in stack)
        return (f"{name} ({place}) takes the log (or square root) of a number at or below 0"
                + (": a probability from softmax rounds to 0 when one score is far below the "
                   "largest. Compute the cross-entropy as log(sum(exp(v - top))) + top - "
                   "logits[target], which never takes the log of a probability."
                   if softmax else ": look at the values that reach it."))
    if etype == "ZeroDivisionError":
        return (f"{name} ({place}) divides by zero: with an input of 0, what it divides by is "
                f"0. Compute the local derivative without dividing by an input.")
    if etype == "RecursionError" or error.get("kind") == "recursion":
        return (f"{name} ({place}) recursed too deep. For a long chain of operations a "
                f"recursive walk needs more than Python's default limit of 1000 calls: walk "
                f"with a stack of your own, or raise the limit with sys.setrecursionlimit.")
    if etype == "AttributeError" and "object has no attribute 'backward'" in message and \
            ("'float'" in message or "'int'" in message):
        return (f"{name} ({place}) calls backward() on a plain number: the loss was computed "
                f"from .data (or float()), which leaves the graph. Compute it with the Values "
                f"themselves, so backward() can reach every parameter.")
    if etype == "AttributeError" and ("'float' object has no attribute" in message or
                                      "'int' object has no attribute" in message):
        return (f"a plain number (as in a + 2 or a * 2) reached {name} ({place}), which reads "
                f"an attribute of a Value from it: wrap a number in a Value first.")
    if etype == "TypeError" and "can only concatenate list" in message:
        return (f"{name} ({place}) adds something that is not a list to a list: a list can "
                f"only be joined with another list.")
    if etype == "TypeError" and "unsupported operand" in message and \
            ("'list'" in message or "'tuple'" in message):
        return (f"a list reached {name} ({place}) where a number or a Value belongs: look at "
                f"what the code that calls it hands it.")
    if etype == "TypeError" and "unsupported operand" in message and "'NoneType'" in message:
        return (f"{name} ({place}) computes with None: a .grad (or .data) that is None where a "
                f"number belongs. Start gradients at 0 (or treat None as 0 where you add to "
                f"them).")
    if etype == "TypeError" and "unsupported operand" in message and "'Value'" in message and \
            ("'float'" in message or "'int'" in message):
        return (f"a plain number met a Value in {name} ({place}): wrap the number in a Value "
                f"first.")
    return None


# What a Value's one number needs instead of numpy (or torch): the function that does it.
SCALAR_EQUIVALENTS = {
    "tanh": "math.tanh(x)", "exp": "math.exp(x)", "log": "math.log(x)", "sqrt": "math.sqrt(x)",
    "abs": "abs(x)", "absolute": "abs(x)", "maximum": "max(a, b)", "minimum": "min(a, b)",
    "max": "max(...)", "min": "min(...)", "power": "x ** k", "sum": "sum(...)",
    "dot": "sum(w * x for w, x in zip(ws, xs))", "mean": "statistics.mean(xs)",
    "clip": "max(low, min(high, x))", "sign": "math.copysign(1, x)", "pi": "math.pi",
    "e": "math.e", "inf": "math.inf", "isclose": "math.isclose(a, b)", "array": "a list",
    "zeros": "[0.0] * n", "ones": "[1.0] * n", "uniform": "random.uniform(a, b)",
    "randn": "random.gauss(0, 1)", "normal": "random.gauss(mu, sigma)",
    "rand": "random.random()", "random": "random.random()", "seed": "random.seed(n)",
    "choice": "random.choice(xs)", "shuffle": "random.shuffle(xs)",
}


def _withheld(message: str, name: str, place: str) -> str | None:
    """A module grading does not provide, used for one number: the function that does it."""
    used = message.split(" is not available", 1)[0].strip()
    last = used.split("(")[0].rsplit(".", 1)[-1]
    module = used.split(".", 1)[0]
    instead = SCALAR_EQUIVALENTS.get(last)
    if instead is None or module not in ("numpy", "np", "torch", "scipy", "jax"):
        return None
    return (f"{name} ({place}) uses {used.split('(')[0]}, which grading does not provide "
            f"(a Value holds one number, where numpy works on arrays): {instead} does it.")


# ------------------------------------------------------------------------ the given operations
GIVEN_GRAPHS: dict[str, ops.Spec] = {
    "Value.__sub__": [["leaf", 1.3], ["leaf", -0.6], ["sub", 0, 1]],
    "Value.__rsub__": [["leaf", 0.7], ["csub", 2.0, 0]],
    "Value.__neg__": [["leaf", 1.4], ["neg", 0]],
    "Value.__pow__": [["leaf", 1.2], ["pow", 0, 3]],
    "Value.__truediv__": [["leaf", 1.5], ["leaf", -0.8], ["div", 0, 1]],
    "Value.__rtruediv__": [["leaf", 1.6], ["cdiv", 2.0, 0]],
    "Value.__radd__": [["leaf", -0.9], ["cadd", 2.5, 0]],
    "Value.__rmul__": [["leaf", 1.1], ["cmul", -2.0, 0]],
}


def given_operations(results: dict[str, dict[str, Any]]) -> list[str]:
    """The given operations whose values or gradients are wrong, each in one sentence."""
    broken = []
    for name, result in results.items():
        if result.get("broken"):
            broken.append(f"the given {name} gives {result['broken']}: it has been changed "
                          f"from the kit's version (put it back from the kit's exercises/)")
    return broken
