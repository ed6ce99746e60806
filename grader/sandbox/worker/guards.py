"""What the worker hands student code, each made by a factory whose functions see only what they
were made with: `isolated()` gives every function it makes globals of its own, with no builtins
but those listed, so from them a submission reaches nothing of the worker's (their __globals__ and
closures are refused anyway). The import guard, the attribute guards, the stand-ins for what
grading withholds, the clock, the Value.__init__ recorder and the grader's own _backward and
local derivatives for the backward() probe.
"""

from __future__ import annotations

import builtins as _builtins
import types
from typing import Any, Callable

# This module's own builtins: student code that rebinds a builtin changes nothing here.
__builtins__ = dict(vars(_builtins))                          # type: ignore[assignment]


def isolated(factory: Any, allowed: dict[str, Any] | None = None) -> Any:
    """The factory as a function whose globals hold only `allowed` builtins (none by default):
    every function it makes shares those globals, and reaches nothing else."""
    # (A class statement reads __name__ from its globals for the class's __module__.)
    return types.FunctionType(factory.__code__, {"__builtins__": dict(allowed or {}),
                                                 "__name__": "grader"},
                              factory.__name__, factory.__defaults__, factory.__closure__)


def make_withheld(importing: list[bool], withheld_error: type, attribute_error: type,
                  type_: Any, object_: Any, iter_: Any, getattr_: Any, setattr_: Any,
                  startswith: Any) -> Callable[[str, str], Any]:
    """Stand-ins for what grading withholds: a module the worker does not provide (numpy,
    matplotlib), a builtin such as open. While a file is being imported a stand-in is inert
    (calls, attributes and arithmetic give more stand-ins, a test is false), so an unused or
    plotting-only import costs nothing; once grading calls the student's code, any use of one
    raises a clear error at the student's line, and only the checks it reaches fail."""
    def made(name: str, hint: str) -> Any:
        thing = object_.__new__(Withheld)
        object_.__setattr__(thing, "withheld_name", name)
        object_.__setattr__(thing, "withheld_hint", hint)
        return thing

    def refuse(self: Any) -> Any:
        raise withheld_error(getattr_(self, "withheld_name"), getattr_(self, "withheld_hint"))

    def inert(value: Any) -> Callable[..., Any]:
        def use(self: Any, *args: Any, **kwargs: Any) -> Any:
            if importing[0]:
                return value(self) if value is not None else \
                    made(getattr_(self, "withheld_name"), getattr_(self, "withheld_hint"))
            return refuse(self)
        return use

    def attribute(self: Any, name: str) -> Any:
        if startswith(name, "__") and name not in ("__version__", "__name__", "__file__"):
            raise attribute_error(name)        # no protocol Python looks for (__array__, ...)
        return made(f"{getattr_(self, 'withheld_name')}.{name}", getattr_(self, "withheld_hint"))

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if importing[0]:
            return made(f"{getattr_(self, 'withheld_name')}(...)",
                        getattr_(self, "withheld_hint"))
        return refuse(self)

    def text(self: Any, *args: Any) -> str:
        return f"<{getattr_(self, 'withheld_name')}: not available while grading>"

    def number(self: Any) -> Any:
        return refuse(self)

    def assign(self: Any, name: str, value: Any = None) -> None:
        # json.dumps = ..., os.environ["X"] = ...: nothing real to change, at import time
        if not importing[0]:
            refuse(self)

    def bases(self: Any, given: Any) -> Any:
        return (object_,)               # class Net(torch.nn.Module): a plain class

    def enter(self: Any) -> Any:
        return call(self)

    def leave(self: Any, *args: Any) -> bool:
        return False

    namespace: dict[str, Any] = {
        "__slots__": ("withheld_name", "withheld_hint"), "__module__": "grader",
        "__getattr__": attribute, "__call__": call, "__repr__": text, "__str__": text,
        "__format__": text, "__float__": number, "__int__": number, "__index__": number,
        "__complex__": number, "__mro_entries__": bases, "__enter__": enter, "__exit__": leave,
        "__bool__": inert(lambda self: False), "__len__": inert(lambda self: 0),
        "__iter__": inert(lambda self: iter_(())), "__contains__": inert(lambda self: False),
        "__getitem__": inert(None), "__setitem__": assign, "__delitem__": assign,
        "__setattr__": assign, "__delattr__": assign,
    }
    for name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul"):
        namespace[f"__{name}__"] = inert(None)
        namespace[f"__r{name}__"] = inert(None)
    for name in ("neg", "pos", "abs", "lt", "le", "gt", "ge"):
        namespace[f"__{name}__"] = inert(None)
    Withheld = type_("Withheld", (object_,), namespace)
    return made


