"""Real OS processes racing for the same licenses, keys, users and numbers, on both backends.

Each child is a fresh ``python -c`` process that opens its own engine from the database URL,
signals it is ready, waits for a shared "go" file (a barrier, so the calls really overlap), runs
its operations and prints one JSON line of outcomes. The parent then checks that the winners got
exactly what they asked for, every loser was refused with the right code, and the database still
satisfies the invariants (docs/invariants.md#license-counts, docs/invariants.md#one-owner). One
test runs the same race through the CLI; the last one reads usage figures while writers run, which
must always show a single committed state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from itertools import chain
from pathlib import Path

import pytest

from phonesys.rules.orgfile import OrgDocument
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.provisioning import provision
from phonesys.storage.inventory.usage import org_usage
from phonesys.storage.inventory.views import list_extensions
from tests.conftest import make_document
from tests.invariants import assert_invariants

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PHONESYS = Path(sys.executable).with_name("phonesys")
# Writers lock their organization first, so a loser always gets the precise business code; the
# constraint backstop ("inventory-conflict") firing would mean the lock did not serialize them.

CHILD = r"""
import json, sys, time
from pathlib import Path
from phonesys.rules.errors import Refused, TransientError
from phonesys.storage.inventory import extensions as ext, provisioning
from phonesys.storage.inventory.engine import open_engine
from phonesys.storage.inventory.jobs import start_job

