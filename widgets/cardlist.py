"""A list of cards that builds, measures and draws only the cards a person gets to see.

A column of the board may hold thousands of cards and shows a few dozen. Textual's
OptionList makes an Option per card up front and measures every one of them (their
heights place the lines) before it draws anything: with 10,000 items that was ~100 ms of
the first frame and of every reload. `CardList` keeps OptionList's keys, messages,
mouse handling and styles, and changes where its options and lines come from:

- `CardOptions`, its options, makes a card's Option (and its `Card`) when it is first
  asked for, from the items it was given;
- `CardLines`, its line cache, measures the cards from the top only as far as a line is
  asked for (the lines on screen, the highlighted card); the rest of the column is
  counted at the average height of the measured cards, so the scrollbar is about right
  at once and exact once the person has scrolled (or jumped) to the end.

- `_get_option_render` draws a card's option in one pass into the segments OptionList's
  own makes through a Strip a step (tests/ui/test_board_virtual.py compares both).

It relies on OptionList's private `_options`, `_option_to_index`, `_id_to_option`,
`_line_cache`, `_option_render_cache` and `_get_option_render`
(tests/ui/test_textual_private.py holds them).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, cast, overload

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual import _widget_navigation, events
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import RenderOptions
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from app.backlog.model import Item
from widgets.cards import Card, CardNote

if TYPE_CHECKING:
    from typing import Self

    from textual.css.styles import RulesMap
    from textual.widgets._option_list import OptionListContent

ESTIMATED_HEIGHT = 3
"""Lines counted for a card not measured yet, before any card is measured (a card is at
least its id line and its title, and a rule)."""


class CardOptions(Sequence[Option]):
    """The options of a list of cards, each made when first asked for.

    A made option is entered in `to_index` (OptionList's option -> index map, which
    gives every drawn line its `option` meta for clicks)."""

    def __init__(self, items: tuple[Item, ...], notes: tuple[CardNote | None, ...],
                 to_index: dict[Option, int]) -> None:
        self._items = items
        self._notes = notes
        self._made: list[Option | None] = [None] * len(items)
        self._to_index = to_index
        self._by_id: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Option: ...

    @overload
    def __getitem__(self, index: slice) -> list[Option]: ...

    def __getitem__(self, index: int | slice) -> Option | list[Option]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        option = self._made[index]  # IndexError past the end, as a list
        if option is None:
            at = index % len(self._items)
            item = self._items[at]
            option = Option(Card(item, self._notes[at]), id=item.id)
            option._divider = at < len(self._items) - 1  # a rule between cards
            self._made[at] = option
            self._to_index[option] = at
        return option

    def __iter__(self) -> Iterator[Option]:
        return (self[i] for i in range(len(self)))

    def index_of(self, item_id: str) -> int | None:
        """Where the card of `item_id` is, if it is here."""
        if self._by_id is None:
            self._by_id = {item.id: at for at, item in enumerate(self._items)}
        return self._by_id.get(item_id)


class OptionsById(Mapping[str, Option]):
    """OptionList's id -> option map over `CardOptions` (an option is made when looked up)."""

    def __init__(self, options: CardOptions) -> None:
        self._options = options

    def __getitem__(self, item_id: str) -> Option:
        at = self._options.index_of(item_id)
        if at is None:
            raise KeyError(item_id)
        return self._options[at]

    def __iter__(self) -> Iterator[str]:
        return (option.id or "" for option in self._options)

    def __len__(self) -> int:
        return len(self._options)


