"""PrairieLearn, simulated: a /grade-shaped folder graded by the entrypoint of the example
question's info.json, and every results.json checked against PrairieLearn's documented format."""

from __future__ import annotations

import fnmatch
import json
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import steps
from grader.commands.prairielearn import grade_into
from grader.limits import Limits
from conftest import ROOT, SOLUTIONS, copy_tree, fixture_submission

PLATFORM = ROOT / "platforms" / "prairielearn"
INFO = json.loads((PLATFORM / "question" / "info.json").read_text())

# PrairieLearn's external grading results (docs/externalGrading.md): `score` in [0, 1] unless
# the submission is not gradable; format_errors a string or a list of strings; tests rendered by
# <pl-external-grader-results>; the whole file under 1 MB.
TOP_KEYS = {"gradable": bool, "score": (int, float), "message": str, "output": str,
            "format_errors": (str, list), "tests": list, "images": list}
TEST_KEYS = {"name": str, "description": str, "points": (int, float),
             "max_points": (int, float), "message": str, "output": str, "images": list}


def validate(data: dict) -> None:
    assert len(json.dumps(data).encode()) < 1_000_000
    for key, value in data.items():
        assert key in TOP_KEYS, f"unknown key {key}"
        assert isinstance(value, TOP_KEYS[key]), key
        assert key == "gradable" or not isinstance(value, bool), key
    if data.get("gradable", True):
        assert 0.0 <= data["score"] <= 1.0
    else:
        errors = data["format_errors"]
        assert errors and all(isinstance(e, str) and e for e in
                              (errors if isinstance(errors, list) else [errors]))
    names = set()
    for test in data.get("tests", []):
        for key, value in test.items():
            assert key in TEST_KEYS, f"unknown test key {key}"
            assert isinstance(value, TEST_KEYS[key]) and not isinstance(value, bool), key
        assert 0 <= test["points"] <= test["max_points"]
        assert test["name"] not in names
        names.add(test["name"])
    if data.get("tests"):
        total = sum(t["max_points"] for t in data["tests"])
        earned = sum(t["points"] for t in data["tests"])
        assert abs(total - 100) < 0.05
        assert abs(earned / total - data["score"]) < 0.001


def entrypoint(root: Path) -> list[str]:
    """The info.json entrypoint, run with this checkout's Python instead of the image's."""
    words = shlex.split(INFO["externalGradingOptions"]["entrypoint"])
    assert words[0] == "/usr/local/bin/micrograd-grader"        # the console script in the image
    return [sys.executable, "-m", "grader"] + [str(root) if w == "/grade" else w
                                               for w in words[1:]]


def grade_folder(root: Path) -> tuple[subprocess.CompletedProcess, dict]:
    run = subprocess.run(entrypoint(root), capture_output=True, text=True, timeout=300)
    data = json.loads((root / "results" / "results.json").read_text())
    validate(data)
    return run, data


def uploaded(root: Path, source: Path, names=("engine.py", "nn.py", "train.py")) -> Path:
    """What <pl-file-upload> leaves in /grade/student: the named files, nothing else."""
    student = root / "student"
    student.mkdir(parents=True)
    for name in names:
        shutil.copy(source / name, student / name)
    return root


def test_the_example_question_is_a_complete_external_grading_question():
    options = INFO["externalGradingOptions"]
    assert INFO["gradingMethod"] == "External" and options["enabled"] is True
    assert 0 < options["timeout"] <= 600                         # PrairieLearn's ceiling
    run_timeout = float(shlex.split(options["entrypoint"])[-1])
    assert run_timeout + 15 < options["timeout"]                 # the grader stops first
    html = (PLATFORM / "question" / "question.html").read_text()
    for name in steps.SUBMISSION_FILES:
        assert name in html
    assert "<pl-external-grader-results>" in html
    docker = (PLATFORM / "Dockerfile").read_text()
    assert "--no-install-recommends bubblewrap" in docker
    assert '"/usr/local/bin/micrograd-grader", "prairielearn", "--root", "/grade"' in docker


def test_the_entrypoint_grades_the_reference_to_a_full_score(tmp_path):
    run, data = grade_folder(uploaded(tmp_path / "grade", SOLUTIONS))
    assert run.returncode == 0, run.stdout + run.stderr
    assert data["gradable"] is True and data["score"] == 1.0
    assert all(t["points"] == t["max_points"] for t in data["tests"])
    assert "100/100" in data["message"] and "100/100" in data["output"]
    assert "protections:" in run.stdout                          # the job log says which layers


def test_a_bug_is_charged_to_its_own_step_and_the_test_names_the_mistake(tmp_path):
    student = fixture_submission("mul_ignores_upstream", tmp_path / "sub")
    _, data = grade_folder(uploaded(tmp_path / "grade", student))
    assert data["gradable"] is True and 0 < data["score"] < 1
    failed = [t for t in data["tests"] if t["points"] < t["max_points"]]
    mul = steps.get("mul").title
    assert failed and any(t["description"] == mul for t in failed)
    for test in failed:          # only end-to-end runs elsewhere, and they point back at mul
        assert test["description"] == mul or "mul does not pass" in test["output"], test
    assert any("upstream" in (t["message"] + t["output"]).lower() or
               "out.grad" in t["message"] + t["output"] for t in failed)


