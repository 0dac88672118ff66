"""orchestrate: drive a backlog of changes through an AI-agent pipeline.

The engine modules in this package never import Textual; only `app.ui.app`
(and the widgets it uses) do. `tests/test_import_hygiene.py` enforces it.
"""

__version__ = "0.1.0"
