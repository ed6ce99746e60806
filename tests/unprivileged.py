"""Run the grader as an ordinary user (an instructor on a laptop): a user, a copy of the kit that
user owns, and the kit's dependencies where that user can read them.

Only root can make the user; elsewhere the tests that need this skip.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from grader.sandbox.boundary import interpreter_for

USER = "micrograd-tester"
ROOT = Path(__file__).resolve().parent.parent


def available() -> str | None:
    """Why grading as an ordinary user cannot be tried here, or None when it can."""
    if os.name != "posix" or os.geteuid() != 0:
        return "needs root, to create an ordinary user and run the grader as it"
    if shutil.which("useradd") is None:
        return "useradd is not available"
    return None


def ensure_user() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True,
                       capture_output=True)
        entry = pwd.getpwnam(USER)
    return entry.pw_uid, entry.pw_gid


def _requirements(name: str, seen: set[str]) -> None:
    key = name.lower().replace("_", "-")
    if key in seen:
        return
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return
    seen.add(key)
    for requirement in dist.requires or []:
        if "extra ==" in requirement:
            continue
        bare = requirement.split(";")[0].strip()
        for stop in "<>=!~[ (":
            bare = bare.split(stop)[0]
        _requirements(bare, seen)


def _site(target: Path) -> Path:
    """The kit's dependencies, copied where the user can read them."""
    names: set[str] = set()
    for name in ("pytest", "pytest-json-report", "nbformat"):
        _requirements(name, names)
    target.mkdir(parents=True, exist_ok=True)
    for name in sorted(names):
        dist = metadata.distribution(name)
        for file in dist.files or []:
            source = Path(str(dist.locate_file(file)))
            if not source.is_file() or ".." in file.parts:
                continue
            destination = target / Path(*file.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return target


class Instructor:
    """An ordinary user with a copy of the kit of their own, ready to run commands."""

    def __init__(self, folder: Path) -> None:
        self.uid, self.gid = ensure_user()
        self.folder = folder
        self.kit = folder / "kit"
        for part in ("grader", "exercises", "solutions"):
            shutil.copytree(ROOT / part, self.kit / part,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copy(ROOT / "pyproject.toml", self.kit / "pyproject.toml")
        self.site = _site(folder / "site")
        self.home = folder / "home"
        self.home.mkdir()
        python = interpreter_for(USER)
        if python is None:
            raise RuntimeError(f"no Python that {USER} may run")
        self.python = python
        for path in [folder, *folder.rglob("*")]:
            os.lchown(path, self.uid, self.gid)
        os.chmod(folder, 0o755)

    def env(self) -> dict[str, str]:
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.home),
                "PYTHONPATH": f"{self.kit}{os.pathsep}{self.site}", "LANG": "C.UTF-8",
                "NO_COLOR": "1"}

    def run(self, *args: str, timeout: float = 300, **kwargs: Any
            ) -> subprocess.CompletedProcess[str]:
        """`python ARGS` as the user, in their copy of the kit."""
        return subprocess.run([self.python, *args], cwd=self.kit, env=self.env(), user=self.uid,
                              group=self.gid, extra_groups=[], capture_output=True, text=True,
                              timeout=timeout, **kwargs)

    def give(self, path: Path) -> Path:
        """Hand a file or folder the tests made over to the user."""
        for item in [path, *(path.rglob("*") if path.is_dir() else [])]:
            os.lchown(item, self.uid, self.gid)
        return path


def python_matches(python: str) -> bool:
    """Whether that interpreter has our major.minor (the copied dependencies need it)."""
    out = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() == str(tuple(sys.version_info[:2]))
