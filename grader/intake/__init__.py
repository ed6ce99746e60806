"""What was handed in: folders, zips, loose files and notebooks, turned into facts for scoring;
and what came from a submission made safe (untrusted.py), for every layer that shows or reads it."""