url, barrier, name, ops = sys.argv[1], Path(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
calls = {"provision": provisioning.provision, "assign_user": ext.assign_user, "set_number": ext.set_number,
         "set_addons": ext.set_addons,
         "delete": lambda engine, org, key: provisioning.delete_extension(engine, org, key).as_dict(),
         "rename": lambda engine, org, key, new: ext.edit_extension(engine, org, key, new_key=new).as_dict(),
         "start": lambda engine, template: start_job(engine, template, chunk_size=10).uuid}
engine = open_engine(url)  # connects and checks the schema before the race starts
(barrier / f"ready-{name}").touch()
deadline = time.monotonic() + 60
while not (barrier / "go").exists():
    if time.monotonic() > deadline:
        sys.exit("no go signal within 60 s")
    time.sleep(0.0005)
outcomes = []
for op, *args in ops:
    try:
        outcomes.append({"op": op, "args": args, "ok": True, "result": calls[op](engine, *args)})
    except Refused as refused:
        outcomes.append({"op": op, "args": args, "ok": False,
                         "problems": [[p.code, p.value] for p in refused.problems]})
    except TransientError as exc:
        outcomes.append({"op": op, "args": args, "ok": False, "problems": [["transient", str(exc)]]})
print(json.dumps(outcomes))
"""


def race(database_url: str, barrier: Path, jobs: list[list[list]], while_running=None) -> list[dict]:
    """Run one child per job (a list of ``[op, *args]``) all at once; returns every outcome.

    ``while_running(children)`` runs in this process once the children are released.
    """
    barrier.mkdir()
    children = [subprocess.Popen([sys.executable, "-c", CHILD, database_url, str(barrier), str(i), json.dumps(ops)],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for i, ops in enumerate(jobs)]
    try:
        deadline = time.monotonic() + 90
        while len(list(barrier.glob("ready-*"))) < len(children):
            failed = [c for c in children if c.poll() is not None]
            assert not failed, f"a child died before the race: {failed[0].communicate()[1][-3000:]}"
            assert time.monotonic() < deadline, "children did not get ready within 90 s"
            time.sleep(0.01)
        (barrier / "go").touch()
        if while_running is not None:
            while_running(children)
        results = [(c, *c.communicate(timeout=120)) for c in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    for child, _stdout, stderr in results:
        assert child.returncode == 0, f"child failed ({child.returncode}): {stderr[-3000:]}"
    return list(chain.from_iterable(json.loads(stdout.strip().splitlines()[-1]) for _, stdout, _ in results))


def codes(outcome: dict) -> set[str]:
    return {code for code, _ in outcome.get("problems", [])}


def setup_org(engine, **document_options) -> OrgDocument:
    document = make_document(number_prefix="+656", **document_options)  # +65 and 8 digits: valid numbers
    load_org(engine, document)
    return document


def keys_of(engine, org_uuid: str) -> list[str]:
    return [e["ext_key"] for e in list_extensions(engine, org_uuid)]


def test_base_licenses_never_oversubscribed(engine, database_url, tmp_path):
    org = setup_org(engine, base=11).org_uuid
    # 6 processes x 3 requests x 2 extensions = 36 wanted, 11 licenses: 5 requests can win
    jobs = [[["provision", org, 2, str(100 * (i + 1) + 10 * j)] for j in range(3)] for i in range(6)]
    outcomes = race(database_url, tmp_path / "barrier", jobs)

    winners = [o for o in outcomes if o["ok"]]
    losers = [o for o in outcomes if not o["ok"]]
    for o in winners:
        start = int(o["args"][2])
        assert o["result"] == [str(start), str(start + 1)]
    assert all(codes(o) <= {"base-licenses-insufficient"} and codes(o) for o in losers), losers
    assert len(winners) <= 5
    if any("base-licenses-insufficient" in codes(o) for o in losers):  # licenses only ever ran out
        assert len(winners) == 5, outcomes
    assert keys_of(engine, org) == sorted(chain.from_iterable(o["result"] for o in winners), key=int)
    assert org_usage(engine, org).base_licenses.used == 2 * len(winners)
    assert_invariants(engine)


def test_overlapping_key_ranges_never_duplicate(engine, database_url, tmp_path):
    org = setup_org(engine, base=40).org_uuid
    # ranges 100-102, 101-103, ..., 104-106 and 200-202, 202-204, ..., 208-210 all overlap a neighbour
    jobs = [[["provision", org, 3, str(100 + i)], ["provision", org, 3, str(200 + 2 * i)]] for i in range(5)]
    outcomes = race(database_url, tmp_path / "barrier", jobs)

    winners = [o for o in outcomes if o["ok"]]
    won_keys = list(chain.from_iterable(o["result"] for o in winners))
    assert len(won_keys) == len(set(won_keys)), f"a key was created twice: {outcomes}"
    assert {o["args"][2][0] for o in winners} == {"1", "2"}, "each key range has a first winner"
    for o in (o for o in outcomes if not o["ok"]):
        assert codes(o) <= {"ext-key-exists"} and codes(o), o
        taken = [value for code, value in o["problems"] if code == "ext-key-exists"]
        assert set(taken) <= set(won_keys), f"refused for keys nobody holds: {o}"
    assert keys_of(engine, org) == sorted(won_keys, key=int)
    assert org_usage(engine, org).base_licenses.used == len(won_keys)
    assert_invariants(engine)


def test_one_user_one_number_one_key_one_winner(engine, database_url, tmp_path):
    document = setup_org(engine, base=10, addons={"Call Recording": 2}, numbers=3, users=3)
    org = document.org_uuid
    user, number = document.users[0], document.numbers[0]
    keys = provision(engine, org, 6, "101")
    # every process: take the same user (by UUID or by name), the same number, one of 2 add-on
    # licenses, and rename its own extension to the same new key
    jobs = [[["assign_user", org, key, user.identity_uuid if i % 2 else user.name.upper()],
             ["set_number", org, key, number],
             ["set_addons", org, key, ["Call Recording"]],
             ["rename", org, key, "999"]] for i, key in enumerate(keys)]
    outcomes = race(database_url, tmp_path / "barrier", jobs)

    def winners_of(op: str, loser_code: str, expected: int) -> list[str]:
        mine = [o for o in outcomes if o["op"] == op]
        won = [o["args"][1] for o in mine if o["ok"]]
        assert len(won) == expected, f"{op}: {len(won)} winners, expected {expected}: {mine}"
        assert all(codes(o) <= {loser_code} and codes(o) for o in mine if not o["ok"]), mine
        return won

    [user_winner] = winners_of("assign_user", "user-assigned", 1)
    [number_winner] = winners_of("set_number", "number-assigned", 1)
    addon_winners = winners_of("set_addons", "addon-licenses-insufficient", 2)
    [renamed] = winners_of("rename", "ext-key-exists", 1)

    def current(key: str) -> str:
        return "999" if key == renamed else key

    by_key = {e["ext_key"]: e for e in list_extensions(engine, org)}
    assert sorted(by_key) == sorted(current(k) for k in keys)
    assert [k for k, e in by_key.items() if e["user"]] == [current(user_winner)]
    assert by_key[current(user_winner)]["user"]["identity_uuid"] == user.identity_uuid
    assert [k for k, e in by_key.items() if e["number"]] == [current(number_winner)]
    assert sorted(k for k, e in by_key.items() if e["addons"]) == sorted(current(k) for k in addon_winners)
    assert org_usage(engine, org).addons["Call Recording"].used == 2
    assert_invariants(engine)


def test_cli_provision_race(engine, phonesys_env, tmp_path):
    org = setup_org(engine, base=7).org_uuid
    env = {**os.environ, **phonesys_env}
    starts = [str(100 * (i + 1)) for i in range(5)]  # 5 x 3 wanted, 7 licenses: 2 can win
    children = [subprocess.Popen([str(PHONESYS), "provision", org, "--count", "3", "--start", start, "--json"],
                                 cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for start in starts]
    results = [(start, child.returncode, json.loads(out)) for start, child, (out, _err)
               in ((s, c, c.communicate(timeout=120)) for s, c in zip(starts, children))]

    won = []
    for start, exit_code, document in results:
        assert exit_code in (0, 1), (start, exit_code, document)
        assert document["ok"] is (exit_code == 0), document
        if exit_code == 0:
            assert document["ext_keys"] == [str(int(start) + i) for i in range(3)]
            won += document["ext_keys"]
        else:
            assert isinstance(document["problems"], list) and document["problems"], document
            assert all(p["code"] in {"base-licenses-insufficient"} and p["message"]
                       for p in document["problems"]), document
    assert len(won) <= 6
    if any(exit_code == 1 and document["problems"][0]["code"] == "base-licenses-insufficient"
           for _, exit_code, document in results):
        assert len(won) == 6, results
    assert keys_of(engine, org) == sorted(won, key=int)
    assert org_usage(engine, org).base_licenses.used == len(won)
    assert_invariants(engine)


def test_reads_are_consistent_snapshots_while_writers_run(engine, database_url, tmp_path):
    org = setup_org(engine, base=20).org_uuid
    # two writers: provision 3 extensions, delete them one by one, 25 times over
    jobs = [([["provision", org, 3, str(start)]] + [["delete", org, str(start + i)] for i in range(3)]) * 25
            for start in (100, 200)]
    torn: list[dict] = []
    reads = []

    def read_while(children):
        deadline = time.monotonic() + 60  # children print only at the end, well under a pipe buffer
        while any(child.poll() is None for child in children) and time.monotonic() < deadline:
            usage = org_usage(engine, org)
            reads.append(usage)
            if usage.base_licenses.used != usage.extensions.total:
                torn.append(usage)

    outcomes = race(database_url, tmp_path / "barrier", jobs, while_running=read_while)
    assert all(o["ok"] for o in outcomes), [o for o in outcomes if not o["ok"]]
    assert len(reads) > 10, "the writers finished before the reader got going"
    assert not torn, f"{len(torn)} of {len(reads)} usage reports mixed two states, e.g. {torn[0]}"
    assert_invariants(engine)
