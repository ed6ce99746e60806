"""The GitHub Classroom workflow a release ships: one grading, its points handed to the reporter."""

from __future__ import annotations

import json
import re

from .. import steps
from .classroom import RUNNER

WORKFLOW_PATH = ".github/workflows/classroom.yml"

# Where the runner installs the instructor's grader: a folder the job creates as root, so the
# grading never imports the grader/ inside the student's own repository.
VENV = "/opt/micrograd-grader"
# A single-quoted shell word and a YAML scalar, safe from GitHub's `${{ }}` expressions.
_SOURCE = re.compile(r"[A-Za-z0-9._~:/@+=#%,!?&\[\]-]+")


def check_source(spec: str) -> str:
    """`spec` as pip will read it on GitHub's runner; ValueError when it cannot work there."""
    if not _SOURCE.fullmatch(spec):
        raise ValueError(f"--grader-from {spec!r}: give one pip requirement or URL, without "
                         "spaces, quotes, backslashes or $")
    if spec.startswith(("git+ssh:", "ssh:", "git@")) or "+ssh://" in spec:
        raise ValueError(f"--grader-from {spec!r} needs an SSH key, which GitHub's runner does "
                         "not have: give an https:// address")
    if spec.startswith(("/", ".", "~", "file:")) or re.match(r"[A-Za-z]:[\\/]", spec):
        raise ValueError(f"--grader-from {spec!r} is a path on this machine, which GitHub's "
                         "runner does not have: give a URL it can download, such as "
                         "git+https://github.com/YOU/micrograd-kit@v1 or a wheel's https:// "
                         "address")
    return spec


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


def _grade(extra: str) -> str:
    # From an empty folder, with -I: neither the repository nor the current folder is on
    # sys.path, so `-m grader` is the instructor's copy.
    return (f'cd "$(mktemp -d)" && sudo {VENV}/bin/python -I -m grader '
            f'"${{{{ github.workspace }}}}/exercises"{extra}')


def workflow(grader_from: str) -> str:
    """The workflow's YAML text (written by hand: every string quoted, no YAML library)."""
    spec = check_source(grader_from)
    # From an empty folder, with -I: `-m venv` and `-m pip` never import a venv.py, pip/ or
    # a standard module's namesake from the student's repository.
    install = "\n".join([
        "sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends "
        "bubblewrap libseccomp2 || echo '::warning::bubblewrap did not install: grading without the "
        "operating-system boundary'",
        'cd "$(mktemp -d)"',
        f'sudo "$(command -v python)" -I -m venv {VENV}',
        f"sudo {VENV}/bin/python -I -m pip install --quiet '{spec}' || "
        f"{{ echo '::error::could not install the grader from {spec}: tell your "
        "instructor'; exit 1; }",
        f"{VENV}/bin/python -I -m grader --version",
    ])
    grade = _grade(' --classroom-output "$GITHUB_OUTPUT"')
    lines = [
        "# GitHub Classroom autograding for micrograd-kit, written by `python -m grader release",
        "# --grader-from`. One grading prints the whole scoreboard and hands Classroom's reporter",
        "# the points of every step, partial ones included: the same total as every other way of",
        f"# grading (the bonus steps are listed, apart from the {steps.TOTAL_POINTS} points). The grader is installed",
        "# from the instructor's source, never taken from this repository.",
        "name: Autograding Tests",
        '"on": [push, workflow_dispatch, repository_dispatch]',
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v4",
        "      - uses: actions/setup-python@v5",
        "        with:",
        "          python-version: \"3.12\"",
        "      - name: Install the course's grader",
        "        run: |",
        *[f"          {line}" for line in install.splitlines()],
        "      - name: Grade",
        f"        id: {RUNNER}",
        f"        run: {_q(grade)}",
        "      - name: Autograding Reporter",
        "        uses: classroom-resources/autograding-grading-reporter@v1",
        "        env:",
        f"          {RUNNER.upper()}_RESULTS: \"${{{{ steps.{RUNNER}.outputs.result }}}}\"",
        "        with:",
        f"          runners: {RUNNER}",
    ]
    return "\n".join(lines) + "\n"
