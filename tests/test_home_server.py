"""The lasting local Prefect server of a PHONESYS_HOME (``phonesys.ops.homeserver``), with real processes.

Commands run as a shell runs them: new processes, no PREFECT_API_URL, a fresh PHONESYS_HOME, and
``PHONESYS_PREFECT_SERVER=lasting`` (the default the test suite turns off). The first command that
runs a flow starts the server and says so; the next ones reuse it; two commands racing start one;
a server killed with SIGKILL, or a record copied from another home, is replaced by a new server;
``phonesys server stop`` ends it for real.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from phonesys.ops.homeserver import is_prefect_server, read_record, server_dir
from phonesys.ops.prefect_env import QUIET_PREFECT
from tests.bulkfixtures import ROOT
from tests.opsfixtures import wait_until

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "from phonesys.cli import main; main()"]
STARTED = "started a local Prefect server"


def home_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHONESYS_"))}
    env.update(QUIET_PREFECT, PHONESYS_HOME=str(home), PHONESYS_PREFECT_SERVER="lasting",
               PREFECT_HOME=str(home.parent / f"{home.name}-prefect-profile"), PYTHONPATH=str(ROOT))
    return env


def phonesys(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=home_env(home), capture_output=True, text=True, timeout=300)


def scan(home: Path) -> subprocess.Popen[str]:
    """``phonesys dropfolder scan --json``, nothing to do: the smallest command that runs a flow."""
    return subprocess.Popen([*CLI, "dropfolder", "scan", "--json"], env=home_env(home), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen[str]) -> tuple[str, str]:
    out, err = finished_with(process)
    assert json.loads(out)["found"] == 0
    return out, err


def finished_with(process: subprocess.Popen[str]) -> tuple[str, str]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out, err


def status(home: Path) -> dict:
    done = phonesys(home, "server", "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def gone(pid: int) -> bool:
    return not is_prefect_server(pid)


@pytest.fixture
def homes(tmp_path) -> Iterator[list[Path]]:
    """Fresh homes; whatever server a test leaves in them is killed afterwards."""
    made: list[Path] = []
    yield made
    for home in made:
        record = read_record(home)
        if record is not None and is_prefect_server(record.pid):
            os.killpg(record.pid, signal.SIGKILL)


def new_home(homes: list[Path], root: Path, name: str) -> Path:
    home = root / name
    homes.append(home)
    return home


def test_the_first_command_starts_one_server_racing_commands_share_and_stop_ends_it(homes, tmp_path):
    home = new_home(homes, tmp_path, "home")
    first, second = scan(home), scan(home)  # racing: both need a server, neither finds one yet
    errors = [finished(first)[1], finished(second)[1]]
    assert sum(STARTED in err for err in errors) == 1, errors
    record = read_record(home)
    assert record is not None and is_prefect_server(record.pid)
    servers = [pid for pid in _pids() if _environ(pid).get("PREFECT_HOME") == str(server_dir(home))]
    assert servers == [record.pid]
    assert STARTED not in finished(scan(home))[1]  # a later command reuses it
    assert read_record(home) == record
    now = status(home)
    assert (now["running"], now["answering"], now["pid"], now["api_url"]) == (True, True, record.pid, record.api_url)
    stopped = phonesys(home, "server", "stop")
    assert stopped.returncode == 0 and f"pid {record.pid}" in stopped.stdout, stopped.stderr
    assert gone(record.pid)
    assert status(home)["running"] is False and read_record(home) is None


def test_a_killed_server_is_replaced_by_the_next_command(homes, tmp_path):
    home = new_home(homes, tmp_path, "home")
    started = phonesys(home, "server", "start", "--json")
    assert started.returncode == 0, started.stderr
    killed = json.loads(started.stdout)["pid"]
    os.killpg(killed, signal.SIGKILL)
    wait_until(lambda: gone(killed), timeout=30, what="the killed server to be gone")
    assert status(home)["running"] is False  # a record naming a dead pid is not believed
    _, err = finished(scan(home))
    assert STARTED in err
    record = read_record(home)
    assert record is not None and record.pid != killed and status(home)["answering"] is True


def test_a_record_copied_from_another_home_starts_a_server_of_its_own(homes, tmp_path):
    original = new_home(homes, tmp_path, "original")
    assert phonesys(original, "server", "start").returncode == 0
    theirs = read_record(original)
    assert theirs is not None
    copy = new_home(homes, tmp_path, "copy")
    shutil.copytree(original, copy, ignore=shutil.ignore_patterns("*.db*", "server.log"))
    _, err = finished(scan(copy))
    assert STARTED in err
    ours = read_record(copy)
    assert ours is not None and ours.pid != theirs.pid and ours.home == str(copy)
    assert is_prefect_server(theirs.pid)  # the other home's server was left alone


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def test_make_serve_replaces_the_background_server_and_lends_commands_its_own(homes, tmp_path):
    """``make serve`` on a home whose commands started a server: that one is stopped (one database,
    one server), make serve's is recorded while it runs, so commands use it, and forgotten at Ctrl-C."""
    from phonesys.ops.localserver import free_port

    home = new_home(homes, tmp_path, "home")
    assert phonesys(home, "server", "start").returncode == 0
    background = read_record(home)
    assert background is not None
    port = free_port()
    launcher = subprocess.Popen([sys.executable, "-m", "phonesys.ops.localserver", "--port", str(port)],
                                env=home_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: (r := read_record(home)) is not None and r.port == port and status(home)["answering"],
                   timeout=240, what="make serve's server to be recorded and answer")
        assert gone(background.pid)
        serving = read_record(home)
        assert serving is not None and serving.pid != background.pid
        assert STARTED not in finished(scan(home))[1]  # the command used make serve's server
    finally:
        launcher.send_signal(signal.SIGINT)
        _, err = launcher.communicate(timeout=120)
    assert "Stopped this home's background Prefect server" in err
    assert read_record(home) is None and gone(serving.pid)


