"""The Prefect event that tells the drop-folder scan a new object arrived (``phonesys notify``).

An S3 event-notification consumer (a Lambda, an SQS poller, a MinIO webhook) calls ``phonesys
notify KEY``; the event starts the ``drop-folder-scan`` deployment through the trigger in
``prefect.yaml``, which matches manifests only. The minute schedule still catches anything an
event missed, so losing one delays a request, never drops it. A manifest that a scan about to start
will find anyway is not announced (``phonesys.ops.scans``): notifications coalesce into that scan.

The event is sent with Prefect's events client and awaited, instead of ``emit_event``'s background
queue, because that queue swallows delivery errors: the consumer must see a failure to retry.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from phonesys.rules.object_keys import check_key

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun
    from prefect.events import Event

OBJECT_CREATED = "phonesys.jobs.dropfolder.object-created"
RESOURCE_PREFIX = "phonesys.object."
MANIFEST_NAME = "request.json"


def object_resource(key: str) -> dict[str, str]:
    """The resource of an object: its key in the id (triggers match ``phonesys.object.incoming/*``)
    and its file name as a label (the trigger starts a scan for ``request.json`` only)."""
    return {"prefect.resource.id": f"{RESOURCE_PREFIX}{key}", "prefect.resource.name": key,
            "phonesys.object.key": key, "phonesys.object.name": key.rsplit("/", 1)[-1]}


def object_created_event(key: str) -> Event:
    """The event for ``key`` after the key allowlist: a refused key is never announced."""
    from prefect.events import Event

    return Event(event=OBJECT_CREATED, resource=object_resource(check_key(key)), payload={"key": key})


def send(event: Event, attempts: int = 3) -> None:
    """Deliver ``event`` to the Prefect API now (the client waits for the server's acknowledgement
    of the websocket checkpoint); PrefectUnavailable if it could not."""
    from prefect.events.clients import get_events_client

    from phonesys.ops.prefect_api import configured_api_url, unavailable

    async def deliver() -> None:
        async with get_events_client(reconnection_attempts=attempts) as client:
            await client.emit(event)

    try:
        asyncio.run(deliver())
    except Exception as exc:  # refused, dropped or timed out: all mean "not delivered", so say so
        raise unavailable(str(configured_api_url()), f"did not take the event ({type(exc).__name__}: {exc})") from exc


@dataclass(frozen=True)
class Notice:
    """What ``notify`` did: sent ``event`` (its id is the receipt), or found ``waiting_scan`` about to
    start, which will find the manifest, and sent nothing (see ``phonesys.ops.scans``)."""

    key: str
    event: Event | None = None
    waiting_scan: FlowRun | None = None


def notify_object_created(key: str) -> Notice:
    """Check ``key`` and the API, then announce the key, unless it is a manifest and a scan is about
    to start anyway: a second scan would meet it and queue behind it for nothing."""
    from phonesys.ops.prefect_api import require_api
    from phonesys.ops.scans import waiting_scan

    event = object_created_event(key)
    require_api()
    if event.resource["phonesys.object.name"] == MANIFEST_NAME and (scan := waiting_scan()) is not None:
        return Notice(key, waiting_scan=scan)
    send(event)
    return Notice(key, event=event)
