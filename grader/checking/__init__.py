"""What the hidden checks use: the Kit (their handle on the sandbox), graphs as data, the
diagnosis of a mistake from evidence, and the runner that collects grader/checks/ under pytest."""
