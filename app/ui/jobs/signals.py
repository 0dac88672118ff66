"""Signals to the board's process: a hang-up or SIGTERM ends the board the way it ends
`orchestrate run` (app/cli/run.py), and SIGUSR1 pauses the board's own run.

SIGHUP (the terminal closed, the ssh connection dropped, `tmux kill-session`) and
SIGTERM (`orchestrate stop`, a board watching this one) ask our engine to stop: its
agent's process group gets TERM, then KILL after the kill grace, the attempt is recorded
as interrupted and the lock released. The board exits once the engine has ended, with
129 (SIGHUP) or 143 (SIGTERM), or after the kill grace and HANGUP_EXTRA_S at the latest.
A second signal skips the kill grace, as a second Ctrl-C does for the CLI.

After a hang-up the terminal is gone: a write to it fails (EIO), which would end
Textual's writer thread and then block the interface on its full queue. So the handler
first points stdout and stderr at /dev/null: the last frames and messages are written
into nothing instead. (Stdin is left alone: a hung-up terminal reads as end-of-file at
once, which Textual's input thread survives; a pipe in its place could block a read the
thread had already decided on, and hold the exit up.) Should the interface still get
stuck, a watchdog thread ends the process once the engine has finished (or the bound has
passed): an agent must never run on unsupervised, and the board must not outlive its
terminal.

The handlers are installed by `run_board` around `App.run` (never in tests that run the
App in pytest's own process) and act on the App through its event loop, woken with
`call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from app import exitcodes

EXIT_SIGNAL = {signal.SIGHUP: exitcodes.SIGHUP, signal.SIGTERM: exitcodes.SIGTERM}
"""Signals that end the board, and the exit code each gives (as `orchestrate run`)."""
HANGUP_EXTRA_S = 5.0
"""How long past the agent's kill grace the board waits for its engine to finish."""
WATCHDOG_EXTRA_S = 3.0
"""How long past that the watchdog lets the interface take to exit by itself."""


def detach_terminal() -> None:
    """The terminal hung up: stdout and stderr to /dev/null, so writes succeed into
    nothing instead of failing with EIO."""
    null = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            os.dup2(null, fd)
    os.close(null)


class BoardSignals:
    """The board process's handlers of SIGHUP, SIGTERM and SIGUSR1.

    `stop(code)`, `pause()` and `stop_again()` run in the App's event loop once it is
    attached; `wait_idle(timeout)` (any thread) returns once no engine of ours runs;
    `bound_s()` says how long the engine may take to end after a stop.
    """

    def __init__(self, *, stop: Callable[[int], None], pause: Callable[[], None],
                 stop_again: Callable[[], None], wait_idle: Callable[[float], None],
                 bound_s: Callable[[], float]) -> None:
        self._stop = stop
        self._pause = pause
        self._stop_again = stop_again
        self._wait_idle = wait_idle
        self._bound_s = bound_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[signal.Signals, Any] = {}
        self.received: signal.Signals | None = None
        """The first signal that ends the board, if any."""

    @property
    def exit_code(self) -> int | None:
        """The exit code the signal received asks for, if any."""
        return EXIT_SIGNAL[self.received] if self.received is not None else None

    def install(self) -> None:
        """Handle the signals (from now until `restore`)."""
        for signum in (*EXIT_SIGNAL, signal.SIGUSR1):
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        """Give the signals back to the handlers they had."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The App's event loop runs: act through it (and on a signal that came first)."""
        self._loop = loop
        if self.received is not None:
            code = EXIT_SIGNAL[self.received]
            loop.call_soon(self._stop, code)

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile: nothing to act on
                loop.call_soon_threadsafe(callback, *args)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        sig = signal.Signals(signum)
        if sig == signal.SIGUSR1:
            self._call(self._pause)
            return
        if sig == signal.SIGHUP:
            detach_terminal()
        if self.received is not None:
            self._call(self._stop_again)  # the second signal skips the kill grace
            return
        self.received = sig
        code = EXIT_SIGNAL[sig]
        threading.Thread(target=self._watchdog, args=(code,), name="hang-up watchdog",
                         daemon=True).start()
        self._call(self._stop, code)

    def _watchdog(self, code: int) -> None:
        """End the process if the interface has not, once the engine is done."""
        self._wait_idle(self._bound_s())
        time.sleep(WATCHDOG_EXTRA_S)
        os._exit(code)
