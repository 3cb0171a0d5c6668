"""The wheel installs one top-level package, ``phonesys``: the card's folders flows/, tasks/ and
storage/ live at the repository root but must not land in site-packages as top-level ``flows``,
``tasks`` or ``storage`` (names other distributions use too)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FOLDERS = {"phonesys": "phonesys", "flows": "phonesys/flows", "tasks": "phonesys/tasks",
                  "storage": "phonesys/storage"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Builds the wheel from a copy of the sources (the build writes build/ and egg-info beside them)."""
    tree = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    for folder in SOURCE_FOLDERS:
        shutil.copytree(ROOT / folder, tree / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    build = "from setuptools import build_meta; print(build_meta.build_wheel(__import__('sys').argv[1]))"
    done = subprocess.run([sys.executable, "-c", build, str(out)], cwd=tree, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_has_one_top_level_package(wheel_names: set[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"phonesys"}


def test_every_source_module_is_in_the_wheel_under_phonesys(wheel_names: set[str]) -> None:
    expected = {f"{target}/{path.relative_to(ROOT / folder).as_posix()}"
                for folder, target in SOURCE_FOLDERS.items()
                for path in (ROOT / folder).rglob("*") if path.suffix in (".py", ".mako", ".html", ".css", ".js")
                and "__pycache__" not in path.parts}
    assert expected - wheel_names == set()
    assert "phonesys/storage/migrations/script.py.mako" in wheel_names
    assert {"phonesys/web/console/templates/base.html", "phonesys/web/console/static/console.js"} <= wheel_names


def test_no_source_imports_the_old_top_level_names() -> None:
    """An ``import storage`` would work in the repository (on sys.path) and break once installed."""
    import re
    old = re.compile(r"^\s*(from|import)\s+(flows|tasks|storage)\b", re.MULTILINE)
    offenders = [str(path.relative_to(ROOT)) for folder in (*SOURCE_FOLDERS, "tests", "benchmarks")
                 for path in (ROOT / folder).rglob("*.py") if old.search(path.read_text())]
    assert offenders == []


def test_the_installed_wheel_runs_from_its_own_files(wheel: Path, tmp_path: Path) -> None:
    """Unpacked away from the repository, the flow modules import from the wheel's copy."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "site")
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import phonesys.flows.bulk_assignment as f, "
             "phonesys.storage.inventory.engine as e, phonesys.cli; print(f.__file__); print(e.MIGRATIONS_DIR)")
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "site")], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    flow_file, migrations = done.stdout.split()
    assert Path(flow_file).is_relative_to(tmp_path / "site")
    assert (Path(migrations) / "script.py.mako").is_file()
