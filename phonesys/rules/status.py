"""What may be done to a bulk assignment template in each status (the seed's rules, in one table).

draft -> in_progress -> completed. A draft can be renamed, edited, filled, started, duplicated and deleted;
once started it is read-only (users and report visible); once completed the users view is replaced
by the report, and it may be reverted (``phonesys template revert``; the template stays completed and
the revert keeps its own state). Anything not listed is refused with the reason.
"""

from __future__ import annotations

from phonesys.rules.errors import Problem, Refused
from phonesys.rules.vocabulary import COMPLETED as COMPLETED
from phonesys.rules.vocabulary import DRAFT as DRAFT
from phonesys.rules.vocabulary import IN_PROGRESS as IN_PROGRESS
from phonesys.rules.vocabulary import TEMPLATE_STATUSES, TemplateStatus

STATUSES = TEMPLATE_STATUSES

ALLOWED: dict[TemplateStatus, frozenset[str]] = {
    DRAFT: frozenset({"show", "users", "rename", "set-addons", "upload", "start", "duplicate", "delete"}),
    IN_PROGRESS: frozenset({"show", "users", "report", "duplicate", "cancel"}),
    COMPLETED: frozenset({"show", "report", "duplicate", "revert"}),
}
ACTIONS = frozenset().union(*ALLOWED.values())


def require_allowed(template_uuid: str, status: TemplateStatus, action: str) -> None:
    """Refuse ``action`` unless the template's status allows it, saying which statuses would."""
    if action in ALLOWED[status]:
        return
    allowed_in = [s for s in STATUSES if action in ALLOWED[s]]
    raise Refused(Problem("template-action-not-allowed", f"Template {template_uuid} is {status}; "
                          f"'{action}' is allowed only when it is {' or '.join(allowed_in)}.",
                          "template", template_uuid))


# The actions the help page's Bulk Assignment list offers, in its order: Licenses (show), Users, Assign
# (start), Report, Duplicate, Delete; a status offers those its ALLOWED set holds.
LIST_ACTIONS: tuple[str, ...] = ("show", "users", "start", "report", "duplicate", "delete")


def allows(status: str, action: str) -> bool:
    """``require_allowed`` as a yes/no, for a status read back as text (a page greying out a button)."""
    return any(action in actions for known, actions in ALLOWED.items() if known == status)


def list_actions(status: str) -> tuple[str, ...]:
    """What a template's row in the console's list offers in ``status`` (cancel and revert stay CLI/API)."""
    return tuple(action for action in LIST_ACTIONS if allows(status, action))
