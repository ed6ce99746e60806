"""Command line: `python -m grader [PATH] [--solutions] [--step STEP] [--json]`, `hint`, `steps`."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any, Sequence

from . import report, steps
from .api import KIT_ROOT, grade_path
from .run.sandbox import Limits, Protections, bwrap_works, choose_user
from .watch import watch

DESCRIPTION = "Grade a micrograd-kit submission: every step's hidden checks, scored out of 100."
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


def _grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=DESCRIPTION,
                                     epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="*",
                        help="a folder laid out like exercises/ (default: exercises/), a folder "
                             "or .zip holding one, or loose engine.py/nn.py/train.py files")
    parser.add_argument("--solutions", action="store_true",
                        help="grade the kit's reference solutions/")
    parser.add_argument("--step", choices=steps.STEP_IDS, action="append",
                        help="grade only this step (repeatable); exit status 0 only when it "
                             "earned all its points")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document (format in the README) instead of text")
    parser.add_argument("--watch", action="store_true",
                        help="keep running: re-grade the step you are on each time you save a "
                             "file in the folder (Ctrl-C stops)")
    parser.add_argument("--min-score", type=float, default=None, metavar="N",
                        help="exit with status 1 when the score is below N")
    _limit_options(parser)
    return parser


def _target(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[Any, str]:
    """What a command works on, and how to name it: --solutions, the PATHs given, or exercises/."""
    paths = args.path if isinstance(args.path, list) else ([args.path] if args.path else [])
    if args.solutions and paths:
        parser.error("give a PATH or --solutions, not both")
    if args.solutions:
        _need_solutions(parser)
        return KIT_ROOT / "solutions", "solutions/"
    if paths:
        return ([Path(p) for p in paths] if len(paths) > 1 else Path(paths[0])), " ".join(paths)
    path = _default_path()
    return path, "exercises/" if path == Path("exercises") else str(path)


def _need_solutions(parser: argparse.ArgumentParser) -> None:
    if not (KIT_ROOT / "solutions").is_dir():
        parser.error("--solutions: this copy of the kit has no solutions/ (it is a student copy)")


def _default_path() -> Path:
    here = Path("exercises")
    if (here / "engine.py").is_file():
        return here
    return KIT_ROOT / "exercises"


def grade_command(argv: Sequence[str]) -> int:
    parser = _grade_parser()
    args = parser.parse_args(argv)
    limits = _limits(parser, args)
    path, label = _target(parser, args)
    if args.watch:
        if args.json:
            parser.error("--watch shows the scoreboard; it does not combine with --json")
        if not isinstance(path, Path) or not path.is_dir():
            parser.error("--watch watches one folder")
        folder = path
        return watch(folder, label=label, limits=limits, run_as=args.sandbox_user, only=args.step,
                     colour=report.use_colour(sys.stdout), protections=_protections(args))
    result = grade_path(path, limits=limits, only=args.step, label=label,
                        run_as=args.sandbox_user, protections=_protections(args))
    if args.json:
        report.write_json(result)
    else:
        sys.stdout.write(report.scoreboard(result, colour=report.use_colour(sys.stdout)))
    if args.step and any(not result.step(s).passed for s in args.step):
        return 1
    if args.min_score is not None and result.score < args.min_score:
        return 1
    return 0


def hint_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader hint",
                                     description="Print a step's hint.")
    parser.add_argument("step", choices=steps.STEP_IDS)
    args = parser.parse_args(argv)
    step = steps.get(args.step)
    print(f"{step.id}: {step.title}  ({step.points} points, {step.where})")
    print()
    print(textwrap.fill(step.hint, width=88))
    if step.needs:
        print()
        print(f"Its checks run through: {', '.join(steps.all_needs(step.id))}.")
    return 0


def steps_markdown() -> str:
    """The step table as Markdown, as the README shows it (a test keeps the two in step)."""
    rows = ["| step | points | what you write | where | its end-to-end run uses |",
            "| --- | ---: | --- | --- | --- |"]
    for step in steps.STEPS:
        if step.bonus and step is steps.BONUS_STEPS[0]:
            rows.append(f"| total | {steps.TOTAL_POINTS} | | | |")
        where = f"`{step.file}`: " + ", ".join(f"`{t}`" for t in step.todos) if step.todos \
            else f"`{step.file}` (given code)"
        needs = ", ".join(steps.all_needs(step.id)) or "-"
        name = f"`{step.id}` (bonus)" if step.bonus else f"`{step.id}`"
        rows.append(f"| {name} | {step.points} | {step.title} | {where} | {needs} |")
    rows.append(f"| bonus total | {steps.BONUS_POINTS} | apart from the 100 | | |")
    return "\n".join(rows)


def steps_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader steps", description="List the steps.")
    parser.add_argument("--markdown", action="store_true", help="as a Markdown table")
    if parser.parse_args(argv).markdown:
        print(steps_markdown())
        return 0
    print(f"{'step':<12} {'points':>6}  {'end-to-end run uses':<22} where")
    for step in steps.STEPS:
        if step is steps.BONUS_STEPS[0]:
            print(f"{'total':<12} {steps.TOTAL_POINTS:>6}")
            print("bonus, apart from the 100 points:")
        print(f"{step.id:<12} {step.points:>6}  {', '.join(step.needs) or '-':<22} {step.where}")
    print(f"{'bonus total':<12} {steps.BONUS_POINTS:>6}")
    return 0


def policy_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader policy",
        description="What a submission's code may use (checked before it runs), and what the "
                    "run-time guard refuses, as Markdown tables.")
    parser.parse_args(argv)
    from .run import policy
    print(policy.markdown())
    print()
    print(policy.guard_markdown())
    return 0


def _limit_options(parser: argparse.ArgumentParser) -> None:
    defaults = Limits()
    parser.add_argument("--check-timeout", type=float, default=defaults.check_timeout,
                        metavar="S", help=f"seconds for one check (default {defaults.check_timeout:g})")
    parser.add_argument("--run-timeout", type=float, default=defaults.run_timeout, metavar="S",
                        help=f"seconds for the whole submission (default {defaults.run_timeout:g})")
    parser.add_argument("--memory-mb", type=int, default=defaults.memory_mb, metavar="N",
                        help=f"memory cap of the student's process in MB, 0 for none "
                             f"(default {defaults.memory_mb}; Linux and macOS)")
    parser.add_argument("--sandbox-user", default="auto", metavar="NAME",
                        help="when run as root: the unprivileged user for the student's code "
                             "(default: micrograd-student if it exists, else nobody; 'none' "
                             "to run it as root)")
    parser.add_argument("--isolation", choices=("auto", "bwrap", "process"), default="auto",
                        help="the operating-system boundary around the student's code: auto "
                             "(bubblewrap when it runs here, the default), bwrap (required: "
                             "stop if it cannot run), process (a plain process)")


def _limits(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Limits:
    for name in ("check_timeout", "run_timeout"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be more than 0 seconds")
    if args.memory_mb < 0:
        parser.error("--memory-mb must be 0 (no cap) or more")
    try:
        choose_user(args.sandbox_user)   # a user that does not exist is a bad setting, said now
    except ValueError as exc:
        parser.error(f"--sandbox-user: {exc}")
    if getattr(args, "isolation", "auto") == "bwrap" and not bwrap_works():
        parser.error("--isolation bwrap: bubblewrap cannot run here (install the bubblewrap "
                     "package; in a container, user namespaces must be allowed)")
    return Limits(check_timeout=args.check_timeout, run_timeout=args.run_timeout,
                  memory_mb=args.memory_mb)


def _protections(args: argparse.Namespace) -> Protections:
    return Protections(isolation=getattr(args, "isolation", "auto"))


def batch_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader batch",
        description="Grade every submission in a folder: each sub-folder, .zip or .py file in "
                    "it is one student, named by the entry.")
    parser.add_argument("submissions", type=Path, help="the folder of submissions")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"),
                        help="the CSV to write (default grades.csv); a JSON per student goes in "
                             "the folder of the same name, the class summary in NAME-summary.txt")
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="submissions graded at once (default: the number of cores)")
    parser.add_argument("--force", action="store_true",
                        help="regrade every submission, even those unchanged since the last run")
    _limit_options(parser)
    args = parser.parse_args(argv)
    limits = _limits(parser, args)
    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be 1 or more")
    from .batch import run_batch
    run_batch(args.submissions, args.out, jobs=args.jobs, force=args.force, limits=limits,
              run_as=args.sandbox_user, protections=_protections(args))
    return 0


def release_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader release",
        description="Write the student copy of the kit: exercises/, grader/, pyproject.toml and a "
                    "student README; nothing of solutions/ or tests/.")
    parser.add_argument("out", type=Path, help="a new (or empty) folder")
    args = parser.parse_args(argv)
    if not (KIT_ROOT / "solutions").is_dir():
        parser.error("this is already a student copy of the kit (it has no solutions/)")
    from .release import build_release
    files = build_release(args.out)
    print(f"wrote {len(files)} files to {args.out}:")
    for path in files:
        print(f"  {path.relative_to(args.out)}")
    print(f"Students run, in {args.out}: python -m pip install -e . && python -m grader")
    return 0


def _limit_args(args: argparse.Namespace) -> str:
    """The limit options as given, to bake into run_autograder."""
    defaults = Limits()
    parts = []
    for name in ("check_timeout", "run_timeout", "memory_mb"):
        value = getattr(args, name)
        if value != getattr(defaults, name):
            parts.append(f"--{name.replace('_', '-')} {value:g}")
    if args.isolation != "auto":
        parts.append(f"--isolation {args.isolation}")
    return " ".join(parts)


def gradescope_command(argv: Sequence[str]) -> int:
    from .gradescope import VISIBILITIES, build_zip
    parser = argparse.ArgumentParser(
        prog="python -m grader gradescope",
        description="Write autograder.zip for a Gradescope programming assignment: upload it "
                    "as the assignment's autograder (Configure Autograder > Zip file upload).")
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"),
                        help="where to write the zip (default autograder.zip)")
    parser.add_argument("--hidden-visibility", choices=VISIBILITIES, default="after_published",
                        help="when students see the hidden checks (default after_published); "
                             "the tutorial's visible check is always visible")
    _limit_options(parser)
    args = parser.parse_args(argv)
    _limits(parser, args)
    out = build_zip(args.out, hidden_visibility=args.hidden_visibility,
                    limit_args=_limit_args(args))
    print(f"wrote {out}: upload it as the autograder of a Gradescope programming assignment.")
    print("Students submit engine.py, nn.py and train.py (or a zip of their exercises/ folder).")
    return 0


def gradescope_run_command(argv: Sequence[str]) -> int:
    from .gradescope import VISIBILITIES, run
    parser = argparse.ArgumentParser(prog="python -m grader gradescope-run",
                                     description="Used by run_autograder inside Gradescope.")
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    parser.add_argument("--hidden-visibility", choices=VISIBILITIES, default="after_published")
    _limit_options(parser)
    args = parser.parse_args(argv)
    data = run(args.root, hidden_visibility=args.hidden_visibility, limits=_limits(parser, args),
               run_as=args.sandbox_user, protections=_protections(args))
    print(f"score {data['score']} written to {args.root / 'results' / 'results.json'}")
    return 0


def notebook_command(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader notebook",
        description="Build the kit as one Jupyter notebook, from exercises/ (or solutions/).")
    parser.add_argument("--solutions", action="store_true",
                        help="fill in every step from solutions/ (instructors)")
    parser.add_argument("--out", type=Path, default=Path("micrograd.ipynb"),
                        help="where to write it (default micrograd.ipynb)")
    args = parser.parse_args(argv)
    if args.solutions:
        _need_solutions(parser)
    from .notebook import write
    out = write(args.out, solutions=args.solutions)
    print(f"wrote {out}: open it in Jupyter, VS Code or Colab (the kit must be installed in its "
          f"kernel: python -m pip install -e . from the kit's folder).")
    print(f"Grade a saved copy with: python -m grader {out}")
    return 0


def visualize_command(argv: Sequence[str]) -> int:
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
    path, label = _target(parser, args)
    from .submission import open_submission
    from . import visualize
    sub = open_submission([path], label)
    try:
        if sub.invalid:
            print(f"error: {sub.problems[0]}", file=sys.stderr)
            return 2
        if args.svg:
            data = visualize.write_svg(sub.root, args.svg, run_as=args.sandbox_user)
            if "error" in data:
                print(f"could not draw the graph: {data['error']}", file=sys.stderr)
                return 1
            wrong = [n["label"] for n in data["nodes"] if n["wrong"]]
            print(f"wrote {args.svg}" + (f" (disagrees with finite differences at: "
                                         f"{', '.join(wrong)})" if wrong else ""))
            return 0
        return visualize.run(sub.root, label, open_browser=not args.no_browser,
                             run_as=args.sandbox_user)
    finally:
        sub.close()


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
    command = COMMANDS.get(argv[0]) if argv else None
    try:
        return command(argv[1:]) if command else grade_command(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ValueError as exc:      # a bad setting, said plainly (the submission never raises)
        print(f"error: {exc}", file=sys.stderr)
        return 2


# Sub-commands by their first word; anything else is `python -m grader [PATH] ...`.
COMMANDS = {
    "hint": hint_command,
    "steps": steps_command,
    "policy": policy_command,
    "batch": batch_command,
    "release": release_command,
    "gradescope": gradescope_command,
    "gradescope-run": gradescope_run_command,
    "notebook": notebook_command,
    "visualize": visualize_command,
}


if __name__ == "__main__":
    sys.exit(main())
