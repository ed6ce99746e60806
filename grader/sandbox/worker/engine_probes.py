"""Probes of the student's engine: graphs built with their operations from the grader's wired
graphs (grader/ops.py wire(): Python syntax and arguments, nothing else of an operation), what a
Value keeps ("anatomy"), and backward() walking nodes that carry the grader's own rule. Every
answer is an observation; the grader computes what it should have been.
"""

from __future__ import annotations

import builtins as _builtins
import itertools
import operator
from typing import Any, Callable

import guards
from context import Ctx
from errors import Reported, describe, error_of, reported
from reading import data_of, fields_of, grad_of, key, num, shape_of
from tasks import (ANATOMY, GIVEN, GRAPH, LOCAL, STRUCTURE, AnatomyAnswer, Answer, Constructor,
                   GivenAnswer, GivenResult, GraphAnswer, LocalAnswer, Made, MadeGraph, Profile,
                   StructureAnswer, StructureGraph)
from world import value_class

# This module's own builtins: student code that rebinds a builtin changes nothing here.
__builtins__ = dict(vars(_builtins))                          # type: ignore[assignment]

Wired = list[list[Any]]
BINARY = {"+": operator.add, "*": operator.mul, "-": operator.sub, "/": operator.truediv,
          "**": operator.pow}
MAX_RECORDED_CALLS = 10_000    # _backward calls one backward() probe records (a diagnosis reads 5000)
TUTORIAL_PROFILE: Profile = {"style": "closure", "children": ["_prev"], "containers": {"_prev": "set"},
                    "backward": "_backward", "local": None, "pairs": None}


def operands(node: list[Any]) -> list[int]:
    return [] if node[0] == "leaf" else [a[1] for a in node[1] if a[0] == "n"]


def build_graph(ctx: Ctx, spec: Wired) -> list[Any]:
    """The graph built with the student's Values and operators."""
    V, call = value_class(ctx), ctx["call"]
    nodes: list[Any] = []
    for i, node in enumerate(spec):
        try:
            if node[0] == "leaf":
                made = call(V, node[1])
            else:
                syntax = node[0]
                args = [nodes[a[1]] if a[0] == "n" else a[1] for a in node[1]]
                if syntax in BINARY:
                    made = call(BINARY[syntax], *args)
                elif syntax == "neg":
                    made = call(operator.neg, args[0])
                elif syntax == "sum":
                    made = call(sum, args)
                elif syntax.startswith("."):
                    made = call(lambda a, name: getattr(a, name)(), args[0], syntax[1:])
                else:
                    raise reported("protocol", f"unknown operation {syntax}")
        except Reported as failure:
            error_of(failure)["node"] = i
            raise
        data_of(ctx, made, f"node {i} ({node[0]})")
        nodes.append(made)
    return nodes


def reset(ctx: Ctx) -> None:
    del ctx["created"][:]
    ctx["recording"][0] = True


def moves_gradient(fn: Any, a: Any, b: Any, out: Any) -> list[float | None] | None:
    """The inputs' grads after calling fn() with them at 0.3 and 0.7 and out.grad 1.7."""
    try:
        setattr(a, "grad", 0.3)
        setattr(b, "grad", 0.7)
        setattr(out, "grad", 1.7)
        fn()
        return [grad_of(a), grad_of(b)]
    except BaseException:
        return None


