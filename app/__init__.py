"""orchestrate: drive a backlog of changes through an AI-agent pipeline.

The packages are the layers (docs/ARCHITECTURE.md): main > demo > ui > cli > engine >
backlog > errors, never imported upward (`lint-imports`). Only app/ui (and the widgets
it uses) imports Textual; `tests/test_import_hygiene.py` checks that at run time too.
"""

__version__ = "0.1.0"
