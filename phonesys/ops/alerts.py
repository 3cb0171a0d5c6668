"""Alerts for ops: Prefect automations that notify a webhook when something needs a human.

Three rules, created (or brought up to date) through the Prefect API by ``phonesys alerts setup``,
so running it again after an upgrade changes them in place instead of adding copies:

- a drop-folder request was rejected (event ``phonesys.request.rejected``);
- a bulk run ended with failed rows (``phonesys.template.partially-completed`` or
  ``phonesys.template.failed``);
- a phonesys flow run (tag ``phonesys``) ended Failed or Crashed; a run whose process was killed
  outright is set Crashed by the heartbeat automation (``phonesys.ops.heartbeats``), which setup
  creates as well.

Each sends through one notification block, ``phonesys-alerts``: a generic JSON webhook (``custom``,
the default: ``{"subject": ..., "body": ...}``), a Slack incoming webhook (``slack``) or a Microsoft
Teams workflow webhook (``teams``). The body names the resource, every related resource (the
organization, the template) and the event's payload (the counts, the codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from phonesys.rules.errors import Problem, Refused

if TYPE_CHECKING:
    from prefect.blocks.abstract import NotificationBlock
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.events.schemas.automations import AutomationCore

BLOCK_NAME = "phonesys-alerts"
WEBHOOK_URL_ENV = "PHONESYS_ALERT_WEBHOOK_URL"
WebhookKind = Literal["custom", "slack", "teams"]

_BODY = ("{{ event.event }} at {{ event.occurred }}\n"
         "resource: {{ event.resource.id }} {{ event.resource.get('prefect.resource.name', '') }}\n"
         "{% for related in event.related %}{{ related.role }}: {{ related.id }} "
         "{{ related.get('prefect.resource.name', '') }}\n{% endfor %}"
         "details: {{ event.payload | tojson }}")


@dataclass(frozen=True)
class AlertRule:
    """One automation: which events fire it (optionally only for resources tagged ``tag``)."""

    name: str
    description: str
    events: frozenset[str]
    resource: str
    subject: str
    tag: str | None = None


RULES = (
    AlertRule("phonesys: drop-folder request rejected", "A request in the drop folder was rejected; "
              "its status.json in rejected/ says why.", frozenset({"phonesys.request.rejected"}),
              "phonesys.request.*", "phonesys: request {{ event.resource.id }} rejected"),
    AlertRule("phonesys: bulk assignment rows failed", "A bulk assignment ended with failed rows (or "
              "was undone under all-or-nothing); `phonesys template report` lists them.",
              frozenset({"phonesys.template.partially-completed", "phonesys.template.failed"}),
              "phonesys.template.*", "phonesys: {{ event.event }} for {{ event.resource.id }}"),
    AlertRule("phonesys: flow run failed or crashed", "A phonesys flow run ended Failed or Crashed; "
              "resume it (`phonesys template start TEMPLATE --resume`) once the cause is fixed.",
              frozenset({"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}), "prefect.flow-run.*",
              "phonesys: flow run {{ event.resource.get('prefect.resource.name', '') }} {{ event.event }}",
              tag="phonesys"),
)


def notification_block(kind: WebhookKind, url: str) -> NotificationBlock:
    """The Prefect notification block for ``kind``, pointing at ``url``."""
    from prefect.blocks.notifications import (
        CustomWebhookNotificationBlock,
        MicrosoftTeamsWebhook,
        SlackWebhook,
    )

    if kind == "slack":
        return SlackWebhook(url=url)
    if kind == "teams":
        return MicrosoftTeamsWebhook(url=url)
    return CustomWebhookNotificationBlock(name=BLOCK_NAME, url=url, method="POST",
                                          json_data={"subject": "{{subject}}", "body": "{{body}}"})


def check_url(url: str | None) -> str:
    if not url or not url.startswith(("http://", "https://")):
        raise Refused(Problem("alert-webhook-url-invalid", f"Give the webhook URL with --webhook-url or "
                              f"{WEBHOOK_URL_ENV} (http:// or https://).", "webhook_url", url or ""))
    return url


def setup_alerts(url: str, kind: WebhookKind = "custom", crash_after: timedelta | None = None) -> dict[str, object]:
    """Save the notification block and create or update the three automations, plus the one that
    marks a run Crashed when its heartbeat stops (``crash_after``, default 90 s), so a killed run
    fires the failed-or-crashed alert too; returns their ids.

    Idempotent: automations are found by name, updated in place, and extra copies (left by hand or
    by an older version) are deleted, so there is always exactly one of each."""
    from prefect.client.orchestration import get_client

    from phonesys.ops.heartbeats import CRASH_AFTER, CRASH_DETECTOR, ensure_crash_detector

    block_id = notification_block(kind, check_url(url)).save(BLOCK_NAME, overwrite=True)
    if not isinstance(block_id, UUID):  # a coroutine only inside an event loop
        raise TypeError(f"saving the notification block returned {type(block_id).__name__}")
    with get_client(sync_client=True) as client:
        ids = {rule.name: str(upsert_automation(client, _automation(rule, block_id))) for rule in RULES}
        ids[CRASH_DETECTOR] = str(ensure_crash_detector(client, crash_after or CRASH_AFTER))
    return {"block": BLOCK_NAME, "kind": kind, "automations": ids}


def _automation(rule: AlertRule, block_id: UUID) -> AutomationCore:
    from prefect.events.actions import SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    related = {"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{rule.tag}"} if rule.tag else {}
    trigger = EventTrigger(expect=set(rule.events), match={"prefect.resource.id": rule.resource},
                           match_related=related, posture=Posture.Reactive, threshold=1)
    return AutomationCore(name=rule.name, description=rule.description, enabled=True, trigger=trigger,
                          actions=[SendNotification(block_document_id=block_id, subject=rule.subject, body=_BODY)])


def upsert_automation(client: SyncPrefectClient, automation: AutomationCore) -> UUID:
    """Create ``automation``, or update the one of its name in place (deleting any extra copies)."""
    existing = client.read_automations_by_name(automation.name)
    if not existing:
        return client.create_automation(automation)
    keep, *extra = sorted(existing, key=lambda a: str(a.id))
    client.update_automation(keep.id, automation)
    for duplicate in extra:
        client.delete_automation(duplicate.id)
    return keep.id
