"""The export flow under a real (test) Prefect server: files for every org, a summary artifact."""

from __future__ import annotations

import pytest
from prefect import flow, task

from phonesys.flows.exports import export_files
from phonesys.rules.errors import Problem, Refused, TransientError
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.provisioning import provision
from phonesys.storage.objects import open_object_store
from phonesys.tasks.retry import retry_only_transient
from tests.conftest import make_document


@pytest.fixture
def two_orgs(engine, phonesys_env):
    documents = [make_document(), make_document()]
    for index, document in enumerate(documents):
        load_org(engine, document)
        provision(engine, document.org_uuid, index + 2, "200")
    return documents


def test_export_flow_writes_a_file_per_org_and_an_artifact(prefect_server, two_orgs, phonesys_env):
    from prefect.client.orchestration import get_client

    results = export_files(kind="extensions")
    by_org = {r["key"].split("/")[1]: r for r in results}
    assert {d.org_uuid for d in two_orgs} <= set(by_org)
    assert [by_org[d.org_uuid]["rows"] for d in two_orgs] == [2, 3]
    store = open_object_store(f"{phonesys_env['PHONESYS_HOME']}/objects")
    assert {info.key for info in store.list("exports/")} == {r["key"] for r in results}
    with get_client(sync_client=True) as client:
        artifact = client.read_latest_artifacts()
    markdown = [a for a in artifact if a.key == "export-extensions"]
    assert markdown and all(r["location"] in markdown[0].data for r in results)


def test_export_flow_for_one_org_in_parquet(prefect_server, two_orgs):
    results = export_files(kind="numbers", org_uuid=two_orgs[0].org_uuid, fmt="parquet")
    assert len(results) == 1 and results[0]["rows"] == 5 and results[0]["key"].endswith(".parquet")


def test_export_flow_fails_for_unknown_org(prefect_server, phonesys_env, engine):
    state = export_files(kind="extensions", org_uuid="00000000-0000-4000-8000-000000000000",
                         return_state=True)
    assert state.is_failed()


@pytest.mark.parametrize("error, expected_calls, succeeds", [
    (TransientError("database is locked"), 2, True),
    (Refused(Problem("org-not-found", "no such org")), 1, False),
])
def test_tasks_retry_only_transient_errors(prefect_server, error, expected_calls, succeeds):
    calls = []

    @task(retries=2, retry_delay_seconds=0, retry_condition_fn=retry_only_transient)
    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise error
        return "done"

    @flow
    def run_flaky() -> bool:
        return flaky(return_state=True).is_completed()

    assert run_flaky() is succeeds
    assert len(calls) == expected_calls
