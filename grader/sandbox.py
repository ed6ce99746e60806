"""The run layer: a worker process for student code, with time, memory and output limits."""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("worker.py")
CHECKS = Path(__file__).with_name("checks")
MARKER = b"\n\x00micrograd-kit-end\x00\n"


@dataclass(frozen=True)
class Limits:
    """How much time, memory and output a submission may use. Printed in the JSON output."""

    check_timeout: float = 5.0      # seconds for one probe; the reference needs well under 0.3 s
    run_timeout: float = 120.0      # seconds for the whole submission
    memory_mb: int = 1024           # address-space cap of the worker (Linux and macOS)
    output_kb: int = 4              # student output kept per check

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Outcome:
    """What one probe brought back: a result (plain data) or an error dict, and what was printed."""

    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    output: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _OutputTap:
    """Reads the worker's stderr (where all student output goes), keeping only the first bytes."""

    limit: int
    kept: bytearray = field(default_factory=bytearray)
    dropped: int = 0
    markers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> str:
        with self.lock:
            text = bytes(self.kept).decode("utf-8", "replace")
            if self.dropped:
                text += f"\n... ({self.dropped} more bytes of output not shown)"
            self.kept.clear()
            self.dropped = 0
            return text

    def feed(self, chunk: bytes) -> None:
        with self.lock:
            room = self.limit - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]
            self.dropped += max(0, len(chunk) - max(room, 0))


def _drain(stream: Any, tap: _OutputTap) -> None:
    try:
        _drain_into(stream, tap)
    finally:
        stream.close()


def _drain_into(stream: Any, tap: _OutputTap) -> None:
    tail = b""
    while True:
        try:
            chunk = os.read(stream.fileno(), 65536)
        except OSError:
            return
        if not chunk:
            return
        data = tail + chunk
        while True:
            at = data.find(MARKER)
            if at < 0:
                break
            tap.feed(data[:at])
            data = data[at + len(MARKER):]
            with tap.lock:
                tap.markers += 1
        # Keep a marker's worth of bytes back in case one is split across two reads.
        keep = len(MARKER) - 1
        tap.feed(data[:-keep] if len(data) > keep else b"")
        tail = data[-keep:] if len(data) > keep else data


def _read_lines(stream: Any, lines: "queue.Queue[bytes | None]", limit: int = 64 << 20) -> None:
    try:
        while True:
            try:
                line = stream.readline(limit)
            except (OSError, ValueError):
                line = b""
            if not line:
                lines.put(None)
                return
            lines.put(line)
    finally:
        # Closed here, by the reading thread: closing it from elsewhere would wait for this
        # read, which lasts as long as any process the submission started keeps the pipe open.
        stream.close()


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except (ValueError, AttributeError):
        return f"signal {-code}"


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


def choose_user(setting: str | None) -> str | None:
    """The unprivileged user for the worker: only when the grader runs as root (hosted graders).

    `setting` is "auto" (micrograd-student if it exists, else nobody), a user name, or None/"none".
    """
    if setting in (None, "", "none") or os.name != "posix" or os.geteuid() != 0:
        return None
    if setting != "auto":
        if _user_ids(setting) is None:
            raise ValueError(f"there is no user named {setting!r} to run the student's code as")
        return setting
    for name in ("micrograd-student", "nobody"):
        if _user_ids(name):
            return name
    return None


def hide_from_others(folder: Path) -> None:
    """Take away other users' access to `folder` (the hidden checks), as root, before a worker runs."""
    try:
        mode = folder.stat().st_mode
        if mode & 0o007:
            os.chmod(folder, mode & ~0o007)
    except OSError:
        pass


_INTERPRETERS: dict[str, str | None] = {}


