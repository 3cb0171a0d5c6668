"""`phonesys serve`, the hand-off from `template start`, and `phonesys notify`.

Runs against the session's Prefect test server, which runs the same event, trigger and automation
services as `prefect server start` (the UI aside). One `phonesys serve` child serves every
deployment for the module; the CLI under test runs in-process. The module keeps its own inventory
(one SQLite file shared with the serve child) so both sides see the same templates.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from phonesys.ops.handoff import (
    BULK_DEPLOYMENT,
    is_served,
    served_deployment,
    wait_for_final_state,
)
from phonesys.ops.localserver import free_port
from phonesys.ops.run_states import ROLLED_BACK
from phonesys.storage.inventory.engine import dispose_engines
from phonesys.storage.inventory.jobs import start_job, status_counts
from phonesys.storage.inventory.orgs import load_org
from tests.bulkfixtures import take_number
from tests.conftest import make_document
from tests.opsfixtures import (
    delete_deployments,
    drop_request,
    serve_env,
    start_serve,
    started_template,
    stop_serve,
    wait_until,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ops_env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("ops-home")
    return {"PHONESYS_HOME": str(home), "PHONESYS_DATABASE_URL": f"sqlite:///{home / 'inventory.sqlite3'}"}


@pytest.fixture
def database_url(ops_env):
    """This module's one SQLite inventory (the conftest default would be a fresh one per test)."""
    yield ops_env["PHONESYS_DATABASE_URL"]
    dispose_engines()


@pytest.fixture
def phonesys_env(ops_env, monkeypatch) -> dict[str, str]:
    for name, value in ops_env.items():
        monkeypatch.setenv(name, value)
    return ops_env


@pytest.fixture(scope="module")
def serve_log(tmp_path_factory) -> Path:
    """Where the module's `phonesys serve` child writes its output (and its flow runs theirs)."""
    return tmp_path_factory.mktemp("serve") / "serve.log"


@pytest.fixture(scope="module")
def served(prefect_server, ops_env, serve_log):
    """`phonesys serve` against the test server until the module ends; yields the bulk deployment."""
    log = serve_log
    process = start_serve(serve_env(ops_env, PREFECT_API_URL.value()), log)
    try:
        yield wait_until(lambda: process.poll() is None and served_deployment(), timeout=120,
                         what=f"phonesys serve to poll (log: {log.read_text()[-2000:] if log.exists() else ''})")
    finally:
        stop_serve(process)
        delete_deployments()


# -- deciding whether to hand off ----------------------------------------------------------------------

@pytest.mark.parametrize("status, polled, expected", [
    ("READY", NOW - timedelta(seconds=5), True),
    ("READY", NOW - timedelta(seconds=60), True),
    ("READY", NOW - timedelta(seconds=61), False),   # the server that served it is gone
    ("NOT_READY", NOW - timedelta(seconds=5), False),
    ("READY", None, False),                          # registered, never polled
    (None, None, False),
])
def test_a_deployment_is_served_when_ready_and_recently_polled(status, polled, expected):
    assert is_served(status, polled, NOW) is expected


def test_a_paused_deployment_is_not_served_however_fresh_its_poll():
    """A stopped `phonesys serve` pauses its deployments; the server calls them READY for a minute more."""
    assert is_served("READY", NOW - timedelta(seconds=2), NOW, paused=True) is False


def test_nothing_to_hand_off_to_without_a_deployment(prefect_server):
    assert served_deployment("bulk-assignment/no-such-deployment") is None
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):
        assert served_deployment() is None  # server down: the foreground run reports it


def test_waiting_gives_up_on_a_run_nobody_picks_up(prefect_server):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    @flow(name="never-served")
    def never_served() -> None:
        """Registered, never served."""

    deployment_id = never_served.to_deployment("nobody").apply()
    try:
        flow_run = run_deployment(deployment_id, timeout=0, as_subflow=False)
        assert wait_for_final_state(flow_run.id, interval=0.2, start_timeout=1).is_scheduled()
    finally:
        with get_client(sync_client=True) as client:
            client.delete_deployment(deployment_id)


# -- serve and notify refuse clearly -------------------------------------------------------------------

