"""What submitted code may use, kept as data in one place, and the admission check that applies it.

Admission (layer 1 of the defence) parses every submitted file before any student code runs and
refuses a file that imports outside an allowlist, reaches Python's internals (frames, tracebacks,
code objects, `__subclasses__`, `__globals__`, private parts of modules), or calls `exec`, `eval`,
`compile`, `open` and a few other builtins. A refused file does not run at all. The same data
drives the run-time guard in the worker (layer 2), which is handed `runtime_policy()`.

We chose a small AST walk over RestrictedPython: micrograd's API is built on underscore names
(`_prev`, `_backward`, `_op`), which RestrictedPython refuses outright, and its guarded-call
rewriting would change how a correct engine behaves. Here nothing is rewritten: a file is
admitted as written, or refused with the line and the reason.
"""

from __future__ import annotations

import ast
import importlib
import re
import string
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..intake.given import fingerprint

# ------------------------------------------------------------------------------------ the data
# The submission's own modules: they may import each other freely.
KIT_MODULES: tuple[str, ...] = ("engine", "nn", "train", "extensions")

# Standard-library modules a student engine uses, each with the names it may take from it
# (None: every public name, i.e. none that starts with an underscore).
MODULES: dict[str, tuple[str, ...] | None] = {
    "__future__": None,
    "math": None,
    "cmath": None,
    "random": None,
    "itertools": None,
    "functools": None,
    "operator": None,
    "collections": None,
    "collections.abc": None,
    "dataclasses": None,
    "typing": None,
    "numbers": None,
    "abc": None,
    "enum": None,
    "heapq": None,
    "bisect": None,
    "copy": None,
    "statistics": None,
    "fractions": None,
    "decimal": None,
    "graphlib": None,
    "contextlib": None,
    "time": None,
    "warnings": None,
    # sys: only what students really use (a recursive backward() raises the recursion limit;
    # the given sparkline asks sys.stdout for its encoding).
    "sys": ("setrecursionlimit", "getrecursionlimit", "stdout", "stderr", "exit", "maxsize",
            "float_info", "int_info", "version_info", "version", "platform", "byteorder",
            "argv"),
}

# Public names of allowed modules that are refused all the same: they evaluate text as code
# (type hints written as strings are evaluated by these).
REFUSED_NAMES: dict[str, str] = {
    "typing.get_type_hints": "it evaluates annotations written as text, i.e. runs code",
    "typing.ForwardRef": "it evaluates annotations written as text, i.e. runs code",
    "functools.singledispatch": "it evaluates annotations written as text, i.e. runs code",
    "functools.singledispatchmethod": "it evaluates annotations written as text, i.e. runs code",
    "dataclasses.make_dataclass": "it builds a class from names and a namespace given at run "
                                  "time, which admission cannot check",
    "dataclasses.fields": "its Field objects name attributes that generated code then reads",
}

# What `sys.stdout` and `sys.stderr` may be asked for.
STREAM_ATTRIBUTES: tuple[str, ...] = ("write", "writelines", "flush", "encoding", "errors",
                                      "isatty")

# Double-underscore attributes a Value may use: the operator methods and a few plain ones.
OPERATOR_DUNDERS: frozenset[str] = frozenset("""
    __add__ __radd__ __iadd__ __sub__ __rsub__ __isub__ __mul__ __rmul__ __imul__
    __truediv__ __rtruediv__ __itruediv__ __floordiv__ __rfloordiv__ __mod__ __rmod__
    __divmod__ __pow__ __rpow__ __ipow__ __matmul__ __rmatmul__ __neg__ __pos__ __abs__
    __invert__ __round__ __trunc__ __floor__ __ceil__
    __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __hash__ __bool__ __float__ __int__ __index__
    __complex__ __repr__ __str__ __format__ __len__ __iter__ __next__ __reversed__
    __getitem__ __setitem__ __delitem__ __contains__ __call__ __enter__ __exit__
""".split())
PLAIN_DUNDERS: frozenset[str] = frozenset("""
    __init__ __new__ __post_init__ __setattr__ __getattr__ __delattr__ __copy__ __deepcopy__
    __class__ __name__ __qualname__ __doc__ __module__ __slots__ __annotations__
    __wrapped__ __version__ __init_subclass__ __set_name__
""".split())
DUNDER_ATTRIBUTES: frozenset[str] = OPERATOR_DUNDERS | PLAIN_DUNDERS

