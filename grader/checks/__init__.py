"""The hidden reference checks, one module per step, collected by pytest (grader/checking/runner.py
runs them); what they use is in grader/checking/."""
