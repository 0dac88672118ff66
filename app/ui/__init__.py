"""The board: the Textual face of orchestrate (app.py, screen.py and one module per job).

The only part of app/ that imports Textual; docs/board.md describes its modules.
"""