class CardLines:
    """Where each card of a list starts, at one width, measured from the top as far as
    asked (OptionList's `_line_cache`: `clear()` forgets it)."""

    __slots__ = ("_list", "starts", "width")

    def __init__(self, owner: CardList) -> None:
        self._list = owner
        self.width = -1
        """The width the cards were measured at (-1: none measured)."""
        self.starts = [0]
        """`starts[i]`: the first line of card i, for every measured card and one past."""

    def clear(self) -> None:
        self.width = -1
        self.starts = [0]

    @property
    def measured(self) -> int:
        """How many cards, from the top, are measured."""
        return len(self.starts) - 1

    def at_width(self, width: int) -> bool:
        """Measure at `width` from now on; True when that forgot the cards measured at
        another."""
        if width == self.width:
            return False
        self.clear()
        self.width = width
        return True

    def measure_to(self, count: int) -> None:
        """Measure the first `count` cards (or all there are)."""
        starts = self.starts
        end = min(count, len(self._list.options))
        height = self._list.card_height
        line = starts[-1]
        for index in range(len(starts) - 1, end):
            line += height(index, self.width)
            starts.append(line)

    def measure_through(self, line: int) -> None:
        """Measure cards until one covers `line` (or all are measured)."""
        starts = self.starts
        count = len(self._list.options)
        height = self._list.card_height
        while starts[-1] <= line and len(starts) <= count:
            starts.append(starts[-1] + height(len(starts) - 1, self.width))

    def locate(self, line: int) -> tuple[int, int] | None:
        """The card at `line` and the line within it (measuring as far), or None past
        the last card."""
        if line < 0 or self.width < 0:
            return None
        self.measure_through(line)
        starts = self.starts
        if line >= starts[-1]:
            return None
        index = bisect_right(starts, line) - 1
        return index, line - starts[index]

    def total(self) -> int:
        """The lines of all the cards: measured, plus the rest at the measured average."""
        count = len(self._list.options)
        measured = self.measured
        lines = self.starts[-1]
        if measured >= count:
            return lines
        per = lines / measured if measured else ESTIMATED_HEIGHT
        return lines + round((count - measured) * per)


