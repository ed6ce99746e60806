"""The operating-system boundary, in one place: the bubblewrap argument list (everything the worker
can see is listed there; nothing else exists for it), the user the worker runs as, the Python it
runs with, and what this machine allows (bubblewrap, setarch). The seccomp table is in
syscalls.py, Landlock in the worker's seal.py.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SANDBOX_ROOT = "/sandbox"            # where the worker's files appear under bubblewrap
TMPFS_BYTES = 16 << 20               # the private /tmp and /dev/shm under bubblewrap
WORKER_ENTRY = "worker/main.py"      # the worker, inside its folder


# ------------------------------------------------------------------------ what this machine has
def user_ids(name: str) -> tuple[int, int] | None:
    try:
        import pwd
    except ImportError:          # Windows
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def is_root() -> bool:
    return os.name == "posix" and os.geteuid() == 0


def choose_user(setting: str | None) -> str | None:
    """The unprivileged user for the worker: only when the grader runs as root (hosted graders).

    `setting` is "auto" (micrograd-student if it exists, else nobody), a user name, or None/"none".
    """
    if setting in (None, "", "none") or not is_root():
        return None
    if setting != "auto":
        if user_ids(setting) is None:
            raise ValueError(f"there is no user named {setting!r} to run the student's code as")
        return setting
    for name in ("micrograd-student", "nobody"):
        if user_ids(name):
            return name
    return None


_CACHE: dict[str, Any] = {}


def python_home() -> list[str]:
    """The folders of the Python installation the worker needs (read-only under bubblewrap)."""
    real = os.path.realpath(sys.executable)
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix)}
    if not any(real.startswith(r + os.sep) for r in roots):
        roots.add(os.path.dirname(real))
    return sorted(r for r in roots if r not in ("/", "/usr"))


def system_binds() -> list[str]:
    """Read-only binds of the system libraries the interpreter loads."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("lib", "lib64", "lib32", "bin"):
        path = f"/{name}"
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for name in ("/etc/ld.so.cache", "/etc/localtime"):
        if os.path.exists(name):
            args += ["--ro-bind", name, name]
    return args


