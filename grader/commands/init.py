"""`python -m grader init DIR`: a fresh workspace to start in, from the kit's stubs."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Sequence

from .. import __version__, starter_folder, steps

README = """# My micrograd-kit workspace

Made by `python -m grader init` (micrograd-kit {version}). The exercises are in `exercises/`:
open `exercises/engine.py`, find the first `TODO`, and write the code.

In this folder:

```
python -m grader              grade every step (the scoreboard says what to do next)
python -m grader --step add   grade one step
python -m grader --watch      grade again every time you save
python -m grader hint add     a hint for one step
python exercises/train.py     once every step passes: watch your network learn
```
"""


def init_workspace(folder: Path) -> list[Path]:
    """Write exercises/ and a README into `folder` (new, or empty); the files written."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"{folder} is not an empty folder: choose a new one")
    (folder / "exercises").mkdir(parents=True, exist_ok=True)
    source = starter_folder()
    for name in steps.ALL_FILES:
        shutil.copyfile(source / name, folder / "exercises" / name)
    (folder / "README.md").write_text(README.format(version=__version__), encoding="utf-8")
    return sorted(p for p in folder.rglob("*") if p.is_file())


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader init",
        description="Start a workspace: a new folder with the exercises and a short README.")
    parser.add_argument("folder", type=Path, help="a new (or empty) folder")
    args = parser.parse_args(argv)
    try:
        written = init_workspace(args.folder)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"wrote {len(written)} files to {args.folder}. Start with:")
    print(f"  cd {args.folder}")
    print("  python -m grader")
    return 0