def test_serve_and_notify_need_prefect_api_url(cli):
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        for args in (["serve"], ["notify", "incoming/x/y/request.json"]):
            result = cli(*args)
            assert result.exit_code == 1 and "error prefect-api-not-set: PREFECT_API_URL is not set" in result.stderr


def test_serve_and_notify_say_when_the_server_does_not_answer(cli):
    url = f"http://127.0.0.1:{free_port()}/api"
    with temporary_settings(updates={PREFECT_API_URL: url}):
        result = cli("serve")
        assert result.exit_code == 69 and f"error prefect-api-unreachable: The Prefect API at {url}" in result.stderr
        result = cli("notify", "incoming/x/y/request.json", "--json")
        assert result.exit_code == 69 and '"code": "prefect-api-unreachable"' in result.stdout


def test_start_checks_the_prefect_api_before_taking_holds(cli, engine):
    """An unreachable PREFECT_API_URL refuses the start like serve and notify (69), with nothing held."""
    from phonesys.storage.inventory.template_views import template_detail
    from phonesys.storage.inventory.usage import org_usage

    org, template_uuid = started_template(engine, 3, name="API down", start=False)
    before = org_usage(engine, org.org_uuid)
    url = f"http://127.0.0.1:{free_port()}/api"
    with temporary_settings(updates={PREFECT_API_URL: url}):
        result = cli("template", "start", template_uuid, "--wait")
        assert result.exit_code == 69, result.output
        assert f"error prefect-api-unreachable: The Prefect API at {url} did not answer" in result.stderr
        assert "nothing changed" in result.stderr and "Traceback" not in result.output
        result = cli("template", "start", template_uuid, "--json")
        assert result.exit_code == 69 and '"code": "prefect-api-unreachable"' in result.stdout
    assert template_detail(engine, template_uuid).status == "draft"
    assert org_usage(engine, org.org_uuid) == before


@pytest.mark.parametrize("key", ["incoming/../etc/passwd", "/incoming/a/request.json", "incoming/a\u2215b"])
def test_notify_refuses_a_key_outside_the_allowlist(cli, key):
    result = cli("notify", key)
    assert result.exit_code == 1 and "error object-key-" in result.stderr


# -- with `phonesys serve` running ---------------------------------------------------------------------

def test_start_hands_off_and_follows_the_run(served, cli, engine):
    _, template_uuid = started_template(engine, 5, name="Handed off", start=False)
    result = cli("template", "start", template_uuid, "--wait", "--json", "--chunk-size", "2")
    assert result.exit_code == 0, result.output
    document = _json(result.stdout)
    assert document["handed_off"] is True and document["counts"] == {"pending": 0, "assigned": 5, "failed": 0}
    run = _flow_run(document["flow_run_id"])
    assert run.deployment_id == served.id and run.state.is_completed()
    assert run.name == document["flow_run_name"] and run.name.endswith(" / Handed off")
    assert {"phonesys", "bulk-assignment"} <= set(run.tags)


def test_handed_off_run_with_failed_rows_keeps_exit_status_3(served, cli, engine):
    _, template_uuid = started_template(engine, 5, name="Two taken", taken=2)
    result = cli("template", "start", template_uuid, "--resume", "--wait", "--json")
    assert result.exit_code == 3, result.output
    document = _json(result.stdout)
    assert document["handed_off"] is True and document["counts"] == {"pending": 0, "assigned": 3, "failed": 2}


def test_a_handed_off_run_that_rolls_back_logs_no_traceback(served, serve_log, cli, engine):
    """A planned outcome: the run is Rolled back (type Failed) with its message, and neither the
    serving process nor the run's own logs on the server carry an ERROR or a traceback."""
    org, template_uuid = started_template(engine, 4, name="Handed off rollback", start=False)
    start_job(engine, template_uuid, policy="all-or-nothing", chunk_size=2)  # holds taken, no run yet
    take_number(engine, org, org.numbers[3], "901")  # out of band, before the served run checks its rows
    before = serve_log.read_text(errors="replace")

    result = cli("template", "start", template_uuid, "--resume", "--wait", "--json")

    assert result.exit_code == 3, result.output
    document = _json(result.stdout)
    assert (document["handed_off"], document["flow_state"]) == (True, ROLLED_BACK)
    assert document["message"] == ("all-or-nothing: rows failed (number-assigned x1); 0 rolled back, "
                                   "3 not attempted, nothing changed")
    run = _flow_run(document["flow_run_id"])
    assert (run.state.type.value, run.state.name, run.state.message) == ("FAILED", ROLLED_BACK, document["message"])
    served_output = serve_log.read_text(errors="replace")[len(before):]
    logs = _run_logs(run.id, settle=10)
    for text in (result.stderr, served_output, *[log.message for log in logs]):
        assert "Traceback" not in text and "ERROR" not in text and "Unexpected result" not in text, text
    assert all(log.level < 40 for log in logs), [log.message for log in logs]


