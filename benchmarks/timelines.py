"""Each bulk job's timeline, for ``benchmarks/scale_out.py``: where the wait between submitting a job's
flow run and its last row goes (picked up by a worker, flow started, first task, first and last
chunk, ended), read from Prefect's own timestamps; a slow job is then seen to be slow inside its
chunks or waiting between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STAGES = ("picked up", "flow started", "first task", "first chunk", "last chunk", "ended")


@dataclass(frozen=True)
class Timeline:
    """One job's moments, seconds after its submission: where the wait between submission and the
    last row goes. Picked up: the worker set it Pending; flow started: Running (its process
    started and imported the flow); first task: load-job began; first chunk: the first assign-chunk
    began (the slots are held by then); last chunk: the last one ended; ended: the final state."""

    seconds: dict[str, float | None]
    chunks: list[tuple[float, float]] = field(default_factory=list)  # each chunk task's start and end

    def line(self) -> str:
        marks = [f"{stage} {value:.1f}" for stage, value in self.seconds.items() if value is not None]
        runs = [end - start for start, end in self.chunks]
        gaps = [later[0] - earlier[1] for earlier, later in zip(self.chunks, self.chunks[1:])]
        return ("+" + ", +".join(marks) + f"; {len(runs)} chunks, slowest {max(runs, default=0):.1f}s, "
                f"longest gap between chunks {max(gaps, default=0):.1f}s")


def timeline(client: Any, run: Any, submitted: datetime) -> Timeline:
    """The run's stage moments from its state history and its task runs (Prefect's own timestamps)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    def since(moment: datetime | None) -> float | None:
        return None if moment is None else (moment - submitted).total_seconds()

    states = {state.type.value: state.timestamp for state in client.read_flow_run_states(run.id)}
    tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    chunks = [task for task in tasks if task.name.startswith("assign-chunk") and task.start_time and task.end_time]
    loads = [task.start_time for task in tasks if task.name.startswith("load-job") and task.start_time]
    moments = (states.get("PENDING"), states.get("RUNNING"), min(loads, default=None),
               min((task.start_time for task in chunks), default=None),
               max((task.end_time for task in chunks), default=None), run.end_time)
    spans = sorted((since(task.start_time) or 0.0, since(task.end_time) or 0.0) for task in chunks)
    return Timeline({stage: since(moment) for stage, moment in zip(STAGES, moments, strict=True)}, spans)


def timelines_of(runs: list, submitted: datetime) -> list[Timeline]:
    """Each run's timeline, in the order the runs ended."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        ordered = sorted(runs, key=lambda run: run.end_time or submitted)
        return [timeline(client, run, submitted) for run in ordered]
