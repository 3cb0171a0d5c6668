"""Prefect's temporary server for `template start` without PREFECT_API_URL, with real processes.

A `phonesys template start` killed outright leaves no server behind, and starts running at the same
time with one PREFECT_HOME all succeed with clean output (``phonesys.ops.tempserver``). The CLI
runs as a shell runs it: a new process with no PREFECT_API_URL and a fresh PREFECT_HOME.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phonesys.ops.prefect_env import QUIET_PREFECT
from phonesys.storage.inventory.engine import dispose_engines
from tests.bulkfixtures import ROOT, StderrWatch
from tests.opsfixtures import started_template, wait_until

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "from phonesys.cli import main; main()"]


@pytest.fixture
def database_url(tmp_path):
    """One SQLite inventory shared by this test and its child processes."""
    yield f"sqlite:///{tmp_path / 'inventory.sqlite3'}"
    dispose_engines()


def local_env(phonesys_env: dict[str, str], prefect_home: Path, **extra: str) -> dict[str, str]:
    """No PREFECT_API_URL (Prefect's temporary server), ``prefect_home`` as PREFECT_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHONESYS_FAILPOINT"))}
    env.update({**QUIET_PREFECT, **phonesys_env}, PREFECT_HOME=str(prefect_home), PYTHONPATH=str(ROOT))
    env.pop("PREFECT_LOGGING_LEVEL")  # as a shell runs it: phonesys sets its own level
    env.update(extra)
    return env


def using_home(prefect_home: Path) -> list[int]:
    """Live processes whose environment names ``prefect_home`` (the CLI and any server it started)."""
    wanted = f"PREFECT_HOME={prefect_home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and wanted in (entry / "environ").read_bytes().split(b"\0") \
                    and "Z" not in (entry / "stat").read_text().rsplit(")", 1)[1].split()[:1]:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_killed_start_leaves_no_temporary_server(engine, phonesys_env, tmp_path):
    prefect_home = tmp_path / "prefect-home"
    _, template_uuid = started_template(engine, 6, name="Killed", start=False)
    child = subprocess.Popen([*CLI, "template", "start", template_uuid, "--wait", "--chunk-size", "2"], cwd=ROOT,
                             env=local_env(phonesys_env, prefect_home, PHONESYS_FAILPOINT="between-chunks"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        StderrWatch(child).wait_for("FAILPOINT between-chunks", timeout=180)  # mid-run: the server answers
        servers = [pid for pid in using_home(prefect_home) if pid != child.pid]
        assert servers, "no temporary Prefect server found"
        child.send_signal(signal.SIGKILL)
        child.wait()
        wait_until(lambda: not using_home(prefect_home), timeout=30, what="the temporary server to stop")
    finally:
        for pid in using_home(prefect_home):
            os.kill(pid, signal.SIGKILL)


def test_concurrent_starts_sharing_prefect_home_succeed_with_clean_output(engine, phonesys_env, tmp_path):
    """Three at once, as three admins or a cron job and an admin would: same PHONESYS_HOME and PREFECT_HOME."""
    prefect_home = tmp_path / "prefect-home"
    templates = [started_template(engine, 4, name=f"Concurrent {n}", start=False)[1] for n in range(3)]
    env = local_env(phonesys_env, prefect_home)
    children = [subprocess.Popen([*CLI, "template", "start", template_uuid, "--wait"], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for template_uuid in templates]
    started = time.monotonic()
    outputs = [child.communicate(timeout=max(1.0, 600 - (time.monotonic() - started))) for child in children]
    for child, (stdout, stderr) in zip(children, outputs):
        assert child.returncode == 0, stdout + stderr
        assert "run Completed: 4 of 4 rows assigned" in stdout
        assert [line for line in stderr.splitlines() if line.strip() and not line.startswith("assigning")] == [], \
            stderr
    assert not using_home(prefect_home), "a temporary server outlived its run"
    # what the servers printed (Prefect's retried ERRORs under load among it) is kept beside their databases
    assert list(prefect_home.glob("prefect*.db.server.log")), sorted(prefect_home.iterdir())
