"""The one world a worker process holds: the student's files loaded on an engine (their own, or the
grader's stand-in), with builtins of their own. An import statement in student code reaches only
namespaces of the allowed modules (their functions, classes and constants: never another
module), the submission's own files, or a stand-in for a module grading does not provide.
"""

from __future__ import annotations

import builtins as _builtins
import dataclasses
import itertools
import keyword
import sys
import time
import types
from typing import Any

import guards
from context import Ctx, World
from errors import Reported, WithheldError, describe, reported
from reading import key

# This module's own builtins: student code that rebinds a builtin changes nothing here.
__builtins__ = dict(vars(_builtins))                          # type: ignore[assignment]

KIT_NAMES = ("engine", "nn", "train", "extensions")
CLOCK_START = 1_700_000_000.0       # every worker's clock starts here (see guards.make_clock)


def namespace_of(ctx: Ctx, module: Any, allowed: list[str] | None) -> Any:
    """What `import name` gives a submission: a fresh namespace holding only the module's
    allowed functions, classes and constants, never another module (contextlib.os, say) nor a
    private name. A public name beyond an allowlist (sys.path) is a stand-in."""
    copy = types.ModuleType(module.__name__)
    for name, value in dict(vars(module)).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        if allowed is not None and name not in allowed:
            value = ctx["withheld"](f"{module.__name__}.{name}", "")
        vars(copy)[name] = value
    return copy


def library(ctx: Ctx) -> dict[str, types.ModuleType]:
    """name -> the namespace `import name` gives a submission."""
    policy = ctx["policy"]
    copies: dict[str, types.ModuleType] = {}
    if policy is None:
        return copies
    allowed = {**policy["modules"], **policy["given_only"]}
    for name, names in sorted(allowed.items()):
        real = sys.modules.get(name)
        if real is not None:
            copies[name] = namespace_of(ctx, real, names)
    getters = ctx["name_getters"]
    if "operator" in copies:
        vars(copies["operator"]).update(attrgetter=getters[0], methodcaller=getters[1])
    if "time" in copies:
        vars(copies["time"]).update(ctx["clock"])
    if "dataclasses" in copies:
        vars(copies["dataclasses"])["dataclass"] = guards.isolated(guards.make_dataclass_guard)(
            dataclasses.dataclass, ctx["refused_types"]["Attribute"], type, dict, dict.items,
            type.__setattr__, str.isidentifier, keyword.iskeyword, str)
    for name, copy in list(copies.items()):
        if "." in name:                                   # collections.abc on collections
            parent, _, child = name.rpartition(".")
            if parent in copies:
                vars(copies[parent])[child] = copy
    return copies


def prepare(ctx: Ctx) -> None:
    """The guards student code is handed, made once: attribute guards, name getters, the
    clock, the stand-ins for what grading withholds."""
    policy = ctx["policy"]
    dunders = frozenset(policy["dunder_attributes"] if policy else ())
    inspecting = frozenset(policy["introspection_attributes"] if policy else ())
    refused = ctx["refused_types"]
    attribute_guards = guards.isolated(guards.make_attribute_guards)
    ctx["attribute_guards"] = attribute_guards(
        dunders, inspecting, types.ModuleType, refused["Attribute"], type, str, str.startswith,
        str.endswith, isinstance, getattr, hasattr, delattr, repr, setattr)
    ctx["name_getters"] = guards.isolated(guards.make_name_getters)(
        ctx["attribute_guards"][0], str.split, type, str, tuple, len, TypeError)
    ctx["clock"] = guards.isolated(guards.make_clock)(
        CLOCK_START, time.localtime, time.gmtime, time.ctime, time.strftime, int)
    ctx["importing"] = [False]              # a file's top level is running: stand-ins inert
    ctx["withheld"] = guards.isolated(guards.make_withheld)(
        ctx["importing"], WithheldError, AttributeError, type, object, iter, getattr, setattr,
        str.startswith)


def new_world(ctx: Ctx, engine: Any | None, model: Any | None) -> World:
    """The student's files on `engine` (None: their own engine.py), with the grader's `model`
    in place of nn.py when one is given. A dict, not a class: a class made here would be
    found through __subclasses__()."""
    world: World = {"loaded": {}, "available": library(ctx), "loading": []}
    for name, given in (("engine", engine), ("nn", model)):
        if given is not None:
            world["loaded"][name] = world["available"][name] = given
    own = dict(vars(_builtins))
    policy = ctx["policy"]
    if policy is not None:
        for name in policy["forbidden_builtins"]:
            if name not in ("__build_class__", "__import__"):     # class and import statements
                own.pop(name, None)
        for name, hint in policy["withheld_builtins"].items():
            own[name] = ctx["withheld"](name, hint)
        guard = guards.isolated(guards.make_import_guard)(
            world["available"], ctx["refused"], ctx["own"], lambda name: load(ctx, name),
            ctx["withheld"], dict(policy["hints"]), ctx["noted"], ctx["refused_types"]["Import"],
            ImportError, types.ModuleType, str.split, list.append, dict.get)
        getattr_, hasattr_, delattr_, setattr_ = ctx["attribute_guards"]
        own.update(__import__=guard, getattr=getattr_, hasattr=hasattr_, delattr=delattr_,
                   setattr=setattr_)
    else:
        available = world["available"]
        own["__import__"] = lambda name, *a, **k: available.get(name) or \
            __import__(name, *a, **k)
    world["builtins"] = own
    return world


