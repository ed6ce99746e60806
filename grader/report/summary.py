"""The class summary: what an instructor reads after a batch to decide what to re-teach."""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

from .. import steps
from ..results import GradingResult
from .csv import STATUSES, status_of


def protections_text(shields: dict[str, Any]) -> str:
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


def _first_sentence(text: str) -> str:
    for end in (". ", ": ", "\n"):
        text = text.split(end)[0]
    return text.rstrip(".")[:160]


def class_summary(results: Sequence[GradingResult], *, skipped: int = 0,
                  links: Sequence[str] = (), seconds: float = 0.0, top: int = 10,
                  renamed: Sequence[tuple[str, str]] = ()) -> str:
    n = len(results)
    statuses = Counter(status_of(r)[0] for r in results)
    lines = [f"Class summary: {n} submissions ("
             + ", ".join(f"{statuses[s]} {s}" for s in STATUSES if statuses[s]) + ")"]
    if skipped:
        lines.append(f"({skipped} unchanged since the last run, not regraded)")
    if links:
        lines.append(f"Not graded, symbolic links (hand in the files themselves): "
                     f"{', '.join(links)}")
    if renamed:
        lines.append("Graded under another name (the entry's name had control characters or "
                     "extra spaces, or was another entry's): " +
                     ", ".join(f"{entry} as {name}" for entry, name in renamed))
    shields = next((r.settings.get("protections") for r in results
                    if r.settings.get("protections")), None)
    if shields:
        lines.append(f"Protections: {protections_text(shields)}")
    lines.append("")
    lines.append(f"  {'step':<12} {'mean points':>14}  {'full marks':>10}")

    def line(name: str, got: list[float], points: float) -> None:
        mean = sum(got) / n if n else 0.0
        full = sum(1 for g in got if g >= points) / n if n else 0.0
        lines.append(f"  {name:<12} {mean:>9.1f}/{points:<4g} {full:>10.0%}")
    for group, label, total in ((steps.CORE_IDS, "total", steps.TOTAL_POINTS),
                                ([s.id for s in steps.BONUS_STEPS], "bonus total",
                                 steps.BONUS_POINTS)):
        if group is not steps.CORE_IDS:
            lines.append("  bonus, apart from the 100 points:")
        for step_id in group:
            line(step_id, [next((s.points for s in r.steps if s.id == step_id), 0.0)
                           for r in results], steps.get(step_id).points)
        line(label, [r.score if label == "total" else r.bonus_score for r in results], total)
    failed: Counter[tuple[str, str]] = Counter()
    named: Counter[str] = Counter()
    for r in results:
        seen_checks, seen_named = set(), set()
        for s in r.steps:
            if s.state == "not started":
                continue     # failures that say nothing about this step
            for c in s.checks:
                if c.state in ("failed", "error") and c.weight:
                    seen_checks.add((c.number, c.title))
                    if c.diagnosis and not c.blocked_by:
                        # The mistake itself, not a run that fails because of another step.
                        seen_named.add(_first_sentence(c.diagnosis))
        failed.update(seen_checks)
        named.update(seen_named)
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
    if named:
        lines += ["", "Mistakes named most often (students):"]
        for text, count in sorted(named.items(), key=lambda item: (-item[1], item[0]))[:top]:
            lines.append(f"  {count:>4}  {text}")
    lines.append("")
    lines.append(f"Graded in {seconds:.1f} s.")
    return "\n".join(lines) + "\n"