def test_the_starter_files_score_zero_but_are_gradable(tmp_path):
    _, data = grade_folder(uploaded(tmp_path / "grade", ROOT / "exercises"))
    assert data["gradable"] is True and data["score"] == 0.0


def test_no_files_is_not_gradable_and_costs_no_attempt(tmp_path):
    (tmp_path / "grade" / "student").mkdir(parents=True)
    run, data = grade_folder(tmp_path / "grade")
    assert run.returncode == 0
    assert data["gradable"] is False and "score" not in data
    assert any("engine.py" in e for e in data["format_errors"])


def test_results_are_written_even_when_the_grader_itself_breaks(tmp_path, monkeypatch):
    from grader.commands import prairielearn

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(prairielearn, "grade_path", broken)
    root = uploaded(tmp_path / "grade", SOLUTIONS)
    data = grade_into(root, Limits())
    validate(data)
    assert data["gradable"] is False and "not a problem with your code" in data["message"]
    assert json.loads((root / "results" / "results.json").read_text()) == data


def test_a_chatty_submission_still_fits_in_one_megabyte():
    from grader.report.prairielearn import MAX_BYTES, _fit
    tests = [{"name": f"t{i}", "description": "d", "points": 0, "max_points": 1,
              "message": "m", "output": "diagnosis\nyour code printed:\n" + "x" * 4096}
             for i in range(400)]
    data = _fit({"gradable": True, "score": 0.0, "message": "", "output": "y" * 200_000,
                 "tests": tests})
    assert len(json.dumps(data)) <= MAX_BYTES
    assert all(t["output"].startswith("diagnosis") for t in data["tests"])


def _docker() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _docker(), reason="Docker is not available here")
def test_the_image_grades_a_submission(tmp_path):
    image = "micrograd-kit-grader-test"
    built = subprocess.run(["docker", "build", "-q", "-f", str(PLATFORM / "Dockerfile"),
                            "-t", image, str(ROOT)], capture_output=True, text=True,
                           timeout=900)
    assert built.returncode == 0, built.stderr
    root = uploaded(tmp_path / "grade", SOLUTIONS)
    run = subprocess.run(["docker", "run", "--rm", "--network", "none", "-v", f"{root}:/grade",
                          image] + shlex.split(INFO["externalGradingOptions"]["entrypoint"]),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    validate(data)
    assert data["score"] == 1.0


def test_copying_the_solutions_as_a_whole_folder_also_works(tmp_path):
    root = tmp_path / "grade"
    copy_tree(SOLUTIONS, root / "student", steps.ALL_FILES)
    _, data = grade_folder(root)
    assert data["score"] == 1.0 and "bonus 30/30" in data["message"]


def _docker_context(target: Path) -> Path:
    """The kit's folder as Docker sends it to a build: .dockerignore's patterns left out."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(relative: str) -> bool:
        name = relative.rsplit("/", 1)[-1]
        return any(fnmatch.fnmatch(relative, p) or
                   (p.startswith("**/") and fnmatch.fnmatch(name, p[3:])) for p in patterns)

    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        if any(ignored("/".join(relative.split("/")[:k + 1]))
               for k in range(relative.count("/") + 1)):
            continue
        if path.is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target / relative)
    return target


def test_the_image_is_built_from_a_wheel_and_never_holds_the_solutions(tmp_path):
    # Every layer of an image is pushed: the solutions must not enter even a deleted one.
    docker = (PLATFORM / "Dockerfile").read_text()
    final = docker.rsplit("\nFROM ", 1)[1]
    copies = [line for line in final.splitlines() if line.startswith(("COPY", "ADD"))]
    assert copies and all(line.startswith("COPY --from=build ") for line in copies)
    context = _docker_context(tmp_path / "context")
    assert not (context / "solutions").exists() and not (context / "tests").exists()
    assert (context / "grader" / "cli" / "__init__.py").is_file()
    # The build stage's wheel, from that context (as `pip wheel` runs in the Dockerfile).
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(tmp_path / "wheels"), str(context)], capture_output=True,
                           text=True, timeout=600)
    if built.returncode != 0 and "No matching distribution" in built.stderr:
        pytest.skip("setuptools could not be fetched to build the wheel (no package index)")
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "wheels").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "grader/cli/__init__.py" in names
    assert not any(n.startswith(("solutions/", "tests/")) for n in names)


def test_results_stay_under_the_size_limits_whatever_the_texts_hold():
    # Long names and messages, and characters JSON writes as twelve bytes each.
    from grader.report import gradescope as gs_view, prairielearn as pl_view
    long = "\U0001F600" * 30_000
    tests = [{"name": f"t{k}", "description": "d", "points": 0.0, "max_points": 1.0,
              "message": long, "output": long} for k in range(60)]
    data = pl_view._fit({"gradable": True, "score": 0.0, "message": "m", "output": long,
                         "tests": tests})
    assert pl_view.written_size(data) <= pl_view.MAX_BYTES
    assert all(t["message"].endswith("(cut: too long for PrairieLearn)") for t in data["tests"])
    gs = pl_view.shorten_tests({"score": 0, "tests": [{"name": "t", "output": long}
                                                      for _ in range(60)]},
                               gs_view.MAX_BYTES, ("output",), "too long")
    assert pl_view.written_size(gs) <= gs_view.MAX_BYTES