def make_import_guard(available: dict[str, Any], refused: dict[str, str], own: tuple[str, ...],
                      load: Callable[[str], Any], withheld: Callable[[str, str], Any],
                      hints: dict[str, str], noted: list[str], refused_import: type,
                      import_error: type, module_type: type, split: Any, append: Any,
                      get: Any) -> Callable[..., Any]:
    """The __import__ of a student module: allowed modules (as namespaces), the submission's
    own files (kit files and helper modules, under the same policy), and for anything else a
    stand-in that costs nothing until grading uses it."""
    def submission_module(name: str) -> Any:
        if name in available:
            return available[name]
        if name in refused:
            raise refused_import(refused[name])
        return load(name)

    def own_import(parts: list[str], fromlist: Any, level: int) -> Any:
        """`from .engine import Value`, `from micrograd.engine import Value`, `from . import
        nn`: the submission's own file, whatever package layout it was written in; None for
        any other import."""
        if parts and parts[-1] in own and (level or parts[0] not in available):
            if fromlist or not parts[1:]:
                return submission_module(parts[-1])
            package = module_type(parts[0])
            package.__dict__[parts[-1]] = submission_module(parts[-1])
            return package
        if level and not parts:                         # from . import engine, nn
            package = module_type("submission")
            for wanted in fromlist or ():
                if wanted in own:
                    package.__dict__[wanted] = submission_module(wanted)
            return package
        return None

    def guarded_import(name: str, globals: Any = None, locals: Any = None,
                       fromlist: Any = (), level: int = 0) -> Any:
        parts = split(name, ".") if name else []
        mine = own_import(parts, fromlist, level)
        if mine is not None:
            return mine
        if name in available and (fromlist or "." not in name):
            return available[name]
        if name in refused:
            raise refused_import(refused[name])
        if parts and parts[0] in available and not fromlist:
            return available[parts[0]]
        if name in own:
            return submission_module(name)
        top = parts[0] if parts else name
        if top not in noted:
            append(noted, top)
        hint = get(hints, top, "")
        return withheld(name if fromlist else top, hint)
    return guarded_import


def make_dataclass_guard(real: Any, refused: type, type_: Any, dict_: type, dict_items: Any,
                         setattr_: Any, isidentifier: Any, iskeyword: Any, str_: type
                         ) -> Callable[..., Any]:
    """dataclasses.dataclass for student modules: it writes each field's name into the code it
    generates (self.<name> == other.<name>) and runs that code, so every name must be an
    identifier. The class's annotations are read once, with dict's own items(), and handed to
    the real dataclass as a plain dict of what was checked."""
    def checked(cls: Any) -> Any:
        annotations = type_.__dict__["__dict__"].__get__(cls).get("__annotations__", {})
        if type_(annotations) is not dict_:
            raise refused("dataclass: the class's annotations are not written as annotations")
        plain = {}
        for name, value in dict_items(annotations):
            if type_(name) is not str_ or not isidentifier(name) or iskeyword(name):
                raise refused(f"dataclass: a field named {name!r} is not a name")
            plain[name] = value
        setattr_(cls, "__annotations__", plain)
        return cls

    def dataclass(cls: Any = None, /, **options: Any) -> Any:
        def wrap(target: Any) -> Any:
            return real(checked(target), **options)
        return wrap if cls is None else wrap(cls)
    return dataclass


def make_lender(lend: Any, attribute_error: type, startswith: Any) -> Callable[[str], Any]:
    """The stand-in engine module's __getattr__: a name it lacks is lent from the student's
    own engine.py (world.graft), never a dunder Python looks for."""
    def lookup(name: str) -> Any:
        if startswith(name, "__"):
            raise attribute_error(name)
        return lend(name)
    return lookup


