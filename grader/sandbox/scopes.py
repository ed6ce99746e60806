"""Python's scopes for admission: which names a scope binds, which nodes belong to it, and the
parts of the syntax tree a checked name can hide in (annotations written as text, format fields)."""

from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass
from typing import Iterator


@dataclass
class Scope:
    kind: str                       # module | function | class | comprehension
    parent: "Scope | None"
    bound: set[str]
    declared_global: set[str]


def target_names(target: ast.AST) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from target_names(element)
    elif isinstance(target, ast.Starred):
        yield from target_names(target.value)


FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
SCOPES = FUNCTIONS + COMPREHENSIONS + (ast.ClassDef,)


def own_nodes(scope_node: ast.AST) -> Iterator[ast.AST]:
    """The nodes that belong to this scope: not inside a nested function, class or comprehension
    (whose names, decorators and defaults do belong here)."""
    pending: list[ast.AST]
    if isinstance(scope_node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        pending = list(scope_node.body)
    elif isinstance(scope_node, ast.Lambda):
        pending = [scope_node.body]
    else:                                        # a comprehension
        pending = [scope_node]
    first = True
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, SCOPES) and not (first and node is scope_node):
            # Parts evaluated in the enclosing scope.
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                pending.extend(node.decorator_list)
                pending.extend(d for d in node.args.defaults + node.args.kw_defaults if d)
            elif isinstance(node, ast.ClassDef):
                pending.extend([*node.decorator_list, *node.bases, *node.keywords])
            elif isinstance(node, ast.Lambda):
                pending.extend(d for d in node.args.defaults + node.args.kw_defaults if d)
            continue
        first = False
        pending.extend(ast.iter_child_nodes(node))


def bindings(scope_node: ast.AST) -> tuple[set[str], set[str]]:
    """Names bound in a scope, and names it declares global."""
    bound: set[str] = set()
    declared: set[str] = set()
    if isinstance(scope_node, FUNCTIONS):
        a = scope_node.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]:
            if arg is not None:
                bound.add(arg.arg)
    for node in own_nodes(scope_node):
        if node is scope_node and isinstance(scope_node, COMPREHENSIONS):
            for generator in scope_node.generators:       # type: ignore[attr-defined]
                bound.update(target_names(generator.target))
        elif isinstance(node, ast.Global):
            declared.update(node.names)
        elif node is not scope_node or not isinstance(node, DEFINITIONS):
            bound.update(_bound_by(node))       # a def's own name is not bound inside it
    return bound, declared


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _bound_by(node: ast.AST) -> list[str]:
    """The names one node binds in the scope it is in (a definition, an assignment, an import,
    an except clause, a nonlocal declaration, a match capture)."""
    if isinstance(node, DEFINITIONS):
        return [node.name]
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return [node.id]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [alias.asname or alias.name.split(".")[0] for alias in node.names
                if alias.name != "*"]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    if isinstance(node, ast.Nonlocal):
        return list(node.names)
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    return []


class At(ast.AST):
    """Stands for a call whose argument names an attribute, when checking that name."""

    def __init__(self, call: ast.Call) -> None:
        super().__init__()
        self.lineno = call.lineno
        self.value = None


def format_fields(text: str, depth: int = 0) -> list[list[str]]:
    """The attribute paths of a format string's fields, nested ones included:
    '{0.data:{1.width}}' -> [['0', 'data'], ['1', 'width']]. Indexes ([0]) are not attributes."""
    fields: list[list[str]] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return []
    for _, field, spec, _ in parsed:
        if field:
            # '{0.a[key].b}' -> ['0', 'a', 'b']: what is inside brackets is an index.
            fields.append(re.sub(r"\[[^\]]*\]", "", field).split("."))
        if spec and depth < 2:
            fields += format_fields(spec, depth + 1)
    return fields


def annotation_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            for arg in a.posonlyargs + a.args + a.kwonlyargs + \
                    [x for x in (a.vararg, a.kwarg) if x]:
                if arg.annotation is not None:
                    yield arg.annotation
            if node.returns is not None:
                yield node.returns
        elif isinstance(node, ast.AnnAssign):
            yield node.annotation


def parsed_annotation(text: ast.Constant) -> list[ast.AST]:
    try:
        parsed = ast.parse(str(text.value).strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    for node in ast.walk(parsed):
        if hasattr(node, "lineno"):
            node.lineno = text.lineno
    return [parsed.body]


# Every name of a standard-library module: a module reached as another module's attribute


def kind(node: ast.AST) -> str:
    if isinstance(node, ast.ClassDef):
        return "class"
    if isinstance(node, COMPREHENSIONS):
        return "comprehension"
    return "function"


def module(scope: Scope) -> Scope:
    while scope.parent is not None:
        scope = scope.parent
    return scope


def outer_parts(node: ast.AST) -> list[ast.AST]:
    parts: list[ast.AST] = []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        parts += node.decorator_list
        parts += [d for d in a.defaults + a.kw_defaults if d]
        parts += [x for x in [node.returns] if x]
        parts += [arg.annotation for arg in a.posonlyargs + a.args + a.kwonlyargs
                  if arg.annotation]
    elif isinstance(node, ast.ClassDef):
        parts += [*node.decorator_list, *node.bases, *node.keywords]
    elif isinstance(node, ast.Lambda):
        parts += [d for d in node.args.defaults + node.args.kw_defaults if d]
    elif isinstance(node, COMPREHENSIONS):
        parts.append(node.generators[0].iter)          # type: ignore[attr-defined]
    return parts


def inner_parts(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return list(node.body)
    if isinstance(node, ast.Lambda):
        return [node.body]
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        first, *rest = node.generators
        parts: list[ast.AST] = [node.elt, first.target, *first.ifs]
        for generator in rest:
            parts += [generator.target, generator.iter, *generator.ifs]
        return parts
    if isinstance(node, ast.DictComp):
        first, *rest = node.generators
        parts = [node.key, node.value, first.target, *first.ifs]
        for generator in rest:
            parts += [generator.target, generator.iter, *generator.ifs]
        return parts
    return []


# Syntax a newer Python accepts, told by the line a SyntaxError points at: (the version that


def qualified(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """What a name or a dotted name stands for, when an import bound its start."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = qualified(node.value, aliases)
        return f"{base}.{node.attr}" if base is not None else None
    return None


def import_aliases(tree: ast.AST) -> tuple[dict[str, str], set[int]]:
    """name -> the module (or module attribute) an import bound it to, anywhere in the file,
    plain re-bindings included (m = random; out = sys.stdout); and the nodes of those
    re-bindings' values."""
    aliases: dict[str, str] = {}
    values: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                aliases[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for _ in range(3):
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name):
                found = qualified(node.value, aliases)
                if found is not None:
                    aliases.setdefault(node.targets[0].id, found)
                    values.add(id(node.value))
    return aliases, values


def resolves_to_builtin(name: str, scope: Scope) -> bool:
    """Whether `name`, read in `scope`, is the builtin (no scope around it binds it)."""
    current: Scope | None = scope
    if name in scope.declared_global:
        current = module(scope)
    first = True
    while current is not None:
        # A class body's names are not visible from the functions inside it.
        if (current.kind != "class" or first) and name in current.bound:
            return False
        first = False
        current = current.parent
    return True
