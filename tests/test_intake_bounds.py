"""Intake that cannot be made slow or confused (issue 18, items 4, 5 and 7): sizes checked before
anything parses, main guards disarmed in one pass, each batch entry under a watchdog of its own,
names that cannot collide, and copies that never follow a link or open a device."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
import zipfile

import pytest

from grader import steps
from grader.commands.batch import entries, run_batch
from grader.intake import submission as intake
from grader.limits import Limits
from grader.sandbox import source
from conftest import SOLUTIONS, copy_tree, grade

POSIX = os.name == "posix"


# ------------------------------------------------------------------ sizes before parsing
def test_many_main_guards_are_disarmed_in_one_pass():
    guards = 'if"__main__"==__name__:0\n' * 19_000        # just under the most lines a file has
    started = time.monotonic()
    disarmed = source.without_main_blocks(guards)
    assert time.monotonic() - started < 5
    assert "__main__" not in disarmed and disarmed.count("\n") == guards.count("\n")
    from grader.sandbox import admission
    more = guards * 3                                    # beyond: refused before any parsing
    assert "too costly" in admission.check_source(more, "engine.py")[0].what


def _notebook(cells: list[str]) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "source": text, "outputs": [],
         "execution_count": None, "id": f"c{k}"} for k, text in enumerate(cells)]},
        separators=(",", ":"))


def test_a_huge_unmarked_notebook_cell_is_never_parsed(tmp_path):
    # 18 MB in one cell: parsed, it took 40 s and 6.5 GB of the grading process.
    notebook = tmp_path / "huge.ipynb"
    engine = (SOLUTIONS / "engine.py").read_text(encoding="utf-8")
    notebook.write_text(_notebook(["x = 1\n" * 2_600_000, engine]), encoding="utf-8")
    code = ("import sys, tempfile, resource; from pathlib import Path\n"
            "from grader.intake.notebook import notebook_to_folder\n"
            "r = notebook_to_folder(Path(sys.argv[1]), Path(tempfile.mkdtemp()))\n"
            "print(sorted(r.sources), r.problems)\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    started = time.monotonic()
    ran = subprocess.run([sys.executable, "-c", code, str(notebook)], capture_output=True,
                         text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    found, peak = ran.stdout.splitlines()
    assert found == "['engine'] []"
    assert time.monotonic() - started < 20 and int(peak) < 1_000_000     # KB: under 1 GB


def test_a_zip_declaring_too_many_members_is_refused_before_it_is_opened(tmp_path,
                                                                         monkeypatch):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for k in range(intake.ZIP_MAX_MEMBERS + 5):
            zf.writestr(f"d/{k}.txt", "")
    opened = []
    monkeypatch.setattr(intake.zipfile, "ZipFile",
                        lambda *a, **k: opened.append(a) or pytest.fail("opened"))
    sub = intake.open_submission([archive])
    assert sub.invalid and "more than" in sub.problems[0] and opened == []
    sub.close()


def test_what_a_zip_unpacks_to_is_counted_as_written(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "ZIP_MAX_BYTES", 10_000)
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("engine.py", (SOLUTIONS / "engine.py").read_text(encoding="utf-8"))
        zf.writestr("nn.py", "#" * 20_000)
    sub = intake.open_submission([archive])
    assert sub.invalid and "unpacks to more than" in sub.problems[0]
    sub.close()


# ------------------------------------------------------------------ a batch's names
def test_batch_names_are_given_after_cleaning_and_never_taken(tmp_path):
    for name in ("bo\x01b", " bob", "bob", "bob-2", "Alice", "alice", "Bob", "bob\u200b",
                 "Jos\u00e9", "Jose\u0301"):
        (tmp_path / name).mkdir()
    named = {e.path.name: e.name for e in entries(tmp_path)}
    # Clean names keep theirs (lower case first when two differ in case only); names that
    # print alike (a zero-width space, another Unicode form) are renamed.
    assert named["bob"] == "bob" and named["bob-2"] == "bob-2" and named["alice"] == "alice"
    assert named["Jos\u00e9"] == "Jos\u00e9" and named["Jose\u0301"] != "Jos\u00e9"
    assert named["bob\u200b"] not in ("bob", "bob-2")
    assert len({n.casefold() for n in named.values()}) == len(named)
    assert named[" bob"] not in ("bob", "bob-2") and named["bo\x01b"] not in ("bob", "bob-2")
    alone = tmp_path / "alone"
    for name in (" bob", "bo\x01b"):
        (alone / name).mkdir(parents=True)
    assert sorted(e.name for e in entries(alone)) == ["bob", "bob-2"]   # no one had "bob"


def test_the_real_bob_keeps_his_row_and_his_feedback(tmp_path):
    top = tmp_path / "class"
    copy_tree(SOLUTIONS, top / "bob")
    for impostor in (" bob", "bo\x01b"):
        (top / impostor).mkdir()
        (top / impostor / "engine.py").write_text("class Value:\n    pass\n", encoding="utf-8")
    out = tmp_path / "grades.csv"
    run_batch(top, out, jobs=2, stream=io.StringIO())
    with open(out, newline="", encoding="utf-8-sig") as handle:
        rows = {row["student"]: float(row["total"]) for row in csv.DictReader(handle)}
    assert rows["bob"] == 100 and len(rows) == 3
    saved = json.loads((tmp_path / "grades" / "bob.json").read_text(encoding="utf-8"))
    assert saved["score"] == 100 and "100" in (tmp_path / "grades" / "bob.md").read_text()
    summary = (tmp_path / "grades-summary.txt").read_text(encoding="utf-8")
    assert "Graded under another name" in summary and "'\\x01'" not in summary


# ------------------------------------------------------------------ a watchdog per entry
def stalls(path: str, name: str, limits: dict, run_as, protections) -> dict:
    """A grading that hangs on the grader's side (and leaves a process of its own)."""
    from grader.commands.batch import _grade_entry
    if name == "stalls":
        child = subprocess.Popen(["sleep", "300"])
        with open(os.path.join(os.path.dirname(path), "child.pid"), "w") as handle:
            handle.write(str(child.pid))
        time.sleep(300)
    return _grade_entry(path, name, limits, run_as, protections)


