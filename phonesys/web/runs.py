"""Starting and reverting templates for the web: check in the request, run in a detached CLI process.

Design (issue 21: "a started template runs on the served deployment when there is one, otherwise in
a background worker of the web process"):

1. **Synchronously**, in the caller's request, the very functions ``phonesys template start`` and
   ``template revert`` call first: the Prefect API check (``check_configured_api``), then
   ``start_job`` / ``start_revert`` on an engine carrying the caller's audit actor. A refusal (not
   startable, pools short, org busy, Prefect down) is raised here with the CLI's codes, before any
   202, and the refused start is audited as the CLI's is. On success the holds are taken and the
   template is ``in_progress`` (or its revert plan is held) when this returns.
2. **Then** a detached child runs the CLI's own continuation, ``phonesys template start UUID
   --resume`` (or ``template revert UUID``, which resumes the plan just held), with
   ``PHONESYS_ACTOR`` set to the caller's actor. That path already hands the run to the served
   ``bulk-assignment`` deployment when one is served (``phonesys.ops.handoff``) and otherwise runs
   the flow itself, with the crash-safe resume, holds, reports and audit of the CLI, so the web
   adds no second way of running a template.

Why a process and not a thread or ``BackgroundTasks``: a flow run owns a Prefect client, an event
loop and (with ``PHONESYS_PREFECT_SERVER=temporary``) a server of its own; in the web process it
would share them with every request and die with a restart of the web server. The child has its
own session (``start_new_session``), so stopping or reloading ``phonesys web`` leaves the run going;
if the child dies anyway, the template stays ``in_progress`` with its holds and ``template start
--resume`` (or another launch) finishes it. Progress is read from the inventory (``GET
/templates/{t}``, ``/report``), which every chunk updates in its own transaction. The child's output
goes to ``$PHONESYS_HOME/runs/<template>.<kind>.log`` for operators; callers never see it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine

from phonesys.ops.prefect_api import check_configured_api
from phonesys.rules.vocabulary import CONTINUE
from phonesys.settings import Settings
from phonesys.storage.inventory.audit import acting
from phonesys.storage.inventory.engine import interactive, open_engine
from phonesys.storage.inventory.jobs import start_job
from phonesys.storage.inventory.results import StartPlan
from phonesys.storage.inventory.revert_plan import RevertPlan, start_revert

RunKind = Literal["start", "revert"]
LOG_FOLDER = "runs"


@dataclass(frozen=True)
class Launched:
    """A run handed to a child process: poll ``location`` (the template) until it is no longer
    ``in_progress`` (a start) or its ``revert`` is ``reverted`` (a revert)."""

    kind: RunKind
    template_uuid: str
    org_uuid: str
    pid: int
    log: str

    @property
    def location(self) -> str:
        return f"/api/v1/templates/{self.template_uuid}"


def engine_for(settings: Settings, actor: str, correlation: str | None = None) -> Engine:
    """The inventory engine a web request changes things with: the CLI's lock wait, the caller as actor."""
    engine = interactive(open_engine(settings.inventory_url), settings.lock_timeout)
    return acting(engine, actor, correlation)


def launch_start(settings: Settings, template_ref: str, actor: str, chunk_size: int | None = None, *,
                 policy: str = CONTINUE, correlation: str | None = None) -> Launched:
    """Start a draft template as ``actor`` and run it in the background; refusals raise before anything runs."""
    check_configured_api()
    plan: StartPlan = start_job(engine_for(settings, actor, correlation), template_ref, policy=policy,
                                chunk_size=chunk_size)
    arguments = ["template", "start", plan.uuid, "--resume", "--json"]
    if chunk_size is not None:
        arguments += ["--chunk-size", str(chunk_size)]
    return _spawn(settings, "start", plan.uuid, plan.org_uuid, actor, arguments)


def launch_revert(settings: Settings, template_ref: str, actor: str, chunk_size: int | None = None, *,
                  policy: str = CONTINUE, correlation: str | None = None) -> Launched:
    """Hold the revert plan of a completed template as ``actor`` and run it in the background."""
    check_configured_api()
    plan: RevertPlan = start_revert(engine_for(settings, actor, correlation), template_ref, policy=policy)
    arguments = ["template", "revert", plan.template_uuid, "--json", "--policy", policy]
    if chunk_size is not None:
        arguments += ["--chunk-size", str(chunk_size)]
    return _spawn(settings, "revert", plan.template_uuid, plan.org_uuid, actor, arguments)


def _spawn(settings: Settings, kind: RunKind, template_uuid: str, org_uuid: str, actor: str,
           arguments: list[str]) -> Launched:
    """The CLI in a child of its own session; a thread reaps it so no zombie is left behind."""
    log = settings.ensure_home() / LOG_FOLDER / f"{template_uuid}.{kind}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        child = subprocess.Popen([sys.executable, "-c", "from phonesys.cli import main; main()", *arguments],
                                 env=child_environment(settings, actor), stdin=subprocess.DEVNULL, stdout=output,
                                 stderr=subprocess.STDOUT, start_new_session=True, cwd=settings.home)
    threading.Thread(target=child.wait, name=f"reap-{kind}-{template_uuid[:8]}", daemon=True).start()
    return Launched(kind, template_uuid, org_uuid, child.pid, str(log))


def child_environment(settings: Settings, actor: str) -> dict[str, str]:
    """This process's environment with the settings it was given spelled out (a caller may have
    built ``settings`` differently from the environment) and the caller as the actor."""
    environment = {**os.environ, "PHONESYS_HOME": str(settings.home), "PHONESYS_ACTOR": actor,
                   "PHONESYS_DATABASE_URL": settings.inventory_url, "PHONESYS_STORAGE_URL": settings.objects_url,
                   "PHONESYS_LOCK_TIMEOUT": str(settings.lock_timeout)}
    return environment
