"""micrograd-kit's grader: hidden finite-difference checks for a scalar autograd engine."""

from pathlib import Path

__version__ = "0.1.0"

# The kit checkout this grader sits in (its exercises/ and solutions/ are beside grader/).
KIT_ROOT = Path(__file__).resolve().parent.parent
