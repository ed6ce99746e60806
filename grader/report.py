"""The report layer: the scoreboard text and the JSON document, both views of one GradingResult."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

from . import steps
from .results import CheckResult, GradingResult, StepResult

JSON_FORMAT_VERSION = 1

STATE_MARK = {
    "passed": "PASS",
    "partly passed": "PART",
    "failed": "FAIL",
    "not started": "TODO",
    "blocked": "WAIT",
}
COLOURS = {"PASS": "32", "PART": "33", "FAIL": "31", "TODO": "2", "WAIT": "35"}


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.name == "nt" and not (os.environ.get("WT_SESSION") or os.environ.get("TERM")):
        return False      # the classic Windows console would print the escape codes as text
    return bool(getattr(stream, "isatty", lambda: False)())


def _points(x: float) -> str:
    return f"{x:g}" if x == int(x) else f"{x:.1f}"


def _bar(score: float, total: float, width: int = 24) -> str:
    filled = int(round(width * score / total)) if total else 0
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def location(submission: str, where: str) -> str:
    """Where to look: a file in the submission's folder, or a cell of its notebook."""
    if where.startswith(("cell ", "In [")):
        return f"{submission}, {where}"
    return os.path.join(submission, where)


def state_text(step: StepResult) -> str:
    if step.state == "blocked":
        return f"blocked by {step.blocked_by}"
    return step.state


def _hidden_summary(step: StepResult) -> str:
    ran = [c for c in step.checks if c.state in ("passed", "failed", "error")]
    hidden = [c for c in ran if not c.visible]
    visible = [c for c in ran if c.visible]
    parts = []
    if visible:
        parts.append(f"{sum(c.passed for c in visible)} of {len(visible)} visible")
    parts.append(f"{sum(c.passed for c in hidden)} of {len(hidden)} hidden checks passed")
    return ", ".join(parts)


def check_lines(check: CheckResult, full: bool) -> list[str]:
    head = f"x {check.number} {check.title}"
    if not full:
        lines = check.message.splitlines() or [check.state]
        # The line with the numbers, without the context the first failure already showed.
        kept = [line for line in lines if not line.startswith(("also wrong:", "  at "))]
        gist = kept[-1] if kept else lines[0]
        return [head, f"    {gist}"]
    lines = [head]
    if check.message:
        lines.append(_indent(check.message, "    "))
    if check.diagnosis:
        lines.append(_indent(f"-> {check.diagnosis}", "    "))
    if check.output:
        shown = check.output if len(check.output) < 800 else check.output[:800] + "\n..."
        lines.append("    your code printed:")
        lines.append(_indent(shown.rstrip("\n"), "    | "))
    return lines


def advice(step: StepResult) -> list[str]:
    """Failed checks of weight 0: advice that costs no points."""
    lines = []
    for check in step.checks:
        if check.weight == 0 and not check.passed and check.state in ("failed", "error"):
            lines.append(f"  note ({check.number}, no points): {check.title}")
            if check.diagnosis:
                lines.append(_indent(check.diagnosis, "    "))
    return lines


def step_feedback(step: StepResult, submission: str, max_full: int = 1) -> list[str]:
    """Feedback for one step: the first failure in full, the others summarised."""
    meta = steps.get(step.id)
    failing = [c for c in step.checks if not c.passed and c.state != "blocked" and c.weight > 0]
    # Lead with a failure the grader could explain, if there is one.
    failing.sort(key=lambda c: c.diagnosis is None)
    lines = [f"{step.id}: {state_text(step)}, {_points(step.points)}/{_points(step.max_points)} "
             f"points ({_hidden_summary(step)})"]
    if step.state == "blocked":
        lines.append(f"  Fix {step.blocked_by} first: these checks run through it.")
    if failing and all(c.error_kind == "import" for c in failing):
        first = failing[0].message.splitlines()[0]
        lines.append(f"  not graded: {first} (see the top of this report)")
        return lines
    shown = 0
    for check in failing:
        full = shown < max_full
        lines.extend(_indent(line, "  ") for line in check_lines(check, full))
        shown += 1
        if shown >= 6 and len(failing) > shown:
            lines.append(f"  ... and {len(failing) - shown} more failing checks")
            break
    if step.state != "blocked" and meta.todos:
        where = step.todo or meta.file
        lines.append(f"  Look at {', '.join(meta.todos)} in {location(submission, where)}")
    return lines


