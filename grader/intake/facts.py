"""The facts grading needs about a submission, gathered once at intake, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import steps
from . import given
from .notebook import Rebuilt
from .submission import Submission
from .todos import TodoStatus, todo_status


@dataclass(frozen=True)
class Facts:
    """What was handed in, as scoring sees it: it never reads a file itself."""

    label: str
    problems: tuple[str, ...] = ()
    invalid: bool = False                       # nothing in it can be graded
    present: frozenset[str] = frozenset()       # the kit's files it holds (regular files)
    todos: dict[str, TodoStatus] = field(default_factory=dict)   # step id -> its TODOs
    cells: Rebuilt | None = None                # a notebook's cells: messages name them
    given_changed: tuple[str, ...] = ()         # given functions not as any release has them

    def has(self, name: str) -> bool:
        return name in self.present


def gather(sub: Submission) -> Facts:
    return Facts(
        label=sub.label,
        problems=tuple(sub.problems),
        invalid=sub.invalid,
        present=frozenset(name for name in steps.ALL_FILES if sub.has(name)),
        todos={step.id: todo_status(sub.root, step) for step in steps.STEPS},
        cells=sub.notebook,
        given_changed=given.changed(sub.root),
    )
