"""What a student reads: the scoreboard, hints, honest wording about hidden checks, watch mode."""

from __future__ import annotations

import io
import shutil

import pytest

from grader import steps
from grader.interactive.watch import watch
from grader.report import text as report
from grader.limits import Limits
from conftest import EXERCISES, SOLUTIONS, fixture_submission, grade, partly_done


def test_scoreboard_shows_progress_next_step_and_its_todo_line(stubs_result):
    text = report.scoreboard(stubs_result)
    assert "[------------------------]" in text
    line = stubs_result.step("add").todo.split(":")[1]
    assert f"Next: add (Addition: Value.__add__), in exercises/engine.py:{line}" in \
        text.replace(str(EXERCISES), "exercises")
    assert "python -m grader hint add" in text


def test_first_failure_in_full_with_expression_values_and_relative_error(tmp_path):
    result = grade(fixture_submission("mul_not_swapped", tmp_path), label="ex")
    text = report.scoreboard(result)
    block = text[text.index("mul: partly passed"):]
    assert "built out = a*b  with a=1.5, b=-2.5" in block
    assert "got a.grad = 1.5, expected -2.5 (relative error 1.6)" in block
    assert "-> __mul__'s _backward, for both inputs, uses each input's own value (.data) as its " \
        "local derivative." in block
    # The rest are one-line summaries: the first check has its context, the second does not.
    assert block.count("built ") == 1


def test_wording_is_honest_about_hidden_checks(solutions_result, tmp_path):
    text = report.scoreboard(solutions_result)
    assert "all tests passed" not in text.lower()
    hidden = sum(1 for s in solutions_result.steps for c in s.checks if not c.visible and c.weight)
    checks = sum(1 for s in solutions_result.steps for c in s.checks if c.weight)
    assert f"{checks} of {checks} checks passed, {hidden} of them hidden" in text
    one = grade(partly_done(["add"], tmp_path), only=["add"])
    single = report.scoreboard(one)
    assert "add passed: 10 of 10 checks passed, all hidden" in single
    assert "Every step" not in single
    failing = grade(fixture_submission("backward_no_seed", tmp_path / "b"))
    line = report.step_feedback(failing.step("backward"), "ex")[0]
    assert "0 of 13 checks passed, 12 of them hidden" in line


def test_colour_only_when_asked_and_never_with_no_color(solutions_result, monkeypatch):
    assert "\x1b[" in report.scoreboard(solutions_result, colour=True)
    assert "\x1b[" not in report.scoreboard(solutions_result, colour=False)

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert report.use_colour(Terminal())
    assert not report.use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not report.use_colour(Terminal())


def test_hints_lead_without_giving_the_code_away():
    solution_lines = {line.strip() for line in (SOLUTIONS / "engine.py").read_text().splitlines()
                      + (SOLUTIONS / "nn.py").read_text().splitlines()
                      + (SOLUTIONS / "train.py").read_text().splitlines()
                      if len(line.strip()) > 15 and not line.strip().startswith("#")}
    for step in steps.STEPS:
        assert 80 < len(step.hint) < 700
        for line in solution_lines:
            assert line not in step.hint, (step.id, line)


def test_watch_regrades_the_current_step_on_save_and_moves_on(tmp_path):
    folder = partly_done(["add"], tmp_path / "work")
    done = partly_done(["add", "mul"], tmp_path / "done")
    out = io.StringIO()
    polls = []

    def save_mul_on_first_poll(_seconds):
        if not polls:
            shutil.copy(done / "engine.py", folder / "engine.py")
        polls.append(1)

    watch(folder, label="work", limits=Limits(), sleep=save_mul_on_first_poll, rounds=2,
          stream=out)
    text = out.getvalue()
    assert "Watching work for saved changes" in text
    assert "engine.py saved: grading step mul ..." in text
    assert "mul passed. Next step: tanh." in text
    assert text.count("engine.py saved") == 1       # the second poll saw no change


def test_watch_stops_cleanly_on_ctrl_c(tmp_path):
    folder = partly_done([], tmp_path / "w")
    out = io.StringIO()

    def interrupt(_seconds):
        raise KeyboardInterrupt
    assert watch(folder, label="w", limits=Limits(), sleep=interrupt, stream=out) == 0
    assert "Stopped watching." in out.getvalue()


def _notebook(done: list[str], path):
    """The course notebook with the steps in `done` written as in solutions/."""
    import nbformat
    from grader.commands.notebook import build
    nb, solved = build(EXERCISES), build(SOLUTIONS)
    for cell, answer in zip(nb.cells, solved.cells):
        if (cell.metadata.get("micrograd_kit") or {}).get("part") in done:
            cell.source = answer.source
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize("form", ["notebook", "folder with a notebook", "workspace"])
def test_watch_follows_every_file_it_grades_notebooks_included(tmp_path, form):
    # A notebook given as the submission or found in the folder, and a workspace whose files
    # sit one folder down (as `init` makes it): a save is seen, and graded.
    if form == "workspace":
        folder = tmp_path / "my-work"
        partly_done(["add"], folder / "exercises")
        saved, watched, name = folder / "exercises" / "engine.py", folder, "exercises/engine.py"

        def save():
            shutil.copy(partly_done(["add", "mul"], tmp_path / "done") / "engine.py", saved)
    else:
        saved = _notebook(["base", "add"], tmp_path / "hw" / "micrograd.ipynb")
        watched = saved if form == "notebook" else saved.parent
        name = "micrograd.ipynb"

        def save():
            _notebook(["base", "add", "mul"], saved)
    out = io.StringIO()
    polls = []

    def save_on_first_poll(_seconds):
        if not polls:
            save()
        polls.append(1)

    watch(watched, label="work", limits=Limits(), sleep=save_on_first_poll, rounds=2,
          stream=out)
    text = out.getvalue()
    assert f"{name} saved: grading step mul ..." in text, text
    assert "mul passed. Next step: tanh." in text
    assert text.count(" saved: grading") == 1       # the second poll saw no change


def test_watch_sees_a_notebook_saved_for_the_first_time(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    out = io.StringIO()
    polls = []

    def save_on_first_poll(_seconds):
        if not polls:
            _notebook(["base", "add"], folder / "micrograd.ipynb")
        polls.append(1)

    watch(folder, label="empty", limits=Limits(), sleep=save_on_first_poll, rounds=1, stream=out)
    text = out.getvalue()
    assert "no engine.py in empty" in text
    assert "micrograd.ipynb saved: grading step add ..." in text
    assert "add passed. Next step: mul." in text


def test_the_command_line_watches_a_notebook(tmp_path, monkeypatch):
    from grader.commands import grade as command
    saved = _notebook(["base"], tmp_path / "micrograd.ipynb")
    watched = []
    monkeypatch.setattr(command, "watch", lambda path, **kwargs: watched.append(path) or 0)
    assert command.main(["--watch", str(saved)]) == 0
    assert watched == [saved]
