"""Sealed grading: each attack fails with every protection on, and with each layer on its own;
with every layer off it succeeds, so each test is known to be able to fail.

Layers (grader/sandbox/): admission, the run-time guard, the operating-system boundary
(bubblewrap), clean-up by identity. Forging happens inside the worker's own process, where only
admission and the guard can stop it; reaching other files and processes is also stopped by the
boundary, and leftover processes by the clean-up.
"""

from __future__ import annotations

import csv
import io
import json
import ast
import os
import shutil
import subprocess
import symtable
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.api import grade_path
from grader.commands.batch import run_batch
from grader.sandbox import modules, protocol
from grader.limits import Limits, Protections
from grader.report.summary import protections_text
from grader.sandbox.boundary import bwrap_works
from grader.sandbox.worlds import Worlds
from conftest import ROOT, SOLUTIONS, copy_tree, fixture_submission, grade

BWRAP = bwrap_works()
needs_bwrap = pytest.mark.skipif(not BWRAP, reason="bubblewrap does not run here")
LINUX = sys.platform == "linux"

ALL = Protections()
ALL_PROCESS = Protections(isolation="process")
ADMISSION_ONLY = Protections(guard=False, isolation="process", cleanup=False, syscalls=False)
GUARD_ONLY = Protections(admission=False, isolation="process", cleanup=False, syscalls=False)
BOUNDARY_ONLY = Protections(admission=False, guard=False, isolation="bwrap", cleanup=False,
                            syscalls=False)
SYSCALLS_ONLY = Protections(admission=False, guard=False, isolation="process", cleanup=False)
CLEANUP_ONLY = Protections(admission=False, guard=False, isolation="process", syscalls=False)
NOTHING = Protections(admission=False, guard=False, isolation="process", cleanup=False,
                      syscalls=False)

MODES = {"all": ALL, "all-process": ALL_PROCESS, "admission": ADMISSION_ONLY,
         "guard": GUARD_ONLY, "boundary": BOUNDARY_ONLY, "syscalls": SYSCALLS_ONLY,
         "cleanup": CLEANUP_ONLY, "nothing": NOTHING}
FAST = Limits(check_timeout=3.0, run_timeout=60.0)


def modes(*names: str) -> list:
    return [pytest.param(MODES[n], id=n, marks=[needs_bwrap] if MODES[n].isolation == "bwrap"
                         else []) for n in names]


def printed(result) -> str:
    return "\n".join(c.output for s in result.steps for c in s.checks)


# ------------------------------------------------------------------------- forged answers
TAKEOVERS = ["hostile_forges_answers", "hostile_takes_over_through_gc"]


@pytest.mark.parametrize("name", TAKEOVERS)
@pytest.mark.parametrize("shield", modes("all", "all-process", "admission", "guard"))
def test_a_submission_cannot_take_over_the_worker_to_forge_answers(name, shield, tmp_path):
    result = grade_path(fixture_submission(name, tmp_path / "f"),
                        protections=shield, limits=FAST)
    # Its nn.py and train.py are the kit's own, graded on the grader's stand-in engine; the
    # engine's steps, which the forged answers are about, get nothing.
    assert _engine_points(result) == 0
    if not shield.admission and name == "hostile_forges_answers":
        # The guard alone: every route was tried and refused.
        assert "handler tables taken over: 0" in printed(result)


def _engine_points(result) -> float:
    return sum(s.points for s in result.steps
               if s.id in ("add", "mul", "tanh", "backward", "activations"))


@pytest.mark.parametrize("name", TAKEOVERS)
def test_with_no_layer_on_the_forger_gets_points_so_the_test_above_can_fail(name, tmp_path):
    result = grade_path(fixture_submission(name, tmp_path / "f"),
                        protections=NOTHING, limits=FAST)
    assert _engine_points(result) > 20 and "handler tables taken over: 0" not in printed(result)


