"""The JSON view of a result: what `--json`, the batch's per-student files and tools read."""

from __future__ import annotations

import json
import sys
from typing import Any, Mapping, MutableMapping, TextIO, TypeVar

from .. import __version__
from ..results import GradingResult

# 2: steps are graded apart (no step state "blocked"); checks say end_to_end and blocked_by.
JSON_FORMAT_VERSION = 2

D = TypeVar("D", bound=Mapping[str, Any])    # a platform's results file, with its tests


def as_json(result: GradingResult) -> dict[str, Any]:
    data = result.as_dict()
    return {"kit": "micrograd-kit", "format": JSON_FORMAT_VERSION, "version": __version__,
            **data}


def write_json(result: GradingResult, stream: TextIO = sys.stdout) -> None:
    json.dump(as_json(result), stream, indent=2, sort_keys=False)
    stream.write("\n")


def written_size(data: Mapping[str, Any]) -> int:
    """The bytes of the file as the commands write it."""
    return len(json.dumps(data, indent=2).encode("utf-8"))


def shorten_tests(data: D, limit: int, keys: tuple[str, ...], why: str) -> D:
    """Cut every test's `keys` texts to a length that halves until the file fits `limit` bytes
    (names and error messages from a submission can be long, and JSON may write a character as
    twelve bytes)."""
    budget = 20_000
    while written_size(data) > limit and budget >= 50:
        tests: list[MutableMapping[str, Any]] = data.get("tests") or []   # a platform's records
        for test in tests:
            for key in keys:
                text = test.get(key)
                if isinstance(text, str) and len(text) > budget:
                    test[key] = text[:budget] + f"\n... (cut: {why})"
        budget //= 2
    return data
