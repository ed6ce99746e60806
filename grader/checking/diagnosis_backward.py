"""Name a backward() mistake from the order in which it called the nodes' _backward.

The worker's graph logs each call of a node's _backward with the node's grad at that moment;
each rule below reads that walk and names one mistake, or says nothing. The rules are tried in
order, the most basic first (nothing walked, no seed), so each may assume the ones before it
found nothing."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TypedDict

from .. import ops
from .graphs import node_text, path_lengths, users_and_paths

MAX_CALLS = 5000     # _backward calls a diagnosis reads: a graph here has a few dozen nodes


class PresetProbe(TypedDict):
    """A second backward() from a leaf whose grad was preset: its grad before and after."""
    leaf_before: float
    leaf_after: float | None


@dataclass
class Walk:
    """One backward() as the worker saw it, cleaned of anything malformed."""

    spec: ops.Spec
    grads: Sequence[float | None]
    order: list[int]                       # the nodes whose _backward ran, in call order
    at_call: dict[int, Any]                # each node's grad when its _backward ran
    prev: list[Any]                        # each node's _prev, as node numbers
    preset_probe: PresetProbe | None
    collapses: bool
    out: int = field(init=False)
    interior: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.out = len(self.spec) - 1
        self.interior = [i for i, node in enumerate(self.spec) if node[0] != "leaf"]


def backward_trace(spec: ops.Spec, grads: Sequence[float | None], calls: Sequence[Any],
                   prev: Sequence[Any], preset_probe: PresetProbe | None = None,
                   collapses: bool = False) -> str | None:
    """Diagnose backward() from the order in which it called the nodes' _backward (the grader's
    own closures, which log each call with the node's grad at that moment). `preset_probe`:
    a leaf's grad before and after a second backward() that started with it non-zero;
    `collapses`: two Values of the same number are one in a set (__eq__ on .data)."""
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
    kept = [p[:len(spec) + 1] if isinstance(p, list) else p for p in prev[:len(spec)]]
    kept += [None] * (len(spec) - len(kept))
    walk = Walk(spec, grads, [c[0] for c in calls], {c[0]: c[1] for c in calls}, kept,
                preset_probe, collapses)
    for rule in RULES:
        said = rule(walk)
        if said is not None:
            return said
    return None


def _nothing_walked(walk: Walk) -> str | None:
    if walk.order:
        return None
    if walk.preset_probe is not None and walk.preset_probe.get("leaf_after") == 0:
        return ("backward() resets every gradient without walking the graph: no node's "
                "_backward was called.")
    return ("backward() called no node's _backward: collect the nodes by following _prev "
            "from the output, then call each one's _backward.")


def _no_seed(walk: Walk) -> str | None:
    if walk.out not in walk.at_call or walk.at_call[walk.out] not in (0, 0.0, None):
        return None
    probe = walk.preset_probe
    if probe is not None and probe.get("leaf_after") == 0.0 and \
            probe.get("leaf_before") not in (0, 0.0):
        return ("backward() sets the output's gradient to 1 and then resets every gradient "
                "to 0, the output's included, before walking: set out.grad = 1 after "
                "clearing, or do not clear.")
    return ("backward() never sets the output's gradient to 1 before walking the graph, so "
            "every gradient stays 0: d(out)/d(out) = 1 is where the chain rule starts.")


def _unreached(walk: Walk) -> str | None:
    spec, order = walk.spec, walk.order
    never = [i for i in walk.interior if i not in order]
    if not never:
        return None
    if any(walk.prev[i] == [] for i in never if isinstance(walk.prev[i], list)):
        return ("some nodes' _prev is empty, so backward() cannot reach past them: build "
                "the graph from _prev as Value(data, children, op) stores it.")
    values = ops.evaluate(spec)
    twin = next((j for j in range(len(spec)) if j != never[0] and
                 values[j] == values[never[0]]), None)
    if walk.collapses and twin is not None:
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


def _reset_during_walk(walk: Walk) -> str | None:
    spec, order, at_call = walk.spec, walk.order, walk.at_call
    passing = [i for i in dict.fromkeys(order) if i != walk.out]
    first = {node: k for k, node in reversed(list(enumerate(order)))}
    in_order = all(first[u] < first[i] for u in passing for i in ops.operands(spec[u])
                   if i in first)                 # every node after the nodes that use it
    leaves_zero = all(g in (0, 0.0) for i, g in enumerate(walk.grads[:len(spec)])
                      if spec[i][0] == "leaf")
    if in_order and at_call.get(walk.out) not in (0, 0.0, None) and (
            (passing and all(at_call.get(i) in (0, 0.0) for i in passing)) or
            (not passing and leaves_zero)):
        return ("backward() sets each node's gradient to 0 while it walks, just before the "
                "node passes it on, so nothing reaches past the output: clear gradients "
                "before the walk starts (train_step does it), never during it.")
    return None


def _repeated(walk: Walk) -> str | None:
    counts = Counter(walk.order)
    repeated = [i for i in walk.interior if counts.get(i, 0) > 1]
    if not repeated:
        return None
    name, times = node_text(walk.spec, repeated[0]), counts[repeated[0]]
    style = _walk_style(walk.order, walk.spec, walk.prev)
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


def _out_of_order(walk: Walk) -> str | None:
    spec, order = walk.spec, walk.order
    users: dict[int, list[int]] = {}
    for i in walk.interior:
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
    if not early:
        return None
    u, x = early[0]
    if len(path_lengths(spec)[x]) > 1 and _breadth_first(order, spec):
        return (f"backward() walks the graph breadth-first from the output: "
                f"{node_text(spec, x)} is reached by a short path and a long one, and it "
                f"passed its gradient on before the long path's share arrived. Order the "
                f"nodes topologically, then walk that order from the output.")
    return (f"backward() called the _backward of {node_text(spec, x)} before that of "
            f"{node_text(spec, u)}, which uses it, so part of its gradient had not arrived "
            f"yet. Walk a topological order from the output.")


# The rules, in the order they are tried.
RULES: tuple[Callable[[Walk], str | None], ...] = (
    _nothing_walked, _no_seed, _unreached, _reset_during_walk, _repeated, _out_of_order)


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