def scoreboard(result: GradingResult, *, colour: bool = False, show_passed: bool = False) -> str:
    def paint(mark: str) -> str:
        return f"\x1b[{COLOURS[mark]}m{mark}\x1b[0m" if colour else mark

    out = [f"micrograd-kit: grading {result.submission}", ""]
    for problem in result.problems:
        out.append(f"  ! {problem}")
    if result.problems:
        out.append("")
    width = max(len(s.id) for s in result.steps) if result.steps else 8

    def rows(step_results: list[StepResult]) -> None:
        for step in step_results:
            mark = STATE_MARK.get(step.state, "FAIL")
            out.append(f"  {paint(mark)}  {step.id:<{width}}  {_points(step.points):>4}/"
                       f"{_points(step.max_points):<3}  {state_text(step)}")

    core, bonus = result.core_steps, result.bonus_steps
    if core:
        rows(core)
        out.append(f"        {'total':<{width}}  {_points(result.score):>4}/"
                   f"{_points(result.max_score):<3}  {_bar(result.score, result.max_score)}")
    if bonus:
        out += ["", "  bonus steps, apart from the 100 points:"] if core else []
        rows(bonus)
        out.append(f"        {'bonus':<{width}}  {_points(result.bonus_score):>4}/"
                   f"{_points(result.bonus_max):<3}")
    out.append("")

    nxt = result.next_step
    core_done = bool(core) and all(s.passed for s in core)
    if nxt is None or (core_done and nxt.id not in {s.id for s in core}):
        graded = [c for s in (result.steps if nxt is None else core) for c in s.checks
                  if c.weight > 0]
        hidden = sum(1 for c in graded if not c.visible)
        if len(core) == len(steps.CORE_STEPS):
            names = "Every step" if nxt is None and bonus else "Every core step"
            if nxt is None and not bonus:
                names = "Every step"
        else:
            names = " and ".join(s.id for s in (result.steps if nxt is None else core))
        extra = ", bonus included" if nxt is None and bonus and core else ""
        out.append(f"{names} passed{extra}: all {len(graded)} checks ({hidden} of them hidden).")
        for step in result.steps:
            if step.passed:
                out.extend(advice(step))
        if len(core) == len(steps.CORE_STEPS):
            out.append("Run `python exercises/train.py` to watch your network learn.")
        if nxt is None:
            return "\n".join(line.rstrip() for line in out) + "\n"
        out.append("")
        out.append(f"Bonus (optional): {nxt.id}, {steps.get(nxt.id).title}.")

    if result.problems:
        out.append("Next: fix the problem marked ! above, then run the grader again.")
    target = nxt
    if nxt.state == "blocked" and nxt.blocked_by:
        target = result.step(nxt.blocked_by) if any(
            s.id == nxt.blocked_by for s in result.steps) else nxt
    where = target.todo or steps.get(target.id).file
    out.append(f"Next: {target.id} ({steps.get(target.id).title}), in "
               f"{location(result.submission, where)}")
    out.append(f"  python -m grader hint {target.id}      a nudge in the right direction")
    out.append(f"  python -m grader --step {target.id}    check only this step")
    if not core_done:
        for step in result.steps:
            if step.passed:
                out.extend(advice(step))
    feedback_steps = [s for s in result.steps
                      if not s.passed and s.state != "not started"
                      and (show_passed or s.state != "blocked" or s is target)]
    if feedback_steps:
        out.append("")
        for step in feedback_steps:
            out.extend(step_feedback(step, result.submission))
            out.append("")
    return "\n".join(line.rstrip() for line in out).rstrip() + "\n"


def as_json(result: GradingResult) -> dict[str, Any]:
    data = result.as_dict()
    return {"kit": "micrograd-kit", "format": JSON_FORMAT_VERSION, **data}


def write_json(result: GradingResult, stream: TextIO = sys.stdout) -> None:
    json.dump(as_json(result), stream, indent=2, sort_keys=False)
    stream.write("\n")
