"""The command line: the parser, the grooming commands, run/triage on a terminal, completion."""
