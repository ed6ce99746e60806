"""Errors as the grader sees them: what student code raised becomes a plain record (kind, message,
the frames in the student's own files), read without letting any student code run meanwhile.
"""

from __future__ import annotations

import builtins as _builtins
import difflib
import gc
import types
from typing import Any, Callable

from context import Ctx
from tasks import ErrorAnswer, Frame

# This module's own builtins: student code that rebinds a builtin changes nothing here.
__builtins__ = dict(vars(_builtins))                          # type: ignore[assignment]

# A traceback's parts, read through their types' own descriptors: an exception class of the
# submission's (with a __traceback__ property, say) cannot hand the worker a look-alike.
traceback_of = BaseException.__dict__["__traceback__"].__get__
tb_next_of = types.TracebackType.__dict__["tb_next"].__get__
tb_frame_of = types.TracebackType.__dict__["tb_frame"].__get__
tb_lineno_of = types.TracebackType.__dict__["tb_lineno"].__get__
f_code_of = types.FrameType.__dict__["f_code"].__get__
attribute_name_of = AttributeError.__dict__["name"].__get__
attribute_obj_of = AttributeError.__dict__["obj"].__get__
mro_of = type.__dict__["__mro__"].__get__
class_dict_of = type.__dict__["__dict__"].__get__
gc_disable, gc_enable, gc_isenabled = gc.disable, gc.enable, gc.isenabled
# Raised for what a probe could not do; its one argument is the error record.
Reported: type[Exception] = type("Reported", (Exception,), {"__module__": "grader"})
# Raised when grading reaches a stand-in for a capability it withholds (numpy, open).
WithheldError: type[Exception] = type("WithheldError", (Exception,), {"__module__": "grader"})


def clip(text: Any, limit: int = 600) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + " ..."


def type_name(x: Any) -> str:
    try:
        return clip(type(x).__name__, 200)
    except BaseException:
        return "?"


def reported(kind: str, message: str, type: str | None = None, module: str | None = None,
             admission: bool = False, where: str | None = None) -> BaseException:
    error: ErrorAnswer = {"kind": kind, "type": type, "message": message, "where": where,
                          "line": None, "step": None}
    if module is not None:
        error["module"] = module
    if admission:
        error["admission"] = True
    return Reported(error)


def error_of(failure: BaseException) -> ErrorAnswer:
    return failure.args[0]                                          # type: ignore[no-any-return]


def frames_of(ctx: Ctx, exc: BaseException) -> list[tuple[str, int, str]]:
    """(file, line, function) of each frame the exception went through, outermost first.

    Frames are reachable from a traceback only through tb_frame, which the guard refuses; it
    allows it here, for this traceback, with signals blocked and the garbage collector off,
    so that no student code can run while the permission lasts."""
    found: list[tuple[str, int, str]] = []
    if not isinstance(exc, BaseException):
        return found
    tb = traceback_of(exc)
    chain: list[Any] = []
    while type(tb) is types.TracebackType and len(chain) < 200:
        chain.append(tb)
        tb = tb_next_of(tb)
    collecting = gc_isenabled()
    sigmask, signals = ctx["sigmask"], ctx["signals"]
    if sigmask is not None:
        blocked = sigmask(0, signals)         # SIG_BLOCK; runs any pending handler first
    gc_disable()
    permitted = ctx["permitted"]
    try:
        permitted.update(object.__hash__(t) for t in chain)
        for t in chain:
            frame = tb_frame_of(t)
            code: Any = f_code_of(frame) if type(frame) is types.FrameType else None
            if type(code) is types.CodeType:
                found.append((code.co_filename, tb_lineno_of(t),
                              getattr(code, "co_qualname", code.co_name)))
    finally:
        permitted.clear()
        if collecting:
            gc_enable()
        if sigmask is not None:
            sigmask(2, blocked)               # SIG_SETMASK
    return found


