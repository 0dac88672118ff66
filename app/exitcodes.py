"""Exit codes of every orchestrate command, in one place."""
