"""The drop folder end to end on a real S3 endpoint (moto server on loopback) and the local folder."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from phonesys.services.dropfolder import find_requests
from phonesys.services.dropfolder_process import process_request
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.usage import org_usage
from phonesys.storage.inventory.views import list_extensions
from phonesys.storage.objects import open_object_store
from tests.conftest import make_document
from tests.invariants import assert_invariants


@pytest.fixture(params=["s3", "local"])
def storage_url(request, tmp_path, monkeypatch) -> str:
    url = request.getfixturevalue("s3_storage_url") if request.param == "s3" else str(tmp_path / "objects")
    monkeypatch.setenv("PHONESYS_STORAGE_URL", url)
    return url


@pytest.fixture
def store(storage_url):
    return open_object_store(storage_url)


def csv_bytes(rows: list[list[str]], header=("Ext Key", "Identity UUID", "Number")) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([list(header), *rows])
    return buffer.getvalue().encode()


def drop(store, org_uuid: str, name: str, files: dict[str, bytes], manifest: dict | None) -> None:
    for file_name, data in files.items():
        store.write_bytes(f"incoming/{org_uuid}/{name}/{file_name}", data)
    if manifest is not None:
        store.write_bytes(f"incoming/{org_uuid}/{name}/request.json", json.dumps(manifest).encode())


def state(engine, *orgs) -> list:
    return [(org_usage(engine, o.org_uuid), list_extensions(engine, o.org_uuid)) for o in orgs]


def scan_once(engine, store) -> list:
    return [process_request(engine, store, ref) for ref in find_requests(store)]


def test_request_becomes_started_template_and_settles(engine, store, org):
    rows = [["301", org.users[0].identity_uuid, org.numbers[0]], ["302", org.users[1].identity_uuid, ""]]
    drop(store, org.org_uuid, "sales", {"a.csv": csv_bytes(rows)},
         {"template": "Sales", "addons": ["Voicemail"], "policy": "all-or-nothing"})
    [outcome] = scan_once(engine, store)
    assert outcome.status == "started" and outcome.template_uuid
    keys = {i.key for i in store.list("processed/")}
    base = f"processed/{org.org_uuid}/sales/"
    assert keys == {base + "a.csv", base + "request.json", base + "status.json"}
    assert list(store.list("incoming/")) == []
    status = json.loads(store.read_bytes(base + "status.json"))
    assert status["status"] == "started" and status["template_uuid"] == outcome.template_uuid


def test_partial_upload_is_left_alone(engine, store, org):
    drop(store, org.org_uuid, "half", {"a.csv": csv_bytes([["301", org.users[0].identity_uuid, ""]])}, None)
    assert scan_once(engine, store) == []
    assert [i.key for i in store.list("incoming/")] == [f"incoming/{org.org_uuid}/half/a.csv"]


def test_rejected_request_changes_nothing_and_keeps_errors(engine, store, org):
    before = state(engine, org)
    rows = [["12", org.users[0].identity_uuid, ""], ["301", "not-a-uuid", "6.51E+09"]]
    drop(store, org.org_uuid, "bad", {"a.csv": csv_bytes(rows)}, {"template": "Bad"})
    [outcome] = scan_once(engine, store)
    assert outcome.status == "rejected" and outcome.template_uuid is None
    assert {p.code for p in outcome.problems} >= {"ext-key-format", "number-scientific-notation"}
    base = f"rejected/{org.org_uuid}/bad/"
    assert {i.key for i in store.list("rejected/")} == {base + n for n in
                                                       ("a.csv", "a.csv.errors.csv", "request.json", "status.json")}
    assert b"ext-key-format" in store.read_bytes(base + "a.csv.errors.csv")
    assert state(engine, org) == before


@pytest.mark.parametrize("manifest, code", [({"addons": []}, "manifest-invalid"),
                                             ({"template": "x", "colour": "red"}, "manifest-invalid"),
                                             ({"template": "x", "addons": ["Fax"]}, "addon-unknown")])
def test_bad_manifest_is_rejected(engine, store, org, manifest, code):
    drop(store, org.org_uuid, "m", {"a.csv": csv_bytes([["301", org.users[0].identity_uuid, ""]])}, manifest)
    [outcome] = scan_once(engine, store)
    assert outcome.status == "rejected" and code in {p.code for p in outcome.problems}


def test_duplicate_delivery_is_processed_once(engine, store, org):
    drop(store, org.org_uuid, "dup", {"a.csv": csv_bytes([["301", org.users[0].identity_uuid, ""]])},
         {"template": "Dup", "start": False})
    [ref] = find_requests(store)
    first, second = process_request(engine, store, ref), process_request(engine, store, ref)
    assert (first.status, second.status) == ("draft", "skipped")


def test_two_orgs_in_one_scan_stay_isolated(engine, store, org):
    other = make_document(number_prefix="+659")
    load_org(engine, other)
    drop(store, org.org_uuid, "r", {"a.csv": csv_bytes([["301", org.users[0].identity_uuid, ""]])}, {"template": "A"})
    # org B's request names org A's user: refused, it does not exist in org B
    drop(store, other.org_uuid, "r", {"a.csv": csv_bytes([["301", org.users[1].identity_uuid, ""]])}, {"template": "B"})
    outcomes = {o.org_uuid: o for o in scan_once(engine, store)}
    assert outcomes[org.org_uuid].status == "started"
    assert outcomes[other.org_uuid].status == "rejected"
    assert {p.code for p in outcomes[other.org_uuid].problems} == {"user-not-found"}


def test_traversal_and_foreign_shaped_keys_are_ignored(engine, s3_client, s3_bucket, org, monkeypatch):
    monkeypatch.setenv("PHONESYS_STORAGE_URL", f"s3://{s3_bucket}")
    store = open_object_store(f"s3://{s3_bucket}")
    for key in (f"incoming/{org.org_uuid}/../../etc/request.json", f"incoming/{org.org_uuid}/a/b/request.json",
                "incoming/not-an-org/r/request.json", f"incoming/{org.org_uuid.upper()}/r/request.json",
                f"incoming/{org.org_uuid}/r\u202e/request.json"):
        s3_client.put_object(Bucket=s3_bucket, Key=key, Body=b'{"template": "x"}')
    assert find_requests(store) == []


RACER = """
import sys
from phonesys.services.dropfolder import find_requests
from phonesys.services.dropfolder_process import process_request
from phonesys.storage.inventory.engine import open_engine
from phonesys.storage.objects import open_object_store
store = open_object_store(sys.argv[2])
engine = open_engine(sys.argv[1])
print(",".join(process_request(engine, store, ref).status for ref in find_requests(store)))
"""


@pytest.mark.slow
def test_two_scanners_racing_process_each_request_once(engine, database_url, storage_url, store, org):
    for index in range(3):
        drop(store, org.org_uuid, f"r{index}",
             {"a.csv": csv_bytes([[str(301 + index), org.users[index].identity_uuid, ""]])},
             {"template": f"R{index}", "start": False})
    racers = [subprocess.Popen([sys.executable, "-c", RACER, database_url, storage_url], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [racer.communicate(timeout=120) for racer in racers]
    statuses = [s for out, err in results for s in out.strip().split(",") if s]
    assert statuses.count("draft") == 3, results
    assert set(statuses) <= {"draft", "skipped"}
    assert_invariants(engine)


def test_scan_flow_runs_the_bulk_assignment_and_updates_status(prefect_server, engine, store, org, phonesys_env):
    from phonesys.flows.drop_folder import drop_folder_scan

    rows = [["301", org.users[0].identity_uuid, org.numbers[0]], ["302", org.users[1].identity_uuid, ""]]
    drop(store, org.org_uuid, "flow", {"a.csv": csv_bytes(rows)}, {"template": "Flow", "addons": ["Voicemail"]})
    result = drop_folder_scan(wait=True)
    assert (result["found"], result["started"], result["rejected"]) == (1, 1, 0)
    status = json.loads(store.read_bytes(f"processed/{org.org_uuid}/flow/status.json"))
    assert status["status"] == "completed" and status["counts"] == {"pending": 0, "assigned": 2, "failed": 0}
    report = store.read_bytes(status["report_key"]).decode("utf-8-sig").splitlines()
    assert len(report) == 3 and all('"assigned"' in line for line in report[1:])
    assert {e["ext_key"] for e in list_extensions(engine, org.org_uuid)} == {"301", "302"}
    assert_invariants(engine)


# -- status.json follows the bulk run -------------------------------------------------------------------

def started_request(engine, store, org, name: str, users: list[int], **manifest) -> str:
    """A request of one row per user index, claimed and started by a scan; its template's UUID."""
    rows = [[str(301 + i), org.users[i].identity_uuid, ""] for i in users]
    drop(store, org.org_uuid, name, {"a.csv": csv_bytes(rows)}, {"template": name, **manifest})
    [outcome] = scan_once(engine, store)
    assert outcome.status == "started", outcome.problems
    return outcome.template_uuid


