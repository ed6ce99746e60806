"""What was handed in: folders, zips, loose files and notebooks, turned into facts for scoring."""
