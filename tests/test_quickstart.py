"""The README's two commands: the first one runs the demo cleanly on a fresh data directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [block.strip() for block in blocks[:2]]


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PHONESYS_", "PYTEST_", "MAKE", "MFLAGS"))}
    env["PHONESYS_HOME"] = str(tmp_path / "home")
    env["VENV"] = str(Path(sys.prefix))  # reuse the environment running the tests
    return env


def test_readme_names_the_two_commands():
    assert readme_commands() == ["make demo", "make test"]


def test_quick_start_runs_cleanly_twice(tmp_path):
    outputs = []
    try:
        for _ in range(2):  # the demo must be rerunnable on the same data directory
            result = subprocess.run(readme_commands()[0].split(), cwd=ROOT, env=clean_env(tmp_path),
                                    capture_output=True, text=True, timeout=300)
            outputs.append(result.stdout + result.stderr)
            assert result.returncode == 0, outputs[-1]
            for noise in ("Traceback", "Warning", "WARNING", "error ", "INFO"):
                assert noise not in outputs[-1], outputs[-1]
    finally:  # the first run started the home's local Prefect server, as it does for a new user
        subprocess.run([sys.executable, "-c", "from phonesys.cli import main; main()", "server", "stop"],
                       env=clean_env(tmp_path), capture_output=True, timeout=120)
    # one line says a server was started and how to stop it; the second run reuses it
    assert ["started a local Prefect server" in output for output in outputs] == [True, False]
    assert "`phonesys server stop` stops it" in outputs[0]
    out = result.stdout
    assert "Phone System base licenses" in out
    assert "Manual provisioning: extensions 101..110" in out
    assert "rejected with 5 problems (nothing added)" in out and "accepted, template now has 15,000 users" in out
    assert "Bulk assignment completed: 15,000 assigned, 0 failed" in out
    assert out.count(": refused, user-reserved: ") == 2 and out.count(": refused, number-reserved: ") == 1
    assert "which is in progress" in out and "'Demo onboarding'" in out
    assert "(not in the template): done" in out
    trail = out.split("Audit trail of extension 101", 1)[1].split("\n")[1:5]
    assert [line.split()[2] for line in trail] == ["ext.provision", "ext.assign-user", "ext.set-addons",
                                                   "ext.set-number"], trail
    assert all(line.split()[1].startswith("cli:") for line in trail), trail
    assert str(tmp_path / "home" / "inventory.sqlite3") in out
    for label in ("Assignment report:", "Provisioned extensions:"):
        path = Path(out.split(label, 1)[1].split()[0])
        assert path.is_file() and path.is_relative_to(tmp_path / "home" / "objects")
