"""`python -m grader steps [--markdown]`: the step table (no pytest, no grading)."""

from __future__ import annotations

import argparse
from typing import Sequence

from .. import steps


def steps_markdown() -> str:
    """The step table as Markdown, as the README and the docs show it (a test keeps them so)."""
    rows = ["| step | points | what you write | where | its end-to-end run uses |",
            "| --- | ---: | --- | --- | --- |"]
    for step in steps.STEPS:
        if step.bonus and step is steps.BONUS_STEPS[0]:
            rows.append(f"| total | {steps.TOTAL_POINTS} | | | |")
        where = f"`{step.file}`: " + ", ".join(f"`{t}`" for t in step.todos) if step.todos \
            else f"`{step.file}` (given code)"
        needs = ", ".join(steps.all_needs(step.id)) or "-"
        name = f"`{step.id}` (bonus)" if step.bonus else f"`{step.id}`"
        points = "checkpoint" if step.checkpoint else str(step.points)
        rows.append(f"| {name} | {points} | {step.title} | {where} | {needs} |")
    rows.append(f"| bonus total | {steps.BONUS_POINTS} | apart from the {steps.TOTAL_POINTS} | | |")
    return "\n".join(rows)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader steps", description="List the steps.")
    parser.add_argument("--markdown", action="store_true", help="as a Markdown table")
    if parser.parse_args(argv).markdown:
        print(steps_markdown())
        return 0
    print(f"{'step':<12} {'points':>6}  where")
    for step in steps.STEPS:
        if step is steps.BONUS_STEPS[0]:
            print(f"{'total':<12} {steps.TOTAL_POINTS:>6}")
            print(f"bonus, apart from the {steps.TOTAL_POINTS} points:")
        points = "check" if step.checkpoint else str(step.points)
        print(f"{step.id:<12} {points:>6}  {step.where}")
    print(f"{'bonus total':<12} {steps.BONUS_POINTS:>6}")
    return 0
