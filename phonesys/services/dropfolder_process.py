"""Processing one drop-folder request: claim, validate, create the template, upload, start, settle.

A rejected request leaves the inventory untouched (the draft template it created is deleted) and
its files, with their errors, in ``rejected/``. A request whose scanner died after claiming it is
taken over by a later scan once the claim is stale.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from phonesys.rules.errors import Refused
from phonesys.services.dropfolder import Outcome, RequestRef, read_manifest, settle, upload_keys
from phonesys.services.uploads import UploadSource, upload_files
from phonesys.storage.inventory import dropfolder as ledger
from phonesys.storage.inventory.jobs import start_job
from phonesys.storage.inventory.template_views import template_detail
from phonesys.storage.inventory.templates import create_template, delete_template


def process_request(engine: Engine, store, ref: RequestRef,
                    on_claimed: Callable[[Outcome], None] | None = None) -> Outcome:
    """Claim ``ref`` and carry it to its end; ``on_claimed`` hears of the claim before the work starts."""
    outcome = Outcome(ref.name, ref.org_uuid, "skipped")
    claim_id = ledger.claim(engine, ref.manifest_key, ref.version, ref.org_uuid, ref.name)
    recorded = None
    if claim_id is None:
        taken = ledger.take_over_stale(engine, ref.manifest_key, ref.version)
        if taken is None:
            return outcome
        claim_id, recorded = taken
    if on_claimed:
        on_claimed(outcome)
    try:
        _prepare(engine, store, ref, claim_id, outcome, recorded)
    except Refused as refused:
        _discard_draft(engine, outcome)
        outcome.status, outcome.problems = "rejected", [p.as_dict() for p in refused.problems]
    status_key = settle(store, ref, outcome)
    ledger.finish(engine, claim_id, "rejected" if outcome.status == "rejected" else "processed", status_key)
    return outcome


def _prepare(engine: Engine, store, ref: RequestRef, claim_id: int, outcome: Outcome,
             recorded: str | None) -> None:
    if recorded and _resumed(engine, recorded, outcome):
        return
    manifest = read_manifest(store, ref)
    outcome.template_name = manifest.template
    keys = upload_keys(store, ref)
    outcome.template_uuid = create_template(engine, ref.org_uuid, manifest.template, manifest.addons)["uuid"]
    ledger.record_template(engine, claim_id, outcome.template_uuid)
    upload_files(engine, store, outcome.template_uuid, [UploadSource(key=k) for k in keys])
    outcome.status = "draft"
    if manifest.start:
        start_job(engine, outcome.template_uuid, policy=manifest.policy)
        outcome.status = "started"


def _resumed(engine: Engine, template_uuid: str, outcome: Outcome) -> bool:
    """After a takeover: a template already started needs only settling; a draft is redone."""
    try:
        status = template_detail(engine, template_uuid, action="duplicate")["status"]
    except Refused:
        return False
    if status == "draft":
        delete_template(engine, template_uuid)
        return False
    outcome.template_uuid, outcome.status = template_uuid, "started"
    return True


def _discard_draft(engine: Engine, outcome: Outcome) -> None:
    if outcome.template_uuid:
        try:
            delete_template(engine, outcome.template_uuid)
        except Refused:  # already started: keep it, the run owns it now
            return
        outcome.template_uuid = None
