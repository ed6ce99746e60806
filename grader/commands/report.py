"""`python -m grader report RESULT.json`: a saved result (a batch's, or `--json`) shown again."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from ..report.markdown import feedback
from ..report.text import scoreboard, use_colour
from ..results import result_from_dict


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader report",
        description="Print a saved result (grades/STUDENT.json of a batch, or the output of "
                    "--json) as the scoreboard, or as the Markdown feedback a batch writes.")
    parser.add_argument("result", type=Path, help="a result saved as JSON")
    parser.add_argument("--markdown", action="store_true", help="the feedback page instead")
    args = parser.parse_args(argv)
    try:
        data = json.loads(args.result.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("kit") != "micrograd-kit":
            raise ValueError("not a result of micrograd-kit")
        result = result_from_dict(data)
    except (OSError, ValueError, TypeError) as exc:
        parser.error(f"{args.result} cannot be read as a saved result: {exc}")
    if args.markdown:
        sys.stdout.write(feedback(result))
    else:
        sys.stdout.write(scoreboard(result, colour=use_colour(sys.stdout), commands=False))
    return 0
