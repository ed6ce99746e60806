"""How the worker seals itself, in order, before any student code runs: its user and limits, its
answer channel, the modules the submission imports, Landlock, the seccomp filter, and the audit
hook (PEP 578) that refuses what the rules list. Each step holds on its own; the worker tells the
grader which of them ran.
"""

from __future__ import annotations

import builtins as _builtins
import gc
import os
import sys
from typing import Any, Callable

from tasks import Policy, Settings

try:
    import resource
except ImportError:           # Windows: no rlimits; the docs say so
    resource = None           # type: ignore[assignment]

# This module's own builtins: student code that rebinds a builtin changes nothing here.
__builtins__ = dict(vars(_builtins))                          # type: ignore[assignment]

collect = gc.collect          # captured: take_apart() empties the gc module
FILE_BYTES = 16 << 20          # the largest file any write may make (tmpfs, /dev/shm, memfd)
LANDLOCK_SYSCALLS = (444, 445, 446)     # create_ruleset, add_rule, restrict_self (every arch)
# Landlock's file access rights by the ABI that introduced them (bits of handled_access_fs).
LANDLOCK_FS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
READ_AND_RUN = (1 << 0) | (1 << 2) | (1 << 3)      # EXECUTE, READ_FILE, READ_DIR


def drop_privileges(settings: Settings) -> None:
    """As root under bubblewrap the worker starts as root: it becomes the sandbox's user."""
    uid, gid = settings.get("uid"), settings.get("gid")
    if uid is not None and gid is not None and hasattr(os, "setuid"):
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)


def limit_resources(settings: Settings) -> None:
    """Address space (memory); and with the syscall boundary, the size of any file it writes
    (so neither a tmpfs nor a memfd grows past it), no core files, and, not root, not one new
    process."""
    if resource is None:
        return
    limits: list[tuple[str, int]] = []
    memory = int(settings.get("memory_mb") or 0) * 1024 * 1024
    if memory:
        limits.append(("RLIMIT_AS", memory))
    if settings.get("syscalls"):
        limits += [("RLIMIT_FSIZE", FILE_BYTES), ("RLIMIT_CORE", 0)]
        if hasattr(os, "getuid") and os.getuid() != 0:
            limits.append(("RLIMIT_NPROC", 0))
    for name, value in limits:
        limit = getattr(resource, name, None)
        if limit is None:
            continue
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            if name == "RLIMIT_AS":       # some kernels want the data segment instead
                try:
                    resource.setrlimit(resource.RLIMIT_DATA, (value, value))
                except (ValueError, OSError, AttributeError):
                    pass


def answer_channel() -> int:
    """A private descriptor for answers; 1 and 2 both go to the output pipe, stdin is read
    for requests only through the descriptor the caller keeps."""
    answers = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return answers


def preload(modules: list[str], kit: tuple[str, ...]) -> None:
    """Everything the submission imports, loaded now: once sealed, no import is needed."""
    for name in modules:
        if name not in kit and name != "__future__":
            try:
                __import__(name)
            except ImportError:
                pass


def _libc() -> Any:
    import ctypes  # only while sealing: then taken out of reach
    return ctypes, ctypes.CDLL(None, use_errno=True)