# A main block is not checked by admission: rebinding __name__ must not make it run.
@pytest.mark.parametrize("shield", modes("all", "all-process", "admission", "guard", "nothing"))
def test_a_main_block_never_runs_while_grading_whatever_name_the_module_has(shield, tmp_path):
    path = fixture_submission("hostile_rebinds_name_for_main", tmp_path / "f")
    assert modules.check_file(path / "engine.py") == []          # admitted, as written
    result = grade_path(path, protections=shield, limits=FAST)
    assert "MAIN BLOCK RAN" not in printed(result)
    assert result.step("add").points == 10                     # the file itself did run


# Gadgets that read attributes named by a string, brought in unnamed by a star import.
@pytest.mark.parametrize("shield", modes("all", "all-process", "admission", "guard"))
def test_attribute_gadgets_from_a_star_import_reach_nothing(shield, tmp_path):
    result = grade_path(fixture_submission("hostile_star_import_gadgets", tmp_path / "f"),
                        protections=shield, limits=FAST)
    assert "REAL BUILTINS" not in printed(result) and "METHODCALLER" not in printed(result)
    if not shield.admission:
        assert "attrgetter refused" in printed(result)


def test_with_no_layer_on_the_gadgets_reach_the_builtins_so_the_test_above_can_fail(tmp_path):
    result = grade_path(fixture_submission("hostile_star_import_gadgets", tmp_path / "f"),
                        protections=NOTHING, limits=FAST)
    assert "REAL BUILTINS reached: True" in printed(result)


# Frames reached from inside the worker: each prints the worker's secret token when it works.
FRAME_THEFTS = [("hostile_traceback_property", "STOLEN token"),
                ("hostile_rebuilds_signal", "signal route: [b")]


@pytest.mark.parametrize("name, tell", FRAME_THEFTS)
@pytest.mark.parametrize("shield", modes("all", "all-process", "admission", "guard"))
def test_no_route_reaches_the_workers_frames(name, tell, shield, tmp_path):
    result = grade_path(fixture_submission(name, tmp_path / "f"), protections=shield,
                        limits=FAST)
    assert tell not in printed(result)


# The look-alike traceback is stopped in every mode, by how the worker reads tracebacks (through
# the types' own descriptors); the rebuilt signal module only by the layers.
@pytest.mark.parametrize("name, tell", FRAME_THEFTS[1:])
def test_with_no_layer_on_the_frames_are_reached_so_the_test_above_can_fail(name, tell,
                                                                             tmp_path):
    result = grade_path(fixture_submission(name, tmp_path / "f"), protections=NOTHING,
                        limits=FAST)
    assert tell in printed(result)


WORKER = ROOT / "grader" / "sandbox" / "worker"


def _global_reads(source: str, function: str) -> set[str]:
    """The global or builtin names a module-level function, and every function nested in it,
    reads."""
    table = symtable.symtable(source, "worker.py", "exec")
    found: set[str] = set()
    pending = [next(c for c in table.get_children() if c.get_name() == function)]
    while pending:
        scope = pending.pop()
        found |= {s.get_name() for s in scope.get_symbols() if s.is_global() and
                  s.is_referenced()}
        pending.extend(scope.get_children())
    return found


@pytest.mark.parametrize("path", sorted(p for p in WORKER.glob("*.py") if p.name != "__init__.py"),
                         ids=lambda p: p.name)
def test_every_worker_module_keeps_builtins_of_its_own_before_any_function(path):
    # Student code could rebind a builtin it reaches: the worker's functions read builtins of
    # their module's own, a copy made before any of them is defined.
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private = next(i for i, node in enumerate(tree.body) if isinstance(node, ast.Assign) and
                   [t.id for t in node.targets if isinstance(t, ast.Name)] == ["__builtins__"])
    first = next((i for i, node in enumerate(tree.body) if isinstance(
        node, (ast.FunctionDef, ast.ClassDef, ast.Lambda))), len(tree.body))
    assert private < first
    # No class at the top: one would be found through object.__subclasses__(), and its
    # methods' globals would be the module's.
    assert not any(isinstance(node, ast.ClassDef) for node in tree.body)


