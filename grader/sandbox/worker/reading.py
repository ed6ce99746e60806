"""Reading what student code hands back, as plain data: numbers as floats (whatever a float
subclass says of itself), a Value's .data and .grad, and what an object keeps in its attributes.
"""

from __future__ import annotations

import builtins as _builtins
from typing import Any

from context import Ctx
from errors import Reported, describe, reported, type_name
from tasks import FieldShape

# This module's own builtins: student code that rebinds a builtin changes nothing here.
__builtins__ = dict(vars(_builtins))                          # type: ignore[assignment]

float_of_float, float_of_int = float.__float__, int.__float__
key = object.__hash__          # an identity key that, unlike id(), raises no audit event
object_getattribute = object.__getattribute__
mro_of = type.__dict__["__mro__"].__get__
class_dict_of = type.__dict__["__dict__"].__get__
CONTAINERS: dict[Any, str] = {set: "set", frozenset: "frozenset", list: "list", tuple: "tuple"}


def num(x: Any) -> float | None:
    """A student's number as a plain float, or None when it is not a number."""
    kind = type(x)
    if kind is bool:
        return 1.0 if x else 0.0
    if issubclass(kind, float):
        return float_of_float(x)              # the stored double, whatever a subclass says
    if issubclass(kind, int):
        try:
            return float_of_int(x)
        except OverflowError:
            return float("inf")
    return None


def is_value(x: Any) -> bool:
    try:
        return hasattr(x, "data") and hasattr(x, "grad")
    except BaseException:
        return False


def data_of(ctx: Ctx, v: Any, what: str) -> float:
    if not is_value(v):
        raise reported("api", f"{what} returned {type_name(v)}, not a Value", type="TypeError")
    try:
        data = getattr(v, "data")
    except BaseException as exc:
        raise Reported(describe(ctx, exc)) from None
    x = num(data)
    if x is None:
        raise reported("api", f"{what}: .data is {type_name(data)}, not a number",
                       type="TypeError")
    return x


def grad_of(v: Any) -> float | None:
    """A Value's .grad as a float; None (the PyTorch habit: no gradient has arrived) is 0."""
    try:
        grad = getattr(v, "grad")
        return 0.0 if grad is None else num(grad)
    except BaseException:
        return None


def fields_of(v: Any) -> dict[str, Any]:
    """The attributes a Value keeps for itself: its __dict__ and its __slots__."""
    found: dict[str, Any] = {}
    try:
        own = object_getattribute(v, "__dict__")
    except BaseException:
        own = None
    if type(own) is dict:
        for k, value in list(own.items())[:64]:
            if type(k) is str:
                found[k] = value
    try:
        classes = mro_of(type(v))
    except BaseException:
        classes = ()
    for cls in classes[:16]:
        slots = dict(class_dict_of(cls)).get("__slots__", ())
        for name in ([slots] if type(slots) is str else list(slots)[:32]):
            if type(name) is str and name not in found and not name.startswith("__"):
                try:
                    found[name] = getattr(v, name)
                except BaseException:
                    continue
    return found


def shape_of(value: Any, index: dict[int, int]) -> FieldShape:
    """What one attribute holds, in terms the grader can compare: nodes (by index), numbers,
    (node, number) pairs, an empty container, a callable, a text."""
    if key(value) in index:
        return {"kind": "node", "items": [index[key(value)]]}
    if type(value) is dict:
        return _dict_shape(value, index)
    container = CONTAINERS.get(type(value))
    if container is not None:
        return _container_shape(value, container, index)
    if callable(value) and not isinstance(value, type):
        return {"kind": "callable"}
    if num(value) is not None:
        return {"kind": "number"}
    if type(value) is str:
        return {"kind": "text", "text": value[:24]}
    return {"kind": "other"}


def _dict_shape(value: dict[Any, Any], index: dict[int, int]) -> FieldShape:
    """Inputs as a dict's keys: {input: None} (an ordered set) or {input: local derivative}."""
    keys = list(value)[:16]
    if not keys:
        return {"kind": "empty", "container": "dict"}
    if not all(key(x) in index for x in keys):
        return {"kind": "other", "container": "dict"}
    derivatives = [num(value[x]) for x in keys]
    if all(d is not None for d in derivatives):
        return {"kind": "pairs", "container": "dict",
                "items": [[index[key(x)], d] for x, d in zip(keys, derivatives)]}
    return {"kind": "nodes", "container": "dict", "items": [index[key(x)] for x in keys]}


def _container_shape(value: Any, container: str, index: dict[int, int]) -> FieldShape:
    """A list, tuple or set of nodes, of numbers, or of (node, number) pairs."""
    items = list(value)[:16]
    if not items:
        return {"kind": "empty", "container": container}
    if all(key(x) in index for x in items):
        return {"kind": "nodes", "container": container, "items": [index[key(x)] for x in items]}
    numbers = [num(x) for x in items]
    if all(x is not None for x in numbers):
        return {"kind": "numbers", "container": container, "items": numbers}
    if all(type(x) in (tuple, list) and len(x) == 2 and key(x[0]) in index and
           num(x[1]) is not None for x in items):
        return {"kind": "pairs", "container": container,
                "items": [[index[key(x[0])], num(x[1])] for x in items]}
    return {"kind": "other", "container": container}
