"""The headless engine: runs, triage, attempts and agent processes (no Textual; docs/engine.md)."""