def task_anatomy(ctx: Ctx, op: str | None = None) -> AnatomyAnswer:
    """What a leaf keeps (op None), or what a + b, a * b or tanh(a) keep and which of their
    callables passes a gradient on: one operation per probe, so that one that hangs or crashes
    leaves the others to be seen."""
    V, call = value_class(ctx), ctx["call"]
    if op is None:
        leaf = call(V, 1.5)
        # Two Values of the same number that a set takes for one (__eq__/__hash__ on .data)
        # make a visited set skip nodes.
        try:
            collapses = call(lambda: len({V(1.5), V(1.5)}) == 1)
        except Reported:
            collapses = False                  # unhashable, say: no visited set of Values
        return {"leaf": {name: shape_of(value, {}) for name, value in fields_of(leaf).items()},
                "collapses": collapses is True}
    if op.startswith("constructor:"):
        return {"constructor": constructor_way(ctx, V, op.split(":", 1)[1])}
    builds = {"add": operator.add, "mul": operator.mul, "tanh": lambda a, b: a.tanh()}
    a, b = call(V, 1.5), call(V, -2.5)
    out = call(builds[op], a, b)
    index = {key(a): 0, key(b): 1, key(out): 2}
    fields = fields_of(out)
    shapes = {name: shape_of(value, index) for name, value in fields.items()}
    moved = {name: moves_gradient(value, a, b, out) for name, value in fields.items()
             if shapes[name]["kind"] == "callable"}
    method = getattr(out, "_backward", None) if "_backward" not in fields else None
    if callable(method):                    # a method of the class (dispatching on _op, say)
        moved["_backward"] = moves_gradient(method, a, b, out)
    return {"ops": {op: {"fields": shapes, "moved": moved}}}


def pairs_of(node: Any, name: str, limit: int) -> list[tuple[Any, Any]]:
    """(input, local derivative) pairs kept in a list of pairs or a dict {input: derivative}."""
    kept = getattr(node, name)
    items = kept.items() if type(kept) is dict else kept
    return [(p[0], p[1]) for p in itertools.islice(items, limit)]


def constructor_way(ctx: Ctx, V: Any, name: str) -> Constructor | None:
    """How Value's constructor takes a node's inputs, when it does: the position or keyword
    under which the inputs it is given end up in its attribute `name` (what the constructor
    works out from them, a depth, say, is then the engine's own)."""
    a, b = ctx["call"](V, 1.5), ctx["call"](V, -2.5)
    bare = name.lstrip("_")
    names = [name, bare, f"_{bare}", "_children", "children", "_prev", "prev", "_parents",
             "parents", "_inputs", "inputs", "_operands", "operands"]
    ways: list[Constructor] = [{"position": 1}]
    ways += [{"keyword": n} for n in dict.fromkeys(names)]
    ways.append({"position": 2})
    for way in ways:
        try:
            if "position" in way:
                made = V(1.0, *[()] * (way["position"] - 1), (a, b))
            else:
                made = V(1.0, **{way["keyword"]: (a, b)})
            held = getattr(made, name)
            if {key(x) for x in (held if type(held) is not dict else list(held))} == \
                    {key(a), key(b)}:
                return way
        except BaseException:
            continue
    return None


def inputs_of(node: Any, profile: Profile, limit: int) -> list[Any] | None:
    """A node's inputs as its engine keeps them (the profile's first attribute), at most
    `limit` of them (an input list may be any iterable, endless or huge)."""
    names, pairs = profile.get("children") or [], profile.get("pairs")
    try:
        if pairs:
            return [p[0] for p in pairs_of(node, pairs, limit)]
        return list(itertools.islice(getattr(node, names[0]), limit)) if names else None
    except BaseException:
        return None


def reachable(node: Any, targets: list[Any], profile: Profile, limit: int = 256
              ) -> int:
    """How many of `targets` a node reaches through the inputs its engine keeps (directly, or
    through nodes of its own: a tanh built from exp and division keeps its input two steps
    down)."""
    wanted = {key(t) for t in targets}
    seen: set[int] = set()
    pending = list(inputs_of(node, profile, 64) or [])
    while pending and len(seen) < limit:
        current = pending.pop()
        if key(current) in seen:
            continue
        seen.add(key(current))
        if key(current) not in wanted:
            pending.extend(inputs_of(current, profile, 64) or [])
    return len(wanted & seen)


