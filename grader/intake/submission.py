"""What was handed in: a folder, a zip, loose files or a notebook, found and checked (read, never run)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .. import steps
from .notebook import Rebuilt, notebook_to_folder

MAX_SOURCE_BYTES = 1_000_000


@dataclass
class Submission:
    root: Path                                    # the folder holding engine.py, nn.py, train.py
    label: str                                    # how reports name it
    problems: list[str] = field(default_factory=list)
    invalid: bool = False                         # nothing in it can be graded
    temp: tempfile.TemporaryDirectory[str] | None = None   # where a zip or loose files were put
    notebook: Rebuilt | None = None               # the cells it was rebuilt from, if a notebook

    def file(self, name: str) -> Path:
        return self.root / name

    def has(self, name: str) -> bool:
        """Whether the submission holds `name` as a regular file (a link does not count)."""
        return is_regular(self.file(name))

    def missing(self) -> list[str]:
        return [name for name in steps.SUBMISSION_FILES if not self.has(name)]

    def absent(self) -> list[str]:
        """Every kit file not in the submission, extensions.py (only for the bonus) included."""
        return [name for name in steps.ALL_FILES if not self.has(name)]

    def close(self) -> None:
        for temp in (self.temp, getattr(self, "close_also", None)):
            if temp is not None:
                temp.cleanup()
        self.temp = None


def locate(path: Path) -> Submission:
    """The submission at `path`: a folder laid out like exercises/ (see `open_submission`)."""
    path = Path(path)
    sub = Submission(root=path.resolve(), label=str(path))
    if not path.exists():
        sub.problems.append(f"{path} does not exist")
        sub.invalid = True
    elif not path.is_dir():
        sub.problems.append(f"{path} is not a folder holding engine.py, nn.py and train.py")
        sub.invalid = True
    else:
        _check_files(sub, str(path))
    return sub


def is_regular(path: Path) -> bool:
    """A regular file, not a symbolic link (whatever it points to) nor anything else."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(path.lstat().st_mode)
    except OSError:
        return False


COPY_MAX_FILES = 2000


def copy_regular(source: Path, target: Path, depth: int = 6) -> list[str]:
    """Copy a folder's regular files and real sub-folders into `target`, never following a
    link nor opening a FIFO or a device (each is skipped and named), within the bounds of a zip
    (files, bytes). Returns what was left out."""
    left: list[str] = []
    budget = [COPY_MAX_FILES, ZIP_MAX_BYTES]

    def walk(folder: Path, into: Path, level: int) -> None:
        into.mkdir(parents=True, exist_ok=True)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode) and level < depth:
                walk(Path(entry.path), into / entry.name, level + 1)
            elif stat.S_ISREG(mode) and budget[0] > 0:
                size = entry.stat(follow_symlinks=False).st_size
                if size > budget[1]:
                    left.append(f"{entry.name} (too large)")
                    continue
                budget[0] -= 1
                budget[1] -= size
                with open(entry.path, "rb") as handle:
                    (into / entry.name).write_bytes(handle.read(size))
            else:
                left.append(entry.name)

    walk(source, target, 0)
    return left


def _check_files(sub: Submission, shown: str) -> None:
    for name in steps.ALL_FILES:
        if is_link(sub.file(name)):
            sub.problems.append(f"{name} is a symbolic link: it was not graded (hand in the file "
                                f"itself)")
    for name in sub.missing():
        if not is_link(sub.file(name)):
            sub.problems.append(f"{name} is missing from {shown}")
    for name in steps.ALL_FILES:
        problem = text_problem(sub.file(name))
        if problem:
            sub.problems.append(problem)
            if name == "engine.py":
                sub.invalid = True
    if not sub.has("engine.py"):
        sub.invalid = True


# Limits for unpacking a zip: a class's submissions are a few KB each.
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_BYTES = 50_000_000
ZIP_MAX_DIRECTORY = ZIP_MAX_MEMBERS * 400    # bytes: 46 per entry, its name and extras
ZIP_TAIL = 22 + 65_535          # the end record and the longest comment it may have
KEEP_SUFFIXES = (".py", ".ipynb")


