"""Hostile and broken submissions: the grader finishes, grades every other step, and gives no
point that was not earned. Fixtures are in tests/fixtures/hostile_* and broken_*.

Many of these fixtures use os, ctypes or subprocess, which admission refuses before they run; to
test what the run layer does with a crash, an exit or a stray process on its own, they are
graded with admission and the run-time guard switched off (RUN_LAYER)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader import steps
from grader.api import grade_path
from grader.limits import Limits, Protections
from grader.sandbox import integrity
from grader.sandbox.boundary import bwrap_works
from grader.sandbox.worlds import Worlds
from conftest import failing, ROOT, SOLUTIONS, copy_tree, fixture_submission, grade

POSIX = os.name == "posix"
AS_ROOT = POSIX and os.geteuid() == 0
# Short limits keep the suite fast; the defaults are longer still.
FAST = Limits(check_timeout=2.0, run_timeout=60.0)
RUN_LAYER = Protections(admission=False, guard=False, syscalls=False)


def graded(name: str, tmp_path: Path, limits: Limits = FAST,
           protections: Protections | None = None, **substitute: str):
    path = fixture_submission(name, tmp_path / name, substitute or None)
    started = time.monotonic()
    result = grade_path(path, limits=limits, protections=protections)
    return result, time.monotonic() - started


def messages(step) -> str:
    return "\n".join(c.message for c in step.checks)


# (fixture, step that must fail, words its feedback must contain, steps that must still pass)
BROKEN_STEP = [
    ("hostile_infinite_loop_in_add", "add", "timed out after 2 s", ["mul", "tanh"]),
    ("hostile_infinite_loop_in_backward", "backward", "timed out after 2 s",
     ["add", "mul", "tanh", "neuron"]),
    ("hostile_unbounded_recursion_in_mul", "mul", "RecursionError", ["add", "tanh"]),
    ("hostile_memory_bomb_in_mul", "mul", "used more than 1024 MB", ["add", "tanh"]),
    ("hostile_sys_exit_in_add", "add", "called sys.exit(0)", ["mul", "tanh"]),
    ("hostile_os_exit_in_mul", "mul", "exit status 0", ["add", "tanh"]),
    ("hostile_keyboard_interrupt_in_tanh", "tanh", "KeyboardInterrupt", ["add", "mul"]),
    ("hostile_system_exit_in_backward", "backward", "sys.exit(None)",
     ["add", "mul", "tanh", "neuron"]),
    ("hostile_segfault_in_tanh", "tanh", "crashed the Python interpreter", ["add", "mul"]),
    ("hostile_lying_numbers", "add", "expected", ["mul", "tanh"]),
    ("hostile_frame_inspection", "backward", "expected", ["add", "mul", "tanh", "neuron"]),
    ("hostile_hardcoded_tutorial", "backward", "expected", ["add", "mul", "tanh", "neuron"]),
    ("broken_missing_nn", "neuron", "nn.py is missing", ["add", "mul", "tanh", "backward"]),
    ("broken_syntax_error_last_line_train", "training", "SyntaxError",
     ["add", "mul", "tanh", "backward", "neuron", "network"]),
]


@pytest.mark.parametrize("name, step_id, words, still_passing", BROKEN_STEP)
def test_a_broken_step_fails_with_its_reason_and_the_others_are_still_graded(
        name, step_id, words, still_passing, tmp_path):
    result, seconds = graded(name, tmp_path, protections=RUN_LAYER)
    step = result.step(step_id)
    assert step.points == 0 and not step.passed, (name, step.points)
    assert words in messages(step) + "\n".join(result.problems), messages(step)
    for other in still_passing:
        assert result.step(other).passed, (name, other, messages(result.step(other)))
    assert seconds < 30


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform != "linux",
                    reason="the memory cap is enforced on Linux")
def test_memory_that_creeps_up_is_stopped_at_the_cap(tmp_path):
    result, seconds = graded("hostile_memory_creep_in_mul", tmp_path, Limits(check_timeout=10),
                             RUN_LAYER)
    assert "used more than 1024 MB" in messages(result.step("mul"))
    assert result.step("add").passed and result.step("tanh").passed
    # The first failure stops the step: one creep, not one per check.
    assert seconds < 20


IMPORT_FAILURES = [
    ("hostile_infinite_loop_at_import", "timed out after 2 s"),
    ("hostile_sys_exit_at_import", "called sys.exit(0)"),
    ("hostile_os_exit_at_import", "exit status 0"),
    ("hostile_keyboard_interrupt_at_import", "KeyboardInterrupt"),
    ("hostile_fake_scoreboard", "called sys.exit(0)"),
    ("broken_empty_engine", "engine.py is empty"),
    ("broken_utf16_engine", "UTF-16"),
]


@pytest.mark.parametrize("name, words", IMPORT_FAILURES)
def test_an_engine_that_cannot_be_imported_gets_0_for_its_steps_with_the_reason(name, words,
                                                                               tmp_path):
    result, seconds = graded(name, tmp_path, protections=RUN_LAYER)
    # The engine's steps get nothing; the network steps of its (correct) nn.py and train.py are
    # graded on the grader's stand-in engine, all but the end-to-end run, which needs engine.py.
    assert all(result.step(s).points == 0 for s in ("add", "mul", "tanh", "backward"))
    assert all(c.passed or c.end_to_end or c.weight == 0
               for s in ("neuron", "network", "training")
               for c in result.step(s).checks) or result.status == "invalid"
    assert any(words in problem for problem in result.problems), result.problems
    # The failed import is waited for once, not once per check.
    assert seconds < FAST.check_timeout + 10


@pytest.mark.parametrize("addition, words", [
    ("\ndef broken(:\n    pass\n", "not valid Python"),
    ("\nexec('import socket')\n", "exec() is not allowed")])
def test_an_engine_refused_at_admission_costs_only_the_engines_steps(addition, words, tmp_path):
    # Refused before it runs, as an engine that raises on import is stopped while it runs: the
    # network steps of a correct nn.py and train.py are graded on the stand-in all the same.
    folder = copy_tree(SOLUTIONS, tmp_path / "sub")
    engine = folder / "engine.py"
    engine.write_text(engine.read_text(encoding="utf-8") + addition, encoding="utf-8")
    result = grade(folder, limits=FAST)
    assert all(result.step(s).points == 0 for s in ("add", "mul", "tanh", "backward"))
    for step in ("neuron", "network", "training"):
        checks = result.step(step).checks
        assert checks and all(c.passed or c.end_to_end or c.weight == 0 for c in checks), step
    assert any(words in problem for problem in result.problems), result.problems


@pytest.mark.parametrize("name, protections", [
    ("hostile_background_process", RUN_LAYER), ("hostile_prints_100mb", None),
    ("hostile_slow_but_correct", None)])
def test_a_correct_engine_that_misbehaves_harmlessly_still_scores_100(name, protections,
                                                                      tmp_path):
    result, seconds = graded(name, tmp_path, Limits(), protections)
    assert result.score == 100, {s.id: messages(s) for s in result.steps if not s.passed}
    assert seconds < 30


# What these files import is withheld, not refused: the file runs, each module is a stand-in,
# and only the step whose code uses one loses points, with the reason.
WITHHELD = [
    ("hostile_os_exit_in_mul", "mul", "os._exit is not available while grading"),
    ("hostile_segfault_in_tanh", "tanh", "is not available while grading"),
]


@pytest.mark.parametrize("name, step, words", WITHHELD)
def test_with_every_layer_on_a_withheld_capability_fails_only_the_checks_it_reaches(
        name, step, words, tmp_path):
    result, seconds = graded(name, tmp_path, Limits(), None, __TARGETS__="[]")
    messages_ = [c.message for s in result.steps for c in s.checks if not c.passed]
    assert any(words in m for m in messages_), messages_
    if step is not None:
        assert result.step(step).points < result.step(step).max_points
        assert all(s.passed for s in result.steps if s.id != step and not
                   steps.get(s.id).bonus and steps.get(s.id).file == "engine.py"), failing(result)
    assert result.status == "graded" and seconds < 20


@pytest.mark.parametrize("name", ["hostile_monkeypatching_correct",
                                  "hostile_background_process", "hostile_writes_files"])
def test_at_import_a_withheld_module_is_inert_and_a_correct_engine_keeps_full_marks(name,
                                                                                  tmp_path):
    before = _strays()
    result, _ = graded(name, tmp_path / name, Limits(), None, __TARGETS__=json.dumps(
        [str(tmp_path / "planted.py")]))
    # Patching a stand-in patches nothing, no process starts, no file is written or removed.
    assert result.score == 100, {s.id: messages(s) for s in result.steps if not s.passed}
    assert _strays() == before and not (tmp_path / "planted.py").exists()
    assert (tmp_path / name / name / "engine.py").exists()


def test_frames_are_still_refused_before_the_file_runs(tmp_path):
    result, _ = graded("hostile_frame_inspection", tmp_path, Limits(), None)
    assert any("is not allowed" in p and "was not run" in p for p in result.problems)
    assert all(result.step(s).points == 0 for s in ("add", "mul", "tanh", "backward"))


def test_patching_pytest_json_and_builtins_gains_nothing(tmp_path):
    for protections in (None, RUN_LAYER):
        patched, _ = graded("hostile_monkeypatching_with_mul_bug", tmp_path / str(protections),
                            protections=protections)
        plain = grade(fixture_submission("mul_not_swapped", tmp_path / "plain"))
        assert patched.score <= plain.score < 100
        assert patched.step("mul").points <= plain.step("mul").points


def test_printed_output_is_kept_short_and_never_mixed_with_the_report(tmp_path):
    result, _ = graded("hostile_prints_100mb", tmp_path, Limits())
    outputs = [c.output for s in result.steps for c in s.checks if c.output]
    assert outputs and all(len(o) < 5 * 1024 for o in outputs)
    assert any("output not shown" in o for o in outputs)


def test_fake_scoreboard_and_json_never_reach_the_graders_stdout(tmp_path):
    path = fixture_submission("hostile_fake_scoreboard", tmp_path / "fake")
    env = {**os.environ, "NO_COLOR": "1"}
    as_json = subprocess.run([sys.executable, "-m", "grader", str(path), "--json"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120, env=env)
    document = json.loads(as_json.stdout)     # exactly one document: ours
    engine = [s for s in document["steps"] if steps.get(s["id"]).file == "engine.py"]
    assert engine and all(s["points"] == 0 for s in engine) and document["score"] < 100
    text = subprocess.run([sys.executable, "-m", "grader", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=env)
    # What the submission printed is shown only quoted under a check, never as the grader's.
    ours = [line for line in text.stdout.splitlines() if not line.lstrip().startswith("|")]
    assert not any("Every step passed" in line or "100/100" in line for line in ours), ours
    assert "called sys.exit(0)" in text.stdout


ISOLATIONS = [pytest.param("process", id="process"),
              pytest.param("bwrap", id="bwrap", marks=pytest.mark.skipif(
                  not bwrap_works(), reason="bubblewrap does not run here"))]


def _strays() -> list[int]:
    """The processes hostile_background_process starts (both sleep with a marker duration)."""
    out = subprocess.run(["pgrep", "-f", "sleep 123.45"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.skipif(sys.platform != "linux", reason="finds processes through /proc")
@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_processes_a_submission_starts_do_not_outlive_grading(isolation, tmp_path):
    result, seconds = graded("hostile_background_process", tmp_path, Limits(),
                             Protections(admission=False, guard=False, syscalls=False,
                                         isolation=isolation))
    assert result.score == 100 and seconds < 30
    assert "started" in "".join(c.output for s in result.steps for c in s.checks)
    time.sleep(0.2)
    assert _strays() == []


@pytest.mark.skipif(sys.platform != "linux", reason="finds processes through /proc")
@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_a_daemon_that_leaves_the_process_group_is_killed_after_the_check(isolation, tmp_path):
    path = fixture_submission("hostile_background_process", tmp_path / "bg")
    sandbox = Worlds(path, Limits(), protections=Protections(admission=False, guard=False,
                                                              syscalls=False,
                                                              isolation=isolation))
    try:
        assert sandbox.request("student", "load", names=["engine"]).ok
        time.sleep(0.2)
        assert len(_strays()) == 2           # a child, and a daemon in a session of its own
        sandbox.reap()                       # what runs after every check
        time.sleep(0.2)
        assert _strays() == []
        assert sandbox.request("student", "load", names=["engine"]).ok      # the worker itself lives on
    finally:
        sandbox.close()
        subprocess.run(["pkill", "-9", "-f", "sleep 123.45"], check=False)


@pytest.mark.skipif(not AS_ROOT, reason="needs root to run the worker as another user")
@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_as_root_the_worker_runs_unprivileged_and_cannot_touch_the_grader(isolation, tmp_path):
    results_file = tmp_path / "results.json"
    results_file.write_text('{"score": 0}')
    os.chmod(tmp_path, 0o755)
    check_file = ROOT / "grader" / "checks" / "check_add.py"
    before = check_file.read_bytes()
    targets = repr([str(check_file), str(results_file)])
    result, _ = graded("hostile_writes_files", tmp_path, Limits(),
                       Protections(admission=False, guard=False, syscalls=False, isolation=isolation),
                       __TARGETS__=targets)
    assert result.settings["worker_user"] not in (None, "root")
    assert check_file.read_bytes() == before
    assert results_file.read_text() == '{"score": 0}'
    assert result.score == 100          # the writes failed; the engine itself is correct
    printed = "".join(c.output for s in result.steps for c in s.checks)
    # (once per world that imports the engine: the visible check's has its own)
    assert len({line for line in printed.splitlines() if "could not write" in line}) == 2
    if isolation == "process":          # without bubblewrap the checks are closed to others
        assert not os.stat(ROOT / "grader" / "checks").st_mode & 0o007


def test_a_submission_that_edits_the_grader_is_graded_0(tmp_path, monkeypatch):
    # Run as the same user (no separate account): the fingerprint of the grader's files notices.
    # A copy of the grader stands in for the real one, so the test cannot damage it.
    fake_grader = tmp_path / "grader_copy"
    fake_grader.mkdir()
    (fake_grader / "check_add.py").write_text("# a hidden check\n")
    monkeypatch.setattr(integrity, "GRADER", fake_grader)
    targets = repr([str(fake_grader / "check_add.py")])
    path = fixture_submission("hostile_writes_files", tmp_path / "writer",
                              {"__TARGETS__": targets})
    result = grade_path(path, run_as="none", protections=Protections(
        admission=False, guard=False, syscalls=False, isolation="process"))
    assert result.score == 0 and result.status == "error"
    assert any("grader's own files changed" in p for p in result.problems)


def test_a_startup_file_planted_in_the_graders_environment_fails_the_grading_and_goes(
        tmp_path, monkeypatch):
    # A .pth file in site-packages runs in every later Python start: the grading that saw one
    # appear is not trusted, and the file is removed. A stand-in site folder keeps the real one
    # out of harm's way; the submission writes there as a same-user worker could.
    site_folder = tmp_path / "site-packages"
    site_folder.mkdir()
    monkeypatch.setattr(integrity, "_startup_files", lambda: sorted(site_folder.glob("*.pth")))
    targets = repr([str(site_folder / "zz_planted.pth")])
    path = fixture_submission("hostile_writes_files", tmp_path / "writer",
                              {"__TARGETS__": targets})
    result = grade_path(path, run_as="none", protections=Protections(
        admission=False, guard=False, syscalls=False, isolation="process"))
    assert result.score == 0 and result.status == "error"
    assert "zz_planted.pth" in result.reason
    assert not (site_folder / "zz_planted.pth").exists()


def test_deleting_its_working_directory_harms_nothing(tmp_path):
    targets = repr([])
    result, _ = graded("hostile_writes_files", tmp_path, Limits(), RUN_LAYER, __TARGETS__=targets)
    assert result.score == 100
    assert all((tmp_path / "hostile_writes_files" / name).exists()
               for name in ("engine.py", "nn.py", "train.py"))


def test_whole_run_time_limit_stops_grading_and_reports_every_step(tmp_path):
    limits = Limits(check_timeout=2.0, run_timeout=1.2)
    result, seconds = graded("hostile_slow_but_correct", tmp_path, limits)
    assert seconds < 15
    assert len(result.steps) == len(steps.STEPS) and result.score < 100
    states = {c.state for s in result.steps for c in s.checks}
    assert "not_run" in states or any("whole submission" in c.message
                                      for s in result.steps for c in s.checks)


def test_the_settings_are_printed_in_the_json_output(tmp_path):
    copy_tree(SOLUTIONS, tmp_path)
    proc = subprocess.run([sys.executable, "-m", "grader", str(tmp_path), "--json",
                           "--check-timeout", "7", "--run-timeout", "90", "--memory-mb", "800"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    settings = json.loads(proc.stdout)["settings"]
    assert settings["check_timeout"] == 7 and settings["run_timeout"] == 90
    assert settings["memory_mb"] == 800 and "worker_user" in settings


def test_answers_made_to_be_slow_to_diagnose_are_read_in_bounded_time(tmp_path):
    # Admitted code: a _prev of 60,000 entries and 60,000 extra _backward calls per check.
    # The grading process reads a bounded part of what the worker reports; before, its
    # diagnosis of such answers ran for hours.
    folder = fixture_submission("hostile_huge_backward_trace", tmp_path / "sub")
    started = time.monotonic()
    result = grade(folder, only=["backward"], limits=FAST)
    assert time.monotonic() - started < 100
    assert result.step("backward").points < 20
    assert any("more than 5000 times" in (c.diagnosis or "")
               for c in result.step("backward").checks)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_planted_in_the_grader_neither_hangs_the_check_nor_stays():
    # Planted by a same-user worker with a way round the layers: reading it would wait for
    # ever, in this grading and every later one.
    before = integrity.digest()
    fifo = integrity.GRADER / "zz_planted_fifo"
    os.mkfifo(fifo)
    try:
        found: list = []
        reader = threading.Thread(target=lambda: found.append(integrity.digest()), daemon=True)
        reader.start()
        reader.join(timeout=20)
        assert found and found[0]["zz_planted_fifo"].startswith("special:")
        assert integrity.changed(before) == ["zz_planted_fifo"]
        assert integrity.remove_added_files(before) == ["zz_planted_fifo"]
        assert not fifo.exists() and integrity.changed(before) == []
    finally:
        if fifo.exists() or fifo.is_symlink():
            fifo.unlink()


def test_a_huge_name_in_an_error_is_clipped_before_it_reaches_the_results(tmp_path):
    # An exception class named with 5 million characters, raised in every check: the grading
    # process once kept it whole in every check's message (30 million: 11 GB, 5 minutes).
    result = grade(fixture_submission("hostile_huge_exception_name", tmp_path / "s"),
                   limits=FAST)
    assert result.score < 100
    size = len(json.dumps(result.as_dict()))
    assert size < 2_000_000, size
    assert any("BBBB" in c.message for s in result.steps for c in s.checks)


@pytest.mark.parametrize("name", ["hostile_huge_parameters_once", "hostile_huge_losses_in_the_run",
                                  "hostile_deep_given_code"])
def test_numbers_and_code_at_the_limits_are_the_submissions_failure_never_the_graders(name,
                                                                                     tmp_path):
    # Each made the grading process itself fail: an overflow in its own arithmetic on the
    # submission's numbers, a loss curve whose span overflows, given code too deep for a
    # recursive walk.
    result = grade(fixture_submission(name, tmp_path / "s"), limits=FAST)
    assert result.status == "graded", result.reason
    assert not [c.number for s in result.steps for c in s.checks if c.state == "error"]


def test_a_prev_hundreds_of_thousands_long_costs_the_grader_nothing_and_a_correct_walk_its_points(tmp_path):
    # The worker reports no more of a _prev than the graph has nodes: the answer stays small
    # (it once reached 30 MB, and 1.4 GB in the grading process) and backward keeps its points.
    started = time.monotonic()
    result = grade(fixture_submission("hostile_endless_prev", tmp_path / "s"),
                   only=["backward"], limits=FAST)
    assert result.step("backward").points == 20, result.step("backward").checks
    assert time.monotonic() - started < 60
