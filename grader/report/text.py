"""The scoreboard and a step's hint: what a student reads in a terminal, a notebook or on
Gradescope."""

from __future__ import annotations

import os
import textwrap
from typing import TextIO

from .. import __version__, steps
from ..results import CheckResult, GradingResult, StepResult

STATE_MARK = {
    "passed": "PASS",
    "partly passed": "PART",
    "failed": "FAIL",
    "not started": "TODO",
}
COLOURS = {"PASS": "32", "PART": "33", "FAIL": "31", "TODO": "2"}


def use_colour(stream: TextIO) -> bool:
    """Colour on a terminal, or wherever FORCE_COLOR is set (a CI log that shows colour);
    never when NO_COLOR is set (https://no-color.org, https://force-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
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


# The end of the course in a notebook: the cell that trains the network (grader/commands/notebook.py).
TRAINING_RUN_CELL = 'the cell under "The training run"'


def location(submission: str, where: str, notebook: str = "") -> str:
    """Where to look: a file in the submission's folder, or a cell of its notebook."""
    if notebook:
        return f"{submission}, {where}" if where else submission
    return os.path.join(submission, where)


def _place(result: GradingResult, step: StepResult) -> str:
    """Where a step's work is: its TODO, else its file; in a notebook, its cell."""
    fallback = "" if result.notebook else steps.get(step.id).file
    return location(result.submission, step.todo or fallback, result.notebook)


def state_text(step: StepResult) -> str:
    return step.state


def count_text(checks: list[CheckResult]) -> str:
    """How many of these checks passed and how many of them are hidden, in one phrase that every
    place of the report uses: "9 of 11 checks passed, 10 of them hidden"."""
    graded = [c for c in checks if c.weight > 0 and
              c.state in ("passed", "failed", "error", "credited", "not_run")]
    hidden = sum(1 for c in graded if not c.visible)
    passed = sum(1 for c in graded if c.passed)
    not_run = sum(1 for c in graded if c.state == "not_run")
    hidden_text = "hidden" if hidden == len(graded) == 1 else \
        "all hidden" if hidden == len(graded) and len(graded) > 1 else \
        f"{hidden} of them hidden" if hidden else "none hidden"
    return f"{passed} of {len(graded)} checks passed" + \
        (f", {not_run} not run" if not_run else "") + f", {hidden_text}"


def _summary(check: CheckResult) -> str:
    """One line that can be read on its own: what was built (shortened), the upstream gradient
    when one was set, and what came out."""
    lines = check.message.splitlines() or [check.state]
    gist = next((line for line in reversed(lines)
                 if not line.startswith(("also wrong:", "  at ", "This run uses"))), lines[0])
    first = lines[0]
    if first.startswith("built ") and gist is not first:
        what = first[len("built "):]
        what = what if len(what) <= 70 else what[:67] + "..."
        upstream = next((part.split(" and ")[0].split(", then")[0] for line in lines[1:3]
                         for part in [line] if "out.grad = " in line), "")
        if upstream:
            upstream = "; " + upstream[upstream.index("out.grad = "):].rstrip(",")
        return f"{what}{upstream}: {gist}"
    return gist


def check_lines(check: CheckResult, full: bool) -> list[str]:
    head = f"x {check.number} {check.title}"
    if not full:
        return [head, f"    {_summary(check)}"]
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
    """Failed checks that cost no points: advice (weight 0), and end-to-end runs credited
    because another step, which lost points for it, makes them fail."""
    lines = []
    for check in step.checks:
        if check.state == "credited":
            cause = f": it fails because {check.blocked_by} does not pass yet" \
                if check.blocked_by else ""
            lines.append(f"  note ({check.number}, no points lost){cause}: {check.title}")
        elif check.weight == 0 and not check.passed and check.state in ("failed", "error"):
            lines.append(f"  note ({check.number}, no points): {check.title}")
            if check.diagnosis:
                lines.append(_indent(check.diagnosis, "    "))
    return lines