@pytest.mark.skipif(not POSIX, reason="the stray is a POSIX sleep")
def test_a_grading_that_overruns_is_stopped_alone_with_what_it_started(tmp_path):
    top = tmp_path / "class"
    copy_tree(SOLUTIONS, top / "fine")
    copy_tree(SOLUTIONS, top / "stalls")
    out = tmp_path / "grades.csv"
    started = time.monotonic()
    batch = run_batch(top, out, jobs=2, limits=Limits(run_timeout=4), stream=io.StringIO(),
                      grade=stalls, margin=1)
    assert time.monotonic() - started < 60
    assert batch.results["fine"].score == 100
    assert batch.results["stalls"].score == 0
    assert "watchdog" in json.dumps(json.loads((tmp_path / "grades" / "stalls.json").read_text()))
    pid = int((top / "child.pid").read_text())
    time.sleep(0.5)
    try:                  # gone, or dead and waiting to be reaped by whoever adopted it
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            assert handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        pass


# ------------------------------------------------------------------ copies
@pytest.mark.skipif(not POSIX, reason="FIFOs and symbolic links as on Linux and macOS")
def test_copies_take_regular_files_only(tmp_path):
    folder = tmp_path / "sub"
    copy_tree(SOLUTIONS, folder)
    secret = tmp_path / "secret.py"
    secret.write_text("answers = 42\n", encoding="utf-8")
    (folder / "helper.py").symlink_to(secret)
    os.mkfifo(folder / "pipe.py")
    left = intake.copy_regular(folder, tmp_path / "copy")
    assert sorted(left) == ["helper.py", "pipe.py"]
    assert not (tmp_path / "copy" / "helper.py").exists()
    assert (tmp_path / "copy" / "engine.py").is_file()
    fifo = tmp_path / "engine.py"
    os.mkfifo(fifo)
    sub = intake.open_submission([fifo])                 # a loose FIFO is never opened
    assert sub.invalid and "not a regular file" in sub.problems[0]
    sub.close()


def test_a_folder_with_a_fifo_is_graded_without_waiting(tmp_path):
    folder = copy_tree(SOLUTIONS, tmp_path / "sub")
    if POSIX:
        os.mkfifo(folder / "extensions.py")
    started = time.monotonic()
    result = grade(folder)
    assert result.score == 100 and time.monotonic() - started < 60



# ------------------------------------------------------------------ the grader's own work
def test_the_stand_in_engines_gradients_cost_time_linear_in_the_graph():
    from grader import ops
    sums = [["leaf", 1.0], ["sum", [0] * 70_000]]             # one input 70,000 times
    chain = [["leaf", 0.5]] + [["tanh", i] for i in range(19_999)]
    for spec in (sums, chain):
        started = time.monotonic()
        checked = ops.checked(spec, 20_000)
        assert checked is not None and ops.leaf_gradients(checked, [0])
        assert time.monotonic() - started < 2
    assert ops.leaf_gradients(sums, [0]) == [70_000.0]
    assert ops.checked([["leaf", 1.0], ["sum", [0] * 90_000]], 20_000) is None


@pytest.mark.parametrize("text", ["x = f'" + "{a}" * 100_000 + "'\n", "a\n" * 500_000])
def test_text_too_costly_to_parse_is_refused_before_parsing(text, tmp_path):
    from grader.sandbox import admission
    started = time.monotonic()
    found = admission.check_source(text, "helper.py")
    assert time.monotonic() - started < 2
    assert found and "too costly" in found[0].what


