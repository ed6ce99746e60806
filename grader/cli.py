"""The command line: `python -m grader [PATH] ...` or `python -m grader COMMAND ...`.

It only picks the sub-command and imports its module then, so that `hint`, `steps` and `--help`
answer without loading pytest or anything else the grading needs.
"""

from __future__ import annotations

import importlib
import sys
from typing import Sequence

# Sub-commands by their first word: (module in grader/commands/, function, what it does).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "hint": ("hint", "main", "a hint for one step"),
    "steps": ("steps", "main", "the steps, their points and where their TODOs are"),
    "policy": ("policy", "main", "what a submission's code may import and use"),
    "visualize": ("visualize", "main", "draw the tutorial's neuron as your engine computes it"),
    "notebook": ("notebook", "main", "build the course as a Jupyter notebook"),
    "batch": ("batch", "main", "grade a folder of submissions into a CSV and a summary"),
    "release": ("release", "main", "write the student copy of the kit"),
    "gradescope": ("gradescope", "main", "build autograder.zip for Gradescope"),
    "gradescope-run": ("gradescope", "main_run", "what autograder.zip runs on Gradescope"),
}


def commands_text() -> str:
    width = max(len(name) for name in COMMANDS)
    return "commands:\n" + "\n".join(f"  python -m grader {name:<{width}}  {what}"
                                     for name, (_, _, what) in COMMANDS.items())


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Never fail on a console that cannot print a character of a student's output.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass
    try:
        if argv and argv[0] in COMMANDS:
            module, function, _ = COMMANDS[argv[0]]
            command = getattr(importlib.import_module(f"grader.commands.{module}"), function)
            return int(command(argv[1:]))
        grade = importlib.import_module("grader.commands.grade")
        return int(grade.main(argv, commands_text()))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ValueError as exc:      # a bad setting, said plainly (the submission never raises)
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
