"""Grading as a library function, the one every command calls: intake -> run the checks -> score."""

from __future__ import annotations

import compileall
import sys
import time
from pathlib import Path
from typing import Sequence

from . import scoring, steps
from .checking.runner import CHECKS, run_checks
from .intake.facts import Facts, gather
from .intake.notebook import Rebuilt
from .intake.submission import Submission, open_submission
from .limits import GradingSettings, Limits, Protections
from .results import GradingResult
from .sandbox import integrity


def grade_path(path: Path | Sequence[Path], *, limits: Limits | None = None,
               only: Sequence[str] | None = None, run_as: str | None = "auto",
               label: str | None = None, sweep: int | None = None,
               protections: Protections | None = None,
               cells: Rebuilt | None = None) -> GradingResult:
    """Grade a submission in any form `open_submission` accepts; never raises for anything the
    submission does or is. `cells`: the notebook cells the folder was rebuilt from (messages
    then name cells, not lines of the rebuilt files)."""
    unknown = [s for s in only or () if s not in steps.STEP_IDS]
    if unknown:
        raise ValueError(f"unknown step {unknown[0]!r}; the steps are {', '.join(steps.STEP_IDS)}")
    limits = limits or Limits()
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    shown = label or (str(paths[0]) if paths else ".")
    try:
        sub = open_submission([Path(p) for p in paths], label)
    except Exception as exc:     # an unreadable path, a permission problem: a result, not a crash
        return scoring.invalid(Facts(shown, (f"the submission could not be opened: "
                                             f"{type(exc).__name__}: {exc}",), invalid=True),
                               limits.as_dict(), only)
    if cells is not None:
        sub.notebook = cells
    if sub.notebook is not None:
        sub.problems += [p for p in sub.notebook.left_out if p not in sub.problems]
    try:
        return grade_submission(sub, limits=limits, only=only, run_as=run_as, sweep=sweep,
                                protections=protections)
    except Exception as exc:
        # A failure of the grader itself is reported as a result of 0 with the reason, so one bad
        # submission never stops a batch or leaves a student with a traceback.
        return scoring.failed(shown, f"the grader failed on this submission ({type(exc).__name__}: "
                                     f"{exc}); this is a bug in the grader, not in the submission",
                              limits.as_dict(), problems=sub.problems)
    finally:
        sub.close()


def grade_submission(sub: Submission, *, limits: Limits | None = None,
                     only: Sequence[str] | None = None, run_as: str | None = "auto",
                     sweep: int | None = None,
                     protections: Protections | None = None) -> GradingResult:
    limits = limits or Limits()
    started = time.monotonic()
    facts = gather(sub)
    if facts.invalid:
        return scoring.invalid(facts, limits.as_dict(), only)
    # While it grades, the grader writes no bytecode of its own: any change to its files,
    # caches included, is then the submission's doing. The checks' own bytecode is written
    # before (as Python would on import, where it writes bytecode at all), so that they do not
    # have to be compiled again on every run.
    if not sys.dont_write_bytecode:
        compileall.compile_dir(str(CHECKS), quiet=2, workers=1)
    writing, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        before = integrity.digest()
        # The steps before the last one asked for run too, and only `only` is reported: an
        # end-to-end run can then say which earlier step it fails because of, and a bug whose
        # effect depends on memory addresses (an order by id()) meets the same worker history
        # as in a full run, so --step and the full run agree.
        running = None if not only else \
            list(steps.STEP_IDS[:max(steps.STEP_IDS.index(s) for s in only) + 1])
        outcome = run_checks(sub, limits, running, run_as=run_as, sweep=sweep,
                             protections=protections, given_changed=facts.given_changed)
        changed = integrity.changed(before)
    finally:
        sys.dont_write_bytecode = writing
    settings: GradingSettings = {**limits.as_dict(), **outcome.sandbox}
    if changed:
        # Something (the submission, through a same-user worker) edited the grader mid-run.
        # A planted bytecode file would run in every later grading: the caches go.
        integrity.drop_bytecode()
        integrity.remove_added_files(before)
        return scoring.failed(facts.label, f"the grader's own files changed while this "
                                           f"submission was graded ({', '.join(changed[:3])}): "
                                           f"the result cannot be trusted and is 0", settings,
                              time.monotonic() - started, facts.problems)
    return scoring.grade(facts, outcome.records, settings, only,
                         seconds=time.monotonic() - started, run_problems=outcome.problems,
                         notes=outcome.notes)