def make_sampler(channel: list[Any], inside: str, permitted: set[int], f_back_of: Any,
                 f_code_of: Any, f_lineno_of: Any, frame_type: type, hash_of: Any,
                 startswith: Any, type_: Any, failure: type[BaseException]
                 ) -> Callable[[int, Any], None]:
    """The handler of the signal the grader sends a worker it is about to stop for taking too
    long: it says where the student's code was (its innermost frame in a submitted file), so
    a timeout names a line. Installed before sealing; it only reads the frame it is given,
    and nothing it meets can make it raise into the code it interrupted."""
    cut = inside.__len__()

    def sample(signum: int, frame: Any) -> None:
        try:
            hops = 0
            while type_(frame) is frame_type and hops < 400:
                permitted.add(hash_of(frame))
                try:
                    code = f_code_of(frame)
                    line = f_lineno_of(frame)
                finally:
                    permitted.discard(hash_of(frame))
                if startswith(code.co_filename, inside):
                    if channel:
                        channel[0]({"where": {"file": code.co_filename[cut:].lstrip("/"),
                                              "line": line, "function": code.co_qualname}})
                    return
                frame = f_back_of(frame)
                hops += 1
        except failure:
            return
    return sample


def make_attribute_guards(dunders: frozenset[str], inspecting: frozenset[str],
                          module_type: type, refused_attribute: type, type_: Any, str_: Any,
                          startswith: Any, endswith: Any, isinstance_: Any, getattr_: Any,
                          hasattr_: Any, delattr_: Any, repr_: Any, setattr_: Any
                          ) -> tuple[Any, Any, Any, Any]:
    """getattr, hasattr, delattr and setattr for student modules: a forbidden name is refused
    (setattr: a double-underscore name beyond the allowed ones, which would let code made at
    run time give a class a hook admission never saw, such as __match_args__)."""
    def forbidden(obj: Any, name: Any) -> bool:
        if type_(name) is not str_:
            return False
        if startswith(name, "__") and endswith(name, "__") and name not in dunders:
            return True
        return name in inspecting or (isinstance_(obj, module_type) and startswith(name, "_"))

    def guarded_getattr(obj: Any, name: Any, *default: Any) -> Any:
        if forbidden(obj, name):
            raise refused_attribute(f"getattr(..., {repr_(name)}) is not allowed")
        return getattr_(obj, name, *default)

    def guarded_hasattr(obj: Any, name: Any) -> bool:
        if forbidden(obj, name):
            raise refused_attribute(f"hasattr(..., {repr_(name)}) is not allowed")
        return hasattr_(obj, name)                                   # type: ignore[no-any-return]

    def guarded_delattr(obj: Any, name: Any) -> None:
        if forbidden(obj, name):
            raise refused_attribute(f"delattr(..., {repr_(name)}) is not allowed")
        delattr_(obj, name)

    def guarded_setattr(obj: Any, name: Any, value: Any) -> None:
        if type_(name) is not str_ or forbidden(obj, name):
            raise refused_attribute(f"setattr(..., {repr_(name)}, ...) is not allowed")
        setattr_(obj, name, value)
    return guarded_getattr, guarded_hasattr, guarded_delattr, guarded_setattr


def make_name_getters(guarded_getattr: Any, split: Any, type_: Any, str_: Any, tuple_: Any,
                      len_: Any, type_error: type) -> tuple[Any, Any]:
    """operator.attrgetter and operator.methodcaller for student modules: every name they are
    given goes through the guarded getattr (the real ones read any attribute, by a string)."""
    def attrgetter(*names: Any) -> Any:
        for name in names:
            if type_(name) is not str_:
                raise type_error("attribute name must be a string")

        def get(obj: Any) -> Any:
            found = []
            for name in names:
                value = obj
                for part in split(name, "."):
                    value = guarded_getattr(value, part)
                found.append(value)
            return found[0] if len_(found) == 1 else tuple_(found)
        return get

    def methodcaller(name: Any, /, *args: Any, **kwargs: Any) -> Any:
        if type_(name) is not str_:
            raise type_error("method name must be a string")

        def call(obj: Any) -> Any:
            return guarded_getattr(obj, name)(*args, **kwargs)
        return call
    return attrgetter, methodcaller


