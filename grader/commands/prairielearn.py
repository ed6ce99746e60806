"""`python -m grader prairielearn --root /grade`: PrairieLearn's external grader entrypoint.

PrairieLearn copies the student's files to /grade/student and reads /grade/results/results.json
when the container ends; the file is always written, whatever happens."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Sequence

from .. import scoring
from ..api import grade_path
from ..intake.facts import Facts
from ..limits import Limits, Protections, container_memory_mb, memory_cap
from ..report.files import write_text
from ..report.prairielearn import Results, results_json
from ..report.summary import protections_text
from ..cli import options



def grade_into(root: Path, limits: Limits, run_as: str | None = "auto",
               protections: Protections | None = None) -> Results:
    started = time.monotonic()
    out = Path(root) / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    student = Path(root) / "student"
    try:
        if not student.is_dir() or not any(student.iterdir()):
            result = scoring.invalid(Facts("your submission", (
                "No files were submitted: submit engine.py, nn.py and train.py (and "
                "extensions.py for the bonus).",), invalid=True), limits.as_dict())
        else:
            result = grade_path(student, label="your submission", limits=limits, run_as=run_as,
                                protections=protections)
            shields = result.settings.get("protections")
            if shields:
                print(f"protections: {protections_text(shields)}")
    except Exception:
        traceback.print_exc(file=sys.stdout)
        result = scoring.failed("your submission", "The grader failed while grading this "
                                "submission; this is not a problem with your code.",
                                limits.as_dict(), time.monotonic() - started)
    data = results_json(result)
    write_text(out, json.dumps(data, indent=2))
    return data


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader prairielearn",
        description="Grade ROOT/student into ROOT/results/results.json, in PrairieLearn's "
                    "external grading format (the entrypoint of the grading container).")
    parser.add_argument("--root", type=Path, default=Path("/grade"),
                        help="the grading job's folder (default /grade)")
    options.limit_options(parser, memory_default=None)
    args = parser.parse_args(argv)
    args.memory_mb = memory_cap(args.memory_mb)
    print(f"memory cap of the student's code: {args.memory_mb} MB "
          f"(container limit: {container_memory_mb() or 'unknown'} MB)")
    data = grade_into(args.root, options.limits(parser, args), run_as=args.sandbox_user,
                      protections=options.protections(args))
    print(f"wrote {args.root / 'results' / 'results.json'}: "
          f"{'score ' + str(data['score']) if data.get('gradable') else 'not gradable'}")
    return 0
