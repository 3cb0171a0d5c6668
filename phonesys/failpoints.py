"""Named places where a test can freeze a process to kill it there (crash tests, nothing else).

Set ``PHONESYS_FAILPOINT=NAME`` (or ``NAME:N`` for the N-th time it is reached) and the process
prints ``FAILPOINT NAME pid PID`` on stderr and sleeps, so the test can SIGKILL it at exactly that
point (the pid finds a process someone else started, such as a served flow run), or, with
``PHONESYS_FAILPOINT_GO=PATH``, only until that file exists, so the test can change the world there
(stop a server) and let the process go on. ``PHONESYS_FAILPOINT_SECONDS`` shortens the sleep
(default an hour), for a test that needs a run to stay busy for a while and then go on. Unset, a
failpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter

_hits: Counter[str] = Counter()


def failpoint(name: str) -> None:
    wanted = os.environ.get("PHONESYS_FAILPOINT")
    if not wanted:
        return
    target, _, nth = wanted.partition(":")
    if target != name:
        return
    _hits[name] += 1
    if _hits[name] == int(nth or 1):
        sys.stderr.write(f"FAILPOINT {name} pid {os.getpid()}\n")
        sys.stderr.flush()
        limit = float(os.environ.get("PHONESYS_FAILPOINT_SECONDS") or 3600)
        _pause(os.environ.get("PHONESYS_FAILPOINT_GO"), limit)


def _pause(go: str | None, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not (go and os.path.exists(go)):
        time.sleep(0.05)
