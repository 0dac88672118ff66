"""The board in a real browser: headless Chromium (Debian's `chromium`, installed by .ci/run
where missing) opens the URL `orchestrate serve` printed, and its DevTools protocol
(over a websocket on 127.0.0.1, with aiohttp's client: no new dependency) tells what the
page did: the board's cards reached its terminal, nothing was asked of another host, the
token is out of the page's reach, and a screenshot of it is taken
(`SERVE_SCREENSHOT=path.png` keeps a copy to look at).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from engine_helpers import make_project, ready
from serving import Server, marked, screen_lines, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium "
                                 "(apt-get install chromium; .ci/run installs it)")]

WIDTH, HEIGHT = 1400, 900
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage",  # containers give /dev/shm 64 MB
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         # Belt and braces: no name but 127.0.0.1 resolves, whatever the page asks for.
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
         f"--window-size={WIDTH},{HEIGHT}"]
DEVTOOLS = re.compile(r"DevTools listening on (ws://127\.0\.0\.1:\d+/\S+)")


class DevTools:
    """One page of a Chromium, driven over its DevTools protocol (flat sessions)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.session: str | None = None
        self.events: list[dict[str, Any]] = []
        """Every event the page sent so far."""

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        await self.ws.send_str(json.dumps(message))
        while True:
            reply = json.loads((await self.ws.receive(timeout=30)).data)
            if reply.get("id") == call_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    async def pump(self, seconds: float) -> None:
        """Take the events that arrive within `seconds`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await self.ws.receive(timeout=left)
            except TimeoutError:
                return
            self.events.append(json.loads(message.data))

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression,
                                 returnByValue=True)
        return result["result"].get("value")

    def terminal_screen(self) -> str:
        """What the page's terminal shows: the board's output its websocket brought,
        drawn on a screen of the size the page asked the board for."""
        data = b"".join(base64.b64decode(e["params"]["response"]["payloadData"])
                        for e in self.events
                        if e.get("method") == "Network.webSocketFrameReceived"
                        and e["params"]["response"]["opcode"] == 2)
        created = [e["params"]["url"] for e in self.events
                   if e.get("method") == "Network.webSocketCreated"]
        if not created:
            return ""
        size = dict(parse_qsl(urlsplit(created[-1]).query))
        return "\n".join(screen_lines(data, int(size["width"]), int(size["height"])))

    def requested(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]


def start_chromium(profile: Path) -> tuple[subprocess.Popen[str], str]:
    """Chromium with a fresh profile; its DevTools websocket URL."""
    assert CHROMIUM is not None
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if match := DEVTOOLS.search(line):
            return proc, match[1]
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("chromium did not start: " + "".join(seen))


async def load_the_board(server: Server, endpoint: str, shot: Path) -> DevTools:
    async with aiohttp.ClientSession() as session, \
            session.ws_connect(endpoint, max_msg_size=0) as ws:
        browser = DevTools(ws)
        target = await browser.call("Target.createTarget", url="about:blank")
        attached = await browser.call("Target.attachToTarget", targetId=target["targetId"],
                                      flatten=True)
        page = browser
        page.session = attached["sessionId"]
        await page.call("Network.enable")
        await page.call("Page.enable")
        await page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                        deviceScaleFactor=1, mobile=False)
        await page.call("Page.navigate", url=server.url)
        deadline = time.monotonic() + 25
        screen = ""
        while time.monotonic() < deadline:
            await page.pump(0.5)
            screen = page.terminal_screen()
            if all(t in screen for t in ("WRK-001", "Add login page", "WRK-002", "idle")):
                break
        else:
            raise AssertionError(f"the board never reached the page; its terminal:\n{screen}")
        # As a click on the page does: the terminal takes the keyboard, the board hears
        # that it has the focus (textual.js sends it) and its Footer shows the keys.
        await page.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        await page.pump(1.5)  # the terminal draws what it got; the fade-in ends (0.3 s)
        assert await page.evaluate("document.body.classList.contains('-first-byte')")
        picture = await page.call("Page.captureScreenshot", format="png")
        shot.write_bytes(base64.b64decode(picture["data"]))
        page.events.append({"method": "x-dom", "params": {
            "cookie": await page.evaluate("document.cookie"),
            "title": await page.evaluate("document.title"),
            "canvases": await page.evaluate("document.querySelectorAll('.xterm canvas')"
                                            ".length"),
            "closed": await page.evaluate("document.body.classList.contains('-closed')")}})
        return page


def test_the_board_renders_in_headless_chromium(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop", [ready(title="Add login page"),
                                               {"title": "Rate-limit the API"}])
    shot = tmp_path / "board.png"
    with serving(project) as server, \
            tempfile.TemporaryDirectory(prefix="orchestrate-chromium-") as profile:
        browser, endpoint = start_chromium(Path(profile))
        try:
            page = asyncio.run(load_the_board(server, endpoint, shot))
            boards = marked(server.proc.pid)
        finally:
            os.killpg(browser.pid, signal.SIGTERM)
            try:
                browser.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(browser.pid, signal.SIGKILL)
    if os.environ.get("SERVE_SCREENSHOT"):
        shutil.copy(shot, os.environ["SERVE_SCREENSHOT"])
    screen = page.terminal_screen()
    for shown in ("WRK-001", "Add login page", "WRK-002", "Rate-limit the API", "ready",
                  "idle", "2 items", "Run"):  # the cards, the header, the Footer's keys
        assert shown in screen, f"{shown!r} not on the page's terminal:\n{screen}"
    dom = next(e["params"] for e in page.events if e.get("method") == "x-dom")
    assert dom["cookie"] == ""  # HttpOnly: the page's scripts never see the token
    assert dom["title"] == "orchestrate · shop"
    assert dom["canvases"] >= 1 and not dom["closed"]
    requested = page.requested()
    assert requested and all(u.startswith(f"http://127.0.0.1:{server.port}/")
                             for u in requested), requested
    assert len(boards) == 1  # the tab's board, ended with the server
    assert shot.stat().st_size > 10_000  # a picture, not a blank page
