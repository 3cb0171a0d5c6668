"""The signals ops people see, against the real Prefect test server and a real webhook receiver:
a bulk run with failed rows and a rejected drop-folder request each leave their state, their event
and an alert (through ``phonesys alerts setup``'s automations) naming org, template and counts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from phonesys.flows.run_template import run_flow_in_foreground
from phonesys.ops.prefect_env import NOTHING_FOUND, run_tags
from phonesys.ops.run_states import PARTIAL, ROLLED_BACK
from phonesys.storage.inventory.jobs import start_job
from tests.bulkfixtures import ROOT, bulk_org, child_env, make_rows, make_template, read_artifacts, take_number
from tests.opsfixtures import drop_request, read_events, started_template, wait_until

pytestmark = pytest.mark.slow


def flow_run(state):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id)


def one_event(name: str, resource_id: str):
    return wait_until(lambda: read_events(name, resource_id), timeout=60, what=f"event {name}")[0]


def related(event, role: str) -> list[str]:
    return [r.id for r in event.related if r.role == role]


def test_a_bulk_run_with_failed_rows_ends_partially_completed_and_alerts(alert_hook, engine):
    org, template = started_template(engine, rows=5, taken=2, name="Ops partial")

    state = run_flow_in_foreground(template)

    assert (state.type.value, state.name) == ("COMPLETED", PARTIAL)
    assert state.message == "3 of 5 rows assigned, 2 failed (number-assigned x2)"
    resource = f"phonesys.template.{template}"
    started = one_event("phonesys.template.started", resource)
    assert (started.payload["rows"], started.payload["pending"]) == (5, 5)
    event = one_event("phonesys.template.partially-completed", resource)
    assert event.resource.name == "Ops partial"
    assert {k: event.payload[k] for k in ("assigned", "failed", "rows", "codes")} == {
        "assigned": 3, "failed": 2, "rows": 5, "codes": {"number-assigned": 2}}
    assert related(event, "organization") == [f"phonesys.org.{org.org_uuid}"]
    assert f"prefect.flow-run.{state.state_details.flow_run_id}" in related(event, "flow-run")
    assert not read_events("phonesys.template.completed", resource)
    [alert] = wait_until(lambda: alert_hook.matching(template, org.org_uuid, "partially-completed"), timeout=90,
                         what="the failed-rows notification")
    for needle in ("Ops partial", org.name, '\\"failed\\": 2', '\\"assigned\\": 3', "number-assigned"):
        assert needle in json.dumps(alert), needle


def test_a_clean_run_ends_completed_and_does_not_alert(alert_hook, engine):
    org, template = started_template(engine, rows=4, name="Ops clean")

    state = run_flow_in_foreground(template)

    assert (state.type.value, state.name, state.message) == ("COMPLETED", "Completed", "4 of 4 rows assigned")
    event = one_event("phonesys.template.completed", f"phonesys.template.{template}")
    assert (event.payload["assigned"], event.payload["failed"]) == (4, 0)
    assert not alert_hook.matching(template)


def test_a_run_started_here_is_tagged_and_its_tasks_are_not(engine, phonesys_env, prefect_api_url):
    """Ops filter runs by the run's tags; tagged tasks would make Prefect take and release tag
    concurrency slots through the API around every task, which a served run's tasks never pay."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    org, template = started_template(engine, rows=2, name="Ops tags")

    run = flow_run(run_flow_in_foreground(template))

    assert set(run_tags(org.org_uuid)) <= set(run.tags)

    def task_runs():
        with get_client(sync_client=True) as client:
            return client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))

    tasks = wait_until(task_runs, timeout=60, what="the run's task runs")
    assert [task.tags for task in tasks] == [[] for _ in tasks]


def test_all_or_nothing_rolled_back_fails_the_run_exits_3_and_alerts_once(alert_hook, engine, cli):
    org, template = started_template(engine, rows=4, start=False, name="Ops all or nothing")
    start_job(engine, template, policy="all-or-nothing", chunk_size=2)
    take_number(engine, org, org.numbers[3], "901")  # out of band: the template held it

    result = cli("template", "start", template, "--resume", "--foreground", "--json")

    assert result.exit_code == 3, result.output
    document = json.loads(result.stdout)
    assert (document["ok"], document["flow_state"]) == (True, ROLLED_BACK)
    assert document["message"] == ("all-or-nothing: rows failed (number-assigned x1); "
                                   "0 rolled back, 3 not attempted, nothing changed")
    assert document["counts"] == {"pending": 0, "assigned": 0, "failed": 4}
    event = one_event("phonesys.template.failed", f"phonesys.template.{template}")
    assert event.payload["codes"] == {"not-attempted": 3, "number-assigned": 1}
    wait_until(lambda: alert_hook.matching(template, "phonesys.template.failed"), timeout=90,
               what="the rolled-back notification")
    # The run is Failed in type but named Rolled back: Prefect's event is prefect.flow-run.Rolled back,
    # so the "flow run failed or crashed" alert (meant for broken runs) stays silent.
    assert not alert_hook.matching("Ops all or nothing", "prefect.flow-run.Failed")


