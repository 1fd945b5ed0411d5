"""Crash points: named places where a process can be made to die on purpose, so tests can prove that work
interrupted there (a reply half-delivered, say) is neither lost nor done twice.

A process dies at the point named by `HUBBUB_CRASH_AT` with `os._exit` (no cleanup, no `finally`, no
flush: what a `kill -9` or a lost machine does). Unset in production, a crash point costs one comparison.
"""

from __future__ import annotations

import os

_CRASH_AT = os.environ.get("HUBBUB_CRASH_AT", "")
CRASH_EXIT_CODE = 137  # what a shell reports for a process killed by SIGKILL


def crash_point(name: str) -> None:
    if _CRASH_AT and _CRASH_AT == name:
        os._exit(CRASH_EXIT_CODE)
