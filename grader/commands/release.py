"""`python -m grader release OUT`: the student copy of the kit (the stubs, grader/, the docs)."""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path
from typing import Sequence

from .. import KIT_ROOT, is_checkout, steps
from ..report import classroom_workflow as classroom
BEGIN, END = "<!-- release:begin -->", "<!-- release:end -->"


def student_readme(readme: str) -> str:
    """The README's student parts (between release markers): all of it but how to work on the
    kit itself, which needs a checkout."""
    parts = re.findall(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), readme, flags=re.S)
    if not parts:
        raise ValueError("README.md has no release:begin/release:end sections")
    return "\n".join(p.rstrip() + "\n" for p in parts)


def _ignore(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n in ("__pycache__", ".pytest_cache") or n.endswith(".pyc")]


def edited_exercises(kit_root: Path = KIT_ROOT) -> list[str]:
    """The files of exercises/ that differ from the stubs as shipped (grader/starter)."""
    edited = []
    for name in steps.ALL_FILES:
        mine, shipped = kit_root / "exercises" / name, kit_root / "grader" / "starter" / name
        if mine.is_file() and mine.read_bytes() != shipped.read_bytes():
            edited.append(name)
    return edited


def build_release(out: Path, kit_root: Path = KIT_ROOT,
                  grader_from: str | None = None) -> list[Path]:
    """Write the student copy into `out` (which must not exist or be empty); list its files.
    With `grader_from`, also the GitHub Classroom workflow that installs the grader from it."""
    out = Path(out)
    workflow = classroom.workflow(grader_from) if grader_from is not None else None
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty: choose a new folder for the release")
    out.mkdir(parents=True, exist_ok=True)
    (out / "exercises").mkdir()
    # From the pristine stubs, not exercises/: an instructor who tried the exercises in this
    # checkout must not ship their answers.
    for name in steps.ALL_FILES:
        shutil.copy(kit_root / "grader" / "starter" / name, out / "exercises" / name)
    shutil.copytree(kit_root / "grader", out / "grader", ignore=_ignore)
    shutil.copy(kit_root / "pyproject.toml", out / "pyproject.toml")
    shutil.copy(kit_root / "LICENSE", out / "LICENSE")
    # The documentation the student README links to, and the pictures it shows.
    shutil.copytree(kit_root / "docs", out / "docs", ignore=_ignore)
    readme = (kit_root / "README.md").read_text(encoding="utf-8")
    (out / "README.md").write_text(student_readme(readme), encoding="utf-8")
    (out / ".gitignore").write_text("__pycache__/\n*.pyc\n*.egg-info/\n.venv/\n",
                                    encoding="utf-8")
    if workflow is not None:
        (out / classroom.WORKFLOW_PATH).parent.mkdir(parents=True)
        (out / classroom.WORKFLOW_PATH).write_text(workflow, encoding="utf-8")
    return sorted(p for p in out.rglob("*") if p.is_file())


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader release",
        description="Write the student copy of the kit: exercises/, grader/, pyproject.toml, a "
                    "student README and the docs; nothing of solutions/ or tests/.")
    parser.add_argument("out", type=Path, help="a new (or empty) folder")
    parser.add_argument("--grader-from", metavar="SPEC",
                        help="also write .github/workflows/classroom.yml for GitHub Classroom, "
                             "which installs the grader with `pip install SPEC` (a URL GitHub's "
                             "runner can download, e.g. git+https://github.com/YOU/micrograd-kit"
                             "@v1) and records each step's points")
    args = parser.parse_args(argv)
    if args.grader_from is not None:
        try:
            classroom.check_source(args.grader_from)
        except ValueError as error:
            parser.error(str(error))
    if not is_checkout():
        parser.error("release needs a checkout of the kit, with solutions/ beside grader/: "
                     "this grader is " + ("already a student copy" if
                                          (KIT_ROOT / "exercises").is_dir() else
                                          "an installed package"))
    try:
        files = build_release(args.out, grader_from=args.grader_from)
    except ValueError as error:
        parser.error(str(error))
    print(f"wrote {len(files)} files to {args.out}:")
    for path in files:
        print(f"  {path.relative_to(args.out).as_posix()}")
    edited = edited_exercises()
    if edited:
        print(f"note: {', '.join(edited)} in exercises/ differ from the stubs as shipped "
              f"(grader/starter/): the release has the stubs. To ship a change to a stub, make "
              f"it in both folders.")
    print(f"Students run, in {args.out}: python -m pip install -e . && python -m grader")
    if args.grader_from is not None:
        print(f"GitHub Classroom: {classroom.WORKFLOW_PATH} grades each push with the grader "
              f"from {args.grader_from}; make {args.out} the assignment's template repository.")
    return 0
