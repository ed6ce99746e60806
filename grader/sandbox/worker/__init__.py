"""The worker's files: copied into each worker's own folder and run there as a script folder
(`python -S -s -B main.py`), standard library only. Nothing here is imported by the grader."""
