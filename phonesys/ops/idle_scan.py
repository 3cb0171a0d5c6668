"""A drop-folder scan that finds nothing, run from a command without loading Prefect.

Most scans find nothing: cron runs ``phonesys dropfolder scan`` every minute, and loading Prefect and
running its flow engine costs about 3 s of a 4 s command. So on the embedded default (the home's own
local Prefect server) the command first lists the drop folder itself. When no request is complete it
records the scan on that server through its REST API as the flow would have ended it: a
``drop-folder-scan`` run, ``Completed`` with message ``nothing found``, tagged like the served scan
plus ``nothing-found``, with no artifact and no log. The UI and its filters see it like any other
empty scan.

Anything found takes the flow, and so does a Prefect API that some setting may name instead of the
home's server: ``PREFECT_API_URL`` or ``PREFECT_PROFILE`` in the environment, or a Prefect profile,
``prefect.toml``, ``.env`` or ``pyproject.toml`` that mentions the API. Prefect reads all of these,
and only Prefect can say which one wins.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from phonesys.ops.prefect_api import unavailable
from phonesys.ops.prefect_env import NOTHING_FOUND, NOTHING_FOUND_MESSAGE, scan_run_name, scan_tags
from phonesys.services.dropfolder import find_requests, scan_summary
from phonesys.settings import Settings
from phonesys.storage.objects import open_object_store

SCAN_FLOW = "drop-folder-scan"  # the flow's name in flows/drop_folder.py and prefect.yaml
REQUEST_TIMEOUT = 10.0  # seconds; the home's server answers in milliseconds
API_MENTIONS = ("PREFECT_API_URL", "[api]", "api.url", "[tool.prefect")


def scan_if_idle(settings: Settings, wait: bool) -> dict[str, Any] | None:
    """The result of a scan that found nothing, recorded on the home's server; None when the flow
    must run instead (a request is there, or another Prefect API may be configured)."""
    if settings.prefect_server != "lasting" or another_api_may_be_named():
        return None
    try:
        if find_requests(open_object_store(settings.objects_url)):
            return None
    except Exception:  # noqa: BLE001 - the flow lists again, with its retries, and reports what failed
        return None
    from phonesys.ops.homeserver import ensure_home_server

    api_url = ensure_home_server(settings.ensure_home().resolve())
    flow_run_id = record_idle_scan(api_url, wait)
    return {"flow_run_id": flow_run_id, "message": NOTHING_FOUND_MESSAGE, **scan_summary([]), "requests": []}


def another_api_may_be_named() -> bool:
    """True when an environment variable or a settings file Prefect reads may name its API."""
    if os.environ.get("PREFECT_API_URL") or os.environ.get("PREFECT_PROFILE"):
        return True
    prefect_home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH") or prefect_home / "profiles.toml").expanduser()
    return any(_mentions_api(path) for path in (profiles, Path("prefect.toml"), Path(".env"), Path("pyproject.toml")))


def _mentions_api(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # absent or unreadable: Prefect finds no setting there either
        return False
    return any(mention in text for mention in API_MENTIONS)


def record_idle_scan(api_url: str, wait: bool) -> str:
    """Create the scan's flow run, already Completed (the server sets a new run's given state as is
    and emits its ``prefect.flow-run.Completed`` event); returns the run's id."""
    import httpx

    state = {"type": "COMPLETED", "name": "Completed", "message": NOTHING_FOUND_MESSAGE}
    try:
        with httpx.Client(base_url=api_url.rstrip("/"), timeout=REQUEST_TIMEOUT) as client:
            flow = client.post("/flows/", json={"name": SCAN_FLOW}).raise_for_status().json()
            run = client.post("/flow_runs/", json={
                "flow_id": flow["id"], "name": scan_run_name(), "parameters": {"wait": wait},
                "tags": sorted({*scan_tags(), NOTHING_FOUND}), "state": state}).raise_for_status().json()
    except httpx.HTTPError as exc:
        raise unavailable(api_url, f"did not record the scan ({type(exc).__name__}: {exc})") from None
    return str(run["id"])
