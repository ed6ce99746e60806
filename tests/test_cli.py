"""`python -m grader` as a user runs it: exit codes, text, JSON, hints, and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import nbformat

from grader import steps
from conftest import ROOT, SOLUTIONS, partly_done


def run(*args, cwd=ROOT, env=None):
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=full_env)


def test_default_grades_exercises_and_points_at_the_first_todo():
    proc = run()
    assert proc.returncode == 0, proc.stderr
    assert "grading exercises/" in proc.stdout
    assert "0/100" in proc.stdout
    assert "Next: add" in proc.stdout and "engine.py:" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_solutions_show_100():
    proc = run("--solutions")
    assert proc.returncode == 0
    assert "100/100" in proc.stdout
    assert "Every step passed" in proc.stdout


def test_json_document_has_every_step_and_check_with_points_and_messages():
    proc = run("--json")
    data = json.loads(proc.stdout)     # nothing but the document on stdout
    assert data["kit"] == "micrograd-kit" and data["format"] == 2
    assert data["score"] == 0 and data["max_score"] == 100
    assert [s["id"] for s in data["steps"]] == list(steps.STEP_IDS)
    assert {"check_timeout", "run_timeout", "memory_mb", "output_kb", "worker_user"} <= set(data["settings"])
    for step in data["steps"]:
        assert {"id", "points", "max_points", "passed", "state", "checks"} <= set(step)
        for check in step["checks"]:
            assert {"number", "points", "max_points", "passed", "message"} <= set(check)
            assert check["number"].startswith(step["id"] + ".")


def test_step_option_exit_status_says_whether_that_step_earned_all_its_points(tmp_path):
    partly_done(["add"], tmp_path)
    passed = run(str(tmp_path), "--step", "add")
    assert passed.returncode == 0 and "add" in passed.stdout
    assert "mul" not in passed.stdout.split("total")[0]
    missing = run(str(tmp_path), "--step", "mul")
    assert missing.returncode == 1


def test_min_score_makes_a_low_score_fail():
    assert run("--min-score", "1").returncode == 1
    assert run("--solutions", "--min-score", "100").returncode == 0


def test_hint_and_steps_print_from_the_step_table():
    hint = run("hint", "backward")
    assert hint.returncode == 0 and steps.get("backward").title in hint.stdout
    listing = run("steps")
    for step in steps.STEPS:
        assert step.id in listing.stdout
    assert run("hint", "nonsense").returncode == 2


def test_a_folder_that_does_not_exist_is_an_error_with_the_reason_and_no_traceback(tmp_path):
    proc = run(str(tmp_path / "nowhere"))
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "0/100" not in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_typo_is_not_graded_as_a_folder_and_the_command_is_suggested(tmp_path):
    for typo, meant in (("bacth", "batch"), ("relase", "release"), ("version", "--version"),
                        ("stpes", "steps")):
        proc = run(typo, "subs", cwd=tmp_path)
        assert proc.returncode == 2 and f"did you mean `python -m grader {meant}`" in \
            proc.stderr, (typo, proc.stderr)
        assert proc.stdout == ""


def test_version_and_help_name_the_kit_and_every_command():
    from grader import __version__
    from grader.cli import COMMANDS
    assert run("--version").stdout.strip() == f"micrograd-kit {__version__}"
    shown = run("--help").stdout
    assert all(f"python -m grader {name}" in shown for name in COMMANDS)
    assert f"graded by micrograd-kit {__version__}" in run("--solutions", "--step", "add").stdout


def test_a_closed_pipe_ends_quietly(tmp_path):
    # `python -m grader --json | head`: the reader goes away after a few bytes.
    proc = subprocess.Popen([sys.executable, "-m", "grader", "--solutions", "--json"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    assert proc.wait(timeout=300) == 0
    assert b"Traceback" not in proc.stderr.read()


def test_a_batch_whose_reader_goes_away_still_writes_every_file(tmp_path):
    from conftest import SOLUTIONS, copy_tree
    for name in ("a", "b"):
        copy_tree(SOLUTIONS, tmp_path / "subs" / name)
    out = tmp_path / "grades.csv"
    out.write_text("stale\n")
    proc = subprocess.Popen([sys.executable, "-m", "grader", "batch", str(tmp_path / "subs"),
                             "--out", str(out), "--jobs", "1"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()                      # nobody reads the progress
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    rows = out.read_text().splitlines()
    assert rows[0].startswith("student,") and len(rows) == 3
    assert (tmp_path / "grades-summary.txt").is_file()


def test_force_color_and_no_color():
    import io
    from grader.report.text import use_colour
    old = {k: os.environ.pop(k, None) for k in ("NO_COLOR", "FORCE_COLOR")}
    try:
        assert not use_colour(io.StringIO())
        os.environ["FORCE_COLOR"] = "1"
        assert use_colour(io.StringIO())
        os.environ["NO_COLOR"] = "1"
        assert not use_colour(io.StringIO())
    finally:
        for key, value in old.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value


def test_syntax_error_is_reported_with_file_and_line(tmp_path):
    partly_done(["add"], tmp_path)
    engine = tmp_path / "engine.py"
    engine.write_text(engine.read_text() + "\ndef broken(:\n", encoding="utf-8")
    proc = run(str(tmp_path))
    assert "engine.py" in proc.stdout and "SyntaxError" in proc.stdout
    lines = engine.read_text().count("\n")
    assert f"engine.py:{lines}" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_colour_only_on_a_terminal():
    proc = run("--solutions", env={"NO_COLOR": ""})
    assert "\x1b[" not in proc.stdout   # piped: plain text


def test_readme_step_table_is_the_step_table():
    from grader.commands.steps import steps_markdown
    for page in ("README.md", "docs/students.md"):
        assert steps_markdown() in (ROOT / page).read_text(encoding="utf-8"), page


def test_report_shows_a_saved_result_again_as_it_was_graded(tmp_path):
    partly_done(["add", "mul"], tmp_path / "sub")
    graded = run(str(tmp_path / "sub"))
    saved = tmp_path / "result.json"
    saved.write_text(run(str(tmp_path / "sub"), "--json").stdout, encoding="utf-8")
    shown = run("report", str(saved))
    assert shown.returncode == 0, shown.stderr
    board = [line for line in graded.stdout.splitlines() if line.startswith("  ")
             and ("PASS" in line or "TODO" in line or "total" in line)]
    assert board and all(line in shown.stdout for line in board)
    page = run("report", str(saved), "--markdown")
    assert page.stdout.startswith("# micrograd-kit: feedback for") and "## Hints" in page.stdout
    (tmp_path / "other.json").write_text('{"tests": []}', encoding="utf-8")
    for bad in (tmp_path / "other.json", tmp_path / "missing.json"):
        refused = run("report", str(bad))
        assert refused.returncode == 2 and "cannot be read as a saved result" in refused.stderr
        assert "Traceback" not in refused.stderr


def test_a_python_without_the_grading_tools_is_told_how_to_install_them(tmp_path):
    # A Python that has the grader on its path but not pytest-json-report: the kit was not
    # installed there (or its virtual environment is not active). Not a bug in the grader.
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\n"
                       "sys.path[:] = [p for p in sys.path if 'site-packages' not in p]\n")
    proc = run(env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 2, proc.stdout
    assert "pytest-json-report" in proc.stderr and "pip install" in proc.stderr
    assert "bug in the grader" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_grading_from_inside_a_submission_never_imports_its_files(tmp_path):
    # `python -m grader .` in a student's folder: their pytest.py must not run as the grader.
    folder = tmp_path / "sub"
    for name in steps.SUBMISSION_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text((ROOT / "solutions" / name).read_text(encoding="utf-8"),
                                   encoding="utf-8")
    marker = tmp_path / "RAN"
    for module in ("pytest", "nbformat", "pytest_jsonreport"):
        (folder / f"{module}.py").write_text(f"open({str(marker)!r}, 'a').write('{module}')\n")
    proc = run(".", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert "100/100" in proc.stdout and not marker.exists()


def test_report_shows_no_escape_of_a_crafted_file_and_refuses_a_malformed_one(tmp_path):
    shown = run("--solutions", "--json")
    data = json.loads(shown.stdout)
    data["submission"] = "\x1b[2J\x1b]0;pwned\x07FAKE"
    data["problems"] = ["\x1b[31mred"]
    crafted = tmp_path / "crafted.json"
    crafted.write_text(json.dumps(data))
    for extra in ((), ("--markdown",)):
        proc = run("report", str(crafted), *extra)
        assert proc.returncode == 0 and "FAKE" in proc.stdout
        assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    # A diagnosis quoting a submission brings no HTML into the page; an endless text is cut.
    data["steps"][0].update(state="failed", points=0)
    data["steps"][0]["checks"][0].update(passed=False, state="failed", weight=1,
                                         diagnosis="<script>x</script>", message="m" * 1_000_000)
    crafted.write_text(json.dumps(data))
    page = run("report", str(crafted), "--markdown")
    outside = page.stdout.split("```")[::2]                 # the text outside code fences
    assert page.returncode == 0 and not any("<script>" in part for part in outside)
    assert "**The mistake:** &lt;script&gt;" in page.stdout and len(page.stdout) < 100_000
    if os.name == "posix":
        fifo = tmp_path / "fifo.json"
        os.mkfifo(fifo)
        proc = run("report", str(fifo))                  # never opened: no wait for ever
        assert proc.returncode == 2 and "regular file" in proc.stderr
    for broken in ({"steps": ["x"]}, {"steps": [{"id": "nope", "checks": []}]},
                   {"score": None}):
        crafted.write_text(json.dumps({**data, **broken}))
        for extra in ((), ("--markdown",)):
            proc = run("report", str(crafted), *extra)
            assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


def test_init_and_notebook_hand_out_the_stubs_whatever_exercises_holds(tmp_path):
    # A kit checkout whose exercises/ a student has filled in (as the README's editable install
    # has them do): a new workspace and the notebook still start from the stubs.
    kit = tmp_path / "kit"
    shutil.copytree(ROOT, kit, ignore=shutil.ignore_patterns(
        ".git", "tests", "benchmarks", "__pycache__", "*.egg-info", "artifacts"))
    for name in steps.ALL_FILES:
        shutil.copy(SOLUTIONS / name, kit / "exercises" / name)
    env = {"PYTHONPATH": str(kit)}
    which = subprocess.run([sys.executable, "-c", "import grader; print(grader.__file__)"],
                           cwd=kit, capture_output=True, text=True, env={**os.environ, **env})
    assert which.stdout.startswith(str(kit)), which.stdout     # the copy's grader runs
    assert run("init", "work", cwd=kit, env=env).returncode == 0
    for name in steps.ALL_FILES:
        handed = (kit / "work" / "exercises" / name).read_bytes()
        assert handed == (kit / "grader" / "starter" / name).read_bytes(), name
        assert handed != (kit / "exercises" / name).read_bytes(), name
    graded = run(cwd=kit / "work", env=env)
    assert graded.stdout.count("not started") == len(steps.STEPS), graded.stdout
    assert run("notebook", "--out", "nb.ipynb", cwd=kit, env=env).returncode == 0
    cells = nbformat.read(str(kit / "nb.ipynb"), as_version=4).cells
    code = "\n".join(c.source for c in cells if c.cell_type == "code")
    for step in (s for s in steps.STEPS if s.todos):
        assert f"TODO({step.id})" in code, step.id
    notebook = run("nb.ipynb", "--json", cwd=kit, env=env)
    data = json.loads(notebook.stdout)
    assert (data["score"], data["bonus_score"]) == (0, 0)