# Double-underscore names a module or class body may mention (beyond the attributes above),
# and those it may only read.
DUNDER_NAMES: frozenset[str] = frozenset({"__all__", "__author__"})
READ_ONLY_DUNDER_NAMES: frozenset[str] = frozenset({"__name__", "__file__", "__debug__"})

# Builtins a submission may not use, and why: they have no innocent use in an engine.
FORBIDDEN_BUILTINS: dict[str, str] = {
    "exec": "it runs code that admission cannot check",
    "eval": "it runs code that admission cannot check",
    "compile": "it makes code that admission cannot check",
    "__import__": "imports must be written as import statements, so they can be checked",
    "globals": "it reaches into namespaces beyond your own values",
    "vars": "it reaches into namespaces beyond your own values",
    "locals": "it reaches into namespaces beyond your own values",
    "__builtins__": "it reaches every builtin, the forbidden ones included",
    "__build_class__": "class statements already do this",
    "__loader__": "it reaches the import system",
    "__spec__": "it reaches the import system",
}

# Capabilities withheld, not files refused: these builtins, and every module the worker does
# not provide (numpy, matplotlib, os, ...), are bound to stand-ins. While a file is imported a
# stand-in is inert, so an unused import, a plot or a script part costs nothing; when grading
# calls code that uses one, that check fails with the reason below.
WITHHELD_BUILTINS: dict[str, str] = {
    "open": "a submission is graded on numbers alone: it reads and writes no files while "
            "graded",
    "input": "nobody is at the keyboard while grading",
    "breakpoint": "nobody is at the keyboard while grading",
    "help": "nobody is at the keyboard while grading",
}
# What to use instead of a module, by its top-level name (for a module not listed: nothing).
WITHHELD_HINTS: dict[str, str] = {
    "numpy": "math.tanh, math.exp and random.uniform do this for one number",
    "scipy": "math does this for one number",
    "torch": "your engine is graded on its own Values: math does this for one number",
    "jax": "your engine is graded on its own Values: math does this for one number",
    "pandas": "the checks hand your code plain lists of numbers",
    "matplotlib": "plots are for running the file yourself: put them under "
                  "if __name__ == \"__main__\":",
    "seaborn": "plots are for running the file yourself: put them under "
               "if __name__ == \"__main__\":",
    "graphviz": "drawing is for running the file yourself (python -m grader visualize draws "
                "your graph)",
    "IPython": "a notebook's display is for running it yourself",
    "tqdm": "progress bars are for running the file yourself: loop over range() itself",
    "os": "a submission is graded on numbers alone: it works with no files or programs",
    "pathlib": "a submission is graded on numbers alone: it reads and writes no files",
    "pickle": "a submission is graded on numbers alone: it reads and writes no files",
    "json": "a submission is graded on numbers alone: it reads and writes no files",
}

# Reading an attribute whose name is computed at run time cannot be checked here: these may
# only be called with the name written out as a string.
COMPUTED_NAME_CALLS: tuple[str, ...] = ("getattr", "hasattr", "delattr", "operator.attrgetter",
                                        "operator.methodcaller")
# Calls that copy attributes named by an argument (functools.wraps(f, assigned=(name,)) reads
# f.<name>): only with the wrapped function(s), the names left to functools.
WRAPPER_CALLS: dict[str, int] = {"functools.update_wrapper": 2, "functools.wraps": 1}

# Attributes that lead from any object to the interpreter's internals: frames (and through
# them every variable of every caller), tracebacks, code objects, closure cells.
INTROSPECTION_ATTRIBUTES: frozenset[str] = frozenset("""
    gi_frame gi_code gi_yieldfrom gi_suspended gi_running cr_frame cr_code cr_await cr_origin
    cr_running ag_frame ag_code ag_await ag_running tb_frame tb_next tb_lasti tb_lineno
    f_back f_globals f_locals f_builtins f_code f_trace f_trace_lines f_trace_opcodes f_lasti
    f_lineno co_code co_consts co_names co_varnames co_filename co_name co_qualname co_lines
    co_positions co_freevars co_cellvars co_argcount co_flags co_lnotab co_linetable
    co_exceptiontable cell_contents mro
""".split())

