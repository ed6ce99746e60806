"""A class as Canvas and Moodle export it (issue 20, items 1 and 2): recognised by its file names,
each student's files grouped into one submission with the latest upload of each file, their name
and platform id kept in every output, and the grades written back in each platform's import
format."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
import zipfile

import pytest

from grader.commands.batch import entries, run_batch
from grader.intake import classfolder
from grader.limits import Limits
from grader.report import lms
from conftest import EXERCISES, SOLUTIONS, fixture_submission

CORE = ("engine.py", "nn.py", "train.py")


def canvas(folder, student, user_id, attachment, source, names=CORE, late=False, suffix=""):
    """Files as Canvas's "Download Submissions" names them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        stem, ext = name.rsplit(".", 1)
        target = f"{student}{'_LATE' if late else ''}_{user_id}_{attachment}_{stem}{suffix}.{ext}"
        shutil.copy(source / name, folder / target)


def moodle(folder, full_name, number, source, names=CORE):
    """A folder as Moodle's "Download all submissions" (in folders) names it."""
    target = folder / f"{full_name}_{number}_assignsubmission_file_"
    target.mkdir(parents=True)
    for name in names:
        shutil.copy(source / name, target / name)
    return target


# ------------------------------------------------------------------ recognising the exports
def test_canvas_files_are_grouped_by_student_with_the_latest_upload_of_each(tmp_path):
    top = tmp_path / "class"
    canvas(top, "martinalice", 1001, 50001, EXERCISES)                  # first try: the stubs
    canvas(top, "martinalice", 1001, 50002, SOLUTIONS, ("engine.py",), suffix="-1")
    canvas(top, "martinalice", 1001, 50002, SOLUTIONS, ("nn.py", "train.py"), suffix="-1")
    canvas(top, "martinalice", 1002, 50003, SOLUTIONS, late=True)      # another Alice Martin
    (top / "martinalice_1001_text.html").write_text("<p>see files</p>", encoding="utf-8")
    found = {f.lms_id: f for f in classfolder.find(top)}
    assert set(found) == {"1001", "1002"}
    first, second = found["1001"], found["1002"]
    assert (first.lms, first.student, first.late, second.late) == ("canvas", "martinalice",
                                                                   False, True)
    assert [(name, path.name) for name, path in first.files] == [
        ("engine.py", "martinalice_1001_50002_engine-1.py"),
        ("nn.py", "martinalice_1001_50002_nn-1.py"),
        ("train.py", "martinalice_1001_50002_train-1.py")]
    assert len(first.left_out) == 4 and any("text.html" in x for x in first.left_out)
    assert first.key != second.key


@pytest.mark.parametrize("name, expected", [
    ("martinalice_1001_50001_engine.py", ("canvas", "martinalice", "1001", False, "engine.py")),
    ("martinalice_LATE_1001_50001_engine-2.py",
     ("canvas", "martinalice", "1001", True, "engine-2.py")),
    ("o_brien_1001_50001_my_engine_v2.py", ("canvas", "o_brien", "1001", False,
                                            "my_engine_v2.py")),
    ("anon_x7Kq2_50001_engine.py", ("canvas", "anonymous", "anon_x7Kq2", False, "engine.py")),
    ("LATE_anon_x7Kq2_50001_hw.zip", ("canvas", "anonymous", "anon_x7Kq2", True, "hw.zip")),
    ("Alice Martin_12345_assignsubmission_file_engine.py",
     ("moodle", "Alice Martin", "12345", False, "engine.py")),
    ("Ana-María Núñez_7_assignsubmission_file_hw1.zip",
     ("moodle", "Ana-María Núñez", "7", False, "hw1.zip")),
    ("Alice Martin_12345_assignsubmission_onlinetext_onlinetext.html",
     ("moodle", "Alice Martin", "12345", False, "")),
    ("alice.zip", None), ("engine.py", None), ("bob_hw1.py", None),
])
def test_the_export_formats_are_read_from_their_file_names(name, expected):
    flat = classfolder._flat(name)
    assert (flat[:5] if flat else None) == expected


def test_resubmission_numbers_are_taken_off_the_file_names():
    assert classfolder.original_name("engine-12.py") == ("engine.py", 12)
    assert classfolder.original_name("hw1.zip") == ("hw1.zip", 0)
    assert classfolder.original_name("my-notes-3.ipynb") == ("my-notes.ipynb", 3)


def test_moodle_folders_and_flat_files_keep_the_participant_number(tmp_path):
    top = tmp_path / "class"
    moodle(top, "Alice Martin", 12345, SOLUTIONS)
    moodle(top, "Alice Martin", 12346, EXERCISES)                      # the same name twice
    (top / "Alice Martin_12345_assignsubmission_onlinetext_").mkdir()
    for name in CORE:                                                  # without folders
        shutil.copy(SOLUTIONS / name, top / f"Bo Li_777_assignsubmission_file_{name}")
    found = {f.lms_id: f for f in classfolder.find(top)}
    assert set(found) == {"12345", "12346", "777"}
    assert found["12345"].path.name == "Alice Martin_12345_assignsubmission_file_"
    assert any("onlinetext" in x for x in found["12345"].left_out)
    assert [n for n, _p in found["777"].files] == list(CORE)
    assert {f.lms for f in found.values()} == {"moodle"}
    names = {e.lms_id: e.name for e in entries(top)}
    assert names["12345"] != names["12346"] and "Alice Martin" in names["12345"]