def request_status(store, org, name: str) -> dict:
    return json.loads(store.read_bytes(f"processed/{org.org_uuid}/{name}/status.json"))


@pytest.mark.parametrize("policy, status, counts", [
    ("continue", "partially-completed", {"pending": 0, "assigned": 2, "failed": 1}),
    ("all-or-nothing", "rolled-back", {"pending": 0, "assigned": 0, "failed": 3}),
])
def test_status_says_how_the_rows_ended(prefect_server, engine, store, org, phonesys_env, policy, status, counts):
    from phonesys.flows.run_template import run_flow_in_foreground
    from tests.bulkfixtures import take_user

    template = started_request(engine, store, org, "ends", [0, 1, 2], policy=policy)
    take_user(engine, org, org.users[1].identity_uuid, "900")  # changed outside phonesys: row 2 fails
    run_flow_in_foreground(template)
    document = request_status(store, org, "ends")
    assert (document["status"], document["counts"]) == (status, counts)
    assert document["template_uuid"] == template and document["flow_run_id"]


def test_status_says_failed_when_the_run_fails(prefect_server, engine, store, org, phonesys_env, chunk_spy):
    from phonesys.flows.run_template import run_flow_in_foreground

    template = started_request(engine, store, org, "fails", [0, 1])

    def bug(_number, _row_ids):
        raise RuntimeError("a bug in the chunk")

    chunk_spy(bug)
    assert run_flow_in_foreground(template).is_failed()
    document = request_status(store, org, "fails")
    assert (document["status"], document["counts"]) == ("failed", {"pending": 2, "assigned": 0, "failed": 0})
    assert "a bug in the chunk" in document["message"]