# Given code of earlier releases, admitted as written so that work begun on an earlier release
# grades as it did: (file, function) -> the fingerprints of its released forms, and the imports
# only those functions may use.
GIVEN_EARLIER: dict[tuple[str, str], tuple[str, ...]] = {
    # release 0.1.0: load_iris read the CSV shipped beside the grader.
    ("extensions.py", "load_iris"): (
        "88d74d67d5519b7cd5666e264349d08052deb85ee4f67372bc89c70331b480e9",),
}
GIVEN_ONLY_IMPORTS: dict[str, tuple[str, ...]] = {"pathlib": ("Path",)}

# The run-time guard (layer 2): audit events the worker refuses after the submission starts.
# Events are matched by their name, or by a prefix ending in a dot.
REFUSED_EVENTS: dict[str, str] = {
    "os.system": "start a program",
    "os.exec": "replace the worker with another program",
    "os.posix_spawn": "start a program",
    "os.spawn": "start a program",
    "os.fork": "start a process",
    "os.forkpty": "start a process",
    "os.startfile": "start a program",
    "subprocess.Popen": "start a program",
    "pty.spawn": "start a program",
    "_thread.start_new_thread": "start a thread",
    "os.kill": "send a signal to a process",
    "os.killpg": "send a signal to a process group",
    "signal.pthread_kill": "send a signal",
    "socket.": "use the network",
    "urllib.Request": "use the network",
    "http.client.connect": "use the network",
    "ftplib.": "use the network",
    "smtplib.": "use the network",
    "webbrowser.open": "open a browser",
    "ctypes.": "call C code directly",
    "sys._getframe": "read the call stack",
    "sys._current_frames": "read the call stack",
    "sys._current_exceptions": "read the call stack",
    "sys.settrace": "install a tracing hook",
    "sys.setprofile": "install a profiling hook",
    "sys.monitoring.": "install a monitoring hook",
    "sys.addaudithook": "install an audit hook",
    "gc.": "walk the garbage collector's objects",
    "os.remove": "delete a file",
    "os.rename": "rename a file",
    "os.mkdir": "make a folder",
    "os.rmdir": "remove a folder",
    "os.chmod": "change a file's permissions",
    "os.chown": "change a file's owner",
    "os.chdir": "change the working folder",
    "os.chroot": "change the root folder",
    "os.link": "make a link",
    "os.symlink": "make a link",
    "os.truncate": "truncate a file",
    "os.utime": "change a file's times",
    "os.putenv": "change the environment",
    "os.unsetenv": "change the environment",
    "os.listdir": "list a folder",
    "os.scandir": "list a folder",
    "glob.glob": "list a folder",
    "os.getxattr": "read file attributes",
    "os.listxattr": "read file attributes",
    "os.setxattr": "change file attributes",
    "os.removexattr": "change file attributes",
    "resource.setrlimit": "change its own limits",
    "resource.prlimit": "change its own limits",
    "mmap.__new__": "map memory or files",
    "marshal.": "load compiled code",
    "pickle.find_class": "unpickle objects",
    "builtins.input": "wait for a person at a keyboard",
    "builtins.breakpoint": "start a debugger",
    "shutil.": "copy or remove files",
    "tempfile.": "make temporary files",
    "sqlite3.": "open a database",
    "fcntl.": "control file descriptors",
    "msvcrt.": "control the console",
    "winreg.": "read the registry",
}
# Attribute reads the guard refuses (the audit event object.__getattr__): frames.
REFUSED_ATTRIBUTES: tuple[str, ...] = ("tb_frame", "gi_frame", "cr_frame", "ag_frame")
# Modules whose import stays allowed at run time besides MODULES (codecs load lazily).
RUNTIME_IMPORT_PREFIXES: tuple[str, ...] = ("encodings.",)


