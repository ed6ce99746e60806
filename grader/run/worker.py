"""The worker: the only process that runs student code; it answers probes with plain numbers.

Started by grader/run/sandbox.py as `python -S -s -B worker.py` with the standard library only (it
cannot import the grader, which is not on its path and, under bubblewrap, not even in its view;
the operation table and the stand-in engine are copied beside it). It reads one handshake line,
seals itself, then answers one JSON request per line. It knows no expected value: it builds what
a request describes with the student's classes and reports what came out. Verdicts are taken by
the caller.

How it seals itself, in order, before any student code runs:
1. drops to the unprivileged user it is given (as root) and caps its own memory;
2. points file descriptors 1 and 2 at the output pipe and keeps a private one for answers, each
   answer line starting with a secret token, so nothing the submission prints can pass as one;
3. imports every module the submission imports, then installs a permanent audit hook (PEP 578,
   the run-time guard) that refuses imports, files outside the submission, processes, signals,
   sockets, ctypes, frame and garbage-collector walks and tracing hooks;
4. loads the student's files itself, each with builtins of its own: an import statement there
   reaches only copies of the allowed modules, with no private names, and getattr() with a
   forbidden name is refused.

Why the code is shaped this way: student code runs in this process and, were it to get past
admission, could reach this module's globals, every loaded module and the builtins module, and
rebind what it finds. So nothing outside serve() holds state; serve() captures every builtin and
library function it uses before any student code runs; and the functions handed to student code
(the import and attribute guards, the Value.__init__ recorder, the _backward of the nodes the
grader builds) are made by the factories below, so each sees only what it was made with and
shares no variable with the worker's own functions. A test checks that no function here reads a
global name.

Two engines can answer a probe: the student's engine.py ("student") or the grader's stand-in
("standin", grader/run/standin.py), on which the student's nn.py, train.py and extensions.py are
loaded a second time, so a mistake in an operation costs points only in its own step.
"""

from __future__ import annotations

import builtins
import gc
import itertools
import json
import json.encoder
import json.scanner
import os
import random
import sys
import time
import types
from typing import Any, Callable

try:
    import resource
except ImportError:           # Windows: no rlimits; the README says so
    resource = None           # type: ignore[assignment]

JSON = Any
KIT_NAMES = ("engine", "nn", "train", "extensions")
# How the tutorial's Value keeps its graph: what a probe assumes when it is given no profile.
TUTORIAL_PROFILE = {"style": "closure", "children": ["_prev"], "containers": {"_prev": "set"},
                    "backward": "_backward", "local": None, "pairs": None}
MAX_RECORDED_CALLS = 10_000    # _backward calls one backward() check records (a diagnosis reads 5000)


# ---------------------------------------------------------------- handed to student code
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

    def guarded_import(name: str, globals: Any = None, locals: Any = None,
                       fromlist: Any = (), level: int = 0) -> Any:
        parts = split(name, ".") if name else []
        # `from .engine import Value`, `from micrograd.engine import Value`: the submission's
        # own file, whatever package layout it was written in.
        if parts and parts[-1] in own and (level or parts[0] not in available):
            if fromlist or len(parts) == 1:
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


def make_attribute_guards(dunders: frozenset[str], inspecting: frozenset[str],
                          module_type: type, refused_attribute: type, type_: Any, str_: Any,
                          startswith: Any, endswith: Any, isinstance_: Any, getattr_: Any,
                          hasattr_: Any, delattr_: Any, repr_: Any) -> tuple[Any, Any, Any]:
    """getattr, hasattr and delattr for student modules: a forbidden name is refused."""
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
    return guarded_getattr, guarded_hasattr, guarded_delattr


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
                  recording: list[bool], key: Any, next_: Any,
                  append: Any) -> Callable[..., None]:
    """A Value.__init__ that numbers every Value as it is made, and, while a probe needs the
    order (reverse creation order is a valid order to call _backward in), keeps it."""
    def recording_init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
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
        for child, d in zip_(children, derivatives):
            child.grad += d * g
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


