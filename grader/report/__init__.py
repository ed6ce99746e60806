"""Views over GradingResult: the scoreboard text, JSON, Gradescope, CSV rows, the class summary;
and files.py, which writes each of them to its file whole or not at all."""
