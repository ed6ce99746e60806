"""Gradescope: the autograder.zip to upload, and the results.json view of a GradingResult.

Format: Gradescope's autograder specification (see ../shared/reference/gradescope.md). The zip
holds setup.sh and run_autograder at its root and the grader beside them; Gradescope unpacks it
to /autograder/source and runs run_autograder as root with /autograder as the working directory.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any

from . import report, steps
from .batch import protections_text
from .results import GradingResult

KIT_ROOT = Path(__file__).resolve().parent.parent
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")

SETUP_SH = """#!/usr/bin/env bash
# Runs once, when Gradescope builds the autograder image (Ubuntu, as root).
set -euo pipefail
if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update
    apt-get install -y python3 python3-pip
fi
# bubblewrap puts each submission in namespaces of its own; where the container forbids them,
# the grader falls back to a plain process (the grading log says which protections ran).
if ! command -v bwrap >/dev/null; then
    apt-get update && apt-get install -y --no-install-recommends bubblewrap ||
        echo "bubblewrap could not be installed: submissions will run as plain processes"
fi
cd /autograder/source
# Newer Ubuntu images mark the system Python as externally managed (PEP 668).
python3 -m pip install --no-cache-dir . || \
    python3 -m pip install --no-cache-dir --break-system-packages .
# Student code runs as this user: it cannot write the grader or the results, nor read the checks.
id micrograd-student >/dev/null 2>&1 || \\
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
    printf '%s\\n' '{"score": 0, "output": "The autograder could not grade this submission (the grader itself failed to start). Your instructor has been told: this is not a problem with your code.", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}' > "$ROOT/results/results.json"
fi
exit 0
"""


def build_zip(out: Path, *, hidden_visibility: str = "after_published",
              limit_args: str = "", kit_root: Path = KIT_ROOT) -> Path:
    """Write autograder.zip: setup.sh, run_autograder, pyproject.toml and grader/ at its root."""
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
        archive.write(kit_root / "pyproject.toml", "pyproject.toml")
        archive.writestr("README.md", "micrograd-kit autograder for Gradescope.\n")
        for path in sorted((kit_root / "grader").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, str(path.relative_to(kit_root)).replace("\\", "/"))
    return out


def _check_output(check: Any) -> str:
    parts = [check.message] if check.message else []
    if check.diagnosis:
        parts.append(f"-> {check.diagnosis}")
    if check.output:
        parts.append("your code printed:\n" + check.output)
    if not parts:
        parts.append("passed" if check.passed else check.state)
    return "\n".join(parts)


def results_json(result: GradingResult, *, hidden_visibility: str = "after_published",
                 seconds: float | None = None) -> dict[str, Any]:
    """The Gradescope view of a result: one test per check, numbered step.check."""
    tests = []
    # The bonus steps are in the output's scoreboard, not in the tests: Gradescope adds tests up.
    for step in result.core_steps:
        n = steps.STEP_IDS.index(step.id) + 1
        for k, check in enumerate(step.checks, start=1):
            tests.append({
                "name": f"{step.id}: {check.title}",
                "number": f"{n}.{k}",
                "score": round(check.points, 4),
                "max_score": round(check.max_points, 4),
                "status": "passed" if check.passed else "failed",
                "output": _check_output(check),
                "tags": [step.id],
                "visibility": "visible" if check.visible else hidden_visibility,
            })
    return {
        "score": round(result.score, 2),
        "execution_time": round(result.seconds if seconds is None else seconds, 2),
        "output": report.scoreboard(result, colour=False, commands=False),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def failure_json(reason: str, seconds: float = 0.0) -> dict[str, Any]:
    """Score 0 with a visible explanation: for when grading itself could not be done."""
    return {"score": 0, "execution_time": round(seconds, 2), "output": reason,
            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
            "tests": []}


def run(root: Path, *, hidden_visibility: str, limits: Any = None, run_as: str | None = "auto",
        protections: Any = None) -> dict[str, Any]:
    """Grade root/submission into root/results/results.json; always writes the file."""
    from .api import grade_path
    started = time.monotonic()
    results_path = Path(root) / "results" / "results.json"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    submission = Path(root) / "submission"
    try:
        if not submission.is_dir() or not any(submission.iterdir()):
            data = failure_json("The submission is empty: upload engine.py, nn.py and train.py "
                                "(or a zip of the folder that holds them).")
        else:
            result = grade_path(submission, label="your submission", limits=limits,
                                run_as=run_as, protections=protections)
            data = results_json(result, hidden_visibility=hidden_visibility,
                                seconds=time.monotonic() - started)
            # What ran, for the instructor (stdout is theirs only): the protections in force.
            shields = result.settings.get("protections")
            if shields:
                print(f"protections: {protections_text(shields)}")
    except Exception:
        # Instructors see stdout; students see a plain explanation and a 0, never a traceback.
        traceback.print_exc(file=sys.stdout)
        data = failure_json("The autograder failed while grading this submission; your "
                            "instructor has the details. This is not a problem with your code.",
                            time.monotonic() - started)
    tmp = results_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    shutil.move(str(tmp), str(results_path))
    return data
