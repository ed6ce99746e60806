"""The sandbox: one world of a grading, answered by a worker process sealed by every protection
this machine allows, and replaced after a timeout or a crash.

Four layers, each holding on its own (the docs' security page says what each mode guarantees):
1. admission (grader/sandbox/admission.py) refuses a file before it runs;
2. the worker's run-time guard: stand-ins for what grading withholds, an audit hook, restricted
   builtins (grader/sandbox/worker/);
3. the operating-system boundary: bubblewrap (its own user, mount, PID, IPC and network
   namespaces, a view of the Python installation and its own folder only), the seccomp filter
   (grader/sandbox/syscalls.py) and Landlock, in both modes where the kernel has them;
4. clean-up by an identity that belongs to this worker only (grader/sandbox/cleanup.py).

The grading process keeps every answer: the worker is handed wired graphs and numbers, and asks
for what only the grader may compute (the stand-in engine's gradients).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from typing import Any, Callable, cast

from .. import ops
from ..limits import Limits, Protections
from ..intake.untrusted import clean_all
from . import protocol, rules
from .boundary import is_root
from .prepared import Prepared, write_folder
from .source import loop_around
from .process import Launch, WorkerProcess
from .tasks import CALLBACKS, Answer, ErrorAnswer, Frame, GradientsQuestion, Layers, Settings

MAX_TEXT = 4000       # characters of any one string in an answer (a name, a message)


@dataclass
class Outcome:
    """What one probe brought back: a result (plain data) or an error record, and what was
    printed."""

    result: Answer | None = None         # the task's record (tasks.py), checked
    error: ErrorAnswer | None = None
    output: str = ""
    seconds: float = 0.0
    refused: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def gradients(payload: GradientsQuestion) -> Any:
    """The stand-in engine's question: d(output)/d(leaf) for each leaf of the graph it made;
    None (no gradients, which the stand-in raises as the student code's own failure) for a
    graph that is not one or cannot be differentiated."""
    spec = ops.checked(payload.get("spec"), CALLBACKS["gradients"])
    leaves = payload.get("leaves")
    if spec is None or not isinstance(leaves, list) or \
            not all(type(i) is int and 0 <= i < len(spec) for i in leaves):
        return None
    try:
        return ops.leaf_gradients(spec, leaves)
    except (ArithmeticError, ValueError, TypeError):
        # Values too large to differentiate, or a power that leaves the real numbers
        # ((-2) ** 0.5, or x ** 0.5 nudged below 0 at x = 0): no gradients.
        return None


ANSWERERS: dict[str, Callable[[GradientsQuestion], Any]] = {"gradients": gradients}
ASKING_WORLDS = ("standin", "model")     # the worlds whose engine is the grader's stand-in


class Sandbox:
    """One world's worker: started on first use (or warmed up), replaced when it dies."""

    def __init__(self, prepared: Prepared, world: str, limits: Limits,
                 protections: Protections, launch: Launch, seccomp: bytes | None,
                 clock: Callable[[], float]) -> None:
        self.prepared = prepared
        self.world = world
        self.limits = limits
        self.protections = protections
        self.remaining = clock
        self.launch = launch
        self.seccomp = seccomp
        self.worker: WorkerProcess | None = None
        self.starts = 0                   # workers started so far
        self.layers: Layers = {}  # what the last worker sealed itself with
        self._next_id = 0
        launch.root = write_folder(prepared, launch.ids, is_root(),
                                   shared=launch.boundary == "bubblewrap")

    def _settings(self) -> Settings:
        ids = self.launch.ids if self.launch.boundary == "bubblewrap" else None
        preload = sorted(self.prepared.admitted.imports) if self.protections.admission else None
        guard = rules.runtime_policy(preload) if self.protections.guard else None
        return {"submission": self.launch.inside(), "memory_mb": self.limits.memory_mb,
                "modules": self.prepared.modules, "world": self.world,
                "uid": ids[0] if ids else None, "gid": ids[1] if ids else None,
                "guard": guard, "refused": self.prepared.refused(),
                "syscalls": self.protections.syscalls,
                "seccomp": self.seccomp.hex() if self.seccomp and self.protections.syscalls
                else None, "landlock": self.protections.syscalls}

    def warm_up(self) -> None:
        """Start the worker now, without waiting: it seals itself while the grader starts."""
        if self.worker is None:
            self._spawn()

    def _spawn(self) -> WorkerProcess:
        self.starts += 1
        self.worker = WorkerProcess(self.launch, self._settings(), self.limits.output_kb)
        return self.worker

    def generation(self) -> int | None:
        """Which worker is running now (a count of starts), None when none is."""
        return self.starts if self.worker is not None and self.worker.alive() else None

    def reap(self) -> None:
        """Kill whatever the last check started besides the worker."""
        if self.worker is not None and self.worker.ready and os.name == "posix":
            self.worker.kill_strays(keep=self.worker.pid)

    def kill(self) -> None:
        if self.worker is not None:
            self.worker.kill()
            self.worker = None

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.launch.root, ignore_errors=True)

    def _ready_worker(self) -> tuple[WorkerProcess | None, ErrorAnswer | None]:
        worker = self.worker
        if worker is None or not worker.alive():
            self.kill()
            worker = self._spawn()
        failed = worker.await_ready()
        if failed is not None:
            self.worker = None
            return None, failed
        self.layers = worker.layers
        return worker, None

    def request(self, task: str, timeout: float | None = None, **args: Any) -> Outcome:
        """Run one probe; never raises for anything the submission does."""
        limit = self.limits.check_timeout if timeout is None else timeout
        left = self.remaining()
        if left <= 0:
            return Outcome(error={"kind": "run_timeout", "message": f"not run: the whole "
                                  f"submission used its {self.limits.run_timeout:g} s"})
        wait = min(limit, left)
        began = time.monotonic()
        worker, failed = self._ready_worker()
        if worker is None:
            return Outcome(error=failed, seconds=time.monotonic() - began)
        self._next_id += 1
        markers_before = worker.output.markers
        began = time.monotonic()
        deadline = began + wait
        line = worker.pipes.send(protocol.request(self._next_id, task, args), deadline) or \
            self._answer_line(worker, deadline)
        seconds = time.monotonic() - began
        if line == "timeout":
            where = worker.sample()
            output = worker.output.take()
            self.kill()
            message = f"timed out after {limit:g} s" if wait >= limit else \
                f"not finished: the whole submission used its {self.limits.run_timeout:g} s"
            error: ErrorAnswer = {"kind": "timeout" if wait >= limit else "run_timeout",
                                  "message": message, **self._located(where)}
            return Outcome(error=error, output=output,
                           seconds=wait)
        if line is None or not isinstance(line, (bytes, dict)):
            error = worker.ended(self.limits.memory_mb)
            output = worker.output.take()
            self.kill()
            return Outcome(error=error, output=output, seconds=seconds)
        # Everything printed during the probe is read before the output is taken, so the
        # output shown under a check is the same on every run.
        until = time.monotonic() + 1.0
        while worker.output.markers <= markers_before and time.monotonic() < until:
            worker.pipes.poll(0.01)
        return self._outcome(worker, task, line, worker.output.take(), seconds)

    def _located(self, where: Frame | None) -> ErrorAnswer:
        """Where a stopped worker's student code was, as an error record's frame: the file,
        line, function and text, and the loop around it ("loop": its first line)."""
        if not isinstance(where, dict) or not isinstance(where.get("line"), int):
            return {}
        file, line = str(where.get("file"))[:100], int(where["line"])
        raw = self.prepared.sources.get(file[:-3]) if file.endswith(".py") else None
        if raw is None:
            return {}
        source = raw.decode("utf-8", "replace")
        lines = source.splitlines()
        text = lines[line - 1].strip()[:200] if 0 < line <= len(lines) else ""
        frame: Frame = {"file": file, "line": line, "function": str(where.get("function"))[:200],
                 "text": text}
        return {"where": f"{file}:{line} in {frame['function']}", "line": text,
                "stack": [frame], "loop": loop_around(source, line)}

    def _answer_line(self, worker: WorkerProcess, deadline: float) -> Any:
        """The worker's answer to the request, its questions answered meanwhile: the decoded
        answer, None at the worker's end, "timeout", or the undecodable line."""
        while True:
            line = worker.pipes.next_line(deadline)
            if not isinstance(line, bytes):
                return b"" if line == "overflow" else line
            value = protocol.decode_answer(line, worker.keys)
            if value is None:
                return line
            question = protocol.callback(value)
            if question is None:
                return value
            # Only a world on the grader's stand-in engine has a question to ask: the student's
            # own world is answered nothing (its engine's gradients are its own to compute).
            reply = self._reply(question, value)
            if worker.pipes.send(protocol.reply(reply), deadline) == "timeout":
                return "timeout"

    def _reply(self, question: str, value: dict[str, Any]) -> Any:
        """The answer to a worker's question; None when it has none. A worker that asked is
        waiting for a line: when answering fails (a grader bug, shown as one), the worker is
        killed first, so that it never reads the next request as its reply."""
        if self.world not in ASKING_WORLDS:
            return None
        try:
            # A question's payload is checked by its answerer (ops.checked for a graph).
            return ANSWERERS[question](cast(GradientsQuestion, value))
        except Exception:
            self.kill()
            raise

    def _outcome(self, worker: WorkerProcess, task: str, response: Any, output: str,
                 seconds: float) -> Outcome:
        if not isinstance(response, dict) or response.get("id") != self._next_id:
            self.kill()
            return Outcome(error={"kind": "protocol", "message":
                                  "the worker's answer was garbled or forged (did the code "
                                  "write to the grader's channel?)"}, output=output,
                           seconds=seconds)
        refused = [clean_all(r, MAX_TEXT) for r in (response.get("refused") or [])[:50]
                   if isinstance(r, str)]
        if response.get("ok") is True and isinstance(response.get("result"), dict):
            wrong = protocol.misshapen(task, response["result"])
            if wrong is None:
                return Outcome(result=clean_all(response["result"], MAX_TEXT), output=output,
                               seconds=seconds, refused=refused)
            self.kill()
            return Outcome(error={"kind": "protocol", "message":
                                  f"the worker's answer was malformed ({wrong}): did the code "
                                  f"write to the grader's channel?"}, output=output,
                           seconds=seconds, refused=refused)
        error = response.get("error")
        if not isinstance(error, dict):
            error = {"kind": "protocol", "message": "the worker's answer was garbled"}
        return Outcome(error=clean_all(error, MAX_TEXT), output=output, seconds=seconds,
                       refused=refused)