def _collapsed(failing: list[CheckResult]) -> list[tuple[CheckResult, list[CheckResult]]]:
    """Failing checks with the same message and diagnosis (an error repeated in every check,
    "not run" after a timeout) shown once: each first one, with those that repeat it."""
    groups: dict[tuple[str, str], tuple[CheckResult, list[CheckResult]]] = {}
    for check in failing:
        gist = (check.message.splitlines() or [""])[-1] if check.state == "not_run" else \
            check.message
        key = (gist, check.diagnosis or "")
        if key in groups:
            groups[key][1].append(check)
        else:
            groups[key] = (check, [])
    return list(groups.values())


def _span(checks: list[CheckResult]) -> str:
    names = [c.number for c in checks]
    return ", ".join(names) if len(names) <= 3 else f"{names[0]} to {names[-1]}"


def step_feedback(step: StepResult, submission: str, max_full: int = 1,
                  notebook: str = "", problems: list[str] | None = None) -> list[str]:
    """Feedback for one step: the first failure in full, the others summarised, and each named
    mistake only once. `notebook`: the result's (cells are named, never files); `problems`:
    those at the top of the report, when known."""
    failing = [c for c in step.checks if not c.passed and c.weight > 0]
    # Lead with a failure the grader could explain, if there is one.
    failing.sort(key=lambda c: c.diagnosis is None)
    lines = [f"{step.id}: {state_text(step)}, {_points(step.points)}/{_points(step.max_points)} "
             f"points ({count_text(step.checks)})"]
    if failing and all(c.error_kind == "import" for c in failing):
        return lines + [_not_graded(failing[0], notebook, problems)]
    lines += _failures(failing, max_full)
    return lines + _where_to_look(step, failing, submission, notebook)


def _not_graded(first_failure: CheckResult, notebook: str, problems: list[str] | None) -> str:
    """A step whose file did not load: the reason's first line, and where the rest is."""
    first = first_failure.message.splitlines()[0]
    first = first if len(first) <= 90 else first[:first.find(":", 20) % 90 or 90] + " ..."
    # check() in a notebook leaves out what is only cells not run yet: nothing to see there.
    at_top = notebook != "kernel" or problems is None or \
        any(p.startswith(first.removesuffix(" ...")) for p in problems)
    return f"  not graded: {first}" + (" (see the top of this report)" if at_top else "")


def _failures(failing: list[CheckResult], max_full: int) -> list[str]:
    """The failing checks: repeats collapsed, the first ones (and each new diagnosis) in full."""
    lines: list[str] = []
    shown = 0
    said: set[str] = set()
    groups = _collapsed(failing)
    for check, same in groups:
        full = shown < max_full or (check.diagnosis is not None and check.diagnosis not in said
                                    and shown < 3)
        lines.extend(_indent(line, "  ") for line in check_lines(check, full))
        if same:
            lines.append(f"    (the same in {len(same)} more check{'s' if len(same) > 1 else ''}"
                         f": {_span(same)})")
        if full and check.diagnosis:
            said.add(check.diagnosis)
        shown += 1
        left = len(failing) - sum(1 + len(s) for _, s in groups[:shown])
        if shown >= 6 and left > 0:
            lines.append(f"  ... and {left} more failing checks")
            break
    return lines


def _where_to_look(step: StepResult, failing: list[CheckResult], submission: str,
                   notebook: str) -> list[str]:
    """Where to look first: the step that makes this one's runs fail, the given code that
    does, or this step's own TODOs."""
    meta = steps.get(step.id)
    causes = {c.blocked_by for c in failing}
    cause = causes.pop() if len(causes) == 1 else None
    if failing and cause is not None and cause != step.id and cause in steps.STEP_IDS:
        # Only end-to-end runs fail, because of another step: point there, not at this code.
        passing = any(c.passed for c in step.checks if c.weight > 0)
        return [f"  Look at {cause} first: " + (
            f"every other check of {step.id} passes" if passing else
            f"{step.id}'s failing checks fail because of it")]
    if failing and cause is not None and steps.given_file(cause):
        given = "" if notebook else str(steps.given_file(cause))
        return [f"  Look at the given {cause} in {location(submission, given, notebook)}"]
    if meta.todos:
        where = step.todo or ("" if notebook else meta.file)
        return [f"  Look at {', '.join(meta.todos)} in {location(submission, where, notebook)}"]
    return []


