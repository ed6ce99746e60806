"""What runs beside a student while they work, each calling the grading API."""
