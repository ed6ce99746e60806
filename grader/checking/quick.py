"""Quick verdicts, for when a check must know about another step whose checks did not run
(--step): a few probes of that step alone. And the given operations, each tried once on the
student's engine: which are broken, and how."""

from __future__ import annotations

import math
from typing import Any, Protocol, Sequence, TypeVar

from .. import ops
from . import diagnosis_errors, graphs
from .anatomy import EngineProfile, walked
from .diagnosis import LocalProbe
from .session import CheckFailed, as_number, fmt
from ..sandbox import tasks
from ..sandbox.tasks import Task
from .diagnosis_errors import GivenState

A = TypeVar("A")


class Prober(Protocol):
    """What these need of the checks' Kit."""

    def probe(self, task: Task[A], timeout: float | None = None, engine: str | None = None,
              **args: Any) -> A: ...

    def local_probes(self, op: str) -> list[LocalProbe] | None: ...

    def structure(self, spec: graphs.Spec, grads_of: Sequence[int] | None = None,
                  after: graphs.Spec | None = None) -> None: ...

    def profile(self) -> EngineProfile: ...


def passes_quickly(kit: Prober, step_id: str) -> bool:
    try:
        if step_id in ops.STEP_OPS:
            for op in ops.STEP_OPS[step_id]:
                for p in kit.local_probes(op) or []:
                    for k in range(len(p.inputs)):
                        grad = p.got[k]
                        want = p.presets[k] + p.upstream * p.derivatives[k]
                        if grad is None or not graphs.close(grad, want):
                            return False
        elif step_id == "backward":
            kit.structure([["leaf", 0.6], ["leaf", -1.3], ["mul", 0, 1], ["tanh", 2],
                            ["add", 3, 2]])
        elif step_id == "neuron":
            params, x = [0.3, -0.6, 0.1], [1.2, -0.7]
            out = as_number(kit.probe(tasks.NEURON, n=2, init_seed=1, params=params,
                                     x=x).get("out"))
            spec, _, _ = graphs.mlp_graph(2, [1], params, [x])
            return out is not None and graphs.close(out, graphs.evaluate(spec)[-2])
        elif step_id == "network":
            count = kit.probe(tasks.MLP, nin=3, sizes=[4, 4, 1], init_seed=5).get("count")
            return bool(count == graphs.mlp_size(3, [4, 4, 1]))
        elif step_id == "softmax":
            answer = kit.probe(tasks.SOFTMAX, logits=[0.5, -1.0, 2.0], weights=[1.0, 0.0, 0.0])
            top = max(0.5, -1.0, 2.0)
            exps = [math.exp(v - top) for v in (0.5, -1.0, 2.0)]
            first = as_number((answer.get("out") or [None])[0])
            return first is not None and graphs.close(first, exps[0] / sum(exps))
    except CheckFailed:
        return False
    return True

def given_operations(kit: Prober) -> dict[str, GivenState]:
    """Each given operation on the student's engine: broken (with what it gave) or not."""
    names = list(diagnosis_errors.GIVEN_GRAPHS)
    result = kit.probe(tasks.GIVEN, graphs=[ops.wire(diagnosis_errors.GIVEN_GRAPHS[n]) for n in names],
                        profile=kit.profile().args())
    found: dict[str, GivenState] = {}
    for name, spec, got in zip(names, diagnosis_errors.GIVEN_GRAPHS.values(),
                               result.get("results") or []):
        if not isinstance(got, dict):
            continue
        if "error" in got:
            found[name] = {"error": got["error"]}
            continue
        values = graphs.evaluate(spec)
        want = graphs.finite_difference_grads(spec)
        data = [as_number(x) for x in got.get("data") or []]
        walk = walked(spec, got, {len(spec) - 1: 1.0})
        grads = [as_number(x) for x in walk] if isinstance(walk, list) else []
        text = graphs.render(spec)
        if len(data) != len(spec) or not graphs.close(data[-1] or math.nan, values[-1]):
            found[name] = {"broken": f"{fmt(data[-1] if data else None)} for {text} "
                                     f"(expected {fmt(values[-1])})"}
        elif any(g is None or not graphs.close(g, w) for g, w in
                 zip(grads[:-1], want[:-1])):
            found[name] = {"broken": f"wrong gradients for {text}"}
        else:
            found[name] = {}
    return found
