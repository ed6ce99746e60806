"""How the grader and the worker talk: one JSON line per request, one token-stamped line per answer.

The worker (grader/run/worker.py) holds its side; this is the grader's. Answers are read with
bounded size and depth: an answer too long, too deep or not stamped with this worker's token is
garbled, which is the submission's failure (its code reached the answer channel), never the
grader's.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

MAX_ANSWER_BYTES = 32 << 20     # the largest real answer (the classifier's) is a few KB
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
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, (list, dict)):
            if level > limit:
                return level
            deepest = max(deepest, level)
            pending.extend((v, level + 1) for v in (item.values() if isinstance(item, dict)
                                                    else item))
    return deepest


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
