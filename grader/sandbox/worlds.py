"""The worlds of one grading, each a worker process of its own, so that nothing passes between
them: "student" (the student's whole code), "standin" (their nn.py, train.py and extensions.py on
the grader's stand-in engine), "model" (their train.py and extensions.py on the stand-in and the
grader's own network). A world's worker starts when a probe first needs it; the first two are
warmed up at once. They share the submission as prepared once, and one clock for the whole run.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from ..limits import Limits, Protections, SandboxReport
from . import syscalls
from .boundary import (aslr_prefix, bwrap_works, choose_user, hide_from_others,
                       interpreter_for, private_ids, user_ids)
from .prepared import Prepared, prepare
from .process import Launch
from .sandbox import Outcome, Sandbox
from .tasks import WORLDS, Layers

# The hidden checks and what they use: never readable by a sandbox user.
HIDDEN = tuple(Path(__file__).resolve().parent.parent / name for name in ("checks", "checking"))


class Worlds:
    """The grading's workers, one per world, behind one request()."""

    def __init__(self, submission: Path, limits: Limits, *, run_as: str | None = "auto",
                 protections: Protections | None = None) -> None:
        self.limits = limits
        self.protections = protections or Protections()
        self.run_as = run_as
        self.user = choose_user(run_as)
        self.boundary = "none"
        if self.protections.isolation != "process" and bwrap_works():
            self.boundary = "bubblewrap"
        elif self.protections.isolation == "bwrap":
            raise ValueError("bubblewrap cannot run on this machine (is the bubblewrap package "
                             "installed, and are user namespaces allowed?)")
        self.started = time.monotonic()
        self.prepared: Prepared = prepare(Path(submission), self.protections.admission)
        self.seccomp, self.seccomp_why = syscalls.filter_program()
        self.aslr = aslr_prefix()
        self.python = os.path.realpath(sys.executable)
        self.sandboxes: dict[str, Sandbox] = {}
        if self.user is not None and self.boundary == "none":
            for folder in HIDDEN:
                hide_from_others(folder)

    # -- what the submission is
    @property
    def skipped(self) -> list[str]:
        return self.prepared.skipped

    @property
    def withheld(self) -> list[str]:
        return self.prepared.admitted.withheld

    def refused(self) -> dict[str, str]:
        return self.prepared.refused()

    # -- its workers
    def _launch(self) -> Launch:
        """Who a new world's worker runs as, with which Python: a named user's ids, or, as
        root in a plain process with the default setting, ids of its own (one per worker)."""
        ids = user_ids(self.user) if self.user else None
        python: str | None = self.python
        if self.boundary == "none":
            user = self.user
            if user is not None and self.run_as == "auto" and os.name == "posix":
                ids, user = private_ids(), None
            python = interpreter_for(user, ids) if ids is not None else self.python
            if python is None:      # no Python the unprivileged user may run: say so, go on
                ids, python = None, self.python
                self.user = None
        return Launch(Path(), str(python), self.boundary, ids, self.protections.cleanup,
                      self.aslr, self.started)

    def world(self, name: str, apart: bool = False) -> Sandbox:
        """The worker of world `name`; `apart`: one of its own for the visible checks, a
        process and a folder that never ran a hidden check, so that nothing a submission saw
        there can reach what students are shown before the deadline."""
        if name not in WORLDS:
            raise ValueError(f"no world named {name!r}")
        key = f"{name} (visible)" if apart else name
        if key not in self.sandboxes:
            self.sandboxes[key] = Sandbox(self.prepared, name, self.limits, self.protections,
                                          self._launch(), self.seccomp, self.remaining)
        return self.sandboxes[key]

    def warm_up(self) -> None:
        """Start the worlds every grading uses: they seal themselves meanwhile."""
        for name in ("student", "standin"):
            self.world(name).warm_up()

    def request(self, world: str, task: str, timeout: float | None = None,
                apart: bool = False, **args: Any) -> Outcome:
        return self.world(world, apart).request(task, timeout=timeout, **args)

    def generation(self, world: str, apart: bool = False) -> int | None:
        sandbox = self.sandboxes.get(f"{world} (visible)" if apart else world)
        return None if sandbox is None else sandbox.generation()

    def remaining(self) -> float:
        return self.limits.run_timeout - (time.monotonic() - self.started)

    def reap(self) -> None:
        for sandbox in self.sandboxes.values():
            sandbox.reap()

    def close(self) -> None:
        for sandbox in self.sandboxes.values():      # kept: describe() reads their layers
            sandbox.close()

    def describe(self) -> SandboxReport:
        """Which protections ran, for the JSON's settings: asked for, and what ran."""
        layers: Layers = {}
        for sandbox in self.sandboxes.values():
            layers = {**sandbox.layers, **layers}      # the first sandbox to say one, says it
        guard = self.protections.guard
        cleanup = "namespace" if self.boundary == "bubblewrap" else (
            "process tree" if sys.platform == "linux" else "process group")
        private = self.boundary == "none" and self.user is not None and self.run_as == "auto"
        return {
            "worker_user": "a user id of its own" if private else self.user,
            "worker_python": self.python,
            "worlds": sorted(self.sandboxes),
            "protections": {
                "admission": self.protections.admission,
                "guard": guard,
                "isolation": self.protections.isolation,      # what was asked for
                "boundary": self.boundary,                    # what ran
                "seccomp": layers.get("seccomp", "off" if not self.protections.syscalls else
                                      f"off: {self.seccomp_why}" if self.seccomp is None
                                      else "not started"),
                "landlock": layers.get("landlock", "off"),
                "cleanup": cleanup if self.protections.cleanup else "off",
                "address_randomization": "off" if self.aslr else "on",
            },
        }
