"""Gradescope, simulated: unpack autograder.zip into an /autograder-shaped folder, run
run_autograder on real submissions, and validate every results.json key by key."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import steps
from grader.commands.gradescope import build_zip
from grader.report.gradescope import VISIBILITIES
from conftest import SOLUTIONS, copy_tree, fixture_submission

POSIX = os.name == "posix"

# Gradescope's documented results.json (../shared/reference/gradescope.md): every key optional
# except that `tests` or `score` must be there.
TOP_KEYS = {"score": (int, float), "execution_time": (int, float), "output": str,
            "output_format": str, "test_output_format": str, "test_name_format": str,
            "visibility": str, "stdout_visibility": str, "extra_data": dict, "tests": list,
            "leaderboard": list}
TEST_KEYS = {"score": (int, float), "max_score": (int, float), "status": str, "name": str,
             "name_format": str, "number": str, "output": str, "output_format": str,
             "tags": list, "visibility": str, "extra_data": dict}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def validate(data: dict) -> None:
    assert isinstance(data, dict) and ("tests" in data or "score" in data)
    for key, value in data.items():
        assert key in TOP_KEYS, f"unknown top-level key {key}"
        assert isinstance(value, TOP_KEYS[key]) and not isinstance(value, bool), key
    for key in ("visibility", "stdout_visibility"):
        if key in data:
            assert data[key] in VISIBILITIES
    if "output_format" in data:
        assert data["output_format"] in FORMATS
    numbers = set()
    for test in data.get("tests", []):
        for key, value in test.items():
            assert key in TEST_KEYS, f"unknown test key {key}"
            assert isinstance(value, TEST_KEYS[key]) and not isinstance(value, bool), key
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in VISIBILITIES
        assert ("score" in test) == ("max_score" in test)       # both, or neither (no points)
        if "score" in test:
            assert 0 <= test["score"] <= test["max_score"] + 1e-9
            assert (test["status"] == "passed") == (test["score"] == test["max_score"]) or \
                test["max_score"] == 0
        step, check = test["number"].split(".")
        assert step.isdigit() and check.isdigit() and test["number"] not in numbers
        numbers.add(test["number"])
    if data.get("tests") and "score" in data:
        assert abs(sum(t.get("score", 0) for t in data["tests"]) - data["score"]) < 0.05


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("zip") / "autograder.zip"
    subprocess.run([sys.executable, "-m", "grader", "gradescope", "--out", str(out),
                    "--check-timeout", "2"], check=True, capture_output=True, timeout=60)
    return out


def simulate(zip_path: Path, root: Path, fill, python: str = sys.executable) -> dict:
    """Lay out /autograder as Gradescope does, fill the submission, run run_autograder."""
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    fill(root / "submission")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "MICROGRAD_KIT_PYTHON": python}
    proc = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (root / "results" / "stdout").write_text(proc.stdout)      # as Gradescope keeps it
    data = json.loads((root / "results" / "results.json").read_text())
    validate(data)
    return data


def test_the_zip_has_setup_and_run_autograder_at_its_root(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = archive.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    assert "setup.sh" in names and "run_autograder" in names
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert "grader/checks/check_add.py" in names and "pyproject.toml" in names
    assert not any(n.startswith(("solutions/", "tests/")) for n in names)
    assert "--check-timeout 2" in zipfile.ZipFile(autograder_zip).read("run_autograder").decode()


@pytest.mark.skipif(not POSIX, reason="run_autograder is a bash script, as on Gradescope")
def test_a_correct_submission_scores_100_with_one_test_per_check(autograder_zip, tmp_path):
    data = simulate(autograder_zip, tmp_path / "autograder", lambda s: copy_tree(SOLUTIONS, s))
    assert data["score"] == 100
    assert all(t["status"] == "passed" for t in data["tests"] if "score" in t)
    # The instructor's log says which protections the grading had.
    log = (tmp_path / "autograder" / "results" / "stdout").read_text()
    assert "protections: admission, run-time guard" in log
    visible = [t for t in data["tests"] if t["visibility"] == "visible"]
    assert len(visible) == 1 and "tutorial" in visible[0]["name"]
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_published"}
    # Hidden checks are hidden everywhere: the output a student reads now holds the visible
    # check only, no total; the whole follows the instructor's choice, and the log has it all.
    assert data["visibility"] == "after_published"
    assert "100/100" not in data["output"] and "when your instructor publishes" in data["output"]
    assert not any(step in data["output"] for step in ("mul:", "tanh:", "training:"))
    assert "100/100" in log
    assert data["tests"][0]["number"] == "1.1"
    assert {t["tags"][0] for t in data["tests"] if "score" in t} == set(steps.CORE_IDS)
    # The bonus's checks come with the others, without points: the 100 stay the 100.
    bonus = [t for t in data["tests"] if "score" not in t]
    assert bonus and all(t["tags"][-1] == "bonus" and t["name"].startswith("bonus ")
                         and t["visibility"] == "after_published" for t in bonus)
    assert {t["tags"][0] for t in bonus} == {s.id for s in steps.STEPS if s.bonus}


@pytest.mark.skipif(not POSIX, reason="run_autograder is a bash script, as on Gradescope")
def test_a_buggy_submission_loses_points_with_the_diagnosis_in_the_output(autograder_zip,
                                                                          tmp_path):
    data = simulate(autograder_zip, tmp_path / "autograder",
                    lambda s: fixture_submission("mul_not_swapped", s))
    assert 0 < data["score"] < 100
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert any("own value (.data) as its local derivative" in t["output"]
               for t in failed if t["tags"] == ["mul"])


@pytest.mark.skipif(not POSIX, reason="run_autograder is a bash script, as on Gradescope")
def test_an_empty_submission_gets_0_and_a_visible_explanation(autograder_zip, tmp_path):
    data = simulate(autograder_zip, tmp_path / "autograder", lambda s: None)
    assert data["score"] == 0 and data["visibility"] == "visible"
    assert "empty" in data["output"]


@pytest.mark.skipif(not POSIX, reason="run_autograder is a bash script, as on Gradescope")
def test_a_hostile_submission_is_graded_within_the_limits(autograder_zip, tmp_path):
    data = simulate(autograder_zip, tmp_path / "autograder",
                    lambda s: fixture_submission("hostile_infinite_loop_in_add", s))
    add = [t for t in data["tests"] if t["tags"] == ["add"]]
    assert all(t["status"] == "failed" for t in add)
    assert any("timed out after 2 s" in t["output"] for t in add)
    assert all(t["status"] == "passed" for t in data["tests"] if t["tags"] == ["mul"])


@pytest.mark.skipif(not POSIX, reason="run_autograder is a bash script, as on Gradescope")
def test_a_zip_upload_is_graded(autograder_zip, tmp_path):
    def fill(folder):
        with zipfile.ZipFile(folder / "hw.zip", "w") as archive:
            for name in steps.SUBMISSION_FILES:
                archive.write(SOLUTIONS / name, f"exercises/{name}")
    assert simulate(autograder_zip, tmp_path / "autograder", fill)["score"] == 100


@pytest.mark.skipif(not POSIX, reason="run_autograder is a bash script, as on Gradescope")
def test_when_the_grader_cannot_even_start_results_json_still_says_so(autograder_zip, tmp_path):
    data = simulate(autograder_zip, tmp_path / "autograder", lambda s: copy_tree(SOLUTIONS, s),
                    python=str(tmp_path / "no-such-python"))
    assert data["score"] == 0 and "could not grade" in data["output"]


def test_a_visibility_outside_the_specification_is_refused(tmp_path):
    with pytest.raises(ValueError):
        build_zip(tmp_path / "a.zip", hidden_visibility="sometimes")


@pytest.mark.skipif(not POSIX, reason="run_autograder is a bash script, as on Gradescope")
def test_with_every_check_visible_the_output_is_the_scoreboard(tmp_path):
    out = tmp_path / "visible.zip"
    build_zip(out, hidden_visibility="visible")
    data = simulate(out, tmp_path / "autograder", lambda s: copy_tree(SOLUTIONS, s))
    assert data["visibility"] == "visible" and "100/100" in data["output"]
    assert {t["visibility"] for t in data["tests"]} == {"visible"}


def test_the_memory_cap_fits_the_container(monkeypatch):
    from grader import limits
    assert limits.memory_cap(300) == 300                        # the instructor's, as given
    for limit, cap in ((768, 512), (None, 512), (4096, 1024), (300, 128)):
        monkeypatch.setattr(limits, "container_memory_mb", lambda limit=limit: limit)
        assert limits.memory_cap(None) == cap, limit


def test_the_sandbox_user_is_baked_in_and_checked_where_grading_runs(tmp_path):
    out = tmp_path / "user.zip"
    made = subprocess.run([sys.executable, "-m", "grader", "gradescope", "--out", str(out),
                           "--sandbox-user", "no-such-user-here"], capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    run = zipfile.ZipFile(out).read("run_autograder").decode()
    assert "--sandbox-user no-such-user-here" in run and "--memory-mb" not in run
    # setup.sh takes pip's right branch, installs nothing it does not need, hides no failure.
    setup = zipfile.ZipFile(out).read("setup.sh").decode()
    assert setup.count("--no-install-recommends") == 2 and "EXTERNALLY-MANAGED" in setup
    assert "|| \\\n    python3 -m pip" not in setup and "told" not in run


@pytest.mark.skipif(not POSIX, reason="run_autograder is a bash script, as on Gradescope")
def test_a_built_autograder_can_be_tried_on_one_submission(autograder_zip, tmp_path):
    tried = subprocess.run([sys.executable, "-m", "grader", "gradescope", "--try",
                            str(autograder_zip), str(SOLUTIONS)], capture_output=True,
                           text=True, timeout=300)
    assert tried.returncode == 0, tried.stderr
    results = json.loads(tried.stdout.split("--- results/results.json", 1)[1])
    validate(results)
    assert results["score"] == 100 and "protections:" in tried.stdout
    assert "micrograd-kit-autograder-" not in tried.stdout     # no path that is gone already


def test_the_tests_points_add_up_exactly_to_each_steps_and_to_the_100(solutions_result,
                                                                      graded_fixture):
    # Each check's share rounded alone to 4 decimals made the tests of a class add up to
    # 100.0003: written as decimals, they now add up to each step's points exactly.
    from decimal import Decimal

    from grader.report.gradescope import apportioned, results_json
    assert sum(Decimal(str(x)) for x in [round(10 / 3, 4)] * 3) != 10    # what went wrong
    assert sum(Decimal(str(x)) for x in apportioned([round(10 / 3, 4)] * 3, 10)) == 10
    for result in (solutions_result, graded_fixture("mul_half_swapped")):
        tests = [t for t in results_json(result)["tests"] if "max_score" in t]
        assert sum(Decimal(str(t["max_score"])) for t in tests) == 100
        for step in result.core_steps:
            mine = [t for t in tests if t["tags"][0] == step.id]
            assert sum(Decimal(str(t["max_score"])) for t in mine) == Decimal(step.max_points)
            assert all(abs(t["max_score"] - c.max_points) <= 0.0005
                       for t, c in zip(mine, step.checks))
    validate(results_json(graded_fixture("mul_half_swapped")))