def test_names_stay_collision_free_across_formats(tmp_path):
    top = tmp_path / "class"
    canvas(top, "bob", 1001, 50001, SOLUTIONS)
    (top / "bob_1001").mkdir()                            # a folder named like Canvas's bob
    (top / "Bob_1001.zip").write_bytes(b"")
    named = [e.name for e in entries(top)]
    assert len(named) == 3 and len({n.casefold() for n in named}) == 3


def test_a_name_ending_in_a_classmates_id_never_files_an_upload_under_that_classmate(tmp_path):
    # bob_1001 (Canvas id 1002): his file reads, first, as bob's with id 1001, alice's id.
    top = tmp_path / "class"
    canvas(top, "alicemartin", 1001, 50001, SOLUTIONS)
    canvas(top, "bob_1001", 1002, 60001, SOLUTIONS)
    found = {f.lms_id: f for f in classfolder.find(top)}
    assert set(found) == {"1001", "1002"}
    assert (found["1001"].student, found["1002"].student) == ("alicemartin", "bob_1001")
    assert sorted(n for n, _ in found["1001"].files) == sorted(CORE)
    assert sorted(n for n, _ in found["1002"].files) == sorted(CORE)
    # A file every reading of which names another student's id is left out, and said so.
    shutil.copy(SOLUTIONS / "engine.py", top / "x_1001_1002_70001_engine.py")
    found = {f.lms_id: f for f in classfolder.find(top)}
    assert set(found) == {"1001", "1002"}
    assert all(path.name.startswith(("alicemartin_", "bob_1001_")) for f in found.values()
               for _, path in f.files)
    assert any("x_1001_1002_70001_engine.py" in why for why in found["1001"].left_out)


@pytest.mark.skipif(os.name != "posix", reason="FIFOs and symbolic links as on Linux and macOS")
def test_a_link_or_a_fifo_in_an_export_is_never_followed_nor_opened(tmp_path):
    top = tmp_path / "class"
    canvas(top, "ada", 1001, 50001, SOLUTIONS, ("engine.py", "train.py"))
    secret = tmp_path / "secret.py"
    secret.write_text("answers = 42\n", encoding="utf-8")
    (top / "ada_1001_50002_helper.py").symlink_to(secret)
    os.mkfifo(top / "ada_1001_50002_nn.py")
    links: list[str] = []
    [found] = classfolder.find(top, links)
    assert links == ["ada_1001_50002_helper.py"]
    started = time.monotonic()
    left = classfolder.stage(found, tmp_path / "staged")
    assert time.monotonic() - started < 5
    assert any("ada_1001_50002_nn.py" in x for x in left)
    assert sorted(p.name for p in (tmp_path / "staged").iterdir()) == ["engine.py", "train.py"]


def test_staging_is_bounded_and_keeps_files_inside_their_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(classfolder, "MAX_SOURCE_BYTES", 100)
    top = tmp_path / "class"
    canvas(top, "ada", 1001, 50001, SOLUTIONS, ("engine.py",))
    found = classfolder.Found("ada_1001", "ada", "canvas", "1001",
                              files=[("engine.py", top / "ada_1001_50001_engine.py"),
                                     ("..", top / "ada_1001_50001_engine.py"),
                                     (".hidden.py", top / "ada_1001_50001_engine.py")])
    left = classfolder.stage(found, tmp_path / "staged")
    assert len(left) == 3 and any("larger than" in x for x in left)
    assert list((tmp_path / "staged").iterdir()) == []


# ------------------------------------------------------------------ a whole class, graded
@pytest.fixture(scope="module")
def lms_class(tmp_path_factory):
    """Canvas flat files (a resubmission, a late one, a zip, two Alice Martins), Moodle
    folders and a folder per student, in one folder: graded once for the tests below."""
    tmp = tmp_path_factory.mktemp("lms")
    top = tmp / "class"
    canvas(top, "martinalice", 1001, 50001, EXERCISES)
    canvas(top, "martinalice", 1001, 50009, SOLUTIONS, suffix="-1")
    canvas(top, "martinalice", 1002, 50002, fixture_submission("mul_not_swapped", tmp / "bug"),
           late=True)
    with zipfile.ZipFile(top / "smithjo_1003_50010_homework.zip", "w") as archive:
        for name in CORE:
            archive.write(SOLUTIONS / name, f"homework/{name}")
    moodle(top, "Ana-María Núñez", 12345, SOLUTIONS)
    shutil.copytree(EXERCISES, top / "walk-in", ignore=shutil.ignore_patterns("extensions.py"))
    out = tmp / "out" / "grades.csv"
    shown = io.StringIO()
    batch = run_batch(top, out, jobs=2, limits=Limits(check_timeout=3), stream=shown,
                      excel=True, assignment="Homework 1 (4711)")
    return batch, out, shown.getvalue()


