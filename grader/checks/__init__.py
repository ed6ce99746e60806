"""The hidden reference checks, one module per step; run by grader/runner.py under pytest."""
