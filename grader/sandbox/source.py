"""What grading makes of a submission's source before it runs, each in one linear pass: its main
blocks disarmed, a SyntaxError a newer Python accepts named, the helper modules it may hold."""

from __future__ import annotations

import ast
import importlib
import re
import sys
import types

from ..intake.untrusted import parse
from .rules import KIT_MODULES, MODULES

# Every name of a standard-library module: a module reached as another module's attribute
# (contextlib.os, dataclasses.sys, enum.bltns) is refused even when this Python lacks it.
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"builtins", "bltns", "stdlib_re"}


def is_stdlib_module(name: str) -> bool:
    return name in _STDLIB


_MODULE_ATTRIBUTES: dict[str, frozenset[str]] = {}


def holds_module(base: str, attr: str) -> bool:
    """Whether the allowed module `base` has a module as its attribute `attr`."""
    if base not in _MODULE_ATTRIBUTES:
        try:
            module = importlib.import_module(base)
            names = frozenset(name for name, value in vars(module).items()
                              if isinstance(value, types.ModuleType))
        except ImportError:
            names = frozenset()
        _MODULE_ATTRIBUTES[base] = names
    if attr in _MODULE_ATTRIBUTES[base]:
        return True
    try:
        present = hasattr(sys.modules.get(base), attr)
    except Exception:
        present = False
    return not present and is_stdlib_module(attr)



def helper_module(name: str) -> bool:
    """Whether a .py file beside the kit's may be one of the submission's helper modules: a
    name an import can use, not private, and not a standard-library module's (a student's
    random.py would stand in for the real one)."""
    return name.isidentifier() and not name.startswith("_") and name not in KIT_MODULES and \
        not is_stdlib_module(name) and name not in MODULES and name not in ("grader",)


def is_main_guard(statement: ast.stmt) -> bool:
    """`if __name__ == "__main__":`, alone or first in an `and`."""
    if not isinstance(statement, ast.If):
        return False
    test = statement.test
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        test = test.values[0]
    if not isinstance(test, ast.Compare):
        return False
    sides = [test.left] + list(test.comparators)
    return len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq) and \
        any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and \
        any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)


def without_main_blocks(source: str) -> str:
    """The source with the test of every top-level `if __name__ == "__main__":` replaced by
    False, line for line. Admission does not check such a block (it is for running the file
    as a script), so it must never run in grading, whatever the submission binds __name__ to:
    the worker runs the file as returned here."""
    try:
        tree = parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return source                 # admission refuses it; the worker reports the error
    # Lines as the parser counts them (\n, \r\n, \r), and where each one starts.
    lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", source)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def at(line: int, column: int) -> int:          # the AST's columns count UTF-8 bytes
        return starts[line - 1] + len(lines[line - 1].encode("utf-8")[:column]
                                      .decode("utf-8", "replace"))

    # One pass: each guard's test is cut out once, and the pieces joined once at the end
    # (rebuilding the whole source per guard made a file of guards quadratic).
    pieces: list[str] = []
    done = 0
    for statement in tree.body:
        if not is_main_guard(statement):
            continue
        test = statement.test                                     # type: ignore[attr-defined]
        if test.end_lineno is None or test.end_col_offset is None:
            continue
        start, end = at(test.lineno, test.col_offset), at(test.end_lineno, test.end_col_offset)
        # In brackets, the line breaks the test spanned stay legal, and every line below
        # keeps its number.
        pieces += [source[done:start], "(False", "\n" * (test.end_lineno - test.lineno), ")"]
        done = end
    return "".join(pieces + [source[done:]])


# Syntax a newer Python accepts, told by the line a SyntaxError points at: (the version that
# accepts it, a pattern of the line or of the error message, what the syntax is).
NEWER_SYNTAX: tuple[tuple[tuple[int, int], str, str], ...] = (
    ((3, 11), r"^\s*except\s*\*", "except* (exception groups)"),
    ((3, 12), r"^msg:f-string", "an f-string with quotes of its own kind, a backslash or a "
                                "comment inside its braces"),
    ((3, 12), r"^\s*type\s+[A-Za-z_]\w*\s*(\[.*\])?\s*=", "a type statement"),
    ((3, 12), r"^\s*(async\s+)?(def|class)\s+[A-Za-z_]\w*\s*\[", "type parameters in brackets"),
    ((3, 14), r"^\s*except\s+[^():]+,[^:]*:", "except A, B: without parentheses"),
)


def syntax_version(message: str, line: str,
                   running: tuple[int, int] = sys.version_info[:2]) -> str | None:
    """When a newer Python than the one grading accepts the line of a SyntaxError: which
    Python grades, which one the syntax needs, and what it is."""
    for version, pattern, what in NEWER_SYNTAX:
        if running >= version:
            continue
        subject = f"msg:{message}" if pattern.startswith("^msg:") else line
        if re.search(pattern, subject):
            return (f"Python {running[0]}.{running[1]} grades your code, and {what} needs "
                    f"Python {version[0]}.{version[1]} or newer: write it the older way")
    return None



LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp,
         ast.GeneratorExp)


def loop_around(source: str, line: int) -> int | None:
    """The first line of the innermost loop (or comprehension) that holds `line`, None when
    none does (or the source does not parse)."""
    try:
        tree = parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found = None
    for node in ast.walk(tree):
        if isinstance(node, LOOPS) and node.lineno <= line <= (node.end_lineno or node.lineno):
            if found is None or node.lineno >= found:
                found = node.lineno
    return found
