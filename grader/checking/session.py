"""The state of one grading run that every check shares, a check's failure, and how an error the
worker reported reads: what the checks' Kit stands on (grader side only)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..limits import Limits
from ..results import CheckRecord
from ..sandbox.tasks import SOFTMAX, TASKS, ErrorAnswer, Frame
from ..sandbox.worlds import Worlds
from .anatomy import EngineProfile


class CheckFailed(AssertionError):
    """A check's verdict: failed, with a message for the student."""

    def __init__(self, message: str, *, kind: str = "wrong", error: ErrorAnswer | None = None,
                 diagnosis: str | None = None, blocked_by: str | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.error = error or {}
        self.diagnosis = diagnosis
        self.blocked_by = blocked_by


@dataclass(frozen=True)
class LoadFailure:
    """A student's file that could not be loaded in one world: the message every check that
    needs it fails with, and the error record (import failures are the same for every check)."""

    text: str
    error: ErrorAnswer


@dataclass
class Session:
    """State shared by all checks of one grading run (grader side only)."""

    worlds: Worlds
    limits: Limits
    steps: tuple[str, ...] | None = None          # None: every step
    missing: tuple[str, ...] = ()                 # submission files that do not exist
    sweep: int | None = None                      # run randomized checks with this many seeds
    records: list[CheckRecord] = field(default_factory=list)
    load_failures: dict[tuple[str, str, bool], LoadFailure] = field(default_factory=dict)
    # The stand-in cannot stand in for an engine whose extras nn.py uses: then "student".
    standin: str = "standin"
    notes: list[str] = field(default_factory=list)
    started: dict[str, ErrorAnswer] = field(default_factory=dict)   # step -> its stub's error
    given_changed: tuple[str, ...] = ()           # given functions the submission changed
    loaded: dict[tuple[str, str, bool], int] = field(default_factory=dict)  # (world, module, apart)
    profile: EngineProfile | None = None          # how the student's Value keeps its graph


# The tasks graded on the stand-in engine by default (the task table says where each runs).
ON_STANDIN = tuple(name for name, (_, world, _) in TASKS.items() if world == "standin")
ON_MODEL = (SOFTMAX,)          # graded on the grader's own network when the student's fails
# What each world provides itself, instead of the student's file.
PROVIDED = {"student": (), "standin": ("engine",), "model": ("engine", "nn")}

# Failures that say nothing about the submission: never remembered as its import failure.
NOT_THE_SUBMISSION = ("killed", "protocol", "sandbox", "run_timeout")
# Errors of numbers grown out of range: where they are raised says little about their cause.
NUMERICAL = ("OverflowError", "ZeroDivisionError", "FloatingPointError")


def describe_error(error: ErrorAnswer) -> str:
    """A few lines for an error the worker (or the sandbox) reported: what, then where, as the
    frames in the student's own files, outermost call first."""
    kind = error.get("kind", "")
    message = str(error.get("message", "")).strip()
    if kind == "not_implemented":
        text = f"not implemented yet: {message}"
    elif kind == "syntax":
        text = f"SyntaxError: {message}"
    elif kind == "recursion":
        text = f"RecursionError: {message}"
    elif kind in ("timeout", "run_timeout", "crash", "exit", "killed", "protocol", "memory",
                  "refused", "sandbox", "missing", "interrupt", "import", "api"):
        text = message
    else:
        etype = error.get("type")
        text = f"{etype}: {message}" if etype else message
    stack = [f for f in error.get("stack") or [] if isinstance(f, dict)]
    if stack:
        shown: list[Frame | None] = \
            list(stack) if len(stack) <= 4 else [*stack[:2], None, *stack[-2:]]
        for frame in shown:
            if frame is None:
                text += f"\n  ... {len(stack) - 4} more calls ..."
                continue
            text += f"\n  at {frame.get('file')}:{frame.get('line')} in {frame.get('function')}"
            if frame.get("text"):
                text += f":  {frame.get('text')}"
    elif error.get("where"):
        where, line = error.get("where"), error.get("line")
        text += f"\n  at {where}" + (f":  {line}" if line else "")
    return text


def as_number(x: Any) -> float | None:
    """A value from the worker as a float; None unless it is a real, finite JSON number."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def fmt(x: float | None) -> str:
    return "not a number" if x is None else f"{x:.6g}"
