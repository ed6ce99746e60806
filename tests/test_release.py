"""The student release: what it holds, what it leaves out, and that it works on its own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from grader import steps
from grader.commands.release import build_release, edited_exercises, student_readme
from conftest import EXERCISES, ROOT, SOLUTIONS


def _solution_only_lines() -> set[str]:
    solution = {line.strip() for name in steps.ALL_FILES
                for line in (SOLUTIONS / name).read_text(encoding="utf-8").splitlines()}
    exercise = {line.strip() for name in steps.ALL_FILES
                for line in (EXERCISES / name).read_text(encoding="utf-8").splitlines()}
    # Lines as short as `else:` or `for p in params:` are everywhere; longer ones are the
    # solutions' own.
    return {line for line in solution - exercise if len(line) >= 20}


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rel") / "micrograd-kit"
    proc = subprocess.run([sys.executable, "-m", "grader", "release", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return out


def test_the_release_holds_the_student_files_and_nothing_of_the_solutions(release):
    top = sorted(p.name for p in release.iterdir())
    assert top == [".gitignore", "LICENSE", "README.md", "docs", "exercises", "grader",
                   "pyproject.toml"]
    # Every picture the student README shows is in the release, and every page it links to.
    readme = (release / "README.md").read_text(encoding="utf-8")
    for picture in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme):
        assert (release / picture).is_file(), picture
    links = [link.split("#")[0] for link in re.findall(r"\]\(([^)]+)\)", readme)
             if "://" not in link and not link.startswith("#")]
    assert "docs/students.md" in links
    for link in links:
        assert (release / link).is_file(), link
    only = _solution_only_lines()
    assert len(only) > 20
    for path in release.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            for line in text.splitlines():
                assert line.strip() not in only, (path, line)
    readme = (release / "README.md").read_text(encoding="utf-8")
    assert "python -m pip install -e . && python -m grader" in readme
    assert "--solutions" not in readme and "pytest" not in readme
    assert "For instructors" not in readme and "Working on the kit" not in readme
    # The student parts are the README's front page: the loop, in full.
    assert student_readme((ROOT / "README.md").read_text(encoding="utf-8")) == readme
    assert "python -m grader --watch" in readme and "python -m grader hint" in readme


def test_the_release_hands_out_the_stubs_even_from_a_checkout_with_work_in_exercises(tmp_path):
    kit = tmp_path / "kit"
    for part in ("grader", "docs"):
        shutil.copytree(ROOT / part, kit / part, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "LICENSE", "README.md"):
        shutil.copy(ROOT / name, kit / name)
    shutil.copytree(SOLUTIONS, kit / "exercises")         # an instructor tried the exercises
    build_release(tmp_path / "out", kit_root=kit)
    for name in steps.ALL_FILES:
        assert (tmp_path / "out" / "exercises" / name).read_bytes() == \
            (kit / "grader" / "starter" / name).read_bytes(), name
    assert edited_exercises(kit) == list(steps.ALL_FILES)


def test_release_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "x").write_text("keep me")
    with pytest.raises(ValueError):
        build_release(tmp_path)
    assert (tmp_path / "x").read_text() == "keep me"


def test_student_readme_needs_its_markers():
    with pytest.raises(ValueError):
        student_readme("# nothing marked")


def test_the_release_installs_with_its_readme_commands_and_grades(release, tmp_path):
    release = shutil.copytree(release, tmp_path / "student")     # a student's own clone
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["NO_COLOR"] = "1"
    # The README's command, run in the release folder.
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", "."], cwd=release,
                             capture_output=True, text=True, timeout=600, env=env)
    assert install.returncode == 0, install.stderr[-2000:]
    stubs = subprocess.run([str(python), "-m", "grader"], cwd=release, capture_output=True,
                           text=True, timeout=300, env=env)
    assert stubs.returncode == 0 and "0/100" in stubs.stdout, stubs.stdout + stubs.stderr
    assert stubs.stdout.count("not started") == len(steps.STEPS)
    no_solutions = subprocess.run([str(python), "-m", "grader", "--solutions"], cwd=release,
                                  capture_output=True, text=True, timeout=60, env=env)
    assert no_solutions.returncode == 2 and "student copy" in no_solutions.stderr
    for name in steps.SUBMISSION_FILES:
        shutil.copy(SOLUTIONS / name, release / "exercises" / name)
    solved = subprocess.run([str(python), "-m", "grader"], cwd=release, capture_output=True,
                            text=True, timeout=300, env=env)
    assert "100/100" in solved.stdout, solved.stdout + solved.stderr