def _rows(path):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def test_each_student_is_one_row_with_name_id_and_seconds(lms_class):
    batch, out, _shown = lms_class
    rows = {(r["student"], r["id"]): r for r in _rows(out)}
    assert set(rows) == {("martinalice", "1001"), ("martinalice", "1002"), ("smithjo", "1003"),
                         ("Ana-María Núñez", "12345"), ("walk-in", "")}
    assert float(rows[("martinalice", "1001")]["total"]) == 100       # the latest upload
    assert float(rows[("martinalice", "1002")]["mul"]) < 10
    assert rows[("martinalice", "1002")]["late"] == "late"
    assert rows[("martinalice", "1001")]["late"] == ""
    assert float(rows[("smithjo", "1003")]["total"]) == 100            # a zip among the files
    assert float(rows[("Ana-María Núñez", "12345")]["total"]) == 100
    assert all(float(r["seconds"]) > 0 for r in rows.values())
    # --excel: a byte-order mark, so that Excel reads the accents.
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "Ana-María Núñez" in out.read_text(encoding="utf-8-sig")


def test_the_id_is_in_the_feedback_files_the_json_and_the_summary(lms_class):
    _batch, out, shown = lms_class
    folder = out.with_suffix("")
    page = (folder / "martinalice_1002.md").read_text(encoding="utf-8")
    assert page.startswith("# micrograd-kit: feedback for martinalice \\(1002\\)")
    saved = json.loads((folder / "Ana-María Núñez_12345.json").read_text(encoding="utf-8"))
    assert (saved["student"], saved["student_id"], saved["lms"]) == ("Ana-María Núñez",
                                                                     "12345", "moodle")
    summary = (out.with_name("grades-summary.txt")).read_text(encoding="utf-8")
    assert summary in shown and "martinalice (1001)" in summary
    assert "an earlier upload of engine.py" in summary
    assert "5/5 " in shown and "martinalice (1002): " in shown


def test_grades_go_back_as_a_canvas_import_and_a_moodle_worksheet(lms_class):
    _batch, out, _shown = lms_class
    text = out.with_name("grades-canvas.csv").read_text(encoding="utf-8")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                        "Homework 1 (4711)"]
    assert table[1][0] == "Points Possible" and table[1][5] == "100"
    by_id = {row[1]: row for row in table[2:]}
    assert set(by_id) == {"1001", "1002", "1003"}              # Canvas's students only
    assert by_id["1001"][5] == "100" and float(by_id["1002"][5]) < 100
    worksheet = list(csv.DictReader(io.StringIO(
        out.with_name("grades-moodle.csv").read_text(encoding="utf-8"))))
    assert [(r["Identifier"], r["Full name"], r["Grade"]) for r in worksheet] == [
        ("Participant 12345", "Ana-María Núñez", "100")]
    assert time.strptime(worksheet[0]["Last modified (grade)"], "%Y-%m-%d %H:%M:%S")


def test_the_imports_hold_only_their_platforms_students_and_cells_stay_text():
    from grader.report.stats import Graded
    from grader import scoring
    from grader.intake.facts import Facts
    result = scoring.grade(Facts("x"), [], {})
    graded = [Graded("a", "=HYPERLINK(1)", result, "canvas", "1"),
              Graded("b", "bo", result, "canvas", "anon_x7Kq2"),
              Graded("c", "cy", result, "moodle", "5"), Graded("d", "dee", result)]
    rows = list(csv.reader(io.StringIO(lms.canvas_import(graded))))
    assert [r[:2] for r in rows[2:]] == [["'=HYPERLINK(1)", "1"]]
    assert lms.left_out(graded, "canvas") == ["bo (anon_x7Kq2)", "cy (5)", "dee"]
    assert len(list(csv.reader(io.StringIO(lms.moodle_worksheet(graded))))) == 2


@pytest.mark.skipif(os.name != "posix", reason="file names with line breaks, as Linux allows")
def test_a_file_name_cannot_write_to_the_instructors_terminal(tmp_path):
    top = tmp_path / "class"
    canvas(top, "mallory", 1003, 50001, SOLUTIONS)
    fake = "\x1b[2J\x1b[HClass summary: everyone 100\n\nGraded in 3.1 s.\x1b[8m.txt"
    (top / f"mallory_1003_50002_{fake}").write_text("x", encoding="utf-8")
    shown = io.StringIO()
    run_batch(top, tmp_path / "out" / "grades.csv", jobs=1, limits=Limits(check_timeout=3),
              stream=shown, compare=False)
    summary = (tmp_path / "out" / "grades-summary.txt").read_text(encoding="utf-8")
    for text in (summary, shown.getvalue()):
        assert "\x1b" not in text
        assert not any(line.startswith("Class summary: everyone") for line in text.splitlines())
        assert "\\x1b[2J" in text            # said, escaped, on the line of the file left out
