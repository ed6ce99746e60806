"""The run layer: a worker process for student code, with time, memory and output limits."""

from __future__ import annotations

import json
import os
import queue
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
    while True:
        try:
            line = stream.readline(limit)
        except (OSError, ValueError):
            line = b""
        if not line:
            lines.put(None)
            return
        lines.put(line)


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except (ValueError, AttributeError):
        return f"signal {-code}"


class Sandbox:
    """Runs probes in a worker process; replaces the worker after a timeout or a crash."""

    def __init__(self, submission: Path, limits: Limits, *, run_as: str | None = None) -> None:
        self.submission = Path(submission).resolve()
        self.limits = limits
        self.run_as = run_as
        self.started = time.monotonic()
        self._proc: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._tap = _OutputTap(limit=limits.output_kb * 1024)
        self._workdir: str | None = None
        self._next_id = 0

    # -- process management
    def _start(self) -> None:
        self._workdir = tempfile.mkdtemp(prefix="micrograd-kit-")
        command = [sys.executable, "-I", "-B", str(WORKER), str(self.submission),
                   str(self.limits.memory_mb)]
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True     # one process group to kill, orphans included
        else:
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PYTHONIOENCODING"] = "utf-8"
        self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, cwd=self._workdir, env=env, **kwargs)
        self._lines = queue.Queue()
        self._tap = _OutputTap(limit=self.limits.output_kb * 1024)
        threading.Thread(target=_read_lines, args=(self._proc.stdout, self._lines),
                         daemon=True).start()
        threading.Thread(target=_drain, args=(self._proc.stderr, self._tap), daemon=True).start()

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
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def close(self) -> None:
        self._kill()

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
