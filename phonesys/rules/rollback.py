"""What an all-or-nothing undo records on each row of the template, and why.

Under ``all-or-nothing`` one failed row fails the whole template: rows already assigned are rolled
back, rows never reached are not attempted, and a row whose extension was changed by hand since is
left alone and says so. Storage (``phonesys.storage.inventory.undo``) finds which row is which and
writes these to the ledger.
"""

from __future__ import annotations

from typing import Final

from phonesys.rules.errors import Problem

ROLLED_BACK: Final = "rolled-back"
NOT_ATTEMPTED: Final = "not-attempted"
CHANGED_SINCE: Final = "changed-since"
CANCELLED: Final = "template-cancelled"


def rolled_back(first_failed_row: int | None) -> Problem:
    return Problem(ROLLED_BACK, f"Rolled back: row {first_failed_row} failed and the policy is all-or-nothing.")


def not_attempted(first_failed_row: int | None) -> Problem:
    return Problem(NOT_ATTEMPTED, f"Not assigned: row {first_failed_row} failed and the policy is all-or-nothing.")


def changed_since(first_failed_row: int | None, key_now: str) -> Problem:
    return Problem(CHANGED_SINCE, f"Not rolled back: row {first_failed_row} failed, but this row's extension "
                   f"was changed since it was assigned (its key is now {key_now}); it is left as it is.")


def cancelled(actor: str) -> Problem:
    return Problem(CANCELLED, f"Not assigned: the template was cancelled by {actor} before this row's turn.")
