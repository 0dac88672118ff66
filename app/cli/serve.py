"""`orchestrate serve`: the board in a browser, private by default.

textual-serve (pinned, docs/DEPENDENCIES.md) serves a page whose terminal (xterm.js)
talks over a websocket to one board process per browser tab; its server is aiohttp.
Every tab here runs `python -m app -C <project> board --served [--read-only]`: a board
whose runs are detached (app/ui/served.py), since a tab may close at any moment. What
this module adds for a board that listens on a port:

- A secret token (`secrets.token_urlsafe`), printed once in the URL at start. An aiohttp
  middleware answers 403 to every request without it: the page, the websocket, static
  files, downloads, unknown paths. The first request with `?token=` sets it as a cookie
  (HttpOnly, SameSite=Strict), because the page's own requests (its script and styles,
  and the websocket, whose URL textual.js extends with a query of its own) carry no
  query of ours.
- A websocket opened by a page of another site is refused (403) before its board starts:
  its `Origin` must be the page's own, the scheme, host and port the browser addressed.
- Every board is started without a shell, in a session of its own, with a mark in its
  environment. Ctrl-C, SIGTERM or SIGHUP end them all: each is asked to quit, its
  group gets SIGTERM and then SIGKILL if it does not, and at the end whatever still
  carries the mark (a process a board started) is killed, except a detached run, which
  is meant to outlive the board.
- The page is textual-serve's with nothing asked of a third party (its own page loads a
  Google font, which would tell Google who opens the board) and no referrer; its
  websocket URL is built from the address the browser used, so `--host 0.0.0.0` works
  from another machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import ipaddress
import logging
import os
import secrets
import shlex
import signal
import socket
import sys
from asyncio.subprocess import PIPE, Process
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager
from textual_serve.server import Server, to_int

from app import exitcodes
from app.engine import fence
from app.engine.project import Project
from app.errors import OrchestrateError

DEFAULT_HOST = "127.0.0.1"
"""This machine only: another machine reaches the board only with `--host`."""
DEFAULT_PORT = 8000
TOKEN_PARAM = "token"
"""The URL's query parameter that carries the token (`/?token=…`)."""
MARK_VAR = "ORCHESTRATE_SERVED_BY"
"""In every board's environment: the server's mark, inherited by what a board starts."""
BOARD_QUIT_S = 3.0
"""How long a board has to quit when asked (its tab closed, the server stopping) before
SIGTERM to its group, and after that before SIGKILL."""
MAX_BOARDS = 16
"""Boards at once (a Python process each): a tab beyond them is refused with 503."""
PAGE = Path(__file__).with_name("serve.html")
"""The page: textual-serve's own, without its third-party font and referrer."""
DANGEROUS_FLAG = "--dangerously-skip-permissions"

log = logging.getLogger("orchestrate.serve")


def new_token() -> str:
    """The secret every request must carry (32 random bytes, URL-safe)."""
    return secrets.token_urlsafe(32)


def board_argv(project: Project, *, read_only: bool) -> list[str]:
    """The board one browser tab runs."""
    argv = [sys.executable, "-m", "app", "-C", str(project.root), "board", "--served"]
    return [*argv, "--read-only"] if read_only else argv


def is_loopback(host: str) -> bool:
    """Whether `host` keeps the server to this machine (a name other than localhost is
    taken as reaching further: it may resolve to any address)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, port: int, *, read_only: bool,
                     agent_command: Sequence[str]) -> str:
    """What `--host` other than loopback exposes, said before the server starts."""
    if read_only:
        can = ("see the backlog, every item's details and the agents' output (--read-only: "
               "nothing can be changed from a browser)")
    else:
        flag = f" with {DANGEROUS_FLAG}" if DANGEROUS_FLAG in agent_command else ""
        can = ("see the backlog and the agents' output, change the backlog, and start "
               f"agents that run on this machine as you{flag}; --read-only leaves them "
               "only looking")
    where = "every network this machine is on" if host in ("0.0.0.0", "::", "") else host
    reach = f"port {port}" if port else "its port"
    return (f"warning: --host {host} serves the board beyond this machine ({where}): anyone "
            f"who can reach {reach} and has the URL can {can}. The connection is plain "
            "HTTP: anyone on the way can read the token.")


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> tuple[str, str, int] | None:
    """`scheme://host[:port]` as (scheme, host in lower case, port), the default port
    filled in; None for what is no such origin (`null`, a bad port)."""
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.scheme, parts.hostname, port


def foreign_origin(request: web.Request) -> str | None:
    """The request's `Origin` when it is not the origin the browser addressed this server
    with (the request's scheme and its Host header: whatever name or address the browser
    used, also with `--host 0.0.0.0`, and 127.0.0.1 is not localhost, as for the
    browser). None when they match, or when there is no Origin (not a browser: curl, a
    test client), which the token alone guards as before."""
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    own = origin_of(f"{request.scheme}://{request.host}")
    given = origin_of(origin)
    return None if given is not None and given == own else origin


def board_url(host: str, port: int, token: str) -> str:
    """The URL printed at start, token included."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()  # the wildcard is no address to browse to
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/?{TOKEN_PARAM}={token}"


