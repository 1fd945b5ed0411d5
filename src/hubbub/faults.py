"""Crash and pause points: named places where a process can be made to die, or to stop and wait for a
`kill -9`, so tests can prove that work interrupted there (a batch half-written, a reply half-delivered)
is neither lost nor done twice.

- `HUBBUB_CRASH_AT=name`: the process dies at that point with `os._exit` (no cleanup, no `finally`, no
  flush: what a `kill -9` or a lost machine does).
- `HUBBUB_PAUSE_AT=name,name2` with `HUBBUB_PAUSE_DIR=dir`: the first thread to reach each named point
  writes `dir/<name>.<pid>` and then sleeps for good, holding whatever it holds (an open transaction, a
  claimed reply), so a test can send a real SIGKILL at a known moment. Later arrivals pass, so the
  process's other threads go on working until it is killed.

Unset in production, a point costs one comparison.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

_CRASH_AT = os.environ.get("HUBBUB_CRASH_AT", "")
_PAUSE_AT = frozenset(filter(None, os.environ.get("HUBBUB_PAUSE_AT", "").split(",")))
CRASH_EXIT_CODE = 137  # what a shell reports for a process killed by SIGKILL

_paused: set[str] = set()
_lock = threading.Lock()


def crash_point(name: str) -> None:
    if _CRASH_AT and _CRASH_AT == name:
        os._exit(CRASH_EXIT_CODE)
    if _PAUSE_AT and name in _PAUSE_AT:
        _pause(name)


def _pause(name: str) -> None:
    with _lock:
        if name in _paused:
            return
        _paused.add(name)
    marker = Path(os.environ.get("HUBBUB_PAUSE_DIR", ".")) / f"{name}.{os.getpid()}"
    marker.write_text(str(os.getpid()))
    while True:  # until the test kills the process
        time.sleep(3600)
