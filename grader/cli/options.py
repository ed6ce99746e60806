"""What several sub-commands share: the limit options, and which submission a command works on."""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
from pathlib import Path
from typing import Any

from .. import KIT_ROOT, is_checkout
from ..limits import DEFAULT_CONTAINER_MB, ISOLATIONS, Limits, Protections
from ..sandbox.boundary import bwrap_works, choose_user


def limit_options(parser: argparse.ArgumentParser, memory_default: int | None = -1) -> None:
    """The limit options; memory_default=None leaves --memory-mb unset unless given."""
    defaults = Limits()
    parser.add_argument("--check-timeout", type=float, default=defaults.check_timeout,
                        metavar="S",
                        help=f"seconds for one check (default {defaults.check_timeout:g})")
    parser.add_argument("--run-timeout", type=float, default=defaults.run_timeout, metavar="S",
                        help=f"seconds for the whole submission (default {defaults.run_timeout:g})")
    parser.add_argument("--memory-mb", type=int, metavar="N",
                        default=defaults.memory_mb if memory_default == -1 else memory_default,
                        help="memory cap of the student's process in MB, 0 for none "
                             + (f"(default {defaults.memory_mb}; Linux and macOS)"
                                if memory_default == -1 else
                                f"(default: what fits in the grading container beside the "
                                f"grader, at most {defaults.memory_mb}, {DEFAULT_CONTAINER_MB} "
                                f"when its limit cannot be read; Linux and macOS)"))
    parser.add_argument("--sandbox-user", default="auto", metavar="NAME",
                        help="when run as root: the unprivileged user for the student's code "
                             "(default: under bubblewrap micrograd-student if it exists, else "
                             "nobody; in a plain process a user id of its own for each "
                             "worker; 'none' to run it as root)")
    parser.add_argument("--isolation", choices=ISOLATIONS, default="auto",
                        help="the operating-system boundary around the student's code: auto "
                             "(bubblewrap when it runs here, the default), bwrap (required: "
                             "stop if it cannot run), process (a plain process)")


def need_grading_tools(parser: argparse.ArgumentParser) -> None:
    """Stop with the fix when this Python lacks what grading runs on: a kit that is not
    installed (or a virtual environment not active) is not a bug in the grader."""
    missing = [package for package, module in GRADING_TOOLS
               if importlib.util.find_spec(module) is None]
    if missing:
        parser.error(f"this Python ({sys.executable}) does not have {' and '.join(missing)}, "
                     f"which grading needs: install the kit with `python -m pip install -e .` "
                     f"in its folder (or `python -m pip install` the kit's package), or activate "
                     f"the virtual environment you installed it in")


GRADING_TOOLS = (("pytest", "pytest"), ("pytest-json-report", "pytest_jsonreport"))


def limits(parser: argparse.ArgumentParser, args: argparse.Namespace,
           check_user: bool = True) -> Limits:
    """The limits given, checked now: a bad setting stops the command with its reason (and so
    does a Python without the tools grading needs).
    check_user=False: the user is checked where the grading runs (a built autograder)."""
    need_grading_tools(parser)
    try:
        made = Limits(check_timeout=args.check_timeout, run_timeout=args.run_timeout,
                      memory_mb=args.memory_mb)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        if check_user:
            choose_user(args.sandbox_user)   # a user that does not exist: said now
    except ValueError as exc:
        parser.error(f"--sandbox-user: {exc}")
    if getattr(args, "isolation", "auto") == "bwrap" and not bwrap_works():
        parser.error("--isolation bwrap: bubblewrap cannot run here (install the bubblewrap "
                     "package; in a container, user namespaces must be allowed)")
    return made


def protections(args: argparse.Namespace) -> Protections:
    return Protections(isolation=getattr(args, "isolation", "auto"))


def limit_args(args: argparse.Namespace, with_user: bool = False) -> str:
    """The limit options as given, to pass on to another command line."""
    defaults = Limits()
    parts = []
    for name in ("check_timeout", "run_timeout", "memory_mb"):
        value = getattr(args, name)
        if value != getattr(defaults, name):
            parts.append(f"--{name.replace('_', '-')} {value:g}")
    if args.isolation != "auto":
        parts.append(f"--isolation {args.isolation}")
    if with_user and args.sandbox_user not in (None, "auto"):
        parts.append(f"--sandbox-user {shlex.quote(args.sandbox_user)}")
    return " ".join(parts)


def need_solutions(parser: argparse.ArgumentParser) -> None:
    if not is_checkout():
        parser.error("--solutions needs a checkout of the kit, with solutions/ beside grader/: "
                     "this grader is " + ("a student copy" if (KIT_ROOT / "exercises").is_dir()
                                          else "an installed package") + ", which has none")


def default_path(parser: argparse.ArgumentParser) -> Path:
    """exercises/ here, else the one of the kit checkout this grader sits in."""
    here = Path("exercises")
    if (here / "engine.py").is_file():
        return here
    if (KIT_ROOT / "exercises" / "engine.py").is_file():
        return KIT_ROOT / "exercises"
    parser.error("there is no exercises/ folder here to grade: give the folder to grade, or "
                 "start a workspace with `python -m grader init DIR`")


def target(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[Any, str]:
    """What a command works on, and how to name it: --solutions, the PATHs given, or exercises/."""
    paths = args.path if isinstance(args.path, list) else ([args.path] if args.path else [])
    if args.solutions and paths:
        parser.error("give a PATH or --solutions, not both")
    if args.solutions:
        need_solutions(parser)
        return KIT_ROOT / "solutions", "solutions/"
    if paths:
        missing = [p for p in paths if not Path(p).exists()]
        if missing:
            parser.error(f"{missing[0]} does not exist")
        return ([Path(p) for p in paths] if len(paths) > 1 else Path(paths[0])), " ".join(paths)
    path = default_path(parser)
    return path, "exercises/" if path == Path("exercises") else str(path)
