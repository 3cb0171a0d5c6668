"""The steps of ``phonesys demo``, each a call into the same code the CLI and flows use."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from phonesys.demo import bulk_files as demo_bulk
from phonesys.demo import organization as demo
from phonesys.flows.run_template import Progress, RunEnd, run_template
from phonesys.rules.audit import change_summary
from phonesys.rules.errors import Refused
from phonesys.services.bulk_job import RowCounts
from phonesys.services.uploads import UploadSource, upload_files
from phonesys.settings import Settings
from phonesys.storage.inventory.jobs import start_job, status_counts
from phonesys.storage.inventory.results import OrgUsage
from phonesys.storage.inventory.templates import create_template
from phonesys.storage.inventory.usage import org_usage
from phonesys.storage.objects import ObjectStore, open_object_store

ProgressBar = Callable[[], AbstractContextManager[Progress | None]]
Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoResult:
    """What the demo ends with: the organization's usage, the template's counts, the files to look at."""

    template_uuid: str
    usage: OrgUsage  # the same table ``org show`` prints
    counts: RowCounts
    files: dict[str, str]  # label as printed -> location

    def as_dict(self) -> dict[str, Any]:
        """The ``phonesys demo --json`` document."""
        return {"template_uuid": self.template_uuid, "usage": self.usage.as_dict(),
                "counts": self.counts.in_ledger_order(), "files": dict(self.files)}


def run_scenario(engine: Engine, settings: Settings, say: Say,
                 progress_bar: ProgressBar = nullcontext) -> DemoResult:
    """``progress_bar`` is the front end's bar, shown while the rows are assigned."""
    document = demo.reset_demo_org(engine)
    say(f"Loaded {document.name} ({demo.DEMO_ORG_UUID}): {document.base_licenses:,} base licenses, "
        f"{len(document.numbers):,} numbers, {len(document.users):,} users")
    demo.manual_provisioning(engine, document, say)
    store = open_object_store(settings.objects_url)
    template = create_template(engine, demo.DEMO_ORG_UUID, "Demo onboarding", ["Call Recording"]).uuid
    say(f"Created template 'Demo onboarding' ({template}) with add-on Call Recording")
    _upload_with_mistakes_then_fixed(engine, store, settings, template, say)
    plan = start_job(engine, template)
    base = plan.pools["base_licenses"]
    say(f"Started: {len(plan.rows):,} rows; base licenses available "
        f"{base.available_before:,} -> {base.available_after:,}")
    say("Meanwhile another admin, by hand:")
    for line in demo_bulk.another_admin_meanwhile(engine):
        say(f"  {line}")
    with progress_bar() as on_progress:
        end = run_template(engine, template, on_progress=on_progress)
    assert isinstance(end, RunEnd), "run_template waits by default: a run it hands off is followed to its end"
    counts = RowCounts.of(status_counts(engine, template))
    say(f"Bulk assignment {(end.state.name or '').lower()}: {counts.assigned:,} assigned, {counts.failed:,} failed")
    _last_audit_events(engine, "101", say)
    return _result(engine, store, settings, template)


def _last_audit_events(engine: Engine, ext_key: str, say: Say, count: int = 4) -> None:
    """Who did what to one extension: the audit log every change above wrote."""
    from phonesys.storage.inventory.audit_queries import extension_history

    say(f"Audit trail of extension {ext_key}, last {count} events "
        f"(phonesys ext history {demo.DEMO_ORG_UUID} {ext_key}):")
    for event in extension_history(engine, demo.DEMO_ORG_UUID, ext_key)[-count:]:
        say(f"  {event.at[:19]}  {event.actor}  {event.action}  {change_summary(event.before, event.after)}")


def _upload_with_mistakes_then_fixed(engine: Engine, store: ObjectStore, settings: Settings, template: str,
                                     say: Say) -> None:
    folder = settings.home / "demo"
    broken = demo_bulk.write_csv(folder / "onboarding.csv", demo_bulk.broken_rows())
    try:
        upload_files(engine, store, template, [UploadSource(path=broken)])
    except Refused as refused:
        say(f"Uploaded {broken.name}: rejected with {len(refused.problems)} problems (nothing added):")
        for problem in refused.problems:
            say(f"  {problem}")
        say(f"  errors file: {refused.details['errors_files'][0]}")
    fixed = demo_bulk.write_csv(folder / "onboarding-fixed.csv", demo_bulk.clean_rows())
    accepted = upload_files(engine, store, template, [UploadSource(path=fixed)])
    say(f"Uploaded {fixed.name}: accepted, template now has {accepted.total_users:,} users")


def _result(engine: Engine, store: ObjectStore, settings: Settings, template: str) -> DemoResult:
    from phonesys.storage.inventory.template_views import template_detail

    detail = template_detail(engine, template, action="report")
    files = {"Inventory database:": make_url(settings.inventory_url).render_as_string(hide_password=True)}
    if detail.report_key:
        files["Assignment report:"] = store.location(detail.report_key)
    if detail.export_key:
        files["Provisioned extensions:"] = store.location(detail.export_key)
    return DemoResult(template_uuid=template, usage=org_usage(engine, demo.DEMO_ORG_UUID),
                      counts=RowCounts.of(status_counts(engine, template)), files=files)
