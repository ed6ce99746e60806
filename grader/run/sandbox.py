"""The sandbox: a worker process for student code, sealed by every protection this machine allows.

Four layers, each holding on its own (the README's "Grading untrusted code" says what each mode
guarantees):
1. admission (grader/run/policy.py) refuses a file before it runs;
2. the worker's run-time guard (an audit hook and restricted builtins, grader/run/worker.py);
3. an operating-system boundary: on Linux, whenever bubblewrap runs, the worker gets its own
   user, mount, PID, IPC and network namespaces and sees only the Python installation
   (read-only), its own copy of the submission and a small private /tmp and /dev/shm;
4. clean-up by an identity that belongs to this worker only: its PID namespace under
   bubblewrap, else its process tree (the grading process becomes a child subreaper, so a
   double fork or a new session cannot leave it), else its process group.

Nothing here blocks on a pipe on POSIX: the worker's two output pipes are read with a selector in
the calling thread and requests are written without blocking, against the check's deadline, so no
reader outlives its worker and no worker (or process it left holding its stdin) stalls the grader.
"""

from __future__ import annotations

import os
import platform
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import policy, protocol
from ..limits import Limits, Protections
from ..untrusted import clean, clean_all

WORKER = Path(__file__).with_name("worker.py")
# What the worker needs beside it: the operation table and the stand-in engine (standard
# library only, like the worker).
WORKER_FILES = (WORKER, Path(__file__).parent.parent / "ops.py",
                Path(__file__).with_name("standin.py"))
MAX_SOURCE_BYTES = 5_000_000
MAX_HELPERS = 20                     # helper modules copied beside the kit's files
SANDBOX_ROOT = "/sandbox"            # where the worker's files appear under bubblewrap
TMPFS_BYTES = 16 << 20               # the private /tmp and /dev/shm under bubblewrap
START_TIMEOUT = 20.0                 # seconds for a worker to seal itself and say it is ready


@dataclass
class Outcome:
    """What one probe brought back: a result (plain data) or an error dict, and what was printed."""

    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    output: str = ""
    seconds: float = 0.0
    refused: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


# ------------------------------------------------------------------------ what this machine has
def _user_ids(name: str) -> tuple[int, int] | None:
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
        if _user_ids(setting) is None:
            raise ValueError(f"there is no user named {setting!r} to run the student's code as")
        return setting
    for name in ("micrograd-student", "nobody"):
        if _user_ids(name):
            return name
    return None


_CACHE: dict[str, Any] = {}


def _python_home() -> list[str]:
    """The folders of the Python installation the worker needs (read-only under bubblewrap)."""
    real = os.path.realpath(sys.executable)
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix)}
    if not any(real.startswith(r + os.sep) for r in roots):
        roots.add(os.path.dirname(real))
    return sorted(r for r in roots if r not in ("/", "/usr"))


def _system_binds() -> list[str]:
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
        *_system_binds(),
    ]
    for root in _python_home():
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
        command += ["--disable-userns"] if _bwrap_supports("--disable-userns") else []
    command += ["--", python, "-S", "-s", "-B", f"{SANDBOX_ROOT}/worker.py"]
    return command


def _bwrap_supports(flag: str) -> bool:
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
                Path(folder, "worker.py").write_text("import sys; sys.exit(0)\n")
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
    ids = ids if ids is not None else _user_ids(user or "")
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


def _sweep_stale_roots() -> None:
    """Remove the worker folders of grading processes that died without cleaning up (killed,
    say): named after their process, owned by this user, and that process gone."""
    try:
        entries = list(Path(tempfile.gettempdir()).glob("micrograd-kit-*-*"))
    except OSError:
        return
    for folder in entries:
        owner = folder.name.split("-")[2]
        if not owner.isdigit() or int(owner) == os.getpid():
            continue
        try:
            if folder.lstat().st_uid != os.getuid() or not stat.S_ISDIR(folder.lstat().st_mode):
                continue
            os.kill(int(owner), 0)         # still running: not ours to touch
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