def test_an_empty_scan_is_recorded_without_loading_prefect_and_a_request_takes_the_flow(homes, tmp_path):
    """On the embedded default an empty scan lists the drop folder and records its run on the home's
    server through the REST API, as the flow would end it; the command imports no Prefect module.
    A complete request in the folder takes the flow."""
    import httpx

    from tests.opsfixtures import drop_request

    home = new_home(homes, tmp_path, "home")
    assert phonesys(home, "server", "start").returncode == 0
    record = read_record(home)
    assert record is not None
    done = subprocess.run([sys.executable, "-X", "importtime", *CLI[1:], "dropfolder", "scan", "--json"],
                          env=home_env(home), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "httpx" in imported and not {name for name in imported if name.split(".")[0] == "prefect"}
    document = json.loads(done.stdout)
    assert (document["found"], document["claimed"], document["message"]) == (0, 0, "nothing found")
    with httpx.Client(base_url=record.api_url) as api:
        run = api.get(f"/flow_runs/{document['flow_run_id']}").raise_for_status().json()
        flow = api.get(f"/flows/{run['flow_id']}").raise_for_status().json()
        artifacts = api.post("/artifacts/filter", json={"artifacts": {"flow_run_id": {"any_": [run["id"]]}}}).json()
    assert (flow["name"], run["state"]["type"], run["state"]["message"]) == ("drop-folder-scan", "COMPLETED",
                                                                              "nothing found")
    assert sorted(run["tags"]) == ["drop-folder", "nothing-found", "phonesys"] and artifacts == []
    assert run["name"].startswith("drop-folder-scan ")

    drop_request({"PHONESYS_HOME": str(home)}, "0b9f6a1e-4c7d-4e1a-9d55-1b7e2f1c8e01", "june", "Ext Key\n12\n", {})
    flowed = json.loads(finished_with(scan(home))[0])
    assert (flowed["found"], flowed["claimed"], flowed["rejected"]) == (1, 1, 1)


def test_only_the_home_server_takes_the_empty_scan_shortcut(tmp_path, monkeypatch):
    """Prefect may find its API in the environment, a profile, or a settings file in the working
    directory; any of them sends the scan through the flow, which asks Prefect itself."""
    from phonesys.ops.idle_scan import another_api_may_be_named

    for name in ("PREFECT_API_URL", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.chdir(tmp_path)
    assert another_api_may_be_named() is False
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert another_api_may_be_named() is False
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert another_api_may_be_named() is True
    monkeypatch.delenv("PREFECT_API_URL")
    (tmp_path / "prefect-home").mkdir()
    (tmp_path / "prefect-home" / "profiles.toml").write_text(
        'active = "local"\n[profiles.local]\nPREFECT_API_URL = "http://127.0.0.1:4200/api"\n')
    assert another_api_may_be_named() is True
    (tmp_path / "prefect-home" / "profiles.toml").unlink()
    for file, text in ((".env", "PREFECT_API_URL=http://x/api\n"), ("prefect.toml", '[api]\nurl = "http://x/api"\n'),
                       ("pyproject.toml", '[tool.prefect.api]\nurl = "http://x/api"\n')):
        (tmp_path / file).write_text(text)
        assert another_api_may_be_named() is True, file
        (tmp_path / file).unlink()
