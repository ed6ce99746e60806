"""The grading entry point as a library function: the CLI and every other command call this."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Sequence

from . import integrity, scoring, steps
from .results import GradingResult
from .runner import run_checks
from .run.sandbox import Limits, Protections
from .submission import Submission, open_submission

KIT_ROOT = Path(__file__).resolve().parent.parent


def grade_path(path: Path | Sequence[Path], *, limits: Limits | None = None,
               only: Sequence[str] | None = None, run_as: str | None = "auto",
               label: str | None = None, sweep: int | None = None,
               protections: Protections | None = None) -> GradingResult:
    """Grade a submission in any form `open_submission` accepts; never raises for anything the
    submission does or is."""
    unknown = [s for s in only or () if s not in steps.STEP_IDS]
    if unknown:
        raise ValueError(f"unknown step {unknown[0]!r}; the steps are {', '.join(steps.STEP_IDS)}")
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    try:
        sub = open_submission([Path(p) for p in paths], label)
    except Exception as exc:     # an unreadable path, a permission problem: a result, not a crash
        sub = Submission(Path(paths[0]) if paths else Path("."), label or str(paths[0]),
                         [f"the submission could not be opened: {type(exc).__name__}: {exc}"],
                         invalid=True)
    try:
        return grade_submission(sub, limits=limits, only=only, run_as=run_as, sweep=sweep,
                                protections=protections)
    except Exception as exc:
        # A failure of the grader itself is reported as a result of 0 with the reason, so one bad
        # submission never stops a batch or leaves a student with a traceback.
        return scoring.failed(sub, f"the grader failed on this submission ({type(exc).__name__}: "
                                   f"{exc}); this is a bug in the grader, not in the submission",
                              (limits or Limits()).as_dict())
    finally:
        sub.close()


def grade_submission(sub: Submission, *, limits: Limits | None = None,
                     only: Sequence[str] | None = None, run_as: str | None = "auto",
                     sweep: int | None = None,
                     protections: Protections | None = None) -> GradingResult:
    limits = limits or Limits()
    started = time.monotonic()
    if sub.invalid:
        # Nothing to run: every step is 0, with the reason at the top.
        result = scoring.grade(sub, [], limits.as_dict(), only, seconds=0.0)
        result.status = "invalid"
        for step in result.steps:
            step.state = "failed"
        return result
    # While it grades, the grader writes no bytecode of its own: any change to its files,
    # caches included, is then the submission's doing.
    writing, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        before = integrity.digest()
        # A step's end-to-end run says which earlier step it fails because of: those steps'
        # checks run too (they take well under a second), and only `only` is reported.
        running = None if not only else \
            [s for s in steps.STEP_IDS if s in only or any(s in steps.all_needs(o) for o in only)]
        outcome = run_checks(sub, limits, running, run_as=run_as, sweep=sweep,
                             protections=protections)
        sub.problems.extend(p for p in outcome.problems if p not in sub.problems)
        result = scoring.grade(sub, outcome.records, {**limits.as_dict(), **outcome.sandbox},
                               only, seconds=time.monotonic() - started)
        if sub.notebook is not None:
            from .notebook import relocate_result
            relocate_result(result, sub.notebook)
        changed = integrity.changed(before)
    finally:
        sys.dont_write_bytecode = writing
    if changed:
        # Something (the submission, through a same-user worker) edited the grader mid-run.
        # A planted bytecode file would run in every later grading: the caches go.
        integrity.drop_bytecode()
        return scoring.failed(sub, f"the grader's own files changed while this submission was "
                                   f"graded ({', '.join(changed[:3])}): the result cannot be "
                                   f"trusted and is 0", result.settings)
    return result
