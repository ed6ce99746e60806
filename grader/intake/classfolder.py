"""A class folder as a learning platform exports it: Canvas's flat files, Moodle's folders, or one
folder, zip or notebook per student; each student's name and platform id kept (read, never run).

Canvas, "Download Submissions" (canvas-lms lib/content_zipper.rb, get_filename and
add_upload_submission): every uploaded file of a student's latest submission becomes one flat
file named `<name>[_LATE]_<user id>_<attachment id>_<file name>`, where the name is the
student's sortable name lower-cased with everything but word characters removed ("Martin,
Alice" -> `martinalice`), `_LATE` marks a late submission, and the user id is the Canvas user
id (the ID column of Canvas's gradebook export). Names never hold `_<digits>_`
(sanitize_user_name removes it, because Canvas itself finds the ids by that pattern), so the
first `_<digits>_<digits>_` ends the name. With anonymous grading the name is left out and the
id is `anon_<anonymous id>`. A file uploaded again under a name already in the student's
files is renamed `engine-1.py`, `engine-2.py`, ... by Canvas (the `-N` before the extension);
a typed or linked submission arrives as `<name>_<user id>_text.html` or `_link.html`.
Tools that sort these exports rely on the same layout (mikewesthad/canvas-unzipper,
TimHanneman/Canvas_submission_sort: "an extra field if the assignment was submitted late and
if the assignment was resubmitted multiple times a number is added at the end of the filename,
but before the file extension").

Moodle, "Download all submissions" (moodle mod/assign/locallib.php, download_submissions):
the prefix is clean_filename(full name with `_` turned into spaces + `_` + the participant's
unique id), then `_assignsubmission_<plugin>_`. "Download submissions in folders" (the default
since Moodle 3.1, mod/assign/lang/en/assign.php downloadasfolders_help: "Each submission is
then put in a separate folder ... and files are not renamed") makes it a folder,
`Alice Martin_12345_assignsubmission_file_/engine.py`; without it the prefix starts each
file's name. The number is the assignment's participant number: the `Participant 12345` of
Moodle's offline grading worksheet (see report/lms.py).
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .untrusted import one_line, read_regular
from .submission import MAX_SOURCE_BYTES, ZIP_MAX_BYTES

SKIP_NAMES = ("__MACOSX", "__pycache__")
KEPT_SUFFIXES = (".py", ".zip", ".ipynb")      # what a staged submission is made of
MAX_STUDENT_FILES = 200                        # files of one student taken from a flat export

CANVAS_FILE = re.compile(r"^(?P<name>.+?)(?P<late>_LATE)?_(?P<id>\d+)_(?P<attachment>\d+)_"
                         r"(?P<file>.+)$", re.S)
CANVAS_ANONYMOUS = re.compile(r"^(?P<late>LATE_)?(?P<id>anon_[A-Za-z0-9]+)_(?P<attachment>\d+)_"
                              r"(?P<file>.+)$", re.S)
CANVAS_TEXT = re.compile(r"^(?P<name>.+?)(?P<late>_LATE)?_(?P<id>\d+)_(?:text|link)\.html$", re.S)
MOODLE = re.compile(r"^(?P<name>[^_]+)_(?P<id>\d+)_(?P<plugin>assignsubmission_[a-z0-9]+)_"
                    r"(?P<file>.*)$", re.S)
RESUBMITTED = re.compile(r"-(?P<n>\d+)(?=\.[A-Za-z0-9]+$)")     # Canvas's engine-1.py


@dataclass
class Found:
    """One student's submission as the class folder holds it."""

    raw: str                    # the entry's own name in the folder (for messages)
    student: str                # the student's name as the export gives it
    lms: str = ""               # "canvas", "moodle", or "" (a folder, zip or notebook each)
    lms_id: str = ""            # the student's id on the platform; "" when the export has none
    late: bool = False          # Canvas marked the submission late
    path: Path | None = None    # the entry itself (a folder, a zip, a notebook) ...
    files: list[tuple[str, Path]] = field(default_factory=list)   # ... or loose files, by
    #                                                   the names the student gave them
    left_out: list[str] = field(default_factory=list)   # files of theirs not taken, and why

    @property
    def key(self) -> str:
        """What the student's files are named after: the name, and the id when there is one
        (two students of one name stay two)."""
        return f"{self.student}_{self.lms_id}" if self.lms_id else self.student


def _kind(path: Path) -> int | None:
    try:
        return path.lstat().st_mode
    except OSError:
        return None


