"""`orchestrate mcp`: the backlog's tools (tools.py) and the items' change documents as an
MCP server over stdio, on the official SDK's `MCPServer` (mcp 2.x).

Which tools it offers depends on how it is started:

- by a person's agent (`claude mcp add orchestrate -- orchestrate mcp`): every tool;
- with `--read-only`: list_items, show_item and backlog_status only;
- as an attempt's own server (ORCHESTRATE_MCP_ITEM set, mcpattempt.py): the reading tools,
  and add_follow_up and block_item about that item only.

The documents of every item's change folder (PRD.md, SPEC.md, ...) are resources,
`orchestrate://items/WRK-001/documents/PRD.md`, listed and read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import Resource, ToolAnnotations

from app import __version__
from app.backlog.model import visible
from app.engine import changes
from app.engine.project import Project
from app.errors import OrchestrateError
from app.mcpserver.tools import DOCUMENT_URI, BacklogTools, document_uri

READING = ("list_items", "show_item", "backlog_status")
WRITING = ("add_item", "edit_item", "move_item", "advance_item", "unblock_item",
           "block_item", "add_follow_up")
INSTRUCTIONS = (
    "The backlog of the software project in {root} (orchestrate's BACKLOG.yaml): items "
    "with an id (WRK-001), a title, a status (new, scoped, researching, ready, "
    "in_progress, to_review, approved, done, blocked) and, in progress, a phase (prd, "
    "research, design, spec, build, review). Read with list_items, show_item and "
    "backlog_status; the documents of an item's change folder are resources. {writes}")
WRITES = {
    "all": "Every change is checked, written under the store's lock and recorded: the "
           "person takes it back with `orchestrate undo`.",
    "read-only": "This server is read-only: it changes nothing.",
    "scoped": "This server works for one attempt at {item}: add_follow_up records new work "
              "found, block_item asks a person a question about {item}; it changes "
              "nothing else.",
}


def refusals(tool: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """The tool with every refusal (OrchestrateError) as a tool error the agent reads
    (isError), never a crash; the signature is kept for the schema."""

    @functools.wraps(tool)
    def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return tool(*args, **kwargs)
        except OrchestrateError as exc:
            raise ToolError(visible(str(exc))) from None

    return call


class OrchestrateServer(MCPServer[Any]):
    """The server over one project; its resources are the items' documents as they are
    when asked."""

    def __init__(self, project: Project, *, read_only: bool = False) -> None:
        self.tools = BacklogTools.from_environment(project)
        scope = self.tools.scope
        mode = "read-only" if read_only else "scoped" if scope else "all"
        super().__init__("orchestrate", version=__version__, log_level="WARNING",
                         instructions=INSTRUCTIONS.format(
                             root=project.root, writes=WRITES[mode].format(item=scope)))
        self.project = project
        self.mode = mode
        for name in READING:
            self._add(name, getattr(self.tools, name), read=True)
        if mode == "all":
            for name in WRITING:
                self._add(name, getattr(self.tools, name), read=False)
        elif mode == "scoped":
            self._add("add_follow_up", self.tools.scoped_follow_up, read=False)
            self._add("block_item", self.tools.scoped_block, read=False)
        self.resource(DOCUMENT_URI, name="document", mime_type="text/markdown",
                      description="a document of an item's change folder (PRD.md, "
                                  "RESEARCH.md, DESIGN.md, SPEC.md, REVIEW.md, ...)")(
            self.read_document)

    def _add(self, name: str, method: Callable[..., dict[str, Any]], *, read: bool) -> None:
        self.add_tool(refusals(method), name=name, structured_output=False,
                      annotations=ToolAnnotations(read_only_hint=read,
                                                  destructive_hint=False,
                                                  open_world_hint=False))

    async def list_resources(self) -> list[Resource]:
        """Every document of every item's change folder (in its lane while it has one)."""
        listed = await super().list_resources()
        for item in self.project.store().load().items:
            folder = changes.change_folder(self.project.root, item)
            if not folder.is_dir():
                continue
            for name in changes.document_names(folder):
                listed.append(Resource(uri=document_uri(item.id, name),
                                       name=f"{item.id} {name}", mime_type="text/markdown",
                                       description=f"{name} of {item.id}: "
                                                   f"{visible(item.title, one_line=True)}"))
        return listed

    def read_document(self, item_id: str, name: str) -> str:
        """One document's text; only a document the change folder lists is read."""
        try:
            item = self.project.store().load().get(item_id)
        except OrchestrateError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        folder = changes.change_folder(self.project.root, item)
        names = changes.document_names(folder)
        if name not in names:
            raise ResourceNotFoundError(
                f"{item.id} has no document {name!r}: it has "
                f"{', '.join(names) or 'none yet (its change folder is empty)'}")
        return (folder / name).read_text(encoding="utf-8", errors="replace")


def serve(project: Project, *, read_only: bool = False) -> int:
    """Serve over stdin/stdout until the client closes them."""
    OrchestrateServer(project, read_only=read_only).run("stdio")
    return 0
