"""The sandbox: the only code that starts processes for student code, and every layer around them
(admission, the worker's guard, the operating-system boundary, clean-up, and the fingerprint of
the grader's own files that notices what got past them)."""
