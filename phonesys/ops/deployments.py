"""The deployments of ``prefect.yaml``, read for ``phonesys serve``: one list, two ways to run it.

``prefect deploy --all`` registers them on the process work pool for Prefect workers; ``phonesys
serve`` reads the same file here and serves them from one process without a pool. Reading the file
(rather than repeating its contents in Python) keeps names, schedules, triggers, parameters and
tags from drifting apart; tests/test_prefect_yaml.py proves both paths register the same thing.

Schedules and triggers are turned into Prefect objects the way ``prefect deploy`` does it (same
fields, same defaults), using Prefect's public schema classes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.deployments.runner import RunnerDeployment
    from prefect.events import DeploymentTriggerTypes, TriggerTypes

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # phonesys/ops/deployments.py -> the checkout
PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"


@dataclass(frozen=True)
class DeploymentSpec:
    """One entry of ``deployments:`` with only the fields both ways of running it use."""

    name: str
    entrypoint: str  # flows/<module>.py:<function>, relative to the project root
    description: str = ""
    tags: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    triggers: list[dict[str, Any]] = field(default_factory=list)
    work_pool: str | None = None
    concurrency_limit: dict[str, Any] | None = None  # {"limit": N, "collision_strategy": ...}


def load_specs(path: Path = PREFECT_YAML) -> list[DeploymentSpec]:
    """The deployments of ``path`` (YAML anchors from ``definitions:`` already resolved)."""
    document = yaml.safe_load(path.read_text()) or {}
    return [DeploymentSpec(name=entry["name"], entrypoint=entry["entrypoint"],
                           description=entry.get("description") or "", tags=list(entry.get("tags") or []),
                           parameters=dict(entry.get("parameters") or {}),
                           schedules=list(entry.get("schedules") or []), triggers=list(entry.get("triggers") or []),
                           work_pool=(entry.get("work_pool") or {}).get("name"),
                           concurrency_limit=entry.get("concurrency_limit"))
            for entry in document.get("deployments") or []]


def module_and_function(entrypoint: str) -> tuple[str, str]:
    """``flows/drop_folder.py:drop_folder_scan`` -> (``phonesys.flows.drop_folder``, ``drop_folder_scan``)."""
    path, _, function = entrypoint.partition(":")
    if not path.endswith(".py") or not function:
        raise ValueError(f"entrypoint {entrypoint!r} is not <path>.py:<function>")
    return "phonesys." + path.removesuffix(".py").replace("/", "."), function


def load_flow(entrypoint: str) -> Flow[..., Any]:
    """Import the flow by module (not by file path) so it is the same object the CLI and tests use."""
    from prefect import Flow

    module, function = module_and_function(entrypoint)
    found = getattr(importlib.import_module(module), function)
    if not isinstance(found, Flow):
        raise TypeError(f"{entrypoint} is a {type(found).__name__}, not a Prefect flow")
    return found


def schedule_objects(spec: DeploymentSpec) -> list[dict[str, Any]]:
    """Each schedule as ``{"schedule": CronSchedule | IntervalSchedule, ...}``, as prefect deploy builds it."""
    return [_schedule_object(config) for config in spec.schedules]


def _schedule_object(config: dict[str, Any]) -> dict[str, Any]:
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

    timezone = {"timezone": config["timezone"]} if config.get("timezone") else {}
    if config.get("cron"):
        day_or = {"day_or": config["day_or"]} if config.get("day_or") is not None else {}
        schedule: CronSchedule | IntervalSchedule = CronSchedule(cron=config["cron"], **timezone, **day_or)
    elif config.get("interval"):
        interval = config["interval"]
        seconds = timedelta(seconds=interval) if isinstance(interval, (int, float)) else interval
        schedule = IntervalSchedule(interval=seconds, **timezone)
    else:
        raise ValueError(f"schedule {config} has neither cron nor interval")
    extras = {name: config[name] for name in ("active", "parameters", "slug") if config.get(name) not in (None, {})}
    return {"schedule": schedule, **extras}


def trigger_objects(spec: DeploymentSpec) -> list[DeploymentTriggerTypes | TriggerTypes]:
    """Each trigger validated as a deployment trigger; unnamed ones get prefect deploy's default name."""
    from prefect.events import DeploymentTriggerTypes
    from pydantic import TypeAdapter

    adapter = TypeAdapter(DeploymentTriggerTypes)
    return [adapter.validate_python({"name": f"{spec.name}__automation_{number}", **trigger})
            for number, trigger in enumerate(spec.triggers, start=1)]


def runner_deployment(spec: DeploymentSpec) -> RunnerDeployment:
    """The spec as a deployment ``prefect.serve`` can run: no work pool, entrypoint by module path,
    so served runs import the installed code whatever the current directory."""
    from prefect.deployments.runner import RunnerDeployment
    from prefect.types.entrypoint import EntrypointType

    deployment = load_flow(spec.entrypoint).to_deployment(
        name=spec.name, description=spec.description or None, tags=spec.tags, parameters=spec.parameters,
        schedules=schedule_objects(spec), triggers=trigger_objects(spec),
        concurrency_limit=concurrency_config(spec), entrypoint_type=EntrypointType.MODULE_PATH)
    if not isinstance(deployment, RunnerDeployment):  # a coroutine only inside an event loop
        raise TypeError(f"{spec.name}: to_deployment returned {type(deployment).__name__}")
    return deployment


def concurrency_config(spec: DeploymentSpec) -> ConcurrencyLimitConfig | None:
    """The deployment's concurrency limit as Prefect's config object (None: unlimited)."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig

    return ConcurrencyLimitConfig(**spec.concurrency_limit) if spec.concurrency_limit else None


def runner_deployments(path: Path = PREFECT_YAML) -> list[RunnerDeployment]:
    return [runner_deployment(spec) for spec in load_specs(path)]