def command_for(label: str) -> str:
    """The command that grades the same submission again (nothing added for exercises/)."""
    if label in ("exercises/", "exercises", ""):
        return "python -m grader"
    if label == "solutions/":
        return "python -m grader --solutions"
    shown = label if " " not in label else f'"{label}"'
    return f"python -m grader {shown}"


def scoreboard(result: GradingResult, *, colour: bool = False, commands: bool = True) -> str:
    """The scoreboard as text. `commands`: suggest command lines (not on Gradescope, nor in a
    notebook, where there is no command line to type them into)."""
    out = [f"micrograd-kit: grading {result.submission}", ""]
    out += [f"  ! {problem}" for problem in result.problems]
    out += [f"  i {note}" for note in result.notes]
    if result.problems or result.notes:
        out.append("")
    out += _table(result, colour) + [""]
    # In a running notebook, "grading again" is running the fixed cell, then the check.
    again = "run that cell again, then this check" if result.notebook == "kernel" else \
        "grade again"
    fix = f"Next: fix the problem marked ! above, then {again}."
    if result.status in ("invalid", "error"):
        # Nothing was graded: the reason is at the top, and no step has feedback of its own.
        out.append(fix if result.status == "invalid" else
                   "Next: grade again; if this happens again, tell whoever runs the grader.")
        return _finish(out, result)
    nxt = result.next_step
    core = result.core_steps
    core_done = bool(core) and all(s.passed for s in core)
    if nxt is None or (core_done and nxt.id not in {s.id for s in core}):
        out += _all_passed(result, nxt, commands)
        if nxt is None:
            return _finish(out, result)
    if result.problems:
        out.append(fix)
    out += _next(result, nxt, commands)
    if not core_done:
        for step in result.steps:
            if step.passed:
                out.extend(advice(step))
    out.extend(_printed_note(result))
    out += _feedback(result)
    return _finish(out, result)


def _table(result: GradingResult, colour: bool) -> list[str]:
    """A row per step, the total of the core steps, then the bonus steps and theirs."""
    def paint(mark: str) -> str:
        return f"\x1b[{COLOURS[mark]}m{mark}\x1b[0m" if colour else mark

    width = max(len(s.id) for s in result.steps) if result.steps else 8
    out: list[str] = []

    def rows(step_results: list[StepResult]) -> None:
        for step in step_results:
            mark = STATE_MARK.get(step.state, "FAIL")
            score = f"{_points(step.points):>4}/{_points(step.max_points):<3}" if \
                step.max_points else f"{'check':>8}"
            out.append(f"  {paint(mark)}  {step.id:<{width}}  {score}  {state_text(step)}")

    core, bonus = result.core_steps, result.bonus_steps
    if core:
        rows(core)
        out.append(f"        {'total':<{width}}  {_points(result.score):>4}/"
                   f"{_points(result.max_score):<3}  {_bar(result.score, result.max_score)}")
    if bonus:
        out += ["", f"  bonus steps, apart from the {steps.TOTAL_POINTS} points:"] if core else []
        rows(bonus)
        out.append(f"        {'bonus':<{width}}  {_points(result.bonus_score):>4}/"
                   f"{_points(result.bonus_max):<3}")
    return out


