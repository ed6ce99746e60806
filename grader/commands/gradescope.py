"""`python -m grader gradescope`: the autograder.zip to upload; `gradescope-run`: what it runs.

Format: Gradescope's autograder specification. The zip holds setup.sh and run_autograder at its
root and the grader beside them; Gradescope unpacks it to /autograder/source and runs
run_autograder as root with /autograder as the working directory. The results.json itself is a
view of the result (grader/report/gradescope.py).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any, Sequence

from .. import GRADER_DIR, KIT_ROOT, __version__, scoring
from ..api import grade_path
from ..intake.facts import Facts
from ..intake.submission import copy_regular, is_regular
from ..limits import Limits, container_memory_mb, memory_cap
from ..report.files import write_text
from ..report.gradescope import VISIBILITIES, Results, results_json
from ..report.summary import protections_text
from ..report.text import scoreboard
from ..cli import options

SETUP_SH = """#!/usr/bin/env bash
# Runs once, when Gradescope builds the autograder image (Ubuntu, as root). A real failure stops
# the build with its own message: nothing here hides one behind a fallback.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v python3 >/dev/null || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# bubblewrap puts each submission in namespaces of its own; where it cannot be installed or the
# container forbids namespaces, the grader uses plain processes (the log says which ran).
if ! command -v bwrap >/dev/null; then
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends bubblewrap libseccomp2; } ||
        echo "note: bubblewrap could not be installed; submissions will run as plain processes"
fi
cd /autograder/source
# An image that marks its Python as externally managed (PEP 668) needs pip to be told; one that
# does not (Ubuntu 22.04, pip 22) would not know the option.
if python3 -c "import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED')))"; then
    python3 -m pip install --no-cache-dir --break-system-packages .
else
    python3 -m pip install --no-cache-dir .
fi
# Under bubblewrap, student code runs as this user: it cannot write the grader or the results.
id micrograd-student >/dev/null 2>&1 ||
    useradd --system --no-create-home --shell /usr/sbin/nologin micrograd-student
chmod -R o-rwx /autograder/source
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, from /autograder.
# AUTOGRADER_ROOT and MICROGRAD_KIT_PYTHON exist only for the kit's own simulation tests.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${MICROGRAD_KIT_PYTHON:-python3}"
mkdir -p "$ROOT/results"
chmod 700 "$ROOT/results"   # the student's code (another user) cannot read or write results
rm -f "$ROOT/results/results.json"
cd "$ROOT/source" && "$PYTHON" -m grader gradescope-run --root "$ROOT" \\
    --hidden-visibility __VISIBILITY__ __LIMITS__
# Whatever happened above, Gradescope gets a results.json that says so.
if [ ! -s "$ROOT/results/results.json" ]; then
    printf '%s\\n' '{"score": 0, "output": "The autograder could not grade this submission: the grader itself failed to start. This is not a problem with your code; ask your instructor to look at the autograder log.", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}' > "$ROOT/results/results.json"
fi
exit 0
"""


PYPROJECT = """[build-system]
requires = ["setuptools>=77,<85"]
build-backend = "setuptools.build_meta"

[project]
name = "micrograd-kit"
version = "{version}"
requires-python = ">=3.10"
license = "MIT"
dependencies = {dependencies}

[tool.setuptools]
packages = {packages}

