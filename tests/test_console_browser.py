"""The help page's flow in the web console, in a real headless Chromium (Debian's package, driven over
DevTools by ``tests.browser``) against a real ``phonesys web``: sign in, create a template, upload a file
with mistakes and see every row's problem, upload the fixed file, Assign and watch the progress until
completed, open the report, download the exports, and manage an extension (past 100 characters the
Update button is disabled).

Without chromium the test is skipped with the reason; with PHONESYS_REQUIRE_BROWSER=1 (.ci/run) it
fails instead. PHONESYS_UPDATE_SCREENSHOT=1 saves the screenshots into docs/ (else into a tmp folder).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phonesys.storage.inventory.engine import dispose_engines
from phonesys.storage.inventory.provisioning import provision
from tests.browser import Browser, chromium_path
from tests.webserver import ROOT, api, server, token

pytestmark = pytest.mark.slow
__all__ = ["api", "server"]  # fixtures, used by name
REQUIRE_BROWSER = os.environ.get("PHONESYS_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="module")
def database_url(tmp_path_factory) -> Iterator[str]:
    """SQLite only: the browser walks the pages, the storage underneath is tested on both databases."""
    yield f"sqlite:///{tmp_path_factory.mktemp('console') / 'inventory.sqlite3'}"
    dispose_engines()


@pytest.fixture
def browser() -> Iterator[Browser]:
    if chromium_path() is None:
        if REQUIRE_BROWSER:
            pytest.fail("chromium is not installed (apt-get install chromium) and PHONESYS_REQUIRE_BROWSER=1")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with Browser(width=1400, height=1000) as opened:
        yield opened


@pytest.fixture
def shots(tmp_path) -> Path:
    return ROOT / "docs" if os.environ.get("PHONESYS_UPDATE_SCREENSHOT") == "1" else tmp_path


def wait_for_file(folder: Path, suffix: str, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while not (found := [p for p in folder.glob(f"*{suffix}") if p.stat().st_size]):
        assert time.monotonic() < deadline, f"no *{suffix} downloaded into {folder}: {list(folder.iterdir())}"
        time.sleep(0.25)
    return found[0]


def test_an_admin_walks_the_help_pages_flow(server, api, cli, engine, org, browser, shots, tmp_path):
    base = str(api.base_url)
    provision(engine, org.org_uuid, 1, "101")
    sign_in(browser, base, token(cli, org.org_uuid, "--name", "console admin"))
    browser.screenshot(shots / "console-licenses.png")
    template = create_template(browser, base, org.org_uuid)
    upload_with_mistakes_then_fixed(browser, tmp_path, org, shots)
    assign_and_follow(browser, base, org.org_uuid, shots)
    download_exports(browser, base, org.org_uuid, tmp_path / "downloads", template)
    template_licenses_view(browser, base, template)
    manage_extension(browser, base, org.org_uuid, shots)
    provision_with_the_key_check(browser, base, org.org_uuid)
    log = server[1].read_text(errors="replace")
    assert not [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR", "Traceback"))], log


def template_licenses_view(browser: Browser, base: str, template: str) -> None:
    """A completed template's Licenses view shows its name and add-ons, with nothing to save."""
    browser.open(f"{base}/console/templates/{template}")
    shown = browser.wait_for_text("Sales onboarding", "Add-on licenses")
    assert "Call Recording" in shown and "Save" not in shown and "completed" in shown


def sign_in(browser: Browser, base: str, secret: str) -> None:
    browser.open(f"{base}/console")
    browser.wait_for_text("Sign in", "API token")
    browser.fill("input[name=token]", secret)
    browser.click_text("Sign in")
    browser.wait_for_text("Phone System base license", "Extensions (1)", "console admin (admin)")


def create_template(browser: Browser, base: str, org_uuid: str) -> str:
    browser.click_text("Bulk Assignment")
    browser.wait_for_text("Search", "Refresh", "Create", "Total users")
    browser.click_text("Create")
    browser.wait_for_text("Create a Bulk Assignment template")
    browser.fill("input[name=name]", "Sales onboarding")
    browser.evaluate("document.querySelector('input[value=\"Call Recording\"]').click()")
    browser.click_text("Next")
    browser.wait_for_text("Add users from CSV files", "No users yet.")
    assert "disabled" in browser.evaluate("document.querySelector('button.assign').outerHTML")  # no users yet
    browser.click_text("Licenses")  # the draft's Licenses view: name and add-ons, editable
    browser.wait_for_text("Save")
    assert browser.evaluate("document.querySelector('input[value=\"Call Recording\"]').checked") is True
    browser.click_text("Users")
    browser.wait_for_text("Add users from CSV files")
    return str(browser.evaluate("location.pathname")).split("/")[3]


