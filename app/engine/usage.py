"""What an agent's stream says about its attempt beyond the lines it shows: the tokens
it spent (so an attempt without a result line still has a cost, and a budget can stop a
runaway attempt while it runs) and the tool errors it met (so an attempt that wrote no
result file says why: a permission its mode did not grant, a tool that failed last).

Claude Code prints one `assistant` line per content block, each carrying its message's
`usage` as the API's `message_start` gave it: input and cache tokens are whole, output
tokens are not yet counted (`1`). So usage is kept per message id, and a message's
output tokens are the larger of what it says and its content's length / 4.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from app.engine.pricing import Price, price_of
from app.structs import Struct

CHARS_PER_TOKEN = 4


class Tokens(Struct, frozen=True):
    """One message's tokens."""

    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0

    def most(self, other: Tokens) -> Tokens:
        """Field by field the larger: a message's lines repeat and grow its usage."""
        return Tokens(max(self.input, other.input), max(self.output, other.output),
                      max(self.cache_write, other.cache_write),
                      max(self.cache_read, other.cache_read))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def _content_chars(content: Any) -> int:
    """How much the model wrote in these blocks (text, thinking, a tool call's input)."""
    if not isinstance(content, list):
        return 0
    chars = 0
    for block in content:
        if not isinstance(block, dict):
            continue
        for key in ("text", "thinking"):
            value = block.get(key)
            if isinstance(value, str):
                chars += len(value)
        if block.get("type") == "tool_use":
            chars += len(json.dumps(block.get("input"), ensure_ascii=False))
    return chars


class UsageMeter:
    """Tokens per message of one attempt, and their cost (thread-safe: the reader thread
    feeds it while the supervising thread asks what was spent)."""

    def __init__(self) -> None:
        self.model: str | None = None
        self.price: Price | None = None
        """The agent's own price (`[agents.X] price`): used instead of the model's."""
        self._messages: dict[str, Tokens] = {}
        self._chars: dict[str, int] = {}
        self._thinking = 0
        self._settled: Tokens | None = None
        """The sum the CLI gave at its end (claude's result `usage`): what the attempt
        used, where the stream's lines only began each message's count."""
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without its lock: a remote attempt's outcome crosses to the driver."""
        with self._lock:
            return {key: value for key, value in self.__dict__.items() if key != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def feed(self, event: dict[str, Any]) -> None:
        """One parsed stdout event: the init line names the model, assistant lines carry
        usage."""
        kind = event.get("type")
        if kind == "system":
            subtype = event.get("subtype")
            if subtype == "init" and isinstance(event.get("model"), str):
                self.model = event["model"] or None
            elif subtype == "thinking_tokens":  # thinking the stream does not show
                with self._lock:
                    self._thinking += _int(event.get("estimated_tokens_delta"))
            return
        if kind != "assistant":
            return
        message = event.get("message")
        if not isinstance(message, dict):
            return
        usage = message.get("usage")
        if not isinstance(usage, dict):
            return
        key = str(message.get("id") or f"line-{len(self._messages)}")
        tokens = Tokens(_int(usage.get("input_tokens")), _int(usage.get("output_tokens")),
                        _int(usage.get("cache_creation_input_tokens")),
                        _int(usage.get("cache_read_input_tokens")))
        with self._lock:
            if self.model is None and isinstance(message.get("model"), str):
                self.model = message["model"]
            seen = self._messages.get(key)
            self._messages[key] = tokens if seen is None else seen.most(tokens)
            self._chars[key] = self._chars.get(key, 0) + _content_chars(message.get("content"))

    def settle(self, usage: object) -> None:
        """The CLI's own sum at its end (a `usage` object of the API's fields), which
        outranks the sum of the stream's lines."""
        if not isinstance(usage, dict):
            return
        tokens = Tokens(_int(usage.get("input_tokens")), _int(usage.get("output_tokens")),
                        _int(usage.get("cache_creation_input_tokens")),
                        _int(usage.get("cache_read_input_tokens")))
        if tokens != Tokens():
            with self._lock:
                self._settled = tokens

    @property
    def seen(self) -> bool:
        """Whether the stream carried any usage at all."""
        return bool(self._messages) or self._settled is not None

    def total(self) -> Tokens:
        """Every message's tokens added up (output at least the content's length / 4, and
        the thinking the CLI estimated)."""
        with self._lock:
            if self._settled is not None:
                return self._settled
            items = [(t, self._chars.get(k, 0)) for k, t in self._messages.items()]
            thinking = self._thinking
        total = Tokens(output=thinking)
        for tokens, chars in items:
            total = Tokens(total.input + tokens.input,
                           total.output + max(tokens.output, chars // CHARS_PER_TOKEN),
                           total.cache_write + tokens.cache_write,
                           total.cache_read + tokens.cache_read)
        return total

    def add(self, tokens: Tokens, model: str | None = None) -> None:
        """Tokens a CLI reported as a sum (codex's turn, gemini's result, opencode's step),
        not per message."""
        with self._lock:
            key = f"sum-{len(self._messages)}"
            self._messages[key] = tokens
            if model and self.model is None:
                self.model = model

    def cost_usd(self) -> float | None:
        """What the tokens so far cost at the agent's price, else the model's; None when
        no usage was seen."""
        if not self.seen:
            return None
        t = self.total()
        price = self.price or price_of(self.model)[0]
        return price.cost(t.input, t.output, t.cache_write, t.cache_read)


def tool_error(event: dict[str, Any]) -> tuple[bool, str | None] | None:
    """For a `user` line carrying tool results: (whether any failed, the last failure's
    words); None for any other line."""
    if event.get("type") != "user":
        return None
    message = event.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return None
    results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
    if not results:
        return None
    failed = [b for b in results if b.get("is_error")]
    if not failed:
        return False, None
    said = failed[-1].get("content")
    if isinstance(said, list):
        said = " ".join(str(c.get("text", "")) for c in said if isinstance(c, dict))
    return True, " ".join(str(said or "a tool failed").split())


def denials(final: dict[str, Any] | None) -> list[str]:
    """The result line's `permission_denials`, each as `Write /path/to/file`."""
    found = (final or {}).get("permission_denials")
    if not isinstance(found, list):
        return []
    said = []
    for denial in found:
        if not isinstance(denial, dict):
            continue
        name = str(denial.get("tool_name") or "a tool")
        args = denial.get("tool_input")
        what = ""
        if isinstance(args, dict):
            for key in ("file_path", "path", "command", "url", "pattern"):
                if isinstance(args.get(key), str):
                    what = args[key]
                    break
        said.append(f"{name} {what}".strip())
    return said
