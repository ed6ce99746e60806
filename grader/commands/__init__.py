"""One module per sub-command, each with main(argv) -> exit status; grader/cli/ picks one."""
