"""`python -m grader`: see grader/cli/."""

import os
import sys

# `python -m` puts the current folder first on sys.path: run inside a submission's folder, its
# pytest.py or nbformat.py would be imported by the grading process itself. Only the folder this
# grader comes from stays (a checkout used without installing it).
_KIT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_HERE = os.getcwd()
sys.path[:] = [p for p in sys.path
               if os.path.abspath(p or os.curdir) != _HERE or _HERE == _KIT]

from .cli import main  # noqa: E402  (after the path is safe)

sys.exit(main())
