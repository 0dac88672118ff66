"""`orchestrate serve` as a real process for the e2e tests: start it on a free port of
127.0.0.1, read the URL it prints, open boards over its websocket, and find every process
it started (by the mark in their environment) to check that none is left behind."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from conftest import CLI_ENV, ORCHESTRATE

from app.engine.project import Project

URL = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]+)")
ANSI = re.compile(r"\x1b(\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)"
                  r"|[()][0-9A-Za-z]|[=>78])")
"""Escape sequences: CSI, OSC, character sets, keypad and cursor saving."""


@dataclass
class Server:
    """A running `orchestrate serve`."""

    proc: subprocess.Popen[str]
    port: int
    token: str
    lines: list[str] = field(default_factory=list)
    """Its stdout so far."""
    errors: list[str] = field(default_factory=list)
    """Its stderr so far."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/?token={self.token}"

    @property
    def cookie(self) -> str:
        return f"orchestrate_token_{self.port}={self.token}"

    def output(self) -> str:
        return "".join(self.lines)


def _collect(stream: object, into: list[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.append(line)


def start_serve(project: Project, *args: str) -> Server:
    """`orchestrate serve --port 0 ARGS`, once it has printed its URL."""
    proc = subprocess.Popen([*ORCHESTRATE, "-C", str(project.root), "serve", "--port", "0",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **CLI_ENV})
    lines: list[str] = []
    errors: list[str] = []
    threading.Thread(target=_collect, args=(proc.stdout, lines), daemon=True).start()
    threading.Thread(target=_collect, args=(proc.stderr, errors), daemon=True).start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        match = URL.search("".join(lines))
        if match:
            return Server(proc, int(match[1]), match[2], lines, errors)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"serve printed no URL: {''.join(lines)}{''.join(errors)}")


@contextmanager
def serving(project: Project, *args: str) -> Iterator[Server]:
    """A served project for the length of a test; the server and all its boards end."""
    server = start_serve(project, *args)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGINT)
            try:
                server.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.proc.kill()
        for pid in marked(server.proc.pid):  # never left to the next test
            os.kill(pid, signal.SIGKILL)


def marked(server_pid: int) -> list[int]:
    """Live processes carrying the mark of the server of `server_pid` (its boards and
    what they started), but not a detached run's (ORCHESTRATE_DETACHED=1)."""
    prefix = f"ORCHESTRATE_SERVED_BY={server_pid}-".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat[stat.rfind(")") + 2:].split()[0] == "Z":
            continue
        if any(v.startswith(prefix) for v in environ) \
                and b"ORCHESTRATE_DETACHED=1" not in environ:
            found.append(int(entry.name))
    return found


CURSOR = re.compile(r"\x1b\[(\d*)(?:;(\d*))?[Hf]")


def screen_lines(data: bytes, width: int, height: int) -> list[str]:
    """The screen a terminal stream leaves, as lines of text: the board draws by moving
    the cursor (CSI row;col H) and writing; every other sequence is dropped. Enough to
    read what is on screen now, which the whole stream's text is not once parts of the
    screen were drawn over."""
    grid = [[" "] * width for _ in range(height)]
    row = col = 0
    text = data.decode("utf-8", "replace")
    at = 0
    while at < len(text):
        if text[at] == "\x1b":
            move = CURSOR.match(text, at)
            if move:
                row, col = int(move[1] or 1) - 1, int(move[2] or 1) - 1
                at = move.end()
                continue
            other = ANSI.match(text, at)
            at = other.end() if other else at + 1
            continue
        char = text[at]
        at += 1
        if char == "\r":
            col = 0
        elif char == "\n":
            row += 1
        elif char >= " " and 0 <= row < height and 0 <= col < width:
            grid[row][col] = char
            col += 1
    return ["".join(line).rstrip() for line in grid]


class Tab:
    """One browser tab's websocket: its board's output, and keys sent to it."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, width: int, height: int) -> None:
        self.ws = ws
        self.data = b""
        self.width, self.height = width, height

    def screen(self) -> str:
        """What the tab's terminal shows now."""
        return "\n".join(screen_lines(self.data, self.width, self.height))

    async def wait_screen(self, *texts: str, timeout: float = 20.0) -> str:
        """Read the board's output until its screen shows every one of `texts`."""
        deadline = time.monotonic() + timeout
        while not all(t in self.screen() for t in texts):
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen never showed {texts}:\n{self.screen()}")
            await self.read(deadline)
        return self.screen()

    async def read(self, deadline: float) -> None:
        """Take the board's next output, if any comes before `deadline`."""
        try:
            message = await self.ws.receive(timeout=max(0.05, deadline - time.monotonic()))
        except TimeoutError:
            return
        if message.type == aiohttp.WSMsgType.BINARY:
            self.data += message.data
        elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                              aiohttp.WSMsgType.ERROR):
            raise AssertionError(f"the board's websocket closed; its screen:\n"
                                 f"{self.screen()}")

    async def press(self, *keys: str) -> None:
        for key in keys:
            await self.ws.send_json(["stdin", key])
            await asyncio.sleep(0.1)


async def open_tab(session: aiohttp.ClientSession, server: Server, width: int = 140,
                   height: int = 36) -> Tab:
    ws = await session.ws_connect(f"ws://127.0.0.1:{server.port}/ws?width={width}"
                                  f"&height={height}", headers={"Cookie": server.cookie})
    return Tab(ws, width, height)
