"""Grades back into the learning platform a class came from: a Canvas gradebook import and a
Moodle grading worksheet, each a CSV that the platform's own import reads.

Canvas, Grades > Import (canvas-lms app/models/gradebook_importer.rb): the header must start
`Student, ID`, then `SIS User ID, SIS Login ID`, and the last student column must be `Section`;
every later column is an assignment (`Title (assignment id)` matches an existing one, another
title creates one). A row whose first cell is `Points Possible` sets a new assignment's points.
A student is found by the second column, the Canvas user id (the id in the names of Canvas's
submission download), before the SIS ids or the name are tried. Institutions' guides give the
same columns (Ohio State's "Import a CSV file to Carmen Grades": Student, ID, SIS User ID, SIS
Login ID, Section, then the assignment).

Moodle, the assignment's "Upload grading worksheet" (mod/assign/feedback/offline,
importgradesfile.php): the columns are found by their English headers, `Identifier`
(`Participant <number>`: the number after the name in Moodle's submission download), `Grade`
and `Last modified (grade)` (a grade changed in Moodle after that time is not overwritten
unless the instructor allows it); `Full name` is there for the reader.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Sequence

from .. import steps
from ..intake.untrusted import csv_cell
from .stats import Graded

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Identifier", "Full name", "Grade", "Last modified (grade)"]
DEFAULT_ASSIGNMENT = "micrograd-kit"


def _write(rows: Sequence[Sequence[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def canvas_import(graded: Sequence[Graded], assignment: str = DEFAULT_ASSIGNMENT) -> str:
    """The Canvas gradebook import of a class's totals (students with a Canvas user id only:
    an anonymous submission's id is not one the gradebook knows)."""
    rows: list[list[object]] = [[*CANVAS_COLUMNS, csv_cell(assignment)],
                                ["Points Possible", "", "", "", "", steps.TOTAL_POINTS]]
    rows += [[csv_cell(g.student), g.lms_id, "", "", "", f"{g.result.score:g}"]
             for g in graded if g.lms == "canvas" and g.lms_id.isdigit()]
    return _write(rows)


def moodle_worksheet(graded: Sequence[Graded], when: float | None = None) -> str:
    """Moodle's grading worksheet of a class's totals (students from a Moodle download)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
    rows: list[list[object]] = [list(MOODLE_COLUMNS)]
    rows += [[f"Participant {g.lms_id}", csv_cell(g.student), f"{g.result.score:g}", stamp]
             for g in graded if g.lms == "moodle" and g.lms_id.isdigit()]
    return _write(rows)


def left_out(graded: Sequence[Graded], lms: str) -> list[str]:
    """The students a platform's import cannot hold: not from that platform, or no id."""
    return [g.who for g in graded if g.lms != lms or not g.lms_id.isdigit()]