def original_name(name: str) -> tuple[str, int]:
    """A file's name as the student uploaded it, and Canvas's resubmission number (engine-2.py
    -> engine.py, 2). A module named with a hyphen cannot be imported, so nothing is lost."""
    match = RESUBMITTED.search(name)
    if not match:
        return name, 0
    return name[:match.start()] + name[match.end():], int(match.group("n"))


def _flat(name: str) -> tuple[str, str, str, bool, str, int] | None:
    """(lms, student, id, late, file name, order) of a flat export's file, or None."""
    match = MOODLE.match(name)           # first: its `_assignsubmission_` cannot be a name
    if match and match.group("file"):
        plugin = match.group("plugin")
        return "moodle", match.group("name"), match.group("id"), False, \
            match.group("file") if plugin == "assignsubmission_file" else "", 0
    for pattern in (CANVAS_ANONYMOUS, CANVAS_FILE):
        match = pattern.match(name)
        if match:
            student = match.groupdict().get("name") or "anonymous"
            return ("canvas", student, match.group("id"), bool(match.group("late")),
                    match.group("file"), int(match.group("attachment")))
    match = CANVAS_TEXT.match(name)
    if match:
        return "canvas", match.group("name"), match.group("id"), bool(match.group("late")), \
            "", 0
    return None


CANVAS_SPLIT = re.compile(r"(?=(?P<late>_LATE)?_(?P<id>\d+)_(?P<attachment>\d+)_(?P<file>.+)$)",
                          re.S)

Flat = tuple[str, str, str, bool, str, int]


def _readings(name: str) -> list[Flat]:
    """Every way a flat file's name can be read: Canvas's names may end in `_<digits>`, so
    `bob_1001_1002_60001_hw.zip` is bob_1001's (id 1002) or bob's (id 1001); the first is the
    usual reading, the others are tried when the usual one contradicts the class."""
    first = _flat(name)
    if first is None or first[0] != "canvas" or first[1] == "anonymous":
        return [first] if first else []
    readings = [first]
    for match in CANVAS_SPLIT.finditer(name):
        start = match.start()
        if start == 0:
            continue
        reading = ("canvas", name[:start], match.group("id"), bool(match.group("late")),
                   match.group("file"), int(match.group("attachment")))
        if reading not in readings:
            readings.append(reading)
    return readings


def _read_flat(names: list[str]) -> dict[str, Flat | None]:
    """Each flat file's reading, agreeing with the class. A name read one way only is taken as
    read (the id is the platform's: a student renamed mid-term stays one student); a name read
    several ways takes the first reading whose id is not another student's; one whose every
    reading names an id another student has is None (left out, never filed under a
    classmate)."""
    readings = {name: _readings(name) for name in names}
    owner: dict[tuple[str, str], str] = {}
    for name in sorted(names):
        only = readings[name]
        if len(only) == 1:
            owner.setdefault((only[0][0], only[0][2]), only[0][1])
    chosen: dict[str, Flat | None] = {}
    for name in sorted(names):
        if len(readings[name]) == 1:
            chosen[name] = readings[name][0]
            continue
        agree = [r for r in readings[name] if owner.get((r[0], r[2]), r[1]) == r[1]]
        chosen[name] = agree[0] if agree else None
        if agree:
            owner.setdefault((agree[0][0], agree[0][2]), agree[0][1])
    return chosen


@dataclass
class _Class:
    """What find() gathers while it reads a class folder."""

    plain: list[Found] = field(default_factory=list)
    grouped: dict[tuple[str, str], Found] = field(default_factory=dict)
    candidates: dict[tuple[str, str], list[tuple[str, int, int, Path]]] = \
        field(default_factory=dict)
    disowned: list[str] = field(default_factory=list)


def find(folder: Path, links: list[str] | None = None) -> list[Found]:
    """Every student's submission in `folder`, in the order of their names. A symbolic link is
    never followed (it could lead to a classmate's work or anywhere else): its name goes in
    `links`."""
    entries = [p for p in sorted(Path(folder).iterdir())
               if not p.name.startswith(".") and p.name not in SKIP_NAMES]
    flats = _read_flat([p.name for p in entries if _readings(p.name)])
    gathered = _Class()
    for path in entries:
        mode = _kind(path)
        if mode is None or stat.S_ISLNK(mode):
            if links is not None:
                links.append(one_line(path.name))
        elif stat.S_ISDIR(mode) and _moodle_folder(path, gathered):
            continue
        else:
            _entry(path, mode, flats, gathered)
    for key, files in gathered.candidates.items():
        _choose(gathered.grouped[key], files)
    for name in gathered.disowned:
        lms, _student, lms_id = _readings(name)[0][:3]
        why = f"{one_line(name)} (its name can be read only as another student's)"
        if (lms, lms_id) in gathered.grouped:
            gathered.grouped[(lms, lms_id)].left_out.append(why)
        elif links is not None:
            links.append(why)
    return sorted(gathered.plain + list(gathered.grouped.values()),
                  key=lambda f: (f.key.casefold(), f.key))