SKIPPED_FOLDERS = ("__MACOSX", "__pycache__")


def _ignored(name: str) -> bool:
    """Folders no student meant to hand in: hidden ones (.ipynb_checkpoints, .git), caches."""
    return name.startswith(".") or name in SKIPPED_FOLDERS


def _subfolders(folder: Path) -> list[Path]:
    """Real sub-folders (never through a symbolic link), hidden and cache folders left out."""
    try:
        children = list(folder.iterdir())
    except OSError:
        return []
    found = []
    for child in children:
        try:
            if stat.S_ISDIR(child.lstat().st_mode) and not _ignored(child.name):
                found.append(child)
        except OSError:
            continue
    return sorted(found)


def _find_root(folder: Path, depth: int = 3) -> Path | None:
    """The shallowest folder at or under `folder` that holds engine.py (zips often add a level)."""
    level = [folder]
    for _ in range(depth + 1):
        found = sorted(p for p in level if is_regular(p / "engine.py") or is_link(p / "engine.py"))
        if found:
            return found[0]
        level = sorted(child for p in level for child in _subfolders(p))
    return None


def _declared_members(archive: Path) -> int | None:
    """How many members a zip's end record says it holds, read before the zip is opened (opening
    it reads the whole central directory); None when there is no end record to read."""
    with open(archive, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - ZIP_TAIL))
        tail = handle.read(ZIP_TAIL)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    entries = int.from_bytes(tail[at + 10:at + 12], "little")
    if int.from_bytes(tail[at + 12:at + 16], "little") > ZIP_MAX_DIRECTORY:
        return ZIP_MAX_MEMBERS + 1         # a directory that could list more than that
    locator = tail.rfind(b"PK\x06\x07", 0, at)
    if entries == 0xFFFF and locator >= 0:
        return ZIP_MAX_MEMBERS + 1         # zip64: only archives of 65,535 files or more need it
    return entries


