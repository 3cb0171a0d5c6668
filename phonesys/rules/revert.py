"""Reverting a completed template: which of the extensions it made may be removed, and why not.

An extension is removed only while it is exactly what the template made: nothing recorded in the
audit log has touched it since, and its key, user, number and add-ons are still the ones the
template's row gave it (which also catches a change made outside phonesys). Anything else is kept
and named with what changed, when and by whom (``changed-since``); an extension deleted by hand
before the revert is ``extension-not-found``, nothing left to remove.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from phonesys.rules.audit import change_summary
from phonesys.rules.errors import Problem
from phonesys.rules.rollback import CHANGED_SINCE

COMPARED = ("key", "user", "number", "addons")  # what the template's row decided
Verdict = Literal["remove", "kept", "gone"]


@dataclass(frozen=True)
class LaterChange:
    """The newest audit event on the extension after the template made it."""

    at: str
    actor: str
    action: str


@dataclass(frozen=True)
class MadeExtension:
    """One extension a template made: as its row made it, as it is now (None: deleted), and the
    newest change the audit log has of it since."""

    extension_id: int
    ext_key: str
    made: Mapping[str, Any]
    now: Mapping[str, Any] | None
    later: LaterChange | None


def revert_verdict(ext: MadeExtension) -> tuple[Verdict, Problem | None]:
    """Remove it, keep it (with why), or note that it is gone already."""
    if ext.now is None:
        return "gone", Problem("extension-not-found", f"Extension {ext.ext_key} was deleted since the template "
                               "made it; nothing is left to remove.", "key", ext.ext_key)
    differs = {k: ext.made.get(k) for k in COMPARED if _norm(ext.made.get(k)) != _norm(ext.now.get(k))}
    if ext.later is None and not differs:
        return "remove", None
    what = change_summary({k: ext.made.get(k) for k in differs}, {k: ext.now.get(k) for k in differs})
    who = (f" by {ext.later.actor} ({ext.later.action}) at {ext.later.at[:19]} UTC" if ext.later
           else " outside phonesys")
    return "kept", Problem(CHANGED_SINCE, f"Extension {ext.ext_key} was changed since the template made it"
                           f"{who}{': ' + what if differs else ''}; it is kept.", "key", str(ext.now.get("key")))


def _norm(value: Any) -> Any:
    return sorted(value) if isinstance(value, list) else value