def test_a_zip_whose_directory_is_too_large_is_refused_before_it_is_opened(tmp_path,
                                                                           monkeypatch):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for k in range(60):
            zf.writestr(f"d/{'x' * 200}{k}.txt", "")
    monkeypatch.setattr(intake, "ZIP_MAX_DIRECTORY", 5_000)   # a directory of 60 long names
    monkeypatch.setattr(intake.zipfile, "ZipFile", lambda *a, **k: pytest.fail("opened"))
    sub = intake.open_submission([archive])
    assert sub.invalid and "more than" in sub.problems[0]
    sub.close()


@pytest.mark.skipif(not POSIX, reason="FIFOs as on Linux and macOS")
def test_a_notebook_that_is_a_fifo_or_a_link_is_never_opened(tmp_path):
    fifo = tmp_path / "eve.ipynb"
    os.mkfifo(fifo)
    link = tmp_path / "mallory.ipynb"
    link.symlink_to(tmp_path / "secret.json")
    (tmp_path / "secret.json").write_text("{}", encoding="utf-8")
    for path in (fifo, link):
        sub = intake.open_submission([path])
        assert sub.invalid and "not a regular file" in sub.problems[0]
        sub.close()


def test_an_unpacked_submission_is_named_after_its_grading_process(tmp_path):
    archive = tmp_path / "sub.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("engine.py", (SOLUTIONS / "engine.py").read_text(encoding="utf-8"))
    sub = intake.open_submission([archive])
    try:
        # micrograd-kit-<pid>-...: what sandbox.cleanup.sweep_stale_roots removes once the
        # process is gone (a batch's watchdog kills a grading before it cleans up).
        assert sub.temp is not None and f"micrograd-kit-{os.getpid()}-" in sub.temp.name
    finally:
        sub.close()


def test_a_fingerprint_tells_apart_files_that_hash_alike_without_lengths(tmp_path):
    from grader.batching.regrade import fingerprint
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    (one / "a").write_bytes(b"bc")          # "a" + "bc" ...
    (two / "ab").write_bytes(b"c")          # ... and "ab" + "c" are the same bytes in a row
    assert fingerprint(one) != fingerprint(two)


def test_before_publishing_gradescope_shows_no_text_raised_after_hidden_checks():
    from grader.report.gradescope import visible_output
    from grader.results import GradingResult
    raised = ("extensions.py could not be imported: RuntimeError: HIDDEN INPUTS SEEN BEFORE "
              "THIS IMPORT: [1.5, -2.5]")
    result = GradingResult(submission="s", score=0, max_score=100, steps=[], settings={},
                           problems=[raised, "engine.py was not run: exec() is not allowed"])
    shown = visible_output(result, "after_published")
    assert "HIDDEN" not in shown and "extensions.py could not be imported" in shown
    assert "exec() is not allowed" in shown          # admission's word: nothing ran


@pytest.mark.parametrize("spec", [
    [["leaf", -2.0], ["pow", 0, 0.5]],             # (-2) ** 0.5 is complex
    [["leaf", 0.0], ["pow", 0, 0.5]],              # 0 ** 0.5, nudged below 0, is complex
    [["leaf", 2.0], ["pow", 0, 10 ** 400]],        # an exponent no float holds
    [["leaf", 10 ** 400]],
])
def test_a_graph_the_grader_cannot_differentiate_gets_no_gradients_and_no_exception(spec):
    from grader.sandbox.sandbox import gradients
    assert gradients({"spec": spec, "leaves": [0]}) is None


def test_a_power_that_leaves_the_real_numbers_costs_its_own_step_only(tmp_path):
    # A tiny L1 penalty written as sqrt(p ** 2) in train.py: the bias starts at 0, where the
    # kit's stand-in engine cannot differentiate it. train_step fails, with the reason; the
    # stand-in's world goes on answering (softmax, graded there, keeps its points), and no
    # check is an internal error.
    submission = copy_tree(SOLUTIONS, tmp_path / "l1", files=steps.ALL_FILES)
    train = submission / "train.py"
    source = train.read_text(encoding="utf-8")
    start = source.index("loss = sum(")
    end = source.index("\n", start)
    indent = source[source.rindex("\n", 0, start) + 1:start]
    train.write_text(source[:end + 1] + indent + "loss = loss + 1e-9 * sum((p ** 2) ** 0.5 for p "
                     "in model.parameters())\n" + source[end + 1:], encoding="utf-8")
    result = grade(submission)
    by_step = {s.id: s for s in result.steps}
    checks = [c for s in result.steps for c in s.checks]
    assert not [c.number for c in checks if c.state == "error" or "garbled" in c.message]
    assert by_step["softmax"].passed and by_step["neuron"].passed
    assert not by_step["training"].passed
    assert any("got no gradients" in c.message for c in by_step["training"].checks)
