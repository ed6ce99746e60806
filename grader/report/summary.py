"""The class summary: what an instructor reads after a batch to decide what to re-teach."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from .. import steps
from ..limits import Shields
from ..similarity import REFERENCE, Pair
from ..intake.untrusted import one_line
from .csv import STATUSES, status_of
from .stats import Graded, failed_checks, histogram_lines, mistakes, slowest, step_stats


def protections_text(shields: Shields) -> str:
    """The protections a grading had, in one line (from the result's settings)."""
    parts = ["admission" if shields.get("admission") else "NO admission",
             "run-time guard" if shields.get("guard") else "NO run-time guard"]
    boundary = shields.get("boundary")
    why = "--isolation process" if shields.get("isolation") == "process" else \
        "bubblewrap not available"
    parts.append(f"{boundary} boundary" if boundary and boundary != "none"
                 else f"no operating-system boundary ({why})")
    parts.append(f"clean-up by {shields.get('cleanup')}")
    if shields.get("address_randomization") == "off":
        parts.append("address randomization off")
    return ", ".join(parts)


@dataclass
class Run:
    """What a batch run did besides grading, for the summary to say."""

    skipped: int = 0                       # unchanged since the last run, kept
    stale: list[str] = field(default_factory=list)     # kept though changed (--only, --failed)
    links: Sequence[str] = ()
    renamed: Sequence[tuple[str, str]] = ()
    changes: Sequence[str] = ()            # "alice (12345): 80 -> 100 (why)"
    regraded: int = 0                      # regraded after a run that had graded them
    left_out: Sequence[str] = ()           # files of a student's not graded, and why
    written: Sequence[str] = ()            # the files written besides the CSV
    pairs: Sequence[Pair] = ()
    seconds: float = 0.0


def _header(graded: Sequence[Graded], run: Run) -> list[str]:
    statuses = Counter(status_of(g.result)[0] for g in graded)
    lines = [f"Class summary: {len(graded)} submissions ("
             + ", ".join(f"{statuses[s]} {s}" for s in STATUSES if statuses[s]) + ")"]
    unchanged = run.skipped - len(run.stale)     # the stale ones are said apart, below
    if unchanged:
        lines.append(f"({unchanged} unchanged since the last run, not regraded)")
    if run.stale:
        lines.append(f"Kept from the last run although their files or the settings changed "
                     f"(not regraded: --only or --failed): {', '.join(run.stale)}")
    if run.links:
        lines.append(f"Not graded, symbolic links (hand in the files themselves): "
                     f"{', '.join(run.links)}")
    if run.renamed:
        lines.append("Graded under another name (the entry's name had control characters or "
                     "extra spaces, or was another entry's): " +
                     ", ".join(f"{entry} as {name}" for entry, name in run.renamed))
    if run.left_out:
        lines.append("Left out of the submissions graded (the platform's export holds them):")
        lines += [f"  {item}" for item in run.left_out[:20]]
        if len(run.left_out) > 20:
            lines.append(f"  ... and {len(run.left_out) - 20} more")
    shields = next((g.result.settings.get("protections") for g in graded
                    if g.result.settings.get("protections")), None)
    if shields:
        lines.append(f"Protections: {protections_text(shields)}")
    return lines


def _steps(graded: Sequence[Graded]) -> list[str]:
    lines = ["", f"  {'step':<12} {'mean points':>14}  {'full marks':>10}"]
    n = len(graded)
    found = step_stats([g.result for g in graded])
    for group, label, total in ((False, "total", steps.TOTAL_POINTS),
                                (True, "bonus total", steps.BONUS_POINTS)):
        if group:
            lines.append(f"  bonus, apart from the {steps.TOTAL_POINTS} points:")
        for s in (s for s in found if s.bonus == group):
            lines.append(f"  {s.id:<12} {s.mean:>9.1f}/{s.points:<4g} {s.passed:>10.0%}")
        got = [g.result.bonus_score if group else g.result.score for g in graded]
        mean = sum(got) / n if n else 0.0
        full = sum(1 for x in got if x >= total) / n if n else 0.0
        lines.append(f"  {label:<12} {mean:>9.1f}/{total:<4g} {full:>10.0%}")
    return lines


def _checks_and_mistakes(graded: Sequence[Graded], top: int) -> list[str]:
    lines: list[str] = []
    failed = failed_checks([g.result for g in graded])
    if failed:
        lines += ["", "Checks failed most often (students):"]

        def check_order(item: tuple[tuple[str, str], int]) -> tuple[int, int, int]:
            (number, _), count = item
            step_id, _, index = number.partition(".")
            order = steps.STEP_IDS.index(step_id) if step_id in steps.STEP_IDS else 99
            return -count, order, int(index) if index.isdigit() else 0
        # Ties in the order of the course, so that the same class gives the same summary.
        for (number, title), count in sorted(failed.items(), key=check_order)[:top]:
            lines.append(f"  {count:>4}  {number:<14} {title}")
    named: Counter[str] = Counter()
    for found in mistakes(graded).values():
        for mistake in found:
            named[mistake.text] += len(mistake.students)
    if named:
        lines += ["", "Mistakes named most often (students):"]
        for text, count in sorted(named.items(), key=lambda item: (-item[1], item[0]))[:top]:
            lines.append(f"  {count:>4}  {text}")
    return lines


def _pairs(graded: Sequence[Graded], pairs: Sequence[Pair], top: int) -> list[str]:
    if not pairs:
        return []
    who = {g.key: g.who for g in graded}
    lines = ["", "Similar code (near-identical own code: a reason to look, not a verdict):"]
    for pair in pairs[:top]:
        other = "the reference solutions" if pair.b == REFERENCE else who.get(pair.b, pair.b)
        where = ", ".join(f"{r.a_file}:{r.a_first}-{r.a_last}" for r in pair.regions[:3])
        lines.append(f"  {pair.score:>4.0%}  {who.get(pair.a, pair.a)} and {other}"
                     + (f" ({where})" if where else ""))
    if len(pairs) > top:
        lines.append(f"  ... {len(pairs) - top} more in the class report")
    return lines


def class_summary(graded: Sequence[Graded], run: Run | None = None, top: int = 10) -> str:
    run = run or Run()
    lines = _header(graded, run) + _steps(graded)
    lines += ["", "Totals (students):", *histogram_lines([g.result.score for g in graded])]
    lines += _checks_and_mistakes(graded, top)
    slow = [g for g in slowest(graded, 5) if g.result.seconds > 0]
    if slow:
        lines += ["", "Slowest gradings: " + ", ".join(f"{g.who} {g.result.seconds:.1f} s"
                                                        for g in slow)]
    lines += _pairs(graded, run.pairs, top)
    if run.changes or run.regraded:
        lines += ["", f"Regraded {run.regraded} graded before: "
                  + (f"{len(run.changes)} changed" if run.changes else "no total changed")]
        lines += [f"  {change}" for change in run.changes]
    if run.written:
        lines += ["", "Written: " + ", ".join(run.written)]
    lines += ["", f"Graded in {run.seconds:.1f} s."]
    # Each line one line, whatever a name in it holds: a file name in an export can carry line
    # breaks and escape sequences (a fake summary, a cleared screen).
    return "\n".join(one_line(line) for line in lines) + "\n"
