"""`run --cap N`: at most N attempts begin in a run.

Attempts are counted as they begin, not as they end: lanes starting together would all
pass the cap before any had ended. An attempt that met a usage limit is given back: it
repeats after the reset, and is not one.
"""

from __future__ import annotations

import threading


class AttemptCap:
    """The attempts a run may still begin (thread-safe); no cap: unbounded."""

    def __init__(self, cap: int | None) -> None:
        self.cap = cap
        self._begun = 0
        self._lock = threading.Lock()

    @property
    def reason(self) -> str:
        return f"cap reached ({self.cap} attempts)"

    def reached(self) -> bool:
        """Whether no attempt may begin any more (nothing is counted)."""
        with self._lock:
            return self.cap is not None and self._begun >= self.cap

    def take(self) -> bool:
        """Count one attempt beginning; False (and nothing counted) once the cap is reached."""
        with self._lock:
            if self.cap is not None and self._begun >= self.cap:
                return False
            self._begun += 1
            return True

    def give_back(self) -> None:
        """An attempt that met a usage limit is not one."""
        with self._lock:
            self._begun -= 1
