"""The command line: `python -m grader [PATH] ...` or `python -m grader COMMAND ...`.

It only picks the sub-command and imports its module then, so that `hint`, `steps` and `--help`
answer without loading pytest or anything else the grading needs.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from pathlib import Path
from typing import Sequence

from .. import __version__

# Sub-commands by their first word: (module in grader/commands/, function, what it does).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("init", "main", "start a workspace: a new folder with the exercises"),
    "hint": ("hint", "main", "a hint for one step"),
    "steps": ("steps", "main", "the steps, their points and where their TODOs are"),
    "policy": ("policy", "main", "what a submission's code may import and use"),
    "visualize": ("visualize", "main", "draw the tutorial's neuron as your engine computes it"),
    "notebook": ("notebook", "main", "build the course as a Jupyter notebook"),
    "batch": ("batch", "main", "grade a folder of submissions into a CSV and a summary"),
    "report": ("report", "main", "show a saved result (a batch's, or --json) again"),
    "release": ("release", "main", "write the student copy of the kit"),
    "gradescope": ("gradescope", "main", "build autograder.zip for Gradescope"),
    "gradescope-run": ("gradescope", "main_run", "what autograder.zip runs on Gradescope"),
    "prairielearn": ("prairielearn", "main",
                     "grade /grade/student for PrairieLearn's external grader"),
}


def commands_text() -> str:
    width = max(len(name) for name in COMMANDS)
    return "commands:\n" + "\n".join(f"  python -m grader {name:<{width}}  {what}"
                                     for name, (_, _, what) in COMMANDS.items()) + "\n"


def _unknown_command(word: str) -> str | None:
    """Why `word` cannot be what the user meant, when it is neither a command nor a path."""
    if word.startswith("-") or Path(word).exists() or any(c in word for c in "/\\.*"):
        return None
    close = difflib.get_close_matches(word, [*COMMANDS, "--version", "--help"], n=1,
                                      cutoff=0.6)
    suggestion = f"; did you mean `python -m grader {close[0]}`?" if close else ""
    return (f"{word!r} is neither a command nor a folder to grade{suggestion} "
            f"(`python -m grader --help` lists the commands)")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("--version", "-V"):
        print(f"micrograd-kit {__version__}")
        return 0
    if argv and argv[0] not in COMMANDS:
        problem = _unknown_command(argv[0])
        if problem is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 2
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
    except BrokenPipeError:
        # Whatever read our output stopped (`| head`): end quietly, and send the rest of what
        # Python would print at exit nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except ValueError as exc:      # a bad setting, said plainly (the submission never raises)
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