class BoardService(AppService):
    """One browser tab's board: started without a shell, in a session of its own (so it
    and what it starts in its group can be signalled together), with the server's mark
    in its environment."""

    def __init__(self, argv: list[str], mark: str, *,
                 write_bytes: Callable[[bytes], Awaitable[None]],
                 write_str: Callable[[str], Awaitable[None]],
                 close: Callable[[], Awaitable[None]],
                 download_manager: DownloadManager) -> None:
        super().__init__(shlex.join(argv), write_bytes=write_bytes, write_str=write_str,
                         close=close, download_manager=download_manager)
        self.argv = argv
        self.mark = mark

    # textual-serve's own opens `command` through a shell, in the server's process group.
    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        env = self._build_environment(width=width, height=height)
        env[MARK_VAR] = self.mark
        process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=env,
            start_new_session=True)
        assert process.stdin is not None
        self._process = process
        self._stdin = process.stdin
        return process

    async def end(self) -> None:
        """Ask the board to quit; if it does not, SIGTERM its group, then SIGKILL. Done
        within 4 x BOARD_QUIT_S whatever the board does (safe to call twice)."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            await self.send_meta({"type": "quit"})
        for then in (signal.SIGTERM, signal.SIGKILL, None):
            try:
                await asyncio.wait_for(process.wait(), BOARD_QUIT_S)
                break
            except TimeoutError:
                # Only while it is not reaped: until then its pid names its group alone.
                if then is not None and process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, then)
        task, self._task = self._task, None
        if task is not None:  # reads the board's output until EOF
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, BOARD_QUIT_S)


class BoardServer(Server):
    """textual-serve's Server with the token, boards of our own, and an end."""

    def __init__(self, argv: list[str], *, host: str, port: int, token: str,
                 title: str) -> None:
        super().__init__(shlex.join(argv), host=host, port=port, title=title,
                         templates_path=PAGE.parent)
        self.argv = argv
        self.token = token
        self.mark = f"{os.getpid()}-{secrets.token_hex(8)}"
        """Marks this server's boards (and what they start) in their environment."""
        self.boards: set[BoardService] = set()
        self.sockets: set[web.WebSocketResponse] = set()
        self.cookie = f"orchestrate_token_{port}"
        """Cookies are shared by every port of a host: one name per server's port."""

    # --- the token ------------------------------------------------------------------------
    def allowed(self, request: web.Request) -> bool:
        """Whether the request carries the token, in its query or its cookie."""
        given = request.query.get(TOKEN_PARAM) or request.cookies.get(self.cookie) or ""
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()

        @web.middleware
        async def require_token(request: web.Request,
                                 handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                                 ) -> web.StreamResponse:
            # A browser lets any page open a websocket to any server, and sends the
            # page's origin with it: a page of another site that learned the URL (a
            # cross-site websocket hijacking) is refused here, before a board starts.
            if request.match_info.route.name == "websocket" and (
                    foreign := foreign_origin(request)) is not None:
                return web.Response(status=403, text="403: the board opens only from its "
                                    f"own page, not from a page of {foreign}\n")
            if not self.allowed(request):
                return web.Response(status=403, text="403: this board needs the token "
                                    "printed by `orchestrate serve` (open its URL)\n")
            response = await handler(request)
            if not response.prepared:  # a websocket has sent its headers already
                response.headers["Referrer-Policy"] = "no-referrer"
                if TOKEN_PARAM in request.query:
                    response.set_cookie(self.cookie, self.token, path="/", httponly=True,
                                        samesite="Strict")
            return response

        app.middlewares.append(require_token)
        return app

    # --- the page and the boards ----------------------------------------------------------
    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The page, its websocket at the address the browser used."""
        scheme = "wss" if request.secure else "ws"
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{scheme}://{request.host}/ws",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template(PAGE.name, request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One tab: its board, from the websocket's opening to its closing."""
        if len(self.boards) >= MAX_BOARDS:
            raise web.HTTPServiceUnavailable(text=f"{MAX_BOARDS} boards are open already\n")
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        board: BoardService | None = None
        try:
            await websocket.prepare(request)
            self.sockets.add(websocket)

            async def close() -> None:
                await websocket.close()

            board = BoardService(self.argv, self.mark, write_bytes=websocket.send_bytes,
                                 write_str=websocket.send_str, close=close,
                                 download_manager=self.download_manager)
            self.boards.add(board)
            await board.start(width, height)
            await self._process_messages(websocket, board)
        except asyncio.CancelledError:
            pass  # the server is stopping: on_shutdown ends the board
        except Exception as error:  # one tab's trouble never stops the server
            log.exception(error)
        finally:
            if board is not None:
                await board.end()
                self.boards.discard(board)
            self.sockets.discard(websocket)
            with contextlib.suppress(Exception):
                await websocket.close()
        return websocket

    async def on_startup(self, app: web.Application) -> None:
        """Said by `serve` itself once the port is open (textual-serve prints a logo)."""

    async def on_shutdown(self, app: web.Application) -> None:
        """Every board ends (asked, then TERM, then KILL), every websocket closes."""
        await asyncio.gather(*(board.end() for board in list(self.boards)))
        for websocket in list(self.sockets):
            with contextlib.suppress(Exception):
                await websocket.close()

    # --- running --------------------------------------------------------------------------
    async def run(self, announce: Callable[[int], None]) -> None:
        """Listen until SIGINT, SIGTERM or SIGHUP; then end every board."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        runner = web.AppRunner(await self._make_app(), handle_signals=False,
                               access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            try:
                await site.start()
            except OSError as exc:
                raise OrchestrateError(f"cannot listen on {self.host}:{self.port}: "
                                       f"{exc.strerror or exc}") from None
            port = runner.addresses[0][1]
            self.cookie = f"orchestrate_token_{port}"
            announce(port)
            await stop.wait()
        finally:
            await runner.cleanup()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    def leftovers(self) -> list[int]:
        """Processes that still carry this server's mark, but not a detached run's (it
        and its agents are meant to outlive the boards): ended with SIGKILL."""
        mark = f"{MARK_VAR}={self.mark}".encode()
        keep = f"{fence.KEEP_VAR}=1".encode()
        ended = []
        for proc in fence.processes():
            if proc.pid == os.getpid() or not proc.alive:
                continue
            try:
                environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if mark in environ and keep not in environ:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(proc.pid, signal.SIGKILL)
                    ended.append(proc.pid)
        return ended


def cmd_serve(args: argparse.Namespace, project: Project) -> int:
    """`orchestrate serve`: listen until Ctrl-C, then end every board it started."""
    host: str = args.host
    port: int = args.port
    read_only: bool = args.read_only
    if not 0 <= port <= 65535:
        raise OrchestrateError(f"--port {port}: a port is 0 to 65535 (0: any free one)")
    if not is_loopback(host):
        warning = exposure_warning(host, port, read_only=read_only,
                                   agent_command=project.config().agent.command)
        print(f"orchestrate: {warning}", file=sys.stderr, flush=True)
    token = new_token()
    server = BoardServer(board_argv(project, read_only=read_only), host=host, port=port,
                         token=token, title=f"orchestrate · {project.root.name}"
                         + (" · read-only" if read_only else ""))
    logging.basicConfig(level=logging.WARNING, format="orchestrate serve: %(message)s")

    def announce(bound: int) -> None:
        mode = "read-only boards" if read_only else "boards"
        print(f"serving {mode} of {project.root} (one per browser tab); open:\n\n"
              f"    {board_url(host, bound, token)}\n\n"
              "The token is the key: anyone with this URL can "
              f"{'see' if read_only else 'change'} the backlog. "
              "Ctrl-C stops the server and every board.", flush=True)

    try:
        asyncio.run(server.run(announce))
    finally:
        left = server.leftovers()
    if left:
        print(f"ended {len(left)} process(es) a board had left: pid "
              f"{', '.join(map(str, left))}", flush=True)
    print("stopped: every board has ended", flush=True)
    return exitcodes.OK
