"""pytest wiring for the hidden checks: their order, their limits, and one plain record per check.

Each step's checks run on their own: none is skipped because another step fails (the end-to-end
checks, which use the student's whole engine, say which step made them fail instead)."""

from __future__ import annotations

from typing import Any

import pytest

from grader import steps
from grader.checking.kit import Kit
from grader.checking.session import CheckFailed, Session
from grader.results import CheckRecord

def _session(config: pytest.Config) -> Session:
    session = getattr(config, "_micrograd_kit_session", None)
    if session is None:
        raise pytest.UsageError("the hidden checks run only through `python -m grader`")
    return session


def _marker(item: pytest.Item) -> dict[str, Any]:
    mark = item.get_closest_marker("check")
    if mark is None:
        raise pytest.UsageError(f"{item.nodeid} has no @pytest.mark.check(...)")
    return dict(mark.kwargs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "check(step, weight, title, visible=False, needs=(), end_to_end=False, "
        "edge=False, seeds=None, sweep=True): a graded check; a check with a `seed` argument "
        "runs once per seed; `edge`: it tests extreme inputs (an overflow), which no "
        "end-to-end run is blamed on")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A check that takes `seed` runs once per seed of its marker (or of the session's sweep)."""
    if "seed" not in metafunc.fixturenames:
        return
    mark = metafunc.definition.get_closest_marker("check")
    if mark is None or "seeds" not in mark.kwargs:
        raise pytest.UsageError(f"{metafunc.definition.nodeid} takes `seed` but its "
                                f"@pytest.mark.check(...) gives no seeds=")
    seeds = list(mark.kwargs["seeds"])
    session = _session(metafunc.config)
    if session.sweep and mark.kwargs.get("sweep", True):
        seeds = [10_000 * seeds[0] + k for k in range(session.sweep)]
    metafunc.parametrize("seed", seeds)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session = _session(config)
    order = {step_id: n for n, step_id in enumerate(steps.STEP_IDS)}
    # Curriculum order, so a step's prerequisites have run before it; stable within a step.
    items.sort(key=lambda item: order[_marker(item)["step"]])
    counters: dict[str, int] = {}
    kept, dropped = [], []
    for item in items:
        mark = _marker(item)
        step_id = mark["step"]
        counters[step_id] = counters.get(step_id, 0) + 1
        item.stash[_NUMBER] = f"{step_id}.{counters[step_id]}"
        if session.steps is None or step_id in session.steps:
            kept.append(item)
        else:
            dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# Failures after which the step's other checks are not run: each would cost a time limit (or
# gigabytes of memory) and say nothing new.
STOPPERS = {"timeout": "timed out", "run_timeout": "used the run's time", "crash": "crashed",
            "killed": "was killed", "memory": "ran out of memory"}

_NUMBER = pytest.StashKey[str]()
_RECORD = pytest.StashKey[CheckRecord]()


@pytest.fixture
def kit(request: pytest.FixtureRequest) -> Kit:
    session = _session(request.config)
    item = request.node
    record = item.stash[_RECORD]
    for earlier in session.records:
        if earlier.step == record.step and earlier.error_kind in STOPPERS:
            record.state = "not_run"
            pytest.skip(f"not run: check {earlier.number} of this step "
                        f"{STOPPERS[earlier.error_kind]}")
    if session.worlds.remaining() <= 0:
        record.state = "not_run"
        record.error_kind = "run_timeout"
        pytest.skip(f"not run: the whole submission used its {session.limits.run_timeout:g} s")
    return Kit(session, record)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    mark = _marker(item)
    item.stash[_RECORD] = CheckRecord(
        number=item.stash[_NUMBER], name=item.name, step=mark["step"], title=mark["title"],
        weight=float(mark["weight"]), visible=bool(mark.get("visible", False)),
        needs=tuple(mark.get("needs", ())), end_to_end=bool(mark.get("end_to_end", False)),
        edge=bool(mark.get("edge", False)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    record = item.stash.get(_RECORD, None)
    if record is None:
        return
    if call.when == "setup" and report.skipped:
        reason = getattr(call.excinfo.value, "msg", None) if call.excinfo else None
        record.message = str(reason or "not run")
        _finish(item, record)
    elif call.when == "call":
        if report.passed:
            record.passed, record.state = True, "passed"
        elif call.excinfo is not None and isinstance(call.excinfo.value, CheckFailed):
            failure = call.excinfo.value
            record.message, record.error_kind, record.error = \
                failure.message, failure.kind, failure.error
            record.diagnosis, record.blocked_by = failure.diagnosis, failure.blocked_by
        else:
            # A bug in the check itself, never the student's fault: say so plainly.
            record.state = "error"
            record.message = \
                f"internal grader error: {call.excinfo.exconly() if call.excinfo else '?'}"
        _finish(item, record)


def _finish(item: pytest.Item, record: CheckRecord) -> None:
    session = _session(item.config)
    if not any(r is record for r in session.records):
        session.records.append(record)
    session.worlds.reap()     # a process the check started does not outlive it
