"""The command palette (ctrl+p): every command of the key table, and "go to" any item.

The commands come from app/ui/keys.py, so the palette lists what the keys do, named
`board: verb`; ItemCommands finds an item by id or title and selects it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, Protocol, runtime_checkable

from textual.app import App, SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.screen import Screen

from app.backlog import states
from app.backlog.model import Backlog, Item, visible
from app.ui import keys

DISCOVER_MAX = 30
"""Items the palette offers before anything is typed."""


@runtime_checkable
class PaletteScreen(Protocol):
    """What "go to" needs of the screen the palette opened on: the backlog shown, and a
    way to select an item (the main screen; a view opened from it has neither)."""

    @property
    def backlog(self) -> Backlog | None: ...

    def jump_to(self, item_id: str) -> None: ...


class ItemCommands(Provider):
    """`go to WRK-004 Add login page`: jump to an item by id or title."""

    def _main(self) -> PaletteScreen | None:
        return self.screen if isinstance(self.screen, PaletteScreen) else None

    def _items(self) -> tuple[Item, ...]:
        main = self._main()
        backlog = main.backlog if main is not None else None
        return backlog.items if backlog else ()

    async def discover(self) -> Hits:
        main = self._main()
        if main is None:
            return
        for item in self._items()[:DISCOVER_MAX]:
            text = f"go to {item.id} {visible(item.title, one_line=True)}"
            yield DiscoveryHit(Content(text), partial(main.jump_to, item.id), text=text,
                               help=states.describe(item))

    async def search(self, query: str) -> Hits:
        main = self._main()
        if main is None:
            return
        matcher = self.matcher(query)
        for item in self._items():
            text = f"go to {item.id} {visible(item.title, one_line=True)}"
            score = matcher.match(text)
            if score > 0:
                # highlight() reads markup: a title with [brackets] is shown plain instead.
                shown = Content(text) if "[" in text else matcher.highlight(text)
                yield Hit(score, shown, partial(main.jump_to, item.id), text=text,
                          help=states.describe(item))


def system_commands(app: App[Any], main: Screen[Any],
                    screen: Screen[Any] | None = None) -> Iterator[SystemCommand]:
    """A palette entry for every command of the key table that works where the person is,
    calling its action: the App's and the main screen's always, a view's (documents,
    checkpoints: its `KEY_SCOPE`) while that view is `screen`."""
    view = getattr(screen, "KEY_SCOPE", None)
    for command in keys.commands():
        namespace: object
        if command.scope == "app":
            namespace = app
        elif command.scope == "main":
            namespace = main
        elif command.scope == view:
            namespace = screen
        else:
            continue
        callback: Callable[[], object] = getattr(namespace, f"action_{command.action}")
        yield SystemCommand(command.palette, command.tooltip, callback)
