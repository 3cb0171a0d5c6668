"""docs/invariants.md stays the reference code and tests cite: citations resolve, checks are described.

The page replaced a design file that was never in the repository; these tests keep any file from
citing that one again, fail on a ``docs/invariants.md#<anchor>`` without its heading, and fail when
an invariant SQL check, a test or a path the page names disappears or is renamed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.invariants import CHECKS, HELD_IN_USE, LEDGER_CHECKS

ROOT = Path(__file__).resolve().parent.parent
PAGE_PATH = ROOT / "docs" / "invariants.md"
PAGE = PAGE_PATH.read_text(encoding="utf-8")
ABSENT_FILE = "DESIGN" + ".md"  # spelled in two parts so this file does not cite it
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".sh", ".cfg", ".txt", ".ini", ".mako", ".json"}
SKIPPED_DIRS = {".git", ".venv", "__pycache__", ".hypothesis", ".pytest_cache", ".mypy_cache", ".ruff_cache",
                "node_modules", "build", "dist"}


def repository_text_files() -> Iterator[Path]:
    """Every text file a reader of the repository sees (sources, tests, docs, build and CI files)."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")]
        for name in files:
            path = Path(folder, name)
            if path.suffix in TEXT_SUFFIXES or name == "Makefile":
                yield path


def github_anchor(heading: str) -> str:
    """The fragment GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def page_anchors() -> set[str]:
    return {github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", PAGE, re.M)}


def sections() -> dict[str, str]:
    """The page's ``###`` sections by anchor."""
    parts = re.split(r"^### (.+)$", PAGE, flags=re.M)
    return {github_anchor(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}


def test_no_file_cites_the_absent_design_file() -> None:
    citing = [str(p.relative_to(ROOT)) for p in repository_text_files()
              if ABSENT_FILE in p.read_text(encoding="utf-8", errors="replace")]
    assert citing == [], f"cite docs/invariants.md#<anchor> instead of {ABSENT_FILE} in {citing}"


def test_every_cited_anchor_is_a_heading_of_the_page() -> None:
    anchors = page_anchors()
    broken = [f"{p.relative_to(ROOT)}: #{anchor}" for p in repository_text_files()
              for anchor in re.findall(r"docs/invariants\.md#([\w-]+)", p.read_text(encoding="utf-8",
                                                                                      errors="replace"))
              if anchor not in anchors]
    broken += [f"docs/invariants.md: #{a}" for a in re.findall(r"\]\(#([\w-]+)\)", PAGE) if a not in anchors]
    assert broken == []


def test_the_code_cites_the_page() -> None:
    """The citations exist at all: the SQL checks and the test helpers point at their invariants."""
    cited = {a for p in repository_text_files() if p != PAGE_PATH
             for a in re.findall(r"docs/invariants\.md#([\w-]+)", p.read_text(encoding="utf-8", errors="replace"))}
    assert {"license-counts", "one-owner", "exactly-once", "org-isolation", "holds"} <= cited


@pytest.mark.parametrize(("number", "rule"), [(n, r) for n, r, _ in CHECKS + HELD_IN_USE]
                         + [("3", r) for r, _ in LEDGER_CHECKS], ids=lambda v: v[:50])
def test_every_invariant_check_is_described_under_its_invariant(number: str, rule: str) -> None:
    """Each SQL check's rule is quoted in the section whose failure messages carry its number."""
    owning = [text for text in sections().values() if f"(`invariant {number}`)" in text]
    assert len(owning) == 1, f"no single section of docs/invariants.md is invariant {number}"
    assert f'"{rule}"' in " ".join(owning[0].split()), f"docs/invariants.md does not describe: {rule}"


def test_every_invariant_says_where_it_is_enforced_and_what_proves_it() -> None:
    invariants = PAGE.split("## Invariants", 1)[1].split("\n## ", 1)[0]
    for anchor, text in sections().items():
        if f"### `{anchor}`" in invariants:
            assert "Enforced by:" in text and "Proven" in text, anchor


def test_the_tests_and_paths_the_page_names_exist() -> None:
    missing = []
    for file, name in re.findall(r"(tests/test_\w+\.py)::(\w+)", PAGE):
        source = ROOT / file
        if not source.exists() or not re.search(rf"^def {name}\(", source.read_text(), re.M):
            missing.append(f"{file}::{name}")
    for path in re.findall(r"`((?:phonesys|storage|flows|tasks|tests|benchmarks|docs)/[\w/.-]*)`", PAGE):
        if not (ROOT / path).exists():
            missing.append(path)
    assert missing == []