[tool.setuptools.package-data]
"grader.data" = ["*.csv", "*.json", "*.md"]
"grader.checks" = ["pytest.ini"]
"""


def _pyproject(kit_root: Path) -> str:
    """The kit's own pyproject.toml; for an installed copy, which has none, the same made from
    the installed package."""
    if (kit_root / "pyproject.toml").is_file():
        return (kit_root / "pyproject.toml").read_text(encoding="utf-8")
    try:
        requires = [r for r in importlib.metadata.requires("micrograd-kit") or []
                    if "extra ==" not in r]
    except importlib.metadata.PackageNotFoundError:
        requires = ["pytest>=7.4", "pytest-json-report>=1.5", "nbformat>=5.9"]
    packages = sorted({"grader.starter", "grader.data"} | {
        ".".join(p.parent.relative_to(GRADER_DIR.parent).parts)
        for p in GRADER_DIR.rglob("__init__.py")})
    return PYPROJECT.format(version=__version__, dependencies=json.dumps(requires),
                            packages=json.dumps(packages))


def build_zip(out: Path, *, hidden_visibility: str = "after_published",
              limit_args: str = "", kit_root: Path = KIT_ROOT) -> Path:
    """Write autograder.zip: setup.sh, run_autograder, pyproject.toml and grader/ (the stubs in
    grader/starter included) at its root; from a checkout or from an installed copy."""
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"--hidden-visibility must be one of {', '.join(VISIBILITIES)}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    run = RUN_AUTOGRADER.replace("__VISIBILITY__", hidden_visibility).replace(
        "__LIMITS__", limit_args).replace("  \\n", "\n")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", run)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16      # executable, as Gradescope expects
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
        archive.writestr("pyproject.toml", _pyproject(kit_root))
        archive.writestr("README.md", "micrograd-kit autograder for Gradescope.\n")
        if (kit_root / "LICENSE").is_file():
            archive.write(kit_root / "LICENSE", "LICENSE")
        else:
            archive.writestr("LICENSE", "MIT License (micrograd-kit)\n")
        for path in sorted(GRADER_DIR.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, "grader/" + "/".join(path.relative_to(GRADER_DIR).parts))
    return out


def run(root: Path, *, hidden_visibility: str, limits: Any = None, run_as: str | None = "auto",
        protections: Any = None) -> Results:
    """Grade root/submission into root/results/results.json; always writes the file."""
    started = time.monotonic()
    results_path = Path(root) / "results" / "results.json"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    submission = Path(root) / "submission"
    try:
        if not submission.is_dir() or not any(submission.iterdir()):
            empty = scoring.invalid(Facts("your submission", (
                "The submission is empty: upload engine.py, nn.py and train.py (or a zip of the "
                "folder that holds them).",), invalid=True), (limits or Limits()).as_dict())
            data = results_json(empty, hidden_visibility=hidden_visibility)
        else:
            result = grade_path(submission, label="your submission", limits=limits,
                                run_as=run_as, protections=protections)
            data = results_json(result, hidden_visibility=hidden_visibility,
                                seconds=time.monotonic() - started)
            # What ran, for the instructor (stdout is theirs only): the protections in force.
            shields = result.settings.get("protections")
            if shields:
                print(f"protections: {protections_text(shields)}")
            # The whole scoreboard, for the instructor, whatever the students may see yet.
            print(scoreboard(result, colour=False, commands=False))
    except Exception:
        # Instructors see stdout; students see a plain explanation and a 0, never a traceback.
        traceback.print_exc(file=sys.stdout)
        failed = scoring.failed("your submission", "The autograder failed while grading this "
                                "submission; the details are in the autograder's log. This is "
                                "not a problem with your code.", (limits or Limits()).as_dict(),
                                time.monotonic() - started)
        data = results_json(failed, hidden_visibility=hidden_visibility)
    write_text(results_path, json.dumps(data, indent=2))
    return data


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader gradescope",
        description="Write autograder.zip for a Gradescope programming assignment: upload it "
                    "as the assignment's autograder (Configure Autograder > Zip file upload).")
    parser.add_argument("--out", type=Path, default=Path("autograder.zip"),
                        help="where to write the zip (default autograder.zip)")
    parser.add_argument("--hidden-visibility", choices=VISIBILITIES, default="after_published",
                        help="when students see the hidden checks (default after_published); "
                             "the tutorial's visible check is always visible")
    parser.add_argument("--try", dest="try_", nargs=2, metavar=("ZIP", "SUBMISSION"),
                        help="run a built autograder.zip on one submission, as Gradescope would, "
                             "in a temporary /autograder-like folder, and print its results.json")
    options.limit_options(parser, memory_default=None)
    args = parser.parse_args(argv)
    if args.try_:
        return try_zip(Path(args.try_[0]), Path(args.try_[1]))
    # Without --memory-mb, the cap is chosen where the grading runs, to fit the container.
    requested_memory = args.memory_mb
    args.memory_mb = Limits().memory_mb if requested_memory is None else requested_memory
    # The user the student's code runs as is checked where the grading runs, not here.
    options.limits(parser, args, check_user=False)
    baked = options.limit_args(args, with_user=True)
    if requested_memory is not None and "--memory-mb" not in baked:
        baked += f" --memory-mb {requested_memory}"
    out = build_zip(args.out, hidden_visibility=args.hidden_visibility,
                    limit_args=baked.strip())
    print(f"wrote {out}: upload it as the autograder of a Gradescope programming assignment.")
    print("Students submit engine.py, nn.py and train.py (or a zip of their exercises/ folder).")
    return 0


def main_run(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader gradescope-run",
                                     description="Used by run_autograder inside Gradescope.")
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    parser.add_argument("--hidden-visibility", choices=VISIBILITIES, default="after_published")
    options.limit_options(parser, memory_default=None)
    args = parser.parse_args(argv)
    args.memory_mb = memory_cap(args.memory_mb)
    print(f"memory cap of the student's code: {args.memory_mb} MB "
          f"(container limit: {container_memory_mb() or 'unknown'} MB)")
    data = run(args.root, hidden_visibility=args.hidden_visibility,
               limits=options.limits(parser, args), run_as=args.sandbox_user,
               protections=options.protections(args))
    print(f"score {data['score']} written to {args.root / 'results' / 'results.json'}")
    return 0


def try_zip(archive: Path, submission: Path) -> int:
    """Unpack `archive` into a temporary /autograder-like folder, put `submission` (a folder, a
    zip, a notebook or files) in its submission/, run its run_autograder with this Python, and
    print the results.json it wrote, as Gradescope would read it."""
    if os.name != "posix" or shutil.which("bash") is None:
        print("error: --try runs the autograder's bash script: it needs bash (Linux, macOS)",
              file=sys.stderr)
        return 2
    if not zipfile.is_zipfile(archive):
        print(f"error: {archive} is not a zip file", file=sys.stderr)
        return 2
    if not submission.exists():
        print(f"error: {submission} does not exist", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="micrograd-kit-autograder-") as folder:
        root = Path(folder)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(root / "source")
        shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
        target = root / "submission"
        # What Gradescope would upload: regular files only, never a link or a device followed.
        if stat.S_ISDIR(submission.lstat().st_mode):
            left = copy_regular(submission, target)
        else:
            target.mkdir()
            left = [] if is_regular(submission) else [submission.name]
            if not left:
                shutil.copy(submission, target / submission.name)
        if left:
            print(f"note: left out (not regular files): {', '.join(left[:10])}")
        env = {**os.environ, "AUTOGRADER_ROOT": str(root), "MICROGRAD_KIT_PYTHON": sys.executable}
        ran = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env,
                             capture_output=True, text=True, timeout=900)
        print("--- the autograder's log (/autograder/results/stdout: instructors only)")
        # Paths as Gradescope would print them: this folder is gone once --try returns.
        print((ran.stdout + ran.stderr).rstrip().replace(str(root), "/autograder"))
        print("--- results/results.json")
        results = root / "results" / "results.json"
        print(results.read_text(encoding="utf-8") if results.is_file() else "(none written)")
    return 0
