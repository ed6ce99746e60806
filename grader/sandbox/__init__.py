"""The sandbox: the only code that starts processes for student code, and every layer around them
(admission, the worker's guard, the operating-system boundary, clean-up)."""
