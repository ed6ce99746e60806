"""Watch mode: re-grade the step being worked on each time a file it grades is saved."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, Sequence, TextIO

from ..api import grade_path
from ..intake.submission import snapshot
from ..limits import Limits, Protections
from ..report.text import scoreboard
from ..results import GradingResult
from ..intake.untrusted import clean


def _focus(result: GradingResult) -> str | None:
    step = result.next_step
    if step is None:
        return None
    return step.id


def watch(path: Path | Sequence[Path], *, label: str, limits: Limits,
          run_as: str | None = "auto",
          only: Sequence[str] | None = None, interval: float = 0.5, colour: bool = False,
          stream: TextIO = sys.stdout, sleep: Callable[[float], None] = time.sleep,
          rounds: int | None = None, protections: Protections | None = None) -> int:
    """Grade once, then re-grade on every save until Ctrl-C (or `rounds` polls, for tests)."""
    def grade(steps: Sequence[str] | None) -> GradingResult:
        return grade_path(path, limits=limits, only=steps, label=label, run_as=run_as,
                          protections=protections)

    def show(text: str) -> None:
        stream.write(text if text.endswith("\n") else text + "\n")
        stream.flush()

    result = grade(only)
    show(scoreboard(result, colour=colour))
    first = _focus(result)
    focus: list[str] | None = list(only) if only else ([first] if first else None)
    show(f"Watching {label} for saved changes (Ctrl-C to stop).")
    before = snapshot(path)
    polls = 0
    try:
        while rounds is None or polls < rounds:
            sleep(interval)
            polls += 1
            now = snapshot(path)
            if now == before:
                continue
            changed = sorted(clean(n) for n in set(now) | set(before)
                             if now.get(n) != before.get(n))
            before = now
            what = f"step {', '.join(focus)}" if focus else "every step"
            show(f"\n{', '.join(changed)} saved: grading {what} ...")
            result = grade(focus)
            show(scoreboard(result, colour=colour))
            if not only and focus and all(result.step(s).passed for s in focus):
                full = grade(None)
                following = _focus(full)
                show(f"{', '.join(focus)} passed. " +
                     (f"Next step: {following}." if following else "Every step passes now."))
                focus = [following] if following else None
    except KeyboardInterrupt:
        show("\nStopped watching.")
    return 0
