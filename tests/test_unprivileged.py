"""Grading as an ordinary user, the common case (an instructor on a laptop): a submission graded
as the grader's own user cannot rewrite its row of grades.csv after the batch, plant bytecode in
the grader, or kill the grading process, in every documented mode; with every layer off it can,
so these tests can fail."""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest

import unprivileged
from grader.sandbox.boundary import bwrap_works
from conftest import SOLUTIONS, copy_tree, fixture_submission

WHY_NOT = unprivileged.available()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")

SCRIPT = """\
import json, sys
from pathlib import Path
from grader.commands.batch import run_batch
from grader.limits import Protections

if __name__ == "__main__":
    shield = Protections(**json.loads(sys.argv[1]))
    run_batch(Path(sys.argv[2]), Path(sys.argv[3]), jobs=1, protections=shield,
              stream=sys.stdout)
"""


@pytest.fixture(scope="module")
def instructor():
    folder = Path(tempfile.mkdtemp(prefix="micrograd-kit-user-"))
    try:
        person = unprivileged.Instructor(folder)
        if not unprivileged.python_matches(person.python):
            pytest.skip(f"{unprivileged.USER}'s Python is another version than this one")
        (folder / "run_batch.py").write_text(SCRIPT)
        person.give(folder / "run_batch.py")
        yield person
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _class(person: unprivileged.Instructor, name: str) -> tuple[Path, Path]:
    folder = person.folder / name
    out = folder / "out" / "grades.csv"
    subs = folder / "subs"
    fixture_submission("hostile_same_user_tampering", subs / "a_attacker",
                       {"__KIT__": repr(str(person.kit)), "__CSV__": repr(str(out)),
                        "__DELAY__": "1.5"})
    copy_tree(SOLUTIONS, subs / "b")
    copy_tree(SOLUTIONS, subs / "c")
    person.give(folder)
    return subs, out


def _harm(person: unprivileged.Instructor, out: Path) -> list[str]:
    """Every sign that the attack worked."""
    time.sleep(2.5)                           # past the delay of the process it left behind
    harm = []
    rows = list(csv.DictReader(out.open())) if out.exists() else []
    if any(r["student"] == "tamperer" for r in rows):
        harm.append("a row was added to grades.csv after the batch")
    if {r["student"]: r["total"] for r in rows if r["student"] in "bc"} != \
            {"b": "100.0", "c": "100.0"}:
        harm.append(f"the classmates were not graded normally: {rows}")
    planted = person.kit / "grader" / "__pycache__" / "scoring.cpython-311.pyc"
    if planted.exists() and planted.read_bytes() == b"planted":
        harm.append("bytecode was planted in the grader")
    return harm


ISOLATIONS = ["process"] + (["bwrap"] if bwrap_works() else [])


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_a_same_user_submission_cannot_tamper_with_a_batch(instructor, isolation):
    subs, out = _class(instructor, f"cli-{isolation}")
    proc = instructor.run("-m", "grader", "batch", str(subs), "--out", str(out), "--jobs", "1",
                          "--isolation", isolation)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _harm(instructor, out) == []
    assert "Protections: admission, run-time guard" in proc.stdout
    if isolation == "bwrap":
        assert "bubblewrap boundary" in proc.stdout


# Admission alone no longer stops this class: its files only import os and open files, which
# admission leaves to the worker's stand-ins (capabilities withheld, not files refused).
LAYERS_ALONE = [
    ("guard", {"admission": False, "isolation": "process", "cleanup": False, "syscalls": False}),
    ("syscalls", {"admission": False, "guard": False, "isolation": "process", "cleanup": False}),
] + ([("boundary", {"admission": False, "guard": False, "isolation": "bwrap",
                    "cleanup": False, "syscalls": False})] if bwrap_works() else [])


@pytest.mark.parametrize("name, shield", LAYERS_ALONE, ids=[n for n, _ in LAYERS_ALONE])
def test_each_layer_alone_stops_a_same_user_submission(instructor, name, shield):
    subs, out = _class(instructor, f"alone-{name}")
    proc = instructor.run(str(instructor.folder / "run_batch.py"), json.dumps(shield),
                          str(subs), str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _harm(instructor, out) == []


def test_with_every_layer_off_the_same_user_submission_does_harm(instructor):
    subs, out = _class(instructor, "nothing")
    shield = {"admission": False, "guard": False, "isolation": "process", "cleanup": False,
              "syscalls": False}
    instructor.run(str(instructor.folder / "run_batch.py"), json.dumps(shield), str(subs),
                   str(out))
    harm = _harm(instructor, out)
    assert harm != [], "the attack did nothing, so the tests above prove nothing"
    shutil.rmtree(instructor.kit / "grader" / "__pycache__", ignore_errors=True)
