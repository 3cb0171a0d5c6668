"""The exception hierarchy of phonesys.

    PhonesysError
    ├── Refused            a request broke a business rule; carries every Problem found,
    │   │                  nothing was changed; never retried
    │   ├── NotFound       the org / extension / user named does not exist
    │   └── Conflict       the state changed under us (a key, user or number was taken)
    └── TransientError     the database or storage hiccupped; safe to retry the same call
        └── Busy           another job held the organization longer than this caller waits

Callers retry only ``TransientError``. A ``Refused`` is an answer, not a failure: the CLI prints
each problem on its own line and exits non-zero. ``Busy`` is both: tasks retry it, and a command
prints its problem (``org-busy``) and exits 75, "try again later".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: a stable kebab-case code plus a message saying how to fix it.

    ``field`` names the argument, document path or CSV column; ``row`` is the row number as a
    spreadsheet shows it (the header is row 1); ``file`` the input it came from.
    """

    code: str
    message: str
    field: str | None = None
    value: str | None = None
    row: int | None = None
    file: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def __str__(self) -> str:
        where = ":".join(str(part) for part in (self.file, self.row) if part is not None)
        return f"{where + ': ' if where else ''}{self.code}: {self.message}"


class PhonesysError(Exception):
    """Base of every error phonesys raises on purpose."""


class Refused(PhonesysError):
    """A request was refused as a whole; ``problems`` lists every reason at once."""

    def __init__(self, problems: list[Problem] | Problem, details: dict[str, Any] | None = None):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        self.details = details or {}  # extra facts for the caller, e.g. where an errors file went
        if not self.problems:
            raise ValueError("Refused needs at least one problem")
        super().__init__("; ".join(str(p) for p in self.problems))


class NotFound(Refused):
    """The organization, extension or user a request names does not exist (in that org)."""


class Conflict(Refused):
    """Someone else changed the inventory first: a key, user, number or license was taken."""


class TransientError(PhonesysError):
    """A temporary infrastructure failure (database busy or gone, storage timeout); retry it."""


def refuse_if(problems: list[Problem]) -> None:
    """Raise ``Refused`` with all collected problems, if there are any."""
    if problems:
        raise Refused(problems)


class Busy(TransientError):
    """A write gave up waiting for a lock another job holds (a bulk chunk, another command): nothing
    was changed, and the same call will work once that job lets go, so it is transient.

    ``org_uuid`` is the organization it waited for, when known. On SQLite the lock is the database
    file's one write lock, so the job holding it may be working on another organization.
    """

    def __init__(self, org_uuid: str | None, waited: float, sqlite: bool = False):
        self.org_uuid = org_uuid
        held = f"organization {org_uuid}" if org_uuid else "the inventory"
        lock = "SQLite's write lock, one writer at a time" if sqlite else "its lock"
        self.problem = Problem("org-busy", f"another job holds {held}, try again (waited {waited:g} s for "
                               f"{lock}; nothing was changed)", "org" if org_uuid else None, org_uuid)
        super().__init__(self.problem.message)