def _moodle_folder(path: Path, gathered: _Class) -> bool:
    """A Moodle download's folder of one student's (their files' folder, or another plugin's,
    left out); False when the folder is not one."""
    moodle = MOODLE.match(path.name)
    if not moodle or moodle.group("file"):
        return False
    key = ("moodle", moodle.group("id"))
    found = gathered.grouped.setdefault(key, Found(path.name, moodle.group("name"), "moodle",
                                                   moodle.group("id")))
    if moodle.group("plugin") == "assignsubmission_file" or found.path is None:
        if found.path is not None:
            found.left_out.append(f"{one_line(found.path.name)} (not the files' folder)")
        found.path, found.raw = path, path.name
    else:
        found.left_out.append(f"{one_line(path.name)} (not the files' folder)")
    return True


def _entry(path: Path, mode: int, flats: dict[str, Flat | None], gathered: _Class) -> None:
    """A folder, a file of a student's own, or a flat export's file of a student."""
    # A FIFO or a device named like an export's file is one of the student's files (and
    # is left out when their files are laid out), not a student of its own.
    flat = flats.get(path.name) if not stat.S_ISDIR(mode) else None
    if flat is None and path.name in flats and not stat.S_ISDIR(mode):
        gathered.disowned.append(path.name)    # named like an export's file of a classmate
        return
    if flat is None:
        raw = path.stem if stat.S_ISREG(mode) else path.name
        gathered.plain.append(Found(raw, raw, path=path))
        return
    lms, student, lms_id, late, file, order = flat
    found = gathered.grouped.setdefault((lms, lms_id), Found(f"{student}_{lms_id}", student,
                                                             lms, lms_id))
    found.late = found.late or late
    if not file.lower().endswith(KEPT_SUFFIXES):
        found.left_out.append(f"{one_line(path.name)} (not a .py, .zip or .ipynb file)")
        return
    name, resubmitted = original_name(file)
    gathered.candidates.setdefault((lms, lms_id), []).append((name, order, resubmitted, path))


def _choose(found: Found, files: list[tuple[str, int, int, Path]]) -> None:
    """The latest upload of each of a student's file names (the highest attachment id, then
    Canvas's resubmission number); a Moodle folder of theirs, when there is one, wins."""
    latest: dict[str, tuple[int, int, Path]] = {}
    for name, order, resubmitted, path in sorted(files, key=lambda f: (f[1], f[2], f[3].name)):
        if name in latest:
            found.left_out.append(f"{one_line(latest[name][2].name)} (an earlier upload of "
                                  f"{one_line(name)})")
        latest[name] = (order, resubmitted, path)
    if found.path is not None:
        found.left_out += [f"{one_line(p.name)} (beside the student's folder)"
                           for _o, _r, p in latest.values()]
        return
    chosen = sorted(latest.items())
    found.files = [(name, path) for name, (_o, _r, path) in chosen[:MAX_STUDENT_FILES]]
    found.left_out += [f"{one_line(path.name)} (more than {MAX_STUDENT_FILES} files)"
                       for _name, (_o, _r, path) in chosen[MAX_STUDENT_FILES:]]


def _safe(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not name.startswith(".") and \
        "/" not in name and "\\" not in name and "\0" not in name


def stage(found: Found, into: Path) -> list[str]:
    """Lay a student's loose files out as a submission folder, each under the name they gave
    it; each read only when it is a regular file of a bounded size (never through a link,
    never a FIFO or a device). Returns what was left out, and why."""
    into.mkdir(parents=True, exist_ok=True)
    left: list[str] = []
    for name, source in found.files:
        limit = ZIP_MAX_BYTES if name.lower().endswith((".zip", ".ipynb")) else MAX_SOURCE_BYTES
        if not _safe(name):
            left.append(f"{one_line(source.name)} (a file name that cannot be used)")
            continue
        data = read_regular(source, limit)
        if data is None:
            size = f"{limit // 1_000_000} MB" if limit >= 1_000_000 else f"{limit} bytes"
            left.append(f"{one_line(source.name)} (not a regular file, or larger than {size})")
            continue
        (into / name).write_bytes(data)
    return left