def load(ctx: Ctx, name: str) -> Any:
    """The student's file `name`.py, run once in this world."""
    world = ctx["world"]
    if name in world["loaded"]:
        return world["loaded"][name]
    if name in ctx["refused"]:
        raise reported("refused", ctx["refused"][name], module=name, admission=True)
    if name in world["loading"]:
        raise reported("import", f"{name}.py imports a file that imports {name}.py back: "
                                 f"Python cannot finish either", module=name, type="ImportError")
    if name not in ctx["own"]:
        raise reported("missing", f"{name}.py is missing from the submission", module=name)
    filename = f"{ctx['submission']}/{name}.py"
    try:
        with open(filename, "rb") as handle:
            raw = handle.read(1_000_001)
    except OSError as exc:
        raise reported("missing", f"{name}.py could not be read ({type(exc).__name__})",
                       module=name) from None
    try:
        source = raw.decode("utf-8")
    except ValueError:
        raise reported("syntax", f"{name}.py is not UTF-8 text", module=name) from None
    ctx["sources"][f"{name}.py"] = source.split("\n")
    module = types.ModuleType(name)
    module.__file__ = filename
    vars(module)["__builtins__"] = world["builtins"]
    world["available"][name] = module
    sys.modules[name] = module          # dataclasses look a class's module up there
    world["loading"].append(name)
    importing = ctx["importing"]
    was_importing, importing[0] = importing[0], True
    try:
        exec(compile(source, filename, "exec", dont_inherit=True), vars(module))
    except BaseException as exc:
        world["available"].pop(name, None)
        error = describe(ctx, exc)
        error["module"] = name
        raise Reported(error) from None
    finally:
        importing[0] = was_importing
        world["loading"].remove(name)
    world["loaded"][name] = module
    if name == "engine" and ctx["world_name"] == "student":
        record_creation(ctx, module)
    return module


def graft(ctx: Ctx, engine: types.ModuleType) -> None:
    """Let the student's files import their own helper functions from engine.py (a dot(), a
    sum of Values) in a world on the stand-in engine: the first name the stand-in lacks runs
    the student's engine.py, and its functions, which find Value in its globals, get the
    stand-in Value there. So a Neuron written with an engine helper is still graded apart from
    the engine's own operations. Only functions and plain constants are lent: anything else
    (a Value made at import, a class of the engine's) leaves the name missing, and the checks
    fall back to the student's own engine as before."""
    def lend(name: str) -> Any:
        world = ctx["world"]
        if "own_engine" not in world:
            world["own_engine"] = None
            if world["loaded"].get("engine") is engine and "engine" in ctx["own"]:
                world["loaded"].pop("engine")
                try:
                    own = load(ctx, "engine")
                    vars(own)["Value"] = engine.Value
                    world["own_engine"] = own
                except Reported:
                    pass
                finally:
                    world["loaded"]["engine"] = world["available"]["engine"] = engine
                    sys.modules["engine"] = engine
        own = world["own_engine"]
        value = vars(own).get(name) if own is not None and name != "Value" else None
        if isinstance(value, (types.FunctionType, int, float, str)):
            return value
        raise AttributeError(f"module 'engine' has no attribute '{name}'")
    vars(engine)["__getattr__"] = guards.isolated(guards.make_lender)(
        lend, AttributeError, str.startswith)


def record_creation(ctx: Ctx, engine: Any) -> None:
    """Number every Value as it is made (and keep the order while a probe walks it); give a
    Value with the default hash one from that number, so a set of Values iterates in the same
    order on every run."""
    cls = getattr(engine, "Value", None)
    if not isinstance(cls, type):
        raise reported("api", "engine.py has no class named Value", type="AttributeError",
                       where="engine.py")
    number, depth = itertools.count(), [0]
    # Value, and the subclasses engine.py defines with an __init__ of their own (an operation's
    # result may be made by a class of its own that never calls Value.__init__).
    classes = [cls] + [c for c in list(vars(engine).values())[:256] if isinstance(c, type) and
                       c is not cls and issubclass(c, cls) and "__init__" in vars(c)]
    recorder = guards.isolated(guards.make_recorder)
    try:
        for made in classes:
            made.__init__ = recorder(  # type: ignore[misc]
                vars(made).get("__init__", made.__init__),  # type: ignore[misc]
                ctx["serial"], number, ctx["created"],
                ctx["recording"], key, next, list.append, depth)
        if cls.__hash__ is object.__hash__:
            cls.__hash__ = guards.isolated(guards.make_hash)(  # type: ignore[method-assign]
                ctx["serial"], key, dict.get)
    except BaseException:
        pass                          # a class that refuses new attributes keeps its own


def module(ctx: Ctx, name: str) -> Any:
    """A file of the student's, with what it depends on loaded first (engine before nn)."""
    world = ctx["world"]
    for needed in ("engine", "nn", name):
        if needed == name or KIT_NAMES.index(needed) < KIT_NAMES.index(name):
            load(ctx, needed)
    return world["loaded"][name]


def value_class(ctx: Ctx) -> Any:
    return module(ctx, "engine").Value
