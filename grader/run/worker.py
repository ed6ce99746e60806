"""The worker: the only process that runs student code; it answers probes with plain numbers.

Started by grader/run/sandbox.py as `python -S -s -B worker.py` with the standard library only (it
cannot import the grader, which is not on its path and, under bubblewrap, not even in its view).
It reads one handshake line, seals itself, then answers one JSON request per line. It knows no
expected value: it builds what a request describes with the student's classes and reports what
came out. Verdicts are taken by the caller.

How it seals itself, in order, before any student code runs:
1. drops to the unprivileged user it is given (as root) and caps its own memory;
2. points file descriptors 1 and 2 at the output pipe and keeps a private one for answers, each
   answer line starting with a secret token, so nothing the submission prints can pass as one;
3. imports every module a submission may use, then installs a permanent audit hook (PEP 578, the
   run-time guard) that refuses imports, files outside the submission, processes, signals,
   sockets, ctypes, frame and garbage-collector walks and tracing hooks;
4. loads the student's files itself, each with builtins of its own: an import statement there
   reaches only the allowlisted modules (as copies with no private names), and getattr() with a
   forbidden name is refused.

Why the code is shaped this way: student code runs in this process and, were it to get past
admission, could reach this module's globals, every loaded module and the builtins module, and
rebind what it finds. So nothing outside serve() holds state, serve() captures every builtin and
library function it uses before any student code runs, and the few functions handed to student
code (the import guard, the Value.__init__ recorder) hold only data.
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
import types
from typing import Any, Callable

try:
    import resource
except ImportError:           # Windows: no rlimits; the README says so
    resource = None           # type: ignore[assignment]
try:
    import _signal                              # type: ignore[import-not-found]
except ImportError:
    _signal = None            # type: ignore[assignment]

JSON = Any
KIT_NAMES = ("engine", "nn", "train", "extensions")


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
    float_, int_, bool_, str_ = float, int, bool, str
    list_, dict_, tuple_, set_, type_ = list, dict, tuple, set, type
    len_, isinstance_, issubclass_ = len, isinstance, issubclass
    # An identity key for a live object that, unlike id(), raises no audit event: the
    # worker takes thousands of them, and each event would call the guard.
    key_ = object.__hash__
    getattr_, setattr_, hasattr_, delattr_, callable_ = getattr, setattr, hasattr, delattr, callable
    range_, enumerate_, zip_, sum_, sorted_ = range, enumerate, zip, sum, sorted
    repr_, next_, exec_, compile_ = repr, next, exec, compile
    reversed_, object_, OSError_ = reversed, object, OSError
    float_of_float = float.__float__
    float_of_int = int.__float__
    str_startswith, str_endswith, str_split, str_join = str.startswith, str.endswith, str.split, \
        str.join
    str_encode, bytes_decode = str.encode, bytes.decode
    list_append, dict_get = list.append, dict.get
    module_type = types.ModuleType
    count = itertools.count
    os_write, os_dup, os_dup2 = os.write, os.dup, os.dup2
    os_getpid = os.getpid
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
    sigmask = getattr_(_signal, "pthread_sigmask", None) if _signal is not None else None
    all_signals = _signal.valid_signals() if sigmask is not None else set_()

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

    # 1. the user and the memory cap (as root under bubblewrap the worker starts as root)
    uid, gid = settings.get("uid"), settings.get("gid")
    if uid is not None and gid is not None and hasattr_(os, "setuid"):
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
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
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if p and p != here]     # the worker's own folder
    stderr = sys.stderr

    def answer(obj: JSON) -> None:
        text = str_join("", encode_chunks(obj, 0))
        data = str_encode(text, "utf-8", "replace")
        os_write(answers, token + b" " + data + b"\n")

    # -------------------------------------------------------------- 3. the run-time guard
    refusals: list[str] = []             # what the submission tried and was refused, newest last
    permitted_tracebacks: set[int] = set()   # tracebacks describe() may walk right now
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

        hook_types = dict_(refused_types)     # a copy no function handed to student code holds

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
        add_audit_hook(hook)

    # -------------------------------------------------------------- 4. builtins for student code
    dunders = frozenset(guard_policy["dunder_attributes"]) if guard_policy else frozenset()
    inspecting = frozenset(guard_policy["introspection_attributes"]) if guard_policy \
        else frozenset()
    modules_policy: dict[str, Any] = dict_(guard_policy["modules"]) if guard_policy else {}
    if guard_policy:
        modules_policy.update(guard_policy["given_only"])
    available: dict[str, Any] = {}       # name -> what `import name` gives a submission

    def copy_of(module: Any, allowed: list[str] | None) -> Any:
        """A module with only the names a submission may use: no private ones."""
        copy = module_type(module.__name__)
        for key, value in dict_(module.__dict__).items():
            if str_startswith(key, "_") or (allowed is not None and key not in allowed):
                continue
            copy.__dict__[key] = value
        return copy

    if guard_policy is not None:
        for name, allowed in sorted_(modules_policy.items()):
            real = sys_modules.get(name)
            if real is not None:
                available[name] = copy_of(real, allowed)
        for name, copy in list_(available.items()):
            if "." in name:                                 # collections.abc on collections
                parent, _, child = name.rpartition(".")
                if parent in available:
                    available[parent].__dict__[child] = copy

    def guarded_import(name: str, globals: Any = None, locals: Any = None,
                       fromlist: Any = (), level: int = 0) -> Any:
        if level:
            raise ImportError_(f"relative imports are not supported: import {name} by name")
        if name in refused_modules:
            raise refused_types["Import"](refused_modules[name])
        top = str_split(name, ".")[0]
        if name in available and (fromlist or "." not in name):
            return available[name]
        if top in available and not fromlist:
            return available[top]
        if name in KIT_NAMES:
            raise ImportError_(f"{name}.py could not be imported (it is missing, or it imports "
                               f"a file that imports it)")
        list_append(refusals, f"tried to import {name}")
        raise refused_types["Import"](f"import {name} is not allowed in a submission")

    def forbidden_name(obj: Any, name: Any) -> bool:
        if type_(name) is not str_:
            return False
        if str_startswith(name, "__") and str_endswith(name, "__") and name not in dunders:
            return True
        return name in inspecting or (isinstance_(obj, module_type) and str_startswith(name, "_"))

    def guarded_getattr(obj: Any, name: Any, *default: Any) -> Any:
        if forbidden_name(obj, name):
            raise refused_types["Attribute"](f"getattr(..., {repr_(name)}) is not allowed")
        return getattr_(obj, name, *default)

    def guarded_hasattr(obj: Any, name: Any) -> bool:
        if forbidden_name(obj, name):
            raise refused_types["Attribute"](f"hasattr(..., {repr_(name)}) is not allowed")
        return hasattr_(obj, name)

    def guarded_delattr(obj: Any, name: Any) -> None:
        if forbidden_name(obj, name):
            raise refused_types["Attribute"](f"delattr(..., {repr_(name)}) is not allowed")
        delattr_(obj, name)

    student_builtins = dict_(builtins_dict)
    if guard_policy is not None:
        for name in guard_policy["forbidden_builtins"]:
            if name not in ("__build_class__", "__import__"):   # class and import statements
                student_builtins.pop(name, None)
        student_builtins.update(__import__=guarded_import, getattr=guarded_getattr,
                                hasattr=guarded_hasattr, delattr=guarded_delattr)
    else:
        student_builtins["__import__"] = lambda name, *a, **k: available.get(name) or \
            __import__(name, *a, **k)

    # -------------------------------------------------------------- errors, as the grader sees them
    Reported: type[Exception] = type_("Reported", (Exception_,), {"__module__": "grader"})
    sources: dict[str, list[str]] = {}      # file name -> its lines, as loaded

    def clip(text: Any, limit: int = 600) -> str:
        text = str_(text)
        return text if len_(text) <= limit else text[:limit] + " ..."

    def type_name(x: Any) -> str:
        try:
            return str_(type_(x).__name__)
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
        tb = exc.__traceback__
        chain: list[Any] = []
        while tb is not None and len_(chain) < 200:
            list_append(chain, tb)
            tb = tb.tb_next
        collecting = gc_isenabled()
        if sigmask is not None:
            blocked = sigmask(0, all_signals)      # SIG_BLOCK; runs any pending handler first
        gc_disable()
        try:
            for t in chain:
                permitted_tracebacks.add(key_(t))
            for t in chain:
                code = t.tb_frame.f_code
                list_append(found, (code.co_filename, t.tb_lineno, code.co_name))
        finally:
            permitted_tracebacks.clear()
            if collecting:
                gc_enable()
            if sigmask is not None:
                sigmask(2, blocked)                # SIG_SETMASK
        return found

    def describe(exc: Any) -> dict[str, Any]:
        """An error dict for an exception raised by student code: kind, message and place."""
        etype = type_name(exc)
        try:
            message = clip(exc)
        except BaseException_:
            message = "(the exception's message could not be read)"
        kind, step = "exception", None
        if isinstance_(exc, refused_classes):
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
        return {"kind": kind, "type": etype, "message": message, "where": where, "line": line,
                "step": step, "stack": stack[-12:]}

    def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run student code; anything it raises becomes a Reported error."""
        try:
            return fn(*args, **kwargs)
        except Reported:
            raise
        except BaseException_ as exc:
            raise Reported(describe(exc)) from None

    # -------------------------------------------------------------- loading the submission
    loaded: dict[str, Any] = {}
    created: list[Any] = []        # every Value made since the last reset, in creation order
    serial: dict[int, int] = {}    # id(value) -> how many Values were made before it

    def load_one(name: str) -> Any:
        if name in loaded:
            return loaded[name]
        if name in refused_modules:
            raise reported("refused", refused_modules[name], module=name, admission=True)
        filename = f"{submission}/{name}.py"
        try:
            with open_(filename, "rb") as handle:
                raw = handle.read(5_000_001)
        except OSError_:
            raise reported("missing", f"{name}.py is missing from the submission", module=name) from None
        try:
            source = bytes_decode(raw, "utf-8")
        except ValueError_:
            raise reported("syntax", f"{name}.py is not UTF-8 text", module=name) from None
        sources[f"{name}.py"] = str_split(source, "\n")
        module = module_type(name)
        module.__file__ = filename
        module.__dict__["__builtins__"] = student_builtins
        try:
            code = compile_(source, filename, "exec", dont_inherit=True)
        except BaseException_ as exc:
            error = describe(exc)
            error["module"] = name
            raise Reported(error) from None
        sys_modules[name] = module
        available[name] = module
        try:
            exec_(code, module.__dict__)
        except BaseException_ as exc:
            sys_modules.pop(name, None)
            available.pop(name, None)
            error = describe(exc)
            error["module"] = name
            raise Reported(error) from None
        loaded[name] = module
        if name == "engine":
            record_creation(module)
        return module

    def record_creation(engine: Any) -> None:
        """Note every Value as it is made: reverse creation order is a valid order to call
        _backward in, and a creation count gives Values a hash that is the same every run."""
        cls = getattr_(engine, "Value", None)
        if not isinstance_(cls, type_):
            raise reported("api", "engine.py has no class named Value", type="AttributeError",
                           where="engine.py")
        original = cls.__init__                                   # type: ignore[misc]
        number = count()

        def recording_init(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            serial[key_(self)] = next_(number)
            list_append(created, self)

        try:
            cls.__init__ = recording_init                           # type: ignore[misc]
            if cls.__hash__ is object_.__hash__:
                # The default hash follows memory addresses, which differ between runs, so a
                # set of Values (the usual _prev) would iterate in another order each run.
                cls.__hash__ = lambda self: dict_get(serial, key_(self), key_(self))
        except BaseException_:
            pass                          # a class that refuses new attributes keeps its own

    def load(names: list[str]) -> dict[str, bool]:
        for name in names:
            if name not in loaded:
                load_one(name)
        return {name: True for name in names}

    def module(name: str) -> Any:
        for needed in KIT_NAMES[:KIT_NAMES.index(name) + 1]:
            if needed in ("engine", "nn") or needed == name:
                load_one(needed)
        return loaded[name]

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

    def manual_backward(out: Any, seed: float) -> None:
        """Call every _backward made since the last reset, newest first, from out.grad = seed,
        so the operation steps are graded before the student's backward() exists."""
        call(setattr_, out, "grad", seed)
        for node in list_(reversed_(created)):
            fn = getattr_(node, "_backward", None)
            if callable_(fn):
                call(fn)

    # -------------------------------------------------------------- probes
    OPERANDS = {"add": (1, 2), "mul": (1, 2), "sub": (1, 2), "div": (1, 2), "addc": (1,),
                "mulc": (1,), "pow": (1,), "neg": (1,), "tanh": (1,), "cadd": (2,), "cmul": (2,),
                "csub": (2,), "cdiv": (2,), "relu": (1,), "sigmoid": (1,), "exp": (1,),
                "log": (1,)}
    LINKED = ("add", "mul", "tanh", "addc", "mulc", "cadd", "cmul", "relu", "sigmoid", "exp",
              "log")
    UNARY = ("tanh", "relu", "sigmoid", "exp", "log")

    def value_class() -> Any:
        return module("engine").Value

    def build_graph(spec: list[Any], V: Any) -> list[Any]:
        nodes: list[Any] = []
        for i, op in enumerate_(spec):
            kind = op[0]
            try:
                if kind == "leaf":
                    node = call(V, op[1])
                elif kind == "add":
                    node = call(lambda a, b: a + b, nodes[op[1]], nodes[op[2]])
                elif kind == "mul":
                    node = call(lambda a, b: a * b, nodes[op[1]], nodes[op[2]])
                elif kind == "sub":
                    node = call(lambda a, b: a - b, nodes[op[1]], nodes[op[2]])
                elif kind == "div":
                    node = call(lambda a, b: a / b, nodes[op[1]], nodes[op[2]])
                elif kind == "addc":
                    node = call(lambda a: a + op[2], nodes[op[1]])
                elif kind == "cadd":
                    node = call(lambda a: op[1] + a, nodes[op[2]])
                elif kind == "mulc":
                    node = call(lambda a: a * op[2], nodes[op[1]])
                elif kind == "cmul":
                    node = call(lambda a: op[1] * a, nodes[op[2]])
                elif kind == "csub":
                    node = call(lambda a: op[1] - a, nodes[op[2]])
                elif kind == "cdiv":
                    node = call(lambda a: op[1] / a, nodes[op[2]])
                elif kind == "pow":
                    node = call(lambda a: a ** op[2], nodes[op[1]])
                elif kind == "neg":
                    node = call(lambda a: -a, nodes[op[1]])
                elif kind in UNARY:
                    node = call(lambda a: getattr_(a, kind)(), nodes[op[1]])
                elif kind == "sum":
                    node = call(sum_, [nodes[j] for j in op[1]])
                else:
                    raise reported("protocol", f"unknown operation {kind}")
            except Reported as failure:
                error_of(failure)["node"] = i
                raise
            data_of(node, f"node {i} ({kind})")
            list_append(nodes, node)
        return nodes

    def linked(spec: list[Any], nodes: list[Any]) -> list[int | None]:
        """For each operation node: how many of its operands appear in its _prev."""
        result: list[int | None] = []
        for i, op in enumerate_(spec):
            if op[0] not in LINKED:
                list_append(result, None)
                continue
            operands = {op[k] for k in OPERANDS[op[0]]}
            try:
                prev_ids = {key_(p) for p in list_(nodes[i]._prev)}
            except BaseException_:
                list_append(result, 0)
                continue
            list_append(result, sum_(1 for j in operands if key_(nodes[j]) in prev_ids))
        return result

    def trace_backward_calls(nodes: list[Any], calls: list[Any]) -> None:
        """Log every _backward call as [spec index (-1: a node made inside an operation), the
        node's grad then], so the order of the student's walk can be examined."""
        index = {key_(n): i for i, n in enumerate_(nodes)}
        for node in list_(created):
            original = getattr_(node, "_backward", None)
            if not callable_(original):
                continue

            def traced(node: Any = node, original: Any = original) -> Any:
                list_append(calls, [dict_get(index, key_(node), -1), grad_of(node)])
                return original()

            try:
                node._backward = traced
            except BaseException_:
                pass

    def prev_orders(nodes: list[Any]) -> list[list[int] | None]:
        index = {key_(n): i for i, n in enumerate_(nodes)}
        orders: list[list[int] | None] = []
        for n in nodes:
            try:
                list_append(orders, [dict_get(index, key_(p), -1) for p in list_(n._prev)])
            except BaseException_:
                list_append(orders, None)
        return orders

    def task_graph(spec: list[Any], walk: str, seed: float = 1.0, trace: bool = False
                   ) -> dict[str, Any]:
        V = value_class()
        reset()
        nodes = build_graph(spec, V)
        out = nodes[-1]
        calls: list[Any] = []
        if trace:
            trace_backward_calls(nodes, calls)
        if walk == "manual":
            manual_backward(out, seed)
        elif walk == "student":
            call(lambda: out.backward())
        report: dict[str, Any] = {"data": [data_of(n, "node") for n in nodes],
                                  "grad": [grad_of(n) for n in nodes],
                                  "linked": linked(spec, nodes)}
        if trace:
            report["calls"] = calls
            report["prev"] = prev_orders(nodes)
        return report

    def task_local(spec: list[Any], preset: float, seed: float) -> dict[str, Any]:
        """Call only the output's own _backward, every input's grad preset to a known value."""
        V = value_class()
        reset()
        nodes = build_graph(spec, V)
        out = nodes[-1]
        for n in nodes[:-1]:
            call(setattr_, n, "grad", preset)
        call(setattr_, out, "grad", seed)
        call(lambda: out._backward())
        return {"grad": [grad_of(n) for n in nodes]}

    def check_params(params: Any, what: str) -> list[Any]:
        params = call(list_, params)
        for p in params:
            if not (hasattr_(p, "data") and hasattr_(p, "grad")):
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

    def task_neuron(n: int, init_seed: int, params: list[float] | None = None,
                    x: list[float] | None = None, x_values: bool = False, walk: str = "none",
                    seed: float = 1.0) -> dict[str, Any]:
        nn = module("nn")
        random_seed(init_seed)
        neuron = call(nn.Neuron, n)
        ps = check_params(call(lambda: neuron.parameters()), "Neuron.parameters()")
        report: dict[str, Any] = {
            "count": len_(ps), "distinct": len_({key_(p) for p in ps}),
            "initial": [num(p.data) for p in ps],
            "fresh_list": fresh_lists(neuron),
        }
        if x is None:
            return report
        set_params(ps, params, "Neuron.parameters()")
        V = value_class()
        inputs = [call(V, xi) for xi in x] if x_values else list_(x)
        reset()
        out = call(neuron, inputs)
        report["out"] = data_of(out, "Neuron(x)")
        if walk == "manual":
            manual_backward(out, seed)
            report["param_grad"] = [grad_of(p) for p in ps]
            report["x_grad"] = [grad_of(xi) for xi in inputs] if x_values else None
        return report

    def fresh_lists(neuron: Any) -> bool:
        first = call(lambda: neuron.parameters())
        second = call(lambda: neuron.parameters())
        return first is not second

    def task_neuron_sample(n: int, count: int, init_seed: int) -> dict[str, Any]:
        nn = module("nn")
        random_seed(init_seed)
        samples: list[list[float | None]] = []
        for _ in range_(count):
            neuron = call(nn.Neuron, n)
            ps = check_params(call(lambda: neuron.parameters()), "Neuron.parameters()")
            list_append(samples, [num(p.data) for p in ps])
        return {"samples": samples}

    def build_mlp(nin: int, sizes: list[int], init_seed: int, params: list[float] | None
                  ) -> tuple[Any, list[Any]]:
        nn = module("nn")
        random_seed(init_seed)
        model = call(nn.MLP, nin, sizes)
        ps = check_params(call(lambda: model.parameters()), "MLP.parameters()")
        set_params(ps, params, "MLP.parameters()")
        return model, ps

    def task_layer(nin: int, nout: int, init_seed: int, x: list[float]) -> dict[str, Any]:
        nn = module("nn")
        random_seed(init_seed)
        layer = call(nn.Layer, nin, nout)
        ps = check_params(call(lambda: layer.parameters()), "Layer.parameters()")
        out = call(layer, list_(x))
        if hasattr_(out, "data"):
            shape, outs = "value", [data_of(out, "Layer(x)")]
        elif isinstance_(out, (list_, tuple_)):
            shape, outs = f"list of {len_(out)}", [data_of(o, "Layer(x)") for o in out]
        else:
            shape, outs = type_name(out), []
        return {"count": len_(ps), "shape": shape, "out": outs}

    def task_mlp(nin: int, sizes: list[int], init_seed: int, params: list[float] | None = None,
                 xs: list[list[float]] | None = None, walk: str = "none") -> dict[str, Any]:
        model, ps = build_mlp(nin, sizes, init_seed, params)
        report: dict[str, Any] = {"count": len_(ps), "distinct": len_({key_(p) for p in ps})}
        if xs is None:
            return report
        outs: list[Any] = []
        for x in xs:
            out = call(model, list_(x))
            outs.extend(out if isinstance_(out, (list_, tuple_)) else [out])
        report["out"] = [data_of(o, "MLP(x)") for o in outs]
        if walk == "student":
            total = outs[0]
            for o in outs[1:]:
                total = call(lambda a, b: a + b, total, o)
            call(lambda: total.backward())
            report["param_grad"] = [grad_of(p) for p in ps]
        return report

    def task_train(nin: int, sizes: list[int], params: list[float], xs: list[list[float]],
                   ys: list[float], lr: float, steps: int, poison: list[float] | None = None,
                   record_params: bool = False) -> dict[str, Any]:
        train = module("train")
        model, ps = build_mlp(nin, sizes, 0, params)
        if poison is not None:
            for p, g in zip_(ps, poison):
                call(setattr_, p, "grad", g)
        losses: list[float | None] = []
        trail: list[list[float | None]] = []
        for _ in range_(steps):
            loss = call(train.train_step, model, [list_(x) for x in xs], list_(ys), lr)
            value = num(loss)
            list_append(losses, value if value is not None else data_of(loss, "train_step"))
            if record_params:
                list_append(trail, [num(p.data) for p in ps])
        predictions = [data_of(call(model, list_(x)), "model(x)") for x in xs]
        return {"losses": losses, "params": trail, "final": [num(p.data) for p in ps],
                "predictions": predictions}

    def task_softmax(logits: list[float], weights: list[float] | None = None,
                     target: int | None = None) -> dict[str, Any]:
        """softmax (each probability's grad = its weight) or cross_entropy (out.grad = 1), then
        every _backward newest first: the logits' gradients, without the student's backward()."""
        ext = module("extensions")
        V = value_class()
        reset()
        xs = [call(V, x) for x in logits]
        if target is None:
            outs = call(list_, call(ext.softmax, xs))
            probs = [data_of(o, "softmax") for o in outs]
            if len_(outs) != len_(xs):
                raise reported("api", f"softmax of {len_(xs)} scores returned {len_(outs)} "
                                      f"values", type="ValueError")
            for o, w in zip_(outs, weights or []):
                call(setattr_, o, "grad", w)
            for node in list_(reversed_(created)):
                fn = getattr_(node, "_backward", None)
                if callable_(fn):
                    call(fn)
            return {"out": probs, "grad": [grad_of(x) for x in xs]}
        loss = call(ext.cross_entropy, xs, target)
        value = data_of(loss, "cross_entropy")
        manual_backward(loss, 1.0)
        return {"out": [value], "grad": [grad_of(x) for x in xs]}

    def task_classifier(train_x: list[list[float]], train_y: list[int],
                        test_x: list[list[float]], seed: int) -> dict[str, Any]:
        ext = module("extensions")
        model = call(ext.train_classifier, [list_(x) for x in train_x], list_(train_y),
                     seed=seed)
        return {"predictions": [num(call(ext.predict, model, list_(x))) for x in test_x]}

    tasks: dict[str, Callable[..., dict[str, Any]]] = {
        "load": load, "graph": task_graph, "local": task_local, "neuron": task_neuron,
        "neuron_sample": task_neuron_sample, "layer": task_layer, "mlp": task_mlp,
        "train": task_train, "softmax": task_softmax, "classifier": task_classifier,
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
        if refusals:
            response["refused"] = [clip(r, 300) for r in refusals[-5:]]
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