def runtime_policy(preload: Iterable[str] | None = None) -> dict[str, Any]:
    """The part of the policy the worker's run-time guard needs, as plain JSON data.

    `preload`: the modules the submission imports (admission knows them all); the worker
    imports them before sealing itself. None: every allowed module."""
    allowed = set(MODULES) | set(GIVEN_ONLY_IMPORTS)
    chosen = allowed if preload is None else (set(preload) & allowed) | {"math", "sys"}
    return {
        "preload": sorted(chosen),
        "modules": {name: list(names) if names is not None else None
                    for name, names in MODULES.items()},
        "given_only": {name: list(names) for name, names in GIVEN_ONLY_IMPORTS.items()},
        "kit_modules": list(KIT_MODULES),
        "refused_events": dict(REFUSED_EVENTS),
        "refused_attributes": list(REFUSED_ATTRIBUTES),
        "import_prefixes": list(RUNTIME_IMPORT_PREFIXES),
        "forbidden_builtins": sorted(FORBIDDEN_BUILTINS),
        "withheld_builtins": dict(WITHHELD_BUILTINS),
        "hints": dict(WITHHELD_HINTS),
        "dunder_attributes": sorted(DUNDER_ATTRIBUTES),
        "introspection_attributes": sorted(INTROSPECTION_ATTRIBUTES),
    }


# ------------------------------------------------------------------------------------ the check
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


NOT_PYTHON = "the file is not valid Python"


MODULE_LIST = ", ".join(name for name in MODULES if name != "__future__")
WHY_IMPORT = (f"a submission may import only its own files and {MODULE_LIST} "
              f"(`python -m grader policy` lists what may be used)")
WHY_DUNDER = ("double-underscore attributes other than the operator methods (__add__, __init__, "
              "__class__, __name__, ...) reach into Python's internals")
WHY_INTROSPECTION = "frames, tracebacks and code objects reach the grader's own state"
WHY_PRIVATE = "the private parts of a module reach beyond it (random._os is the operating system)"
WHY_COMPUTED = ("an attribute name computed at run time cannot be checked: write the name out, "
                "as in getattr(x, \"data\")")
MAX_FILE_BYTES = 1_000_000


@dataclass
class _Scope:
    kind: str                       # module | function | class | comprehension
    parent: "_Scope | None"
    bound: set[str]
    declared_global: set[str]


def _target_names(target: ast.AST) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SCOPES = _FUNCTIONS + _COMPREHENSIONS + (ast.ClassDef,)


def _own_nodes(scope_node: ast.AST) -> Iterator[ast.AST]:
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
        if isinstance(node, _SCOPES) and not (first and node is scope_node):
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


def _bindings(scope_node: ast.AST) -> tuple[set[str], set[str]]:
    """Names bound in a scope, and names it declares global."""
    bound: set[str] = set()
    declared: set[str] = set()
    if isinstance(scope_node, _FUNCTIONS):
        a = scope_node.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]:
            if arg is not None:
                bound.add(arg.arg)
    for node in _own_nodes(scope_node):
        if node is scope_node and isinstance(scope_node, _COMPREHENSIONS):
            for generator in scope_node.generators:       # type: ignore[attr-defined]
                bound.update(_target_names(generator.target))
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node is not scope_node:
                bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    bound.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.Global):
            declared.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            bound.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    return bound, declared


