"""Shared helpers: build submissions from solutions/, exercises/ and tests/fixtures/, and grade them."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from grader import steps
from grader.api import grade_path
from grader.results import GradingResult

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


def copy_tree(source: Path, target: Path, files=steps.SUBMISSION_FILES) -> Path:
    """Copy a tree's core files (pass files=steps.ALL_FILES for the bonus's extensions.py too:
    its classifier check trains for seconds, so most tests leave it out)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in files:
        if (source / name).exists():
            shutil.copy(source / name, target / name)
    return target


def fixture_submission(name: str, target: Path, substitute: dict[str, str] | None = None) -> Path:
    """solutions/ with the fixture's files laid over it, or its mutation applied to it.

    mutation.json: {"file": ..., "replace": [[old, new], ...], "prepend": code, "append": code,
    "delete": [file, ...], "base": "exercises" (default: solutions), "extensions": true (the
    bonus's extensions.py too)}; `substitute` fills
    placeholders in the code a test cannot know in
    advance (such as a path on this machine).
    """
    folder = FIXTURES / name
    mutation = folder / "mutation.json"
    spec = json.loads(mutation.read_text(encoding="utf-8")) if mutation.exists() else {}
    base = EXERCISES if spec.get("base") == "exercises" else SOLUTIONS
    copy_tree(base, target, steps.ALL_FILES if spec.get("file") == steps.EXTENSION_FILE
              or spec.get("extensions") else steps.SUBMISSION_FILES)
    for path in folder.iterdir():
        if path.suffix == ".py":
            shutil.copy(path, target / path.name)
    mutation = folder / "mutation.json"
    if mutation.exists():
        spec = json.loads(mutation.read_text(encoding="utf-8"))
        file = target / spec["file"]
        text = file.read_text(encoding="utf-8")
        for old, new in spec["replace"]:
            assert text.count(old) == 1, f"{name}: the text to replace is not in {spec['file']} once"
            text = text.replace(old, new)
        text = spec.get("prepend", "") + text + spec.get("append", "")
        for key, value in (substitute or {}).items():
            text = text.replace(key, value)
        file.write_text(text, encoding="utf-8")
        for gone in spec.get("delete", []):
            (target / gone).unlink()
    return target


def mutation_fixtures() -> list[str]:
    """The single-bug submissions (hostile and broken ones are tested in test_hostile.py)."""
    return sorted(p.parent.name for p in FIXTURES.glob("*/mutation.json")
                  if "step" in json.loads(p.read_text(encoding="utf-8")))


def _function_spans(source: str) -> dict[str, tuple[int, int]]:
    spans = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            spans[node.name] = (node.lineno, node.end_lineno)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    spans[f"{node.name}.{item.name}"] = (item.lineno, item.end_lineno)
    return spans


def splice(exercise: str, solution: str, names: list[str]) -> str:
    """The exercise file with the named functions taken from the solution file."""
    lines = exercise.splitlines(keepends=True)
    solution_lines = solution.splitlines(keepends=True)
    spans = _function_spans(exercise)
    solution_spans = _function_spans(solution)
    for name in sorted(names, key=lambda n: spans[n][0], reverse=True):
        start, end = spans[name]
        s_start, s_end = solution_spans[name]
        lines[start - 1:end] = solution_lines[s_start - 1:s_end]
    return "".join(lines)


def partly_done(done: list[str], target: Path) -> Path:
    """exercises/ with the TODOs of the steps in `done` filled in from solutions/."""
    copy_tree(EXERCISES, target, steps.ALL_FILES)
    for name in steps.ALL_FILES:
        todos = [t for s in steps.STEPS if s.id in done and s.file == name for t in s.todos]
        if todos:
            text = splice((EXERCISES / name).read_text(encoding="utf-8"),
                          (SOLUTIONS / name).read_text(encoding="utf-8"), todos)
            (target / name).write_text(text, encoding="utf-8")
    return target


def grade(path: Path, **kwargs) -> GradingResult:
    return grade_path(path, **kwargs)


def failing(result: GradingResult) -> dict[str, list[str]]:
    return {s.id: [c.number for c in s.checks if not c.passed] for s in result.steps
            if not s.passed}


@pytest.fixture(scope="session")
def graded_fixture(tmp_path_factory):
    """name -> its grading, each fixture graded once however many tests read it."""
    done: dict[str, GradingResult] = {}

    def get(name: str) -> GradingResult:
        if name not in done:
            done[name] = grade(fixture_submission(name, tmp_path_factory.mktemp(name)))
        return done[name]
    return get


@pytest.fixture(scope="session")
def solutions_result() -> GradingResult:
    return grade(SOLUTIONS)


@pytest.fixture(scope="session")
def stubs_result() -> GradingResult:
    return grade(EXERCISES)
