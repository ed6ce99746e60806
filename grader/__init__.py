"""micrograd-kit's grader: hidden finite-difference checks for a scalar autograd engine."""

__version__ = "0.1.0"