def test_the_task_table_the_worker_loads_holds_records_without_methods():
    # tasks.py is copied beside the worker's modules and imported there. Its classes are the
    # protocol's TypedDicts: found through dict.__subclasses__() they lead nowhere (no method,
    # so no function whose globals are this module's), and the worker never reads them.
    tree = ast.parse((WORKER.parent / "tasks.py").read_text(encoding="utf-8"))
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert classes
    for node in classes:
        bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
        assert bases and bases <= {"TypedDict"} | {c.name for c in classes}, node.name
        assert all(isinstance(item, (ast.AnnAssign, ast.Expr)) for item in node.body), node.name


def test_what_the_worker_hands_student_code_reads_no_global_name():
    # The factories run with globals of their own (guards.isolated): a global read there would
    # fail, and none reaches the worker's modules.
    for name in ("guards.py", "standin.py"):
        source = (WORKER / name).read_text(encoding="utf-8")
        tree = ast.parse(source)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("make_"):
                allowed = {"SAFE"} if name == "standin.py" else set()
                reads = _global_reads(source, node.name) - allowed
                if name == "standin.py":
                    reads -= set(__import__("builtins").__dict__)
                assert reads == set(), (name, node.name, reads)


# ------------------------------------------------------------------------- the kit, a classmate
@pytest.mark.parametrize("whose", ["the kit's solutions", "a classmate"])
@pytest.mark.parametrize("shield", modes("all", "all-process", "admission", "guard", "boundary",
                                         "syscalls"))
def test_a_submission_cannot_run_the_kit_or_a_classmates_engine(whose, shield, tmp_path):
    place = SOLUTIONS if whose == "the kit's solutions" else copy_tree(SOLUTIONS, tmp_path / "bob")
    path = fixture_submission("hostile_reads_the_kit", tmp_path / "eve",
                              {"__PLACES__": repr([str(place)])})
    result = grade_path(path, protections=shield, limits=FAST)
    assert result.score == 0, printed(result)
    assert "running the engine found in" not in printed(result)
    if not shield.admission:
        # The guard alone: grader, os and open are stand-ins that reach nothing.
        assert "stealing failed" in printed(result) or \
            "found nothing to steal" in printed(result), printed(result)


def test_with_no_layer_on_the_thief_runs_the_solutions_so_the_test_above_can_fail(tmp_path):
    path = fixture_submission("hostile_reads_the_kit", tmp_path / "eve",
                              {"__PLACES__": repr([str(SOLUTIONS)])})
    result = grade_path(path, protections=NOTHING, limits=FAST)
    assert result.score > 20 and "running the engine found in" in printed(result)


AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _classmate_read(tmp_path: Path, run_as: str) -> str:
    # alice's worker folder exists while her sandbox is open, as in a batch of two jobs.
    alice = Worlds(copy_tree(SOLUTIONS, tmp_path / "alice"), FAST, run_as=run_as,
                    protections=CLEANUP_ONLY)
    try:
        copy = alice.world("student").launch.root / "submission" / "engine.py"
        eve = grade_path(fixture_submission("hostile_reads_a_classmates_copy", tmp_path / "eve",
                                            {"__PLACE__": repr(str(copy))}),
                         protections=CLEANUP_ONLY, limits=FAST, run_as=run_as)
        return printed(eve)
    finally:
        alice.close()


@pytest.mark.skipif(not (AS_ROOT and LINUX), reason="workers get user ids of their own as root")
def test_as_root_each_worker_has_a_user_of_its_own_and_cannot_read_a_classmates_copy(tmp_path):
    seen = _classmate_read(tmp_path, "auto")
    assert "READ A CLASSMATE" not in seen