class CardList(OptionList):
    """An OptionList of cards (`show_cards`) that makes and measures them when needed."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        self._line_cache: CardLines = CardLines(self)  # type: ignore[assignment]

    def show_cards(self, items: tuple[Item, ...],
                   notes: tuple[CardNote | None, ...]) -> None:
        """Show a card for each of `items` (with its note); nothing highlighted, at the top
        (as OptionList.set_options leaves it)."""
        self._option_to_index = {}
        options = CardOptions(items, notes, self._option_to_index)
        self._options = options  # type: ignore[assignment]
        self._id_to_option = OptionsById(options)  # type: ignore[assignment]
        self._line_cache.clear()
        self._option_render_cache.clear()
        self.highlighted = None
        self.scroll_y = 0
        if self.is_mounted:
            self.refresh()

    def index_of(self, item_id: str) -> int | None:
        """Where the card of `item_id` is, if it is shown."""
        options = self._options
        if isinstance(options, CardOptions):
            return options.index_of(item_id)
        return next((i for i, o in enumerate(options) if o.id == item_id), None)

    # OptionList's own ways of setting options work on a plain list of them.
    def _plain_options(self) -> None:
        if isinstance(self._options, CardOptions):
            self._options = list(self._options)
            self._id_to_option = {o.id: o for o in self._options if o.id is not None}

    def add_options(self, new_options: Iterable[OptionListContent]) -> Self:
        self._plain_options()
        return super().add_options(new_options)

    def set_options(self, options: Iterable[OptionListContent]) -> Self:
        self._options, self._id_to_option = [], {}
        return super().set_options(options)

    def clear_options(self) -> Self:
        self._options, self._id_to_option = [], {}
        return super().clear_options()

    def on_resize(self, event: events.Resize) -> None:
        # OptionList's own `_on_resize`, next in line unless prevented, forgets every
        # card's lines and drawing on any resize. Both depend only on the width, which
        # _update_lines checks itself: a change of height (the start-up's resizes) keeps
        # them. (A subclass's `on_resize` runs too, before this one: Textual calls each
        # class's handler.)
        event.prevent_default()
        self.refresh()

    # --- measuring --------------------------------------------------------------------------
    def card_height(self, index: int, width: int) -> int:
        """The lines of card `index` at `width` (the list's), its rule below included."""
        option = self._options[index]
        padding = self.get_component_styles("option-list--option").padding
        visual = self._get_visual(option)
        rules = cast("RulesMap", self.styles)  # as OptionList passes them
        return visual.get_height(rules, width - padding.width) + option._divider

    def _card_width(self) -> int:
        return self.scrollable_content_region.width - self._get_left_gutter_width()

    def _update_lines(self) -> None:
        """Measure the cards on screen and size the list (OptionList measures them all)."""
        region = self.scrollable_content_region
        if not region:
            return
        lines = self._line_cache
        if lines.at_width(self._card_width()):
            self._option_render_cache.clear()  # drawn at the old width
        lines.measure_through(self.scroll_offset.y + region.height - 1)
        self._update_size()

    def _update_size(self) -> None:
        lines = self._line_cache
        virtual_size = Size(lines.width, lines.total())
        if virtual_size != self.virtual_size:
            self.virtual_size = virtual_size
            self._scroll_update(virtual_size)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        lines = CardLines(self)  # at a width of its own: the list's may be another
        lines.at_width(width)
        lines.measure_to(len(self._options))
        return lines.total()

    # --- drawing and moving (OptionList's, over the measured cards) -------------------------
    def render_line(self, y: int) -> Strip:
        if self._line_cache.width < 0:
            self._update_lines()
        found = self._line_cache.locate(self.scroll_offset.y + y)
        if found is None:
            return self._blank()
        index, line = found
        option = self._options[index]
        component_class = ""
        if option.disabled:
            component_class = "option-list--option-disabled"
        elif self.highlighted == index:
            component_class = "option-list--option-highlighted"
        elif self._mouse_hovering_over == index:
            component_class = "option-list--option-hover"
        if component_class:
            style = self.get_visual_style("option-list--option", component_class)
        else:
            style = self.get_visual_style("option-list--option")
        strips = self._get_option_render(option, style)
        return strips[line] if line < len(strips) else self._blank()

    def _get_option_render(self, option: Option, style: VisualStyle) -> list[Strip]:
        # OptionList makes a new Strip of a card's line at each step (its padding, the
        # link styles, the width, the option's meta): the same segments are made here in
        # one pass, half the Strips (each with seven caches of its own).
        visual = self._get_visual(option)
        if not isinstance(visual, Card) or self.text_selection is not None \
                or self.styles.content_align != ("left", "top"):
            return super()._get_option_render(option, style)
        padding = self.get_component_styles("option-list--option").padding
        cache_key = (option, style, padding)
        if (strips := self._option_render_cache.get(cache_key)) is not None:
            return strips
        width = self.scrollable_content_region.width - self._get_left_gutter_width()
        top, right, bottom, left = padding
        inner = width - left - right
        if inner <= 0:
            return super()._get_option_render(option, style)
        rules = cast("RulesMap", self.styles)  # as Visual.to_strips passes them
        drawn = visual.render_strips(inner, None, style,
                                     RenderOptions(self._get_style, rules, None, None))
        pad = style.rich_style
        meta = RichStyle.from_meta({"option": self._option_to_index[option]})
        blank = [Segment(" " * width, meta + pad)]
        strips = [Strip(blank, width)] * top
        for strip in drawn:
            segments = list(strip)
            if strip.cell_length > inner or any(s.style is not None and s.style.meta
                                                 for s in segments):
                return super()._get_option_render(option, style)  # cropped, or links
            line = [Segment(" " * left, meta + pad)] if left else []
            line += [Segment(text, None if control else meta + seg_style, control)
                     for text, seg_style, control in segments]
            if strip.cell_length < inner:
                line.append(Segment(" " * (inner - strip.cell_length), meta + pad))
            if right:
                line.append(Segment(" " * right, meta + pad))
            strips.append(Strip(line, width))
        strips += [Strip(blank, width)] * bottom
        if option._divider:
            rule = self.get_visual_style("option-list--separator").rich_style
            strips.append(Strip([Segment("─" * width, rule)], width))
        self._option_render_cache[cache_key] = strips
        return strips

    def _blank(self) -> Strip:
        return Strip.blank(self.scrollable_content_region.width,
                           self.get_visual_style("option-list--option").rich_style)

    def _card_region(self, index: int) -> Region | None:
        """Where card `index` stands (measuring the cards above it), once laid out."""
        self._update_lines()
        lines = self._line_cache
        if lines.width < 0 or index >= len(self._options):
            return None
        lines.measure_to(index + 1)
        self._update_size()
        top = lines.starts[index]
        return Region(0, top, self.scrollable_content_region.width,
                      lines.starts[index + 1] - top)

    def scroll_to_highlight(self, top: bool = False) -> None:
        highlighted = self.highlighted
        if highlighted is None or not self.is_mounted:
            return
        region = self._card_region(highlighted)
        if region is not None:
            self.scroll_to_region(region, force=True, animate=False, top=top, immediate=True)

    def _move_page(self, direction: _widget_navigation.Direction) -> None:
        if not self._options:
            return
        region = self._card_region(self.highlighted or 0)
        if region is None:
            return
        line = max(0, region.y + direction * self.scrollable_content_region.height)
        found = self._line_cache.locate(line)
        index = found[0] if found is not None else len(self._options) - 1
        self.highlighted = _widget_navigation.find_next_enabled_no_wrap(
            candidates=self._options, anchor=index, direction=direction, with_anchor=True)
