"""`orchestrate mcp`: the backlog as a Model Context Protocol server over stdio, built on
the official SDK (`mcp`), imported only here and only when the command runs."""
