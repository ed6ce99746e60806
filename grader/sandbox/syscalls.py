"""The syscall boundary: what the kernel refuses the worker once it has sealed itself, as data, and
the seccomp filter built from it with libseccomp (the library every Linux sandbox's filter comes
from: Docker's, Flatpak's, systemd's).

The filter allows everything but the table below, so it holds whatever Python code runs: no new
process or thread, no signal to anyone, no socket, no device, FIFO or memfd, no mount or
namespace, no file opened for writing, made, removed or renamed. The worker installs it on
itself (grader/sandbox/worker/seal.py) after dropping its privileges and before any student code
runs, in both isolation modes; the grader builds it once per process. No libseccomp (not Linux, a
minimal container): no filter, and the JSON says so.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import sys
import tempfile
from typing import Any

# Refused whatever their arguments: (syscalls, what the code would do with them).
REFUSED: tuple[tuple[tuple[str, ...], str], ...] = (
    (("execve", "execveat", "fork", "vfork", "clone", "clone3"), "start a program, a process "
                                                                 "or a thread"),
    (("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open",
      "pidfd_send_signal", "pidfd_getfd"), "signal or reach another process"),
    (("ptrace", "process_vm_readv", "process_vm_writev", "kcmp"), "read another process"),
    (("socket", "socketpair"), "use the network or a socket"),
    (("mknod", "mknodat", "memfd_create", "memfd_secret", "shmget", "shmat", "userfaultfd"),
     "make a device, a FIFO or memory outside its limits"),
    (("mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "fsopen", "fsmount",
      "move_mount", "open_tree"), "change what it sees of the file system"),
    (("creat", "openat2", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename",
      "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod",
      "fchmodat", "chown", "fchown", "lchown", "fchownat", "truncate", "ftruncate",
      "fallocate", "utime", "utimes", "utimensat", "futimesat", "setxattr", "lsetxattr",
      "fsetxattr", "removexattr", "lremovexattr", "fremovexattr"), "change a file"),
    (("setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
      "setfsuid", "setfsgid", "capset"), "change who it runs as"),
    (("bpf", "perf_event_open", "keyctl", "add_key", "request_key", "io_uring_setup",
      "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
      "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "iopl", "ioperm",
      "personality", "name_to_handle_at", "open_by_handle_at", "fanotify_init"),
     "reach the kernel's administration"),
)
# open and openat are refused only with these flags: reading a file stays possible.
WRITE_FLAGS: dict[str, int] = {"O_WRONLY": os.O_WRONLY, "O_RDWR": os.O_RDWR,
                               "O_CREAT": os.O_CREAT, "O_TRUNC": os.O_TRUNC,
                               "O_APPEND": os.O_APPEND, "O_TMPFILE": 0o20000000}
OPEN_FLAGS_ARGUMENT: dict[str, int] = {"open": 1, "openat": 2}

_ALLOW = 0x7FFF0000                      # SCMP_ACT_ALLOW
_ERRNO = 0x00050000                      # SCMP_ACT_ERRNO(e) = _ERRNO | e
_MASKED_EQ = 7                           # SCMP_CMP_MASKED_EQ
_CACHE: dict[str, tuple[bytes | None, str]] = {}


def _library() -> Any:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    lib = ctypes.CDLL(name, use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def _comparison(arg: int, mask: int) -> Any:
    """A struct scmp_arg_cmp: argument `arg` & mask == mask."""
    fields = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
              ("datum_b", ctypes.c_uint64)]
    compare: Any = type("scmp_arg_cmp", (ctypes.Structure,), {"_fields_": fields})
    return (compare * 1)(compare(arg, _MASKED_EQ, mask, mask))


def _build() -> tuple[bytes | None, str]:
    if not sys.platform.startswith("linux"):
        return None, "not Linux"
    try:
        lib = _library()
    except OSError:
        return None, "libseccomp is not installed"
    ctx = lib.seccomp_init(_ALLOW)
    if not ctx:
        return None, "libseccomp could not start a filter"
    refuse = _ERRNO | errno.EPERM
    try:
        for names, _ in REFUSED:
            for name in names:
                number = lib.seccomp_syscall_resolve_name(name.encode())
                if number >= 0:            # a syscall this architecture does not have: none
                    lib.seccomp_rule_add_array(ctx, refuse, number, 0, None)
        for name, arg in OPEN_FLAGS_ARGUMENT.items():
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:
                continue
            for flag in WRITE_FLAGS.values():
                if lib.seccomp_rule_add_array(ctx, refuse, number, 1,
                                              _comparison(arg, flag)) != 0:
                    return None, f"libseccomp refused the rule for {name}"
        with tempfile.TemporaryFile() as exported:
            if lib.seccomp_export_bpf(ctx, exported.fileno()) != 0:
                return None, "libseccomp could not export the filter"
            exported.seek(0)
            program = exported.read()
    finally:
        lib.seccomp_release(ctx)
    if not program or len(program) % 8:
        return None, "libseccomp exported no filter"
    return program, ""


def filter_program() -> tuple[bytes | None, str]:
    """The BPF program (struct sock_filter instructions) the worker installs, or None and why
    there is none here. Built once per process."""
    if "bpf" not in _CACHE:
        _CACHE["bpf"] = _build()
    return _CACHE["bpf"]


def markdown() -> str:
    """The table as the docs print it (a test keeps the two the same)."""
    lines = ["| the code tried to | syscalls refused (EPERM) |", "| --- | --- |"]
    for names, why in REFUSED:
        lines.append(f"| {why} | {', '.join(f'`{n}`' for n in names)} |")
    flags = " or ".join(f"`{f}`" for f in WRITE_FLAGS)
    lines.append(f"| open a file for writing | `open`, `openat` with {flags} |")
    return "\n".join(lines)