def _all_passed(result: GradingResult, nxt: StepResult | None, commands: bool) -> list[str]:
    """Every step graded passed (or every core step, the bonus to go): say so, and what next."""
    core, bonus = result.core_steps, result.bonus_steps
    graded = [c for s in (result.steps if nxt is None else core) for c in s.checks]
    if len(core) == len(steps.CORE_STEPS):
        names = "Every step" if nxt is None else "Every core step"
    else:
        names = " and ".join(s.id for s in (result.steps if nxt is None else core))
    extra = ", bonus included" if nxt is None and bonus and core else ""
    out = [f"{names} passed{extra}: {count_text(graded)}."]
    for step in result.steps:
        if step.passed:
            out.extend(advice(step))
    out.extend(_printed_note(result))
    if len(core) == len(steps.CORE_STEPS) and result.notebook:
        out.append(f"Run {TRAINING_RUN_CELL} to watch your network learn.")
    elif len(core) == len(steps.CORE_STEPS) and commands:
        out.append("Run `python exercises/train.py` to watch your network learn.")
    if nxt is not None:
        out += ["", f"Bonus (optional): {nxt.id}, {steps.get(nxt.id).title}."]
    return out


def _next(result: GradingResult, target: StepResult, commands: bool) -> list[str]:
    """The step to work on next, where it is, and the two commands that help with it."""
    out = [f"{'Then' if result.problems else 'Next'}: {target.id} "
           f"({steps.get(target.id).title}), in {_place(result, target)}"]
    if commands:
        again = command_for(result.submission)
        hint, only = f"python -m grader hint {target.id}", f"{again} --step {target.id}"
        width = max(len(hint), len(only)) + 4
        out.append(f"  {hint:<{width}}a nudge in the right direction")
        out.append(f"  {only:<{width}}check only this step")
    return out


def _feedback(result: GradingResult) -> list[str]:
    """Each step begun and not passed, its failures; steps not graded for one reason (a file
    that did not load) said once."""
    feedback_steps = [s for s in result.steps if not s.passed and s.state != "not started"]
    if not feedback_steps:
        return []
    out = [""]
    unloaded: dict[str, list[str]] = {}
    for step in feedback_steps:
        lines = step_feedback(step, result.submission, notebook=result.notebook,
                              problems=result.problems)
        if len(lines) == 2 and lines[1].startswith("  not graded: "):
            unloaded.setdefault(lines[1], []).append(step.id)
            continue
        out += [*lines, ""]
    for line, ids in unloaded.items():
        out += [f"{_and(ids)}: {line.strip()}", ""]
    return out


def _printed_note(result: GradingResult) -> list[str]:
    """A word on what the code printed in steps that pass (their checks are not listed)."""
    printed = [s for s in result.steps if s.passed and any(c.output for c in s.checks)]
    if not printed:
        return []
    first = next(c.output for c in printed[0].checks if c.output).strip().splitlines()
    return [f"  note: your code printed while {_and([s.id for s in printed])} "
            f"{'was' if len(printed) == 1 else 'were'} graded (printing costs nothing; those "
            f"steps pass, so their checks are not listed). It began:",
            *(f"    | {line[:100]}" for line in first[:3])]


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _finish(lines: list[str], result: GradingResult) -> str:
    """The lines as text, ending with which grader gave the grade (for a regrade request)."""
    text = "\n".join(line.rstrip() for line in lines).rstrip()
    return f"{text}\n\ngraded by micrograd-kit {result.grader_version or __version__}\n"


def check_details(check: CheckResult) -> str:
    """One check in full for a platform's test entry: what it did and got, the mistake it names,
    what the student's code printed."""
    parts = [check.message] if check.message else []
    if check.diagnosis:
        parts.append(f"-> {check.diagnosis}")
    if check.output:
        parts.append("your code printed:\n" + check.output)
    return "\n".join(parts)


def hint_text(step_id: str, notebook: bool = False) -> str:
    """A step's hint; `notebook`: for a notebook, whose cells are not the kit's files."""
    step = steps.get(step_id)
    where = ", ".join(step.todos) or "given code" if notebook else step.where
    lines = [f"{step.id}: {step.title}  ({step.points} points, {where})", "",
             textwrap.fill(step.hint, width=88)]
    if step.needs:
        lines += ["", f"Its end-to-end run uses: {', '.join(steps.all_needs(step.id))}."]
    return "\n".join(lines)
