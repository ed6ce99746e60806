"""What grading a class needs besides the checks: a grading process per submission under a
watchdog (pool), and what may be kept from the last run, and why (regrade)."""