def suggestion(exc: Any) -> str | None:
    """Python's own "Did you mean" for a misspelt attribute (`other.date`: 'data'), worked
    out from the object's class and instance dictionaries, read without running any code of
    the object's (no __dir__, no __getattribute__ of its own)."""
    if type(exc) is not AttributeError:
        return None
    try:
        name, obj = attribute_name_of(exc), attribute_obj_of(exc)
        if type(name) is not str or obj is None:
            return None
        names: set[str] = set()
        for cls in mro_of(type(obj))[:20]:
            names.update(k for k in list(class_dict_of(cls))[:500] if type(k) is str)
        own = object.__getattribute__(obj, "__dict__") if hasattr(type(obj), "__dict__") \
            else None
        if type(own) is dict:
            names.update(k for k in list(own)[:500] if type(k) is str)
        found = difflib.get_close_matches(name, sorted(n for n in names if n[:2] != "__"),
                                          n=1, cutoff=0.7)
        return found[0] if found else None
    except BaseException:
        return None


def _kind(ctx: Ctx, exc: BaseException, message: str) -> tuple[str, str, str | None]:
    """(kind, message, step) of an exception raised by student code."""
    if isinstance(exc, WithheldError):
        what, hint = (list(exc.args) + ["", ""])[:2]
        return "withheld", f"{clip(what, 120)} is not available while grading" + \
            (f": {clip(hint, 300)}" if hint else ""), None
    if isinstance(exc, ctx["refused_classes"]):
        return "refused", message, None
    if isinstance(exc, NotImplementedError):
        step = message.split("TODO(", 1)[1].split(")", 1)[0].strip() \
            if "TODO(" in message else None
        return "not_implemented", message, step
    memory = ctx["memory_mb"]
    for kind, types_ in (("recursion", RecursionError), ("memory", MemoryError),
                         ("exit", SystemExit), ("interrupt", KeyboardInterrupt),
                         ("syntax", SyntaxError)):
        if isinstance(exc, types_):
            if kind == "memory":
                message = f"used more than {memory} MB of memory" if memory else \
                    "ran out of memory"
            elif kind == "exit":
                message = f"called sys.exit({clip(exc.code, 60)})"       # type: ignore
            elif kind == "interrupt":
                message = "raised KeyboardInterrupt"
            return kind, message, None
    return "exception", message, None


def describe(ctx: Ctx, exc: Any) -> ErrorAnswer:
    """An error record for an exception raised by student code: kind, message and the frames
    in the student's files, outermost first."""
    etype = type_name(exc)
    try:
        message = clip(exc)
    except BaseException:
        message = "(the exception's message could not be read)"
    kind, message, step = _kind(ctx, exc, message)
    better = suggestion(exc) if "Did you mean" not in message else None
    if better is not None:
        message = f"{message}. Did you mean: '{better}'?"
    stack: list[Frame] = []
    where, line = None, None
    submission, sources = ctx["submission"], ctx["sources"]
    try:
        if isinstance(exc, SyntaxError) and exc.filename:
            where = f"{str(exc.filename).split('/')[-1]}:{exc.lineno}"
            line = clip((exc.text or "").strip(), 200)
            message = clip(exc.msg)
        else:
            for filename, lineno, function in frames_of(ctx, exc):
                if type(filename) is str and filename.startswith(submission + "/"):
                    name = filename[len(submission) + 1:]
                    lines = sources.get(name, [])
                    text = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
                    stack.append({"file": name, "line": lineno, "function": function,
                                  "text": clip(text, 200)})
            if stack:
                innermost = stack[-1]
                where = f"{innermost['file']}:{innermost['line']} in {innermost['function']}"
                line = innermost["text"]
    except BaseException:
        pass
    if len(stack) > 12:        # a deep recursion: its start and its end tell the story
        stack = stack[:4] + stack[-8:]
    return {"kind": kind, "type": etype, "message": message, "where": where, "line": line,
            "step": step, "stack": stack}


def caller(ctx: Ctx) -> Callable[..., Any]:
    """call(fn, *args): run student code; anything it raises becomes a Reported error."""
    def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Reported:
            raise
        except BaseException as exc:
            raise Reported(describe(ctx, exc)) from None
    return call
