"""app/cli/serve.py without a server: what `--host` warns of, the URL, the board's command
line, the token check, the page, a board that will not quit; and the parts of
textual-serve it leans on (pinned exactly, docs/DEPENDENCIES.md), held to the names and
signatures it uses."""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import sys
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import make_mocked_request
from engine_helpers import alive, wait_for
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager
from textual_serve.server import Server

from app.cli import serve
from app.engine.project import Project

CLAUDE = ["claude", "-p", "{prompt}", "--dangerously-skip-permissions"]


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
    ("LOCALHOST", True), ("0.0.0.0", False), ("::", False), ("192.168.1.5", False),
    ("myhost.lan", False), ("", False)])
def test_only_loopback_keeps_the_board_to_this_machine(host: str, loopback: bool) -> None:
    assert serve.is_loopback(host) is loopback


def test_the_warning_says_who_can_do_what() -> None:
    text = serve.exposure_warning("0.0.0.0", 8000, read_only=False, agent_command=CLAUDE)
    assert text.startswith("warning: --host 0.0.0.0 serves the board beyond this machine "
                           "(every network this machine is on): anyone who can reach port "
                           "8000 and has the URL can see the backlog")
    assert "change the backlog, and start agents that run on this machine as you with " \
           "--dangerously-skip-permissions" in text
    assert "--read-only leaves them only looking" in text
    assert "plain HTTP" in text
    quiet = serve.exposure_warning("10.0.0.2", 8000, read_only=True, agent_command=CLAUDE)
    assert "(10.0.0.2)" in quiet and "nothing can be changed from a browser" in quiet
    assert "start agents" not in quiet


def test_the_url_holds_the_token_and_an_address_to_browse_to(monkeypatch: pytest.MonkeyPatch,
                                                            ) -> None:
    assert serve.board_url("127.0.0.1", 8000, "abc") == "http://127.0.0.1:8000/?token=abc"
    assert serve.board_url("::1", 8001, "abc") == "http://[::1]:8001/?token=abc"
    monkeypatch.setattr(socket, "gethostname", lambda: "desk")  # the module serve calls
    assert serve.board_url("0.0.0.0", 8000, "t") == "http://desk:8000/?token=t"


def test_tokens_are_long_and_new_each_time() -> None:
    tokens = {serve.new_token() for _ in range(20)}
    assert len(tokens) == 20 and all(len(t) >= 40 for t in tokens)


def test_each_tab_runs_a_served_board_of_the_project(tmp_path: Path) -> None:
    project = Project(tmp_path)
    argv = serve.board_argv(project, read_only=False)
    assert argv == [sys.executable, "-m", "app", "-C", str(tmp_path), "board", "--served"]
    assert serve.board_argv(project, read_only=True)[-1] == "--read-only"


def test_the_token_is_taken_from_the_query_or_this_ports_cookie() -> None:
    server = serve.BoardServer(["true"], host="127.0.0.1", port=8123, token="s3cret",
                               title="t")
    assert server.allowed(make_mocked_request("GET", "/?token=s3cret"))
    assert server.allowed(make_mocked_request(
        "GET", "/ws", headers={"Cookie": "orchestrate_token_8123=s3cret"}))
    assert not server.allowed(make_mocked_request("GET", "/"))
    assert not server.allowed(make_mocked_request("GET", "/?token=s3cre"))
    assert not server.allowed(make_mocked_request("GET", "/?token=s3cret2"))
    assert not server.allowed(make_mocked_request(  # another server's port
        "GET", "/", headers={"Cookie": "orchestrate_token_8000=s3cret"}))


def test_the_page_is_textual_serves_without_third_parties() -> None:
    page = serve.PAGE.read_text(encoding="utf-8")
    assert "googleapis" not in page and "https://" not in page
    assert '<meta name="referrer" content="no-referrer" />' in page
    assert 'data-session-websocket-url="{{ app_websocket_url }}"' in page
    assert "{{ config.static.url }}js/textual.js" in page
    import textual_serve
    original = Path(textual_serve.__file__).parent / "templates" / "app_index.html"
    assert 'id="terminal"' in original.read_text() and 'id="terminal"' in page


def test_the_textual_serve_parts_serve_py_leans_on() -> None:
    """textual-serve 1.1.3's internals that app/cli/serve.py overrides or calls: a new
    release that changes one fails here first (docs/DEPENDENCIES.md)."""
    from importlib.metadata import version
    assert version("textual-serve") == "1.1.3"
    params = list(inspect.signature(AppService._open_app_process).parameters)
    assert params == ["self", "width", "height"]
    assert list(inspect.signature(AppService._build_environment).parameters) == [
        "self", "width", "height"]
    start = inspect.getsource(AppService.start)
    assert "self._open_app_process(width, height)" in start and "self._task" in start
    assert "self._stdin" in inspect.getsource(AppService)  # its stdin property reads it
    assert "stdin = self.stdin" in inspect.getsource(AppService.send_meta)
    assert list(inspect.signature(AppService.__init__).parameters) == [
        "self", "command", "write_bytes", "write_str", "close", "download_manager", "debug"]
    assert list(inspect.signature(Server._process_messages).parameters) == [
        "self", "websocket", "app_service"]
    make_app = inspect.getsource(Server._make_app)
    for route in ("self.handle_index", "self.handle_websocket", "self.on_startup",
                  "self.on_shutdown", "self.templates_path"):
        assert route in make_app, route
    assert "templates_path" in inspect.signature(Server.__init__).parameters


STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
                          "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                          "time.sleep(60)"])
with open(sys.argv[1], "w") as out:
    out.write(f"{os.getpid()} {child.pid}")
time.sleep(60)
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_board_that_will_not_quit_is_killed_with_its_group(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve, "BOARD_QUIT_S", 0.3)
    pids = tmp_path / "pids"

    async def nothing(*args: object) -> None:
        pass

    async def scenario() -> tuple[int, int, float, bytes]:
        board = serve.BoardService([sys.executable, "-c", STUBBORN, str(pids)], "m-1",
                                   write_bytes=nothing, write_str=nothing, close=nothing,
                                   download_manager=DownloadManager())
        await board.start(80, 24)
        await asyncio.to_thread(wait_for, lambda: pids.exists() and pids.read_text())
        pid, child = map(int, pids.read_text().split())
        assert os.getsid(pid) == pid and os.getpgid(child) == pid  # its own group
        environ = Path(f"/proc/{child}/environ").read_bytes()
        started = time.monotonic()
        await board.end()  # asked, deaf to SIGTERM: killed
        await board.end()  # and once more, as the websocket's end and the server's may
        return pid, child, time.monotonic() - started, environ

    pid, child, took, environ = asyncio.run(scenario())
    assert not alive(pid)
    wait_for(lambda: not alive(child), timeout=5)  # SIGKILL went to the whole group
    assert took < 4 * 0.3 + 1
    assert b"ORCHESTRATE_SERVED_BY=m-1" in environ.split(b"\0")