@pytest.mark.skipif(not (AS_ROOT and LINUX), reason="workers get user ids of their own as root")
def test_with_one_shared_user_a_worker_reads_a_classmates_copy_so_the_test_above_can_fail(
        tmp_path):
    assert "READ A CLASSMATE" in _classmate_read(tmp_path, "nobody")


# ------------------------------------------------------------------------- symbolic links
def test_symbolic_links_in_a_submission_are_never_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT\n")
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "engine.py").symlink_to(SOLUTIONS / "engine.py")
    (folder / "nn.py").symlink_to(secret)
    (folder / "train.py").symlink_to(SOLUTIONS / "train.py")
    result = grade_path(folder)
    document = json.dumps(result.as_dict())
    assert "TOP-SECRET" not in document and result.score == 0
    assert result.status == "invalid"
    assert any("engine.py is a symbolic link" in p for p in result.problems), result.problems


def test_a_linked_file_beside_real_ones_is_skipped_and_named(tmp_path):
    folder = copy_tree(SOLUTIONS, tmp_path / "sub")
    (folder / "nn.py").unlink()
    (folder / "nn.py").symlink_to(SOLUTIONS / "nn.py")
    result = grade_path(folder)
    assert result.step("backward").passed and not result.step("neuron").passed
    assert any("nn.py is a symbolic link" in p for p in result.problems)


def test_a_batch_never_grades_a_link_to_a_classmates_folder(tmp_path):
    folder = tmp_path / "class"
    copy_tree(SOLUTIONS, folder / "ada")
    (folder / "mallory").symlink_to(folder / "ada")
    batch = run_batch(folder, tmp_path / "grades.csv", jobs=1, stream=io.StringIO())
    assert [r["student"] for r in batch.rows] == ["ada"] and batch.links == ["mallory"]
    assert "mallory" in (tmp_path / "grades-summary.txt").read_text()


# ------------------------------------------------------------------------- leftover processes
def _leftovers() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "leftover-987654"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _batch_with_a_leftover(tmp_path: Path, shield: Protections):
    target = tmp_path / "target.txt"
    target.write_text("original\n")
    os.chmod(tmp_path, 0o777)
    os.chmod(target, 0o666)
    folder = tmp_path / "class"
    fixture_submission("hostile_leftover_processes", folder / "a_attacker",
                       {"__TARGET__": repr(str(target))})
    for name in ("b", "c", "d", "e"):
        copy_tree(SOLUTIONS, folder / name)
    threads = threading.active_count()
    batch = run_batch(folder, tmp_path / "grades.csv", jobs=2, limits=FAST, protections=shield,
                      stream=io.StringIO())
    time.sleep(1.5)          # time for a leftover to do its harm
    scores = {r["student"]: float(r["total"]) for r in batch.rows}
    return scores, target.read_text().count("tampered"), threads


@pytest.mark.skipif(not LINUX, reason="starts processes with os.fork and finds them with pgrep")
@pytest.mark.parametrize("shield", modes("all", "all-process", "boundary", "cleanup", "syscalls"))
def test_processes_a_submission_leaves_behind_die_with_its_grading(shield, tmp_path):
    try:
        scores, tampered, threads = _batch_with_a_leftover(tmp_path, shield)
        assert _leftovers() == []
        assert tampered == 0
        assert {name: s for name, s in scores.items() if name != "a_attacker"} == \
            {"b": 100, "c": 100, "d": 100, "e": 100}
        assert threading.active_count() == threads      # no reader thread left behind
    finally:
        subprocess.run(["pkill", "-9", "-f", "leftover-987654"], check=False)


@pytest.mark.skipif(not LINUX, reason="starts processes with os.fork and finds them with pgrep")
def test_with_no_layer_on_the_leftover_does_harm_so_the_test_above_can_fail(tmp_path):
    try:
        scores, tampered, _ = _batch_with_a_leftover(tmp_path, NOTHING)
        assert tampered > 0 or _leftovers() or min(scores.values()) < 100
    finally:
        subprocess.run(["pkill", "-9", "-f", "leftover-987654"], check=False)


