"""`python -m grader policy`: what a submission may use, and what the run-time guard refuses."""

from __future__ import annotations

import argparse
from typing import Sequence

from ..run import policy


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader policy",
        description="What a submission's code may use (checked before it runs), and what the "
                    "run-time guard refuses, as Markdown tables.")
    parser.parse_args(argv)
    print(policy.markdown())
    print()
    print(policy.guard_markdown())
    return 0
