"""Faults between `template start` and its run, with real processes and real Prefect servers.

- The Prefect API goes away after the start took its holds: the CLI says so and names the command
  that resumes (exit 69), no traceback.
- `template start --wait` follows a handed-off run that dies: it ends when the run reaches a final
  state (crashed: exit 70, resume it) or when the template leaves in-progress because another run
  finished it (exit as that run's rows say), instead of following a dead run forever.

A `phonesys serve` child (its own process group, flow runs frozen between chunks by a failpoint)
serves the bulk deployment on the session's Prefect test server; the CLI under test is a real
`phonesys` process, as a shell runs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from phonesys.ops.handoff import served_deployment
from phonesys.ops.localserver import free_port, start_server, wait_healthy
from phonesys.storage.inventory.engine import dispose_engines
from phonesys.storage.inventory.jobs import status_counts
from tests.bulkfixtures import ROOT, StderrWatch, child_env, template_status
from tests.opsfixtures import delete_deployments, descendants, serve_env, started_template, wait_until

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "from phonesys.cli import main; main()"]


@pytest.fixture
def database_url(tmp_path):
    """One SQLite inventory shared by this test and its child processes."""
    yield f"sqlite:///{tmp_path / 'inventory.sqlite3'}"
    dispose_engines()


def spawn_cli(env: dict[str, str], *args: str) -> subprocess.Popen:
    """``phonesys ARGS`` in a new process; stderr is read by a StderrWatch, stdout at the end."""
    return subprocess.Popen([*CLI, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(process: subprocess.Popen, watch: StderrWatch, timeout: float) -> tuple[str, str]:
    """Wait for the CLI's exit (AssertionError if it is still following after ``timeout`` s)."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"still waiting after {timeout:.0f} s:\n" + "".join(filter(None, watch.lines))) from None
    wait_until(lambda: None in watch.lines, timeout=10, what="the end of its stderr")
    return process.stdout.read() if process.stdout else "", "".join(filter(None, watch.lines))


def test_a_server_lost_after_the_holds_names_the_resume_command(engine, phonesys_env, tmp_path):
    server = start_server(tmp_path / "prefect", port=free_port())
    go = tmp_path / "go"
    try:
        wait_healthy(server)
        _, template_uuid = started_template(engine, 3, name="Server lost", start=False)
        env = child_env(phonesys_env, server.api_url, PHONESYS_FAILPOINT="template-started",
                        PHONESYS_FAILPOINT_GO=str(go))
        child = spawn_cli(env, "template", "start", template_uuid, "--wait")
        watch = StderrWatch(child)
        watch.wait_for("FAILPOINT template-started", timeout=120)  # the API answered; holds are taken
    finally:
        server.stop()
    go.touch()
    stdout, stderr = finish(child, watch, timeout=120)
    assert child.returncode == 69, stdout + stderr
    assert f"error prefect-api-unreachable: The Prefect API at {server.api_url} stopped answering" in stderr
    assert f"run `phonesys template start {template_uuid} --resume`" in stderr
    for noise in ("Traceback", "internal-error", "ERROR"):
        assert noise not in stdout + stderr, stderr
    assert template_status(engine, template_uuid) == "in_progress"
    assert status_counts(engine, template_uuid) == {"pending": 3, "assigned": 0, "failed": 0}


@pytest.fixture
def frozen_serve(prefect_api_url, phonesys_env, tmp_path):
    """`phonesys serve` in its own session whose bulk runs freeze at their first `between-chunks`."""
    log = tmp_path / "serve.log"
    env = serve_env(phonesys_env, prefect_api_url, PHONESYS_FAILPOINT="between-chunks", PHONESYS_BULK_LIMITS="off")
    with log.open("wb") as output:
        serve = subprocess.Popen([*CLI, "serve"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        wait_until(lambda: serve.poll() is None and served_deployment(), timeout=120, what="phonesys serve to poll")
        yield serve, log
    finally:
        kill_tree(serve.pid)
        serve.wait()
        delete_deployments()


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and everything below it: nothing gets to tell the Prefect server."""
    for victim in [pid, *descendants(pid)]:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


def handed_off_and_frozen(engine, phonesys_env, prefect_api_url, log: Path, name: str):
    """A template handed to the frozen serve by `template start --wait` (a child), frozen after chunk 1."""
    _, template_uuid = started_template(engine, 5, name=name, start=False)
    child = spawn_cli(child_env(phonesys_env, prefect_api_url), "template", "start", template_uuid, "--wait",
                      "--json", "--chunk-size", "2")
    watch = StderrWatch(child)
    wait_until(lambda: "FAILPOINT between-chunks" in log.read_text(errors="replace"), timeout=120,
               what="the served run to freeze between chunks")
    return template_uuid, child, watch


def test_waiting_ends_when_another_run_completes_the_template(engine, phonesys_env, prefect_api_url, frozen_serve,
                                                              cli):
    serve, log = frozen_serve
    template_uuid, child, watch = handed_off_and_frozen(engine, phonesys_env, prefect_api_url, log, "Dead run")
    kill_tree(serve.pid)  # the serving machine is gone: its run stays Running on the server forever

    result = cli("template", "start", template_uuid, "--resume", "--foreground")
    assert result.exit_code == 0, result.output

    stdout, stderr = finish(child, watch, timeout=120)  # the dead run gets ELSEWHERE_GRACE (30 s) to end
    assert child.returncode == 0, stdout + stderr
    document = json.loads(stdout)
    assert document["completed_elsewhere"] is True and document["status"] == "completed"
    assert document["counts"] == {"pending": 0, "assigned": 5, "failed": 0}
    assert document["note"] == f"the template was completed by another run: see `phonesys template report {template_uuid}`"
    assert "Traceback" not in stderr


def test_waiting_ends_when_the_handed_off_run_crashes(engine, phonesys_env, prefect_api_url, frozen_serve):
    serve, log = frozen_serve
    template_uuid, child, watch = handed_off_and_frozen(engine, phonesys_env, prefect_api_url, log, "Crashed run")
    for pid in descendants(serve.pid):  # the flow run's process only: the runner reports it Crashed
        os.kill(pid, signal.SIGKILL)

    stdout, stderr = finish(child, watch, timeout=120)
    assert child.returncode == 70, stdout + stderr
    document = json.loads(stdout)
    run_id = document["flow_run_id"]
    assert (document["ok"], document["flow_state"], document["status"]) == (False, "Crashed", "in_progress")
    assert (f"error flow-failed: the run {run_id} crashed; 3 rows are pending: run "
            f"`phonesys template start {template_uuid} --resume`") in stderr
    assert "Traceback" not in stderr
