"""How a phonesys process uses Prefect: quiet, with heartbeats, a local server when none is
named, and the tags its runs carry (the README's alert filter and the UI's filters rely on them)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from phonesys.ops.heartbeats import HEARTBEAT_ENV

QUIET_PREFECT = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                 "PREFECT_LOGGING_LEVEL": "WARNING", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
                 **HEARTBEAT_ENV}
SCAN_TAGS = ("phonesys", "drop-folder")  # the drop-folder-scan deployment's tags in prefect.yaml
NOTHING_FOUND = "nothing-found"  # tag of a scan run that claimed no request: filter it out of the runs list
NOTHING_FOUND_MESSAGE = "nothing found"  # that run's state message


def quiet_prefect() -> None:
    """Keep a terminal run free of telemetry and INFO chatter unless the user asked for it, and give
    it the heartbeat every phonesys run sends (so a killed CLI run is marked Crashed, not left Running)."""
    for name, value in QUIET_PREFECT.items():
        os.environ.setdefault(name, value)


def prepare_prefect() -> None:
    """Before a flow runs in this process: quiet, and, without PREFECT_API_URL, the home's lasting
    local server (``phonesys.ops.homeserver``), or with ``PHONESYS_PREFECT_SERVER=temporary`` a
    temporary server that ends with this process and shares no database (``phonesys.ops.tempserver``)."""
    quiet_prefect()
    from phonesys.ops.prefect_api import configured_api_url

    if configured_api_url():  # no local server, and no need to import Prefect's server code
        return
    from phonesys.settings import load_settings

    settings = load_settings()
    if settings.prefect_server == "lasting":
        from phonesys.ops.homeserver import use_home_server

        use_home_server(settings.ensure_home().resolve())
        return
    from phonesys.ops.tempserver import use_temporary_server

    use_temporary_server()


def scan_tags() -> list[str]:
    """Tags of a scan run started here (``phonesys dropfolder scan``): the served scan's own, so the
    UI's filters and the alert on tag ``phonesys`` see both alike."""
    return list(SCAN_TAGS)


def scan_run_name() -> str:
    """A scan run's name: when it ran, to the second (UTC)."""
    from datetime import UTC, datetime

    return f"drop-folder-scan {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"


def run_tags(org_uuid: str) -> list[str]:
    """Tags every bulk assignment run carries, so ops can filter the Prefect UI by organization."""
    return ["phonesys", "bulk-assignment", f"org:{org_uuid}"]


@contextmanager
def untagged_tasks() -> Iterator[None]:
    """Inside a flow body: the tasks it runs carry no tags. A run started in a command gets its
    tags from Prefect's tags context (``run_tags``), which its tasks would inherit; Prefect then takes
    and releases tag concurrency slots through the API around every tagged task, two requests each
    (about 0.3 s of a 10-row job), although phonesys sets no tag limits. A served run's tasks carry no
    tags either, so both routes now run their tasks alike."""
    from prefect.context import TagsContext

    with TagsContext(current_tags=set()):
        yield
