"""`python -m grader hint STEP`: a nudge for one step (no pytest, no grading)."""

from __future__ import annotations

import argparse
import textwrap
from typing import Sequence

from .. import steps


def hint_text(step_id: str, notebook: bool = False) -> str:
    """A step's hint; `notebook`: for a notebook, whose cells are not the kit's files."""
    step = steps.get(step_id)
    where = ", ".join(step.todos) or "given code" if notebook else step.where
    lines = [f"{step.id}: {step.title}  ({step.points} points, {where})", "",
             textwrap.fill(step.hint, width=88)]
    if step.needs:
        lines += ["", f"Its end-to-end run uses: {', '.join(steps.all_needs(step.id))}."]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader hint",
                                     description="Print a step's hint.")
    parser.add_argument("step", choices=steps.STEP_IDS)
    print(hint_text(parser.parse_args(argv).step))
    return 0