def local_of(node: Any, profile: Profile, limit: int) -> list[float | None]:
    """A node's local derivatives, in the order of its inputs (local or pairs style)."""
    pairs, local = profile.get("pairs"), profile.get("local")
    try:
        if pairs:
            return [num(p[1]) for p in pairs_of(node, pairs, limit)]
        if local:
            return [num(x) for x in itertools.islice(getattr(node, local), limit)]
    except BaseException:
        pass
    return []


def made_graph(ctx: Ctx, nodes: list[Any], profile: Profile) -> MadeGraph:
    """Every Value made since the last reset, with its inputs (indices among them) and local
    derivatives: the grader applies the chain rule to the student's own numbers."""
    made = ctx["created"][:5000]
    index = {key(n): i for i, n in enumerate(made)}
    records: list[Made] = [
        {"inputs": [index.get(key(p), -1) for p in inputs_of(n, profile, 64) or []],
                "local": local_of(n, profile, 64)} for n in made]
    return {"made": records, "at": [index.get(key(n), -1) for n in nodes]}


def walk_created(ctx: Ctx, sinks: dict[int, float], nodes: list[Any], name: str) -> None:
    """Set each sink's grad, then call every node's _backward (named `name`) made since the last
    reset, newest first: the operation steps are graded before backward() exists."""
    call = ctx["call"]
    for i, g in sinks.items():
        call(setattr, nodes[i], "grad", g)
    for node in list(reversed(ctx["created"])):
        fn = getattr(node, name, None)
        if callable(fn):
            call(fn)


def linked(spec: Wired, nodes: list[Any], profile: Profile) -> list[int | None]:
    """For each node the student's own operation made: how many of its operands it reaches
    through the inputs it keeps."""
    result: list[int | None] = []
    for i, node in enumerate(spec):
        if node[0] == "leaf" or not node[2]:
            result.append(None)
        elif inputs_of(nodes[i], profile, 64) is None:
            result.append(None if not (profile.get("children") or profile.get("pairs")) else 0)
        else:
            result.append(reachable(nodes[i], [nodes[j] for j in set(operands(node))],
                                    profile))
    return result


def task_graph(ctx: Ctx, spec: Wired, walk: str, profile: Profile | None = None,
               seeds: dict[str, float] | None = None) -> GraphAnswer:
    """Build a graph with the student's operations; walk="manual": grads set on the sinks,
    then every _backward newest first (or, for an engine of local derivatives, the graph it
    made, for the grader to walk); walk="student": out.backward()."""
    profile = profile or TUTORIAL_PROFILE
    reset(ctx)
    nodes = build_graph(ctx, spec)
    report: MadeGraph = {}
    sinks = {int(k): v for k, v in (seeds or {str(len(spec) - 1): 1.0}).items()}
    if walk == "manual" and profile.get("backward"):
        walk_created(ctx, sinks, nodes, str(profile["backward"]))
    elif walk == "manual":
        report = made_graph(ctx, nodes, profile)
    elif walk == "student":
        ctx["call"](lambda: nodes[-1].backward())
    return {"data": [data_of(ctx, n, "node") for n in nodes],
            "grad": [grad_of(n) for n in nodes], "linked": linked(spec, nodes, profile),
            **report}


def task_local(ctx: Ctx, spec: Wired, presets: list[float | None], seed: float,
               profile: Profile) -> LocalAnswer:
    """Call only the output's own _backward, once, every input's grad preset first; or, for
    an engine of local derivatives, read the output's local derivatives."""
    reset(ctx)
    nodes = build_graph(ctx, spec)
    out, call, name = nodes[-1], ctx["call"], profile.get("backward")
    if not name:
        # The grader applies the chain rule to what the operation made (one node, or several
        # for an operation built from others).
        return {**made_graph(ctx, nodes, profile)}
    for n, preset in zip(nodes, presets):
        if preset is not None and n is not out:
            call(setattr, n, "grad", preset)
    call(setattr, out, "grad", seed)
    # The operation's own rule: the _backward of every node it made, newest first (one, or
    # several for an operation built from others), none of the inputs'.
    inputs = {key(n) for n in nodes[:-1]}
    made = [n for n in ctx["created"] if key(n) not in inputs]
    for node in reversed(made):
        fn = getattr(node, name, None)
        if callable(fn):
            call(fn)
    # Whether the result's _backward is still the one a fresh Value gets (never attached).
    try:
        fresh = call(value_class(ctx), 0.0)
        default = getattr(getattr(out, name), "__code__", None) is \
            getattr(getattr(fresh, name), "__code__", 0)
    except BaseException:
        default = None
    return {"grad": [grad_of(n) for n in nodes], "default_backward": default}