def make_clock(start: float, localtime_: Any, gmtime_: Any, ctime_: Any, strftime_: Any,
               int_: Any) -> dict[str, Any]:
    """The clock of the time module a submission imports: it advances a microsecond at each
    reading, from the same start in every worker, so code that reads the time gets the same
    result on every run (time.sleep still sleeps)."""
    ticks = [0]

    def now() -> float:
        ticks[0] += 1
        return start + ticks[0] * 1e-6

    def now_ns() -> int:
        return int_(now() * 1e9)

    def localtime(secs: Any = None) -> Any:
        return localtime_(now() if secs is None else secs)

    def gmtime(secs: Any = None) -> Any:
        return gmtime_(now() if secs is None else secs)

    def ctime(secs: Any = None) -> Any:
        return ctime_(now() if secs is None else secs)

    def strftime(format: Any, t: Any = None) -> Any:
        return strftime_(format, localtime_(now()) if t is None else t)
    clock: dict[str, Any] = {"localtime": localtime, "gmtime": gmtime, "ctime": ctime,
                             "strftime": strftime}
    for name in ("time", "monotonic", "perf_counter", "process_time", "thread_time"):
        clock[name] = now
        clock[name + "_ns"] = now_ns
    return clock


def make_recorder(original: Any, serial: dict[int, int], number: Any, created: list[Any],
                  recording: list[bool], key: Any, next_: Any, append: Any,
                  depth: list[int]) -> Callable[..., None]:
    """A Value.__init__ (or a subclass's) that numbers every Value as it is made, and, while a
    probe needs the order (reverse creation order is a valid order to call _backward in),
    keeps it: once, by the outermost __init__ (a subclass's calls its parent's)."""
    def recording_init(self: Any, *args: Any, **kwargs: Any) -> None:
        depth[0] += 1
        try:
            original(self, *args, **kwargs)
        finally:
            depth[0] -= 1
        if depth[0] == 0:
            serial[key(self)] = next_(number)
            if recording[0]:
                append(created, self)
    return recording_init


def make_hash(serial: dict[int, int], key: Any, get: Any) -> Callable[[Any], int]:
    """A hash from a Value's creation count: the default one follows memory addresses, so a set
    of Values (the usual _prev) could iterate in another order on every run."""
    def creation_hash(self: Any) -> int:
        return get(serial, key(self), key(self))                      # type: ignore[no-any-return]
    return creation_hash


def make_backward(node: Any, children: tuple[Any, ...], derivatives: list[float], index: int,
                  calls: list[Any], zip_: Any, append: Any, len_: Any,
                  limit: int) -> Callable[[], None]:
    """The grader's own _backward for a node of the student's Value, for the backward step:
    numbers from finite differences, so only the student's walk is graded."""
    def _backward() -> None:
        g = node.grad
        if len_(calls) <= limit:           # enough to tell a walk by, and a small answer
            append(calls, [index, g])
        g = 0.0 if g is None else g        # None: no gradient has arrived (the PyTorch habit)
        for child, d in zip_(children, derivatives):
            current = child.grad
            child.grad = (0.0 if current is None else current) + d * g
    return _backward


def make_logged(node: Any, items: list[Any], index: int, calls: list[Any], base: Any,
                type_: Any, len_: Any, append: Any, limit: int) -> Any:
    """The grader's local derivatives (a tuple) or (input, derivative) pairs (a list) for one
    node of the backward() probe, for an engine that keeps those instead of a _backward: the
    first read of them by the student's backward() is logged as a call of a _backward is."""
    def log() -> None:
        if len_(calls) <= limit:
            append(calls, [index, node.grad])

    def iterate(self: Any) -> Any:
        log()
        return base.__iter__(self)

    def item(self: Any, k: Any) -> Any:
        if k == 0:
            log()
        return base.__getitem__(self, k)
    made = type_(base.__name__, (base,), {"__iter__": iterate, "__getitem__": item,
                                          "__slots__": (), "__module__": "builtins"})
    return made(items)


