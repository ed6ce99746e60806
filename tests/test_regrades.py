"""Regrades under control (issue 20, item 3): whatever changes grading (limits, protections, the
grader) invalidates a saved result; --only regrades the students named, --failed those whose
grading timed out or failed; every regrade that changes a total says so, and is logged."""

from __future__ import annotations

import csv
import io

from grader import scoring
from grader.commands import regrade
from grader.intake.facts import Facts
from grader.limits import Limits, Protections

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
