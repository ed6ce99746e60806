"""The gradebook view: one CSV row per student, cells a spreadsheet will not evaluate."""

from __future__ import annotations

import csv
import io
from typing import Any, Sequence

from .. import __version__, steps
from ..results import GradingResult
from ..untrusted import csv_cell

COLUMNS = ["student", "status", "reason", *steps.CORE_IDS, "total",
           *[s.id for s in steps.BONUS_STEPS], "bonus", "grader"]
# What a run's status says, for the gradebook: how it went, whatever the points.
STATUSES = ("graded", "timed out", "crashed", "invalid", "error")


def status_of(result: GradingResult) -> tuple[str, str]:
    """(status, reason) of one result, from the model's fields."""
    if result.status in ("invalid", "error"):
        return result.status, result.reason or "; ".join(result.problems)
    broken = [c for s in result.steps for c in s.checks if c.state == "error"]
    if broken:
        # A check the grader itself failed on: the total may be wrong; a rerun regrades it.
        first = (broken[0].message.splitlines() or [""])[0]
        return "error", f"the grader failed in check {broken[0].number}: {first}"
    if result.incident:
        return result.incident, result.reason
    return "graded", result.reason or "; ".join(result.problems)


def row(student: str, result: GradingResult) -> dict[str, Any]:
    status, reason = status_of(result)
    reason = "; ".join(line.strip() for line in reason.splitlines() if line.strip())   # one line
    cells: dict[str, Any] = {"student": csv_cell(student), "status": status,
                             "reason": csv_cell(reason)}
    points = {s.id: s.points for s in result.steps}
    for step_id in steps.STEP_IDS:
        cells[step_id] = points.get(step_id, 0.0)
    cells["total"] = result.score
    cells["bonus"] = result.bonus_score
    cells["grader"] = csv_cell(result.grader_version or __version__)
    return cells


def table(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