def _run_logs(flow_run_id, settle: float) -> list:
    """The run's logs on the server, read for ``settle`` seconds: its process ships them after the
    final state is set (an engine error comes last), so an early read could miss them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + settle
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            if time.monotonic() > deadline or any(log.level >= 40 for log in logs):
                return logs
            time.sleep(1)


def test_start_without_wait_returns_once_the_run_is_accepted(served, cli, engine):
    _, template_uuid = started_template(engine, 4, name="Fire and forget", start=False)
    result = cli("template", "start", template_uuid, "--json")
    assert result.exit_code == 0, result.output
    document = _json(result.stdout)
    assert document["status"] == "in_progress" and document["url"].endswith(document["flow_run_id"])
    assert "flow_state" not in document and "counts" not in document, "it returned without following the run"
    assert wait_for_final_state(document["flow_run_id"]).is_completed()
    assert status_counts(engine, template_uuid) == {"pending": 0, "assigned": 4, "failed": 0}


def test_foreground_flag_runs_here_even_when_served(served, cli, engine):
    _, template_uuid = started_template(engine, 2, name="Kept here", start=False)
    result = cli("template", "start", template_uuid, "--foreground", "--json")
    assert result.exit_code == 0, result.output
    assert "handed_off" not in _json(result.stdout)


def test_revert_hands_off_and_follows_the_run(served, cli, engine):
    _, template_uuid = started_template(engine, 4, name="Revert handed off", start=False)
    assert cli("template", "start", template_uuid, "--wait", "--json").exit_code == 0

    result = cli("template", "revert", template_uuid, "--wait", "--json", "--chunk-size", "2")

    assert result.exit_code == 0, result.output
    document = _json(result.stdout)
    assert document["handed_off"] is True and document["deployment"] == "template-revert/template-revert"
    assert document["counts"]["reverted"] == 4 and document["report"]
    run = _flow_run(document["flow_run_id"])
    assert run.state.is_completed() and {"phonesys", "template-revert"} <= set(run.tags)
    assert _json(cli("template", "show", template_uuid, "--json").stdout)["revert"] == "reverted"


def test_revert_without_wait_returns_once_the_run_is_accepted(served, cli, engine):
    _, template_uuid = started_template(engine, 3, name="Revert fire and forget", start=False)
    assert cli("template", "start", template_uuid, "--wait", "--json").exit_code == 0

    result = cli("template", "revert", template_uuid, "--json")

    assert result.exit_code == 0, result.output
    document = _json(result.stdout)
    assert document["handed_off"] is True and "counts" not in document
    assert wait_for_final_state(document["flow_run_id"]).is_completed()
    shown = _json(cli("template", "show", template_uuid, "--json").stdout)
    assert shown["revert"] == "reverted" and cli("template", "revert", template_uuid, "--foreground").exit_code == 1


def test_cancel_stops_the_templates_run_that_has_not_started(served, cli, engine):
    """A run handed over but not started (here: scheduled for later, as a Late run nobody picks up
    would be) ends Cancelled with the template; another template's run of the same org is left alone."""
    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    from phonesys.ops.handoff import template_parameters
    from phonesys.ops.prefect_env import run_tags

    org, template_uuid = started_template(engine, 3, name="Cancel a scheduled run")
    later = datetime.now(UTC) + timedelta(hours=1)
    with get_client(sync_client=True) as client:
        runs = [client.create_flow_run_from_deployment(
            served.id, parameters={"parameters": template_parameters(uuid_, None)}, tags=run_tags(org.org_uuid),
            state=Scheduled(scheduled_time=later)) for uuid_ in (template_uuid, str(uuid.uuid4()))]

    result = cli("template", "cancel", template_uuid, "--json")

    assert result.exit_code == 0, result.output
    document = _json(result.stdout)
    assert document["runs_cancelled"] == [str(runs[0].id)] and document["runs_left"] == []
    assert _flow_run(runs[0].id).state.is_cancelled()
    assert _flow_run(runs[0].id).state.message.startswith("template cancelled by cli:")
    assert _flow_run(runs[1].id).state.is_scheduled()


