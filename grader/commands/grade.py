"""`python -m grader [PATH] [--step STEP] [--json] [--watch]`: grade one submission."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .. import steps
from ..api import grade_path
from ..report.classroom import github_output
from ..report.json import write_json
from ..report.text import scoreboard, use_colour
from ..cli import options
from ..interactive.watch import watch

DESCRIPTION = (f"Grade a micrograd-kit submission: every step's hidden checks, scored out of "
               f"{steps.TOTAL_POINTS}.")
EPILOG = """\
examples:
  python -m grader                  grade exercises/
  python -m grader --step tanh      grade one step
  python -m grader --watch          re-grade the step you are on at every save
  python -m grader hint tanh        a hint for one step
  python -m grader steps            the steps, their points and where their TODOs are
  python -m grader policy           what your code may import and use
  python -m grader --solutions      grade the reference solutions (instructors)
  python -m grader path/to/copy     grade a student's copy of exercises/
  python -m grader --json           one JSON document instead of the scoreboard
"""


def parser(commands: str = "") -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(prog="python -m grader", description=DESCRIPTION,
                                   epilog=(commands + "\n" if commands else "") + EPILOG,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    made.add_argument("path", nargs="*",
                      help="a folder laid out like exercises/ (default: exercises/), a folder "
                           "or .zip holding one, or loose engine.py/nn.py/train.py files")
    made.add_argument("--solutions", action="store_true",
                      help="grade the kit's reference solutions/")
    made.add_argument("--step", choices=steps.STEP_IDS, action="append",
                      help="grade only this step (repeatable); exit status 0 only when it "
                           "earned all its points (bar an end-to-end run that fails because "
                           "of another step, which that step is charged for)")
    made.add_argument("--json", action="store_true",
                      help="print one JSON document (format in docs/json-format.md) "
                           "instead of text")
    made.add_argument("--watch", action="store_true",
                      help="keep running: re-grade the step you are on each time you save a "
                           "file it grades, a notebook too (Ctrl-C stops)")
    made.add_argument("--min-score", type=float, default=None, metavar="N",
                      help="exit with status 1 when the score is below N")
    made.add_argument("--classroom-output", metavar="FILE", default=None,
                      help="also append the result for GitHub Classroom's grading reporter to "
                           "FILE (the workflow gives $GITHUB_OUTPUT)")
    options.limit_options(made)
    return made


def main(argv: Sequence[str], commands: str = "") -> int:
    cli = parser(commands)
    args = cli.parse_args(argv)
    limits = options.limits(cli, args)
    path, label = options.target(cli, args)
    if args.watch:
        if args.json:
            cli.error("--watch shows the scoreboard; it does not combine with --json")
        return watch(path, label=label, limits=limits, run_as=args.sandbox_user, only=args.step,
                     colour=use_colour(sys.stdout), protections=options.protections(args))
    result = grade_path(path, limits=limits, only=args.step, label=label,
                        run_as=args.sandbox_user, protections=options.protections(args))
    if args.json:
        write_json(result)
    else:
        sys.stdout.write(scoreboard(result, colour=use_colour(sys.stdout)))
    if args.classroom_output:
        with open(args.classroom_output, "a", encoding="ascii") as output:
            output.write(github_output(result))
    if args.step and any(not result.step_earned(s) for s in args.step):
        return 1
    if args.min_score is not None and result.score < args.min_score:
        return 1
    return 0
