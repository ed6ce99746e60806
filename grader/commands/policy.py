"""`python -m grader policy`: what a submission may use, and what the run-time guard refuses."""

from __future__ import annotations

import argparse
from typing import Sequence

from ..sandbox import rules, syscalls


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader policy",
        description="What a submission's code may use (checked before it runs), what the "
                    "run-time guard refuses, and what the kernel refuses it, as Markdown "
                    "tables.")
    parser.parse_args(argv)
    print(rules.markdown())
    print()
    print(rules.guard_markdown())
    print()
    print(syscalls.markdown())
    return 0
