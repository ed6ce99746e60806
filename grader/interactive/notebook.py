"""What a notebook's cells call: check() grades the cells run so far, hint() gives a nudge.

Notebooks of every release import them as `from grader.notebook import check, hint`, a name
grader/notebook.py keeps. The notebook itself is built by grader/commands/notebook.py and read
back by grader/intake/notebook.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from .. import steps
from ..api import grade_path
from ..intake.notebook import MARKER, NOT_RUN_YET, rebuild, step_key
from ..report.text import hint_text, scoreboard


def _history_cells() -> list[tuple[int, str, tuple[str, str] | None]]:
    from IPython import get_ipython   # only ever called inside a notebook kernel
    shell = get_ipython()
    history = list(shell.user_ns.get("In", [])) if shell is not None else []
    cells: list[tuple[int, str, tuple[str, str] | None]] = []
    for number, source in enumerate(history):
        first = source.lstrip().splitlines()[:1]
        match = MARKER.match(first[0]) if first else None
        if match:
            cells.append((number, source, (match.group(1), match.group(2))))
    return cells


def check(step: str | None = None) -> None:
    """Grade the cells run so far (the last run of each) and print that step's scoreboard."""
    if step is not None and step not in steps.STEP_IDS:
        print(f"unknown step {step!r}; the steps are {', '.join(steps.STEP_IDS)}")
        return
    rebuilt = rebuild(_history_cells(), in_kernel=True)
    if "engine" not in rebuilt.sources:
        print("Run the cell that defines class Value (and your step's cell) first, then this one.")
        return
    if step is not None and step_key(step) not in rebuilt.parts:
        module, part = step_key(step)
        print(f'Run the cell of step {step} (the one starting "# micrograd-kit {module}:{part}") '
              f"first, then this one.")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for module, text in rebuilt.sources.items():
            (Path(tmp) / f"{module}.py").write_text(text, encoding="utf-8")
        result = grade_path(Path(tmp), only=[step] if step else None, label="this notebook",
                            cells=rebuilt)
    # Modules whose cells have not been run yet are not a problem for the step being checked.
    result.problems = [p for p in result.problems if not p.endswith(NOT_RUN_YET)]
    # In a notebook there is no command line: the scoreboard suggests none.
    print(scoreboard(result, colour=False, commands=False).rstrip())


def hint(step: str) -> None:
    """Print a step's hint, as `python -m grader hint STEP` does."""
    if step not in steps.STEP_IDS:
        print(f"unknown step {step!r}; the steps are {', '.join(steps.STEP_IDS)}")
        return
    print(hint_text(step, notebook=True))
