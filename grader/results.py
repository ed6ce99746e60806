"""The result model: plain dataclasses that every report (text, JSON, CSV, Gradescope) is a view of."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from .limits import GradingSettings
from .steps import CORE_IDS


@dataclass
class CheckRecord:
    """One check as it ran, grader side: what its marker declares, and its verdict. Made by
    the checks' conftest, filled in by the check, read by the scoring."""

    number: str                        # "mul.3": the step and the check's place in it
    name: str
    step: str
    title: str
    weight: float
    visible: bool = False
    needs: tuple[str, ...] = ()
    end_to_end: bool = False
    edge: bool = False                 # it tests extreme inputs (an overflow)
    passed: bool = False
    state: str = "failed"              # passed, failed, error, not_run
    message: str = ""
    output: str = ""                   # what the student's code printed during it
    error_kind: str | None = None
    error: Mapping[str, Any] = field(default_factory=dict)   # the worker's error record
    diagnosis: str | None = None
    blocked_by: str | None = None      # the step that made an end-to-end run fail
    limit: float = 0.0                 # the longest time limit any of its probes had
    seconds: float = 0.0               # the time its probes took


@dataclass
class CheckResult:
    number: str                 # "add.3": step id and position within the step
    step: str
    title: str
    weight: float
    visible: bool               # shown in the tutorial / to students before the deadline
    state: str                  # passed | failed | not_run | error | credited (an end-to-end
    #                             run failing because of another step, which lost its points)
    message: str = ""
    output: str = ""            # what the student's code printed during this check (truncated)
    points: float = 0.0
    max_points: float = 0.0
    error_kind: str | None = None
    blocked_by: str | None = None   # the step an end-to-end check's failure comes from
    diagnosis: str | None = None
    end_to_end: bool = False        # runs the student's whole engine, every step included

    @property
    def passed(self) -> bool:
        return self.state == "passed"

    @property
    def earned(self) -> bool:
        """Its points are the student's: it passed, or it is an end-to-end run credited because
        another step, which lost points for it, makes it fail."""
        return self.state in ("passed", "credited")


@dataclass
class StepResult:
    id: str
    title: str
    points: float
    max_points: float
    state: str                  # passed | partly passed | failed | not started
    todo: str | None = None     # "engine.py:27" for the first TODO of this step still to do
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.state == "passed"


@dataclass
class GradingResult:
    submission: str
    score: float
    max_score: float
    steps: list[StepResult]
    settings: GradingSettings
    problems: list[str] = field(default_factory=list)   # submission-level, e.g. a missing file
    seconds: float = 0.0
    status: str = "graded"      # graded | invalid | error (the grader itself failed)
    incident: str | None = None  # "timed out" | "crashed": somewhere in the run, for the batch
    reason: str = ""            # why: the first problem, the check that timed out, ...
    bonus_score: float = 0.0    # the extension steps, apart from the 100 points
    bonus_max: float = 0.0
    grader_version: str = ""    # the grader that gave this grade
    notes: list[str] = field(default_factory=list)   # how it was graded, when not the usual way
    # "saved" (a .ipynb handed in) or "kernel" (check() in a running notebook): the feedback
    # then names cells and suggests nothing to type in a terminal; "" for files.
    notebook: str = ""

    def step(self, step_id: str) -> StepResult:
        return next(s for s in self.steps if s.id == step_id)

    def step_earned(self, step_id: str) -> bool:
        """Whether a step counts as done where steps are recorded all or nothing (`--step`'s
        exit status): all its points (an end-to-end run credited because another step fails
        is counted by scoring already)."""
        return self.step(step_id).passed

    @property
    def core_steps(self) -> list[StepResult]:
        return [s for s in self.steps if s.id in CORE_IDS]

    @property
    def bonus_steps(self) -> list[StepResult]:
        return [s for s in self.steps if s.id not in CORE_IDS]

    @property
    def next_step(self) -> StepResult | None:
        """The first step not passed: the core ones first, then the bonus."""
        return next((s for s in self.core_steps + self.bonus_steps if not s.passed), None)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for step, raw in zip(self.steps, data["steps"]):
            raw["passed"] = step.passed
            for check, raw_check in zip(step.checks, raw["checks"]):
                raw_check["passed"] = check.passed
        return data


def result_from_dict(data: dict[str, Any]) -> GradingResult:
    """A GradingResult from its JSON form (as written by report/json.py); unknown keys ignored."""
    def pick(cls: Any, raw: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
    steps = []
    for raw_step in data.get("steps") or []:
        checks = [CheckResult(**pick(CheckResult, c)) for c in raw_step.get("checks") or []]
        steps.append(StepResult(**{**pick(StepResult, raw_step), "checks": checks}))
    return GradingResult(**{**pick(GradingResult, data), "steps": steps})
