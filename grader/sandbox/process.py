"""One worker process: started (under bubblewrap or as a plain process, as the user grading
chooses), waited for until it says it has sealed itself, and killed with everything it started,
by its PID namespace or its process tree. No process of a submission outlives its grading.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cleanup, protocol
from .boundary import SANDBOX_ROOT, WORKER_ENTRY, bwrap_command, is_root
from .pipes import Output, Pipes
from .tasks import ErrorAnswer, Frame, Layers, Settings

START_TIMEOUT = 20.0                 # seconds for a worker to seal itself and say it is ready


@dataclass
class Launch:
    """How to start a worker: where its folder is, which Python and user, which boundary."""

    root: Path
    python: str
    boundary: str                            # "bubblewrap" | "none"
    ids: tuple[int, int] | None              # the worker's user and group
    cleanup: bool
    aslr: list[str] = field(default_factory=list)   # a prefix turning randomization off
    started: float = 0.0                     # when the grading began (strays are younger)

    def inside(self) -> str:
        """The submission's folder as the worker sees it."""
        return f"{SANDBOX_ROOT}/submission" if self.boundary == "bubblewrap" else \
            str(self.root / "submission")


class WorkerProcess:
    """A running worker, its pipes and its secrets."""

    def __init__(self, launch: Launch, settings: Settings, output_kb: int) -> None:
        self.launch = launch
        self.keys = protocol.Secrets.new()   # its own: what it learnt dies with it
        self.output = Output(output_kb * 1024, self.keys.marker_bytes)
        self.pid: int | None = None          # the worker itself (inside bwrap: its child)
        self.namespace: str | None = None
        self.layers: Layers = {}     # what the worker says it sealed itself with
        self.ready = False
        if launch.boundary == "none" and launch.cleanup:
            cleanup.become_subreaper()
        self.before = {pid for pid, parent in cleanup.parents().items()
                       if parent == os.getpid()} if sys.platform == "linux" else set()
        command, kwargs = self._command()
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, **kwargs)
        cleanup.LIVE_WORKERS.add(self.proc.pid)
        self.pipes = Pipes(self.proc, self.output)
        # A handshake not taken in time shows as a worker that never gets ready.
        self.pipes.send(protocol.handshake(self.keys, **settings),
                        self.started_at + START_TIMEOUT)

    def _command(self) -> tuple[list[str], dict[str, Any]]:
        launch = self.launch
        if launch.boundary == "bubblewrap":
            return launch.aslr + bwrap_command(python=launch.python,
                                               worker_dir=str(launch.root),
                                               as_root=is_root()), {}
        home = str(launch.root / "home")
        command = launch.aslr + [launch.python, "-S", "-s", "-B",
                                 str(launch.root / WORKER_ENTRY)]
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": home, "TMPDIR": home,
               "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0",
               "PYTHONDONTWRITEBYTECODE": "1"}
        for name in ("SYSTEMROOT", "WINDIR", "TEMP", "TMP"):   # Windows needs these to start
            if name in os.environ:
                env[name] = home if name in ("TEMP", "TMP") else os.environ[name]
        kwargs: dict[str, Any] = {"env": env, "cwd": home}
        if os.name == "posix":
            kwargs["start_new_session"] = True     # one process group to kill, orphans included
            if launch.ids is not None:
                kwargs.update(user=launch.ids[0], group=launch.ids[1], extra_groups=[])
        else:                                      # pragma: no cover (Windows)
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        return command, kwargs

    def await_ready(self) -> ErrorAnswer | None:
        """None once the worker has sealed itself; an error record when it cannot."""
        if self.ready:
            return None
        line = self.pipes.next_line(time.monotonic() + START_TIMEOUT)
        ready = protocol.decode_answer(line, self.keys) if isinstance(line, bytes) else None
        if not ready or not ready.get("ready"):
            printed = self.output.take()
            self.kill()
            return {"kind": "sandbox", "message": "the sandbox could not start the worker"
                    + (f": {printed.strip()[-500:]}" if printed.strip() else "")}
        said = ready.get("layers")
        self.layers = {}
        if isinstance(said, dict):           # what seal.py says of each layer: a short text
            if isinstance(said.get("seccomp"), str):
                self.layers["seccomp"] = said["seccomp"][:200]
            if isinstance(said.get("landlock"), str):
                self.layers["landlock"] = said["landlock"][:200]
        self.pid = self.proc.pid
        if self.launch.boundary == "bubblewrap" and sys.platform == "linux":
            # The worker is bubblewrap's child, PID 1 of a namespace of its own; never take
            # this process's own namespace for it.
            ours = cleanup.pid_namespace(os.getpid())
            for pid in cleanup.all_pids():
                if (cleanup.proc_stat(pid) or ["", ""])[1] == str(self.proc.pid):
                    namespace = cleanup.pid_namespace(pid)
                    if namespace is not None and namespace != ours:
                        self.pid, self.namespace = pid, namespace
                        break
        self.ready = True
        return None

    def sample(self, wait: float = 0.5) -> Frame | None:
        """Where the worker's student code is now (its answer to SIGUSR1): {file, line,
        function}, or None when it does not say in `wait` seconds."""
        if os.name != "posix" or self.pid is None or not self.ready:
            return None
        try:
            os.kill(self.pid, signal.SIGUSR1)
        except OSError:
            return None
        deadline = time.monotonic() + wait
        while True:
            line = self.pipes.next_line(deadline)
            if not isinstance(line, bytes):
                return None
            value = protocol.decode_answer(line, self.keys)
            if isinstance(value, dict) and isinstance(value.get("where"), dict):
                return value["where"]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill_strays(self, keep: int | None) -> None:
        """Kill whatever the worker started (and the worker too, when `keep` is None)."""
        if sys.platform != "linux" or not self.launch.cleanup:
            return                               # the process group is killed with the worker
        if self.namespace is not None:
            cleanup.kill_namespace(self.pid, self.namespace, keep)
        elif self.pid is not None:
            cleanup.kill_tree(self.pid, keep, self.launch.ids, self.before,
                              self.launch.started)

    def kill(self) -> None:
        proc = self.proc
        if self.launch.cleanup and os.name == "posix" and self.namespace is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        if self.pid is not None and self.pid != proc.pid:
            cleanup.kill_all([self.pid])         # the namespace's PID 1: the namespace ends
        try:
            proc.kill()
        except OSError:
            pass
        if os.name != "posix":                   # pragma: no cover (Windows)
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)],
                           capture_output=True, check=False)
        if os.name == "posix":
            self.kill_strays(keep=None)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        cleanup.LIVE_WORKERS.discard(proc.pid)
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        self.pipes.close()                       # a replaced worker's output is discarded
        self.pid = self.namespace = None

    def ended(self, memory_mb: int) -> ErrorAnswer:
        """Why the worker is gone, as an error record (it was not killed by the grader)."""
        try:
            code: int | None = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        self.pipes.poll(0.05)                     # the last bytes of output
        killed = (f"the process was killed (SIGKILL): often this means it used more than "
                  f"{memory_mb} MB of memory")
        if code is not None and self.launch.boundary == "bubblewrap" and code > 128:
            code = -(code - 128)               # bubblewrap reports signal N as 128 + N
        if code is not None and code < 0:
            name = signal_name(code)
            if name == "SIGKILL":
                return {"kind": "killed", "message": killed, "code": code}
            return {"kind": "crash", "message": f"crashed the Python interpreter ({name})",
                    "code": code}
        if code is None:
            return {"kind": "crash", "message": "the worker stopped answering", "code": code}
        return {"kind": "exit", "code": code,
                "message": f"ended the worker process with exit status {code} during the "
                           f"check (os._exit() or a crash)"}


def signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except (ValueError, AttributeError):
        return f"signal {-code}"
