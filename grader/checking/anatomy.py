"""How a student's Value keeps its graph, found by behaviour: the profile every engine probe uses.

The tutorial's Value keeps its inputs in `_prev` and a `_backward` closure per node; real engines
use other names (`_children`, `parents`), keep local derivatives that one backward() multiplies
(Karpathy's microgpt: `_children` and `_local_grads`), or (input, derivative) pairs. The worker
reports what a leaf, a * b, a + b and tanh(a) keep (the "anatomy" probe); this module
reads that report, pure, into an EngineProfile: which attributes hold a node's inputs, and how
its gradient passes on. Nothing here trusts a name: an attribute counts for what it holds.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .. import ops
from ..sandbox import tasks
from ..sandbox.tasks import (AnatomyAnswer, Constructor, FieldShape, GivenResult, GraphAnswer,
                             LocalAnswer, OpAnatomy, Profile)

# What each probed operation's inputs are, by index (a = 0, b = 1; the result is 2).
OPERANDS: dict[str, frozenset[int]] = {"mul": frozenset({0, 1}), "add": frozenset({0, 1}),
                                       "tanh": frozenset({0})}
# Names that hold a node's inputs in engines seen in the wild: only consulted when no
# operation works yet (a leaf's empty containers say nothing about which is which).
USUAL_INPUTS = ("_prev", "_children", "children", "_parents", "parents", "prev", "_inputs",
                "inputs", "_operands", "operands")
ORDERED = ("tuple", "list")


@dataclass(frozen=True)
class EngineProfile:
    """How an engine keeps its graph. `style`: closure (a _backward per node), local (local
    derivatives beside ordered inputs), pairs ((input, derivative) pairs), or public (none of
    those found: each operation is graded through the student's own backward())."""

    style: str
    children: tuple[str, ...] = ()
    containers: dict[str, str] = field(default_factory=dict)
    backward: str | None = None
    local: str | None = None
    pairs: str | None = None
    op: str | None = None                    # the attribute naming a node's operation
    op_names: dict[str, str] = field(default_factory=dict)   # kind -> its name there
    constructor: Constructor | None = None   # how Value(...) takes a node's inputs
    collapses: bool = False          # two Values of one number are one in a set (eq on .data)

    def args(self) -> Profile:
        """What the worker's probes are handed."""
        return {"style": self.style, "children": list(self.children),
                "containers": dict(self.containers), "backward": self.backward,
                "local": self.local, "pairs": self.pairs, "op": self.op,
                "op_names": dict(self.op_names), "constructor": self.constructor}

    @property
    def tutorial(self) -> bool:
        """The tutorial's own layout, which needs no word in the feedback."""
        return self.style == "closure" and self.backward == "_backward" and \
            "_prev" in self.children

    def note(self) -> str | None:
        """One sentence for the student when the engine is not laid out as the tutorial's."""
        if self.tutorial:
            return None
        inputs = " and ".join(self.children) if self.children else None
        if self.style == "closure":
            return (f"Your Value keeps its inputs in {inputs or 'an attribute of its own'} and "
                    f"passes gradients on with {self.backward}: each operation was graded by "
                    f"calling its {self.backward} alone, as for the tutorial's _backward.")
        if self.style == "local":
            return (f"Your Value keeps its inputs in {inputs} and their local derivatives in "
                    f"{self.local}: each operation was graded on those, without your "
                    f"backward(), and backward() on nodes carrying the grader's own.")
        if self.style == "pairs":
            return (f"Your Value keeps (input, local derivative) pairs in {self.pairs}: each "
                    f"operation was graded on those, without your backward().")
        return ("Your Value keeps no _backward per node, nor local derivatives the grader could "
                "find: each operation was graded through your own backward(), so a mistake in "
                "backward() shows in the operations' checks too.")


def _fields(op: OpAnatomy) -> dict[str, FieldShape]:
    fields = op.get("fields")
    if not isinstance(fields, dict):
        return {}
    return {str(k): v for k, v in fields.items() if isinstance(v, dict)}


def _items(shape: FieldShape) -> list[Any]:
    items = shape.get("items")
    return items if isinstance(items, list) else []


def _inputs(report: dict[str, OpAnatomy]) -> tuple[tuple[str, ...], dict[str, str]]:
    """The attributes that hold exactly an operation's inputs in at least one probe, and never
    hold other nodes in another; with the kind of container each is."""
    votes: dict[str, int] = {}
    containers: dict[str, str] = {}
    spoiled: set[str] = set()
    for op, operands in OPERANDS.items():
        for name, shape in _fields(report.get(op) or {}).items():
            kind = shape.get("kind")
            if kind not in ("nodes", "pairs") or \
                    (kind == "pairs" and shape.get("container") != "dict"):
                continue
            items = [i[0] if isinstance(i, list) and i else i for i in _items(shape)] \
                if kind == "pairs" else _items(shape)
            if set(items) == operands:
                votes[name] = votes.get(name, 0) + 1
                containers.setdefault(name, str(shape.get("container", "tuple")))
            else:
                spoiled.add(name)
    chosen = [name for name, count in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
              if name not in spoiled]
    return tuple(chosen), {name: containers[name] for name in chosen}


def _pair_containers(report: dict[str, OpAnatomy]) -> dict[str, str]:
    """The container each attribute of (input, derivative) pairs is: a list, or a dict."""
    return {name: str(shape.get("container", "list")) for op in report.values()
            for name, shape in _fields(op).items() if shape.get("kind") == "pairs"}


def _mover(report: dict[str, OpAnatomy]) -> str | None:
    """The callable that, called alone, changed the inputs' gradients in some probe."""
    found: dict[str, int] = {}
    for op in OPERANDS:
        moved = (report.get(op) or {}).get("moved")
        if not isinstance(moved, dict):
            continue
        for name, grads in moved.items():
            if isinstance(grads, list) and len(grads) == 2 and grads != [0.3, 0.7]:
                found[str(name)] = found.get(str(name), 0) + 1
    if not found:
        return None
    return min(found, key=lambda name: (-found[name], name != "_backward", name))


def _numbers_beside(report: dict[str, OpAnatomy], children: Sequence[str],
                    kind: str) -> str | None:
    """An attribute of numbers (kind "numbers") aligned with an ordered input list, or of
    (input, number) pairs (kind "pairs"), in some probe."""
    found: dict[str, int] = {}
    for op in OPERANDS:
        fields = _fields(report.get(op) or {})
        ordered = [fields[c] for c in children if c in fields and
                   fields[c].get("container") in ORDERED and fields[c].get("kind") == "nodes"]
        for name, shape in fields.items():
            if shape.get("kind") != kind or name in children:
                continue
            if kind == "pairs" or (ordered and len(_items(shape)) == len(_items(ordered[0]))):
                found[name] = found.get(name, 0) + 1
    return min(found, key=lambda name: (-found[name], name)) if found else None


def _leaf_fields(report: AnatomyAnswer) -> tuple[dict[str, str], set[str]]:
    """A fresh leaf's empty containers (name -> their type) and its callable attributes."""
    leaf = report.get("leaf") or {}
    fields = {str(k): v for k, v in leaf.items() if isinstance(v, dict)}
    empty = {k: str(v.get("container", "tuple")) for k, v in fields.items()
             if v.get("kind") == "empty"}
    return empty, {k for k, v in fields.items() if v.get("kind") == "callable"}


def _from_leaf(report: AnatomyAnswer) -> EngineProfile:
    """When no operation works yet: what a fresh leaf keeps (the stub keeps _prev and a
    _backward, as the tutorial's does)."""
    empty, callables = _leaf_fields(report)
    usual = [name for name in USUAL_INPUTS if name in empty]
    children = usual[:1] or (sorted(empty)[:1] if len(empty) == 1 else [])
    backward = "_backward" if "_backward" in callables else None
    local = next((name for name in sorted(empty) if "grad" in name and name not in children),
                 None)
    style = "closure" if backward and children else ("local" if local and children else
                                                     "public")
    return EngineProfile(style, tuple(children), {c: empty[c] for c in children},
                         backward if style == "closure" else None,
                         local if style == "local" else None)


def _op_names(anatomy: AnatomyAnswer, report: dict[str, OpAnatomy]
              ) -> tuple[str | None, dict[str, str]]:
    """The attribute a node names its operation in (empty on a leaf, text on every probed
    result), and each operation kind's name there; other kinds get their usual symbol."""
    leaf = anatomy.get("leaf") if isinstance(anatomy.get("leaf"), dict) else {}
    for name, shape in sorted((leaf or {}).items()):
        if not (isinstance(shape, dict) and shape.get("kind") == "text" and
                shape.get("text") == ""):
            continue
        texts = {op: _fields(probe).get(name, {}).get("text") for op, probe in report.items()}
        if texts and all(isinstance(t, str) and t for t in texts.values()):
            names = {kind: op.symbol for kind, op in ops.OPS.items()}
            names.update({op: str(t) for op, t in texts.items()})
            return str(name), names
    return None, {}


def profile_from(anatomy: AnatomyAnswer) -> EngineProfile:
    """The profile an anatomy report shows; "public" when it shows no way to grade an
    operation on its own."""
    profile = _profile(anatomy)
    ops_ = anatomy.get("ops")
    report = {op: value for op, value in (ops_ if isinstance(ops_, dict) else {}).items()
              if isinstance(value, dict) and "fields" in value}
    op, names = _op_names(anatomy, report) if report else (None, {})
    return dataclasses.replace(profile, op=op, op_names=names,
                               collapses=anatomy.get("collapses") is True)


def _profile(anatomy: AnatomyAnswer) -> EngineProfile:
    ops = anatomy.get("ops") or {}
    report = {op: value for op, value in ops.items()
              if isinstance(value, dict) and "fields" in value}
    if not report:
        return _from_leaf(anatomy)
    children, containers = _inputs(report)
    containers.update(_pair_containers(report))
    backward = _mover(report)
    if backward is None and "_backward" in {name for op in report.values()
                                            for name in _fields(op)
                                            if _fields(op)[name].get("kind") == "callable"}:
        backward = "_backward"           # attached but wrong in every probe: still the way
    if backward and children:
        return EngineProfile("closure", children, containers, backward=backward)
    local = _numbers_beside(report, children, "numbers") if children else None
    if local:
        ordered = tuple(c for c in children if containers.get(c) in ORDERED)
        return EngineProfile("local", ordered, {c: containers[c] for c in ordered}, local=local)
    pairs = _numbers_beside(report, (), "pairs")
    if pairs:
        return EngineProfile("pairs", (), {pairs: containers.get(pairs, "list")}, pairs=pairs)
    if backward:
        # A _backward that moves gradients, on inputs kept where no probe could see them.
        return EngineProfile("closure", ("_prev",), {"_prev": "set"}, backward=backward)
    return EngineProfile("public", children, containers)


def chain_rule(made: Sequence[Any], at: Sequence[Any], sinks: dict[int, float]
               ) -> list[float]:
    """The gradients an engine of local derivatives gives the graph it made: each sink's grad
    set, then, newest node first, each input receiving local derivative times the node's grad.
    `made`: every Value made, with its inputs (indices among them) and local derivatives;
    `at`: where each node of the spec is among them. nan where the numbers do not fit."""
    grads = [0.0] * len(made)
    spots = [a if isinstance(a, int) and 0 <= a < len(made) else -1 for a in at]
    for i, g in sinks.items():
        if 0 <= i < len(spots) and spots[i] >= 0:
            grads[spots[i]] = g
    for k in range(len(made) - 1, -1, -1):
        _pass_on(made[k] if isinstance(made[k], dict) else {}, grads, k)
    return [grads[s] if s >= 0 else math.nan for s in spots]


def _pass_on(record: dict[str, Any], grads: list[float], k: int) -> None:
    """Node k's grad, times each local derivative, added to its inputs' (nan where the record
    does not fit: a derivative that is not a number, or not one per input)."""
    inputs, local = record.get("inputs") or [], record.get("local") or []
    if not isinstance(inputs, list) or not isinstance(local, list):
        return
    valid = [j for j in inputs if isinstance(j, int) and 0 <= j < len(grads)]
    if len(inputs) != len(local):
        for j in valid:
            grads[j] = math.nan
        return
    for j, d in zip(inputs, local):
        if not isinstance(j, int) or not 0 <= j < len(grads):
            continue
        if not isinstance(d, (int, float)) or isinstance(d, bool):
            grads[j] = math.nan
        else:
            grads[j] += d * grads[k]


def probe_profile(ask: Callable[..., AnatomyAnswer | None]) -> EngineProfile:
    """The profile of an engine, from anatomy probes run by `ask(task, **args)` (None when a
    probe fails): a fresh leaf first, then each operation on its own, so that one that hangs
    or crashes leaves the others to tell."""
    report: AnatomyAnswer = {**(ask(tasks.ANATOMY) or {})}
    report["ops"] = {}
    for op in OPERANDS:
        found = ask(tasks.ANATOMY, op=op)
        if found is not None:
            report["ops"].update(found.get("ops") or {})
    profile = profile_from(report)
    if profile.children and profile.style != "public":
        way = (ask(tasks.ANATOMY, op=f"constructor:{profile.children[0]}") or {}).get(
            "constructor")
        if way and ("position" in way or "keyword" in way):    # typed by the protocol
            profile = dataclasses.replace(profile, constructor=way)
    return profile


def walked(spec: list[list[Any]], result: GraphAnswer | LocalAnswer | GivenResult,
           sinks: dict[int, float]) -> list[Any]:
    """The gradients of a manual walk: reported by the worker (a _backward per node), or the
    chain rule applied here to the student's own local derivatives."""
    if "made" in result:
        return chain_rule(result.get("made") or [], result.get("at") or [], sinks)
    return result.get("grad") or []