def _outliving(tmp_path: Path, shield: Protections) -> list[int]:
    fixture_submission("hostile_outlives_its_worker", tmp_path / "sub")
    grade_path(tmp_path / "sub", limits=FAST, protections=shield)
    time.sleep(0.3)
    out = subprocess.run(["pgrep", "-f", "outlives-123456"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.skipif(not LINUX, reason="starts processes with os.fork and finds them with pgrep")
@pytest.mark.parametrize("shield", modes("all-process", "boundary", "cleanup", "syscalls"))
def test_a_process_held_by_a_session_outliving_its_worker_dies_too(shield, tmp_path):
    try:
        assert _outliving(tmp_path, shield) == []
    finally:
        subprocess.run(["pkill", "-9", "-f", "outlives-123456"], check=False)


@pytest.mark.skipif(not LINUX, reason="starts processes with os.fork and finds them with pgrep")
def test_with_no_layer_on_the_held_process_survives_so_the_test_above_can_fail(tmp_path):
    try:
        assert _outliving(tmp_path, NOTHING) != []
    finally:
        subprocess.run(["pkill", "-9", "-f", "outlives-123456"], check=False)


@pytest.mark.parametrize("shield", modes("all", "all-process"))
def test_parallel_jobs_never_kill_each_others_workers(shield, tmp_path):
    # As root every worker runs as the same sandbox user: clean-up must not go by user.
    folder = tmp_path / "class"
    for k in range(6):
        copy_tree(SOLUTIONS, folder / f"s{k}")
    batch = run_batch(folder, tmp_path / "grades.csv", jobs=2, protections=shield,
                      stream=io.StringIO())
    assert [float(r["total"]) for r in batch.rows] == [100.0] * 6


# ------------------------------------------------------------------------- /dev/shm
@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm here")
@pytest.mark.parametrize("shield", modes("all", "all-process", "guard", "boundary", "syscalls"))
def test_memory_in_dev_shm_is_refused_or_private_and_nothing_survives(shield, tmp_path):
    # (Admission alone does not refuse open(): the guard's stand-in does, or a boundary.)
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    hog = Path(f"/dev/shm/micrograd-kit-hog-{tag}")
    path = fixture_submission("hostile_dev_shm", tmp_path / "s", {"__TAG__": tag})
    try:
        grade_path(path, protections=shield, limits=FAST)
        assert not hog.exists()
    finally:
        hog.unlink(missing_ok=True)


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm here")
def test_with_no_layer_on_dev_shm_fills_up_so_the_test_above_can_fail(tmp_path):
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    hog = Path(f"/dev/shm/micrograd-kit-hog-{tag}")
    path = fixture_submission("hostile_dev_shm", tmp_path / "s", {"__TAG__": tag})
    try:
        grade_path(path, protections=NOTHING, limits=Limits(check_timeout=20))
        assert hog.exists() and hog.stat().st_size > 100 << 20
    finally:
        hog.unlink(missing_ok=True)


# ------------------------------------------------------------------------- what reaches a terminal
def test_escape_sequences_never_reach_the_terminal_or_the_json(tmp_path):
    path = fixture_submission("hostile_escape_sequences", tmp_path / "s")
    env = {**os.environ, "NO_COLOR": "1"}
    for extra in ([], ["--json"]):
        proc = subprocess.run([sys.executable, "-m", "grader", str(path), *extra], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, env=env)
        shown = proc.stdout
        assert not any(ch in shown for ch in "\x1b\x07\x9b\r"), repr(shown[:500])
        assert "Every step passed" in shown or extra == []      # only as quoted output
    result = grade_path(path)
    assert not result.step("mul").passed and "PASS  mul" in printed(result)


def test_csv_cells_that_a_spreadsheet_would_evaluate_are_neutralised(tmp_path):
    folder = tmp_path / "class"
    for name in ("=HYPERLINK(1)", "+1", "-1", "@SUM(1)", "\tx", "ok\x1b[2Jname"):
        copy_tree(SOLUTIONS, folder / name)
    run_batch(folder, tmp_path / "grades.csv", jobs=2, stream=io.StringIO())
    names = [row["student"] for row in csv.DictReader((tmp_path / "grades.csv").open())]
    assert all(n[:1] not in "=+-@\t" for n in names), names
    assert "ok[2Jname" in names and not any("\x1b" in n for n in names)


# ------------------------------------------------------------------------- malformed answers
@pytest.mark.parametrize("shield", modes("cleanup", "boundary"))
def test_a_made_up_or_malformed_answer_is_the_submissions_failure(shield, tmp_path):
    # With admission and the guard off, the code can write to the answer channel itself.
    path = fixture_submission("hostile_malformed_answers", tmp_path / "s")
    result = grade_path(path, protections=shield, limits=FAST)
    mul = result.step("mul")
    assert not mul.passed and result.step("add").passed and result.step("tanh").passed
    assert all(c.state != "error" for s in result.steps for c in s.checks)
    assert any("garbled or forged" in c.message for c in mul.checks)


def test_answers_are_read_with_bounded_size_and_depth():
    keys = protocol.Secrets.new()
    stamp = keys.token.encode() + b" "
    assert protocol.decode_answer(stamp + b'{"id": 1, "ok": true}', keys) == {"id": 1, "ok": True}
    assert protocol.decode_answer(b'{"id": 1, "ok": true}', keys) is None           # no token
    assert protocol.decode_answer(b"nottoken " + b'{"id": 1}', keys) is None
    assert protocol.decode_answer(stamp + b"[" * 100_000 + b"]" * 100_000, keys) is None
    assert protocol.decode_answer(stamp + b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", keys) is None
    assert protocol.decode_answer(stamp + b"x" * (protocol.MAX_ANSWER_BYTES + 1), keys) is None


# ------------------------------------------------------------------------- the same every run
@pytest.mark.parametrize("shield", modes("all", "all-process"))
def test_an_address_dependent_bug_scores_the_same_on_every_run(shield, tmp_path):
    path = fixture_submission("backward_orders_by_id", tmp_path / "s")
    seen = set()
    for _ in range(4):
        step = grade_path(path, only=["backward"], protections=shield).step("backward")
        seen.add((step.points, tuple(c.message for c in step.checks)))
    assert len(seen) == 1
    assert next(iter(seen))[0] < 20


# ------------------------------------------------------------------------- which layers ran
@pytest.mark.parametrize("shield", modes("all", "all-process", "admission", "guard"))
def test_the_json_says_which_protections_were_active(shield, tmp_path):
    result = grade_path(copy_tree(SOLUTIONS, tmp_path / "s"), protections=shield)
    assert result.score == 100
    shields = result.settings["protections"]
    assert shields["admission"] is shield.admission and shields["guard"] is shield.guard
    expected = "bubblewrap" if shield.isolation != "process" and BWRAP else "none"
    assert shields["boundary"] == expected and shields["isolation"] == shield.isolation
    assert shields["cleanup"] in ("namespace", "process tree", "process group", "off")
    line = protections_text(shields)
    assert ("--isolation process" in line) == (shield.isolation == "process")



# ------------------------------------------------------------------------- a worker that stops reading
STOPS_READING = '''
import os as _os, signal as _signal, threading as _threading, time as _time

def _stop_later():
    _time.sleep(0.3)
    _os.kill(_os.getpid(), _signal.SIGSTOP)    # alive, holding its stdin, reading nothing

_threading.Thread(target=_stop_later, daemon=True).start()
'''


@pytest.mark.skipif(not LINUX, reason="stops the worker with SIGSTOP")
def test_a_worker_that_stops_reading_times_out_instead_of_blocking_the_grader(tmp_path):
    folder = copy_tree(SOLUTIONS, tmp_path / "sub")
    engine = folder / "engine.py"
    engine.write_text(STOPS_READING + engine.read_text())
    sandbox = Worlds(folder, FAST, protections=Protections(admission=False, guard=False,
                                                            syscalls=False,
                                                            isolation="process"))
    finished: list = []
    try:
        assert sandbox.request("student", "load", names=["engine"]).ok
        time.sleep(1.0)
        # More than a pipe holds: with a blocking write this request would wait for ever.
        thread = threading.Thread(target=lambda: finished.append(
            sandbox.request("student", "load", timeout=1.0, names=["engine"],
                            padding="x" * (1 << 20))),
            daemon=True)
        thread.start()
        thread.join(timeout=20)
        assert finished and finished[0].error and finished[0].error["kind"] == "timeout"
        assert sandbox.request("student", "load", names=["engine"]).ok      # a fresh worker takes over
    finally:
        sandbox.close()


def test_a_visible_check_never_shows_what_a_hidden_check_used(tmp_path):
    # The engine reports every number it was given: in a hidden check, those of the hidden
    # checks before it (the channel is there); in the visible one, only its own.
    result = grade(fixture_submission("hostile_leaks_hidden_inputs", tmp_path / "sub"))
    hidden_add = "1.25"                      # add.1's first input, a hidden check
    checks = {c.number: c for s in result.steps for c in s.checks}
    visible = [c for c in checks.values() if c.visible]
    assert visible and all(not c.passed for c in visible)
    assert all(hidden_add not in c.message for c in visible), visible[0].message
    later_hidden = checks["backward.2"]
    assert not later_hidden.visible and hidden_add in later_hidden.message


# ------------------------------------------------------------------------- the syscall layer
ESCAPES = ("mkfifo", "mknod", "file-in-tmp", "memfd-memory", "tmp-memory", "socket",
           "parent-folder", "shadow")


def _escapes_tried(shield, tmp_path) -> dict[str, str]:
    for stale in Path("/tmp").glob("micrograd-kit-escape-test*"):
        stale.unlink()
    try:
        result = grade_path(fixture_submission("hostile_syscall_escapes", tmp_path / "f"),
                            protections=shield, limits=FAST)
        lines = [line.split() for line in printed(result).splitlines()]
        return {words[1]: words[0] for words in lines if len(words) >= 2 and
                words[0] in ("ESCAPE", "HELD")}
    finally:
        for left in Path("/tmp").glob("micrograd-kit-escape-test*"):
            left.unlink()


# What each layer holds alone. The syscall layer leaves a file's metadata readable (Landlock
# does not govern stat): /etc/shadow's size, never its text. The boundary alone lets a socket
# be made in a network namespace of its own (it reaches nothing) and leaves a memfd to the
# syscall layer.
HELD_BY = {"syscalls": set(ESCAPES) - {"shadow"},
           "boundary": set(ESCAPES) - {"memfd-memory", "socket"}}


@pytest.mark.skipif(not LINUX, reason="seccomp and Landlock are Linux's")
@pytest.mark.parametrize("shield", modes("all", "all-process", "syscalls", "boundary"))
def test_no_escape_of_issue_18_works_with_the_syscall_layer_or_the_boundary(shield, tmp_path):
    tried = _escapes_tried(shield, tmp_path)
    escaped = {name for name, how in tried.items() if how == "ESCAPE"}
    if shield.guard or shield.admission:
        assert escaped == set()               # os is withheld: nothing ran at all
    else:
        layer = "boundary" if shield.isolation == "bwrap" else "syscalls"
        assert sorted(tried) == sorted(ESCAPES) and not escaped & HELD_BY[layer], tried
    assert not list(Path("/tmp").glob("micrograd-kit-escape-test*"))


@pytest.mark.skipif(not LINUX, reason="as the test above")
def test_with_no_layer_on_the_escapes_work_so_the_test_above_can_fail(tmp_path):
    tried = _escapes_tried(NOTHING, tmp_path)
    assert {"mkfifo", "file-in-tmp", "memfd-memory", "socket"} <= \
        {name for name, how in tried.items() if how == "ESCAPE"}, tried


# ------------------------------------------------------------------------- one world, one process
@pytest.mark.parametrize("shield", modes("all", "nothing"))
def test_nothing_passes_from_the_stand_in_world_to_the_students_own(shield, tmp_path):
    # Each world is a process of its own: by construction, with no layer on too.
    result = grade_path(fixture_submission("hostile_parks_across_worlds", tmp_path / "f"),
                        protections=shield, limits=Limits(check_timeout=3.0, run_timeout=90.0))
    assert result.step("neuron").passed          # nn.py, parking and all, loads and works
    # The runs with the student's own engine (which has no operations) all fail: the stand-in
    # parked by nn.py in one world is not there in the other. (train_classifier's own check,
    # on the kit's engine, grades the student's own code: it may pass.)
    full_runs = [c for step in ("training", "classifier") for c in result.step(step).checks
                 if c.end_to_end]
    assert len(full_runs) >= 2 and not any(c.passed for c in full_runs)


@pytest.mark.parametrize("shield", modes("all", "admission", "guard", "nothing"))
def test_a_match_pattern_reaches_no_module_through_an_allowed_one(shield, tmp_path):
    path = fixture_submission("hostile_match_reaches_modules", tmp_path / "f")
    refused = modules.check_file(path / "engine.py")
    result = grade_path(path, protections=shield, limits=FAST)
    if shield is NOTHING:                     # the test can fail: unguarded, it gets there
        assert refused and "REACHED module" in printed(result)
    else:
        assert "REACHED" not in printed(result).replace("NOT REACHED", "")


@pytest.mark.parametrize("shield", modes("all", "all-process", "admission", "nothing"))
def test_a_class_made_at_run_time_reaches_no_builtin_module(shield, tmp_path):
    # type() with a namespace of computed names, matched positionally: refused at admission;
    # with no layer on, it reaches the real builtins and runs exec (the test can fail).
    path = fixture_submission("hostile_metaclass_match", tmp_path / "f")
    refused = [v.what for v in modules.check_file(path / "engine.py")]
    assert any("making a class" in w for w in refused)
    assert any("positional patterns" in w for w in refused)
    result = grade_path(path, protections=shield, limits=FAST)
    if shield is NOTHING:
        assert "REACHED" in printed(result)
    else:
        assert "REACHED" not in printed(result)


@pytest.mark.parametrize("shield", modes("all", "admission", "guard", "nothing"))
def test_a_field_name_runs_no_code_dataclasses_generates(shield, tmp_path):
    # Refused at admission (annotations are written as annotations); with admission off, the
    # worker's dataclass checks every field name is a name; with no layer on, the generated
    # __eq__ runs the expression (the test can fail).
    path = fixture_submission("hostile_dataclass_codegen", tmp_path / "f")
    refused = [v.what for v in modules.check_file(path / "engine.py")]
    assert any("__annotations__" in w for w in refused), refused
    result = grade_path(path, protections=shield, limits=FAST)
    if shield is NOTHING:
        assert "REACHED by generated code" in printed(result)
    else:
        assert "REACHED" not in printed(result)


@pytest.mark.parametrize("engine", ["solutions", "stubs"])
def test_a_classifier_that_trains_no_network_earns_nothing(engine, tmp_path):
    # The nearest training flower answers predict as well as a network: what counts is that
    # train_classifier returns the MLP it trained, in every world it is graded in.
    path = fixture_submission("hostile_lookup_classifier", tmp_path / "f")
    if engine == "stubs":
        for name in ("engine.py", "nn.py", "train.py"):
            shutil.copy(ROOT / "exercises" / name, path / name)
    result = grade_path(path, limits=FAST)
    step = result.step("classifier")
    assert step.points == 0 and not any(c.state == "credited" for c in step.checks)
    assert any("not the MLP it trained" in c.message for c in step.checks)
