"""Grading processes for a batch: a fresh process per submission, a few at a time, each under a
wall-clock watchdog of its own. One that overruns is killed with everything it started, and its
submission gets a result that says so; the others go on."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Generic, Sequence, TypeVar

from ..sandbox import cleanup

POLL = 0.5          # seconds between looks at the clock while nothing finishes


R = TypeVar("R")          # what a job's work returns (a result as JSON data, for a batch)


@dataclass
class Job(Generic[R]):
    """One submission's grading: its arguments, and what came of it."""

    key: Any
    args: tuple[Any, ...]
    result: R | None = None
    problem: str | None = None          # why there is no result (timed out, crashed)
    seconds: float = 0.0                # from the start of its grading to its end


def _serve(conn: Any, work: Callable[..., Any]) -> None:
    """A grading process: grade each job it is handed until it is handed None. Kept from one
    submission to the next (what a grading process sets up once is set up once), and replaced
    when the watchdog kills it."""
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):
            return
        if args is None:
            return
        try:
            answer: tuple[str, Any] = ("done", work(*args))
        except BaseException as exc:   # the grader failed: said, never a hang of the batch
            answer = ("failed", f"{type(exc).__name__}: {exc}")
        conn.send(answer)


def _kill(process: Any) -> None:
    """The grading process and every process it started (its sandbox workers, their strays)."""
    pid = process.pid
    for _ in range(20):
        tree = cleanup.children_tree(pid) if sys.platform == "linux" and pid else None
        cleanup.kill_all(tree or ())
        if process.is_alive():
            process.kill()
        process.join(0.2)
        if not process.is_alive():
            return


@dataclass
class _Slot:
    process: Any
    conn: Any
    job: Job[Any] | None = None
    started: float = 0.0


def run(jobs: Sequence[Job[R]], work: Callable[..., R], workers: int,
        deadline: float, done: Callable[[Job[R]], None]) -> None:
    """Run `work(*job.args)` for every job in grading processes of this module's own,
    `workers` at a time; a job still running `deadline` seconds after it started is killed with
    its process. `done(job)` is called in this process as each one ends."""
    context = multiprocessing.get_context("spawn")     # the same on Linux, macOS and Windows
    waiting = list(jobs)[::-1]
    slots: list[_Slot] = []

    def start() -> _Slot:
        mine, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, work), daemon=True)
        process.start()
        theirs.close()
        return _Slot(process, mine)

    try:
        while waiting or any(slot.job for slot in slots):
            _hand_out(slots, waiting, start, min(max(1, workers), len(jobs)))
            busy = [slot for slot in slots if slot.job is not None]
            ready = multiprocessing.connection.wait(
                [s.conn for s in busy] + [s.process.sentinel for s in busy], timeout=POLL)
            now = time.monotonic()
            for k, slot in enumerate(slots):
                job = slot.job
                if job is None or not _ended(slot, ready, now, deadline):
                    continue
                job.seconds = now - slot.started
                slot.job = None
                if not slot.process.is_alive():
                    slot.conn.close()
                    slots[k] = start() if waiting else _Slot(slot.process, slot.conn)
                done(job)
    finally:
        for slot in slots:
            _stop(slot)


def _hand_out(slots: list[_Slot], waiting: list[Job], start: Callable[[], _Slot],
              wanted: int) -> None:
    """Replace dead idle processes, start up to `wanted`, and give each idle one a job."""
    for k, slot in enumerate(slots):
        if slot.job is None and waiting and not slot.process.is_alive():
            slots[k] = start()
    while len(slots) < wanted:
        slots.append(start())
    for slot in slots:
        if slot.job is None and waiting:
            slot.job, slot.started = waiting.pop(), time.monotonic()
            slot.conn.send(slot.job.args)


def _ended(slot: _Slot, ready: list[Any], now: float, deadline: float) -> bool:
    """Whether the slot's job ended (answered, died, or overran and was killed); its result
    or problem is set on the job."""
    job = slot.job
    assert job is not None
    if slot.conn in ready or slot.process.sentinel in ready:
        try:
            answer = slot.conn.recv()
        except (EOFError, OSError):
            answer = None
        kind = answer[0] if isinstance(answer, tuple) and len(answer) == 2 else None
        if kind == "done":
            job.result = answer[1]
        elif kind == "failed":
            job.problem = f"the grader failed on this submission: {answer[1]}"
        else:
            slot.process.join(1)
            job.problem = (f"the grading process ended without a result (exit "
                           f"status {slot.process.exitcode})")
        return True
    if now - slot.started > deadline:
        _kill(slot.process)
        job.problem = (f"grading took longer than {deadline:g} seconds and was "
                       f"stopped (the batch's watchdog)")
        return True
    return False


def _stop(slot: _Slot) -> None:
    try:
        slot.conn.send(None)
    except (OSError, ValueError):
        pass
    slot.process.join(2)
    if slot.process.is_alive():
        _kill(slot.process)
    slot.conn.close()
