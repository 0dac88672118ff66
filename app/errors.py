"""Errors a person can act on: each carries a one-line message for the terminal."""

from __future__ import annotations

from app import exitcodes


class OrchestrateError(Exception):
    """A failure with a message meant for a person; the CLI prints it without a traceback."""

    exit_code: int = exitcodes.ERROR


class BacklogError(OrchestrateError):
    """BACKLOG.yaml is missing, unreadable or invalid; it is never overwritten while so."""


class ConfigError(OrchestrateError):
    """orchestrate.toml is invalid."""


class TransitionError(OrchestrateError):
    """An item was asked to move where the state machine does not allow."""


class UnknownItemError(OrchestrateError):
    """An id that names no item (the message suggests close ones)."""


class LockHeldError(OrchestrateError):
    """Another process holds the run lock."""

    exit_code = exitcodes.LOCK_HELD