def _unzip(archive: Path, target: Path) -> str | None:
    """Extract the source files of a zip safely; returns a problem, or None. Bounded before
    anything is parsed: the archive's size, then the member count its end record declares."""
    if not is_regular(archive):
        return f"{archive.name} is not a regular file (a link, a pipe or a device): not opened"
    try:
        if archive.lstat().st_size > ZIP_MAX_BYTES:
            return f"{archive.name} is larger than {ZIP_MAX_BYTES // 1_000_000} MB"
        declared = _declared_members(archive)
        if declared is not None and declared > ZIP_MAX_MEMBERS:
            return f"{archive.name} holds more than {ZIP_MAX_MEMBERS} files"
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > ZIP_MAX_MEMBERS:
                return f"{archive.name} holds more than {ZIP_MAX_MEMBERS} files"
            total = 0
            for info in members:
                parts = _member_path(info)
                if parts is None:
                    continue
                if not parts:
                    return (f"{archive.name} holds a file outside its own folder "
                            f"({info.filename.replace(chr(92), '/')})")
                if total + info.file_size > ZIP_MAX_BYTES:
                    return f"{archive.name} unpacks to more than {ZIP_MAX_BYTES // 1_000_000} MB"
                destination = target.joinpath(*parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as source, open(destination, "wb") as sink:
                    # What is written counts, not what the member says of itself.
                    data = source.read(ZIP_MAX_BYTES - total + 1)
                    total += len(data)
                    if total > ZIP_MAX_BYTES:
                        return (f"{archive.name} unpacks to more than "
                                f"{ZIP_MAX_BYTES // 1_000_000} MB")
                    sink.write(data)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        return f"{archive.name} is not a readable zip file ({exc})"
    return None


def _member_path(info: zipfile.ZipInfo) -> list[str] | None:
    """Where a zip member goes, as path parts under the target: None to leave it out (a
    folder, a file the kit does not read, a checkpoint or cache, a link: never followed),
    [] for a member outside its own folder (the whole zip is refused)."""
    name = info.filename.replace("\\", "/")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if info.is_dir() or not name.endswith(KEEP_SUFFIXES) or not parts:
        return None
    if name.startswith("/") or ".." in parts or ":" in parts[0]:
        return []
    if any(_ignored(part) for part in parts[:-1]) or stat.S_ISLNK(info.external_attr >> 16):
        return None
    return parts


def _in_folder(folder: Path) -> Path | None:
    """What a folder handed in is graded as: the folder in it that holds engine.py, else its one
    zip (an upload of one zip, as a Gradescope submission can be), else its one notebook."""
    root = _find_root(folder)
    if root is not None:
        return root
    zips = sorted(p for p in folder.glob("*.zip") if is_regular(p))
    if len(zips) == 1:
        return zips[0]
    notebooks = sorted(p for p in folder.glob("*.ipynb") if is_regular(p))
    return notebooks[0] if len(notebooks) == 1 else None


def graded_files(paths: Sequence[Path]) -> list[Path]:
    """The files a grading of `paths` reads, found as `open_submission` finds them (for watch
    mode): a folder's kit files and helpers, a notebook or a zip, or the loose files given. A
    folder with nothing to grade yet gives its notebooks and zips, so that saving one is seen."""
    paths = [Path(p) for p in paths]
    if len(paths) != 1 or not paths[0].is_dir():
        return paths
    found = _in_folder(paths[0])
    if found is None:
        return sorted(p for p in paths[0].iterdir() if p.suffix.lower() in (".ipynb", ".zip"))
    return sorted(found.glob("*.py")) if found.is_dir() else [found]


def open_submission(paths: Sequence[Path], label: str | None = None) -> Submission:
    """A submission in any form students hand in; call .close() when done with it.

    A folder laid out like exercises/; a folder whose files sit one or more levels down (an
    extracted zip); a .zip of either; or loose engine.py / nn.py / train.py files. Anything else
    gives a Submission marked invalid, with the reason in its problems.
    """
    paths = [Path(p) for p in paths]
    shown = label or (str(paths[0]) if len(paths) == 1 else ", ".join(p.name for p in paths))
    if not paths:
        return Submission(Path("."), shown, ["no submission given"], invalid=True)
    missing = [p for p in paths if not p.exists()]
    if missing:
        return Submission(missing[0].resolve(), shown, [f"{missing[0]} does not exist"],
                          invalid=True)
    if len(paths) == 1 and paths[0].is_dir():
        return _open_folder(paths[0], shown)
    # Named after this process: a grading killed before it cleans up (a batch's watchdog)
    # leaves a folder that the next grading sweeps (sandbox.cleanup.sweep_stale_roots).
    temp = tempfile.TemporaryDirectory(prefix=f"micrograd-kit-{os.getpid()}-submission-")
    folder = Path(temp.name)
    single = paths[0].suffix.lower() if len(paths) == 1 else ""
    if single in (".ipynb", ".zip") and not is_regular(paths[0]):
        return Submission(folder, shown, [f"{paths[0].name} is not a regular file (a link, a "
                                          f"pipe or a device): not opened"], invalid=True,
                          temp=temp)
    if single == ".ipynb":
        return _open_notebook(paths[0], shown, temp)
    if single == ".zip":
        return _open_zip(paths[0], shown, temp)
    return _open_loose(paths, shown, temp)


def _open_folder(path: Path, shown: str) -> Submission:
    root = _in_folder(path)
    if root is not None and not root.is_dir():
        return open_submission([root], shown)        # its one zip, or its one notebook
    if root is None:
        return Submission(path.resolve(), shown,
                          [f"no engine.py in {shown} (nor in a folder inside it)"], invalid=True)
    sub = Submission(root.resolve(), shown)
    # Named as the submission is named (a batch: the student), not by this machine's path.
    _check_files(sub, shown if root == path else
                 f"{shown.rstrip('/')}/{root.relative_to(path).as_posix()}")
    return sub


def _open_notebook(path: Path, shown: str, temp: tempfile.TemporaryDirectory[str]
                   ) -> Submission:
    rebuilt = notebook_to_folder(path, Path(temp.name))
    sub = Submission(Path(temp.name), shown, list(rebuilt.problems), temp=temp,
                     notebook=rebuilt)
    if rebuilt.problems:
        sub.invalid = True
        return sub
    _check_files(sub, path.name)
    return sub


def _open_zip(path: Path, shown: str, temp: tempfile.TemporaryDirectory[str]) -> Submission:
    folder = Path(temp.name)
    problem = _unzip(path, folder)
    root = _find_root(folder) if problem is None else None
    inner = sorted(p for p in folder.rglob("*.ipynb")
                   if not any(_ignored(part) for part in p.relative_to(folder).parts[:-1])
                   ) if problem is None else []
    if root is None and len(inner) == 1:
        sub = open_submission(inner, shown)
        sub.temp, previous = temp, sub.temp     # keep the unzipped folder alive too
        if previous is not None:
            sub.close_also = previous           # type: ignore[attr-defined]
        return sub
    if root is None:
        return Submission(folder, shown, [problem or f"no engine.py in {path.name}"],
                          invalid=True, temp=temp)
    sub = Submission(root, shown, temp=temp)
    _check_files(sub, path.name)
    return sub


def _open_loose(paths: list[Path], shown: str, temp: tempfile.TemporaryDirectory[str]
                ) -> Submission:
    """Loose engine.py / nn.py / train.py files, copied into a folder of their own."""
    folder = Path(temp.name)
    problem = _loose_problem(paths)
    if problem is not None:
        return Submission(folder, shown, [problem], invalid=True, temp=temp)
    for p in paths:
        shutil.copy(p, folder / p.name)
    sub = Submission(folder, shown, temp=temp)
    _check_files(sub, "the files given")
    return sub


def _loose_problem(paths: list[Path]) -> str | None:
    wrong = [p for p in paths if p.is_dir() or p.suffix.lower() != ".py"]
    if wrong:
        return f"{wrong[0]} is not a folder, a .zip, a notebook or a .py file of the kit"
    names = [p.name for p in paths]
    unknown = [n for n in names if n not in steps.SUBMISSION_FILES]
    if unknown or len(set(names)) != len(names):
        return (f"loose files must be named {', '.join(steps.SUBMISSION_FILES)} (each once); "
                f"got {', '.join(names)}")
    links = [p for p in paths if is_link(p)]
    if links:
        return f"{links[0].name} is a symbolic link: hand in the file itself"
    for p in paths:
        if not is_regular(p):
            return f"{p.name} is not a regular file (a pipe or a device): not opened"
        if p.stat().st_size > MAX_SOURCE_BYTES:
            return f"{p.name} is larger than {MAX_SOURCE_BYTES // 1_000_000} MB"
    return None


def text_problem(path: Path) -> str | None:
    """Why a source file cannot be read as Python text, or None when it can."""
    if not is_regular(path):
        return None
    try:
        if path.lstat().st_size > MAX_SOURCE_BYTES:
            return f"{path.name} is larger than {MAX_SOURCE_BYTES // 1_000_000} MB"
        raw = path.read_bytes()
    except OSError as exc:
        return f"{path.name} cannot be read: {exc.strerror}"
    if not raw.strip():
        return f"{path.name} is empty"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return (f"{path.name} is saved as UTF-16 text; save it as UTF-8 (in most editors: "
                f"File > Save with encoding > UTF-8)")
    if b"\x00" in raw:
        return f"{path.name} is not a text file (it contains null bytes)"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return (f"{path.name} is not UTF-8 text (line {line} has a byte UTF-8 does not allow); "
                f"save it as UTF-8")
    return None


def snapshot(path: Path | Sequence[Path]) -> dict[str, tuple[int, int]]:
    """Name -> (modification time, size) of every file a grading of `path` reads: the Python
    files of the folder it grades (which may be a folder inside), a notebook or a zip. Found
    again at every poll, so that a notebook saved for the first time is seen too."""
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    folder = paths[0] if len(paths) == 1 and paths[0].is_dir() else None
    found: dict[str, tuple[int, int]] = {}
    try:
        files = graded_files(paths)
    except OSError:
        return found
    for file in files:
        try:
            info = file.stat()
        except OSError:
            continue
        name = file.relative_to(folder).as_posix() if folder is not None and \
            file.is_relative_to(folder) else file.name
        found[name] = (info.st_mtime_ns, info.st_size)
    return found