def test_a_rejected_drop_folder_request_says_so_and_alerts(alert_hook, engine, org, phonesys_env):
    from phonesys.flows.drop_folder import drop_folder_scan

    drop_request(phonesys_env, org.org_uuid, "june-hires", "Ext Key,Identity UUID\n12,not-a-uuid\n",
                 {"template": "June hires"})

    state = drop_folder_scan(wait=True, return_state=True)

    assert state.is_completed()
    assert state.message == f"1 request(s) rejected ({org.org_uuid}/june-hires); 1 request(s) claimed, 0 started"
    resource = f"phonesys.request.{org.org_uuid}/june-hires"
    claimed = one_event("phonesys.request.claimed", resource)
    rejected = one_event("phonesys.request.rejected", resource)
    assert rejected.payload["codes"] == ["ext-key-format", "uuid-invalid"]
    assert (rejected.payload["template"], rejected.payload["problems"]) == ("June hires", 2)
    assert rejected.payload["status_key"] == f"rejected/{org.org_uuid}/june-hires/status.json"
    assert related(rejected, "organization") == related(claimed, "organization") == [f"phonesys.org.{org.org_uuid}"]
    assert not read_events("phonesys.request.processed", resource)
    assert read_artifacts(state.state_details.flow_run_id) and NOTHING_FOUND not in flow_run(state).tags
    [alert] = wait_until(lambda: alert_hook.matching(resource, "rejected"), timeout=90,
                         what="the rejected-request notification")
    for needle in (org.org_uuid, org.name, "June hires", "uuid-invalid", '\\"problems\\": 2'):
        assert needle in json.dumps(alert), needle


def test_a_processed_request_names_its_template(prefect_server, engine, org, phonesys_env):
    from phonesys.flows.drop_folder import drop_folder_scan

    drop_request(phonesys_env, org.org_uuid, "july", f"Ext Key,Identity UUID\n301,{org.users[0].identity_uuid}\n",
                 {"template": "July", "start": False})

    result = drop_folder_scan(wait=True)

    [outcome] = result["requests"]
    event = one_event("phonesys.request.processed", f"phonesys.request.{org.org_uuid}/july")
    assert (event.payload["status"], event.payload["template_uuid"]) == ("draft", outcome["template_uuid"])
    assert related(event, "template") == [f"phonesys.template.{outcome['template_uuid']}"]


def phonesys_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``phonesys ARGS`` in a new process, as a shell or cron runs it: Prefect's log level left unset."""
    env = {k: v for k, v in env.items() if k != "PREFECT_LOGGING_LEVEL"}
    return subprocess.run([sys.executable, "-c", "from phonesys.cli import main; main()", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)


def test_a_scan_that_finds_nothing_leaves_no_artifact_no_log_and_a_tag(phonesys_env, prefect_api_url):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    result = phonesys_cli(child_env(phonesys_env, prefect_api_url), "dropfolder", "scan", "--json")

    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    document = json.loads(result.stdout)
    assert (document["found"], document["message"]) == (0, "nothing found")
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(document["flow_run_id"])
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
    assert NOTHING_FOUND in run.tags and run.state.is_completed() and not read_artifacts(run.id)
    assert {"phonesys", "drop-folder"} <= set(run.tags), "the served scan's tags: the alert filter sees it"
    assert len(logs) <= 1, [log.message for log in logs]


def test_a_cli_run_of_many_chunks_leaves_stderr_clean(engine, phonesys_env, prefect_api_url):
    """No ``Error flushing events`` / CancelledError tracebacks, no Prefect INFO lines: only the summary."""
    org = bulk_org(engine, base=700, users=600, numbers=600)
    template = make_template(engine, org, make_rows(org, 600), addons=("Voicemail",))

    result = phonesys_cli(child_env(phonesys_env, prefect_api_url), "template", "start", template,
                          "--chunk-size", "10", "--wait")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "run Completed: 600 of 600 rows assigned" in result.stdout
    for noise in ("Traceback", "Error flushing events", "CancelledError", "INFO", "WARNING", "Warning"):
        assert noise not in result.stderr, result.stderr
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        line for line in result.stderr.splitlines() if line.startswith("assigning")], result.stderr