class _Checker:
    """One file's walk: every node is checked once, with the scope it appears in."""

    def __init__(self, tree: ast.Module, filename: str,
                 own: Iterable[str] = KIT_MODULES) -> None:
        self.tree = tree
        self.file = filename
        self.own = frozenset(own)
        self.found: list[Violation] = []
        self.alias_values: set[int] = set()
        self.aliases = self._aliases()
        self.exempt = self._exempt_functions()
        self.calls_checked: set[int] = set()
        self.attribute_bases: set[int] = set()
        self.stream_arguments: set[int] = set()      # print(..., file=sys.stdout)
        self.annotations = {id(a) for a in _annotations(tree)}

    # -- what names stand for
    def _aliases(self) -> dict[str, str]:
        """name -> the module (or module attribute) it was bound to by an import, anywhere."""
        aliases: dict[str, str] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        # Plain re-bindings: m = random; out = sys.stdout.
        for _ in range(3):
            for node in ast.walk(self.tree):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                        isinstance(node.targets[0], ast.Name):
                    qualified = self._qualified(node.value, aliases)
                    if qualified is not None:
                        aliases.setdefault(node.targets[0].id, qualified)
                        self.alias_values.add(id(node.value))
        return aliases

    def _qualified(self, node: ast.AST, aliases: dict[str, str] | None = None) -> str | None:
        aliases = self.aliases if aliases is None else aliases
        if isinstance(node, ast.Name):
            return aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._qualified(node.value, aliases)
            return f"{base}.{node.attr}" if base is not None else None
        return None

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
        module_scope = _Scope("module", None, *_bindings(self.tree))
        self._walk_body(self.tree.body, module_scope, top=True)
        self.found.sort(key=lambda v: v.line)
        return self.found

    def _walk_body(self, body: Iterable[ast.stmt], scope: _Scope, top: bool = False) -> None:
        for statement in body:
            if top and _is_main_guard(statement):
                # Runs only when the file is run as a script, never when it is graded (a
                # submission may not rebind __name__): only its else branch is checked.
                for other in statement.orelse:                  # type: ignore[attr-defined]
                    self._visit(other, scope, set())
                continue
            if top and id(statement) in self.exempt:
                continue
            self._visit(statement, scope, set())

    def _visit(self, node: ast.AST, scope: _Scope, exempt_uses: set[int]) -> None:
        self._check(node, scope)
        if id(node) in self.annotations:
            # An annotation written as text is code too: some tools evaluate it.
            for text in ast.walk(node):
                if isinstance(text, ast.Constant) and isinstance(text.value, str):
                    for parsed in _parsed_annotation(text):
                        self._visit(parsed, scope, exempt_uses)
        if isinstance(node, _SCOPES):
            # The parts evaluated in the enclosing scope are visited here, the body in its own.
            for part in _outer_parts(node):
                self._visit(part, scope, exempt_uses)
            inner = _Scope(_kind(node), scope, *_bindings(node))
            for part in _inner_parts(node):
                self._visit(part, inner, exempt_uses)
            return
        for child in ast.iter_child_nodes(node):
            self._visit(child, scope, exempt_uses)

    def _resolves_to_builtin(self, name: str, scope: _Scope) -> bool:
        current: _Scope | None = scope
        if name in scope.declared_global:
            current = _module(scope)
        first = True
        while current is not None:
            # A class body's names are not visible from the functions inside it.
            if current.kind != "class" or first:
                if name in current.bound:
                    return False
            first = False
            current = current.parent
        return True

    def _check(self, node: ast.AST, scope: _Scope) -> None:
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
        elif isinstance(node, ast.MatchClass):
            for attr in node.kwd_attrs:
                self._check_attribute(node, attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
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

    def _check_name(self, node: ast.Name, scope: _Scope) -> None:
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
        value = node.value if isinstance(node, ast.Attribute) else None
        if attr in ("format", "format_map") and isinstance(value, ast.Name) and \
                value.id == "str":
            self.refuse(node, f"str.{attr}", "format fields read attributes: write the string "
                                             "out ('{0.data}'.format(x)) or use an f-string")
            return
        if attr.startswith("__") and attr.endswith("__") and attr not in DUNDER_ATTRIBUTES:
            self.refuse(node, f".{attr}", WHY_DUNDER)
            return
        if attr in INTROSPECTION_ATTRIBUTES:
            self.refuse(node, f".{attr}", WHY_INTROSPECTION)
            return
        base = self._qualified(value) if value is not None else None
        if base is None:
            return
        self._check_qualified(node, base, attr)

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
        parts = base.split(".")
        if parts[0] in self.own:
            # A module a kit file imported is checked as if imported here (engine.random._os).
            if len(parts) > 1 and parts[1] in MODULES:
                self._check_qualified(node, ".".join(parts[1:]), attr)
            elif len(parts) == 1 and _is_stdlib_module(attr) and attr not in MODULES:
                self.refuse(node, f"{base}.{attr}", WHY_IMPORT)
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
                _holds_module(base, attr):
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

    def _check_call(self, node: ast.Call, scope: _Scope) -> None:
        func = node.func
        wrapper = self._qualified(func)
        if wrapper in WRAPPER_CALLS:
            self.calls_checked.add(id(func))
            if len(node.args) > WRAPPER_CALLS[wrapper] or any(
                    k.arg in (None, "assigned", "updated") for k in node.keywords):
                self.refuse(node, f"{wrapper}() with the names it copies", WHY_COMPUTED)
            return
        if isinstance(func, ast.Attribute) and func.attr in ("format", "format_map") and \
                not (isinstance(func.value, ast.Constant) and isinstance(func.value.value, str)):
            # A format string made at run time could name any attribute ('{0.__globals__}').
            self.refuse(node, f".{func.attr}() of a format string that is not written out",
                        "format fields read attributes: write the string out ('{0.data}'.format(x)) "
                        "or use an f-string")
            return
        if isinstance(func, ast.Name) and func.id == "setattr" and \
                self._resolves_to_builtin("setattr", scope) and len(node.args) >= 2 and \
                isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
            # Setting an attribute reaches nothing new (methods set from a table are fine),
            # but a name written out follows the attribute rules.
            self._check_attribute(_At(node), node.args[1].value)
        if isinstance(func, ast.Name) and func.id == "print":
            for keyword in node.keywords:
                if keyword.arg == "file":
                    self.stream_arguments.add(id(keyword.value))
        target = None
        if isinstance(func, ast.Name) and func.id in COMPUTED_NAME_CALLS and \
                self._resolves_to_builtin(func.id, scope):
            target = func.id
        else:
            qualified = self._qualified(func)
            if qualified in COMPUTED_NAME_CALLS:
                target = qualified
        if target is not None:
            self.calls_checked.add(id(func))
            position = 0 if target.startswith("operator.") else 1
            names = node.args[position:position + 1] if target != "operator.attrgetter" \
                else node.args
            if not names or not all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                    for a in names):
                self.refuse(node, f"{target}() with a computed name", WHY_COMPUTED)
                return
            obj = self._qualified(node.args[0]) if target in ("getattr", "hasattr", "delattr") \
                and node.args else None
            for constant in names:
                for attr in str(constant.value).split("."):     # type: ignore[attr-defined]
                    self._check_attribute(_At(node), attr)
                    if obj is not None:
                        self._check_qualified(node, obj, attr)
            return
        if isinstance(func, ast.Attribute) and func.attr in ("format", "format_map") and \
                isinstance(func.value, ast.Constant) and isinstance(func.value.value, str):
            # Format fields read attributes ('{0.data}'): the same rules as written ones.
            for field in _format_fields(func.value.value):
                for part in field[1:]:
                    before = len(self.found)
                    self._check_attribute(_At(node), part)
                    if len(self.found) > before:
                        self.found[-1] = Violation(
                            self.file, node.lineno, f"the format field {{{'.'.join(field)}}}",
                            self.found[-1].why)
                        break