# ---------------------------------------------------------------- the worker
def serve() -> None:
    # -------------------------------------------------------------- captured before anything else
    # Builtins and library functions this file uses, as closure variables: rebinding them in the
    # builtins module, in json or in os later changes nothing here.
    BaseException_ = BaseException
    Exception_ = Exception
    NotImplementedError_ = NotImplementedError
    RecursionError_ = RecursionError
    MemoryError_ = MemoryError
    SystemExit_ = SystemExit
    KeyboardInterrupt_ = KeyboardInterrupt
    SyntaxError_ = SyntaxError
    OverflowError_ = OverflowError
    ImportError_ = ImportError
    AttributeError_ = AttributeError
    PermissionError_ = PermissionError
    ValueError_ = ValueError
    TypeError_ = TypeError
    max_recorded_calls = MAX_RECORDED_CALLS
    float_, int_, bool_, str_ = float, int, bool, str
    list_, dict_, tuple_, set_, type_ = list, dict, tuple, set, type
    len_, isinstance_, issubclass_ = len, isinstance, issubclass
    getattr_, setattr_, hasattr_, delattr_, callable_ = getattr, setattr, hasattr, delattr, callable
    range_, enumerate_, zip_, sum_, sorted_ = range, enumerate, zip, sum, sorted
    repr_, next_, exec_, compile_ = repr, next, exec, compile
    reversed_, object_, OSError_, iter_ = reversed, object, OSError, iter
    frozenset_, all_ = frozenset, all
    random_uniform = random.uniform
    float_of_float = float.__float__
    # A traceback's parts, read through their types' own descriptors: an exception class of the
    # submission's (with a __traceback__ property, say) cannot hand the worker a look-alike.
    traceback_of = BaseException.__dict__["__traceback__"].__get__
    traceback_type, frame_type, code_type = types.TracebackType, types.FrameType, types.CodeType
    tb_next_of = types.TracebackType.__dict__["tb_next"].__get__
    tb_frame_of = types.TracebackType.__dict__["tb_frame"].__get__
    tb_lineno_of = types.TracebackType.__dict__["tb_lineno"].__get__
    f_code_of = types.FrameType.__dict__["f_code"].__get__
    float_of_int = int.__float__
    # An identity key for a live object that, unlike id(), raises no audit event: the worker
    # takes thousands of them, and each event would call the guard.
    key_ = object.__hash__
    tutorial_profile = dict(TUTORIAL_PROFILE)
    object_getattribute = object.__getattribute__
    mro_of = type.__dict__["__mro__"].__get__
    class_dict_of = type.__dict__["__dict__"].__get__
    itertools_islice = itertools.islice
    str_startswith, str_endswith, str_split, str_join = str.startswith, str.endswith, str.split, \
        str.join
    str_encode, bytes_decode = str.encode, bytes.decode
    list_append, dict_get = list.append, dict.get
    module_type = types.ModuleType
    count = itertools.count
    os_write, os_dup, os_dup2 = os.write, os.dup, os.dup2
    os_getpid = os.getpid
    time_localtime, time_gmtime, time_ctime, time_strftime = \
        time.localtime, time.gmtime, time.ctime, time.strftime
    gc_disable, gc_enable, gc_isenabled = gc.disable, gc.enable, gc.isenabled
    add_audit_hook = sys.addaudithook
    random_seed = random.seed
    open_ = open
    builtins_dict = dict_(builtins.__dict__)
    sys_modules = sys.modules
    scanner = getattr_(json.scanner, "c_make_scanner", None)
    make_encoder = getattr_(json.encoder, "c_make_encoder", None)
    escape = getattr_(json.encoder, "c_encode_basestring_ascii", None) or \
        json.encoder.py_encode_basestring_ascii
    if scanner is None or make_encoder is None:        # a Python without the C json speedups
        py_decoder, py_encoder = json.JSONDecoder(), json.JSONEncoder(allow_nan=True)
        scan: Callable[[str, int], tuple[Any, int]] = py_decoder.raw_decode
        encode_chunks: Callable[[Any, int], Any] = lambda obj, _: [py_encoder.encode(obj)]
    else:
        scan = scanner(json.JSONDecoder())
        encode_chunks = make_encoder(None, lambda o: repr_(o), escape, None, ":", ",", False,
                                     False, True)
    # Signals: the worker blocks them while it reads a traceback. The module that installs
    # handlers is then made unreachable: a handler is called with the current frame, and from a
    # frame everything of the worker's can be reached.
    signals = sys.modules.pop("_signal", None)
    # The worker's own module is no one's business: `import __main__` finds an empty one.
    sys.modules["__main__"] = types.ModuleType("__main__")
    sigmask = getattr_(signals, "pthread_sigmask", None)
    all_signals = signals.valid_signals() if signals is not None and sigmask is not None \
        else set_()
    del signals
    here = os.path.dirname(os.path.abspath(__file__))
    path_join = os.path.join
    function_type = types.FunctionType

    # The functions handed to student code get globals of their own, with nothing in them:
    # from them, a submission reaches nothing of this module.
    def isolated(factory: Any) -> Any:
        return function_type(factory.__code__, {"__builtins__": {}}, factory.__name__,
                             factory.__defaults__, factory.__closure__)
    import_guard = isolated(make_import_guard)
    withheld_of = isolated(make_withheld)
    attribute_guards = isolated(make_attribute_guards)
    name_getters = isolated(make_name_getters)
    clock_of = isolated(make_clock)
    recorder = isolated(make_recorder)
    creation_hash_of = isolated(make_hash)
    backward_of = isolated(make_backward)
    logged_of = isolated(make_logged)

    # The operation table and the stand-in engine, from the files beside this one, into
    # namespaces of their own (not importable by the submission).
    # Compiled now, while the worker may still read its own folder: a world made later runs
    # them again into namespaces of its own.
    private_code: dict[str, Any] = {}
    for name in ("ops", "standin"):
        path = path_join(here, f"{name}.py")
        with open_(path, "rb") as handle:
            private_code[name] = compile_(handle.read(), path, "exec")

    def private_module(name: str) -> Any:
        namespace = module_type(f"grader-{name}")
        sys_modules[namespace.__name__] = namespace      # only while it runs: dataclasses ask
        try:
            exec_(private_code[name], namespace.__dict__)
        finally:
            del sys_modules[namespace.__name__]
        return namespace
    ops = private_module("ops")
    OPS = ops.OPS
    operands_of, arguments_of = ops.operands, ops.arguments
    # The stand-in gets a table of its own: student code that reaches it reaches nothing of ours.
    standin = private_module("standin")

    # -------------------------------------------------------------- the handshake
    stdin = sys.stdin.buffer
    hello = stdin.readline(1 << 20)
    settings: dict[str, Any] = scan(bytes_decode(hello, "utf-8"), 0)[0]
    token = str_encode(settings["token"], "ascii")
    marker = str_encode(settings["marker"], "ascii")
    submission: str = settings["submission"]
    memory_mb = int_(settings.get("memory_mb") or 0)
    guard_policy: dict[str, Any] | None = settings.get("guard")
    refused_modules: dict[str, str] = settings.get("refused") or {}
    # The submission's own modules: the kit's files and its helper modules.
    own_modules: tuple[str, ...] = tuple_(settings.get("modules") or KIT_NAMES)

    # 1. the user and the memory cap (as root under bubblewrap the worker starts as root)
    uid, gid = settings.get("uid"), settings.get("gid")
    if uid is not None and gid is not None and hasattr_(os, "setuid"):
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    if guard_policy is not None and resource is not None and hasattr_(resource, "RLIMIT_NPROC") \
            and hasattr_(os, "getuid") and os.getuid() != 0:
        # Not one new process or thread: the guard refuses them, and this holds even if it is
        # got around (root ignores this limit, and the worker never runs as root).
        try:
            resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
        except (ValueError_, OSError_):
            pass
    if memory_mb > 0 and resource is not None:
        cap = memory_mb * 1024 * 1024
        for name in ("RLIMIT_AS", "RLIMIT_DATA"):
            limit = getattr_(resource, name, None)
            if limit is None:
                continue
            try:
                resource.setrlimit(limit, (cap, cap))
                break
            except (ValueError_, OSError_):
                continue

    # 2. the answer channel: a private descriptor; 1 and 2 both go to the output pipe
    answers = os_dup(1)
    os_dup2(2, 1)
    sys.stdout = sys.stderr
    sys.stdin = open_(os.devnull)
    sys.dont_write_bytecode = True
    sys.path[:] = [p for p in sys.path if p and p != here]     # the worker's own folder
    stderr = sys.stderr

    def answer(obj: JSON) -> None:
        text = str_join("", encode_chunks(obj, 0))
        data = str_encode(text, "utf-8", "replace")
        os_write(answers, token + b" " + data + b"\n")

    # -------------------------------------------------------------- 3. the run-time guard
    refusals: list[str] = []             # what the submission tried and was refused, newest last
    permitted_tracebacks: set[int] = set()   # tracebacks frames_of() may walk right now
    names = {"Open": PermissionError_, "Import": ImportError_, "Frame": ValueError_,
             "Attribute": AttributeError_, "Action": PermissionError_}
    refused_types = {key: type_(f"Refused{key}", (base,), {"__module__": "grader"})
                     for key, base in names.items()}
    refused_classes = tuple_(refused_types.values())

    if guard_policy is not None:
        refused_events: dict[str, str] = guard_policy["refused_events"]
        exact = {k: v for k, v in refused_events.items() if not str_endswith(k, ".")}
        prefixes = tuple_(k for k in refused_events if str_endswith(k, "."))
        refused_attributes = frozenset(guard_policy["refused_attributes"])
        allowed_imports = set_(guard_policy["modules"]) | set_(guard_policy["given_only"])
        import_prefixes = tuple_(guard_policy["import_prefixes"])
        inside = submission.rstrip("/") + "/"
        hook_types = dict_(refused_types)

        def refuse(kind: str, text: str) -> None:
            list_append(refusals, text)
            raise hook_types[kind](text)

        def readable(path: Any, mode: Any, flags: Any) -> bool:
            # Only plain strings: a path-like object could name one file here, another to open().
            if type_(path) is not str_ or "\x00" in path or "/../" in path or "/./" in path:
                return False
            if not str_startswith(path, inside):
                return False
            if mode is not None:
                return mode in ("r", "rb", "rt")
            return type_(flags) is int_ and flags & 3 == 0 and not flags & (0o100 | 0o1000)

        # What to do with each event, decided once per event name: the guard is called for
        # every audit event the process raises, and most of them are allowed.
        ALLOW, REFUSE, OPEN, IMPORT, GETATTR, SETATTR = range_(6)
        decisions: dict[str, int] = {"open": OPEN, "import": IMPORT,
                                     "object.__getattr__": GETATTR,
                                     "object.__setattr__": SETATTR}
        decided = decisions.get

        def decide(event: str) -> int:
            if event in exact or str_startswith(event, prefixes):
                return REFUSE
            return ALLOW

        def reason(event: str) -> str:
            if event in exact:
                return exact[event]
            return refused_events[next_(p for p in prefixes if str_startswith(event, p))]

        def hook(event: str, args: tuple[Any, ...]) -> None:
            action = decided(event)
            if action is None:
                action = decisions[event] = decide(event)
            if action == ALLOW:
                return
            if action == REFUSE:
                refuse("Frame" if event == "sys._getframe" else "Action",
                       f"tried to {reason(event)} ({event})")
            elif action == OPEN:
                if not readable(args[0], args[1], args[2] if len_(args) > 2 else None):
                    what = args[0] if type_(args[0]) in (str_, int_) else type_(args[0]).__name__
                    writing = args[1] not in (None, "r", "rb", "rt")
                    refuse("Open", f"tried to open {repr_(what)[:200]} for "
                                   f"{'writing' if writing else 'reading'}: a submission may "
                                   f"read only its own files")
            elif action == IMPORT:
                name = args[0]
                if type_(name) is str_ and name not in allowed_imports and \
                        not str_startswith(name, import_prefixes) and \
                        str_split(name, ".")[0] not in allowed_imports:
                    refuse("Import", f"tried to import {name[:100]}")
            elif action == GETATTR:
                if args[1] in refused_attributes and key_(args[0]) not in permitted_tracebacks:
                    refuse("Attribute", f"tried to read .{args[1]} (frames reach the grader's "
                                        f"own state)")
            elif action == SETATTR:
                if args[1] == "__code__":
                    refuse("Action", "tried to replace a function's code")

        # Everything the submission imports is loaded now: after the hook, no import is needed.
        for name in guard_policy["preload"]:
            if name not in KIT_NAMES and name != "__future__":
                try:
                    __import__(name)
                except ImportError_:
                    pass
        # What could reach a frame, or build a module anew (the one that installs signal
        # handlers, say), is taken apart: the worker captured what it needs of it above, and
        # a submission reaching the real modules (through a builtin's __self__) finds nothing.
        for name, parts in (("gc", None), ("_imp", ("create_builtin", "exec_builtin",
                                                     "create_dynamic", "exec_dynamic",
                                                     "init_frozen", "get_frozen_object",
                                                     "find_frozen"))):
            taken = sys_modules.get(name)
            if taken is not None:
                for key in list_(taken.__dict__):
                    if (parts is None and not str_startswith(key, "__")) or \
                            (parts is not None and key in parts):
                        del taken.__dict__[key]
        for name in ("signal", "_signal", "faulthandler", "marshal", "ctypes", "_ctypes",
                     "tracemalloc", "_tracemalloc"):
            sys_modules.pop(name, None)
        add_audit_hook(hook)

    # -------------------------------------------------------------- 4. builtins for student code
    dunders = frozenset(guard_policy["dunder_attributes"]) if guard_policy else frozenset()
    inspecting = frozenset(guard_policy["introspection_attributes"]) if guard_policy \
        else frozenset()
    modules_policy: dict[str, Any] = dict_(guard_policy["modules"]) if guard_policy else {}
    if guard_policy:
        modules_policy.update(guard_policy["given_only"])

    def namespace_of(module: Any, allowed: list[str] | None) -> Any:
        """What `import name` gives a submission: a fresh namespace holding only the module's
        allowed functions, classes and constants, never another module (contextlib.os, say)
        nor a private name. A public name beyond an allowlist (sys.path) is a stand-in."""
        copy = module_type(module.__name__)
        for key, value in dict_(module.__dict__).items():
            if str_startswith(key, "_") or isinstance_(value, module_type):
                continue
            if allowed is not None and key not in allowed:
                value = withheld(f"{module.__name__}.{key}", "")
            copy.__dict__[key] = value
        return copy

    def library() -> dict[str, Any]:
        """name -> the namespace `import name` gives a submission: new ones for each engine's
        world, so that no two worlds can pass anything to each other through a module."""
        copies: dict[str, Any] = {}
        if guard_policy is None:
            return copies
        for name, allowed in sorted_(modules_policy.items()):
            real = sys_modules.get(name)
            if real is not None:
                copies[name] = namespace_of(real, allowed)
        if "operator" in copies:
            copies["operator"].__dict__.update(attrgetter=guarded_attrgetter,
                                               methodcaller=guarded_methodcaller)
        if "time" in copies:
            copies["time"].__dict__.update(steady_clock)
        for name, copy in list_(copies.items()):
            if "." in name:                                 # collections.abc on collections
                parent, _, child = name.rpartition(".")
                if parent in copies:
                    copies[parent].__dict__[child] = copy
        return copies

    guarded_getattr, guarded_hasattr, guarded_delattr = attribute_guards(
        dunders, inspecting, module_type, refused_types["Attribute"], type_, str_,
        str_startswith, str_endswith, isinstance_, getattr_, hasattr_, delattr_, repr_)
    guarded_attrgetter, guarded_methodcaller = name_getters(
        guarded_getattr, str_split, type_, str_, tuple_, len_, TypeError_)
    steady_clock = clock_of(1_700_000_000.0, time_localtime, time_gmtime, time_ctime,
                            time_strftime, int_)
    importing = [False]                  # a file's top level is running: stand-ins are inert
    WithheldError: type[Exception] = type_("WithheldError", (Exception_,),
                                           {"__module__": "grader"})
    withheld = withheld_of(importing, WithheldError, AttributeError_, type_, object_, iter_,
                           getattr_, setattr_, str_startswith)
    withheld_hints: dict[str, str] = dict_(guard_policy["hints"]) if guard_policy else {}
    withheld_noted: list[str] = []       # the modules a submission imported as stand-ins

    def new_world(engine: Any | None, model: Any | None = None) -> dict[str, Any]:
        """One engine (None: the student's), and the student's other files loaded on top of
        it; `model`: the grader's nn in place of the student's (the stand-in model).
        A dict, not a class: a class made here would be found through __subclasses__()."""
        world: dict[str, Any] = {"loaded": {}, "available": library(), "loading": []}
        if engine is not None:                # the stand-in replaces engine.py
            world["loaded"]["engine"] = engine
            world["available"]["engine"] = engine
        if model is not None:
            world["loaded"]["nn"] = model
            world["available"]["nn"] = model
        own = dict_(builtins_dict)
        if guard_policy is not None:
            for name in guard_policy["forbidden_builtins"]:
                if name not in ("__build_class__", "__import__"):   # class and import statements
                    own.pop(name, None)
            for name, hint in guard_policy["withheld_builtins"].items():
                own[name] = withheld(name, hint)
            own.update(__import__=import_guard(
                           world["available"], refused_modules, own_modules,
                           lambda name: load_one(name, world), withheld, withheld_hints,
                           withheld_noted, refused_types["Import"], ImportError_, module_type,
                           str_split, list_append, dict_get),
                       getattr=guarded_getattr, hasattr=guarded_hasattr, delattr=guarded_delattr)
        else:
            available = world["available"]
            own["__import__"] = lambda name, *a, **k: available.get(name) or \
                __import__(name, *a, **k)
        world["builtins"] = own
        return world

    # Each world is made when a probe first needs it: "student" is the student's whole code;
    # "standin" the student's files on the grader's stand-in engine; "model" the student's
    # train.py and extensions.py on the stand-in engine and the grader's own network.
    worlds: dict[str, Any] = {}

    # -------------------------------------------------------------- errors, as the grader sees them
    Reported: type[Exception] = type_("Reported", (Exception_,), {"__module__": "grader"})
    sources: dict[str, list[str]] = {}      # file name -> its lines, as loaded

    def clip(text: Any, limit: int = 600) -> str:
        text = str_(text)
        return text if len_(text) <= limit else text[:limit] + " ..."

    def type_name(x: Any) -> str:
        try:
            return clip(type_(x).__name__, 200)
        except BaseException_:
            return "?"

    def reported(kind: str, message: str, **more: Any) -> BaseException:
        error = {"kind": kind, "type": more.pop("type", None), "message": message,
                 "where": None, "line": None, "step": None}
        error.update(more)
        return Reported(error)

    def error_of(failure: BaseException) -> dict[str, Any]:
        return failure.args[0]                                      # type: ignore[no-any-return]

    def frames_of(exc: BaseException) -> list[tuple[str, int, str]]:
        """(file, line, function) of each frame the exception went through, outermost first.

        Frames are reachable from a traceback only through tb_frame, which the guard refuses;
        it allows it here, for this traceback, with signals blocked and the garbage collector
        off, so that no student code can run while the permission lasts."""
        found: list[tuple[str, int, str]] = []
        if not isinstance_(exc, BaseException_):
            return found
        tb = traceback_of(exc)
        chain: list[Any] = []
        while type_(tb) is traceback_type and len_(chain) < 200:
            list_append(chain, tb)
            tb = tb_next_of(tb)
        collecting = gc_isenabled()
        if sigmask is not None:
            blocked = sigmask(0, all_signals)      # SIG_BLOCK; runs any pending handler first
        gc_disable()
        try:
            for t in chain:
                permitted_tracebacks.add(key_(t))
            for t in chain:
                frame = tb_frame_of(t)
                code: Any = f_code_of(frame) if type_(frame) is frame_type else None
                if type_(code) is not code_type:
                    continue
                name = getattr_(code, "co_qualname", code.co_name)
                list_append(found, (code.co_filename, tb_lineno_of(t), name))
        finally:
            permitted_tracebacks.clear()
            if collecting:
                gc_enable()
            if sigmask is not None:
                sigmask(2, blocked)                # SIG_SETMASK
        return found

    def describe(exc: Any) -> dict[str, Any]:
        """An error dict for an exception raised by student code: kind, message and the frames
        in the student's files, outermost first."""
        etype = type_name(exc)
        try:
            message = clip(exc)
        except BaseException_:
            message = "(the exception's message could not be read)"
        kind, step = "exception", None
        if isinstance_(exc, WithheldError):
            kind = "withheld"
            what, hint = (list_(exc.args) + ["", ""])[:2]
            message = f"{clip(what, 120)} is not available while grading" + \
                (f": {clip(hint, 300)}" if hint else "")
        elif isinstance_(exc, refused_classes):
            kind = "refused"
        elif isinstance_(exc, NotImplementedError_):
            kind = "not_implemented"
            if "TODO(" in message:
                step = str_split(str_split(message, "TODO(", 1)[1], ")", 1)[0].strip()
        elif isinstance_(exc, RecursionError_):
            kind = "recursion"
        elif isinstance_(exc, MemoryError_):
            kind = "memory"
            message = f"used more than {memory_mb} MB of memory" if memory_mb else \
                "ran out of memory"
        elif isinstance_(exc, SystemExit_):
            kind = "exit"
            message = f"called sys.exit({clip(exc.code, 60)})"
        elif isinstance_(exc, KeyboardInterrupt_):
            kind, message = "interrupt", "raised KeyboardInterrupt"
        elif isinstance_(exc, SyntaxError_):
            kind = "syntax"
        stack: list[dict[str, Any]] = []
        where, line = None, None
        try:
            if isinstance_(exc, SyntaxError_) and exc.filename:
                name = str_split(str_(exc.filename), "/")[-1]
                where = f"{name}:{exc.lineno}"
                line = clip((exc.text or "").strip(), 200)
                message = clip(exc.msg)
            else:
                for filename, lineno, function in frames_of(exc):
                    if type_(filename) is str_ and str_startswith(filename, submission + "/"):
                        name = filename[len_(submission) + 1:]
                        lines = sources.get(name, [])
                        text = lines[lineno - 1].strip() if 0 < lineno <= len_(lines) else ""
                        list_append(stack, {"file": name, "line": lineno, "function": function,
                                            "text": clip(text, 200)})
                if stack:
                    innermost = stack[-1]
                    where = f"{innermost['file']}:{innermost['line']} in {innermost['function']}"
                    line = innermost["text"]
        except BaseException_:
            pass
        if len_(stack) > 12:        # a deep recursion: its start and its end tell the story
            stack = stack[:4] + stack[-8:]
        return {"kind": kind, "type": etype, "message": message, "where": where, "line": line,
                "step": step, "stack": stack}

    def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run student code; anything it raises becomes a Reported error."""
        try:
            return fn(*args, **kwargs)
        except Reported:
            raise
        except BaseException_ as exc:
            raise Reported(describe(exc)) from None

    # -------------------------------------------------------------- loading the submission
    created: list[Any] = []        # every student Value made since the last reset, in order
    recording = [False]            # whether to keep them (only the probes that walk them)
    serial: dict[int, int] = {}    # key_(value) -> how many Values were made before it

    def load_one(name: str, world: Any) -> Any:
        if name in world["loaded"]:
            return world["loaded"][name]
        if name in refused_modules:
            raise reported("refused", refused_modules[name], module=name, admission=True)
        if name in world["loading"]:
            raise reported("import", f"{name}.py imports a file that imports {name}.py back: "
                                     f"Python cannot finish either", module=name,
                           type="ImportError")
        if name not in own_modules:
            raise reported("missing", f"{name}.py is missing from the submission", module=name)
        filename = f"{submission}/{name}.py"
        try:
            with open_(filename, "rb") as handle:
                raw = handle.read(5_000_001)
        except OSError_:
            raise reported("missing", f"{name}.py is missing from the submission",
                           module=name) from None
        try:
            source = bytes_decode(raw, "utf-8")
        except ValueError_:
            raise reported("syntax", f"{name}.py is not UTF-8 text", module=name) from None
        sources[f"{name}.py"] = str_split(source, "\n")
        module = module_type(name)
        module.__file__ = filename
        module.__dict__["__builtins__"] = world["builtins"]
        try:
            code = compile_(source, filename, "exec", dont_inherit=True)
        except BaseException_ as exc:
            error = describe(exc)
            error["module"] = name
            raise Reported(error) from None
        previous = sys_modules.get(name)
        sys_modules[name] = module          # dataclasses look a class's module up there
        world["available"][name] = module
        list_append(world["loading"], name)
        was_importing, importing[0] = importing[0], True
        try:
            exec_(code, module.__dict__)
        except BaseException_ as exc:
            world["available"].pop(name, None)
            error = describe(exc)
            error["module"] = name
            raise Reported(error) from None
        finally:
            importing[0] = was_importing
            world["loading"].remove(name)
            if world["name"] != "student":
                if previous is None:
                    sys_modules.pop(name, None)
                else:
                    sys_modules[name] = previous
        world["loaded"][name] = module
        if name == "engine":
            record_creation(module)
        return module

    def record_creation(engine: Any) -> None:
        cls = getattr_(engine, "Value", None)
        if not isinstance_(cls, type_):
            raise reported("api", "engine.py has no class named Value", type="AttributeError",
                           where="engine.py")
        original = cls.__init__                                   # type: ignore[misc]
        try:
            cls.__init__ = recorder(original, serial, count(), created,  # type: ignore[misc]
                                    recording, key_, next_, list_append)
            if cls.__hash__ is object_.__hash__:
                cls.__hash__ = creation_hash_of(serial, key_, dict_get)
        except BaseException_:
            pass                          # a class that refuses new attributes keeps its own

    def world_of(engine: str) -> Any:
        name = engine if engine in ("standin", "model") else "student"
        if name not in worlds:
            # Each world has a stand-in engine of its own (and the model world a network of
            # the grader's on it): nothing of one world is an object of another's.
            if name == "student":
                worlds[name] = new_world(None)
            elif name == "standin":
                worlds[name] = new_world(standin.build(private_module("ops")))
            else:
                own_engine = standin.build(private_module("ops"))
                worlds[name] = new_world(own_engine,
                                         standin.build_model(own_engine, random_uniform))
            worlds[name]["name"] = name
        return worlds[name]

    def module(name: str, engine: str = "student") -> Any:
        world = world_of(engine)
        for needed in ("engine", "nn", name):
            if needed == name or KIT_NAMES.index(needed) < KIT_NAMES.index(name):
                load_one(needed, world)
        return world["loaded"][name]

    def load(names: list[str], engine: str = "student") -> dict[str, bool]:
        for name in names:
            module(name, engine)              # what it imports first (engine before nn)
        return {name: True for name in names}

    # -------------------------------------------------------------- reading what came back
    def num(x: Any) -> float | None:
        """A student's number as a plain float, or None when it is not a number."""
        kind = type_(x)
        if kind is bool_:
            return 1.0 if x else 0.0
        if issubclass_(kind, float_):
            return float_of_float(x)          # the stored double, whatever a subclass says
        if issubclass_(kind, int_):
            try:
                return float_of_int(x)
            except OverflowError_:
                return float_("inf")
        return None

    def data_of(v: Any, what: str) -> float:
        try:
            has = hasattr_(v, "data")
        except BaseException_:
            has = False
        if not has:
            raise reported("api", f"{what} returned {type_name(v)}, not a Value", type="TypeError")
        x = num(call(getattr_, v, "data"))
        if x is None:
            raise reported("api", f"{what}: .data is {type_name(call(getattr_, v, 'data'))}, not "
                                  f"a number", type="TypeError")
        return x

    def grad_of(v: Any) -> float | None:
        try:
            return num(getattr_(v, "grad"))
        except BaseException_:
            return None

    def reset() -> None:
        del created[:]
        recording[0] = True

    # -------------------------------------------------------------- what a Value keeps
    # An engine keeps a node's inputs under a name of its own (_prev, _children, parents, ...)
    # and passes gradients on in a way of its own: a _backward per node (the tutorial), local
    # derivatives that backward() multiplies (microgpt), (input, derivative) pairs. The grader
    # finds out which from what a + b, a * b and tanh(a) keep ("anatomy"), and hands the
    # probes below the profile it made of them.
    def fields_of(v: Any) -> dict[str, Any]:
        """The attributes a Value keeps for itself: its __dict__ and its __slots__."""
        found: dict[str, Any] = {}
        try:
            own = object_getattribute(v, "__dict__")
        except BaseException_:
            own = None
        if type_(own) is dict_:
            for k, value in list_(own.items())[:64]:
                if type_(k) is str_:
                    found[k] = value
        try:
            classes = mro_of(type_(v))
        except BaseException_:
            classes = ()
        for cls in classes[:16]:
            slots = dict_get(dict_(class_dict_of(cls)), "__slots__", ())
            for name in ([slots] if type_(slots) is str_ else list_(slots)[:32]):
                if type_(name) is str_ and name not in found and not str_startswith(name, "__"):
                    try:
                        found[name] = getattr_(v, name)
                    except BaseException_:
                        continue
        return found

    def is_value(x: Any) -> bool:
        try:
            return hasattr_(x, "data") and hasattr_(x, "grad")
        except BaseException_:
            return False

    def shape_of(value: Any, index: dict[int, int]) -> dict[str, Any]:
        """What one attribute holds, in terms the grader can compare: nodes (by index), numbers,
        (node, number) pairs, an empty container, a callable."""
        if key_(value) in index:
            return {"kind": "node", "items": [index[key_(value)]]}
        containers: dict[Any, str] = {set_: "set", frozenset_: "frozenset", list_: "list",
                                      tuple_: "tuple"}
        container = dict_get(containers, type_(value))
        if container is not None:
            items = list_(value)[:16]
            if not items:
                return {"kind": "empty", "container": container}
            if all_(key_(x) in index for x in items):
                return {"kind": "nodes", "container": container,
                        "items": [index[key_(x)] for x in items]}
            numbers = [num(x) for x in items]
            if all_(x is not None for x in numbers):
                return {"kind": "numbers", "container": container, "items": numbers}
            if all_(type_(x) in (tuple_, list_) and len_(x) == 2 and key_(x[0]) in index and
                   num(x[1]) is not None for x in items):
                return {"kind": "pairs", "container": container,
                        "items": [[index[key_(x[0])], num(x[1])] for x in items]}
            return {"kind": "other", "container": container}
        if callable_(value) and not isinstance_(value, type_):
            return {"kind": "callable"}
        if num(value) is not None:
            return {"kind": "number"}
        if type_(value) is str_:
            return {"kind": "text", "text": value[:24]}
        return {"kind": "other"}

    def moves_gradient(fn: Any, a: Any, b: Any, out: Any) -> list[float | None] | None:
        """The inputs' grads after calling fn() with them at 0.3 and 0.7 and out.grad 1.7."""
        try:
            setattr_(a, "grad", 0.3)
            setattr_(b, "grad", 0.7)
            setattr_(out, "grad", 1.7)
            fn()
            return [grad_of(a), grad_of(b)]
        except BaseException_:
            return None

    def task_anatomy(op: str | None = None) -> dict[str, Any]:
        """What a leaf keeps (op None), or what a + b, a * b or tanh(a) keep and which of
        their callables passes a gradient on to the inputs: one operation per probe, so that
        one that hangs or crashes leaves the others to be seen."""
        V = value_class()
        if op is None:
            leaf = call(V, 1.5)
            return {"leaf": {name: shape_of(value, {})
                             for name, value in fields_of(leaf).items()}}
        builds = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b,
                  "tanh": lambda a, b: a.tanh()}
        a, b = call(V, 1.5), call(V, -2.5)
        out = call(builds[op], a, b)
        index = {key_(a): 0, key_(b): 1, key_(out): 2}
        fields = fields_of(out)
        shapes = {name: shape_of(value, index) for name, value in fields.items()}
        moved = {name: moves_gradient(value, a, b, out) for name, value in fields.items()
                 if shapes[name]["kind"] == "callable"}
        if "_backward" not in fields:
            # A method of the class (a _backward that looks at _op, say).
            method = getattr_(out, "_backward", None)
            if callable_(method):
                moved["_backward"] = moves_gradient(method, a, b, out)
        return {"ops": {op: {"fields": shapes, "moved": moved}}}

    def inputs_of(node: Any, profile: dict[str, Any], limit: int) -> list[Any] | None:
        """The node's inputs as its engine keeps them (the profile's first attribute), at
        most `limit` of them (an input list may be any iterable, endless or huge)."""
        names = profile.get("children") or []
        pairs = profile.get("pairs")
        try:
            if pairs:
                return [p[0] for p in list_(itertools_islice(getattr_(node, pairs), limit))]
            if not names:
                return None
            return list_(itertools_islice(getattr_(node, names[0]), limit))
        except BaseException_:
            return None

    def local_of(node: Any, profile: dict[str, Any], limit: int) -> list[float | None]:
        """The node's local derivatives, in the order of its inputs (local or pairs style)."""
        try:
            if profile.get("pairs"):
                return [num(p[1]) for p in list_(itertools_islice(
                    getattr_(node, profile["pairs"]), limit))]
            if profile.get("local"):
                return [num(x) for x in list_(itertools_islice(
                    getattr_(node, profile["local"]), limit))]
        except BaseException_:
            pass
        return []

    def made_graph(nodes: list[Any], profile: dict[str, Any]) -> dict[str, Any]:
        """Every Value made since the last reset, with its inputs (as indices among them) and
        local derivatives: the grader applies the chain rule to the student's own numbers."""
        made = list_(created)[:5000]
        index = {key_(n): i for i, n in enumerate_(made)}
        records = []
        for node in made:
            found = inputs_of(node, profile, 64) or []
            records.append({"inputs": [dict_get(index, key_(p), -1) for p in found],
                            "local": local_of(node, profile, 64)})
        return {"made": records, "at": [dict_get(index, key_(n), -1) for n in nodes]}

    def walk_created(sinks: dict[int, float], nodes: list[Any], name: str) -> None:
        """Set each sink's grad, then call every node's _backward (named `name`) made since the
        last reset, newest first: the operation steps are graded before backward() exists."""
        for i, g in sinks.items():
            call(setattr_, nodes[i], "grad", g)
        for node in list_(reversed_(created)):
            fn = getattr_(node, name, None)
            if callable_(fn):
                call(fn)

    # -------------------------------------------------------------- probes
    def value_class(engine: str = "student") -> Any:
        return module("engine", engine).Value

    def build_graph(spec: list[Any], V: Any) -> list[Any]:
        """The graph built with the student's Values, through the operation table."""
        nodes: list[Any] = []
        for i, node in enumerate_(spec):
            kind = node[0]
            try:
                if kind == "leaf":
                    made = call(V, node[1])
                elif kind in OPS:
                    made = call(OPS[kind].build, *arguments_of(node, nodes))
                else:
                    raise reported("protocol", f"unknown operation {kind}")
            except Reported as failure:
                error_of(failure)["node"] = i
                raise
            data_of(made, f"node {i} ({kind})")
            list_append(nodes, made)
        return nodes

    def linked(spec: list[Any], nodes: list[Any], profile: dict[str, Any]) -> list[int | None]:
        """For each node the student's own operation made: how many of its operands appear
        among the inputs it keeps."""
        result: list[int | None] = []
        for i, node in enumerate_(spec):
            if node[0] == "leaf" or node[0] not in OPS or OPS[node[0]].step is None:
                list_append(result, None)
                continue
            operands = set_(operands_of(node))
            kept = inputs_of(nodes[i], profile, 64)
            if kept is None:
                list_append(result, None if not profile.get("children") else 0)
                continue
            prev = {key_(p) for p in kept}
            list_append(result, sum_(1 for j in operands if key_(nodes[j]) in prev))
        return result

    def sinks_of(spec: list[Any], seeds: dict[str, float] | None, seed: float
                 ) -> dict[int, float]:
        if not seeds:
            return {len_(spec) - 1: seed}
        return {int_(k): v for k, v in seeds.items()}

    def task_graph(spec: list[Any], walk: str, profile: dict[str, Any] | None = None,
                   seed: float = 1.0, seeds: dict[str, float] | None = None) -> dict[str, Any]:
        """Build a graph with the student's operations; walk="manual": grads set on the sinks,
        then every _backward newest first (or, for an engine of local derivatives, the graph
        it made, for the grader to walk); walk="student": out.backward()."""
        profile = profile or tutorial_profile
        V = value_class()
        reset()
        nodes = build_graph(spec, V)
        out = nodes[-1]
        report: dict[str, Any] = {}
        if walk == "manual" and profile.get("backward"):
            walk_created(sinks_of(spec, seeds, seed), nodes, str_(profile["backward"]))
        elif walk == "manual":
            report = made_graph(nodes, profile)
        elif walk == "student":
            call(lambda: out.backward())
        return {"data": [data_of(n, "node") for n in nodes], "grad": [grad_of(n) for n in nodes],
                "linked": linked(spec, nodes, profile), **report}

    def task_local(spec: list[Any], presets: list[float | None], seed: float,
                   profile: dict[str, Any]) -> dict[str, Any]:
        """Call only the output's own _backward, once, every input's grad preset first; or,
        for an engine of local derivatives, read the output's local derivatives."""
        V = value_class()
        reset()
        nodes = build_graph(spec, V)
        out = nodes[-1]
        name = profile.get("backward")
        if not name:
            kept = inputs_of(out, profile, 8) or []
            index = {key_(n): i for i, n in enumerate_(nodes)}
            return {"local": local_of(out, profile, 8),
                    "inputs": [dict_get(index, key_(p), -1) for p in kept]}
        for n, preset in zip_(nodes, presets):
            if preset is not None and n is not out:
                call(setattr_, n, "grad", preset)
        call(setattr_, out, "grad", seed)
        call(lambda: getattr_(out, name)())
        # Whether the result's _backward is still the one a fresh Value gets (never attached).
        try:
            fresh = call(V, 0.0)
            default = getattr_(getattr_(out, name), "__code__", None) is \
                getattr_(getattr_(fresh, name), "__code__", 0)
        except BaseException_:
            default = None
        return {"grad": [grad_of(n) for n in nodes], "default_backward": default}

    def container(kind: str, items: list[Any]) -> Any:
        if kind == "set":
            return set_(items)
        if kind == "frozenset":
            return frozenset_(items)
        if kind == "list":
            return list_(items)
        return tuple_(items)

    def structure_class(V: Any, profile: dict[str, Any]) -> Any:
        """The class the structure probe makes its nodes of: the student's Value, or, when its
        __slots__ leave no room for what the grader attaches, a subclass with room (and
        nothing else)."""
        try:
            probe = call(V, 0.0)
            for name in [*(profile.get("children") or []), profile.get("backward"),
                         profile.get("local"), profile.get("pairs")]:
                if name:
                    setattr_(probe, name, getattr_(probe, name, None))
            if profile.get("backward"):
                setattr_(probe, profile["backward"], lambda: None)
            return V
        except BaseException_:
            return type_("Value", (V,), {"__module__": getattr_(V, "__module__", "engine")})

    def build_structure(spec: list[Any], values: list[float], locals: list[list[float]],
                        calls: list[Any], shared: list[Any], profile: dict[str, Any],
                        tag: int = 0) -> list[Any]:
        """The student's Values made with Value(data) for each node of `spec`, the grader
        setting the inputs each keeps (under the engine's own names) and the way its gradient
        passes on: a _backward of the grader's, or the grader's local derivatives, each
        logging its use as (tag + node, grad). The first len(shared) nodes are `shared`
        (leaves of an earlier graph)."""
        V = structure_class(value_class(), profile)
        nodes: list[Any] = list_(shared)
        for i, node in enumerate_(spec):
            if i < len_(shared):
                continue
            children = [nodes[j] for j in operands_of(node)]
            try:
                made = call(V, values[i])
            except Reported as failure:
                error = error_of(failure)
                error["node"] = i
                error["message"] = f"Value(data) failed: {error['message']}"
                raise
            if children:
                attach(made, children, locals[i], calls, tag + i, profile)
                names = profile.get("op_names") or {}
                if profile.get("op") and node[0] in names:
                    # What the engine's own operation calls itself: a backward() that skips
                    # nodes with no op (leaves) walks these too.
                    try:
                        setattr_(made, profile["op"], names[node[0]])
                    except BaseException_:
                        pass
            list_append(nodes, made)
        return nodes

    def attach(made: Any, children: list[Any], derivatives: list[float], calls: list[Any],
               index: int, profile: dict[str, Any]) -> None:
        """Give a node of the structure probe its inputs and the grader's gradient rule."""
        containers = profile.get("containers") or {}
        try:
            if profile.get("backward"):
                # Each operand node once, with its whole derivative (a * a has one child).
                unique: list[Any] = []
                summed: list[float] = []
                for child, d in zip_(children, derivatives):
                    same = [k for k, u in enumerate_(unique) if u is child]   # not ==: theirs
                    if same:
                        summed[same[0]] += d
                    else:
                        list_append(unique, child)
                        list_append(summed, d)
                for name in profile.get("children") or []:
                    setattr_(made, name, container(dict_get(containers, name, "tuple"), unique))
                setattr_(made, profile["backward"],
                         backward_of(made, tuple_(unique), summed, index, calls, zip_,
                                     list_append, len_, max_recorded_calls))
            elif profile.get("pairs"):
                pairs = logged_of(made, [(c, d) for c, d in zip_(children, derivatives)],
                                  index, calls, list_, type_, len_, list_append,
                                  max_recorded_calls)
                setattr_(made, profile["pairs"], pairs)
            else:
                for name in profile.get("children") or []:
                    setattr_(made, name, container(dict_get(containers, name, "tuple"),
                                                   children))
                setattr_(made, profile["local"],
                         logged_of(made, derivatives, index, calls, tuple_, type_, len_,
                                   list_append, max_recorded_calls))
        except BaseException_ as exc:
            raise Reported(describe(exc)) from None

    def task_structure(spec: list[Any], values: list[float], locals: list[list[float]],
                       labels: list[str], profile: dict[str, Any],
                       presets: dict[str, float] | None = None,
                       after: dict[str, Any] | None = None) -> dict[str, Any]:
        """The student's backward() on a graph of the student's Values whose way of passing
        gradients on is the grader's own. `after`: another graph on the same leaves, walked
        with backward() first (its calls are logged as node - 1000), then the leaves' grads
        zeroed."""
        reset()
        calls: list[Any] = []
        shared: list[Any] = []
        if after is not None:
            first = build_structure(after["spec"], after["values"], after["locals"], calls, [],
                                    profile, -1000)
            call(lambda: first[-1].backward())
            shared = [n for n, node in zip_(first, after["spec"]) if node[0] == "leaf"]
            for leaf in shared:
                call(setattr_, leaf, "grad", 0.0)
            del calls[:]
        nodes = build_structure(spec, values, locals, calls, shared, profile)
        for k, g in (presets or {}).items():
            call(setattr_, nodes[int_(k)], "grad", g)
        out = nodes[-1]
        call(lambda: out.backward())
        index = {key_(n): i for i, n in enumerate_(nodes)}
        prev: list[list[int] | None] = []
        for n in nodes:
            # No more of the inputs than the graph has nodes (they may be any iterable,
            # endless or millions long): enough to tell how it was built, and a small answer.
            kept = inputs_of(n, profile, len_(nodes) + 1)
            list_append(prev, None if kept is None else
                        [dict_get(index, key_(p), -1) for p in kept])
        return {"grad": [grad_of(n) for n in nodes],
                "calls": [[c[0], num(c[1])] for c in calls], "prev": prev}

    def task_given(graphs: list[list[Any]], profile: dict[str, Any]) -> dict[str, Any]:
        """The given operations (-, /, **, reflected ones) on the student's engine, each graph
        on its own: values and every _backward newest first (or the graph made, for an
        engine of local derivatives; or the student's backward(), for one of neither)."""
        V = value_class()
        results: list[Any] = []
        for spec in graphs:
            reset()
            try:
                nodes = build_graph(spec, V)
                found: dict[str, Any] = {}
                if profile.get("backward"):
                    walk_created({len_(spec) - 1: 1.0}, nodes, profile["backward"])
                elif profile.get("local") or profile.get("pairs"):
                    found = made_graph(nodes, profile)
                else:
                    call(lambda: nodes[-1].backward())
                list_append(results, {"data": [data_of(n, "node") for n in nodes],
                                      "grad": [grad_of(n) for n in nodes], **found})
            except Reported as failure:
                list_append(results, {"error": error_of(failure)})
        return {"results": results}

    def check_params(params: Any, what: str) -> list[Any]:
        if params is None or not hasattr_(params, "__iter__"):
            raise reported("api", f"{what} returned "
                                  f"{'None' if params is None else type_name(params)}, "
                                  f"not a list of Values",
                           type="TypeError")
        params = call(list_, params)
        for p in params:
            if not is_value(p):
                raise reported("api", f"{what} holds a {type_name(p)}, not a Value",
                               type="TypeError")
        return params                                       # type: ignore[no-any-return]

    def set_params(params: list[Any], values: list[float] | None, what: str) -> None:
        if values is None:
            return
        if len_(params) != len_(values):
            raise reported("api", f"{what} has {len_(params)} parameters, expected "
                                  f"{len_(values)}", type="ValueError")
        for p, v in zip_(params, values):
            call(setattr_, p, "data", v)

    def fresh_lists(owner: Any) -> bool:
        first = call(lambda: owner.parameters())
        second = call(lambda: owner.parameters())
        return first is not second

    def neuron_parts(neuron: Any, n: int) -> list[Any] | None:
        """A neuron's weights then its bias, found by what its attributes hold (one list of n
        Values, one Value: named b or bias when it has several), whatever parameters() says:
        the forward pass is graded apart from parameters()."""
        weights: list[Any] | None = None
        singles: list[tuple[str, Any]] = []
        for name, value in fields_of(neuron).items():
            if type_(value) in (list_, tuple_) and len_(value) == n and \
                    all_(is_value(x) for x in value):
                if weights is None:
                    weights = list_(value)
            elif is_value(value):
                list_append(singles, (name, value))
        if len_(singles) == 1:
            bias = singles[0][1]
        else:
            bias = next_((v for name, v in singles if name in ("b", "bias", "_b", "_bias")),
                         None)
        if weights is None or bias is None:
            return None
        return [*weights, bias]

    def task_neuron(n: int, init_seed: int, params: list[float] | None = None,
                    x: list[float] | None = None, x_values: bool = False,
                    backward: bool = False, engine: str = "standin") -> dict[str, Any]:
        nn = module("nn", engine)
        random_seed(init_seed)
        neuron = call(nn.Neuron, n)
        parts = neuron_parts(neuron, n)
        report: dict[str, Any] = {"parts": parts is not None}
        try:
            ps = check_params(call(lambda: neuron.parameters()), "Neuron.parameters()")
        except Reported as failure:
            if parts is None:
                raise
            ps, report["parameters_error"] = None, error_of(failure)
        if ps is not None:
            report.update(count=len_(ps), distinct=len_({key_(p) for p in ps}),
                          fresh_list=fresh_lists(neuron))
            if parts is not None:
                where = {key_(p): k for k, p in enumerate_(parts)}
                report["listed"] = [dict_get(where, key_(p), -1) for p in ps]
        chosen: list[Any] = parts if parts is not None else ps       # type: ignore[assignment]
        report["initial"] = [num(p.data) for p in chosen]
        if x is None:
            return report
        set_params(chosen, params, "Neuron.parameters()")
        V = value_class(engine)
        inputs = [call(V, xi) for xi in x] if x_values else list_(x)
        out = call(neuron, inputs)
        report["out"] = data_of(out, "Neuron(x)")
        if backward:
            call(lambda: out.backward())
            report["param_grad"] = [grad_of(p) for p in chosen]
            report["x_grad"] = [grad_of(xi) for xi in inputs] if x_values else None
        return report

    def task_neuron_sample(n: int, count: int, init_seed: int, engine: str = "standin"
                           ) -> dict[str, Any]:
        nn = module("nn", engine)
        random_seed(init_seed)
        samples: list[list[float | None]] = []
        for _ in range_(count):
            neuron = call(nn.Neuron, n)
            chosen = neuron_parts(neuron, n) or \
                check_params(call(lambda: neuron.parameters()), "Neuron.parameters()")
            list_append(samples, [num(p.data) for p in chosen])
        return {"samples": samples}

    def build_mlp(nin: int, sizes: list[int], init_seed: int, params: list[float] | None,
                  engine: str) -> tuple[Any, list[Any]]:
        random_seed(init_seed)
        nn = module("nn", engine)
        model = call(nn.MLP, nin, sizes)
        ps = check_params(call(lambda: model.parameters()), "MLP.parameters()")
        set_params(ps, params, "MLP.parameters()")
        return model, ps

    def shape_text(out: Any) -> str:
        if is_value(out):
            return "value"
        if isinstance_(out, (list_, tuple_)):
            return f"{type_name(out)} of {len_(out)}"
        return type_name(out)

    def task_layer(nin: int, nout: int, init_seed: int, x: list[float],
                   engine: str = "standin") -> dict[str, Any]:
        nn = module("nn", engine)
        random_seed(init_seed)
        layer = call(nn.Layer, nin, nout)
        ps = check_params(call(lambda: layer.parameters()), "Layer.parameters()")
        out = call(layer, list_(x))
        shape = shape_text(out)
        if shape == "value":
            outs = [data_of(out, "Layer(x)")]
        elif isinstance_(out, (list_, tuple_)):
            outs = [data_of(o, "Layer(x)") for o in out]
        else:
            outs = []
        return {"count": len_(ps), "shape": shape, "out": outs}

    def task_mlp(nin: int, sizes: list[int], init_seed: int, params: list[float] | None = None,
                 xs: list[list[float]] | None = None, backward: bool = False,
                 engine: str = "standin") -> dict[str, Any]:
        model, ps = build_mlp(nin, sizes, init_seed, params, engine)
        report: dict[str, Any] = {"count": len_(ps), "distinct": len_({key_(p) for p in ps}),
                                  "fresh_list": fresh_lists(model)}
        if xs is None:
            return report
        outs: list[Any] = []
        for x in xs:
            out = call(model, list_(x))
            report["shape"] = shape_text(out)
            outs.extend(out if isinstance_(out, (list_, tuple_)) else [out])
        report["out"] = [data_of(o, "MLP(x)") for o in outs]
        if backward:
            total = outs[0]
            for o in outs[1:]:
                total = call(lambda a, b: a + b, total, o)
            call(lambda: total.backward())
            report["param_grad"] = [grad_of(p) for p in ps]
        return report

    def task_train(nin: int, sizes: list[int], params: list[float], xs: list[list[float]],
                   ys: list[float], lr: float, steps: int, record_params: bool = False,
                   engine: str = "standin") -> dict[str, Any]:
        """train_step, `steps` times, on the network of the world `engine` names: the
        student's whole code ("student", the end-to-end run), the student's network on the
        stand-in engine ("standin"), or the grader's network on it ("model")."""
        train = module("train", engine)
        network, ps = build_mlp(nin, sizes, 0, params, engine)
        first = call(network, list_(xs[0]))
        if not is_value(first):
            raise reported("api", f"MLP({nin}, {sizes})(x) returned a {shape_text(first)}, not "
                                  f"a Value: the loss subtracts each target from the "
                                  f"network's output", type="TypeError")
        losses: list[float | None] = []
        kinds: list[str] = []
        trail: list[list[float | None]] = []
        grads: list[list[float | None]] = []
        for _ in range_(steps):
            loss = call(train.train_step, network, [list_(x) for x in xs], list_(ys), lr)
            value = num(loss)
            if value is not None:
                list_append(kinds, "number")
            elif hasattr_(loss, "data"):
                list_append(kinds, "Value")
                value = data_of(loss, "train_step")
            else:
                list_append(kinds, type_name(loss))
            list_append(losses, value)
            if record_params:
                list_append(trail, [num(p.data) for p in ps])
                list_append(grads, [grad_of(p) for p in ps])
        predictions = [data_of(call(network, list_(x)), "model(x)") for x in xs]
        return {"losses": losses, "kinds": kinds, "params": trail, "grads": grads,
                "final": [num(p.data) for p in ps], "predictions": predictions}

    def task_softmax(logits: list[float], weights: list[float] | None = None,
                     target: int | None = None, engine: str = "standin") -> dict[str, Any]:
        """softmax, then backward() from sum(weight * probability); or cross_entropy, then
        backward(): the scores' gradients."""
        ext = module("extensions", engine)
        V = value_class(engine)
        xs = [call(V, x) for x in logits]
        if target is None:
            outs = call(list_, call(ext.softmax, xs))
            probs = [data_of(o, "softmax") for o in outs]
            if len_(outs) != len_(xs):
                raise reported("api", f"softmax of {len_(xs)} scores returned {len_(outs)} "
                                      f"values", type="ValueError")
            total = call(lambda: sum_(o * w for o, w in zip_(outs, weights or [])))
            call(lambda: total.backward())
            return {"out": probs, "grad": [grad_of(x) for x in xs]}
        loss = call(ext.cross_entropy, xs, target)
        value = data_of(loss, "cross_entropy")
        call(lambda: loss.backward())
        return {"out": [value], "grad": [grad_of(x) for x in xs]}

    def task_classifier(train_x: list[list[float]], train_y: list[int],
                        test_x: list[list[float]], seed: int,
                        options: dict[str, Any] | None = None) -> dict[str, Any]:
        """train_classifier with the grader's options (a short training), or, when it does
        not take them, with its own defaults ("defaults": true)."""
        ext = module("extensions")
        xs, ys = [list_(x) for x in train_x], list_(train_y)
        defaults = False
        try:
            model = call(ext.train_classifier, xs, ys, seed=seed, **(options or {}))
        except Reported as failure:
            error = error_of(failure)
            if not options or error.get("type") != "TypeError" or \
                    "unexpected keyword argument" not in str_(error.get("message")):
                raise
            model = call(ext.train_classifier, xs, ys, seed=seed)
            defaults = True
        return {"predictions": [num(call(ext.predict, model, list_(x))) for x in test_x],
                "defaults": defaults}

    tasks: dict[str, Callable[..., dict[str, Any]]] = {
        "load": load, "anatomy": task_anatomy, "graph": task_graph, "local": task_local,
        "structure": task_structure,
        "given": task_given, "neuron": task_neuron, "neuron_sample": task_neuron_sample,
        "layer": task_layer, "mlp": task_mlp, "train": task_train, "softmax": task_softmax,
        "classifier": task_classifier,
    }

    # -------------------------------------------------------------- the loop
    answer({"ready": True, "pid": os_getpid()})
    while True:
        line = stdin.readline(1 << 24)
        if not line:
            return
        request: dict[str, Any] = scan(bytes_decode(line, "utf-8"), 0)[0]
        del refusals[:]
        ident = request.get("id")
        try:
            result = tasks[request["task"]](**request.get("args", {}))
            response: dict[str, Any] = {"id": ident, "ok": True, "result": result}
        except Reported as failure:
            response = {"id": ident, "ok": False, "error": error_of(failure)}
        except BaseException_ as exc:
            # Outside a call into student code: the submission handed back something the probe
            # could not read (or the probe has a bug). Either way, say what it was.
            error = describe(exc)
            error["kind"] = "unreadable"
            error["message"] = f"the grader could not read what your code returned: " \
                               f"{error['type']}: {error['message']}"
            response = {"id": ident, "ok": False, "error": error}
        # The Values a probe made are not kept past it: a training run makes thousands.
        recording[0] = False
        del created[:]
        noted = [r for r in refusals if "(sys._getframe)" not in r]
        if noted:
            response["refused"] = [clip(r, 300) for r in noted[-5:]]
        try:
            stderr.flush()
        except BaseException_:
            pass
        # Tells the caller that everything printed during this request has been sent.
        os_write(2, marker)
        try:
            answer(response)
        except BaseException_ as exc:
            answer({"id": ident, "ok": False,
                    "error": {"kind": "protocol", "message": f"unreadable result: "
                                                              f"{type_name(exc)}"}})


if __name__ == "__main__":
    serve()
