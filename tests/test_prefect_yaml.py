"""prefect.yaml is loaded and checked: every entrypoint is a flow, parameters validate, schedules
and triggers parse, the trigger listens for what `phonesys notify` sends, and `prefect deploy` and
`phonesys serve` register the same deployments from it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
import yaml
from prefect import Flow
from prefect.flows import load_flow_from_entrypoint

from phonesys.ops import events
from phonesys.ops.deployments import (
    PREFECT_YAML,
    load_flow,
    load_specs,
    runner_deployments,
    schedule_objects,
    trigger_objects,
)
from tests.opsfixtures import DEPLOYMENTS, ROOT, delete_deployments

SPECS = {spec.name: spec for spec in load_specs()}
RAW = yaml.safe_load(PREFECT_YAML.read_text())
POOL = "phonesys-process"


def test_the_five_deployments_and_their_flows():
    assert {name: (spec.entrypoint, load_flow(spec.entrypoint).name) for name, spec in SPECS.items()} == {
        "drop-folder-scan": ("flows/drop_folder.py:drop_folder_scan", "drop-folder-scan"),
        "bulk-assignment": ("flows/bulk_assignment.py:bulk_assignment", "bulk-assignment"),
        "template-revert": ("flows/template_revert.py:template_revert", "template-revert"),
        "export-extensions-nightly": ("flows/exports.py:export_files", "export-files"),
        "export-numbers-nightly": ("flows/exports.py:export_files", "export-files"),
    }
    assert sorted(f"{load_flow(s.entrypoint).name}/{s.name}" for s in SPECS.values()) == sorted(DEPLOYMENTS)


def test_a_cli_scan_carries_the_served_scans_tags():
    from phonesys.ops.prefect_env import scan_tags

    assert scan_tags() == SPECS["drop-folder-scan"].tags


def test_prefect_reads_the_file_as_we_do():
    from prefect.cli.deploy._models import PrefectYamlModel

    model = PrefectYamlModel.model_validate(RAW)
    assert [d.name for d in model.deployments] == list(SPECS)
    assert [d.entrypoint for d in model.deployments] == [s.entrypoint for s in SPECS.values()]


def test_definitions_put_every_deployment_on_the_process_pool():
    assert RAW["definitions"]["work_pools"]["process"]["name"] == POOL
    assert {spec.work_pool for spec in SPECS.values()} == {POOL}
    assert {"phonesys"} <= set.intersection(*(set(spec.tags) for spec in SPECS.values()))
    pull = RAW["pull"][0]["prefect.deployments.steps.set_working_directory"]["directory"]
    assert pull.startswith("{{ $") and not os.path.isabs(pull), "no machine-specific path in the deployment"


@pytest.mark.parametrize("name", SPECS)
def test_entrypoint_loads_as_a_flow_by_file_too(name, monkeypatch):
    """A worker loads the file path from the checkout; `phonesys serve` imports the module: same flow."""
    monkeypatch.chdir(ROOT)
    by_file = load_flow_from_entrypoint(SPECS[name].entrypoint)
    assert isinstance(by_file, Flow) and by_file.name == load_flow(SPECS[name].entrypoint).name


@pytest.mark.parametrize("name", SPECS)
def test_parameters_validate_against_the_flow(name):
    spec, flow = SPECS[name], load_flow(SPECS[name].entrypoint)
    if spec.schedules or spec.triggers:  # runs nobody fills in: the defaults must complete them
        flow.validate_parameters(spec.parameters)
    else:  # on demand: what the CLI hands off (phonesys.ops.handoff) must validate
        from phonesys.ops.handoff import template_parameters

        handed = template_parameters(str(uuid.uuid4()), 500)
        flow.validate_parameters({**spec.parameters, **({"parameters": handed} if name == "bulk-assignment" else handed)})


def test_bulk_assignment_parameters_are_a_form_with_checks():
    from prefect.exceptions import ParameterTypeError

    flow = load_flow(SPECS["bulk-assignment"].entrypoint)
    for wrong in ({}, {"parameters": {"template_uuid": "not-a-uuid"}},
                  {"parameters": {"template_uuid": str(uuid.uuid4()), "chunk_size": 0}}):
        with pytest.raises(ParameterTypeError):
            flow.validate_parameters(wrong)
    schema = flow.parameters.model_dump()["definitions"]["BulkAssignmentParameters"]
    assert schema["required"] == ["template_uuid"] and "pattern" in schema["properties"]["template_uuid"]


def test_schedules():
    scan, = schedule_objects(SPECS["drop-folder-scan"])
    assert scan["schedule"].interval == timedelta(minutes=1)
    nightly = [schedule_objects(SPECS[n])[0]["schedule"] for n in ("export-extensions-nightly", "export-numbers-nightly")]
    assert [(s.cron, s.timezone) for s in nightly] == [("0 2 * * *", "UTC"), ("15 2 * * *", "UTC")]
    assert schedule_objects(SPECS["bulk-assignment"]) == []
    assert [SPECS[n].parameters["kind"] for n in ("export-extensions-nightly", "export-numbers-nightly")] == \
        ["extensions", "numbers"]


@pytest.mark.parametrize("name", SPECS)
def test_schedules_and_triggers_are_built_as_prefect_deploy_builds_them(name):
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
    from prefect.cli.deploy._triggers import _initialize_deployment_triggers

    spec = SPECS[name]
    theirs = [_schedule_config_to_deployment_schedule(dict(c)) for c in spec.schedules]
    assert [_comparable(s) for s in schedule_objects(spec)] == [_comparable(s) for s in theirs]
    assert trigger_objects(spec) == _initialize_deployment_triggers(name, [dict(t) for t in spec.triggers])


def _comparable(schedule: dict) -> dict:
    """A schedule without its anchor date (an interval's anchor is 'now' when it is built)."""
    return {**schedule, "schedule": schedule["schedule"].model_dump(exclude={"anchor_date"})}


def test_the_trigger_listens_for_what_notify_sends():
    from prefect.events.schemas.events import Resource

    trigger, = trigger_objects(SPECS["drop-folder-scan"])
    assert trigger.expect == {events.OBJECT_CREATED} and trigger.enabled
    org = str(uuid.uuid4())
    manifest = events.object_created_event(f"incoming/{org}/june-hires/{events.MANIFEST_NAME}")
    assert manifest.event in trigger.expect and trigger.match.matches(manifest.resource)
    for other in (f"incoming/{org}/june-hires/users.csv", f"processed/{org}/june-hires/request.json"):
        assert not trigger.match.matches(Resource(events.object_resource(other)))


def test_prefect_deploy_and_phonesys_serve_register_the_same_deployments(prefect_server, tmp_path):
    """`prefect deploy --all` (as ops would, onto the pool) then the deployments `phonesys serve`
    applies: read back from the API, they differ only in work pool and entrypoint form."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import PREFECT_API_URL

    with get_client(sync_client=True) as client:
        if not any(pool.name == POOL for pool in client.read_work_pools()):
            client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
    try:
        _prefect_deploy_all(PREFECT_API_URL.value(), tmp_path)
        deployed = _registered()
        assert {d["work_pool"] for d in deployed.values()} == {POOL}
        assert {n: (len(d["schedules"]), len(d["triggers"])) for n, d in deployed.items()} == {
            DEPLOYMENTS[0]: (1, 1), DEPLOYMENTS[1]: (0, 0), DEPLOYMENTS[2]: (0, 0), DEPLOYMENTS[3]: (1, 0),
            DEPLOYMENTS[4]: (1, 0)}
        assert deployed[DEPLOYMENTS[0]]["concurrency"] == (1, "ENQUEUE")  # one scan at a time, none cancelled
        delete_deployments()  # a fresh registration: an update would keep the pool it had
        for deployment in runner_deployments():
            deployment.apply()
        served = _registered()
        assert {d["work_pool"] for d in served.values()} == {None}
        strip = lambda found: {n: {k: v for k, v in d.items() if k not in ("work_pool", "entrypoint")}
                               for n, d in found.items()}
        assert strip(served) == strip(deployed)
        assert {n: d["entrypoint"] for n, d in deployed.items()} == {
            f"{load_flow(s.entrypoint).name}/{s.name}": s.entrypoint for s in SPECS.values()}
    finally:
        delete_deployments()


def _prefect_deploy_all(api_url: str, tmp_path) -> None:
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def _registered() -> dict[str, dict]:
    """What the API holds for each deployment, in a form two registrations can be compared in."""
    from prefect.client.orchestration import get_client

    found = {}
    with get_client(sync_client=True) as client:
        for name in DEPLOYMENTS:
            d = client.read_deployment_by_name(name)
            automations = client.read_resource_related_automations(f"prefect.deployment.{d.id}")
            found[name] = {
                "work_pool": d.work_pool_name, "entrypoint": d.entrypoint, "tags": sorted(d.tags),
                "description": d.description, "parameters": d.parameters,
                "schema": d.parameter_openapi_schema, "enforce": d.enforce_parameter_schema, "paused": d.paused,
                "concurrency": (d.global_concurrency_limit and d.global_concurrency_limit.limit,
                                d.concurrency_options and d.concurrency_options.collision_strategy),
                "schedules": sorted(repr((s.active, s.schedule.model_dump(exclude={"anchor_date"})))
                                    for s in d.schedules),
                "triggers": sorted(repr((a.name, a.description, a.enabled, a.trigger.model_dump(exclude={"id"}),
                                         [x.model_dump(exclude={"deployment_id"}) for x in a.actions]))
                                   for a in automations)}
    return found
