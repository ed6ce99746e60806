"""The JSON view of a result: what `--json`, the batch's per-student files and tools read."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from .. import __version__
from ..results import GradingResult

# 2: steps are graded apart (no step state "blocked"); checks say end_to_end and blocked_by.
JSON_FORMAT_VERSION = 2


def as_json(result: GradingResult) -> dict[str, Any]:
    data = result.as_dict()
    return {"kit": "micrograd-kit", "format": JSON_FORMAT_VERSION, "version": __version__,
            **data}


def write_json(result: GradingResult, stream: TextIO = sys.stdout) -> None:
    json.dump(as_json(result), stream, indent=2, sort_keys=False)
    stream.write("\n")