@pytest.mark.slow
def test_status_is_in_progress_while_running_crashed_when_killed_and_completed_when_resumed(
        engine, store, org, phonesys_env, prefect_api_url, cli):
    from tests.bulkfixtures import StderrWatch, child_env, kill, spawn_flow

    template = started_request(engine, store, org, "crash", [0, 1, 2])
    child = spawn_flow(template, child_env(phonesys_env, prefect_api_url, PHONESYS_FAILPOINT="before-first-chunk"))
    try:
        StderrWatch(child).wait_for("FAILPOINT before-first-chunk")
        running = request_status(store, org, "crash")
        assert (running["status"], running["counts"]) == ("in_progress", {"pending": 3, "assigned": 0, "failed": 0})
        child.terminate()  # SIGTERM, as a worker or an operator stops a process: Prefect calls it Crashed
        child.wait(timeout=60)
    finally:
        kill(child)
    crashed = request_status(store, org, "crash")
    assert (crashed["status"], crashed["counts"]["pending"]) == ("crashed", 3), crashed
    assert crashed["message"]

    result = cli("template", "start", template, "--resume", "--json")
    assert result.exit_code == 0, result.output
    resumed = request_status(store, org, "crash")
    assert (resumed["status"], resumed["counts"]) == ("completed", {"pending": 0, "assigned": 3, "failed": 0})
    assert resumed["flow_run_id"] != crashed["flow_run_id"] and "message" not in resumed