def interpreter_for(user: str | None) -> str | None:
    """A Python the worker's user can run: ours, or a system one (the worker needs only the stdlib)."""
    if user is None:
        return sys.executable
    if user in _INTERPRETERS:
        return _INTERPRETERS[user]
    ids = _user_ids(user)
    candidates = [sys.executable, getattr(sys, "_base_executable", ""),
                  "/usr/bin/python3", "/usr/local/bin/python3"]
    found = None
    for exe in dict.fromkeys(c for c in candidates if c):
        try:
            probe = subprocess.run([exe, "-I", "-c", "import sys; print(sys.version_info >= (3, 8))"],
                                   user=ids[0] if ids else None, group=ids[1] if ids else None,
                                   extra_groups=[] if ids else None, cwd="/",
                                   capture_output=True, timeout=20, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0 and probe.stdout.strip() == b"True":
            found = exe
            break
    _INTERPRETERS[user] = found
    return found


def _strays(pgid: int | None, token: bytes, uid: int | None) -> list[int]:
    """Processes that came from a worker: in its process group, or carrying its token in their
    environment (a process that left the group with setsid, or a double fork, keeps that).

    Linux reads /proc; elsewhere only the process group is found, through pgrep."""
    if not os.path.isdir("/proc"):
        if pgid is None:
            return []
        try:
            out = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True,
                                 timeout=5).stdout
        except (OSError, subprocess.SubprocessError):
            return []
        return [int(x) for x in out.split() if x.isdigit()]
    needle = b"MICROGRAD_KIT_SANDBOX=" + token
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if uid is not None and os.stat(f"/proc/{entry}").st_uid != uid:
                continue       # another user's process cannot be one the worker started
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if pgid is not None and len(fields) > 2 and int(fields[2]) == pgid:
                found.append(int(entry))
                continue
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if needle in handle.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def _processes_of(uid: int) -> list[int]:
    pids: list[int] = []
    if not os.path.isdir("/proc"):
        return pids
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


