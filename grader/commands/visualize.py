"""`python -m grader visualize`: the tutorial's neuron as the student's engine computes it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..intake.submission import open_submission
from ..interactive import gradient_view
from ..cli import options


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader visualize",
        description="Serve a page (on 127.0.0.1) that draws the tutorial's neuron as your engine "
                    "computes it, with sliders, and finite differences beside every gradient.")
    parser.add_argument("path", nargs="?", help="the engine to show (default: exercises/)")
    parser.add_argument("--solutions", action="store_true", help="show the reference solutions")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--svg", type=Path, metavar="FILE",
                        help="write the graph as an SVG file and exit, without a server")
    parser.add_argument("--sandbox-user", default="auto", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    path, label = options.target(parser, args)
    sub = open_submission([path], label)
    opened = [sub]
    try:
        if sub.invalid:
            print(f"error: {sub.problems[0]}", file=sys.stderr)
            return 2
        if args.svg:
            data = gradient_view.write_svg(sub.root, args.svg, run_as=args.sandbox_user)
            if "error" in data:
                print(f"could not draw the graph: {data['error']}", file=sys.stderr)
                return 1
            wrong = [n["label"] for n in data["nodes"] if n["wrong"]]
            print(f"wrote {args.svg}" + (f" (disagrees with finite differences at: "
                                         f"{', '.join(wrong)})" if wrong else ""))
            return 0

        def reopen() -> Path:
            """A notebook or a zip saved again is unpacked again (a folder is read as is); the
            copy unpacked before it, whose workers are closed, is removed."""
            fresh = open_submission([path], label)
            while len(opened) > 1:
                opened.pop().close()
            opened.append(fresh)
            return fresh.root

        return gradient_view.run(sub.root, label, open_browser=not args.no_browser,
                             run_as=args.sandbox_user, source=Path(path),
                             reopen=None if Path(path).is_dir() else reopen)
    finally:
        for each in opened:
            each.close()