def task_given(ctx: Ctx, graphs: list[Wired], profile: Profile) -> GivenAnswer:
    """The given operations (-, /, **, reflected ones) on the student's engine, each graph on
    its own: values and every _backward newest first (or the graph made, for an engine of
    local derivatives; or the student's backward(), for one of neither)."""
    results: list[GivenResult] = []
    for spec in graphs:
        reset(ctx)
        try:
            nodes = build_graph(ctx, spec)
            found: MadeGraph = {}
            backward = profile.get("backward")
            if backward:
                walk_created(ctx, {len(spec) - 1: 1.0}, nodes, backward)
            elif profile.get("local") or profile.get("pairs"):
                found = made_graph(ctx, nodes, profile)
            else:
                ctx["call"](lambda: nodes[-1].backward())
            results.append({"data": [data_of(ctx, n, "node") for n in nodes],
                            "grad": [grad_of(n) for n in nodes], **found})
        except Reported as failure:
            results.append({"error": error_of(failure)})
    return {"results": results}


def container(kind: str, items: list[Any]) -> Any:
    if kind == "dict":
        return dict.fromkeys(items)
    return {"set": set, "frozenset": frozenset, "list": list}.get(kind, tuple)(items)


def structure_class(ctx: Ctx, profile: Profile) -> Any:
    """The class the backward() probe makes its nodes of: the student's Value, or, when its
    __slots__ leave no room for what the grader attaches, a subclass with room (and nothing
    else)."""
    V = value_class(ctx)
    try:
        probe = ctx["call"](V, 0.0)
        for name in [*(profile.get("children") or []), profile.get("local"),
                     profile.get("pairs"), profile.get("op")]:
            if name:
                setattr(probe, name, getattr(probe, name, None))
        backward = profile.get("backward")
        if backward:
            setattr(probe, backward, lambda: None)
        return V
    except BaseException:
        return type("Value", (V,), {"__module__": getattr(V, "__module__", "engine")})


def attach(made: Any, node: list[Any], children: list[Any], derivatives: list[float],
           calls: list[Any], index: int, profile: Profile) -> None:
    """Give a node of the backward() probe its inputs (under the engine's own names), the
    grader's rule for passing its gradient on, and the name of its operation."""
    containers = profile.get("containers") or {}
    logged = guards.isolated(guards.make_logged)
    backward, pairs, local, op = (profile.get("backward"), profile.get("pairs"),
                                  profile.get("local"), profile.get("op"))
    if backward:
        # Each operand node once, with its whole derivative (a * a has one child).
        unique: list[Any] = []
        summed: list[float] = []
        for child, d in zip(children, derivatives):
            same = [k for k, u in enumerate(unique) if u is child]     # not ==: theirs
            if same:
                summed[same[0]] += d
            else:
                unique.append(child)
                summed.append(d)
        for name in profile.get("children") or []:
            setattr(made, name, container(containers.get(name, "tuple"), unique))
        setattr(made, backward, guards.isolated(guards.make_backward)(
            made, tuple(unique), summed, index, calls, zip, list.append, len,
            MAX_RECORDED_CALLS))
    elif pairs and containers.get(pairs) == "dict":
        summed_by: dict[int, list[Any]] = {}
        for child, d in zip(children, derivatives):   # {a: 2a} for a * a: one key
            summed_by.setdefault(key(child), [child, 0.0])[1] += d
        setattr(made, pairs, {c: d for c, d in summed_by.values()})
    elif pairs:
        setattr(made, pairs, logged(made, list(zip(children, derivatives)), index,
                                               calls, list, type, len, list.append,
                                               MAX_RECORDED_CALLS))
    else:
        for name in profile.get("children") or []:
            setattr(made, name, container(containers.get(name, "tuple"), children))
        setattr(made, local, logged(made, derivatives, index, calls,  # type: ignore[arg-type]
                                    tuple, type, len, list.append, MAX_RECORDED_CALLS))
    names = profile.get("op_names") or {}
    if op and node[3] in names:
        # What the engine's own operation calls itself: a backward() that skips nodes with
        # no op (leaves) walks these too.
        setattr(made, op, names[node[3]])


