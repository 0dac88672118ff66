"""The board's jobs: one object per piece of work the main screen hands out.

Each job declares what it needs of the screen as a `typing.Protocol` in its own module
(a `Node` for workers, timers and messages, plus what it calls: `tell`, `set_run`, the
log pane, ...) and never imports the screens (an import-linter contract): the main
screen satisfies every one of those protocols and routes each message back to its job.
"""
