"""The words of bulk assignment, spelled once: policies, row statuses, template statuses and
number statuses, each a ``typing.Literal`` with its constants.

Every layer (storage's SQL and ledger writes, the flows, the CLI's options, the drop-folder
manifest) imports these instead of spelling the words, so a typo is a type error (mypy) rather than
a row that no query ever matches, and a new status is added in one place. Migrations keep their own
historical literals: they describe the schema as it was.
"""

from __future__ import annotations

from typing import Final, Literal

Policy = Literal["continue", "all-or-nothing"]
CONTINUE: Final = "continue"
ALL_OR_NOTHING: Final = "all-or-nothing"
POLICIES: Final[tuple[Policy, ...]] = (CONTINUE, ALL_OR_NOTHING)
DEFAULT_POLICY: Final[Policy] = CONTINUE

# A template row's ledger: pending -> assigned | failed (an all-or-nothing undo turns assigned into failed).
RowStatus = Literal["pending", "assigned", "failed"]
PENDING: Final = "pending"
ASSIGNED: Final = "assigned"
FAILED: Final = "failed"
ROW_STATUSES: Final[tuple[RowStatus, ...]] = (PENDING, ASSIGNED, FAILED)

# A template: draft -> in_progress -> completed (what each allows: phonesys.rules.status).
TemplateStatus = Literal["draft", "in_progress", "completed"]
DRAFT: Final = "draft"
IN_PROGRESS: Final = "in_progress"
COMPLETED: Final = "completed"
TEMPLATE_STATUSES: Final[tuple[TemplateStatus, ...]] = (DRAFT, IN_PROGRESS, COMPLETED)

# A revert of a completed template (the template stays completed; this says how far its undoing got),
# and its ledger: pending -> reverted | kept (changed since the template made it) | gone (deleted by hand).
RevertStatus = Literal["reverting", "reverted"]
REVERTING: Final = "reverting"
REVERTED: Final = "reverted"
RevertRowStatus = Literal["pending", "reverted", "kept", "gone"]
KEPT: Final = "kept"
GONE: Final = "gone"
REVERT_ROW_STATUSES: Final[tuple[RevertRowStatus, ...]] = (PENDING, REVERTED, KEPT, GONE)

# A number license: on an extension, held by an in-progress template's row, or free.
NumberStatus = Literal["available", "assigned", "held"]
NUMBER_AVAILABLE: Final = "available"
NUMBER_ASSIGNED: Final = "assigned"
NUMBER_HELD: Final = "held"
NUMBER_STATUSES: Final[tuple[NumberStatus, ...]] = (NUMBER_AVAILABLE, NUMBER_ASSIGNED, NUMBER_HELD)


def sql_text(word: str) -> str:
    """``word`` as a SQL string literal, for the few statements written as text (exports, views):
    the vocabulary's words hold no quote, so this is quoting, not escaping."""
    if "'" in word:
        raise ValueError(f"not a vocabulary word: {word!r}")
    return f"'{word}'"
