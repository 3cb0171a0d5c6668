"""What an ops person sees: `make serve`'s stack, a hand-off from `template start`, the Prefect UI.

The module starts the launcher behind `make serve` (``python -m phonesys.ops.localserver``: a real
``prefect server start`` with its UI, plus ``phonesys serve`` and ``phonesys web``) on a free loopback port, hands a small
template to the served bulk-assignment deployment through the CLI, then looks at the run with a
real headless Chromium (Debian's package, driven over DevTools). Stopping the stack with Ctrl-C
must end all three processes.

Without chromium the browser test is skipped with the reason; with PHONESYS_REQUIRE_BROWSER=1
(.ci/run sets it) it fails instead. PHONESYS_UPDATE_SCREENSHOT=1 refreshes the screenshot in docs/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from phonesys.ops.localserver import free_port, port_taken
from phonesys.storage.inventory.engine import dispose_engines, open_engine
from tests.browser import Browser, chromium_path
from tests.opsfixtures import ROOT, started_template, wait_until

pytestmark = pytest.mark.slow
SCREENSHOT = ROOT / "docs" / "prefect-ui-bulk-assignment.png"
PARTIAL_SCREENSHOT = ROOT / "docs" / "prefect-ui-partially-completed.png"
REQUIRE_BROWSER = os.environ.get("PHONESYS_REQUIRE_BROWSER") == "1"


class Stack:
    """The launcher process and the addresses and environment the test uses to talk to it."""

    def __init__(self, home: Path):
        self.port, self.web_port = free_port(), free_port()
        self.ui_url, self.api_url = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{self.port}/api"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHONESYS_"))}
        self.env.update(PHONESYS_HOME=str(home), PHONESYS_DATABASE_URL=f"sqlite:///{home / 'inventory.sqlite3'}",
                        PREFECT_HOME=str(home / "prefect-client"), PREFECT_RUNNER_POLL_FREQUENCY="1",
                        PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", PYTHONPATH=str(ROOT))
        self.log = home / "stack.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen([sys.executable, "-m", "phonesys.ops.localserver", "--port", str(self.port),
                                             "--web-port", str(self.web_port)],
                                            cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT)

    def bulk_deployment_ready(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()[-3000:]
        try:
            response = httpx.get(f"{self.api_url}/deployments/name/bulk-assignment/bulk-assignment", timeout=5)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json()["status"] == "READY"

    def web_answers(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.web_port}/openapi.json", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def ctrl_c(self) -> int:
        """What the terminal does on Ctrl-C (to the launcher; it stops serve, then the server)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    started = Stack(tmp_path_factory.mktemp("ops-stack"))
    try:
        wait_until(started.bulk_deployment_ready, timeout=180, what=f"the served deployment ({started.log})")
        yield started
    finally:
        started.ctrl_c()
        dispose_engines()


