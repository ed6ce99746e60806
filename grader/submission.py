"""Where a submission's files are, and which of its TODOs are still untouched (read, never run)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from . import steps

MAX_SOURCE_BYTES = 1_000_000


@dataclass
class Submission:
    root: Path                                    # the folder holding engine.py, nn.py, train.py
    label: str                                    # how reports name it
    problems: list[str] = field(default_factory=list)

    def file(self, name: str) -> Path:
        return self.root / name

    def missing(self) -> list[str]:
        return [name for name in steps.SUBMISSION_FILES if not self.file(name).is_file()]


def locate(path: Path) -> Submission:
    """The submission at `path`: a folder laid out like exercises/."""
    path = Path(path)
    sub = Submission(root=path.resolve(), label=str(path))
    if not path.exists():
        sub.problems.append(f"{path} does not exist")
    elif not path.is_dir():
        sub.problems.append(f"{path} is not a folder holding engine.py, nn.py and train.py")
    else:
        for name in sub.missing():
            sub.problems.append(f"{name} is missing from {path}")
        for name in steps.SUBMISSION_FILES:
            problem = text_problem(sub.file(name))
            if problem:
                sub.problems.append(problem)
    return sub


def text_problem(path: Path) -> str | None:
    """Why a source file cannot be read as Python text, or None when it can."""
    if not path.is_file():
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return f"{path.name} cannot be read: {exc.strerror}"
    if not raw.strip():
        return f"{path.name} is empty"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return (f"{path.name} is saved as UTF-16 text; save it as UTF-8 (in most editors: "
                f"File > Save with encoding > UTF-8)")
    if b"\x00" in raw:
        return f"{path.name} is not a text file (it contains null bytes)"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return (f"{path.name} is not UTF-8 text (line {line} has a byte UTF-8 does not allow); "
                f"save it as UTF-8")
    return None


def _parse(source_path: Path) -> ast.Module | None:
    try:
        raw = source_path.read_bytes()
        if len(raw) > MAX_SOURCE_BYTES:
            return None
        return ast.parse(raw.decode("utf-8"), filename=source_path.name)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """'Value.__add__' -> its definition, for top-level functions and methods of top-level classes."""
    found: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[f"{node.name}.{item.name}"] = item
    return found


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
    untouched: tuple[str, ...]      # TODO functions still as shipped
    location: str | None            # "engine.py:27": the first one still to do, else the first def


def todo_status(sub: Submission, step: steps.Step) -> TodoStatus:
    if not step.todos:
        return TodoStatus((), None)
    tree = _parse(sub.file(step.file))
    if tree is None:
        return TodoStatus((), step.file)
    functions = _functions(tree)
    untouched = []
    first_line = None
    for name in step.todos:
        fn = functions.get(name)
        if fn is None:
            continue
        if first_line is None:
            first_line = fn.lineno
        if _untouched(fn, step.id):
            untouched.append(name)
    line = first_line
    if untouched:
        fn = functions[untouched[0]]
        line = _todo_line(sub.file(step.file), fn, step.id) or fn.lineno
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
