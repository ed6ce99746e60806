"""micrograd-kit's grader: hidden finite-difference checks for a scalar autograd engine."""

from pathlib import Path

__version__ = "0.2.0"

GRADER_DIR = Path(__file__).resolve().parent
# The kit checkout this grader sits in (exercises/ and solutions/ beside grader/); for an
# installed copy, the folder it is installed in, which has neither.
KIT_ROOT = GRADER_DIR.parent


def is_checkout() -> bool:
    """Whether this grader sits in a kit checkout, with the reference solutions beside it."""
    return (KIT_ROOT / "solutions" / "engine.py").is_file()


def starter_folder() -> Path:
    """The stubs as the kit hands them out: grader/starter, a pristine copy of exercises/."""
    # Never exercises/ itself: in a checkout (and in the editable install the README
    # recommends) that folder is the student's own work, and `init` or `notebook` would hand
    # out their answers. tests/test_curriculum.py keeps the copy equal to exercises/ as committed.
    return GRADER_DIR / "starter"