@pytest.fixture(scope="module")
def handed_off(stack) -> dict:
    """A 5-row template run through `phonesys template start --wait`, handed to `phonesys serve`."""
    engine = open_engine(stack.env["PHONESYS_DATABASE_URL"])
    _, template_uuid = started_template(engine, 5, name="UI check", start=False)
    result = subprocess.run([sys.executable, "-c", "from phonesys.cli import main; main()", "template", "start",
                             template_uuid, "--wait", "--json", "--chunk-size", "2"],
                            cwd=ROOT, env={**stack.env, "PREFECT_API_URL": stack.api_url},
                            capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_template_start_hands_off_to_the_served_deployment(stack, handed_off):
    assert handed_off["handed_off"] is True and handed_off["deployment"] == "bulk-assignment/bulk-assignment"
    assert handed_off["counts"] == {"pending": 0, "assigned": 5, "failed": 0}
    assert handed_off["url"] == f"{stack.ui_url}/runs/flow-run/{handed_off['flow_run_id']}"
    run = httpx.get(f"{stack.api_url}/flow_runs/{handed_off['flow_run_id']}", timeout=10).json()
    assert run["state"]["type"] == "COMPLETED" and run["deployment_id"]
    assert run["name"] == handed_off["flow_run_name"] and run["name"].endswith(" / UI check")
    assert {"phonesys", "bulk-assignment"} <= set(run["tags"])


def test_make_serve_also_serves_the_http_api(stack):
    wait_until(stack.web_answers, timeout=60, what=f"phonesys web on port {stack.web_port} ({stack.log})")
    response = httpx.get(f"http://127.0.0.1:{stack.web_port}/api/v1/orgs/{uuid.uuid4()}/licenses", timeout=10)
    assert response.status_code == 401 and response.json()["code"] == "token-invalid"
    assert f"HTTP API: http://127.0.0.1:{stack.web_port}/api/v1" in stack.log.read_text()


@pytest.fixture(scope="module")
def chromium() -> str:
    """Module-scoped so a missing browser is noticed before the stack starts (higher scopes go first)."""
    found = chromium_path()
    if found is None:
        reason = "chromium is not installed (apt-get install -y chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(f"{reason}, and PHONESYS_REQUIRE_BROWSER=1 forbids skipping")
        pytest.skip(reason)
    return found


@pytest.fixture
def browser(chromium) -> Iterator[Browser]:
    with Browser(width=1400, height=1000) as opened:
        yield opened


def test_the_ui_shows_the_run_and_its_summary_artifact(chromium, stack, handed_off, browser, tmp_path):
    template_uuid = handed_off["uuid"]
    browser.open(handed_off["url"])
    browser.wait_for_text(handed_off["flow_run_name"], "Completed", "bulk-assignment", "Artifacts")
    assert browser.click_text("Artifacts")
    browser.wait_for_text(f"bulk-summary-{template_uuid}", "Outcome of UI check")
    time.sleep(2)  # cosmetic only: lets the task graph (a canvas, no text to wait for) draw before the shot
    shot = tmp_path / SCREENSHOT.name
    assert 10_000 < browser.screenshot(shot) < 400_000
    if os.environ.get("PHONESYS_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)
    assert browser.click_text(f"bulk-summary-{template_uuid}")
    shown = browser.wait_for_text("Bulk assignment: UI check", "assigned")
    assert handed_off["report"].rsplit("/", 1)[-1] in shown


@pytest.fixture(scope="module")
def partial(stack) -> dict:
    """A started template whose first 2 of 4 rows lost their numbers out of band, resumed through
    the CLI and so run by the served deployment: it ends Partially completed (exit 3)."""
    engine = open_engine(stack.env["PHONESYS_DATABASE_URL"])
    _, template_uuid = started_template(engine, 4, name="UI partial", taken=2)
    result = subprocess.run([sys.executable, "-c", "from phonesys.cli import main; main()", "template", "start",
                             template_uuid, "--resume", "--wait", "--json"],
                            cwd=ROOT, env={**stack.env, "PREFECT_API_URL": stack.api_url},
                            capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_the_runs_list_shows_a_partial_run_as_partially_completed(chromium, stack, partial, browser, tmp_path):
    from phonesys.ops.run_states import PARTIAL

    assert partial["counts"] == {"pending": 0, "assigned": 2, "failed": 2}
    browser.open(f"{stack.ui_url}/runs")
    browser.wait_for_text(partial["flow_run_name"], PARTIAL)
    time.sleep(1)  # cosmetic only: lets the run bars draw before the shot
    shot = tmp_path / PARTIAL_SCREENSHOT.name
    assert 10_000 < browser.screenshot(shot) < 400_000
    if os.environ.get("PHONESYS_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, PARTIAL_SCREENSHOT)


def test_the_screenshots_are_kept_in_docs():
    for shot in (SCREENSHOT, PARTIAL_SCREENSHOT):
        assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot


def test_ctrl_c_stops_serve_and_the_server(stack):
    """Last in the module: what `make serve` promises when the operator is done."""
    assert stack.ctrl_c() == 0, stack.log.read_text()[-3000:]
    assert not port_taken("127.0.0.1", stack.port) and not port_taken("127.0.0.1", stack.web_port)
    assert "All deployments have been paused" in stack.log.read_text()
