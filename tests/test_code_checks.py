"""The code checks CI runs with the tests: import direction (import-linter), types (mypy), lint (ruff).

import-linter and mypy read packages from the file system, where flows/, tasks/ and storage/ sit
beside phonesys/ rather than inside it; they run on a copy laid out as the wheel installs it
(``phonesys/flows`` ...), with ``pyproject.toml``'s settings. Each check's failure message is the
tool's own report.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MAPPED = ("flows", "tasks", "storage")  # pyproject.toml [tool.setuptools.package-dir]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("layout")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "phonesys", tree / "phonesys", ignore=ignore)
    for folder in MAPPED:
        shutil.copytree(ROOT / folder, tree / "phonesys" / folder, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def run_tool(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(BIN), "PYTHONPATH": str(cwd), "HOME": str(cwd), "MYPY_CACHE_DIR": str(cwd / ".mypy_cache")}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_imports_flow_one_way(installed_layout: Path) -> None:
    """cli -> flows / tasks / jobs -> storage -> rules (and settings, failpoints): no upward import."""
    done = run_tool([str(BIN / "lint-imports"), "--no-cache", "pyproject.toml"], installed_layout)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_an_upward_import_is_caught(installed_layout: Path, tmp_path: Path) -> None:
    """The contract has teeth: one import of the CLI from the rules layer breaks it."""
    tree = tmp_path / "tree"
    shutil.copytree(installed_layout, tree)
    values = tree / "phonesys" / "rules" / "values.py"
    values.write_text(values.read_text() + "\nfrom phonesys.cli import common  # noqa\n")
    done = run_tool([str(BIN / "lint-imports"), "--no-cache", "pyproject.toml"], tree)
    assert done.returncode != 0
    assert "phonesys.rules.values -> phonesys.cli.common" in done.stdout


def test_typed_modules_pass_mypy_strict(installed_layout: Path) -> None:
    done = run_tool([str(BIN / "mypy"), "--config-file", "pyproject.toml"], installed_layout)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def test_ruff_finds_nothing() -> None:
    done = run_tool([str(BIN / "ruff"), "check", "--no-cache", "phonesys", *MAPPED, "tests", "benchmarks"], ROOT)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
