"""The score layer, pure: check records and a submission's facts (plain data) -> GradingResult."""

from __future__ import annotations

from typing import Iterable, Sequence

from . import __version__, steps
from .intake.facts import Facts
from .intake.notebook import Rebuilt, relocate
from .intake.todos import TodoStatus
from .limits import GradingSettings, LimitValues
from .results import CheckRecord, CheckResult, GradingResult, StepResult
from .intake.untrusted import clean


def check_result(record: CheckRecord) -> CheckResult:
    state = "passed" if record.passed else ("failed" if record.state == "passed" else
                                            record.state)
    return CheckResult(
        number=record.number, step=record.step, title=record.title,
        weight=float(record.weight), visible=record.visible, state=state,
        # Messages and output hold text from the submission: no control characters pass.
        message=clean(record.message), output=clean(record.output),
        error_kind=record.error_kind, blocked_by=record.blocked_by,
        diagnosis=clean(record.diagnosis) if record.diagnosis is not None else None,
        end_to_end=record.end_to_end)


def _not_implemented_in(check: CheckResult, record: CheckRecord) -> str | None:
    """The step whose stub raised NotImplementedError during this check, if any."""
    error = record.error
    if error.get("kind") == "not_implemented" and error.get("step") in steps.STEP_IDS:
        return str(error["step"])
    return None


def score_step(step: steps.Step, records: Sequence[CheckRecord],
               untouched_todos: Sequence[str], todo: str | None,
               file_absent: bool = False) -> StepResult:
    checks = [check_result(r) for r in records]
    total_weight = sum(c.weight for c in checks) or 1.0
    for c in checks:
        c.max_points = round(step.points * c.weight / total_weight, 4)
        c.points = c.max_points if c.passed else 0.0
    points = float(round(sum(c.points for c in checks), 2))
    # Checks of weight 0 are advice: they are reported, but never change the state or score.
    graded = [c for c in checks if c.weight > 0]
    graded_records = [r for c, r in zip(checks, records) if c.weight > 0]
    if graded and all(c.passed for c in graded):
        return StepResult(step.id, step.title, float(step.points), float(step.points), "passed",
                          todo, checks)
    if file_absent and step.bonus:
        # A submission without extensions.py simply has not started the bonus.
        return StepResult(step.id, step.title, 0.0, float(step.points), "not started",
                          step.file, checks)
    state = _state(step, graded, graded_records, untouched_todos)
    return StepResult(step.id, step.title, points, float(step.points), state, todo, checks)


def _state(step: steps.Step, checks: list[CheckResult], records: Sequence[CheckRecord],
           untouched_todos: Sequence[str]) -> str:
    """A step that did not pass: not started, partly passed or failed. Each step is graded on
    its own, so none waits for another: an end-to-end check that fails because of an earlier
    step says so on the check itself (blocked_by)."""
    own_todo_untouched = bool(step.todos) and len(untouched_todos) == len(step.todos)
    raised_own = [_not_implemented_in(c, r) == step.id for c, r in zip(checks, records)]
    if own_todo_untouched or (checks and all(raised_own)):
        return "not started"
    if not step.todos and checks and all(_not_implemented_in(c, r) is not None
                                         for c, r in zip(checks, records)):
        return "not started"         # given code waiting for a step's TODO
    if any(c.passed for c in checks):
        return "partly passed"
    return "failed"


def credit_blocked_runs(results: dict[str, StepResult]) -> None:
    """A mistake costs points once, in its own step: an end-to-end run that fails because of
    another step, which lost points for it, costs nothing more, when every check of this
    step's own passed. (The classifier's own check trains on the kit's engine for this.)"""
    for step in results.values():
        own = [c for c in step.checks if c.weight > 0 and not c.end_to_end]
        if not own or not all(c.passed for c in own):
            continue
        for check in step.checks:
            if _blocked(check, step, results.get(check.blocked_by or "")):
                check.state = "credited"
                check.points = check.max_points
        graded = [c for c in step.checks if c.weight > 0]
        if any(c.state == "credited" for c in graded):
            step.points = float(round(sum(c.points for c in step.checks), 2))
            if all(c.passed or c.state == "credited" for c in graded):
                step.state, step.points = "passed", step.max_points


def _blocked(check: CheckResult, step: StepResult, cause: StepResult | None) -> bool:
    """An end-to-end run that failed because of another step, which lost points for it."""
    return check.end_to_end and check.state == "failed" and check.weight > 0 and \
        cause is not None and cause is not step and cause.max_points > 0 and \
        cause.points < cause.max_points


# What an error kind says about the whole run, for the batch's status column.
INCIDENTS: dict[str, str] = {"timeout": "timed out", "run_timeout": "timed out",
                             "crash": "crashed", "killed": "crashed", "exit": "crashed"}