def test_notify_reaches_the_server_and_its_trigger_starts_a_scan(served, cli):
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventIDFilter

    since = datetime.now(UTC)
    key = f"incoming/{uuid.uuid4()}/june-hires/request.json"
    result = cli("notify", key, "--json")
    assert result.exit_code == 0, result.output
    sent = _json(result.stdout)
    with get_client(sync_client=True) as client:
        received = wait_until(lambda: client.read_events(EventFilter(id=EventIDFilter(id=[sent["id"]])), limit=10).events,
                              timeout=60, what="the event to be stored")
        assert received[0].event == "phonesys.jobs.dropfolder.object-created"
        assert received[0].resource.id == f"phonesys.object.{key}" and received[0].resource["phonesys.object.key"] == key
        scan = client.read_deployment_by_name("drop-folder-scan/drop-folder-scan")
        wait_until(lambda: [r for r in client.read_flow_runs() if r.deployment_id == scan.id and r.created_by
                            and r.created_by.type == "AUTOMATION" and r.created >= since],
                   timeout=90, what="a scan started by the trigger")


def test_the_scan_hands_started_templates_to_the_served_deployment(served, engine, phonesys_env):
    """One route for bulk work: a drop-folder request's run is a run of the bulk-assignment deployment."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterTags

    from phonesys.flows.drop_folder import drop_folder_scan

    org = make_document(base=4, users=2, numbers=2, number_prefix="+657")
    load_org(engine, org)
    csv = f"Ext Key,Identity UUID\n301,{org.users[0].identity_uuid}\n"
    store = drop_request(phonesys_env, org.org_uuid, "routed", csv, {"template": "Routed"})

    result = drop_folder_scan(wait=True)

    # The served every-minute scan shares this drop folder and may claim the request first: then
    # this scan finds nothing, and the request's run is the served scan's hand-off, waited for here.
    assert [o["status"] for o in result["requests"]] in (["started"], [])
    status_key = f"processed/{org.org_uuid}/routed/status.json"
    status = wait_until(lambda: _completed_status(store, status_key), timeout=120,
                        what="the routed request's status.json to say completed")
    assert status["status"] == "completed" and status["counts"]["assigned"] == 1
    with get_client(sync_client=True) as client:
        by_org = FlowRunFilter(tags=FlowRunFilterTags(all_=[f"org:{org.org_uuid}"]))
        [run] = client.read_flow_runs(flow_run_filter=by_org,
                                      deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[served.id])))
    assert run.name == f"{org.name} / Routed" and run.state.is_completed()
    assert run.parent_task_run_id is None, "a deployment run, not a subflow of the scan"


def _completed_status(store, key: str) -> dict | None:
    """The request's status.json once it says completed (None before: not yet there, or in progress)."""
    from phonesys.rules.errors import NotFound

    try:
        status = _json(store.read_bytes(key).decode())
    except NotFound:
        return None
    return status if status["status"] == "completed" else None


def _json(text: str) -> dict:
    import json

    return json.loads(text)


def _flow_run(flow_run_id: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def test_bulk_deployment_name_matches_prefect_yaml():
    from phonesys.ops.deployments import load_specs

    assert BULK_DEPLOYMENT.split("/")[1] in {spec.name for spec in load_specs()}


def test_the_runner_polls_every_second_unless_prefect_is_told_otherwise(monkeypatch):
    """A drop-folder request waits for two polls (its scan, then its bulk run): Prefect's 10 s
    default made that 10 s on average; PREFECT_RUNNER_POLL_FREQUENCY still wins when set."""
    from phonesys.ops.serve import RUNNER_POLL_SECONDS, runner_poll_seconds

    monkeypatch.delenv("PREFECT_RUNNER_POLL_FREQUENCY", raising=False)
    assert runner_poll_seconds() == RUNNER_POLL_SECONDS == 1.0
    monkeypatch.setenv("PREFECT_RUNNER_POLL_FREQUENCY", "5")
    assert runner_poll_seconds() is None
