"""Verdicts on what the worker observed of a graph: every node's value, the links from each result
to its inputs, and the gradients against finite differences (pure: plain floats in, a failure
with its message out)."""

from __future__ import annotations

import math
from typing import Any, Sequence

from . import diagnosis, graphs
from .anatomy import EngineProfile, chain_rule
from .session import CheckFailed, as_number, fmt
from ..sandbox.tasks import LocalAnswer


def sinks_of(spec: graphs.Spec, seed: float, seeds: dict[int, float] | None) -> dict[int, float]:
    return dict(seeds) if seeds else {len(spec) - 1: seed}


def expected_grads(spec: graphs.Spec, sinks: dict[int, float]) -> list[float]:
    """d(sum of g_s * sink_s)/d(node) for every node, by finite differences: the gradient a
    manual walk from several sinks, each given its own upstream gradient, should produce."""
    if len(sinks) == 1 and len(spec) - 1 in sinks:
        return graphs.finite_difference_grads(spec, sinks[len(spec) - 1])
    extended = [list(node) for node in spec]
    terms = []
    for i, g in sinks.items():
        extended.append(["mulc", i, g])
        terms.append(len(extended) - 1)
    extended.append(["sum", terms])
    grads = graphs.finite_difference_grads(extended)[:len(spec)]
    for i, g in sinks.items():          # a sink's own grad is what the walk set it to
        grads[i] = g
    return grads


def from_local(result: LocalAnswer, presets: Sequence[float], upstream: float
                ) -> list[float | None]:
    """What the chain rule makes of the local derivatives an operation left (in the node it
    made, or the nodes of an operation built from others): each input's preset grad plus what
    reaches it from out.grad = upstream (None when they cannot be read)."""
    at = result.get("at") or []
    grads = chain_rule(result.get("made") or [], at, {len(at) - 1: upstream}) if at else []
    got: list[float | None] = []
    for k, preset in enumerate(presets):
        grad = as_number(grads[k]) if k < len(grads) else None
        got.append(None if grad is None else preset + grad)
    return got


def how_built(spec: graphs.Spec, profile: EngineProfile, sinks: dict[int, float]) -> str:
    """What the grader built and how it walked it, as a failure shows it."""
    given = ", ".join(f"{graphs.node_name(spec, i)}.grad = {g:g}" for i, g in sinks.items())
    if profile.style == "public":
        return f"built {graphs.render(spec)}\nthen called out.backward()"
    if profile.backward:
        return (f"built {graphs.render(spec)}\nthen set {given} and called every "
                f"{profile.backward}, newest first")
    return (f"built {graphs.render(spec)}\nthen set {given} and applied the chain rule to the "
            f"local derivatives in {profile.local or profile.pairs}, newest first")


def check_values(spec: graphs.Spec, data: list[Any], how: str) -> None:
    """Every node's .data, against the graph evaluated here."""
    expected = graphs.evaluate(spec)
    for i in range(len(spec)):
        got = as_number(data[i])
        if got is None or not graphs.close(got, expected[i]):
            raise CheckFailed(f"{how}\ngot {graphs.node_name(spec, i)}.data = {fmt(got)}, "
                              f"expected {fmt(expected[i])}", kind="wrong_data",
                              diagnosis=diagnosis.forward_value(spec, i, expected, got))


def check_linked(spec: graphs.Spec, linked: Any, profile: EngineProfile, how: str) -> None:
    """Every result lists its inputs where the engine keeps them."""
    if not isinstance(linked, list) or len(linked) != len(spec):
        return
    where = " and ".join(profile.children) or profile.pairs or "_prev"
    for i, node in enumerate(spec):
        parents = set(graphs.operands(node))
        if linked[i] is not None and (not isinstance(linked[i], int) or
                                      linked[i] < len(parents)):
            names = " and ".join(graphs.node_name(spec, j) for j in sorted(parents))
            raise CheckFailed(
                f"{how}\nthe result of {graphs.node_text(spec, i)} does not list "
                f"{names} in its {where}", kind="not_linked",
                diagnosis="a result that is not linked to its inputs is invisible to "
                          "backward(): make it with its inputs as its children, as "
                          "Value(data, children, op) does.")


def wrong_grads(spec: graphs.Spec, grads: list[Any], sinks: dict[int, float]) -> str:
    """The first gradient that differs from finite differences, and the others that do; ""
    when none does."""
    want = expected_grads(spec, sinks)
    wrong = []
    for i in range(len(spec)):
        if i in sinks:
            continue                 # set by the grader
        got = as_number(grads[i])
        if got is None or not graphs.close(got, want[i]):
            wrong.append((i, got))
    if not wrong:
        return ""
    i, got = wrong[0]
    err = graphs.relative_error(got, want[i]) if got is not None else math.inf
    text = (f"got {graphs.node_name(spec, i)}.grad = {fmt(got)}, expected "
            f"{fmt(want[i])}" + (f" (relative error {err:.2g})" if got is not None else ""))
    if len(wrong) > 1:
        others = ", ".join(graphs.node_name(spec, j) + ".grad" for j, _ in wrong[1:4])
        more = len(wrong) - 4
        text += f"\nalso wrong: {others}" + (f" and {more} more" if more > 0 else "")
    return text


def structure_failure(spec: graphs.Spec, grads: list[Any], indices: Sequence[int],
                      profile: EngineProfile, after: graphs.Spec | None) -> str:
    """What backward() got wrong on a graph of the grader's local derivatives: how it was
    built, the first wrong gradient and the others; "" when every gradient is right."""
    want = graphs.finite_difference_grads(spec, only=list(indices))
    rule = f"a {profile.backward} of the grader's" if profile.backward else \
        f"the grader's local derivatives in {profile.local or profile.pairs}"
    where = " and ".join(profile.children) or profile.pairs
    how = (f"built {graphs.render(spec)} with your Value, each node given its inputs (in "
           f"{where}) and {rule}, then called out.backward()")
    if after is not None:
        how = (f"called backward() on {graphs.render(after)}, set its leaves' grads to 0, "
               f"then {how} (the same leaves)")
    wrong = [(i, as_number(grads[i])) for i in indices
             if as_number(grads[i]) is None or not graphs.close(as_number(grads[i]) or 0.0,
                                                              want[i])]
    if not wrong:
        return ""
    i, got = wrong[0]
    text = f"{how}\ngot {graphs.node_name(spec, i)}.grad = {fmt(got)}, expected {fmt(want[i])}"
    if len(wrong) > 1:
        others = ", ".join(graphs.node_name(spec, j) + ".grad" for j, _ in wrong[1:4])
        text += f"\nalso wrong: {others}" + (f" and {len(wrong) - 4} more"
                                             if len(wrong) > 4 else "")
    return text
