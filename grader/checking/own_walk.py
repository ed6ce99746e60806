"""The backward step for an engine with nothing of the grader's to attach (its backward()
computes each operation's derivative itself): its walk is judged on the engine's own local
derivatives, measured one operation at a time, so a mistake in an operation costs points in
that operation's step and not again here."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .. import ops
from . import graphs

# measure(spec) -> the gradients the student's engine gives a small graph, walked by its own
# backward() from the output with grad 1 (None when it fails).
Measure = Callable[[graphs.Spec], Sequence[Any] | None]


def locals_at(spec: graphs.Spec, data: Sequence[float], i: int, measure: Measure
              ) -> dict[int, float] | None:
    """d(node i)/d(operand) for each distinct operand of node i, as the student's engine
    computes it at the values its own forward pass gave (`data`)."""
    inputs = list(dict.fromkeys(ops.operands(spec[i])))
    new = {j: k for k, j in enumerate(inputs)}
    mini: graphs.Spec = [["leaf", data[j]] for j in inputs] + [ops.renumber(spec[i], new)]
    grads = measure(mini)
    if grads is None or len(grads) != len(mini):
        return None
    found: dict[int, float] = {}
    for j, k in new.items():
        g = grads[k]
        if not isinstance(g, (int, float)) or isinstance(g, bool):
            return None
        found[j] = float(g)
    return found


def walk_is_right(spec: graphs.Spec, data: Sequence[Any], grads: Sequence[Any],
                  measure: Measure) -> bool:
    """Whether `grads` (the student's backward() from the output) are what the chain rule gives
    with the engine's own local derivatives, and those differ from the true ones somewhere
    (otherwise the failure is the walk's)."""
    values = [float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None
              for x in data]
    if len(values) != len(spec) or len(grads) != len(spec) or None in values:
        return False
    chained = [0.0] * len(spec)
    chained[-1] = 1.0
    own_differs = False
    for i in range(len(spec) - 1, -1, -1):
        if spec[i][0] == "leaf":
            continue
        local = locals_at(spec, values, i, measure)              # type: ignore[arg-type]
        if local is None:
            return False
        true = ops.local_derivatives(spec[i], values)             # type: ignore[arg-type]
        by_operand: dict[int, float] = {}
        for j, d in zip(ops.operands(spec[i]), true):
            by_operand[j] = by_operand.get(j, 0.0) + d
        own_differs |= any(not graphs.close(local[j], by_operand[j]) for j in local)
        for j, d in local.items():
            chained[j] += d * chained[i]
    if not own_differs:
        return False
    return all(isinstance(g, (int, float)) and not isinstance(g, bool) and
               graphs.close(float(g), want) for g, want in zip(grads[:-1], chained[:-1]))
