"""orchestrate: drive a backlog of changes through an AI-agent pipeline.

The packages are the layers (docs/ARCHITECTURE.md): main > demo > ui > cli > engine >
backlog > errors, never imported upward (`lint-imports`). Only app/ui (and the widgets
it uses) imports Textual; `tests/test_import_hygiene.py` checks that at run time too.
"""

import sys

__version__ = "0.1.0"


def _import_msgspec_alone() -> None:
    """Import msgspec without typing_extensions, which it would import for nothing here.

    msgspec takes `get_type_hints` from typing_extensions when that is installed (it is:
    Textual needs it), and falls back to the standard library's otherwise. It calls it
    only to decode into typed records (`msgspec.convert`, typed `json.decode`), which
    orchestrate never does: the records are Structs built and read by hand. Yet the
    import costs ~11 ms (typing_extensions pulls in `inspect`, `ast`, `dis`), ~10 % of a
    headless run's start. So msgspec is imported once, here, with typing_extensions
    hidden; it is put back at once, and whatever imports it later (the board, through
    Textual) gets the real module. A msgspec that needs it outright is imported as usual.
    """
    if "msgspec" in sys.modules or "typing_extensions" in sys.modules:
        return
    sys.modules["typing_extensions"] = None  # type: ignore[assignment]  # import fails
    try:
        import msgspec  # noqa: F401
    except ImportError:
        for name in [n for n in sys.modules if n == "msgspec" or n.startswith("msgspec.")]:
            del sys.modules[name]
    finally:
        del sys.modules["typing_extensions"]


_import_msgspec_alone()