# ------------------------------------------------------------------------ processes on Linux
def _proc_stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].decode().split()
    except (OSError, IndexError):
        return None


def _all_pids() -> list[int]:
    try:
        return [int(e) for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []


def _pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _parents(zombies: set[int] | None = None) -> dict[int, int]:
    """pid -> parent pid for every process; the dead ones not yet reaped go into `zombies`."""
    parents: dict[int, int] = {}
    for pid in _all_pids():
        fields = _proc_stat(pid)
        if fields and len(fields) > 2:
            parents[pid] = int(fields[1])
            if zombies is not None and fields[0] in ("Z", "X"):
                zombies.add(pid)
    return parents


def _descendants(roots: Iterable[int], parents: dict[int, int] | None = None) -> set[int]:
    """Every process whose chain of parents reaches one of `roots`."""
    parents = _parents() if parents is None else parents
    wanted = set(roots)
    found = set()
    for pid in parents:
        current, hops = pid, 0
        while current in parents and hops < 64:
            current = parents[current]
            hops += 1
            if current in wanted:
                found.add(pid)
                break
    return found


def _children_tree(root: int) -> set[int] | None:
    """Every descendant of `root`, read from /proc/PID/task/TID/children (None where the kernel
    does not offer it)."""
    found: set[int] = set()
    pending = [root]
    while pending:
        pid = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
                    children = [int(c) for c in handle.read().split()]
            except FileNotFoundError:
                return None if pid == root else found
            except (OSError, ValueError):
                continue
            for child in children:
                if child not in found:
                    found.add(child)
                    pending.append(child)
    return found


def _kill_all(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


_SUBREAPER: list[bool] = []
# The workers of every live sandbox in this process: one sandbox's clean-up never takes another's.
_LIVE_WORKERS: set[int] = set()


def become_subreaper() -> bool:
    """Make this process the parent of every orphan of its children (Linux), so a worker's double
    fork or new session cannot take a process out of reach. Done once, for the whole process."""
    if _SUBREAPER:
        return _SUBREAPER[0]
    ok = False
    if sys.platform == "linux":
        import ctypes                 # only here: it costs time to import, and only Linux needs it
        import ctypes.util
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            ok = libc.prctl(36, 1, 0, 0, 0) == 0          # PR_SET_CHILD_SUBREAPER
        except (OSError, AttributeError):
            ok = False
    _SUBREAPER.append(ok)
    return ok


def _reap_zombies(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except (ChildProcessError, OSError):
            pass


# ------------------------------------------------------------------------ reading the pipes
class _Output:
    """What the student's code printed (its stdout and stderr share one pipe): the first bytes
    of each probe's output are kept, the rest counted; markers end each probe's share."""

    def __init__(self, limit: int, marker: bytes) -> None:
        self.limit = limit
        self.marker = marker
        self.kept = bytearray()
        self.dropped = 0
        self.markers = 0
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        data = self.tail + chunk
        while True:
            at = data.find(self.marker)
            if at < 0:
                break
            self._keep(data[:at])
            data = data[at + len(self.marker):]
            self.markers += 1
        keep = len(self.marker) - 1        # a marker may be split across two reads
        self._keep(data[:-keep] if len(data) > keep else b"")
        self.tail = data[-keep:] if len(data) > keep else data

    def _keep(self, data: bytes) -> None:
        room = self.limit - len(self.kept)
        if room > 0:
            self.kept += data[:room]
        self.dropped += max(0, len(data) - max(room, 0))

    def take(self) -> str:
        text = clean(bytes(self.kept).decode("utf-8", "replace"))
        if self.dropped:
            text += f"\n... ({self.dropped} more bytes of output not shown)"
        self.kept.clear()
        self.dropped = 0
        return text


class _Pipes:
    """The worker's answer pipe and output pipe, read in the calling thread (POSIX) or by two
    threads that end when the pipes close (Windows, where select() cannot wait on pipes)."""

    def __init__(self, proc: subprocess.Popen[bytes], output: _Output) -> None:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self.requests = proc.stdin
        self.answers = proc.stdout
        self.errors = proc.stderr
        self.output = output
        self.buffer = bytearray()
        self.lines: list[bytes] = []
        self.eof = False
        self.overflow = False
        self.selector: selectors.BaseSelector | None = None
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        if os.name == "posix":
            self.selector = selectors.DefaultSelector()
            os.set_blocking(self.requests.fileno(), False)
            for stream in (self.answers, self.errors):
                os.set_blocking(stream.fileno(), False)
                self.selector.register(stream, selectors.EVENT_READ)
        else:                                    # pragma: no cover (Windows)
            for stream, sink in ((self.answers, self._answer_bytes), (self.errors, self._out)):
                thread = threading.Thread(target=self._pump, args=(stream, sink), daemon=True)
                thread.start()
                self.threads.append(thread)

    def _answer_bytes(self, chunk: bytes) -> None:
        with self.lock:
            if not chunk:
                self.eof = True
                return
            self.buffer += chunk
            while b"\n" in self.buffer:
                line, _, rest = bytes(self.buffer).partition(b"\n")
                self.lines.append(line)
                self.buffer = bytearray(rest)
            if len(self.buffer) > protocol.MAX_ANSWER_BYTES:
                self.overflow = True
                self.buffer.clear()

    def _out(self, chunk: bytes) -> None:
        with self.lock:
            self.output.feed(chunk)

    def _pump(self, stream: Any, sink: Any) -> None:     # pragma: no cover (Windows)
        while True:
            try:
                chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            except (OSError, ValueError):
                chunk = b""
            sink(chunk)
            if not chunk:
                return

    def poll(self, timeout: float) -> None:
        """Read whatever arrives within `timeout` seconds (at least one wait)."""
        if self.selector is None:                # pragma: no cover (Windows)
            time.sleep(min(timeout, 0.005))
            return
        for key, _ in self.selector.select(max(0.0, timeout)):
            try:
                chunk = os.read(key.fd, 1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if key.fileobj is self.answers:
                self._answer_bytes(chunk)
                if not chunk:
                    self.selector.unregister(self.answers)
            else:
                if chunk:
                    self._out(chunk)
                else:
                    self.selector.unregister(self.errors)

    def send(self, data: bytes, deadline: float) -> str | None:
        """Write one request; "timeout" when it is not taken by `deadline`, else None.

        Never a blocking write: a worker that stops reading, or a process it left behind
        holding its stdin while the worker is gone, would block the grader for good, and
        with it everything that process writes to the pipes the grader then never reads."""
        if self.selector is None:                # pragma: no cover (Windows)
            try:
                self.requests.write(data)
                self.requests.flush()
            except OSError:
                pass
            return None
        fd = self.requests.fileno()
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view):]
                continue
            except BlockingIOError:
                pass
            except OSError:
                return None          # the worker is gone; the read that follows says how
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            self.poll(0)             # keep its output flowing while it takes the request
            with selectors.DefaultSelector() as writable:
                writable.register(fd, selectors.EVENT_WRITE)
                writable.select(min(left, 0.05))
        return None

    def next_line(self, deadline: float) -> bytes | None | str:
        """The next answer line; None at end of file; "timeout" or "overflow"."""
        while True:
            with self.lock:
                if self.lines:
                    return self.lines.pop(0)
                if self.overflow:
                    return "overflow"
                if self.eof:
                    return None
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            self.poll(min(left, 0.25))

    def close(self) -> None:
        if self.selector is not None:
            self.selector.close()
        for stream in (self.answers, self.errors):
            try:
                stream.close()
            except OSError:
                pass
        for thread in self.threads:              # pragma: no cover (Windows)
            thread.join(timeout=1)


MAX_TEXT = 4000       # characters of any one string in an answer (a name, a message)


def _cleaned(value: Any) -> Any:
    """An answer from the worker with every string in it cleaned (it may quote the submission)
    and clipped: a class named with 30 million characters is one line of feedback, not
    gigabytes of results."""
    return clean_all(value, MAX_TEXT)


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except (ValueError, AttributeError):
        return f"signal {-code}"


# ------------------------------------------------------------------------ the sandbox
class Sandbox:
    """Runs probes in a worker process; replaces the worker after a timeout or a crash.

    The worker gets a private folder with a copy of worker.py and a copy of the submission's
    regular .py files (symbolic links are skipped, sizes checked first); it never needs to read
    anything of the grader's.
    """

    def __init__(self, submission: Path, limits: Limits, *, run_as: str | None = "auto",
                 protections: Protections | None = None) -> None:
        self.submission = Path(submission)
        self.limits = limits
        self.protections = protections or Protections()
        self.user = choose_user(run_as)
        self.boundary = "none"
        if self.protections.isolation != "process" and bwrap_works():
            self.boundary = "bubblewrap"
        elif self.protections.isolation == "bwrap":
            raise ValueError("bubblewrap cannot run on this machine (is the bubblewrap package "
                             "installed, and are user namespaces allowed?)")
        # The worker's user and group ids: a named user's, or, as root in a plain process with
        # the default setting, ids of its own.
        self.ids: tuple[int, int] | None = _user_ids(self.user) if self.user else None
        if self.boundary == "bubblewrap":
            self.python: str | None = os.path.realpath(sys.executable)
        else:
            if self.user is not None and run_as == "auto" and os.name == "posix":
                self.ids, self.user = private_ids(), "private"
            self.python = interpreter_for(self.user if self.user != "private" else None,
                                          self.ids)
            if self.python is None:       # no Python the unprivileged user may run: say so, go on
                self.user, self.ids, self.python = None, None, sys.executable
        self.started = time.monotonic()
        # This process's children before the sandbox: never the sandbox's to clean up.
        self._before = {pid for pid, parent in _parents().items() if parent == os.getpid()} \
            if sys.platform == "linux" else set()
        self.skipped: list[str] = []      # files not copied, and why
        self._root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._pipes: _Pipes | None = None
        self._keys = protocol.Secrets.new()
        self._output = _Output(limits.output_kb * 1024, self._keys.marker_bytes)
        self._next_id = 0
        self._starts = 0                         # workers started so far
        self._ready = False                      # the running worker has said it is sealed
        self._worker_pid: int | None = None      # the worker itself (inside bwrap: its child)
        self._namespace: str | None = None
        self._started_at: float = 0.0
        self._aslr = aslr_prefix()
        self.admission: dict[str, list[policy.Violation]] = {}
        self.imports: set[str] = set()
        self.withheld: list[str] = []     # modules it imports that grading replaces
        self._prepare()
        if self.user is not None and self.boundary == "none":
            hide_from_others(Path(__file__).resolve().parent.parent / "checks")

    def describe(self) -> dict[str, Any]:
        cleanup = "namespace" if self.boundary == "bubblewrap" else (
            "process tree" if sys.platform == "linux" else "process group")
        return {
            "worker_user": "a user id of its own" if self.user == "private" else self.user,
            "worker_python": self.python,
            "protections": {
                "admission": self.protections.admission,
                "guard": self.protections.guard,
                "isolation": self.protections.isolation,      # what was asked for
                "boundary": self.boundary,                        # what ran
                "cleanup": cleanup if self.protections.cleanup else "off",
                "address_randomization": "off" if self._aslr else "on",
            },
        }

    # -- the worker's folder
    def _prepare(self) -> None:
        _sweep_stale_roots()
        root = Path(tempfile.mkdtemp(prefix=f"micrograd-kit-{os.getpid()}-"))
        self._root = root
        for file in WORKER_FILES:
            shutil.copy(file, root / file.name)
        code = root / "submission"
        code.mkdir()
        for name in self._source_files():
            source = self.submission / name
            try:
                info = source.lstat()
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                self.skipped.append(f"{name} is a symbolic link: it was not graded (hand in the "
                                    f"file itself)")
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            if info.st_size > MAX_SOURCE_BYTES:
                self.skipped.append(f"{name} is larger than {MAX_SOURCE_BYTES // 1_000_000} MB: "
                                    f"it was not graded")
                continue
            # O_NOFOLLOW: the file cannot be swapped for a link between the check and the copy.
            try:
                fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            except OSError:
                continue
            with os.fdopen(fd, "rb") as handle, open(code / name, "wb") as out:
                out.write(handle.read(MAX_SOURCE_BYTES + 1)[:MAX_SOURCE_BYTES])
        if self.protections.admission:
            own = [p.stem for p in code.glob("*.py")]
            self.admission = policy.admit(code, own)
            self.imports = policy.imported_modules(code, own)
            self.withheld = policy.withheld_modules(code, own)
        # Checked as written; run with its main blocks disarmed (admission does not check them).
        for copied in code.iterdir():
            try:
                text = copied.read_bytes().decode("utf-8")
                copied.write_bytes(policy.without_main_blocks(text).encode("utf-8"))
            except (UnicodeDecodeError, OSError):
                pass                              # not text: the worker says so
        home = root / "home"
        home.mkdir()
        if self.ids is not None and is_root():
            # Readable by the worker's group only (its own, for a private id): never by
            # another worker of a plain process. Nothing here but home/ is the worker's to
            # write.
            gid = self.ids[1]
            for path, mode in [(root, 0o710), (code, 0o750), *[(item, 0o640) for item in
                                                               code.iterdir()],
                               *[(root / f.name, 0o640) for f in WORKER_FILES]]:
                os.chown(path, 0, gid)
                os.chmod(path, mode)
            os.chown(home, *self.ids)
            os.chmod(home, 0o700)
        elif self.boundary == "bubblewrap":
            os.chmod(root, 0o755)                # the worker's own user reads it, alone
        else:
            os.chmod(root, 0o700)                # a worker of this very user

    def _source_files(self) -> list[str]:
        """The kit's files and the submission's helper modules beside them (a topological
        sort kept in topo.py, say): every .py file at the top of the folder whose name can be
        imported and is not a standard-library module's, at most MAX_HELPERS of them."""
        try:
            entries = sorted(os.listdir(self.submission))
        except OSError:
            return []
        kit = [e for e in entries if e.endswith(".py") and e[:-3] in policy.KIT_MODULES]
        helpers = [e for e in entries if e.endswith(".py") and policy.helper_module(e[:-3])]
        if len(helpers) > MAX_HELPERS:
            self.skipped.append(f"{len(helpers)} other .py files beside the kit's: only the "
                                f"first {MAX_HELPERS} can be imported")
        return kit + helpers[:MAX_HELPERS]

    def modules(self) -> list[str]:
        """The submission's own modules that were copied for the worker."""
        if self._root is None:
            return []
        return sorted(p.stem for p in (self._root / "submission").glob("*.py"))

    def refused(self) -> dict[str, str]:
        """module -> why admission refused it (its file does not run)."""
        return {name: policy.describe(found) for name, found in self.admission.items() if found}

    # -- process management
    def _settings(self) -> dict[str, Any]:
        assert self._root is not None
        inside = f"{SANDBOX_ROOT}/submission" if self.boundary == "bubblewrap" else \
            str(self._root / "submission")
        ids = self.ids if self.boundary == "bubblewrap" else None
        preload = sorted(self.imports) if self.protections.admission else None
        return {"submission": inside, "memory_mb": self.limits.memory_mb,
                "modules": self.modules(),
                "uid": ids[0] if ids else None, "gid": ids[1] if ids else None,
                "guard": policy.runtime_policy(preload) if self.protections.guard else None,
                "refused": self.refused()}

    def _command(self) -> tuple[list[str], dict[str, Any]]:
        assert self._root is not None and self.python is not None
        kwargs: dict[str, Any] = {}
        if self.boundary == "bubblewrap":
            command = self._aslr + bwrap_command(python=self.python,
                                                 worker_dir=str(self._root),
                                                 as_root=is_root())
            return command, kwargs
        home = str(self._root / "home")
        command = self._aslr + [str(self.python), "-S", "-s", "-B",
                                str(self._root / "worker.py")]
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": home, "TMPDIR": home,
               "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0",
               "PYTHONDONTWRITEBYTECODE": "1"}
        for name in ("SYSTEMROOT", "WINDIR", "TEMP", "TMP"):   # Windows needs these to start
            if name in os.environ:
                env[name] = home if name in ("TEMP", "TMP") else os.environ[name]
        kwargs.update(env=env, cwd=home)
        if os.name == "posix":
            kwargs["start_new_session"] = True     # one process group to kill, orphans included
            if self.ids is not None:
                kwargs.update(user=self.ids[0], group=self.ids[1], extra_groups=[])
        else:                                      # pragma: no cover (Windows)
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        return command, kwargs

    def _start(self) -> dict[str, Any] | None:
        """Start a worker and wait until it has sealed itself; an error dict if it cannot."""
        self._spawn()
        return self._await_ready()

    def warm_up(self) -> None:
        """Start the worker now, without waiting for it: it seals itself while the grader is
        still starting its checks."""
        if self._proc is None:
            self._spawn()

    def _spawn(self) -> None:
        if self.boundary == "none" and self.protections.cleanup:
            become_subreaper()
        command, kwargs = self._command()
        self._starts += 1
        self._started_at = time.monotonic()
        self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, **kwargs)
        _LIVE_WORKERS.add(self._proc.pid)
        # Secrets of this worker's own: whatever a worker learnt of them dies with it, and a
        # process it left behind cannot answer for the next one.
        self._keys = protocol.Secrets.new()
        self._output = _Output(self.limits.output_kb * 1024, self._keys.marker_bytes)
        self._pipes = _Pipes(self._proc, self._output)
        # A handshake not taken in time shows as a worker that never gets ready.
        self._pipes.send(protocol.handshake(self._keys, **self._settings()),
                         self._started_at + START_TIMEOUT)
        self._ready = False

    def _await_ready(self) -> dict[str, Any] | None:
        assert self._proc is not None and self._pipes is not None
        line = self._pipes.next_line(time.monotonic() + START_TIMEOUT)
        ready = protocol.decode_answer(line, self._keys) if isinstance(line, bytes) else None
        if not ready or not ready.get("ready"):
            printed = self._output.take()
            self._kill()
            return {"kind": "sandbox", "message": "the sandbox could not start the worker"
                    + (f": {printed.strip()[-500:]}" if printed.strip() else "")}
        self._worker_pid = self._proc.pid
        if self.boundary == "bubblewrap" and sys.platform == "linux":
            # The worker is bubblewrap's child, PID 1 of a namespace of its own; never take
            # this process's own namespace for it.
            ours = _pid_namespace(os.getpid())
            for pid in _all_pids():
                if (_proc_stat(pid) or ["", ""])[1] == str(self._proc.pid):
                    namespace = _pid_namespace(pid)
                    if namespace is not None and namespace != ours:
                        self._worker_pid, self._namespace = pid, namespace
                        break
        self._ready = True
        return None

    def reap(self) -> None:
        """Kill whatever the last check started besides the worker (called after every check)."""
        if self._proc is None or not self.protections.cleanup or os.name != "posix":
            return
        self._kill_strays(keep=self._worker_pid)

    def _kill_strays(self, keep: int | None) -> None:
        if sys.platform != "linux":
            return                               # the process group is killed with the worker
        if self._namespace is not None:
            # In its own PID namespace the worker is PID 1: whatever it started, and whatever
            # was orphaned there, is among its descendants.
            members = _children_tree(self._worker_pid) if self._worker_pid else None
            if members is None:
                members = {p for p in _all_pids() if _pid_namespace(p) == self._namespace}
            _kill_all(p for p in members if p not in (keep, os.getpid(), self._worker_pid)
                      or (keep is None and p == self._worker_pid))
            return
        if self._worker_pid is None:
            return
        # Processes fork while they are being killed: sweep until a sweep finds none.
        for _ in range(50):
            dead: set[int] = set()
            parents = _parents(dead)
            roots = set(self._orphans(parents)) if _SUBREAPER and _SUBREAPER[0] else set()
            strays = roots | _descendants(roots | {self._worker_pid}, parents)
            strays -= {keep, os.getpid()} | _LIVE_WORKERS
            _reap_zombies(strays & dead)           # ours to reap; the others' parents reap them
            strays -= dead
            if not strays:
                return
            _kill_all(strays)
            _reap_zombies(strays)
            time.sleep(0.005)

    def _orphans(self, parents: dict[int, int]) -> list[int]:
        """Children of this (subreaper) process that a worker left behind, directly or when
        their own parent died: started after the sandbox, not a worker of a live sandbox, not
        a child this process had before, and running as the worker's user."""
        me = os.getpid()
        uid = self.ids[0] if self.ids else os.getuid()
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        boot_offset = time.monotonic() - time.clock_gettime(time.CLOCK_BOOTTIME) \
            if hasattr(time, "CLOCK_BOOTTIME") else None
        found = []
        for pid, parent in parents.items():
            if parent != me or pid in _LIVE_WORKERS or pid in self._before:
                continue
            fields = _proc_stat(pid)
            if not fields:
                continue
            try:
                if os.stat(f"/proc/{pid}").st_uid != uid:
                    continue
            except OSError:
                continue
            if boot_offset is not None and len(fields) > 19:
                started = int(fields[19]) / ticks + boot_offset
                if started < self.started - 0.5:
                    continue
            found.append(pid)
        return found

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        pipes, self._pipes = self._pipes, None
        if proc is not None:
            if self.protections.cleanup and os.name == "posix" and self._namespace is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
            if self._worker_pid is not None and self._worker_pid != proc.pid:
                _kill_all([self._worker_pid])     # the namespace's PID 1: the namespace ends
            try:
                proc.kill()
            except OSError:
                pass
            if os.name != "posix":               # pragma: no cover (Windows)
                subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)],
                               capture_output=True, check=False)
            if self.protections.cleanup and os.name == "posix":
                self._kill_strays(keep=None)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            _LIVE_WORKERS.discard(proc.pid)
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
            except OSError:
                pass
        if pipes is not None:
            pipes.close()                        # a replaced worker's output is discarded
        self._worker_pid = None
        self._namespace = None

    def close(self) -> None:
        self._kill()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def worker_generation(self) -> int | None:
        """Which worker is running now (a count of starts), None when none is: what a worker
        has loaded is known to be there only while that same worker lives."""
        if self._proc is None or self._proc.poll() is not None:
            return None
        return self._starts

    # -- probes
    def remaining(self) -> float:
        return self.limits.run_timeout - (time.monotonic() - self.started)

    def request(self, task: str, timeout: float | None = None, **args: Any) -> Outcome:
        """Run one probe; never raises for anything the submission does."""
        limit = self.limits.check_timeout if timeout is None else timeout
        left = self.remaining()
        if left <= 0:
            return Outcome(error={"kind": "run_timeout", "message":
                                  f"not run: the whole submission used its "
                                  f"{self.limits.run_timeout:g} s"})
        wait = min(limit, left)
        began = time.monotonic()
        if self._proc is None or self._proc.poll() is not None:
            self._kill()
            failed = self._start()
        elif not self._ready:
            failed = self._await_ready()
        else:
            failed = None
        if failed is not None:
            return Outcome(error=failed, seconds=time.monotonic() - began)
        assert self._proc is not None and self._pipes is not None
        self._next_id += 1
        ident = self._next_id
        markers_before = self._output.markers
        began = time.monotonic()
        # A worker that is gone shows in the read below; one that never takes the request
        # times out like one that never answers it.
        line = (self._pipes.send(protocol.request(ident, task, args), began + wait)
                or self._pipes.next_line(began + wait))
        seconds = time.monotonic() - began
        if line == "timeout":
            output = self._output.take()
            self._kill()
            if wait < limit:
                return Outcome(error={"kind": "run_timeout", "message":
                                      f"not finished: the whole submission used its "
                                      f"{self.limits.run_timeout:g} s"},
                               output=output, seconds=wait)
            return Outcome(error={"kind": "timeout", "message": f"timed out after {limit:g} s"},
                           output=output, seconds=wait)
        if line is None:
            return self._ended(seconds)
        # Everything printed during the probe is read before the output is taken, so the output
        # shown under a check is the same on every run.
        deadline = time.monotonic() + 1.0
        while self._output.markers <= markers_before and time.monotonic() < deadline:
            self._pipes.poll(0.01)
        output = self._output.take()
        response = protocol.decode_answer(line, self._keys) if isinstance(line, bytes) else None
        if response is None or response.get("id") != ident:
            self._kill()
            return Outcome(error={"kind": "protocol", "message":
                                  "the worker's answer was garbled or forged (did the code write "
                                  "to the grader's channel?)"}, output=output, seconds=seconds)
        refused = [_cleaned(r) for r in (response.get("refused") or [])[:50]
                   if isinstance(r, str)]
        if response.get("ok") is True and isinstance(response.get("result"), dict):
            wrong = protocol.misshapen(task, response["result"])
            if wrong is None:
                return Outcome(result=_cleaned(response["result"]), output=output,
                               seconds=seconds, refused=refused)
            self._kill()
            return Outcome(error={"kind": "protocol", "message":
                                  f"the worker's answer was malformed ({wrong}): did the code "
                                  f"write to the grader's channel?"}, output=output,
                           seconds=seconds, refused=refused)
        error = response.get("error")
        if not isinstance(error, dict):
            error = {"kind": "protocol", "message": "the worker's answer was garbled"}
        return Outcome(error=_cleaned(error), output=output, seconds=seconds, refused=refused)

    def _ended(self, seconds: float) -> Outcome:
        proc = self._proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
        if self._pipes is not None:
            self._pipes.poll(0.05)               # the last bytes of output
        output = self._output.take()
        self._kill()
        if code is not None and code < 0:
            name = _signal_name(code)
            if name == "SIGKILL":
                message = (f"the process was killed (SIGKILL): often this means it used more than "
                           f"{self.limits.memory_mb} MB of memory")
                kind = "killed"
            else:
                message = f"crashed the Python interpreter ({name})"
                kind = "crash"
        elif code is None:
            message, kind = "the worker stopped answering", "crash"
        elif self.boundary == "bubblewrap" and code > 128:
            # bubblewrap reports a worker killed by signal N as exit status 128 + N.
            name = _signal_name(-(code - 128))
            kind = "killed" if name == "SIGKILL" else "crash"
            message = (f"the process was killed (SIGKILL): often this means it used more than "
                       f"{self.limits.memory_mb} MB of memory") if kind == "killed" else \
                f"crashed the Python interpreter ({name})"
        else:
            message = (f"ended the worker process with exit status {code} during the check "
                       f"(os._exit() or a crash)")
            kind = "exit"
        return Outcome(error={"kind": kind, "message": message, "code": code}, output=output,
                       seconds=seconds)