class _At(ast.AST):
    """Stands for a call whose argument names an attribute, when checking that name."""

    def __init__(self, call: ast.Call) -> None:
        super().__init__()
        self.lineno = call.lineno
        self.value = None


def _format_fields(text: str, depth: int = 0) -> list[list[str]]:
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
            fields += _format_fields(spec, depth + 1)
    return fields


def _annotations(tree: ast.AST) -> Iterator[ast.AST]:
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


def _parsed_annotation(text: ast.Constant) -> list[ast.AST]:
    try:
        parsed = ast.parse(str(text.value).strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    for node in ast.walk(parsed):
        if hasattr(node, "lineno"):
            node.lineno = text.lineno
    return [parsed.body]


# Every name of a standard-library module: a module reached as another module's attribute
# (contextlib.os, dataclasses.sys, enum.bltns) is refused even when this Python lacks it.
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"builtins", "bltns", "stdlib_re"}


def _is_stdlib_module(name: str) -> bool:
    return name in _STDLIB


_MODULE_ATTRIBUTES: dict[str, frozenset[str]] = {}


def _holds_module(base: str, attr: str) -> bool:
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
    return not present and _is_stdlib_module(attr)


def helper_module(name: str) -> bool:
    """Whether a .py file beside the kit's may be one of the submission's helper modules: a
    name an import can use, not private, and not a standard-library module's (a student's
    random.py would stand in for the real one)."""
    return name.isidentifier() and not name.startswith("_") and name not in KIT_MODULES and \
        not _is_stdlib_module(name) and name not in MODULES and name not in ("grader",)


def _is_main_guard(statement: ast.stmt) -> bool:
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
        tree = ast.parse(source)
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

    for statement in reversed(tree.body):
        if _is_main_guard(statement):
            test = statement.test                                 # type: ignore[attr-defined]
            if test.end_lineno is None or test.end_col_offset is None:
                continue
            start, end = at(test.lineno, test.col_offset), at(test.end_lineno,
                                                                test.end_col_offset)
            # In brackets, the line breaks the test spanned stay legal, and every line below
            # keeps its number.
            source = (source[:start] + "(False" + "\n" * (test.end_lineno - test.lineno) + ")"
                      + source[end:])
    return source


