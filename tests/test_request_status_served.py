"""status.json of a drop-folder request whose bulk run was handed to the served deployment and killed.

A ``phonesys serve`` child serves the deployments with a failpoint set, so the handed-off run freezes
before its first chunk; the test SIGKILLs that run's process (its pid comes from the failpoint's line
in the serve log). Nothing in the dead process can write anything: the runner that saw it die marks
the run Crashed and runs the flow's crash hook, which writes ``crashed``; a resume then completes it.
"""

from __future__ import annotations

import json
import os
import re
import signal

import pytest
from prefect.settings import PREFECT_API_URL

from phonesys.ops.handoff import served_deployment
from phonesys.storage.inventory.orgs import load_org
from tests.conftest import make_document
from tests.opsfixtures import delete_deployments, drop_request, serve_env, start_serve, stop_serve, wait_until

pytestmark = pytest.mark.slow
FROZEN = re.compile(r"FAILPOINT before-first-chunk pid (\d+)")


@pytest.fixture
def frozen_serve(prefect_server, phonesys_env, tmp_path, monkeypatch):
    """`phonesys serve` whose bulk runs freeze before their first chunk; yields its log file."""
    monkeypatch.setenv("PHONESYS_BULK_LIMITS", "off")  # a killed run's slots would delay the resume
    log = tmp_path / "serve.log"
    env = serve_env(phonesys_env, PREFECT_API_URL.value(), PHONESYS_FAILPOINT="before-first-chunk",
                    PHONESYS_BULK_LIMITS="off")
    process = start_serve(env, log)
    try:
        wait_until(lambda: process.poll() is None and served_deployment(), timeout=120,
                   what=f"phonesys serve to poll (log: {log.read_text()[-2000:] if log.exists() else ''})")
        yield log
    finally:
        stop_serve(process)
        delete_deployments()


def test_served_run_killed_outright_says_crashed_and_resume_completes(frozen_serve, engine, phonesys_env, cli):
    from phonesys.flows.drop_folder import drop_folder_scan

    org = make_document(base=4, users=2, numbers=2, number_prefix="+657")
    load_org(engine, org)
    csv = "Ext Key,Identity UUID\n" + "".join(f"{301 + i},{u.identity_uuid}\n" for i, u in enumerate(org.users))
    store = drop_request(phonesys_env, org.org_uuid, "killed", csv, {"template": "Killed"})
    key = f"processed/{org.org_uuid}/killed/status.json"

    def status() -> dict:
        return json.loads(store.read_bytes(key)) if list(store.list(key)) else {}

    drop_folder_scan(wait=False)  # (or the served minute scan got there first: the same hand-off)
    pid = int(wait_until(lambda: FROZEN.search(frozen_serve.read_text()), timeout=120,
                         what="the served run to reach its failpoint").group(1))
    assert status()["status"] == "in_progress"
    os.kill(pid, signal.SIGKILL)

    crashed = wait_until(lambda: status()["status"] == "crashed" and status(), timeout=90,
                         what=f"status crashed (serve log: {frozen_serve.read_text()[-3000:]})")
    assert crashed["counts"] == {"pending": 2, "assigned": 0, "failed": 0} and crashed["message"]

    result = cli("template", "start", crashed["template_uuid"], "--resume", "--foreground", "--json")
    assert result.exit_code == 0, result.output
    resumed = status()
    assert (resumed["status"], resumed["counts"]) == ("completed", {"pending": 0, "assigned": 2, "failed": 0})
