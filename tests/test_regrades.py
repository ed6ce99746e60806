"""Regrades under control (issue 20, item 3): whatever changes grading (limits, protections, the
grader) invalidates a saved result; --only regrades the students named, --failed those whose
grading timed out or failed; every regrade that changes a total says so, and is logged."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest

from grader import scoring
from grader.batching import regrade
from grader.commands.batch import run_batch
from grader.intake.facts import Facts
from grader.limits import Limits, Protections
from conftest import ROOT, SOLUTIONS, copy_tree, fixture_submission

FAST = Limits(check_timeout=2)


def _result(**kwargs):
    result = scoring.grade(Facts("x"), [], {})
    for key, value in kwargs.items():
        setattr(result, key, value)
    return result


def test_every_setting_that_changes_grading_is_in_the_fingerprint():
    base = regrade.settings(FAST, None, "auto")
    changed = [regrade.settings(Limits(check_timeout=3), None, "auto"),
               regrade.settings(Limits(check_timeout=2, run_timeout=300), None, "auto"),
               regrade.settings(Limits(check_timeout=2, memory_mb=0), None, "auto"),
               regrade.settings(FAST, Protections(isolation="process"), "auto"),
               regrade.settings(FAST, Protections(guard=False), "auto"),
               regrade.settings(FAST, None, "none")]
    assert all(other != base for other in changed)
    assert regrade.settings(FAST, Protections(), "auto") == base      # the defaults are the same
    saved = regrade.Saved(_result(), "files", base, "x")
    why = regrade.choose(saved, "files", changed[1]).why
    assert why == "changed: --run-timeout 120 -> 300"
    assert regrade.choose(saved, "files", base).why is None                   # kept
    assert regrade.choose(saved, "other", base).why == "its files changed"
    newer = {**base, "grader": "another"}
    assert regrade.choose(saved, "files", newer).why == "changed: a new grader"


def test_only_and_failed_choose_whom_to_regrade():
    base = regrade.settings(FAST, None, "auto")
    timed_out = regrade.Saved(_result(incident="timed out"), "f", base, "x")
    graded = regrade.Saved(_result(), "f", {**base, "grader": "old"}, "x")
    assert regrade.choose(timed_out, "f", base, selective=True, failed=True).why == \
        "it had timed out (--failed)"
    kept = regrade.choose(graded, "f", base, selective=True, failed=True)
    assert kept.why is None and kept.stale                # stale, but not chosen: kept
    assert regrade.choose(graded, "f", base, selective=True, named=True).why == "asked by --only"
    assert regrade.choose(regrade.Saved(), "f", base, selective=True).why == "never graded"


def test_the_regrade_log_keeps_every_run(tmp_path):
    change = regrade.Change("ada", "ada", "1001", 40.0, 100.0, "graded", "graded",
                            "asked by --only")
    first = regrade.history("", [change])
    second = regrade.history(first, [change])
    rows = list(csv.reader(io.StringIO(second)))
    assert rows[0] == regrade.HISTORY_COLUMNS and len(rows) == 3
    assert rows[1][1:] == ["ada", "1001", "graded", "40", "graded", "100", "asked by --only"]
    assert change.line() == "ada (1001): 40 -> 100 (asked by --only)"


@pytest.fixture
def small(tmp_path):
    top = tmp_path / "class"
    copy_tree(SOLUTIONS, top / "ada")
    fixture_submission("mul_not_swapped", top / "bob")
    fixture_submission("hostile_infinite_loop_at_import", top / "dee")
    return top


def _totals(batch):
    return {r["student"]: float(r["total"]) for r in batch.rows}


def test_changed_limits_regrade_everyone_and_only_or_failed_regrade_some(small, tmp_path):
    out = tmp_path / "grades.csv"
    first = run_batch(small, out, jobs=2, limits=FAST, stream=io.StringIO(), compare=False)
    assert first.skipped == 0 and _totals(first)["ada"] == 100
    assert {r["student"]: r["status"] for r in first.rows}["dee"] == "timed out"
    # The same settings: everything kept. Other limits: everything graded again, the old
    # totals kept (no total changed).
    protections = [line for line in (tmp_path / "grades-summary.txt").read_text(
        encoding="utf-8").splitlines() if line.startswith("Protections:")]
    same = run_batch(small, out, jobs=2, limits=FAST, stream=io.StringIO(), compare=False)
    assert same.skipped == 3
    # Results kept keep saying which layers graded them (not the settings that decide a regrade).
    assert protections and protections == [
        line for line in (tmp_path / "grades-summary.txt").read_text(
            encoding="utf-8").splitlines() if line.startswith("Protections:")]
    other = run_batch(small, out, jobs=2, limits=Limits(check_timeout=3), stream=io.StringIO(),
                      compare=False)
    assert other.skipped == 0 and other.regraded == 3
    # bob fixes his bug: --failed does not regrade him (his grading ended normally), --only
    # does, and says what changed.
    copy_tree(SOLUTIONS, small / "bob")
    failed = run_batch(small, out, jobs=2, limits=Limits(check_timeout=3),
                       stream=io.StringIO(), failed=True, compare=False)
    assert failed.skipped == 2 and failed.regraded == 1 and _totals(failed)["bob"] < 100
    shown = io.StringIO()
    only = run_batch(small, out, jobs=2, limits=Limits(check_timeout=3), stream=shown,
                     only=["BOB"], compare=False)
    assert only.skipped == 2 and _totals(only)["bob"] == 100
    [change] = only.changes
    assert (change.student, change.new_total, change.why) == ("bob", 100.0, "asked by --only")
    summary = (tmp_path / "grades-summary.txt").read_text(encoding="utf-8")
    assert f"bob: {change.old_total:g} -> 100 (asked by --only)" in summary and summary in shown.getvalue()
    log = list(csv.DictReader(io.StringIO((tmp_path / "grades-regrades.csv").read_text(
        encoding="utf-8"))))
    assert [(r["student"], r["new total"], r["why"]) for r in log] == [("bob", "100", "asked by --only")]
    with pytest.raises(ValueError, match="--only zed"):
        run_batch(small, out, only=["zed"], stream=io.StringIO(), compare=False)


def test_the_command_line_takes_the_regrade_options(small, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grader", "batch", str(small), "--out",
                           str(tmp_path / "g.csv"), "--force", "--failed"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--force" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "grader", "batch", str(small), "--out",
                           str(tmp_path / "g.csv"), "--only", "nobody"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no student" in proc.stderr


def test_a_result_kept_although_stale_is_not_also_called_unchanged():
    from grader.report.summary import Run, class_summary
    from grader.report.stats import Graded
    graded = [Graded(k, k, _result()) for k in ("a", "b", "c")]
    text = class_summary(graded, Run(skipped=3, stale=["a", "b"]))
    assert "(1 unchanged since the last run, not regraded)" in text
    assert "Kept from the last run although their files or the settings changed" in text
    assert "(3 unchanged" not in text