def bwrap_command(*, python: str, worker_dir: str, home_size: int = TMPFS_BYTES,
                  as_root: bool) -> list[str]:
    """The whole operating-system boundary, in one place.

    Everything the worker can see is listed here; nothing else exists for it."""
    command = [
        "bwrap",
        # Its own IPC, PID, network, UTS and cgroup namespaces, and a user namespace when the
        # grader is an ordinary user. As root the worker instead drops to the sandbox user
        # itself, first thing: the only two capabilities it keeps are those that let it do so.
        "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
        "--unshare-cgroup-try",
        *(["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] if as_root
          else ["--unshare-user"]),
        "--die-with-parent",          # killed with the grading process, whatever happens
        "--new-session",              # no controlling terminal to inject keystrokes into
        "--as-pid-1",                 # the worker is PID 1: when it ends, the namespace ends
        *system_binds(),
    ]
    for root in python_home():
        # Folders above it (such as /root for a pyenv) open to the worker's user, and only
        # the installation itself bound inside them.
        parts = Path(root).parts
        for k in range(2, len(parts)):
            command += ["--perms", "0755", "--dir", str(Path(*parts[:k]))]
        command += ["--ro-bind", root, root]
    command += [
        "--proc", "/proc",
        "--dev", "/dev",
        "--size", str(home_size), "--tmpfs", "/tmp",
        "--size", str(home_size), "--tmpfs", "/dev/shm",
        "--ro-bind", worker_dir, SANDBOX_ROOT,
        "--chdir", "/tmp",
        "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "HOME", "/tmp",
        "--setenv", "LANG", "C.UTF-8",
        "--setenv", "PYTHONHASHSEED", "0",
        "--setenv", "PYTHONIOENCODING", "utf-8",
        "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
    ]
    if not as_root:
        command += ["--disable-userns"] if bwrap_supports("--disable-userns") else []
    command += ["--", python, "-S", "-s", "-B", f"{SANDBOX_ROOT}/{WORKER_ENTRY}"]
    return command


def bwrap_supports(flag: str) -> bool:
    key = f"bwrap-help{flag}"
    if key not in _CACHE:
        try:
            text = subprocess.run(["bwrap", "--help"], capture_output=True, text=True,
                                  timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            text = ""
        _CACHE[key] = flag in text
    return bool(_CACHE[key])


def bwrap_works() -> bool:
    """Whether bubblewrap can build the worker's boundary here (cached for the process)."""
    if "bwrap" not in _CACHE:
        ok = False
        if sys.platform == "linux" and shutil.which("bwrap"):
            with tempfile.TemporaryDirectory(prefix="micrograd-kit-probe-") as folder:
                os.chmod(folder, 0o755)
                Path(folder, "worker").mkdir()
                Path(folder, WORKER_ENTRY).write_text("import sys; sys.exit(0)\n")
                command = bwrap_command(python=os.path.realpath(sys.executable),
                                        worker_dir=folder, as_root=is_root())
                try:
                    ok = subprocess.run(command, capture_output=True, timeout=20,
                                        stdin=subprocess.DEVNULL).returncode == 0
                except (OSError, subprocess.SubprocessError):
                    ok = False
        _CACHE["bwrap"] = ok
    return bool(_CACHE["bwrap"])


def aslr_prefix() -> list[str]:
    """A command prefix that turns address randomization off (`setarch -R`), where allowed.

    With it, a bug whose result depends on memory addresses (sorting nodes by id()) gives the
    same result on every run."""
    if "setarch" not in _CACHE:
        prefix: list[str] = []
        tool = shutil.which("setarch") if sys.platform == "linux" else None
        if tool:
            candidate = [tool, platform.machine(), "-R"]
            try:
                if subprocess.run(candidate + ["true"], capture_output=True,
                                  timeout=10).returncode == 0:
                    prefix = candidate
            except (OSError, subprocess.SubprocessError):
                pass
        _CACHE["setarch"] = prefix
    return list(_CACHE["setarch"])


# Private user ids (as root, without bubblewrap): one per sandbox, from a range no account uses,
# so that two workers never share a user: neither can signal the other or read its files.
PRIVATE_IDS = range(2_100_000_000, 2_140_000_000)
_PRIVATE_COUNTER: list[int] = [0]


def private_ids() -> tuple[int, int]:
    _PRIVATE_COUNTER[0] += 1
    span = len(PRIVATE_IDS)
    uid = PRIVATE_IDS.start + (os.getpid() * 4096 + _PRIVATE_COUNTER[0]) % span
    return uid, uid


def interpreter_for(user: str | None, ids: tuple[int, int] | None = None) -> str | None:
    """A Python the worker's user can run: ours, or a system one (the worker needs only the stdlib).
    `ids`: a private user id (no account) instead of a named user."""
    if user is None and ids is None:
        return sys.executable
    key = f"python:{user}" if ids is None else "python:private"
    if key in _CACHE:
        return _CACHE[key]                                  # type: ignore[no-any-return]
    ids = ids if ids is not None else user_ids(user or "")
    candidates = [sys.executable, getattr(sys, "_base_executable", ""),
                  "/usr/bin/python3", "/usr/local/bin/python3"]
    found = None
    for exe in dict.fromkeys(c for c in candidates if c):
        try:
            probe = subprocess.run([exe, "-S", "-c", "import sys; print(sys.version_info >= (3, 8))"],
                                   user=ids[0] if ids else None, group=ids[1] if ids else None,
                                   extra_groups=[] if ids else None, cwd="/",
                                   capture_output=True, timeout=20, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0 and probe.stdout.strip() == b"True":
            found = exe
            break
    _CACHE[key] = found
    return found


def hide_from_others(folder: Path) -> None:
    """Take away other users' access to `folder` (the hidden checks), as root, before a worker runs."""
    try:
        mode = folder.stat().st_mode
        if mode & 0o007:
            os.chmod(folder, mode & ~0o007)
    except OSError:
        pass

