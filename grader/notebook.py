"""The name the notebooks of every release import: `from grader.notebook import check, hint`.

check() and hint() are in grader/interactive/notebook.py; notebooks built now import them from
here as well, so that a notebook of any release, old or new, runs the same.
"""

from .interactive.notebook import check, hint

__all__ = ["check", "hint"]