def upload_with_mistakes_then_fixed(browser: Browser, folder: Path, org, shots: Path) -> None:
    bad, good = folder / "sales.csv", folder / "sales-fixed.csv"
    bad.write_text("Ext Key,User's Name,Number\r\n1,User 000,\r\n202,Nobody,\r\n", encoding="utf-8")
    good.write_text(f"Ext Key,User's Name,Number\r\n201,User 000,{org.numbers[0]}\r\n202,User 001,\r\n",
                    encoding="utf-8")
    browser.choose_files("input[type=file]", [bad])
    browser.click_text("Upload")
    shown = browser.wait_for_text("Refused: nothing was changed", "user-name-not-found")
    assert "sales.csv\t2\tExt Key\text-key-format" in shown and "sales.csv\t3\tUser's Name\tuser-name-not-found" in shown
    browser.screenshot(shots / "console-upload-errors.png")
    browser.choose_files("input[type=file]", [good])
    browser.click_text("Upload")
    browser.wait_for_text("Users (2)", "User 001")
    assert "Refused" not in browser.text()


def assign_and_follow(browser: Browser, base: str, org_uuid: str, shots: Path) -> None:
    browser.open(f"{base}/console/orgs/{org_uuid}/templates")
    browser.wait_for_text("Sales onboarding", "draft")
    browser.screenshot(shots / "console-templates.png")
    browser.click_text("Assign")
    browser.wait_for_text("Report · Sales onboarding", "Status:")
    shown = browser.wait_for_text("Status: completed", "Export report", timeout=240)
    assert "Assigned\tFailed\tPending\tTotal\n2\t0\t0\t2" in shown, shown
    browser.screenshot(shots / "console-report.png")


def download_exports(browser: Browser, base: str, org_uuid: str, folder: Path, template: str) -> None:
    folder.mkdir()
    browser.downloads_to(folder)
    browser.click_text("Export report")
    report = wait_for_file(folder, "_bulk_assignment_report.csv")
    assert "User 001" in report.read_text(encoding="utf-8-sig")
    browser.open(f"{base}/console/orgs/{org_uuid}/licenses")
    browser.wait_for_text("Extensions (3)")
    browser.click_text("Export provisioned extension")
    export = wait_for_file(folder, "_provisioned_extension.csv")
    assert export.name.startswith(f"{org_uuid}_") and "User 000" in export.read_text(encoding="utf-8-sig")
    assert template


def manage_extension(browser: Browser, base: str, org_uuid: str, shots: Path) -> None:
    browser.open(f"{base}/console/orgs/{org_uuid}/extensions/101")
    browser.wait_for_text("Extension 101", "Directory Name")
    update_disabled = "document.querySelector('[data-name-submit]').disabled"
    browser.fill("input[name=directory_name]", "x" * 101)
    assert browser.evaluate(update_disabled) is True
    assert "101 / 100 characters" in browser.wait_for_text("At most 100 characters.")
    browser.screenshot(shots / "console-extension.png")
    browser.fill("input[name=directory_name]", "Front desk")
    assert browser.evaluate(update_disabled) is False
    browser.click_text("Update")
    saved = "document.querySelector('input[name=directory_name]').defaultValue"  # the value the page came with
    deadline = time.monotonic() + 60
    while browser.evaluate(saved) != "Front desk":
        assert time.monotonic() < deadline, browser.text()
        time.sleep(0.25)
    browser.open(f"{base}/console/orgs/{org_uuid}/licenses")
    assert "Front desk" in browser.wait_for_text("Extensions (3)")


def provision_with_the_key_check(browser: Browser, base: str, org_uuid: str) -> None:
    """Past 3-5 digits the start key shows its error and both buttons are disabled; then Provision works."""
    browser.open(f"{base}/console/orgs/{org_uuid}/provision")
    browser.wait_for_text("Number of Users", "Start from Extension")
    buttons = "[...document.querySelectorAll('[data-key-submit]')].map(b => b.disabled)"
    for bad in ("12", "123456", "12a"):
        browser.fill("input[name=start]", bad)
        assert browser.evaluate(buttons) == [True, True], bad
        assert "The start extension must be 3 to 5 digits." in browser.text()
    browser.fill("input[name=start]", "0300")
    browser.fill("input[name=count]", "2")
    assert browser.evaluate(buttons) == [False, False]
    browser.click_text("Provision")
    assert "0300" in browser.wait_for_text("Extensions (5)", "0301")
