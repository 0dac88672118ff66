"""`orchestrate serve` as a real process on 127.0.0.1: the token rule for every kind of
request, a board per tab, a run from a browser board that outlives the tab and that every
board sees, `--host` beyond loopback warns, and Ctrl-C or SIGTERM end every board."""

from __future__ import annotations

import asyncio
import base64
import http.client
import os
import secrets
import signal
import socket
import subprocess
from pathlib import Path

import aiohttp
import pytest
from conftest import CLI_ENV, ORCHESTRATE
from engine_helpers import alive, make_project, ready, wait_for
from serving import Server, marked, open_tab, serving

from app.engine.project import Project
from app.engine.runlock import holder_pid

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")]


def request(server: Server, path: str, headers: dict[str, str] | None = None,
            ) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def upgrade(server: Server, path: str = "/ws?width=100&height=30",
            headers: dict[str, str] | None = None,
            ) -> tuple[int, http.client.HTTPConnection]:
    """A raw websocket upgrade request (what a browser sends); the connection stays open."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", path, headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(secrets.token_bytes(16)).decode(),
        **(headers or {})})
    return conn.getresponse().status, conn


def project_with_cards(tmp_path: Path) -> Project:
    return make_project(tmp_path / "p", [ready(title="Add login page"),
                                         {"title": "Rate-limit the API"}])


def test_every_request_needs_the_token(tmp_path: Path) -> None:
    with serving(project_with_cards(tmp_path)) as server:
        wrong = f"orchestrate_token_{server.port}={secrets.token_urlsafe(32)}"
        # Without the token, or with another: 403 for every kind of request.
        for path in ("/", "/static/js/textual.js", "/static/css/xterm.css", "/nowhere",
                     "/download/x", f"/?token={secrets.token_urlsafe(32)}", "/?token="):
            assert request(server, path).status == 403, path
            assert request(server, path, {"Cookie": wrong}).status == 403, path
        assert upgrade(server)[0] == 403
        assert upgrade(server, headers={"Cookie": wrong})[0] == 403
        assert upgrade(server, f"/ws?token={server.token[:-1]}")[0] == 403
        assert not marked(server.proc.pid)  # no board was started for any of them
        # The URL it printed: the page, and a cookie for the page's own requests.
        page = request(server, f"/?token={server.token}")
        assert page.status == 200
        cookie = page.headers["Set-Cookie"]
        assert cookie.startswith(server.cookie + ";")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert page.headers["Referrer-Policy"] == "no-referrer"
        for path in ("/", "/static/js/textual.js", "/static/css/xterm.css",
                     "/static/fonts/RobotoMono-VariableFont_wght.ttf"):
            assert request(server, path, {"Cookie": server.cookie}).status == 200, path
        assert request(server, "/nowhere", {"Cookie": server.cookie}).status == 404
        status, conn = upgrade(server, headers={"Cookie": server.cookie})
        assert status == 101
        conn.close()


def opened_from(server: Server, origin: str | None, host: str | None = None,
                ) -> tuple[int, str, http.client.HTTPConnection]:
    """A websocket upgrade with the token, as a page of `origin` sends it from a browser
    that addressed the server as `host` (its Host header); the connection stays open."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("GET", f"/ws?token={server.token}&width=100&height=30",
                    skip_host=host is not None)
    for name, value in {"Host": host, "Origin": origin, "Upgrade": "websocket",
                        "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                        "Sec-WebSocket-Key": base64.b64encode(secrets.token_bytes(16))
                        .decode()}.items():
        if value is not None:
            conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read().decode() if response.status != 101 else ""
    return response.status, body, conn


def test_a_websocket_from_another_site_is_refused(tmp_path: Path) -> None:
    with serving(project_with_cards(tmp_path)) as server:
        own = f"127.0.0.1:{server.port}"
        # Another site; this host on another port, scheme or name (the page builds its
        # websocket's URL from the address the browser used, so its own is always the
        # same); a sandboxed or file: page (`null`).
        for origin in ("http://evil.example", f"http://evil.example:{server.port}",
                       f"http://127.0.0.1:{server.port + 1}", f"https://{own}",
                       f"http://localhost:{server.port}", "null"):
            status, body, conn = opened_from(server, origin)
            conn.close()
            assert status == 403, origin
            assert body == ("403: the board opens only from its own page, not from a "
                            f"page of {origin}\n")
        # The page's own origin, but the browser addressed the server by another name.
        status, _, conn = opened_from(server, f"http://{own}",
                                      host=f"localhost:{server.port}")
        conn.close()
        assert status == 403
        assert not marked(server.proc.pid)  # no board was started for any of them


def test_a_websocket_from_the_page_itself_or_no_browser_is_accepted(
        tmp_path: Path) -> None:
    with serving(project_with_cards(tmp_path)) as server:
        port = server.port
        # The page's own origin: as the browser addressed the server (127.0.0.1, or any
        # name or address of this machine with --host 0.0.0.0, in any case; a default
        # port left out or written out); no Origin at all (curl, a test client).
        opened = [opened_from(server, origin, host)
                  for origin, host in ((f"http://127.0.0.1:{port}", None),
                                       (f"http://MyHost.lan:{port}", f"myhost.lan:{port}"),
                                       ("http://[::1]", "[::1]:80"),
                                       (None, None))]
        try:
            assert [status for status, _, _ in opened] == [101] * 4
            wait_for(lambda: len(marked(server.proc.pid)) == 4, timeout=20)  # 4 boards
        finally:
            for _, _, conn in opened:
                conn.close()


