"""Which of a submission's TODOs are still as shipped, and where the first one is (read, never run)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from .. import steps
from .untrusted import parse
from .given import functions as _functions
from .submission import MAX_SOURCE_BYTES, is_regular


def _parse(source_path: Path) -> ast.Module | None:
    if not is_regular(source_path):
        return None
    try:
        raw = source_path.read_bytes()
        if len(raw) > MAX_SOURCE_BYTES:
            return None
        return parse(raw.decode("utf-8"), filename=source_path.name)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _untouched(fn: ast.FunctionDef | ast.AsyncFunctionDef, step_id: str) -> bool:
    """True while the function still raises the stub's NotImplementedError("TODO(<step>) ...")."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            call = node.exc
            if isinstance(call.func, ast.Name) and call.func.id == "NotImplementedError":
                for arg in call.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and \
                            f"TODO({step_id})" in arg.value:
                        return True
    return False


@dataclass(frozen=True)
class TodoStatus:
    untouched: tuple[str, ...]      # TODO functions still as shipped, or not there at all
    location: str | None            # "engine.py:27": the first one still to do, else the first def


def todo_status(root: Path, step: steps.Step) -> TodoStatus:
    if not step.todos:
        return TodoStatus((), None)
    tree = _parse(root / step.file)
    if tree is None:
        return TodoStatus((), step.file)
    functions = _functions(tree)
    untouched = []
    first_line = None
    first_untouched = None
    for name in step.todos:
        # In a notebook a method is written at top level, then attached: Value.__add__ = __add__.
        fn = functions.get(name) or functions.get(name.split(".")[-1])
        if fn is None:
            # Not written at all (a file from a release before that step): not started either.
            untouched.append(name)
            continue
        if first_line is None:
            first_line = fn.lineno
        if _untouched(fn, step.id):
            untouched.append(name)
            first_untouched = first_untouched or fn
    line = first_line
    if first_untouched is not None:
        line = _todo_line(root / step.file, first_untouched, step.id) or first_untouched.lineno
    return TodoStatus(tuple(untouched), f"{step.file}:{line}" if line else step.file)


def _todo_line(path: Path, fn: ast.FunctionDef | ast.AsyncFunctionDef, step_id: str) -> int | None:
    """The line of the `# TODO(<step>)` comment inside fn: where the student should start typing."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    end = fn.end_lineno or fn.lineno
    for number in range(fn.lineno, min(end, len(lines)) + 1):
        if f"TODO({step_id})" in lines[number - 1]:
            return number
    return None
