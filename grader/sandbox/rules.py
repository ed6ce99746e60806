"""What submitted code may use, kept as data in one place: the allowlists, what admission refuses,
what grading withholds, what the run-time guard refuses, and the documents printed from them.

Admission (grader/sandbox/admission.py) applies these rules to the source before anything runs;
the worker's guard is handed `runtime_policy()`. Nothing here reads a submission.
"""

from __future__ import annotations

from typing import Iterable

from ..intake.untrusted import MAX_FSTRING_FIELDS, MAX_LINES
from .tasks import Policy

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
    __class__ __name__ __qualname__ __doc__ __module__ __slots__
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

# Classes of classes: called with a name, bases and a namespace, each builds a class whose
# attributes (a __match_args__, an __instancecheck__) were never written out for admission to
# see; subclassed, they make another such builder.
METACLASSES: tuple[str, ...] = ("type", "abc.ABCMeta", "enum.EnumMeta", "enum.EnumType")
WHY_METACLASS = ("it builds a class from a namespace made at run time, which admission cannot "
                 "check: write the class out with a class statement")

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


def runtime_policy(preload: Iterable[str] | None = None) -> Policy:
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



# ------------------------------------------------------------------------------------ reasons
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
# All of a submission's modules together (a kit's four files are about 30 KB): admission's
# work on them stays within seconds whatever they hold.
MAX_TOTAL_BYTES = 1_000_000


def markdown() -> str:
    """The policy as the docs print it (a test keeps the two the same)."""
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
    lines.append("| `setattr` | any attribute a method may set; a double-underscore name only if "
                 "it is one of those above |")
    lines.append("| `match` class patterns | with the attributes named (`case Value(data=d)`); "
                 "positional patterns only of the built-in types that match themselves "
                 "(`case int(n)`) |")
    lines.append("| `type(x)` | with one argument, to ask an object's type |")
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
    lines.append(f"| {', '.join(f'`{m}`' for m in METACLASSES)} called with a name, bases "
                 f"and a namespace, their `__new__`/`__call__`, a class derived from them | "
                 f"{WHY_METACLASS} |")
    lines.append(f"| a file over {MAX_LINES:,} lines or with over {MAX_FSTRING_FIELDS:,} f-string "
                 f"fields (and, past {MAX_TOTAL_BYTES // 1_000_000} MB of Python in all, the files beyond) | it would "
                 f"make checking slow: a real engine is a few hundred lines |")
    lines.append("")
    lines.append("Annotations written as text (`x: \"Value\"`) are checked like code. Code "
                 "under `if __name__ == \"__main__\":` is not checked: it never runs while a "
                 "submission is graded (the grader turns its test into `False` before the file "
                 "runs, whatever the code binds `__name__` to).")
    return "\n".join(lines)


def guard_markdown() -> str:
    """What the run-time guard refuses, grouped by what the code tried (for the docs)."""
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

