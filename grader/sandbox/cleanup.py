"""Clean-up by an identity that belongs to one worker only: its PID namespace under bubblewrap, else
its process tree (the grading process becomes a child subreaper, so a double fork or a new
session cannot leave it), else its process group; and the folders of grading processes that
died without cleaning up. Everything here reads /proc; nothing follows a name.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable


def sweep_stale_roots() -> None:
    """Remove the worker folders of grading processes that died without cleaning up (killed,
    say): named after their process, owned by this user, and that process gone."""
    try:
        entries = list(Path(tempfile.gettempdir()).glob("micrograd-kit-*-*"))
    except OSError:
        return
    for folder in entries:
        owner = folder.name.split("-")[2]
        if not owner.isdigit() or int(owner) == os.getpid():
            continue
        try:
            if folder.lstat().st_uid != os.getuid() or not stat.S_ISDIR(folder.lstat().st_mode):
                continue
            os.kill(int(owner), 0)         # still running: not ours to touch
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


# ------------------------------------------------------------------------ processes on Linux
def proc_stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].decode().split()
    except (OSError, IndexError):
        return None


def all_pids() -> list[int]:
    try:
        return [int(e) for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []


def pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def parents(zombies: set[int] | None = None) -> dict[int, int]:
    """pid -> parent pid for every process; the dead ones not yet reaped go into `zombies`."""
    parents: dict[int, int] = {}
    for pid in all_pids():
        fields = proc_stat(pid)
        if fields and len(fields) > 2:
            parents[pid] = int(fields[1])
            if zombies is not None and fields[0] in ("Z", "X"):
                zombies.add(pid)
    return parents


def descendants(roots: Iterable[int], tree: dict[int, int] | None = None) -> set[int]:
    """Every process whose chain of parents (`tree`: pid -> parent) reaches one of `roots`."""
    tree = parents() if tree is None else tree
    wanted = set(roots)
    found = set()
    for pid in tree:
        current, hops = pid, 0
        while current in tree and hops < 64:
            current = tree[current]
            hops += 1
            if current in wanted:
                found.add(pid)
                break
    return found


def children_tree(root: int) -> set[int] | None:
    """Every descendant of `root`, read from /proc/PID/task/TID/children (None where the kernel
    does not offer it)."""
    found: set[int] = set()
    pending = [root]
    while pending:
        pid = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
                    children = [int(c) for c in handle.read().split()]
            except FileNotFoundError:
                return None if pid == root else found
            except (OSError, ValueError):
                continue
            for child in children:
                if child not in found:
                    found.add(child)
                    pending.append(child)
    return found


def kill_all(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


SUBREAPER: list[bool] = []
# The workers of every live sandbox in this process: one sandbox's clean-up never takes another's.
LIVE_WORKERS: set[int] = set()


def become_subreaper() -> bool:
    """Make this process the parent of every orphan of its children (Linux), so a worker's double
    fork or new session cannot take a process out of reach. Done once, for the whole process."""
    if SUBREAPER:
        return SUBREAPER[0]
    ok = False
    if sys.platform == "linux":
        import ctypes                 # only here: it costs time to import, and only Linux needs it
        import ctypes.util
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            ok = libc.prctl(36, 1, 0, 0, 0) == 0          # PR_SET_CHILDSUBREAPER
        except (OSError, AttributeError):
            ok = False
    SUBREAPER.append(ok)
    return ok


def reap_zombies(pids: Iterable[int]) -> None:
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except (ChildProcessError, OSError):
            pass



def kill_namespace(worker: int | None, namespace: str, keep: int | None) -> None:
    """In its own PID namespace the worker is PID 1: whatever it started, and whatever was
    orphaned there, is among its descendants."""
    members = children_tree(worker) if worker else None
    if members is None:
        members = {p for p in all_pids() if pid_namespace(p) == namespace}
    kill_all(p for p in members if p not in (keep, os.getpid(), worker)
             or (keep is None and p == worker))


def kill_tree(worker: int, keep: int | None, ids: tuple[int, int] | None, before: set[int],
              started: float) -> None:
    """The worker's process tree, and the orphans it left to this (subreaper) process."""
    # Processes fork while they are being killed: sweep until a sweep finds none.
    for _ in range(50):
        dead: set[int] = set()
        tree = parents(dead)
        roots = set(orphans(tree, ids, before, started)) if SUBREAPER and SUBREAPER[0] \
            else set()
        strays = roots | descendants(roots | {worker}, tree)
        strays -= {keep, os.getpid()} | LIVE_WORKERS
        reap_zombies(strays & dead)             # ours to reap; the others' parents reap them
        strays -= dead
        if not strays:
            return
        kill_all(strays)
        reap_zombies(strays)
        time.sleep(0.005)


def orphans(tree: dict[int, int], ids: tuple[int, int] | None, before: set[int],
            started: float) -> list[int]:
    """Children of this (subreaper) process that a worker left behind, directly or when their
    own parent died: started after the grading began, not a worker of a live sandbox, not a
    child this process had before, and running as the worker's user."""
    me = os.getpid()
    uid = ids[0] if ids else os.getuid()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    boot_offset = time.monotonic() - time.clock_gettime(time.CLOCK_BOOTTIME) \
        if hasattr(time, "CLOCK_BOOTTIME") else None
    found = []
    for pid, parent in tree.items():
        if parent != me or pid in LIVE_WORKERS or pid in before:
            continue
        fields = proc_stat(pid)
        if not fields:
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
        except OSError:
            continue
        if boot_offset is not None and len(fields) > 19 and \
                int(fields[19]) / ticks + boot_offset < started - 0.5:
            continue
        found.append(pid)
    return found
