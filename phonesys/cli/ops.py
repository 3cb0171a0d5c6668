"""``phonesys serve`` and ``phonesys notify``: the commands an operator or an S3 consumer runs.

Both need a lasting Prefect server named by PREFECT_API_URL. Exit status: 0 done, 1 refused (no
PREFECT_API_URL, a key outside the allowlist), 69 the Prefect API did not answer (safe to retry).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.text import Text

from phonesys.cli.common import (
    EXIT_UNAVAILABLE,
    JsonOption,
    attempt,
    console,
    err_console,
    print_json,
)

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

T = TypeVar("T")


def serve(limit: Annotated[int | None, typer.Option("--limit", min=1, help="Most flow runs at once "
                                                        "(default: no limit).")] = None) -> None:
    """Serve every deployment of prefect.yaml from this process until Ctrl-C.

    The drop-folder scan (every minute and on `phonesys notify`), bulk assignment (on demand, and
    what `phonesys template start` hands off to), and the nightly exports. Needs PREFECT_API_URL;
    `make serve` starts a local Prefect server and this command together.

    Example: PREFECT_API_URL=http://127.0.0.1:4200/api phonesys serve
    """
    from phonesys.ops.serve import serve_all

    with_prefect(False, lambda: serve_all(limit))


def notify(key: Annotated[str, typer.Argument(metavar="KEY", help="Object key relative to the storage URL, "
                                              "e.g. incoming/ORG/REQUEST/request.json.", show_default=False)],
           as_json: JsonOption = False) -> None:
    """Tell Prefect an object arrived in the drop folder; a new request.json starts a scan.

    For an S3 event-notification consumer: call it with each created object's key (relative to
    PHONESYS_STORAGE_URL's prefix). The key must pass the object key allowlist. Exits 0 once the
    Prefect server has the event, or when a scan is about to start anyway (it will find the request;
    no event is sent, so no second scan queues behind it), 69 if the server could not be reached
    (retry later; the every-minute scan finds the request anyway).

    Example: phonesys notify incoming/0b9f6a1e-4c7d-4e1a-9d55-1b7e2f1c8e01/june-hires/request.json
    """
    from phonesys.ops.events import notify_object_created

    notice = with_prefect(as_json, lambda: notify_object_created(key))
    if notice.waiting_scan is not None:
        _print_coalesced(as_json, key, notice.waiting_scan)
    elif notice.event is not None:
        event = notice.event
        if as_json:
            print_json({"ok": True, "coalesced": False, "event": event.event, "id": str(event.id),
                        "resource": event.resource.id})
        else:
            console.print(f"Sent {event.event} for {key} ({event.id})")


def _print_coalesced(as_json: bool, key: str, run: FlowRun) -> None:
    """No event: a scan about to start finds the manifest; say which one, so the receipt is still a run."""
    state = run.state.name if run.state else None
    if as_json:
        print_json({"ok": True, "coalesced": True, "key": key,
                    "scan": {"id": str(run.id), "name": run.name, "state": state}})
    else:
        console.print(f"Scan {run.name} ({state}) is about to start and will pick up {key}; no event sent")


def with_prefect(as_json: bool, action: Callable[[], T]) -> T:
    """``attempt`` plus the Prefect API's own failure: one line (or JSON) and exit status 69."""
    from phonesys.ops.prefect_api import PrefectUnavailable

    try:
        return attempt(as_json, action)
    except PrefectUnavailable as exc:
        if as_json:
            print_json({"ok": False, "problems": [exc.problem.as_dict()]})
        else:
            err_console.print(Text.assemble(("error", "red"), f" {exc.problem}"), soft_wrap=True)
        raise typer.Exit(EXIT_UNAVAILABLE) from None