def grade(facts: Facts, records: Iterable[CheckRecord], settings: GradingSettings,
          only: Sequence[str] | None = None, seconds: float = 0.0,
          run_problems: Sequence[tuple[str, str]] = (),
          notes: Sequence[str] = ()) -> GradingResult:
    """The result of one run: check records and the submission's facts in, a GradingResult out.

    `run_problems`: (error kind, text) of what went wrong outside the checks (a module that
    could not be imported, a file not copied)."""
    if facts.invalid:
        return invalid(facts, settings, only)
    by_step: dict[str, list[CheckRecord]] = {s: [] for s in steps.STEP_IDS}
    for record in records:
        if record.step in by_step:
            by_step[record.step].append(record)
    results: dict[str, StepResult] = {}
    for step in steps.STEPS:
        if only and step.id not in only and not by_step[step.id]:
            continue
        status = facts.todos.get(step.id, TodoStatus((), step.file))
        results[step.id] = score_step(step, by_step[step.id], status.untouched,
                                      status.location, not facts.has(step.file))
    credit_blocked_runs(results)
    if only:
        # The steps before the ones asked for ran too (an end-to-end run names them as its
        # cause, and is credited by what they scored); only those asked for are reported.
        results = {s: r for s, r in results.items() if s in only}
    # The same failure met by both engines' worlds (a file that does not import) is one problem.
    problems = list(dict.fromkeys([*facts.problems, *(text for _, text in run_problems)]))
    result = _total(facts.label, [results[s] for s in steps.STEP_IDS if s in results], settings,
                    problems, seconds)
    result.incident, result.reason = _incident(result, run_problems)
    result.notes = [clean(note) for note in dict.fromkeys(notes)]
    if facts.cells is not None:
        _relocate(result, facts.cells)
    return result


def invalid(facts: Facts, settings: LimitValues,
            only: Sequence[str] | None = None) -> GradingResult:
    """Nothing could be graded (no engine.py, not a zip, not Python text): 0, with the reason."""
    result = _zero(facts.label, settings, list(facts.problems), only)
    result.status = "invalid"
    result.reason = facts.problems[0] if facts.problems else "not a submission"
    if facts.cells is not None:
        _relocate(result, facts.cells)
    return result


def failed(label: str, reason: str, settings: LimitValues, seconds: float = 0.0,
           problems: Sequence[str] = ()) -> GradingResult:
    """The one result for a grading that could not be done or trusted: 0, with the reason."""
    result = _zero(label, settings, [*problems, reason], None, seconds)
    result.status = "error"
    result.reason = reason
    return result


def _zero(label: str, settings: LimitValues, problems: list[str],
          only: Sequence[str] | None, seconds: float = 0.0) -> GradingResult:
    chosen = [s for s in steps.STEPS if not only or s.id in only]
    return _total(label, [StepResult(s.id, s.title, 0.0, float(s.points), "failed")
                          for s in chosen], settings, problems, seconds)


def _total(label: str, ordered: list[StepResult], settings: LimitValues,
           problems: Sequence[str], seconds: float) -> GradingResult:
    core = [s for s in ordered if not steps.get(s.id).bonus]
    bonus = [s for s in ordered if steps.get(s.id).bonus]
    return GradingResult(
        submission=clean(label),
        score=float(round(sum(s.points for s in core), 2)),
        max_score=float(sum(s.max_points for s in core)),
        bonus_score=float(round(sum(s.points for s in bonus), 2)),
        bonus_max=float(sum(s.max_points for s in bonus)),
        steps=ordered,
        settings=_settings(settings),
        problems=[clean(p) for p in problems],
        seconds=round(seconds, 2),
        grader_version=__version__,
    )


def _incident(result: GradingResult, run_problems: Sequence[tuple[str, str]]
              ) -> tuple[str | None, str]:
    """Whether the run timed out or crashed somewhere, and where: from error kinds, never from
    the wording of a message."""
    for wanted in ("timed out", "crashed"):
        for kind, text in run_problems:
            if INCIDENTS.get(kind) == wanted:
                return wanted, clean(text)
        for step in result.steps:
            for check in step.checks:
                if INCIDENTS.get(check.error_kind or "") == wanted:
                    first = check.message.splitlines()[0] if check.message else ""
                    return wanted, f"{check.number}: {first}"
    return None, "; ".join(result.problems)


def _relocate(result: GradingResult, cells: Rebuilt) -> None:
    """A notebook's result in a notebook's words: every file:line as the cell and line it came
    from, every file as its cells, and each step's place as its cell."""
    def there(text: str) -> str:
        # Cleaned again: a cell is named by its first line, which is the student's text.
        return clean(relocate(text, cells))

    result.notebook = "kernel" if cells.in_kernel else "saved"
    result.problems = [there(p) for p in result.problems]
    result.notes = [there(n) for n in result.notes]
    result.reason = there(result.reason)
    for step in result.steps:
        # A TODO's place is a line of a cell; a step whose code cannot be read (its cell not
        # run, or not Python) is shown its cell.
        step.todo = there(step.todo) if step.todo and ":" in step.todo else \
            clean(cells.step_cell(step.id))
        for check in step.checks:
            check.message = there(check.message)
            if check.diagnosis:
                check.diagnosis = there(check.diagnosis)


def _settings(settings: LimitValues) -> GradingSettings:
    """The settings, copied for the result (a failed grading's are its limits alone)."""
    copy: GradingSettings = {**settings}
    return copy
