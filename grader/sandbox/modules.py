"""A submission's own modules as the sandbox sees them: which of its files they are, what
admission says of each, and what they import. Sizes come first; each file is read and parsed
once."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..intake.untrusted import read_regular
from .admission import Violation, check_parsed
from .rules import GIVEN_ONLY_IMPORTS, KIT_MODULES, MAX_FILE_BYTES, MODULES
from .source import helper_module

MAX_HELPERS = 20             # helper modules beside the kit's files


def own_modules(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Of a folder's file names: the kit's files and its helper modules that may be imported
    (at most MAX_HELPERS), by module name; and what was left out, and why."""
    files = sorted(n for n in names if n.endswith(".py"))
    kit = [n[:-3] for n in files if n[:-3] in KIT_MODULES]
    helpers = [n[:-3] for n in files if helper_module(n[:-3])]
    skipped = [f"{len(helpers)} other .py files beside the kit's: only the first "
               f"{MAX_HELPERS} can be imported"] if len(helpers) > MAX_HELPERS else []
    return kit + helpers[:MAX_HELPERS], skipped


@dataclass
class Admitted:
    """What admission found in a folder of the submission's modules."""

    violations: dict[str, list[Violation]] = field(default_factory=dict)   # module -> them
    imports: set[str] = field(default_factory=set)     # allowed modules imported (to preload)
    withheld: list[str] = field(default_factory=list)  # modules grading replaces, imported

    def refused(self) -> dict[str, list[Violation]]:
        return {name: found for name, found in self.violations.items() if found}


def admit(sources: dict[str, bytes | None]) -> Admitted:
    """Admission of each of the submission's modules (module name -> its bytes, None for one
    that is not a regular file of at most MAX_FILE_BYTES), and what they import."""
    own = tuple(sources)
    admitted = Admitted()
    names: set[str] = set()             # modules imported
    pairs: set[str] = set()             # module.name for each name a from-import takes
    for name, raw in sources.items():
        if raw is None:
            admitted.violations[name] = [Violation(
                f"{name}.py", 0, "a file too large, or not a regular file",
                f"a submitted file may be at most {MAX_FILE_BYTES // 1000} KB")]
            continue
        try:
            source = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            admitted.violations[name] = [Violation(
                f"{name}.py", 0, "a file that cannot be read as UTF-8 text", str(exc))]
            continue
        found, tree = check_parsed(source, f"{name}.py", own)
        admitted.violations[name] = found
        if tree is not None:
            modules_, taken = _imports(tree)
            names |= modules_
            pairs |= taken
    with_parents = names | pairs
    for name in names | pairs:
        parts = name.split(".")
        with_parents.update(".".join(parts[:k]) for k in range(1, len(parts)))
    admitted.imports = {n for n in with_parents if n in MODULES or n in GIVEN_ONLY_IMPORTS}
    tops = {n.split(".")[0] for n in names if n.split(".")[-1] not in own}
    admitted.withheld = sorted(top for top in tops if top and top not in MODULES and
                               top not in own and top not in GIVEN_ONLY_IMPORTS)
    return admitted


def _imports(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Every module a file imports; and module.name for each name a from-import takes (the
    name may be a submodule: from collections import abc)."""
    modules_: set[str] = set()
    taken: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules_.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules_.add(node.module)
            taken.update(f"{node.module}.{alias.name}" for alias in node.names
                         if alias.name != "*")
    return modules_, taken


def check_file(path: Path, own: Iterable[str] = KIT_MODULES) -> list[Violation]:
    """Admission of one file, as admit() does it for each of a submission's."""
    sources: dict[str, bytes | None] = {name: b"" for name in own}
    sources[path.stem] = read_regular(path, MAX_FILE_BYTES)
    return admit(sources).violations.get(path.stem, [])


def describe(violations: list[Violation], limit: int = 3) -> str:
    """The first few violations as lines of text, for a message to the student."""
    lines = [v.text() for v in violations[:limit]]
    if len(violations) > limit:
        lines.append(f"... and {len(violations) - limit} more")
    return "\n".join(lines)
