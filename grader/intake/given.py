"""The code the kit hands out complete (Value.__pow__, Layer, MLP, ...): has it been changed?

Each given function is known by the fingerprint of its syntax tree in every release of the kit
(grader/data/given.json); a submission's given function whose fingerprint is not among them has
been changed. Only then may the grader say so: a given function that fails with the student's
own code underneath (a __sub__ built on a broken __add__) is not to blame.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

from .. import steps
from .untrusted import parse, read_regular

MAX_SOURCE_BYTES = 5_000_000   # as the sandbox copies at most

KNOWN_FILE = Path(__file__).resolve().parent.parent / "data" / "given.json"


def fingerprint(node: ast.AST) -> str:
    """A hash of a definition's syntax tree, the same on every Python version (comments, blank
    lines and line numbers do not count)."""
    def canonical(value: Any) -> Any:
        if isinstance(value, ast.AST):
            fields = [(name, canonical(getattr(value, name, None))) for name in value._fields]
            return [type(value).__name__] + [[n, v] for n, v in fields if v not in (None, [])]
        if isinstance(value, list):
            return [canonical(v) for v in value]
        return repr(value)
    try:
        return hashlib.sha256(repr(canonical(node)).encode()).hexdigest()
    except RecursionError:
        # Deeper than any given code of any release: a definition that is not the kit's.
        return "too deep to be given code"


def functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """'Value.__add__' -> its definition, for top-level functions and methods of top-level
    classes."""
    found: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[f"{node.name}.{item.name}"] = item
    return found


def fingerprints(root: Path) -> dict[str, str]:
    """'engine.py:Value.__pow__' -> fingerprint, for each given function found under `root`."""
    found: dict[str, str] = {}
    for file, names in steps.GIVEN.items():
        raw = read_regular(Path(root) / file, MAX_SOURCE_BYTES)
        if raw is None:
            continue              # not a file to read: the submission's checks say why
        try:
            tree = parse(raw.decode("utf-8"))
        except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
            continue
        defined = functions(tree)
        for name in names:
            if name in defined:
                found[f"{file}:{name}"] = fingerprint(defined[name])
    return found


def known() -> dict[str, list[str]]:
    try:
        data = json.loads(KNOWN_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): [str(v) for v in vs] for k, vs in data.items()} if isinstance(data, dict) \
        else {}


def changed(root: Path) -> tuple[str, ...]:
    """The given functions (as 'Value.__pow__') a submission has changed; absent ones do not
    count (a file from an earlier release may lack a later release's given code)."""
    releases = known()
    return tuple(sorted(key.split(":", 1)[1] for key, print_ in fingerprints(root).items()
                        if print_ not in releases.get(key, ())))


def known_from(trees: Iterable[Path]) -> dict[str, list[str]]:
    """The known fingerprints of the given code in these kit trees (to write given.json)."""
    merged: dict[str, set[str]] = {}
    for tree in trees:
        for key, print_ in fingerprints(tree).items():
            merged.setdefault(key, set()).add(print_)
    return {key: sorted(prints) for key, prints in sorted(merged.items())}