def _kind(node: ast.AST) -> str:
    if isinstance(node, ast.ClassDef):
        return "class"
    if isinstance(node, _COMPREHENSIONS):
        return "comprehension"
    return "function"


def _module(scope: _Scope) -> _Scope:
    while scope.parent is not None:
        scope = scope.parent
    return scope


def _outer_parts(node: ast.AST) -> list[ast.AST]:
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
    elif isinstance(node, _COMPREHENSIONS):
        parts.append(node.generators[0].iter)          # type: ignore[attr-defined]
    return parts


def _inner_parts(node: ast.AST) -> list[ast.AST]:
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


def check_source(source: str, filename: str,
                 own: Iterable[str] = KIT_MODULES) -> list[Violation]:
    """Every violation in one file's source, in line order; [] when it is admitted."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        lines = source.splitlines()
        line = lines[exc.lineno - 1] if exc.lineno and 0 < exc.lineno <= len(lines) else ""
        newer = syntax_version(str(exc.msg), line)
        return [Violation(filename, exc.lineno or 0, f"SyntaxError: {exc.msg}",
                          f"{NOT_PYTHON}: {newer}" if newer else NOT_PYTHON)]
    except (RecursionError, MemoryError, ValueError):
        return [Violation(filename, 0, "a file nested this deeply", "it cannot be parsed")]
    try:
        return _Checker(tree, filename, own).run()
    except RecursionError:
        return [Violation(filename, 0, "a file nested this deeply", "it cannot be checked")]


def check_file(path: Path, own: Iterable[str] = KIT_MODULES) -> list[Violation]:
    """Admission of one submitted file (read as UTF-8; a size cap comes first)."""
    try:
        size = path.lstat().st_size
        if size > MAX_FILE_BYTES:
            return [Violation(path.name, 0, f"a file of {size // 1000} KB",
                              f"a submitted file may be at most {MAX_FILE_BYTES // 1000} KB")]
        source = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Violation(path.name, 0, "a file that cannot be read as UTF-8 text", str(exc))]
    return check_source(source, path.name, own)


def admit(folder: Path, modules: Iterable[str] = KIT_MODULES) -> dict[str, list[Violation]]:
    """module name -> its violations, for each of the submission's files that exists (the kit's
    files and its helper modules, which may import each other)."""
    modules = tuple(modules)
    verdicts: dict[str, list[Violation]] = {}
    for name in modules:
        path = Path(folder) / f"{name}.py"
        if path.is_file() and not path.is_symlink():
            verdicts[name] = check_file(path, modules)
    return verdicts


def imported_modules(folder: Path, modules: Iterable[str] = KIT_MODULES) -> set[str]:
    """The allowed modules (and their parents) that the submission's files import."""
    found = _imports(folder, modules)
    with_parents = set(found)
    for name in found:
        parts = name.split(".")
        with_parents.update(".".join(parts[:k]) for k in range(1, len(parts)))
    return {name for name in with_parents if name in MODULES or name in GIVEN_ONLY_IMPORTS}


def withheld_modules(folder: Path, modules: Iterable[str] = KIT_MODULES) -> list[str]:
    """The modules the submission imports that grading replaces with stand-ins (numpy, say),
    by their top-level name."""
    own = set(modules)
    names = _imports(folder, own, absolute_only=True)
    tops = {name.split(".")[0] for name in names if name.split(".")[-1] not in own}
    return sorted(top for top in tops if top and top not in MODULES and top not in own and
                  top not in GIVEN_ONLY_IMPORTS)


