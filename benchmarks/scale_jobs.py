"""The scale-out benchmark's data: started templates for many organizations, and the check afterwards.

``build_jobs`` loads N organizations, each with R users, R base and add-on licenses and a number
for every third row, and starts one R-row template per organization, the way a validated upload and
``template start`` would (no CSV parsing: that is not what is measured). Numbers are globally
unique (a number belongs to one organization), so each benchmark round gets its own range.
``job_violations`` is the verdict: every invariant of docs/invariants.md over the whole database, plus, per
template, the ledger (every row assigned exactly once) and completion.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

import pyarrow as pa
from sqlalchemy import Engine

from phonesys.rules.orgfile import OrgDocument, UserEntry
from phonesys.storage.inventory.jobs import start_job, status_counts
from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.templates import AcceptedFile, accept_files, create_template
from tests.invariant_queries import invariant_violations, ledger_violations

ADDON = "Call Recording"
_RUN_TAG = random.randrange(100_000)  # numbers of two benchmark runs in one database never collide


@dataclass(frozen=True)
class Job:
    org_uuid: str
    template_uuid: str
    rows: int


def build_jobs(engine: Engine, orgs: int, rows: int, serial: int, chunk_size: int = 500) -> list[Job]:
    """``orgs`` organizations, each with a started ``rows``-row template; ``serial`` numbers the round."""
    return [_started_job(engine, rows, serial * 1000 + index, chunk_size) for index in range(orgs)]


def _started_job(engine: Engine, rows: int, tag: int, chunk_size: int) -> Job:
    org = _organization(rows, tag)
    load_org(engine, org)
    template_uuid = create_template(engine, org.org_uuid, f"Scale-out {tag}", [ADDON]).uuid
    table = pa.table({"row": pa.array(range(2, rows + 2), pa.int64()),
                      "ext_key": [str(10_000 + i) for i in range(rows)],
                      "identity_uuid": [user.identity_uuid for user in org.users],
                      "user_name": [user.name for user in org.users],
                      "number": [org.numbers[i // 3] if i % 3 == 0 else None for i in range(rows)]})
    accept_files(engine, template_uuid, [AcceptedFile("users.csv", None, uuid.uuid4().hex * 2, "uuid", table)])
    start_job(engine, template_uuid, chunk_size=chunk_size)
    return Job(org.org_uuid, template_uuid, rows)


def _organization(rows: int, tag: int) -> OrgDocument:
    if not 1 <= rows <= 15_000:
        raise ValueError("a template holds 1 to 15,000 rows")
    return OrgDocument(org_uuid=str(uuid.uuid4()), name=f"Scale-out org {tag}", base_licenses=rows,
                       addons={ADDON: rows},
                       numbers=[f"+1{_RUN_TAG:05d}{tag:04d}{i:05d}" for i in range(-(-rows // 3))],
                       users=[UserEntry(identity_uuid=str(uuid.uuid4()), name=f"User {i:05d}") for i in range(rows)])


def job_violations(engine: Engine, jobs: list[Job]) -> list[str]:
    """What is wrong after the jobs ended: broken invariants, rows not assigned exactly once."""
    found = invariant_violations(engine)
    for job in jobs:
        found += ledger_violations(engine, job.template_uuid)
        counts = status_counts(engine, job.template_uuid)
        if counts != {"pending": 0, "assigned": job.rows, "failed": 0}:
            found.append(f"template {job.template_uuid}: expected all {job.rows} rows assigned, got {counts}")
    return found
