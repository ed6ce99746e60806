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
from dataclasses import dataclass
from itertools import product
from typing import Callable, Sequence

from .. import ops

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
    if not kept and _left_as_they_were(probes):
        return _changes_nothing(name, probes)
    binary = ops.OPS[op].shape == "binary"
    who_names = ["self", "other"] if binary else ["self"]
    twice = ops.OPS[op].text.format("a", "a") if binary else "the same input used twice"
    found: list[tuple[tuple[Part, ...], str]] = []
    for k, who in enumerate(who_names):
        fitting = _candidates(op, probes, k)
        if not fitting or any(not _agree(fitting[0][1], other) for _, other in fitting[1:]):
            return None                      # none, or two different explanations, fit
        first = fitting[0][0]
        words = _said(first, who, who_names[1 - k] if binary else "self", twice, op)
        if words:
            found.append((first, words))
    if not found:
        return None
    if len(found) == 2 and [p.name for p in found[0][0]] == [p.name for p in found[1][0]]:
        return f"{subject}, for both inputs, {_for_both(found[0][0], twice, op)}."
    return f"{subject}{',' if kept else ''} " + "; and it ".join(text for _, text in found) + "."


def _for_both(parts: tuple[Part, ...], twice: str, op: str) -> str:
    """The same mistake for both inputs, said once."""
    return " and ".join(part.says.format(
        who="each input", other="the other input", grad="each input's .grad",
        twice=twice, name=op, whose="each input's", its="its", data=".data",
        others="the other input's", other_data=".data") for part in parts if part.says)


def _left_as_they_were(probes: Sequence[LocalProbe]) -> bool:
    """Every input's grad after the call is what it was before."""
    return all(all(fits(p.got[k], p.presets[k]) for k in range(len(p.inputs))) for p in probes)


def _changes_nothing(name: str, probes: Sequence[LocalProbe]) -> str:
    """Calling the result's _backward left every input's grad as it was."""
    if all(p.default_backward is False for p in probes):
        # A closure of its own is there, and adds nothing: the out.grad it uses was read
        # when the result was made, when it was still 0.
        return (f"calling {name}'s out._backward() changes nothing, though it is a "
                f"function of yours: it uses out.grad as it was when the result was made "
                f"(0), not as it is when _backward runs. Read out.grad inside _backward.")
    return (f"calling {name}'s out._backward() changes nothing: the closure is attached to "
            f"another Value than the result (out), or never attached.")


def _said(first: tuple[Part, ...], who: str, other: str, twice: str, op: str) -> str:
    """What a candidate says of one input, in words."""
    parts = [part for part in first if part.says]
    if [part.name for part in parts] == ["other grad after", "one"]:
        parts = parts[:1]        # adding one .grad to another says it all
    return " and ".join(part.says.format(
        who=who, other=other, grad=f"{who}.grad", twice=twice, name=op,
        whose=f"{who}'s", its="its", data=f"{who}.data", others=f"{other}'s",
        other_data=f"{other}.data") for part in parts)


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
