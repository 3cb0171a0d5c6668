"""Processing one drop-folder request: claim, validate, create the template, upload, start, settle.

A rejected request leaves the inventory untouched (the draft template it created is deleted) and
its files, with their errors, in ``rejected/``. A request whose scanner died after claiming it is
taken over by a later scan once the claim is stale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import Engine

from phonesys.rules.audit import dropfolder_actor
from phonesys.rules.errors import Refused
from phonesys.rules.vocabulary import DRAFT
from phonesys.services.dropfolder import Outcome, RequestRef, read_manifest, settle, upload_keys
from phonesys.services.uploads import UploadSource, upload_files
from phonesys.storage.inventory import dropfolder as ledger
from phonesys.storage.inventory.audit import acting
from phonesys.storage.inventory.jobs import start_job
from phonesys.storage.inventory.template_views import template_detail
from phonesys.storage.inventory.templates import create_template, delete_template
from phonesys.storage.objects import ObjectStore


def process_request(engine: Engine, store: ObjectStore, ref: RequestRef,
                    on_claimed: Callable[[Outcome], object] | None = None) -> Outcome:
    """Claim ``ref`` and carry it to its end; ``on_claimed`` hears of the claim before the work starts."""
    claimed = Outcome(ref.name, ref.org_uuid, "skipped")
    engine = acting(engine, dropfolder_actor(ref.manifest_key), f"dropfolder:{ref.manifest_key}")
    claim = _claim(engine, ref)
    if claim is None:
        return claimed
    claim_id, recorded = claim
    if on_claimed:
        on_claimed(claimed)
    outcome = (_resumed(engine, recorded, claimed) if recorded else None) or _carry_out(
        engine, store, ref, claim_id, claimed)
    outcome = replace(outcome, status_key=settle(store, ref, outcome))
    ledger.finish(engine, claim_id, "rejected" if outcome.status == "rejected" else "processed",
                  str(outcome.status_key))
    return outcome


def _claim(engine: Engine, ref: RequestRef) -> tuple[int, str | None] | None:
    """(claim id, template a stale claim had recorded) when this scan gets the request, else None."""
    claim_id = ledger.claim(engine, ref.manifest_key, ref.version, ref.org_uuid, ref.name)
    if claim_id is not None:
        return claim_id, None
    return ledger.take_over_stale(engine, ref.manifest_key, ref.version)


def _carry_out(engine: Engine, store: ObjectStore, ref: RequestRef, claim_id: int, outcome: Outcome) -> Outcome:
    """Validate, create the template, upload, start; a refusal at any step rejects the whole request
    (and deletes the draft made for it), so ``outcome`` is rebuilt step by step to know what exists."""
    try:
        manifest = read_manifest(store, ref)
        outcome = replace(outcome, template_name=manifest.template)
        keys = upload_keys(store, ref)
        template_uuid = create_template(engine, ref.org_uuid, manifest.template, manifest.addons).uuid
        outcome = replace(outcome, template_uuid=template_uuid)
        ledger.record_template(engine, claim_id, template_uuid)
        upload_files(engine, store, template_uuid, [UploadSource(key=k) for k in keys])
        outcome = replace(outcome, status=DRAFT)
        if manifest.start:
            start_job(engine, template_uuid, policy=manifest.policy)
            outcome = replace(outcome, status="started")
        return outcome
    except Refused as refused:
        return replace(outcome, status="rejected", template_uuid=_discard_draft(engine, outcome.template_uuid),
                       problems=tuple(refused.problems))


def _resumed(engine: Engine, template_uuid: str, outcome: Outcome) -> Outcome | None:
    """After a takeover: a template already started needs only settling; a draft is redone (None)."""
    try:
        status = template_detail(engine, template_uuid, action="duplicate").status
    except Refused:
        return None
    if status == DRAFT:
        delete_template(engine, template_uuid)
        return None
    return replace(outcome, template_uuid=template_uuid, status="started")


def _discard_draft(engine: Engine, template_uuid: str | None) -> str | None:
    """Delete the request's draft; the template that remains (one already started: its run owns it)."""
    if template_uuid:
        try:
            delete_template(engine, template_uuid)
        except Refused:
            return template_uuid
    return None
