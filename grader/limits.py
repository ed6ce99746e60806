"""The settings of one grading: how much a submission may use, and which protections are on."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypedDict, Union, cast

ISOLATIONS = ("auto", "bwrap", "process")


@dataclass(frozen=True)
class Limits:
    """How much time, memory and output a submission may use. Printed in the JSON output."""

    check_timeout: float = 5.0      # seconds for one probe; the reference needs well under 0.3 s
    run_timeout: float = 120.0      # seconds for the whole submission
    memory_mb: int = 1024           # address-space cap of the worker (Linux and macOS)
    output_kb: int = 4              # student output kept per check

    def __post_init__(self) -> None:
        for name, zero_allowed in (("check_timeout", False), ("run_timeout", False),
                                   ("memory_mb", True), ("output_kb", True)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not (value >= 0 if zero_allowed else value > 0):
                raise ValueError(f"--{name.replace('_', '-')} must be "
                                 f"{'0 or more' if zero_allowed else 'more than 0'}, "
                                 f"not {value!r}")

    def as_dict(self) -> LimitValues:
        return cast(LimitValues, asdict(self))


class Shields(TypedDict, total=False):
    """Which protections a grading had: asked for (isolation) and what ran (the rest)."""
    admission: bool
    guard: bool
    isolation: str
    boundary: str                      # bubblewrap, or none
    seccomp: Union[str, bool]          # what the worker says it installed, or why not
    landlock: Union[str, bool, int]
    cleanup: str                       # namespace, process tree, process group, off
    address_randomization: str


class SandboxReport(TypedDict, total=False):
    """How the worker ran, as the sandbox reports it after a grading."""
    worker_user: Union[str, int, None]
    worker_python: str
    worlds: list[str]
    protections: Shields


class LimitValues(TypedDict):
    """The limits as data (what a batch hands each grading process)."""
    check_timeout: float
    run_timeout: float
    memory_mb: int
    output_kb: int


class GradingSettings(LimitValues, SandboxReport):
    """What a grading ran under, as a result's JSON shows it: the limits, and how the worker
    ran (its user, its interpreter, its worlds, the protections)."""


@dataclass(frozen=True)
class Protections:
    """Which layers to use. Everything is on by default; tests switch one layer on at a time."""

    admission: bool = True
    guard: bool = True
    isolation: str = "auto"         # auto (bubblewrap when it runs) | bwrap | process
    cleanup: bool = True
    syscalls: bool = True           # the worker's seccomp filter, Landlock and file-size limit

    def __post_init__(self) -> None:
        if self.isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be auto, bwrap or process, not {self.isolation!r}")


def container_memory_mb() -> int | None:
    """The memory limit of the container this runs in (cgroup v2, then v1), or None."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 50:          # "max" or a huge number: none
            return int(text) // (1 << 20)
    return None


GRADER_HEADROOM_MB = 256     # the grading process itself, pytest and the checks
DEFAULT_CONTAINER_MB = 512   # under Gradescope's 768 MB when the limit cannot be read


def memory_cap(requested: int | None) -> int:
    """The worker's memory cap inside a grading container (Gradescope, PrairieLearn): what the
    instructor asked for, else what fits in the container beside the grader."""
    if requested is not None:
        return requested
    limit = container_memory_mb()
    if limit is None:
        return DEFAULT_CONTAINER_MB
    return max(128, min(Limits().memory_mb, limit - GRADER_HEADROOM_MB))
