"""The GitHub Classroom workflow a release ships: its shape as GitHub and Classroom's actions read
it, and its commands run as the command grader runs them (a shell, PATH and HOME only, the
repository checked out as the workspace), with the grader installed the way the workflow does."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader import __version__, steps
from grader.report.classroom_workflow import VENV, WORKFLOW_PATH, check_source, workflow
from grader.report.classroom import RUNNER, _exact, runner_result
from conftest import EXERCISES, ROOT, SOLUTIONS, copy_tree, fixture_submission, grade

SOURCE = "git+https://github.com/course/micrograd-kit@v0.2.0"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"


def _steps(text: str) -> list[dict]:
    document = yaml.safe_load(text)
    (job,) = document["jobs"].values()
    return job["steps"]


def test_one_grading_step_hands_its_result_to_the_reporter():
    document = yaml.safe_load(workflow(SOURCE))
    assert set(document["on"]) >= {"push", "workflow_dispatch"}
    assert document["permissions"]["checks"] == "write"
    job_steps = _steps(workflow(SOURCE))
    grading = [s for s in job_steps if "/exercises" in s.get("run", "")]
    assert [s["id"] for s in grading] == [RUNNER] and RUNNER.isalnum()
    assert grading[0]["run"].endswith('--classroom-output "$GITHUB_OUTPUT"')
    reporter = job_steps[-1]
    assert reporter["uses"] == REPORTER
    assert reporter["with"]["runners"] == RUNNER
    assert reporter["env"] == {f"{RUNNER.upper()}_RESULTS":
                               f"${{{{ steps.{RUNNER}.outputs.result }}}}"}


def test_the_grader_comes_from_the_instructors_source_never_from_the_repository():
    job_steps = _steps(workflow(SOURCE))
    install = next(s for s in job_steps if s.get("name") == "Install the course's grader")
    assert f"pip install --quiet '{SOURCE}'" in install["run"]
    for step in job_steps:
        command = step.get("run") or step.get("with", {}).get("command", "")
        if "/exercises" in command:            # every step that grades
            assert f"{VENV}/bin/python -I -m grader" in command
            assert command.startswith('cd "$(mktemp -d)"')


@pytest.mark.parametrize("spec", ["/home/me/micrograd-kit", "./kit", "~/kit", "file:///k",
                                  "C:\\kit", "a b", "x'y", "${{ secrets.TOKEN }}", "kit;rm",
                                  "git+ssh://git@github.com/YOU/micrograd-kit",
                                  "$(id)", ""])
def test_a_source_the_runner_cannot_use_or_that_could_inject_is_refused(spec):
    with pytest.raises(ValueError):
        check_source(spec)


@pytest.mark.parametrize("spec", [SOURCE, "micrograd-kit==0.2.0",
                                  "https://example.edu/micrograd_kit-0.2.0-py3-none-any.whl"])
def test_urls_and_requirements_are_accepted(spec):
    assert check_source(spec) == spec


def test_release_writes_the_workflow_only_when_told_where_the_grader_comes_from(tmp_path):
    made = subprocess.run([sys.executable, "-m", "grader", "release", str(tmp_path / "with"),
                           "--grader-from", SOURCE], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "with" / WORKFLOW_PATH).read_text(encoding="utf-8") == workflow(SOURCE)
    assert "GitHub Classroom" in made.stdout
    plain = subprocess.run([sys.executable, "-m", "grader", "release", str(tmp_path / "plain")],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0 and not (tmp_path / "plain" / ".github").exists()
    refused = subprocess.run([sys.executable, "-m", "grader", "release", str(tmp_path / "no"),
                              "--grader-from", str(ROOT)], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode == 2 and "runner" in refused.stderr
    assert not (tmp_path / "no").exists()


# ------------------------------------------------------------------ running the workflow's commands
def _shell(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    """The workflow's install step, run as written (bar apt and sudo) with the kit's own wheel
    as the source: returns a function that runs one workflow command in a workspace."""
    if shutil.which("bash") is None:
        pytest.skip("no bash here")
    top = tmp_path_factory.mktemp("runner")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(top / "wheel"), str(ROOT)], capture_output=True, text=True,
                           timeout=600)
    if built.returncode != 0 and "No matching distribution" in built.stderr:
        pytest.skip("setuptools could not be fetched to build the wheel (no package index)")
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((top / "wheel").glob("*.whl"))
    (top / "bin").mkdir()
    (top / "bin" / "python").symlink_to(sys.executable)
    # What the command grader passes on: PATH and HOME, nothing else.
    env = {"PATH": f"{top / 'bin'}{os.pathsep}{os.environ['PATH']}", "HOME": str(top)}
    venv_dir = str(top / "opt")

    def local(command: str) -> str:
        for old, new in (("sudo ", ""), (VENV, venv_dir)):
            command = command.replace(old, new)
        return command

    install = next(s for s in _steps(workflow(SOURCE))
                   if s.get("name") == "Install the course's grader")["run"]
    script = "\n".join(local(line) for line in install.splitlines() if "apt-get" not in line)
    # Run where GitHub runs it: in the student's repository, which holds namesakes of what
    # `-m venv` and `-m pip` import; none of them may run.
    repository = top / "repository"
    for name in ("venv.py", "pip/__init__.py", "ensurepip/__init__.py", "shutil.py",
                 "subprocess.py"):
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        (repository / name).write_text(f"open({str(top / 'TAKEN')!r}, 'a').write({name!r})\n",
                                        encoding="utf-8")
    done = _shell(script.replace(SOURCE, str(wheel)), env, repository)
    assert not (top / "TAKEN").exists(), (top / "TAKEN").read_text()
    if done.returncode != 0 and "No matching distribution" in done.stdout + done.stderr:
        pytest.skip("the package index cannot be reached for the grader's dependencies")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.strip().endswith(f"micrograd-kit {__version__}")

    def run(command: str, workspace: Path) -> subprocess.CompletedProcess[str]:
        command = local(command).replace("${{ github.workspace }}", str(workspace))
        assert "sudo" not in command and "${{" not in command
        return _shell(command, env, workspace)
    return run


def _graded(run, workspace: Path) -> tuple[dict, subprocess.CompletedProcess[str]]:
    """The Grade step run as the workflow runs it; the runner result it hands the reporter,
    decoded as the reporter decodes it."""
    command = next(s for s in _steps(workflow(SOURCE)) if s.get("id") == RUNNER)["run"]
    output = workspace / "github_output"
    done = run(command.replace('"$GITHUB_OUTPUT"', f'"{output}"'), workspace)
    line = output.read_text(encoding="ascii").strip()
    assert line.startswith("result=")
    return json.loads(base64.b64decode(line[len("result="):])), done


def _total(result: dict) -> float:
    total = 0.0
    for test in result["tests"]:          # as the reporter adds them up
        total += test["score"]
    return total


def test_the_solutions_earn_every_steps_points(runner, tmp_path):
    copy_tree(SOLUTIONS, tmp_path / "exercises", steps.ALL_FILES)
    result, done = _graded(runner, tmp_path)
    assert result["status"] == "pass" and result["max_score"] == 100
    assert _total(result) == 100 and "100/100" in done.stdout


def test_a_grader_planted_in_the_repository_changes_nothing(runner, tmp_path):
    copy_tree(EXERCISES, tmp_path / "exercises", steps.ALL_FILES)
    fake = tmp_path / "grader"                       # "every step passes"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text("raise SystemExit(0)\n")
    (tmp_path / "exercises" / "grader").mkdir()
    shutil.copy(fake / "__main__.py", tmp_path / "exercises" / "grader" / "__main__.py")
    (tmp_path / "exercises" / "grader" / "__init__.py").write_text("")
    result, _ = _graded(runner, tmp_path)
    assert _total(result) == 0 and result["status"] == "fail"


def test_one_mistake_costs_its_own_step_and_partial_points_count(runner, tmp_path):
    fixture_submission("mul_half_swapped", tmp_path / "exercises")
    result, _ = _graded(runner, tmp_path)
    scores = {t["name"].split(":")[0]: t["score"] for t in result["tests"]}
    assert 0 < scores["mul"] < 10
    assert all(scores[s] == steps.get(s).points for s in steps.CORE_IDS if s != "mul")
    # The same total as grading the folder any other way.
    assert _total(result) == grade(tmp_path / "exercises").score


def test_bonus_steps_are_listed_without_points():
    result = runner_result(grade(SOLUTIONS))
    bonus = [t for t in result["tests"] if t["name"].startswith("bonus ")]
    assert len(bonus) == len(steps.BONUS_STEPS) and all(t["score"] == 0 for t in bonus)
    assert _total(result) == 100 == result["max_score"]


def test_partial_scores_add_up_exactly_as_the_reporter_adds_them():
    rng = random.Random(5)
    drawn = [[round(rng.uniform(0, 25), 2) for _ in range(7)] for _ in range(2000)]
    for scores in ([10.0, 10.0, 3.9, 20.0, 20.0, 0.0, 25.0], [8.89, 10, 13.71, 20, 17.27, 0, 24.04],
                   [0.1] * 7, [33.33, 33.33, 33.34], *drawn):
        total = round(sum(scores), 2)
        assert _total({"tests": [{"score": s} for s in _exact(list(scores), total)]}) == total
