"""Runs that die without a word: heartbeats, and the automation that marks them Crashed.

A flow-run process killed outright (SIGKILL, OOM killer, a lost machine, its worker's container
stopped) reports nothing, so Prefect would show it Running for good: no Crashed state, no alert, and
nobody resumes it. Every phonesys run therefore emits Prefect's ``prefect.flow-run.heartbeat`` every
``HEARTBEAT_SECONDS`` (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``, set for the flow-run process by
``phonesys serve``, by the work pool's job variables in prefect.yaml and by every ``phonesys``
command), and the automation below, a proactive trigger, expects the next sign of life from each
Running phonesys run within ``CRASH_AFTER``: a heartbeat or any other state event. When none comes,
it sets the run Crashed, which fires the "flow run failed or crashed" alert like any other crash.

``phonesys serve`` (so ``make serve``) creates the automation when it is missing; ``phonesys alerts
setup`` creates or updates it (``--crash-after`` changes the window).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.events.schemas.automations import AutomationCore

HEARTBEAT_SECONDS = 30  # Prefect's minimum; a run's heartbeat thread beats even while it computes
CRASH_AFTER = timedelta(seconds=90)  # three missed heartbeats
MIN_CRASH_AFTER = timedelta(seconds=HEARTBEAT_SECONDS + 5)  # shorter would crash live runs between beats
HEARTBEAT_ENV = {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS)}
CRASH_DETECTOR = "phonesys: crash runs whose heartbeat stopped"
CRASH_MESSAGE = "No heartbeat from the flow-run process: it was killed or its machine was lost"


def crash_detector(within: timedelta = CRASH_AFTER) -> AutomationCore:
    """The automation: for each phonesys flow run, after Running or a heartbeat, expect any flow-run
    event (a heartbeat, or a final state of any name, ``Partially completed`` and ``Rolled back``
    included) within ``within``; else set the run Crashed. A run already final refuses the change."""
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    phonesys_tag: dict[str, str | list[str]] = {"prefect.resource.role": "tag",
                                                "prefect.resource.id": "prefect.tag.phonesys"}
    trigger = EventTrigger(after={"prefect.flow-run.heartbeat", "prefect.flow-run.Running"},
                           expect={"prefect.flow-run.*"}, for_each={"prefect.resource.id"},
                           match={"prefect.resource.id": "prefect.flow-run.*"}, match_related=phonesys_tag,
                           posture=Posture.Proactive, threshold=1, within=within)
    return AutomationCore(name=CRASH_DETECTOR, enabled=True, trigger=trigger,
                          description=f"A phonesys flow run sent no heartbeat for {within.total_seconds():.0f} s "
                                      "(heartbeats every 30 s): its process is gone, so mark it Crashed.",
                          actions=[ChangeFlowRunState(name=None, state=StateType.CRASHED, message=CRASH_MESSAGE,
                                                      force=False)])


def ensure_crash_detector(client: SyncPrefectClient, within: timedelta | None = None) -> UUID:
    """Create the automation if it is missing; with ``within``, also bring an existing one up to date.
    Returns its id. ``phonesys serve`` passes no ``within``, so it never undoes an operator's setting."""
    from phonesys.ops.alerts import upsert_automation

    existing = client.read_automations_by_name(CRASH_DETECTOR)
    if existing and within is None:
        return existing[0].id
    return upsert_automation(client, crash_detector(within or CRASH_AFTER))