class Sandbox:
    """Runs probes in a worker process; replaces the worker after a timeout or a crash.

    The worker gets a private folder: a copy of worker.py, a copy of the submission (read-only
    to the worker when it runs as another user) and an empty working directory. It never needs
    to read anything of the grader's.
    """

    def __init__(self, submission: Path, limits: Limits, *, run_as: str | None = "auto") -> None:
        self.submission = Path(submission).resolve()
        self.limits = limits
        self.user = choose_user(run_as)
        self.python = interpreter_for(self.user)
        if self.python is None:       # no Python the unprivileged user may run: say so, go on
            self.user, self.python = None, sys.executable
        if self.user is not None:
            hide_from_others(CHECKS)
        self.started = time.monotonic()
        self._proc: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._tap = _OutputTap(limit=limits.output_kb * 1024)
        self._root: Path | None = None
        self._next_id = 0
        self._token = secrets.token_hex(16)

    def describe(self) -> dict[str, Any]:
        return {"worker_user": self.user, "worker_python": self.python}

    # -- the worker's folder
    def _prepare(self) -> Path:
        if self._root is not None:
            return self._root
        root = Path(tempfile.mkdtemp(prefix="micrograd-kit-"))
        shutil.copy(WORKER, root / "worker.py")
        code = root / "submission"
        code.mkdir()
        if self.submission.is_dir():
            for name in os.listdir(self.submission):
                source = self.submission / name
                if source.is_file() and name.endswith(".py") and \
                        source.stat().st_size <= 5_000_000:
                    shutil.copy(source, code / name)
        home = root / "home"
        home.mkdir()
        if self.user is not None:
            ids = _user_ids(self.user)
            assert ids is not None
            os.chmod(root, 0o711)         # the worker may reach known paths, not list them
            os.chmod(code, 0o755)
            for item in code.iterdir():
                os.chmod(item, 0o644)
            os.chmod(root / "worker.py", 0o644)
            os.chown(home, *ids)
            os.chmod(home, 0o700)
        self._root = root
        return root

    # -- process management
    def _start(self) -> None:
        root = self._prepare()
        # Not -I: it would ignore PYTHONHASHSEED, which must be fixed so that a submission's
        # sets and dicts iterate in the same order on every run. The environment is built
        # from scratch below, so no PYTHONPATH or user site leaks in.
        command = [str(self.python), "-s", "-B", str(root / "worker.py"),
                   str(root / "submission"), str(self.limits.memory_mb)]
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True     # one process group to kill, orphans included
            if self.user is not None:
                ids = _user_ids(self.user)
                assert ids is not None
                kwargs.update(user=ids[0], group=ids[1], extra_groups=[])
        else:
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        home = str(root / "home")
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": home, "TMPDIR": home,
               "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0",
               "PYTHONDONTWRITEBYTECODE": "1",
               "MICROGRAD_KIT_SANDBOX": self._token}
        for name in ("SYSTEMROOT", "WINDIR", "TEMP", "TMP"):   # Windows needs these to start
            if name in os.environ:
                env[name] = home if name in ("TEMP", "TMP") else os.environ[name]
        self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, cwd=home, env=env, **kwargs)
        self._lines = queue.Queue()
        self._tap = _OutputTap(limit=self.limits.output_kb * 1024)
        threading.Thread(target=_read_lines, args=(self._proc.stdout, self._lines),
                         daemon=True).start()
        threading.Thread(target=_drain, args=(self._proc.stderr, self._tap), daemon=True).start()

    def reap(self) -> None:
        """Kill whatever the last check started besides the worker (called after every check)."""
        proc = self._proc
        if proc is None or os.name != "posix":
            return
        self._kill_strays(keep=proc.pid)

    def _kill_strays(self, keep: int | None = None) -> None:
        ids = _user_ids(self.user) if self.user else None
        uid = ids[0] if ids else (os.getuid() if hasattr(os, "getuid") else None)
        strays = set(_strays(keep, self._token.encode(), uid))
        strays.discard(keep)
        strays.discard(os.getpid())
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self._kill_user_processes(keep=keep)

    def _kill_user_processes(self, keep: int | None = None) -> None:
        # Only for a user that exists for this purpose: "nobody" may run other daemons.
        if self.user is None or self.user == "nobody":
            return
        ids = _user_ids(self.user)
        if ids is None:
            return
        for pid in _processes_of(ids[0]):
            if pid != keep:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)],
                               capture_output=True, check=False)
        except (ProcessLookupError, PermissionError, OSError):
            pass
        try:
            proc.kill()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if os.name == "posix":
            self._kill_strays()
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass

    def close(self) -> None:
        self._kill()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

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
        if self._proc is None or self._proc.poll() is not None:
            self._kill()
            self._start()
        assert self._proc is not None and self._proc.stdin is not None
        self._next_id += 1
        ident = self._next_id
        markers_before = self._tap.markers
        began = time.monotonic()
        try:
            self._proc.stdin.write(json.dumps({"id": ident, "task": task, "args": args}).encode()
                                   + b"\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the worker is gone; the read below reports how it ended
        try:
            line = self._lines.get(timeout=wait)
        except queue.Empty:
            output = self._tap.take()
            self._kill()
            if wait < limit:
                message = (f"not finished: the whole submission used its "
                           f"{self.limits.run_timeout:g} s")
                return Outcome(error={"kind": "run_timeout", "message": message}, output=output,
                               seconds=wait)
            return Outcome(error={"kind": "timeout", "message": f"timed out after {limit:g} s"},
                           output=output, seconds=wait)
        seconds = time.monotonic() - began
        if line is None:
            return self._ended(seconds)
        # Wait (briefly) until everything printed during the probe has been read, so the output
        # shown under a check is the same on every run.
        deadline = time.monotonic() + 1.0
        while self._tap.markers <= markers_before and time.monotonic() < deadline:
            time.sleep(0.001)
        output = self._tap.take()
        try:
            response = json.loads(line)
        except ValueError:
            response = None
        if not isinstance(response, dict) or response.get("id") != ident:
            self._kill()
            return Outcome(error={"kind": "protocol", "message":
                                  "the worker's answer was garbled (did the code write to "
                                  "the grader's channel?)"}, output=output, seconds=seconds)
        if response.get("ok") is True and isinstance(response.get("result"), dict):
            return Outcome(result=response["result"], output=output, seconds=seconds)
        error = response.get("error")
        if not isinstance(error, dict):
            error = {"kind": "protocol", "message": "the worker's answer was garbled"}
        return Outcome(error=error, output=output, seconds=seconds)

    def _ended(self, seconds: float) -> Outcome:
        proc = self._proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                code = None
        time.sleep(0.05)  # let the output reader catch up with the last bytes
        output = self._tap.take()
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
        else:
            message = (f"ended the worker process with exit status {code} during the check "
                       f"(os._exit() or a crash)")
            kind = "exit"
        return Outcome(error={"kind": kind, "message": message, "code": code}, output=output,
                       seconds=seconds)