def _imports(folder: Path, modules: Iterable[str], absolute_only: bool = False) -> set[str]:
    """Every module name the submission's files import (and module.name of from-imports)."""
    found: set[str] = set()
    for name in modules:
        path = Path(folder) / f"{name}.py"
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_FILE_BYTES:
            continue
        try:
            tree = ast.parse(path.read_bytes().decode("utf-8"))
        except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                if not absolute_only:
                    found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def markdown() -> str:
    """The policy as the README prints it (a test keeps the two the same)."""
    lines = ["| a submission may | |", "| --- | --- |"]
    modules = [f"`{name}`" for name, names in MODULES.items() if names is None
               and name != "__future__"]
    lines.append(f"| import | its own files ({', '.join(f'`{m}`' for m in KIT_MODULES)}, and "
                 f"helper modules of its own beside them), "
                 f"{', '.join(modules)}, `__future__`; from `sys` only "
                 f"{', '.join(f'`{n}`' for n in MODULES['sys'] or ())} |")
    lines.append("| import anything else (`numpy`, `matplotlib`, `os`, ...) | yes: grading binds "
                 "it to a stand-in. Importing it costs nothing; code that uses it while it is "
                 "graded fails the checks that reach that code, with the reason |")
    lines.append(f"| {', '.join(f'`{b}`' for b in WITHHELD_BUILTINS)} | stand-ins too, for the "
                 f"same reason |")
    no_star = sorted({name.split(".")[0] for name in
                      (*REFUSED_NAMES, *COMPUTED_NAME_CALLS, *WRAPPER_CALLS) if "." in name})
    lines.append("| use of those modules | their public names, by name (`math.exp`): nothing "
                 "that starts with `_` (`random._os` is the operating system), no module "
                 "reached through another (`contextlib.os`), no module passed around as a "
                 "value, no `from M import *` of a module with names checked at each use ("
                 + ", ".join(f"`{m}`" for m in no_star) + ") |")
    lines.append(f"| double-underscore attributes | the operator methods (`__add__`, "
                 f"`__mul__`, `__eq__`, ...) and "
                 f"{', '.join(f'`{n}`' for n in sorted(PLAIN_DUNDERS))} |")
    lines.append(f"| {', '.join(f'`{c}`' for c in COMPUTED_NAME_CALLS)} | only with the "
                 f"attribute's name written out as a string |")
    lines.append(f"| {', '.join(f'`{c}`' for c in WRAPPER_CALLS)} | only with the wrapped "
                 f"function: the names they copy left as they are |")
    lines.append("| `.format()` | only of a string written out (`'{0.data}'.format(x)`), or an "
                 "f-string |")
    lines.append("")
    lines.append("| never | why |")
    lines.append("| --- | --- |")
    seen: dict[str, list[str]] = {}
    for name, why in FORBIDDEN_BUILTINS.items():
        seen.setdefault(why, []).append(f"`{name}`")
    for name, why in REFUSED_NAMES.items():
        seen.setdefault(why, []).append(f"`{name}`")
    for why, names in seen.items():
        lines.append(f"| {', '.join(names)} | {why} |")
    lines.append(f"| frames, tracebacks, code objects, closure cells "
                 f"(`gi_frame`, `tb_frame`, `f_back`, `f_globals`, `cell_contents`, ...), "
                 f"`__subclasses__`, `__globals__`, `__dict__`, `__self__`, `__mro__` | "
                 f"{WHY_INTROSPECTION} |")
    lines.append("")
    lines.append("Annotations written as text (`x: \"Value\"`) are checked like code. Code "
                 "under `if __name__ == \"__main__\":` is not checked: it never runs while a "
                 "submission is graded (the grader turns its test into `False` before the file "
                 "runs, whatever the code binds `__name__` to).")
    return "\n".join(lines)


def guard_markdown() -> str:
    """What the run-time guard refuses, grouped by what the code tried (for the README)."""
    by_reason: dict[str, list[str]] = {}
    for event, reason in REFUSED_EVENTS.items():
        by_reason.setdefault(reason, []).append(f"`{event}{'*' if event.endswith('.') else ''}`")
    lines = ["| the code tried to | audit events refused |", "| --- | --- |"]
    lines.append("| import a module that is not allowed | `import` |")
    lines.append("| open a file other than reading its own | `open` |")
    lines.append(f"| read frames | `object.__getattr__` of "
                 f"{', '.join(f'`{a}`' for a in REFUSED_ATTRIBUTES)} |")
    for reason, events in by_reason.items():
        lines.append(f"| {reason} | {', '.join(events)} |")
    return "\n".join(lines)


def describe(violations: list[Violation], limit: int = 3) -> str:
    """The first few violations as lines of text, for a message to the student."""
    lines = [v.text() for v in violations[:limit]]
    if len(violations) > limit:
        lines.append(f"... and {len(violations) - limit} more")
    return "\n".join(lines)
