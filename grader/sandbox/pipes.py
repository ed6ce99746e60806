"""The worker's two pipes, read in the calling thread (POSIX) or by two threads that end when the
pipes close (Windows, where select() cannot wait on pipes). Nothing here blocks on a pipe on
POSIX: answers and output are read with a selector, and requests are written without blocking
against the check's deadline, so no worker (or process it left holding its stdin) stalls the
grader.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import threading
import time
from typing import Any

from . import protocol
from ..intake.untrusted import clean


class Output:
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


class Pipes:
    """The worker's answer pipe and output pipe, read in the calling thread (POSIX) or by two
    threads that end when the pipes close (Windows, where select() cannot wait on pipes)."""

    def __init__(self, proc: subprocess.Popen[bytes], output: Output) -> None:
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

