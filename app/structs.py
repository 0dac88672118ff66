"""msgspec's records (`Struct` and its helpers), imported without typing_extensions.

Every module of app/ and widgets/ takes them from here (a contract in pyproject.toml
keeps msgspec's own import here). msgspec takes `get_type_hints` from typing_extensions
when that is installed (it is: Textual needs it), and falls back to the standard
library's otherwise. It calls it only to decode into typed records (`msgspec.convert`,
typed `json.decode`), which orchestrate never does: its Structs are built and read by
hand. Yet that import costs ~11 ms (typing_extensions pulls in `inspect`, `ast` and
`dis`), ~10 % of a headless run's start. So msgspec is imported here with
typing_extensions hidden for that one import and put back at once: whatever imports it
later (the board, through Textual) gets the real module. A msgspec that needs it outright
is imported as usual. A process that needs no record (the scripted agent) never imports
msgspec at all.
"""

import sys


def _import_msgspec_alone() -> None:
    if "msgspec" in sys.modules or "typing_extensions" in sys.modules:
        return
    sys.modules["typing_extensions"] = None  # type: ignore[assignment]  # import fails
    try:
        import msgspec  # noqa: F401
    except ImportError:  # it needs typing_extensions: imported as usual just below
        for name in [n for n in sys.modules if n == "msgspec" or n.startswith("msgspec.")]:
            del sys.modules[name]
    finally:
        del sys.modules["typing_extensions"]


_import_msgspec_alone()

from msgspec import Struct, field, to_builtins  # noqa: E402
from msgspec.structs import asdict, replace  # noqa: E402

__all__ = ["Struct", "asdict", "field", "replace", "to_builtins"]