def test_the_page_asks_nothing_of_another_host(tmp_path: Path) -> None:
    with serving(project_with_cards(tmp_path)) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", f"/?token={server.token}")
        page = conn.getresponse().read().decode()
        conn.close()
    assert f'data-session-websocket-url="ws://127.0.0.1:{server.port}/ws"' in page
    assert "googleapis" not in page and "https://" not in page
    assert 'src="/static/js/textual.js"' in page


def test_a_tab_gets_a_board_and_ctrl_c_ends_every_board(tmp_path: Path) -> None:
    project = project_with_cards(tmp_path)

    async def two_tabs(server: Server) -> list[int]:
        async with aiohttp.ClientSession() as session:
            tabs = [await open_tab(session, server) for _ in range(2)]
            for tab in tabs:
                await tab.wait_screen("WRK-001", "Add login page", "WRK-002",
                                      "Rate-limit the API", "idle")
            boards = marked(server.proc.pid)
            assert [os.getsid(pid) for pid in boards] == boards  # sessions of their own
            server.proc.send_signal(signal.SIGINT)  # with both tabs still open
            await asyncio.to_thread(server.proc.wait, 20)
            return boards

    with serving(project) as server:
        boards = asyncio.run(two_tabs(server))
        assert len(boards) == 2, boards
        assert server.proc.returncode == 0, server.errors
        assert not [pid for pid in boards if alive(pid)]
        assert not marked(server.proc.pid)
        assert "stopped: every board has ended" in server.output()
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), 2):
            pass


def test_sigterm_ends_the_server_and_its_boards(tmp_path: Path) -> None:
    with serving(project_with_cards(tmp_path)) as server:
        status, conn = upgrade(server, headers={"Cookie": server.cookie})
        assert status == 101
        boards = wait_for(lambda: marked(server.proc.pid), timeout=10)
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=20) == 0
        conn.close()
        assert not [pid for pid in boards if alive(pid)]
        assert not marked(server.proc.pid)


def test_a_run_from_a_browser_board_is_detached_and_every_board_sees_it(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(title="Add login page")],
                           script={"prd": {"1": "hang"}})

    async def run_from_a_tab(server: Server) -> None:
        async with aiohttp.ClientSession() as session:
            first, second = await open_tab(session, server), await open_tab(session, server)
            for tab in (first, second):
                await tab.wait_screen("WRK-001", "idle")
            await first.press("r")
            pid = await asyncio.to_thread(wait_for, lambda: holder_pid(project), 20)
            for tab in (first, second):
                await tab.wait_screen(f"watching a run of pid {pid}")
            await first.ws.close()  # the tab that started it goes away

    with serving(project) as server:
        asyncio.run(run_from_a_tab(server))
        pid = holder_pid(project)
        assert pid and alive(pid)
        try:
            assert os.getsid(pid) == pid  # its own session: neither a tab nor the server's
            server.proc.send_signal(signal.SIGINT)
            assert server.proc.wait(timeout=20) == 0
            assert alive(pid) and holder_pid(project) == pid  # the run goes on
            assert list(project.logs_dir.glob("run-*.log"))
        finally:
            stop = subprocess.run([*ORCHESTRATE, "-C", str(project.root), "stop"],
                                  capture_output=True, text=True, timeout=60,
                                  env={**os.environ, **CLI_ENV})
            assert stop.returncode == 0, stop.stderr
        assert not alive(pid)


def test_a_read_only_board_refuses_the_run_key(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", [ready(title="Add login page")])

    async def press_r(server: Server) -> str:
        async with aiohttp.ClientSession() as session:
            tab = await open_tab(session, server)
            await tab.wait_screen("WRK-001", "idle", "read-only board: it shows")
            await tab.press("r")
            return await tab.wait_screen("read-only board: cannot run")

    with serving(project, "--read-only") as server:
        asyncio.run(press_r(server))
        assert holder_pid(project) is None
        assert not list(project.logs_dir.glob("run-*.log"))
    assert "read-only boards" in server.output()


def test_host_beyond_loopback_warns_what_it_exposes(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the warning comes first, then
    # listening fails, so nothing listens beyond 127.0.0.1.
    project = project_with_cards(tmp_path)
    out = subprocess.run([*ORCHESTRATE, "-C", str(project.root), "serve", "--host",
                          "192.0.2.1", "--port", "0"], capture_output=True, text=True,
                         timeout=30, env={**os.environ, **CLI_ENV})
    assert out.returncode == 1
    assert "warning: --host 192.0.2.1 serves the board beyond this machine" in out.stderr
    assert "anyone who can reach its port and has the URL can see the backlog" in out.stderr
    assert "change the backlog, and start agents that run on this machine as you" in out.stderr
    assert "--dangerously-skip-permissions" not in out.stderr  # the scripted agent's command
    assert "cannot listen on 192.0.2.1:0" in out.stderr
    assert "token=" not in out.stdout
