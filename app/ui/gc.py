"""The garbage collector kept off the board's long-lived objects (`gc.freeze`).

The board allocates a lot once (imports, the first board) and then fast while the log
streams; Python's default thresholds then walk the long-lived objects again and again,
and a key press waits behind every full collection.
"""

from __future__ import annotations

import gc
from typing import Literal

Stage = Literal["imports", "first-frame"]

GC_YOUNG = 10_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""

_FROZEN: set[Stage] = set()


def freeze_objects(stage: Stage) -> None:
    """Move what exists now out of the garbage collector's sight, once per process and stage.

    `imports`: modules, classes and the stylesheet live as long as the process; without
    this every full collection during start-up walks them all again (~70 ms of the first
    frame with 1,000 cards). `first-frame`: the widgets and caches of the first board
    (~90,000 objects with 1,000 cards); a full collection walked them all again every
    few seconds while the log streamed (~50 ms, a key press waiting behind it). Objects
    that die later are still freed by reference counting.

    At `imports` the youngest generation's threshold also goes up to GC_YOUNG: streaming
    agent lines allocates fast, and with Python's 700 the collector ran ~240 times a
    second with a full collection (~40 ms, a key press waiting behind it) every half
    second; with 10,000 it ran ~7 times a second and no full collection was needed.
    """
    if stage not in _FROZEN:
        _FROZEN.add(stage)
        gc.freeze()
        if stage == "imports":
            young, *older = gc.get_threshold()
            gc.set_threshold(max(young, GC_YOUNG), *older)
