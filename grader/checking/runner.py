"""Runs the hidden checks under pytest against one submission and returns their records."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..intake.submission import Submission
from ..limits import Limits, Protections, SandboxReport
from ..sandbox.rules import KIT_MODULES
from ..sandbox.worlds import Worlds
from ..results import CheckRecord
from .session import Session

CHECKS = Path(__file__).resolve().parent.parent / "checks"   # the collected checks
UNUSED_PLUGINS = ("unraisableexception", "threadexception", "doctest", "junitxml", "pastebin",
                  "stepwise", "debugging", "faulthandler", "logging", "tmpdir",
                  "monkeypatch", "recwarn", "setuponly", "setupplan", "nose")


class _SessionHolder:
    """Hands the grading session to grader/checks/conftest.py."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def pytest_configure(self, config: Any) -> None:
        config._micrograd_kit_session = self.session  # type: ignore[attr-defined]


@dataclass
class RunOutcome:
    records: list[CheckRecord]          # one per check, as the checks recorded it
    problems: list[tuple[str, str]]     # (error kind, text): a module that does not import, ...
    sandbox: SandboxReport              # how the worker ran (user, interpreter)
    notes: list[str]                    # how it was graded, where that is not the usual way


def run_checks(sub: Submission, limits: Limits, steps: Sequence[str] | None = None,
               run_as: str | None = "auto", sweep: int | None = None,
               protections: Protections | None = None,
               given_changed: Sequence[str] = ()) -> RunOutcome:
    """Run every check (or those of `steps`) against the submission.

    `sweep` runs every randomized check with that many seeds instead of its fixed ones (for
    calibration and the no-false-failure test, not for grading).

    Student code runs only in the sandbox's worker process; this process runs pytest, computes
    every expected value and takes every verdict.
    """
    sandbox = Worlds(sub.root, limits, run_as=run_as, protections=protections)
    sandbox.warm_up()          # the workers seal themselves while pytest loads and starts
    # pytest loads here, when checks run, not when a command that never grades starts.
    import pytest
    from pytest_jsonreport.plugin import JSONReport  # type: ignore[import-untyped]

    session = Session(worlds=sandbox, limits=limits, steps=tuple(steps) if steps else None,
                      missing=tuple(sub.absent()), sweep=sweep,
                      given_changed=tuple(given_changed))
    report_plugin = JSONReport()
    args = [
        str(CHECKS),
        "-c", str(CHECKS / "pytest.ini"),
        "--rootdir", str(CHECKS),
        "-p", "pytest_jsonreport.plugin",
        "--json-report-file=none",
        "--json-report-omit", "collectors", "log", "traceback", "streams", "warnings",
        "-p", "no:cacheprovider",
        "-p", "no:warnings",
        # Plugins the checks never use: each costs hook calls on every check (and one runs
        # the garbage collector at the end).
        *[arg for name in UNUSED_PLUGINS for arg in ("-p", f"no:{name}")],
        "-q", "--tb=no", "--no-header", "--capture=no", "--assert=plain",
    ]
    # Third-party plugins installed next to pytest cost startup time and may change behaviour.
    previous = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            exit_code = pytest.main(args, plugins=[report_plugin, _SessionHolder(session)])
    finally:
        sandbox.close()
        if previous is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = previous
    report = report_plugin.report or {}
    # The records are the session's, as the checks filled them in; pytest's own report says
    # whether checks ran at all.
    if exit_code not in (0, 1) or not report.get("tests"):
        raise RuntimeError(f"the hidden checks did not run (pytest exit code {exit_code}):\n"
                           + sink.getvalue()[-2000:])
    records = list(session.records)
    problems = [("skipped", text) for text in sandbox.skipped]
    problems += [(str(failure.error.get("kind", "")), failure.text.replace("\n  at ", " at "))
                 for failure in session.load_failures.values()
                 if failure.error.get("kind") != "missing"]
    notes = list(session.notes)
    # A kit module is withheld only when its file is missing, which a problem says already
    # (and in a notebook, the module is no name the student ever wrote).
    withheld = [name for name in sandbox.withheld if name not in KIT_MODULES]
    if withheld:
        names = " or ".join([", ".join(withheld[:-1]), withheld[-1]]
                            if len(withheld) > 1 else withheld)
        them = "them" if len(withheld) > 1 else "it"
        notes.insert(0, f"Grading provides no {names}: importing {them} costs nothing, and "
                        f"code that uses {them} fails only the checks that reach that code.")
    return RunOutcome(records, problems, sandbox.describe(), notes)
