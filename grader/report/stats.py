"""A class in numbers, for the summary and the class report: the spread of totals, each step's
pass rate and mean, the mistakes named most often in each step, the slowest gradings."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from .. import steps
from ..results import GradingResult


@dataclass(frozen=True)
class Graded:
    """One student of a batch and their result."""

    key: str                    # what their files are named after (unique in the batch)
    student: str                # their name
    result: GradingResult
    lms: str = ""               # "canvas", "moodle" or "" (a folder per student)
    lms_id: str = ""            # their id on that platform
    late: bool = False

    @property
    def who(self) -> str:
        """Name and id, as every list of students shows them."""
        return f"{self.student} ({self.lms_id})" if self.lms_id else self.student


@dataclass(frozen=True)
class StepStats:
    id: str
    title: str
    points: float               # what the step is worth
    mean: float                 # mean points over the class (a student not graded counts 0)
    passed: float               # the share of the class with all its points
    bonus: bool


@dataclass
class Mistake:
    text: str                   # the diagnosis's first sentence
    students: list[str] = field(default_factory=list)


def distribution(totals: Sequence[float], full: float = steps.TOTAL_POINTS
                 ) -> list[tuple[str, int]]:
    """How many totals fall in each tenth of the points (0-9, 10-19, ... 90-99 of 100), and
    how many have full marks (apart)."""
    width = full / 10
    counts = [0] * 11
    for total in totals:
        counts[10 if total >= full else min(int(max(total, 0) // width), 9)] += 1
    labels = [f"{k * width:g}-{(k + 1) * width - 1:g}" for k in range(10)] + [f"{full:g}"]
    return list(zip(labels, counts))


def histogram_lines(totals: Sequence[float], width: int = 40) -> list[str]:
    """The distribution as text bars, one line per range."""
    bins = distribution(totals)
    most = max((n for _label, n in bins), default=0) or 1
    return [f"  {label:>6}  {'#' * round(width * n / most):<{width}} {n}" for label, n in bins]


def step_stats(results: Sequence[GradingResult]) -> list[StepStats]:
    n = len(results)
    found = []
    for step in steps.STEPS:
        got = [next((s.points for s in r.steps if s.id == step.id), 0.0) for r in results]
        found.append(StepStats(step.id, step.title, float(step.points),
                               sum(got) / n if n else 0.0,
                               sum(1 for g in got if g >= step.points) / n if n else 0.0,
                               step.bonus))
    return found


def first_sentence(text: str) -> str:
    for end in (". ", ": ", "\n"):
        text = text.split(end)[0]
    return text.rstrip(".")[:160]


# What a diagnosis says of one graph in particular (which node, how many times, at what
# value), left out when mistakes are counted: one mistake is one line, whatever graph showed it.
PARTICULARS = (
    (re.compile(r"the _backward of .+? (?:ran )?\d+ times"), "the _backward of a node more than once"),
    (re.compile(r"for an input of -?[\d.e+]+"), "for a large input"),
    (re.compile(r"\((?:[\w.]+\.py|In \[\d+\]|line \d+ of the cell)[^)]*\)"), ""),
    (re.compile(r"\s{2,}"), " "),
)


def gist(text: str) -> str:
    """A diagnosis's first sentence without what only its graph says."""
    text = first_sentence(text)
    for pattern, words in PARTICULARS:
        text = pattern.sub(words, text)
    return text.strip()


UNNAMED = "no single mistake named (the step's likely causes were shown)"


def mistakes(graded: Sequence[Graded]) -> dict[str, list[Mistake]]:
    """Per step, the mistakes the grader named, most students first: counted over the steps a
    student attempted, and only where the mistake is the step's own (not an end-to-end run
    failing because of another step)."""
    named: dict[str, dict[str, Mistake]] = {s: {} for s in steps.STEP_IDS}
    for g in graded:
        for s in g.result.steps:
            if s.state == "not started" or s.id not in named:
                continue
            seen = set()
            likely = steps.get(s.id).likely
            for c in s.checks:
                if c.state in ("failed", "error") and c.weight and c.diagnosis and \
                        not c.blocked_by:
                    # The step's own list of likely causes is what a failure without a
                    # named mistake says: counted as such, not as a mistake called "Likely
                    # causes".
                    seen.add(UNNAMED if c.diagnosis == likely else gist(c.diagnosis))
            for text in seen:
                named[s.id].setdefault(text, Mistake(text)).students.append(g.who)
    return {step: sorted(found.values(), key=lambda m: (-len(m.students), m.text))
            for step, found in named.items()}


def slowest(graded: Sequence[Graded], top: int = 10) -> list[Graded]:
    return sorted(graded, key=lambda g: (-g.result.seconds, g.key))[:top]


def failed_checks(results: Sequence[GradingResult]) -> Counter[tuple[str, str]]:
    """(check number, title) -> how many students failed it, over the steps they attempted."""
    failed: Counter[tuple[str, str]] = Counter()
    for r in results:
        failed.update({(c.number, c.title) for s in r.steps if s.state != "not started"
                       for c in s.checks if c.state in ("failed", "error") and c.weight})
    return failed
