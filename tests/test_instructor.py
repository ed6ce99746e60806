"""Instructor tooling: submissions in every form, batch grading into a CSV and a class summary."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from grader import steps
from grader import __version__, scoring
from grader.commands.batch import entries, run_batch
from grader.intake.facts import Facts
from grader.report.csv import status_of
from grader.limits import Limits
from conftest import EXERCISES, SOLUTIONS, copy_tree, fixture_submission, grade


def _zip(folder, target, inner="submission"):
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{inner}/{path.name}" if inner else path.name)
    return target


def test_a_folder_whose_files_sit_one_level_down(tmp_path):
    copy_tree(SOLUTIONS, tmp_path / "unzipped" / "alice_hw1")
    assert grade(tmp_path / "unzipped").score == 100


@pytest.mark.parametrize("inner", ["", "my_folder"])
def test_a_zip_of_either_layout(tmp_path, inner):
    archive = _zip(copy_tree(SOLUTIONS, tmp_path / "s"), tmp_path / "hw.zip", inner)
    assert grade(archive).score == 100


def test_loose_files(tmp_path):
    assert grade([SOLUTIONS / "engine.py", SOLUTIONS / "nn.py", SOLUTIONS / "train.py"]).score == 100
    only_engine = grade(SOLUTIONS / "engine.py")
    assert only_engine.step("backward").passed and not only_engine.step("neuron").passed
    assert any("nn.py is missing" in p for p in only_engine.problems)


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "nothing_here", "does not exist"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "no engine.py"),
    (lambda d: _file(d / "bad.zip", b"PK but not really"), "not a readable zip"),
    (lambda d: _zip(copy_tree(SOLUTIONS, d / "s"), d / "x.zip") and
     _strip_engine(d / "x.zip", d / "noengine.zip"), "no engine.py"),
    (lambda d: _file(d / "notes.txt", b"hi"), "not a folder, a .zip"),
    (lambda d: _file(d / "engine.py", b"%PDF-1.4\x00\x01\x02"), "not a text file"),
])
def test_anything_else_scores_0_with_a_clear_reason(tmp_path, make, words):
    result = grade(make(tmp_path))
    assert result.score == 0 and result.status == "invalid"
    assert any(words in p for p in result.problems), result.problems


def _file(path, content):
    path.write_bytes(content)
    return path


def _strip_engine(source, target):
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            if not item.filename.endswith("engine.py"):
                dst.writestr(item, src.read(item))
    return target


def test_a_zip_cannot_write_outside_its_folder(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escaped.py", "x = 1\n")
        zf.writestr("engine.py", (SOLUTIONS / "engine.py").read_text())
    result = grade(archive)
    assert result.status == "invalid" and any("outside its own folder" in p
                                              for p in result.problems)
    assert not (tmp_path.parent / "escaped.py").exists()


@pytest.fixture
def small_class(tmp_path):
    folder = tmp_path / "class"
    copy_tree(SOLUTIONS, folder / "ada")
    fixture_submission("mul_not_swapped", folder / "bob")
    _zip(copy_tree(SOLUTIONS, tmp_path / "c"), folder / "cy.zip", "cy_hw")
    fixture_submission("hostile_infinite_loop_at_import", folder / "dee")
    fixture_submission("hostile_system_exit_in_backward", folder / "eve")
    (folder / "fay").mkdir()
    (folder / "fay" / "readme.txt").write_text("forgot the files")
    (folder / "=cmd").mkdir()
    copy_tree(SOLUTIONS, folder / "=cmd")
    return folder


def test_batch_grades_a_class_into_csv_json_and_summary(small_class, tmp_path):
    out = tmp_path / "out" / "grades.csv"
    shown = io.StringIO()
    batch = run_batch(small_class, out, jobs=2, limits=Limits(check_timeout=2), stream=shown)
    rows = {r["student"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert set(rows) == {"ada", "bob", "cy", "dee", "eve", "fay", "'=cmd"}
    assert list(next(iter(rows.values()))) == [
        "student", "id", "status", "reason", *steps.CORE_IDS, "total",
        *[s.id for s in steps.BONUS_STEPS], "bonus", "seconds", "late", "grader"]
    assert {r["id"] for r in rows.values()} == {""}          # a folder per student: no ids
    # Timed: a grading takes time (one refused at once may round to 0.0).
    assert all(float(r["seconds"]) > 0 for r in rows.values() if r["status"] == "graded"), rows
    assert rows["ada"]["status"] == "graded" and float(rows["ada"]["total"]) == 100
    assert rows["cy"]["total"] == "100.0"
    assert rows["bob"]["status"] == "graded" and float(rows["bob"]["mul"]) < 10
    assert rows["dee"]["status"] == "timed out" and "timed out" in rows["dee"]["reason"]
    assert rows["eve"]["status"] == "crashed" and float(rows["eve"]["add"]) == 10
    assert rows["fay"]["status"] == "invalid" and "no engine.py" in rows["fay"]["reason"]
    assert {r["grader"] for r in rows.values()} == {__version__}
    detail = json.loads((tmp_path / "out" / "grades" / "bob.json").read_text())
    assert detail["score"] == float(rows["bob"]["total"]) and detail["steps"]
    summary = (tmp_path / "out" / "grades-summary.txt").read_text()
    assert summary in shown.getvalue()
    assert "Class summary: 7 submissions" in summary and "mul.1" in summary
    assert "Mistakes named most often" in summary
    assert "uses each input's own value (.data) as its local derivative" in summary
    assert "does not pass yet" not in summary.split("Mistakes named most often")[1]
    # Piped: one plain line per submission, no carriage returns.
    assert "\r" not in shown.getvalue() and shown.getvalue().count("/7 ") == 7
    assert batch.skipped == 0
    # A feedback page per student, to send: bob's names his mistake and gives mul's hint.
    pages = {p.stem for p in (tmp_path / "out" / "grades").glob("*.md")}
    assert pages == {"ada", "bob", "cy", "dee", "eve", "fay", "=cmd"}
    bob = (tmp_path / "out" / "grades" / "bob.md").read_text(encoding="utf-8")
    assert bob.startswith("# micrograd-kit: feedback for bob")
    assert f"**{float(rows['bob']['total']):g}/100** points" in bob
    assert "## mul:" in bob and "**The mistake:**" in bob and "own value (.data)" in bob
    assert f"**mul**: {steps.get('mul').hint}" in bob
    assert "## add:" not in bob                                  # passed steps are not listed
    ada = (tmp_path / "out" / "grades" / "ada.md").read_text(encoding="utf-8")
    assert "**100/100** points" in ada and "The mistake" not in ada
    fay = (tmp_path / "out" / "grades" / "fay.md").read_text(encoding="utf-8")
    assert "no engine.py" in fay


def test_batch_rerun_skips_unchanged_submissions_unless_forced(small_class, tmp_path):
    out = tmp_path / "grades.csv"
    limits = Limits(check_timeout=2)
    for name in ("dee", "eve", "=cmd"):
        shutil.rmtree(small_class / name)
    run_batch(small_class, out, jobs=2, limits=limits, stream=io.StringIO())
    again = run_batch(small_class, out, jobs=2, limits=limits, stream=io.StringIO())
    assert again.skipped == 4
    fixture_submission("add_overwrites_grad", small_class / "ada")    # ada changed her files
    third = run_batch(small_class, out, jobs=2, limits=limits, stream=io.StringIO())
    assert third.skipped == 3
    assert {r["student"]: r["total"] for r in third.rows}["ada"] < 100
    forced = run_batch(small_class, out, jobs=2, limits=limits, force=True, stream=io.StringIO())
    assert forced.skipped == 0


def test_entries_and_status_classification(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a.zip").write_bytes(b"")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / ".hidden").mkdir()
    assert [e.name for e in entries(tmp_path)] == ["a", "a-2"]
    assert status_of(scoring.invalid(Facts("a", ("x",), invalid=True), {})) == ("invalid", "x")
    assert status_of(scoring.grade(Facts("a"), [], {})) == ("graded", "")
    timed_out = scoring.grade(Facts("a"), [], {}, run_problems=[("timeout", "engine.py hung")])
    assert status_of(timed_out) == ("timed out", "engine.py hung")


def test_names_from_any_export_are_one_short_line_and_break_nothing(tmp_path):
    # A long upload name (over what a file name may be once suffixed), and a name that would
    # add a fake score and HTML to the Markdown page and a forged progress line.
    folder = tmp_path / "class"
    long_name, forged = "s" * 240, "carol\n\n**100 of 100** points <img src=x onerror=alert(1)>\n<!--"
    for name in (long_name, forged, "ada"):
        copy_tree(EXERCISES if name != "ada" else SOLUTIONS, folder / name)
    shown = io.StringIO()
    batch = run_batch(folder, tmp_path / "grades.csv", jobs=1, stream=shown)
    names = [row["student"] for row in batch.rows]
    assert len(names) == 3 and all("\n" not in n and len(n) <= 80 for n in names)
    assert len(set(names)) == 3
    # One progress line per student, and none forged by a name.
    assert len([line for line in shown.getvalue().splitlines() if "graded" in line and
                re.match(r"\d+/3 \d\d:\d\d ", line)]) == 3
    assert "\n**100 of 100**" not in shown.getvalue()
    for page in (tmp_path / "grades").glob("*.md"):
        # Outside the code blocks (where text is shown as it is), no HTML and no bold but the
        # real score's.
        prose = re.sub(r"(`{3,}).*?\1", "", page.read_text(encoding="utf-8"), flags=re.S)
        assert re.search(r"(?<!\\)<", prose) is None
        assert re.findall(r"(?<!\\)\*\*[^*]+\*\*", prose)[0] in ("**0/100**", "**100/100**")


def test_a_saved_result_that_is_not_one_any_more_is_graded_again(tmp_path):
    folder = tmp_path / "class"
    copy_tree(SOLUTIONS, folder / "ada")
    run_batch(folder, tmp_path / "grades.csv", jobs=1, stream=io.StringIO())
    (tmp_path / "grades" / "ada.json").write_text("[]")
    again = run_batch(folder, tmp_path / "grades.csv", jobs=1, stream=io.StringIO())
    assert again.skipped == 0 and again.rows[0]["total"] == 100


def test_batch_wants_a_csv_name_for_its_output(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "grader", "batch", str(tmp_path), "--out",
                           str(tmp_path / "res")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and ".csv" in proc.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_place_of_a_file_is_never_read(tmp_path):
    folder = copy_tree(SOLUTIONS, tmp_path / "sub")
    (folder / "nn.py").unlink()
    os.mkfifo(folder / "nn.py")
    proc = subprocess.run([sys.executable, "-m", "grader", str(folder)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert "nn.py" in proc.stdout


def test_an_unwritable_out_is_said_before_any_grading(tmp_path, capsys):
    from grader.commands.batch import main
    (tmp_path / "class" / "ada").mkdir(parents=True)
    with pytest.raises(SystemExit) as stopped:
        main([str(tmp_path / "class"), "--out", "/proc/no-such-folder/grades.csv"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "cannot write there" in err and "Traceback" not in err


@pytest.mark.skipif(os.name != "posix", reason="file modes as on Linux and macOS")
def test_outputs_get_the_mode_the_umask_gives(tmp_path):
    from grader.report.files import write_text
    old = os.umask(0o022)
    try:
        written = write_text(tmp_path / "grades.csv", "x\n")
    finally:
        os.umask(old)
    assert written.stat().st_mode & 0o777 == 0o644
