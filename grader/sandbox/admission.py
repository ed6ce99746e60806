"""Admission, layer 1 of the defence: every submitted file is parsed before any student code runs,
and a file that uses a construct with no innocent use in an engine (frames, tracebacks, code
objects, `__subclasses__`, `__globals__`, `exec`, `eval`, `compile`, a computed attribute name) is
refused with the line and the reason. Everything else is admitted as written: a module grading
does not provide is the worker's stand-in, not a refusal (capabilities withheld, not files
refused). The rules are data, in grader/sandbox/rules.py.

We chose a small AST walk over RestrictedPython: micrograd's API is built on underscore names
(`_prev`, `_backward`, `_op`), which RestrictedPython refuses outright, and its guarded-call
rewriting would change how a correct engine behaves. Here nothing is rewritten.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterable

from ..intake.given import fingerprint
from ..intake.untrusted import Costly, parse
from . import scopes
from .rules import (METACLASSES, WHY_METACLASS, COMPUTED_NAME_CALLS, DUNDER_ATTRIBUTES, DUNDER_NAMES, FORBIDDEN_BUILTINS,
                    GIVEN_EARLIER, GIVEN_ONLY_IMPORTS, INTROSPECTION_ATTRIBUTES, KIT_MODULES,
                    MODULES, NOT_PYTHON, READ_ONLY_DUNDER_NAMES, REFUSED_NAMES,
                    STREAM_ATTRIBUTES, WHY_COMPUTED, WHY_DUNDER, WHY_IMPORT, WHY_INTROSPECTION,
                    WHY_PRIVATE, WRAPPER_CALLS)
from .scopes import Scope
from .source import holds_module, is_main_guard, is_stdlib_module, syntax_version


@dataclass(frozen=True)
class Violation:
    """One thing a file may not do: where it is, what it is and why it is refused."""

    file: str
    line: int
    what: str
    why: str

    def text(self) -> str:
        if self.why.startswith(NOT_PYTHON):
            return f"{self.file}:{self.line}: {self.why} ({self.what})"
        return f"{self.file}:{self.line}: {self.what} is not allowed: {self.why}"


class _Checker:
    """One file's walk: every node is checked once, with the scope it appears in."""

    def __init__(self, tree: ast.Module, filename: str,
                 own: Iterable[str] = KIT_MODULES) -> None:
        self.tree = tree
        self.file = filename
        self.own = frozenset(own)
        self.found: list[Violation] = []
        self.aliases, self.alias_values = scopes.import_aliases(tree)
        self.exempt = self._exempt_functions()
        self.calls_checked: set[int] = set()
        self.attribute_bases: set[int] = set()
        self.stream_arguments: set[int] = set()      # print(..., file=sys.stdout)
        self.annotations = {id(a) for a in scopes.annotation_nodes(tree)}

    # -- what names stand for
    def _qualified(self, node: ast.AST) -> str | None:
        return scopes.qualified(node, self.aliases)

    def _is_module(self, qualified: str) -> bool:
        """Whether a name stands for a real module the worker provides (a stand-in for one it
        does not provide may be passed around: it reaches nothing)."""
        return qualified in MODULES or qualified in self.own or qualified in GIVEN_ONLY_IMPORTS

    def _exempt_functions(self) -> set[int]:
        exempt: set[int] = set()
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef):
                prints = GIVEN_EARLIER.get((self.file, node.name), ())
                if prints and fingerprint(node) in prints:
                    exempt.add(id(node))
        return exempt

    # -- reporting
    def refuse(self, node: ast.AST, what: str, why: str) -> None:
        self.found.append(Violation(self.file, getattr(node, "lineno", 0), what, why))

    # -- the walk
    def run(self) -> list[Violation]:
        module_scope = Scope("module", None, *scopes.bindings(self.tree))
        self._walk_body(self.tree.body, module_scope, top=True)
        self.found.sort(key=lambda v: v.line)
        return self.found

    def _walk_body(self, body: Iterable[ast.stmt], scope: Scope, top: bool = False) -> None:
        for statement in body:
            if top and is_main_guard(statement):
                # Runs only when the file is run as a script, never when it is graded (a
                # submission may not rebind __name__): only its else branch is checked.
                for other in statement.orelse:                  # type: ignore[attr-defined]
                    self._visit(other, scope, set())
                continue
            if top and id(statement) in self.exempt:
                continue
            self._visit(statement, scope, set())

    def _visit(self, node: ast.AST, scope: Scope, exempt_uses: set[int]) -> None:
        self._check(node, scope)
        if id(node) in self.annotations:
            # An annotation written as text is code too: some tools evaluate it.
            for text in ast.walk(node):
                if isinstance(text, ast.Constant) and isinstance(text.value, str):
                    for parsed in scopes.parsed_annotation(text):
                        self._visit(parsed, scope, exempt_uses)
        if isinstance(node, scopes.SCOPES):
            # The parts evaluated in the enclosing scope are visited here, the body in its own.
            for part in scopes.outer_parts(node):
                self._visit(part, scope, exempt_uses)
            inner = Scope(scopes.kind(node), scope, *scopes.bindings(node))
            for part in scopes.inner_parts(node):
                self._visit(part, inner, exempt_uses)
            return
        for child in ast.iter_child_nodes(node):
            self._visit(child, scope, exempt_uses)

    def _resolves_to_builtin(self, name: str, scope: Scope) -> bool:
        return scopes.resolves_to_builtin(name, scope)

    def _check(self, node: ast.AST, scope: Scope) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self._check_import(node, alias.name)
        elif isinstance(node, ast.ImportFrom):
            self._check_import_from(node)
        elif isinstance(node, ast.Name):
            self._check_name(node, scope)
            self._check_module_use(node)
        elif isinstance(node, ast.Attribute):
            self.attribute_bases.add(id(node.value))
            self._check_attribute(node, node.attr)
            self._check_module_use(node)
        elif isinstance(node, ast.Call):
            self._check_call(node, scope)
        elif isinstance(node, ast.Match):
            base = self._qualified(node.subject)
            for case in node.cases:
                self._check_pattern(case.pattern, base)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if isinstance(node, ast.ClassDef) and any(
                    self._metaclass(base, scope) for base in node.bases):
                self.refuse(node, f"class {node.name} derived from a class of classes",
                            WHY_METACLASS)
            name = node.name
            if name.startswith("__") and name.endswith("__") and name not in DUNDER_ATTRIBUTES:
                # A method Python calls by itself (__getattribute__, __del__, a __traceback__
                # property...) runs where nothing of it was written out.
                self.refuse(node, f"defining {name}", WHY_DUNDER)

    def _check_import(self, node: ast.AST, name: str) -> None:
        parts = name.split(".")
        if parts[-1] in self.own:
            return                       # the submission's own file, in any package layout
        if name in GIVEN_ONLY_IMPORTS:
            self.refuse(node, f"import {name}", WHY_IMPORT)
        elif parts[0] in MODULES and any(part.startswith("_") and part != "__future__"
                                         for part in parts):
            self.refuse(node, f"import {name}", WHY_PRIVATE)
        # Anything else the worker does not provide is a stand-in: nothing to refuse.

    def _check_import_from(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level or module.split(".")[-1] in self.own:
            return                       # from .engine import Value; from micrograd.nn import MLP
        if module in GIVEN_ONLY_IMPORTS:
            allowed = GIVEN_ONLY_IMPORTS[module]
            for alias in node.names:
                if alias.name not in allowed:
                    self.refuse(node, f"from {module} import {alias.name}", WHY_IMPORT)
                elif self._used_outside_exempt(alias.asname or alias.name):
                    self.refuse(node, f"{module}.{alias.name}",
                                "only the given load_iris of an earlier release may use it")
            return
        if module not in MODULES:
            return                       # a stand-in, whatever it names
        allowed_names = MODULES[module]
        for alias in node.names:
            if alias.name == "*":
                # Each use of a refused or checked name must be seen by its name; a star
                # import would bring it in unnamed (operator's attrgetter, say).
                if allowed_names is not None or any(
                        name.startswith(f"{module}.") for name in
                        (*REFUSED_NAMES, *COMPUTED_NAME_CALLS, *WRAPPER_CALLS)):
                    self.refuse(node, f"from {module} import *",
                                f"name what you use from {module}")
            elif alias.name.startswith("_") and module != "__future__":
                self.refuse(node, f"from {module} import {alias.name}", WHY_PRIVATE)
            else:
                self._check_qualified(node, module, alias.name)

    def _used_outside_exempt(self, name: str) -> bool:
        inside: set[int] = set()
        for function in self.tree.body:
            if id(function) in self.exempt:
                inside.update(id(n) for n in ast.walk(function))
        return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
                   and id(n) not in inside for n in ast.walk(self.tree))

    def _check_name(self, node: ast.Name, scope: Scope) -> None:
        name = node.id
        if name.startswith("__") and name.endswith("__"):
            if name in READ_ONLY_DUNDER_NAMES:
                if not isinstance(node.ctx, ast.Load):
                    self.refuse(node, f"assigning {name}", "the grader relies on its value")
                return
            if name in DUNDER_ATTRIBUTES or name in DUNDER_NAMES:
                return
            why = FORBIDDEN_BUILTINS.get(name, WHY_DUNDER)
            self.refuse(node, name, why)
            return
        if not isinstance(node.ctx, ast.Load):
            return
        qualified = self._qualified(node)
        if (qualified in COMPUTED_NAME_CALLS or qualified in WRAPPER_CALLS) and \
                id(node) not in self.calls_checked:
            self.refuse(node, f"{qualified} used as a value", WHY_COMPUTED)
            return
        if not self._resolves_to_builtin(name, scope):
            return
        if name in FORBIDDEN_BUILTINS:
            self.refuse(node, f"{name}()" if name not in ("__builtins__",) else name,
                        FORBIDDEN_BUILTINS[name])
        elif name in COMPUTED_NAME_CALLS and id(node) not in self.calls_checked:
            self.refuse(node, f"{name} used as a value", WHY_COMPUTED)

    def _check_attribute(self, node: ast.AST, attr: str) -> None:
        """An attribute written out (x.attr): the one rule, with what x stands for."""
        value = node.value if isinstance(node, ast.Attribute) else None
        if attr in ("format", "format_map") and isinstance(value, ast.Name) and \
                value.id == "str":
            self.refuse(node, f"str.{attr}", "format fields read attributes: write the string "
                                             "out ('{0.data}'.format(x)) or use an f-string")
            return
        self._named(node, self._qualified(value) if value is not None else None, attr)

    def _named(self, node: ast.AST, base: str | None, attr: str) -> bool:
        """The one rule for every way code names an attribute: written out, in a class pattern,
        in getattr/setattr/hasattr/delattr, in attrgetter or methodcaller, in a format field.
        `base`: what the object stands for, when an import bound it. True when it is refused."""
        before = len(self.found)
        if attr.startswith("__") and attr.endswith("__") and attr not in DUNDER_ATTRIBUTES:
            self.refuse(node, f".{attr}", WHY_DUNDER)
        elif attr in INTROSPECTION_ATTRIBUTES:
            self.refuse(node, f".{attr}", WHY_INTROSPECTION)
        elif base is not None:
            self._check_qualified(node, base, attr)
        return len(self.found) > before

    def _check_pattern(self, pattern: ast.pattern, base: str | None) -> None:
        """`case C(name=p)` reads the subject's attribute `name`, as subject.name would."""
        for child in ast.walk(pattern):
            if isinstance(child, ast.MatchClass):
                if child.patterns and not (isinstance(child.cls, ast.Name) and
                                           child.cls.id in SELF_MATCHING):
                    # Positional patterns read the attributes the class's __match_args__
                    # names: names admission never sees.
                    self.refuse(child, f"case {ast.unparse(child.cls)}(...) with positional "
                                       f"patterns", "name the attributes it reads: "
                                       f"case {ast.unparse(child.cls)}(data=d)")
                subject = base if child is pattern else None
                for attr, inner in zip(child.kwd_attrs, child.kwd_patterns):
                    if not self._named(child, subject, attr) and subject is not None and \
                            isinstance(inner, ast.MatchClass):
                        self._check_pattern(inner, f"{subject}.{attr}")

    def _check_module_use(self, node: ast.Name | ast.Attribute) -> None:
        """A module may be used only by naming its attributes (math.exp), never as a value:
        passed around, it would let code read attributes this check never sees. The same for
        sys.stdout and sys.stderr, which may also be given to print(file=...)."""
        if not isinstance(node.ctx, ast.Load) or id(node) in self.attribute_bases or \
                id(node) in self.alias_values:
            return
        qualified = self._qualified(node)
        if qualified in ("sys.stdout", "sys.stderr") and id(node) not in self.stream_arguments:
            self.refuse(node, f"{qualified} used as a value",
                        f"write to it as {qualified}.write(...) or print(..., file={qualified})")
            return
        if qualified is not None and self._is_module(qualified):
            self.refuse(node, f"the module {qualified} used as a value",
                        "a module may only be used by naming what you take from it, "
                        f"as in {qualified}.something")

    def _check_qualified(self, node: ast.AST, base: str, attr: str) -> None:
        """`base.attr`, where base is what an import bound (a module, or a name from one)."""
        if base.split(".")[0] in self.own:
            self._check_through_own(node, base, attr)
            return
        qualified = f"{base}.{attr}"
        if qualified in REFUSED_NAMES:
            self.refuse(node, qualified, REFUSED_NAMES[qualified])
            return
        if (qualified in COMPUTED_NAME_CALLS or qualified in WRAPPER_CALLS) and \
                id(node) not in self.calls_checked and isinstance(node, ast.Attribute):
            self.refuse(node, f"{qualified} used as a value", WHY_COMPUTED)
            return
        if base in MODULES and qualified not in MODULES and not attr.startswith("_") and \
                holds_module(base, attr):
            self.refuse(node, qualified,
                        f"it is another module, reached through {base}: import only what "
                        "the policy allows")
            return
        if base in ("sys.stdout", "sys.stderr"):
            if attr not in STREAM_ATTRIBUTES:
                self.refuse(node, f"{base}.{attr}",
                            f"a submission may only write to {base} "
                            f"({', '.join(STREAM_ATTRIBUTES)})")
            return
        if (base in MODULES or base in GIVEN_ONLY_IMPORTS) and attr.startswith("_"):
            self.refuse(node, f"{base}.{attr}", WHY_PRIVATE)

    def _check_through_own(self, node: ast.AST, base: str, attr: str) -> None:
        """`own.attr` or `own.module.attr`: a module a kit file imported is checked as if
        imported here (engine.random._os), and no other module is reached through it."""
        parts = base.split(".")
        if len(parts) > 1 and parts[1] in MODULES:
            self._check_qualified(node, ".".join(parts[1:]), attr)
        elif len(parts) == 1 and is_stdlib_module(attr) and attr not in MODULES:
            self.refuse(node, f"{base}.{attr}", WHY_IMPORT)

    def _metaclass(self, node: ast.AST, scope: Scope) -> bool:
        """Whether `node` names a class of classes: type (the builtin), abc.ABCMeta, ..., or
        x.__class__.__class__. (type(self)(data, children, op) makes a Value, as Value(...)
        does: a class made by calling type(x) some other way gets no attribute admission has
        not seen a name for, since positional class patterns are refused.)"""
        if isinstance(node, ast.Name) and node.id == "type":
            return self._resolves_to_builtin("type", scope)
        if isinstance(node, ast.Attribute) and node.attr == "__class__" and \
                isinstance(node.value, ast.Attribute) and node.value.attr == "__class__":
            return True                                   # x.__class__.__class__
        return self._qualified(node) in METACLASSES

    def _check_call(self, node: ast.Call, scope: Scope) -> None:
        # The first three refuse a call outright (or take it whole): nothing else is asked.
        for refused in (self._makes_a_class, self._wrapper_call, self._format_made_at_run_time):
            if refused(node, scope):
                return
        self._setattr_call(node, scope)
        self._print_call(node)
        if self._computed_name_call(node, scope):
            return
        self._written_format(node)

    def _makes_a_class(self, node: ast.Call, scope: Scope) -> bool:
        func = node.func
        makes_class = self._metaclass(func, scope) and (len(node.args) + len(node.keywords) > 1
                                                       or any(isinstance(a, ast.Starred)
                                                              for a in node.args))
        hooks = isinstance(func, ast.Attribute) and func.attr in (
            "__new__", "__call__", "__init__", "__setattr__", "__delattr__") and \
            self._metaclass(func.value, scope)
        if not (makes_class or hooks):
            return False
        shown = ast.unparse(func) if len(ast.unparse(func)) < 60 else "a class of classes"
        self.refuse(node, f"{shown}(...) making a class", WHY_METACLASS)
        return True

    def _wrapper_call(self, node: ast.Call, scope: Scope) -> bool:
        wrapper = self._qualified(node.func)
        if wrapper not in WRAPPER_CALLS:
            return False
        self.calls_checked.add(id(node.func))
        if len(node.args) > WRAPPER_CALLS[wrapper] or any(
                k.arg in (None, "assigned", "updated") for k in node.keywords):
            self.refuse(node, f"{wrapper}() with the names it copies", WHY_COMPUTED)
        return True

    def _format_made_at_run_time(self, node: ast.Call, scope: Scope) -> bool:
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in ("format", "format_map")) or \
                (isinstance(func.value, ast.Constant) and isinstance(func.value.value, str)):
            return False
        # A format string made at run time could name any attribute ('{0.__globals__}').
        self.refuse(node, f".{func.attr}() of a format string that is not written out",
                    "format fields read attributes: write the string out ('{0.data}'.format(x)) "
                    "or use an f-string")
        return True

    def _setattr_call(self, node: ast.Call, scope: Scope) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "setattr" and \
                self._resolves_to_builtin("setattr", scope) and len(node.args) >= 2 and \
                isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
            # Setting an attribute reaches nothing new (methods set from a table are fine),
            # but a name written out follows the attribute rules.
            self._named(node, self._qualified(node.args[0]), node.args[1].value)

    def _print_call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id == "print":
            for keyword in node.keywords:
                if keyword.arg == "file":
                    self.stream_arguments.add(id(keyword.value))

    def _computed_name_call(self, node: ast.Call, scope: Scope) -> bool:
        """getattr and its kin: only with the name written out, which follows the rules."""
        func = node.func
        target = None
        if isinstance(func, ast.Name) and func.id in COMPUTED_NAME_CALLS and \
                self._resolves_to_builtin(func.id, scope):
            target = func.id
        elif self._qualified(func) in COMPUTED_NAME_CALLS:
            target = self._qualified(func)
        if target is None:
            return False
        self.calls_checked.add(id(func))
        position = 0 if target.startswith("operator.") else 1
        names = node.args[position:position + 1] if target != "operator.attrgetter" \
            else node.args
        if not names or not all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                for a in names):
            self.refuse(node, f"{target}() with a computed name", WHY_COMPUTED)
            return True
        obj = self._qualified(node.args[0]) if target in ("getattr", "hasattr", "delattr") \
            and node.args else None
        for constant in names:
            base = obj
            for attr in str(constant.value).split("."):     # type: ignore[attr-defined]
                if self._named(node, base, attr):
                    break
                base = f"{base}.{attr}" if base is not None else None
        return True

    def _written_format(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("format", "format_map") and \
                isinstance(func.value, ast.Constant) and isinstance(func.value.value, str):
            # Format fields read attributes ('{0.data}'): the same rules as written ones.
            for field in scopes.format_fields(func.value.value):
                for part in field[1:]:
                    if self._named(node, None, part):
                        self.found[-1] = Violation(
                            self.file, node.lineno, f"the format field {{{'.'.join(field)}}}",
                            self.found[-1].why)
                        break


# Classes whose one positional pattern matches the subject itself (case int(n)).
SELF_MATCHING = frozenset({"bool", "bytearray", "bytes", "dict", "float", "frozenset", "int",
                           "list", "set", "str", "tuple"})


def check_source(source: str, filename: str,
                 own: Iterable[str] = KIT_MODULES) -> list[Violation]:
    """Every violation in one file's source, in line order; [] when it is admitted."""
    return check_parsed(source, filename, own)[0]


def check_parsed(source: str, filename: str, own: Iterable[str] = KIT_MODULES
                 ) -> tuple[list[Violation], ast.Module | None]:
    """check_source, and the syntax tree it read (None when the source does not parse)."""
    try:
        tree = parse(source, filename=filename)
    except Costly as exc:
        return [Violation(filename, 0, "a file too costly to check", str(exc))], None
    except SyntaxError as exc:
        lines = source.splitlines()
        line = lines[exc.lineno - 1] if exc.lineno and 0 < exc.lineno <= len(lines) else ""
        newer = syntax_version(str(exc.msg), line)
        return [Violation(filename, exc.lineno or 0, f"SyntaxError: {exc.msg}",
                          f"{NOT_PYTHON}: {newer}" if newer else NOT_PYTHON)], None
    except (RecursionError, MemoryError, ValueError):
        return [Violation(filename, 0, "a file nested this deeply", "it cannot be parsed")], None
    try:
        return _Checker(tree, filename, own).run(), tree
    except RecursionError:
        return [Violation(filename, 0, "a file nested this deeply", "it cannot be checked")], None

