"""Views over GradingResult: the scoreboard text, JSON, Gradescope, CSV rows, the class summary."""
