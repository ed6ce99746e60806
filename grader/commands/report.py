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
from ..untrusted import clean_all


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader report",
        description="Print a saved result (grades/STUDENT.json of a batch, or the output of "
                    "--json) as the scoreboard, or as the Markdown feedback a batch writes.")
    parser.add_argument("result", type=Path, help="a result saved as JSON")
    parser.add_argument("--markdown", action="store_true", help="the feedback page instead")
    args = parser.parse_args(argv)
    try:
        # A file from anywhere: no escape sequence of it reaches the terminal.
        data = clean_all(json.loads(args.result.read_text(encoding="utf-8")))
        if not isinstance(data, dict) or data.get("kit") != "micrograd-kit":
            raise ValueError("not a result of micrograd-kit")
        result = result_from_dict(data)
        text = feedback(result) if args.markdown else \
            scoreboard(result, colour=use_colour(sys.stdout), commands=False)
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        parser.error(f"{args.result} cannot be read as a saved result: "
                     f"{type(exc).__name__}: {exc}")
    sys.stdout.write(text)
    return 0
