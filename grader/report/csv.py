"""The gradebook view: one CSV row per student, cells a spreadsheet will not evaluate."""

from __future__ import annotations

import csv
import io
from typing import Any, Sequence

from .. import __version__, steps
from ..results import GradingResult
from ..similarity import Pair
from ..intake.untrusted import csv_cell

# id: the student's id on the learning platform the class was exported from (Canvas's user id,
# Moodle's participant number), empty for a folder per student; seconds: the grading's own
# time; late: Canvas marked the submission late.
COLUMNS = ["student", "id", "status", "reason", *steps.CORE_IDS, "total",
           *[s.id for s in steps.BONUS_STEPS], "bonus", "seconds", "late", "grader"]
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


def row(student: str, result: GradingResult, student_id: str = "",
        late: bool = False) -> dict[str, Any]:
    status, reason = status_of(result)
    reason = "; ".join(line.strip() for line in reason.splitlines() if line.strip())   # one line
    cells: dict[str, Any] = {"student": csv_cell(student), "id": csv_cell(student_id),
                             "status": status, "reason": csv_cell(reason)}
    points = {s.id: s.points for s in result.steps}
    for step_id in steps.STEP_IDS:
        cells[step_id] = points.get(step_id, 0.0)
    cells["total"] = result.score
    cells["bonus"] = result.bonus_score
    cells["seconds"] = round(result.seconds, 2)
    cells["late"] = "late" if late else ""
    cells["grader"] = csv_cell(result.grader_version or __version__)
    return cells


BOM = "\ufeff"     # how Excel knows a CSV is UTF-8 (without it, é in a name shows as Ã©)


def table(rows: Sequence[dict[str, Any]], excel: bool = False) -> str:
    """The CSV; `excel`: with a byte-order mark, so that Excel reads it as UTF-8."""
    out = io.StringIO()
    if excel:
        out.write(BOM)
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


PAIR_COLUMNS = ["student", "id", "similar to", "similar to id", "shared", "lines", "other lines"]


def pairs_table(who: dict[str, tuple[str, str]], pairs: Sequence[Pair],
                excel: bool = False) -> str:
    """The similar pairs, one a row (`who`: key -> (name, id)); the reference solutions are
    named solutions/."""
    out = io.StringIO()
    if excel:
        out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(PAIR_COLUMNS)
    for pair in pairs:
        a, a_id = who.get(pair.a, (pair.a, ""))
        b, b_id = who.get(pair.b, (pair.b, ""))
        writer.writerow([csv_cell(a), csv_cell(a_id), csv_cell(b), csv_cell(b_id),
                         f"{pair.score:.0%}",
                         csv_cell("; ".join(f"{r.a_file}:{r.a_first}-{r.a_last}"
                                            for r in pair.regions)),
                         csv_cell("; ".join(f"{r.b_file}:{r.b_first}-{r.b_last}"
                                            for r in pair.regions))])
    return out.getvalue()
