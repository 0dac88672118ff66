"""Benchmarks of orchestrate: `python -m bench` (full, rewrites bench/RESULTS.md) and
`python -m bench --quick --json` (one JSON object of figures)."""
