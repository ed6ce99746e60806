"""The feedback to send a student: one Markdown page, the scoreboard first, then every failing
check with what it built, what came out and the mistake it names, then the hints of the steps
still to do."""

from __future__ import annotations

import re

from .. import __version__, steps
from ..results import GradingResult, StepResult
from ..intake.untrusted import clean
from .text import count_text, scoreboard


def _fenced(text: str) -> str:
    # Text from a submission may hold backticks: a fence longer than any run of them.
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text.rstrip()}\n{fence}"


def _plain(text: str) -> str:
    """Text that Markdown shows as it is, on one line: a name from a folder or a zip cannot
    add a heading, a score or HTML to the page."""
    return re.sub(r"([\\`*_{}\[\]<>()#+\-.!|&~])", r"\\\1", " ".join(clean(text).split()))


def _inline(text: str) -> str:
    """A sentence of ours that may quote a submission's names: kept on one line, with no HTML
    (its `code` spans stay as they are)."""
    text = " ".join(clean(text).split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def feedback(result: GradingResult, student: str | None = None) -> str:
    """The feedback page: the scoreboard, every failing check of each step begun, the hints."""
    name = _plain(student or result.submission)
    lines = [f"# micrograd-kit: feedback for {name}", "",
             f"**{result.score:g}/{result.max_score:g}** points"
             + (f", and {result.bonus_score:g}/{result.bonus_max:g} bonus points"
                if result.bonus_max else "") + ".", ""]
    lines += [_fenced(scoreboard(result, colour=False, commands=False)), ""]
    to_do = [s for s in result.steps if not s.passed]
    for step in (s for s in to_do if s.state != "not started"):
        lines += _step_section(step)
    hinted = [s for s in to_do if steps.get(s.id).hint]
    if hinted:
        lines += ["## Hints", ""]
        lines += [f"- **{step.id}**: {steps.get(step.id).hint}" for step in hinted]
        lines.append("")
    lines.append(f"_Graded by micrograd-kit {result.grader_version or __version__}._")
    return "\n".join(lines) + "\n"


def _step_section(step: StepResult) -> list[str]:
    """A step's failing checks, each with what was built, the mistake and what it printed."""
    failing = [c for c in step.checks if not c.passed and c.weight > 0]
    if not failing:
        return []
    lines = [f"## {step.id}: {step.title}", "",
             f"{step.state}, {step.points:g}/{step.max_points:g} points "
             f"({count_text(step.checks)}).", ""]
    for check in failing:
        lines += [f"### {check.number}: {check.title}", ""]
        if check.message:
            lines += [_fenced(check.message), ""]
        if check.diagnosis:
            lines += [f"**The mistake:** {_inline(check.diagnosis)}", ""]
        if check.output:
            lines += ["Your code printed:", "", _fenced(check.output), ""]
    return lines