def build_structure(ctx: Ctx, spec: Wired, values: list[float], locals_: list[list[float]],
                    calls: list[Any], shared: list[Any], profile: Profile,
                    tag: int = 0) -> list[Any]:
    """The student's Values made with Value(data) for each node of `spec`, each given the
    grader's rule, which logs its use as (tag + node, grad). The first len(shared) nodes are
    `shared` (leaves of an earlier graph)."""
    V = structure_class(ctx, profile)
    nodes: list[Any] = list(shared)
    for i, node in enumerate(spec):
        if i < len(shared):
            continue
        children = [nodes[j] for j in operands(node)]
        way = profile.get("constructor") if children else None
        try:
            if way and "position" in way:
                made = ctx["call"](V, values[i], *[()] * (way["position"] - 1),
                                   tuple(children))
            elif way:
                made = ctx["call"](V, values[i], **{way["keyword"]: tuple(children)})
            else:
                made = ctx["call"](V, values[i])
        except Reported as failure:
            error = error_of(failure)
            error["node"] = i
            error["message"] = f"Value(data) failed: {error['message']}"
            raise
        if children:
            try:
                attach(made, node, children, locals_[i], calls, tag + i, profile)
            except BaseException as exc:
                raise Reported(describe(ctx, exc)) from None
        nodes.append(made)
    return nodes


def task_structure(ctx: Ctx, spec: Wired, values: list[float], locals: list[list[float]],
                   profile: Profile, presets: dict[str, float] | None = None,
                   after: StructureGraph | None = None) -> StructureAnswer:
    """The student's backward() on a graph of the student's Values whose way of passing
    gradients on is the grader's own. `after`: another graph on the same leaves, walked with
    backward() first (its calls logged as node - 1000), then the leaves' grads zeroed."""
    reset(ctx)
    call = ctx["call"]
    calls: list[Any] = []
    shared: list[Any] = []
    if after is not None:
        first = build_structure(ctx, after["spec"], after["values"], after["locals"], calls, [],
                                profile, -1000)
        call(lambda: first[-1].backward())
        shared = [n for n, node in zip(first, after["spec"]) if node[0] == "leaf"]
        for leaf in shared:
            call(setattr, leaf, "grad", 0.0)
        del calls[:]
    nodes = build_structure(ctx, spec, values, locals, calls, shared, profile)
    for k, g in (presets or {}).items():
        call(setattr, nodes[int(k)], "grad", g)
    call(lambda: nodes[-1].backward())
    index = {key(n): i for i, n in enumerate(nodes)}
    prev: list[list[int] | None] = []
    for n in nodes:
        # No more of the inputs than the graph has nodes: enough to tell how it was built.
        kept = inputs_of(n, profile, len(nodes) + 1)
        prev.append(None if kept is None else [index.get(key(p), -1) for p in kept])
    return {"grad": [grad_of(n) for n in nodes], "calls": [[c[0], num(c[1])] for c in calls],
            "prev": prev}


TASKS: dict[str, Callable[..., Answer]] = {
    ANATOMY: task_anatomy, GRAPH: task_graph, LOCAL: task_local, GIVEN: task_given,
    STRUCTURE: task_structure}
