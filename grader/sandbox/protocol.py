"""How the grader and the worker talk: one JSON line per request, one token-stamped line per answer.

The worker (grader/sandbox/worker/) holds its side; this is the grader's. While it answers, a
worker may ask the grader something (the stand-in engine's gradients: finite differences stay
in the grading process): a token-stamped line {"call": ..., ...}, answered on its stdin. Answers are read with
bounded size and depth: an answer too long, too deep or not stamped with this worker's token is
garbled, which is the submission's failure (its code reached the answer channel), never the
grader's.
"""

from __future__ import annotations

import functools
import json
import secrets
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Union

from .tasks import CALLBACKS, TASKS

# The largest real answer (a backward() check's, with its 10,000 recorded calls at most) is
# well under 1 MB; more is the submission's doing, and costs the grading process to read.
MAX_ANSWER_BYTES = 4 << 20
MAX_DEPTH = 32                  # real answers nest 4 levels deep


@dataclass(frozen=True)
class Secrets:
    """What only the grader and one worker know: the token on its answers, the marker after
    each probe's output."""

    token: str
    marker: str

    @classmethod
    def new(cls) -> "Secrets":
        return cls(secrets.token_hex(16), "\x00micrograd-kit-" + secrets.token_hex(8) + "\x00")

    @property
    def marker_bytes(self) -> bytes:
        return self.marker.encode("ascii")


def handshake(keys: Secrets, **settings: Any) -> bytes:
    """The first line the worker reads: its secrets and how to seal itself."""
    return json.dumps({"token": keys.token, "marker": keys.marker, **settings}).encode() + b"\n"


def request(ident: int, task: str, args: dict[str, Any]) -> bytes:
    return json.dumps({"id": ident, "task": task, "args": args}).encode() + b"\n"


def _depth(value: Any, limit: int) -> int:
    """How deep lists and dicts nest, stopping early past `limit`."""
    level, depth = [value], 0
    while True:
        # One level at a time: only containers are walked on, and a graph's thousands of
        # numbers are looked at once.
        level = [v for v in level if type(v) is list or type(v) is dict]
        if not level:
            return depth
        depth += 1
        if depth > limit:
            return depth
        below: list[Any] = []
        for item in level:
            below.extend(item.values() if type(item) is dict else item)
        level = below


def decode_answer(line: bytes, keys: Secrets) -> dict[str, Any] | None:
    """The answer in one line from the worker, or None when it is garbled or forged."""
    prefix = keys.token.encode("ascii") + b" "
    if len(line) > MAX_ANSWER_BYTES or not line.startswith(prefix):
        return None
    try:
        value = json.loads(line[len(prefix):])
    except (ValueError, RecursionError, MemoryError, UnicodeDecodeError):
        return None
    if not isinstance(value, dict) or _depth(value, MAX_DEPTH) > MAX_DEPTH:
        return None
    return value


# ------------------------------------------------------------------------ what answers hold
# Each task's answer is a typed record, declared with the task (grader/sandbox/tasks.py). The
# checks read answers without guessing: an answer that does not fit its record is refused here.
ANSWERS: dict[str, Any] = {name: answer for name, (_, _, answer) in TASKS.items()}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# What a value of each plain type may be in JSON (an int where a float is expected, as typing
# itself allows; never a bool where a number is).
SCALARS: dict[Any, Callable[[Any], bool]] = {
    Any: lambda value: True,
    type(None): lambda value: value is None,
    float: _number,
    int: lambda value: isinstance(value, int) and not isinstance(value, bool),
    bool: lambda value: isinstance(value, bool),
    str: lambda value: isinstance(value, str),
}


@functools.lru_cache(maxsize=None)
def _fields(record: Any) -> dict[str, Any]:
    return typing.get_type_hints(record)


def _fits(value: Any, hint: Any) -> bool:
    """Whether a value decoded from JSON is of the type `hint` (a task table's type: a plain
    type, a Union, list[...], dict[str, ...] or a TypedDict whose keys may be absent)."""
    if hint in SCALARS:
        return SCALARS[hint](value)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union or origin is types.UnionType:
        return any(_fits(value, option) for option in args)
    if origin is list:
        return isinstance(value, list) and all(_fits(item, args[0]) for item in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            _fits(key, args[0]) and _fits(item, args[1]) for key, item in value.items())
    if typing.is_typeddict(hint):
        fields = _fields(hint)
        return isinstance(value, dict) and all(isinstance(key, str) for key in value) and all(
            _fits(item, fields[key]) for key, item in value.items() if key in fields)
    return False


def misshapen(task: str, result: Any) -> str | None:
    """Why an answer to `task` is not of its task's shape, or None when it is."""
    shape = ANSWERS.get(task, Any)
    if not isinstance(result, dict):
        return "it is not a record"
    if not _fits(result, shape):
        return f"it is not what a {task} answer holds"
    return None


def callback(value: dict[str, Any]) -> str | None:
    """The name of what a worker asks, when an answer line is a question of a known kind."""
    name = value.get("call")
    return name if isinstance(name, str) and name in CALLBACKS and "id" not in value else None


def reply(value: Any) -> bytes:
    """The grader's reply to a worker's question: one JSON line on its stdin."""
    return json.dumps({"reply": value}).encode() + b"\n"
