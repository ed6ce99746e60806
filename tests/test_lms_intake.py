"""A class as Canvas and Moodle export it (issue 20, item 1): recognised by its file names, each
student's files grouped into one submission with the latest upload of each file, their name and
platform id kept, links and FIFOs never followed, sizes bounded."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from grader.intake import classfolder
from conftest import EXERCISES, SOLUTIONS

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
    assert found["12345"].key != found["12346"].key


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
