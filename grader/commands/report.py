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
from ..intake.untrusted import clean_all, read_regular

MAX_RESULT_BYTES = 20_000_000      # a batch's saved result is well under 1 MB
MAX_TEXT = 20_000                  # characters of any one text of it


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader report",
        description="Print a saved result (grades/STUDENT.json of a batch, or the output of "
                    "--json) as the scoreboard, or as the Markdown feedback a batch writes.")
    parser.add_argument("result", type=Path, help="a result saved as JSON")
    parser.add_argument("--markdown", action="store_true", help="the feedback page instead")
    args = parser.parse_args(argv)
    try:
        # A file from anywhere: read only if it is a regular file of a bounded size, and no
        # escape sequence nor endless text of it reaches the terminal.
        raw = read_regular(args.result, MAX_RESULT_BYTES)
        if raw is None:
            raise ValueError(f"not a regular file of at most {MAX_RESULT_BYTES // 1_000_000} MB")
        data = clean_all(json.loads(raw.decode("utf-8")), limit=MAX_TEXT)
        if not isinstance(data, dict) or data.get("kit") != "micrograd-kit":
            raise ValueError("not a result of micrograd-kit")
        result = result_from_dict(data)
        text = feedback(result) if args.markdown else \
            scoreboard(result, colour=use_colour(sys.stdout), commands=False)
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError,
            RecursionError, OverflowError) as exc:
        parser.error(f"{args.result} cannot be read as a saved result: "
                     f"{type(exc).__name__}: {exc}")
    sys.stdout.write(text)
    return 0