def landlock(folders: list[str]) -> str:
    """Confine file access to reading (and running) what is in `folders`, nothing else and no
    writing anywhere; "abi N" when it ran, else why not."""
    if not sys.platform.startswith("linux"):
        return "off: not Linux"
    ctypes, libc = _libc()
    abi = libc.syscall(LANDLOCK_SYSCALLS[0], None, 0, 1)      # LANDLOCK_CREATE_RULESET_VERSION
    if abi < 1:
        return "off: this kernel has no Landlock"
    handled = LANDLOCK_FS[max(k for k in LANDLOCK_FS if k <= abi)]
    words = [handled] + ([3] if abi >= 4 else []) + ([3] if abi >= 6 else [])  # net, scopes
    attr = (ctypes.c_uint64 * len(words))(*words)
    ruleset = libc.syscall(LANDLOCK_SYSCALLS[0], ctypes.byref(attr), ctypes.sizeof(attr), 0)
    if ruleset < 0:
        return "off: the ruleset was refused"
    try:
        for folder in dict.fromkeys(folders):
            try:
                fd = os.open(folder, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            rule = ctypes.create_string_buffer(12)                 # packed: u64 access, s32 fd
            ctypes.memmove(rule, ctypes.byref(ctypes.c_uint64(READ_AND_RUN & handled)), 8)
            ctypes.memmove(ctypes.addressof(rule) + 8, ctypes.byref(ctypes.c_int32(fd)), 4)
            libc.syscall(LANDLOCK_SYSCALLS[1], ruleset, 1, rule, 0)   # RULE_PATH_BENEATH
            os.close(fd)
        if libc.prctl(38, 1, 0, 0, 0) != 0:                        # PR_SET_NO_NEW_PRIVS
            return "off: no_new_privs was refused"
        if libc.syscall(LANDLOCK_SYSCALLS[2], ruleset, 0) != 0:
            return "off: restrict_self was refused"
    finally:
        os.close(ruleset)
    return f"abi {abi}"


def seccomp(program: bytes | None) -> str:
    """Install the grader's seccomp filter (struct sock_filter instructions): "on", or why
    not."""
    if not program:
        return "off: no filter was given"
    if not sys.platform.startswith("linux"):
        return "off: not Linux"
    ctypes, libc = _libc()
    buffer = ctypes.create_string_buffer(program, len(program))
    fields = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    prog_type = type("sock_fprog", (ctypes.Structure,), {"_fields_": fields})
    prog = prog_type(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(38, 1, 0, 0, 0) != 0:                             # PR_SET_NO_NEW_PRIVS
        return "off: no_new_privs was refused"
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:            # SECCOMP_MODE_FILTER
        return f"off: the kernel refused the filter (errno {ctypes.get_errno()})"
    return "on"


def take_apart() -> None:
    """What could reach a frame, or build a module anew (the one that installs signal
    handlers, say), is taken apart: the worker captured what it needs of it, and a submission
    reaching the real modules (through a builtin's __self__) finds nothing."""
    for name, parts in (("gc", None), ("_imp", ("create_builtin", "exec_builtin",
                                                 "create_dynamic", "exec_dynamic",
                                                 "init_frozen", "get_frozen_object",
                                                 "find_frozen"))):
        taken = sys.modules.get(name)
        if taken is not None:
            for key in list(vars(taken)):
                if (parts is None and not key.startswith("__")) or \
                        (parts is not None and key in parts):
                    del vars(taken)[key]
    for name in ("signal", "_signal", "faulthandler", "marshal", "ctypes", "_ctypes",
                 "tracemalloc", "_tracemalloc"):
        sys.modules.pop(name, None)


def make_hook(policy: Policy, inside: str, refusals: list[str],
              refused_types: dict[str, type], permitted: set[int]) -> Callable[..., None]:
    """The audit hook (layer 2): refuses imports, files outside the submission, processes,
    signals, sockets, ctypes, frame and garbage-collector walks and tracing hooks."""
    events: dict[str, str] = policy["refused_events"]
    exact = {k: v for k, v in events.items() if not k.endswith(".")}
    prefixes = tuple(k for k in events if k.endswith("."))
    attributes = frozenset(policy["refused_attributes"])
    imports = set(policy["modules"]) | set(policy["given_only"])
    import_prefixes = tuple(policy["import_prefixes"])
    inside = inside.rstrip("/") + "/"
    key = object.__hash__
    decisions: dict[str, Callable[[str, tuple[Any, ...]], None] | None] = {}

    def refuse(kind: str, text: str) -> None:
        refusals.append(text)
        raise refused_types[kind](text)

    def on_open(event: str, args: tuple[Any, ...]) -> None:
        path, mode = args[0], args[1]
        flags = args[2] if len(args) > 2 else None
        if type(path) is str and "\x00" not in path and "/../" not in path and \
                "/./" not in path and path.startswith(inside) and (
                    mode in ("r", "rb", "rt") if mode is not None else
                    type(flags) is int and flags & 3 == 0 and not flags & (0o100 | 0o1000)):
            return
        what = path if type(path) in (str, int) else type(path).__name__
        writing = mode not in (None, "r", "rb", "rt")
        refuse("Open", f"tried to open {repr(what)[:200]} for "
                       f"{'writing' if writing else 'reading'}: a submission may read only its "
                       f"own files")

    def on_import(event: str, args: tuple[Any, ...]) -> None:
        name = args[0]
        if type(name) is str and name not in imports and not name.startswith(import_prefixes) \
                and name.split(".")[0] not in imports:
            refuse("Import", f"tried to import {name[:100]}")

    def on_getattr(event: str, args: tuple[Any, ...]) -> None:
        if args[1] in attributes and key(args[0]) not in permitted:
            refuse("Attribute", f"tried to read .{args[1]} (frames reach the grader's own state)")

    def on_setattr(event: str, args: tuple[Any, ...]) -> None:
        if args[1] == "__code__":
            refuse("Action", "tried to replace a function's code")

    def on_refused(event: str, args: tuple[Any, ...]) -> None:
        why = exact.get(event) or events[next(p for p in prefixes if event.startswith(p))]
        refuse("Frame" if event == "sys._getframe" else "Action", f"tried to {why} ({event})")

    handlers = {"open": on_open, "import": on_import, "object.__getattr__": on_getattr,
                "object.__setattr__": on_setattr}

    def hook(event: str, args: tuple[Any, ...]) -> None:
        # Decided once per event name: the hook sees every event, and most are allowed.
        if event not in decisions:
            decisions[event] = handlers.get(event) or (
                on_refused if event in exact or event.startswith(prefixes) else None)
        handler = decisions[event]
        if handler is not None:
            handler(event, args)
    return hook


def install_hook(hook: Callable[..., None]) -> None:
    """Permanent: no code can remove an audit hook."""
    collect()
    sys.addaudithook(hook)
