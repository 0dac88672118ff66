"""What a model's tokens cost: the price table behind an attempt's cost when the agent
never said it (an attempt stopped before its result line: a timeout, a stop, a budget).

Claude Code prices a run by the model it asked for (the init line's `model`, such as
`claude-opus-4-8[1m]`), not by the model name the API answers with; its result line's
`total_cost_usd` is the figure of record whenever there is one. Prices are USD per
million tokens, as Anthropic lists them; a cache write costs 1.25x the input price and a
cache read 0.1x. An unknown model is priced at the dearest row, so that a budget errs on
the side of stopping early rather than overspending.
"""

from __future__ import annotations

from app.structs import Struct

CACHE_WRITE = 1.25
CACHE_READ = 0.1


class Price(Struct, frozen=True):
    """USD per million tokens."""

    input: float
    output: float
    cached: float | None = None
    """A cache read's price, where it is not CACHE_READ of the input's."""

    def cost(self, input_tokens: int, output_tokens: int, cache_write: int = 0,
             cache_read: int = 0) -> float:
        """USD for these tokens."""
        cached = self.cached if self.cached is not None else self.input * CACHE_READ
        return (input_tokens * self.input + output_tokens * self.output
                + cache_write * self.input * CACHE_WRITE
                + cache_read * cached) / 1_000_000


PRICES: tuple[tuple[str, Price], ...] = (
    # The first row whose prefix the model name starts with wins: older Opus first.
    ("claude-opus-4-2025", Price(15, 75)),  # Opus 4 (claude-opus-4-20250514)
    ("claude-opus-4-0", Price(15, 75)),
    ("claude-opus-4-1", Price(15, 75)),
    ("claude-3-opus", Price(15, 75)),
    ("claude-opus", Price(5, 25)),  # Opus 4.5 and later
    ("opus", Price(5, 25)),
    ("claude-sonnet", Price(3, 15)),
    ("claude-3-7-sonnet", Price(3, 15)),
    ("claude-3-5-sonnet", Price(3, 15)),
    ("sonnet", Price(3, 15)),
    ("claude-haiku", Price(1, 5)),  # Haiku 4.5
    ("claude-3-5-haiku", Price(0.8, 4)),
    ("claude-3-haiku", Price(0.25, 1.25)),
    ("haiku", Price(1, 5)),
)
DEAREST = max((price for _, price in PRICES), key=lambda p: (p.output, p.input))


def price_of(model: str | None) -> tuple[Price, bool]:
    """The model's price, and whether the table knows it (else the dearest row's)."""
    name = (model or "").strip().lower()
    for prefix, price in PRICES:
        if name.startswith(prefix):
            return price, True
    return DEAREST, False
