"""The name earlier releases' notebooks (and the students' guide) import the gradient view by:
`from grader.visualize import draw`.

The gradient view is in grader/interactive/gradient_view.py.
"""

from .interactive.gradient_view import Server, draw, neuron, observe

__all__ = ["Server", "draw", "neuron", "observe"]
