"""The audit log's vocabulary: what an actor is, which actions are recorded, what a target is.

An action is ``area.verb`` (``ext.set-number``); its meaning is in the code table (``codes.AUDIT``), so
the README lists every action a reader of ``phonesys audit`` can meet. Actors are prefixed by the door
they came through: ``cli:alice`` (or ``PHONESYS_ACTOR``), ``token:<name>`` (HTTP API),
``dropfolder:<request key>``; a template's bulk rows are recorded as whoever started it.
"""

from __future__ import annotations

import getpass
from datetime import UTC, date, datetime
from typing import Any, Literal

from phonesys.rules.errors import Problem, Refused
from phonesys.rules.limits import AUDIT_ACTOR_MAX

TargetType = Literal["extension", "organization", "users", "template", "token", "audit"]
Outcome = Literal["ok", "refused", "denied"]
SYSTEM_ACTOR = "system"  # library calls no door named (tests, migrations)


def cli_actor(configured: str | None) -> str:
    """``PHONESYS_ACTOR`` when set (a script acting for someone), else ``cli:<login user>``."""
    if configured:
        return configured[:AUDIT_ACTOR_MAX]
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        login = "unknown"
    return f"cli:{login}"[:AUDIT_ACTOR_MAX]


def token_actor(token_name: str) -> str:
    return f"token:{token_name}"[:AUDIT_ACTOR_MAX]


def dropfolder_actor(request_key: str) -> str:
    return f"dropfolder:{request_key}"[:AUDIT_ACTOR_MAX]


def change_summary(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """``number: - -> +6560000001``: the fields that differ; everything, for a creation or a removal."""
    if before is None or after is None:
        shown = after if before is None else before
        verb = "" if before is None else "was "
        return verb + ", ".join(f"{k}={_short(v)}" for k, v in (shown or {}).items() if v not in (None, [], ""))
    keys = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    return ", ".join(f"{k}: {_short(before.get(k))} -> {_short(after.get(k))}" for k in keys) or "no change"


def _short(value: Any) -> str:
    if value is None or value == []:
        return "-"
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def parse_when(text: str | None, option: str) -> datetime | None:
    """``--since``/``--until`` (and the API's ``since``/``until``): a UTC date or date-time."""
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text) if "T" in text or " " in text else datetime.combine(
            date.fromisoformat(text), datetime.min.time())
    except ValueError:
        raise Refused(Problem("when-invalid", f"--{option} {text!r} is not a date (2026-12-01) or date-time "
                                              "(2026-12-01T09:30)", field=option)) from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
