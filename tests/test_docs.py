"""The README stays honest: every command of its CLI tour exists and answers --help."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def tour_commands() -> list[list[str]]:
    """The subcommand words of each `phonesys ...` line in the README's code blocks."""
    commands = []
    blocks = "\n".join(re.findall(r"```bash\n(.*?)```", README, re.S))
    for line in re.findall(r"^(?:\S+=\S+ )*phonesys ([^#\n]*)", blocks, re.M):
        words = []
        for word in line.split():
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            words.append(word)
        if words and words not in commands:
            commands.append(words)
    return commands


def test_tour_lists_the_contract_commands():
    names = {" ".join(c) for c in tour_commands()}
    for contract in ("org load", "org import-users", "org show", "provision", "ext list", "ext show",
                     "ext assign-user", "ext set-addons", "ext set-number", "ext edit", "ext delete",
                     "export extensions", "export numbers", "template create", "template list", "template rename"):
        assert contract in names


@pytest.mark.parametrize("words", tour_commands(), ids=" ".join)
def test_tour_command_exists(cli, words):
    result = cli(*words, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout or "Commands" in result.stdout


def test_readme_lists_every_code():
    from phonesys.rules.codes import markdown_table

    assert markdown_table() in README


def test_readme_explains_holds_and_their_codes():
    rules = README.split("## Rules the inventory enforces", 1)[1].split("\n## ", 1)[0]
    assert "**Holds.**" in rules and "used + held <= total" in rules
    for code in ("user-reserved", "number-reserved", "ext-key-reserved"):
        assert f"`{code}`" in rules


def test_readme_explains_run_states_events_and_the_quiet_scan_tag():
    from phonesys.ops.prefect_env import NOTHING_FOUND
    from phonesys.ops.run_events import REQUEST_EVENTS, TEMPLATE_EVENTS
    from phonesys.ops.run_states import PARTIAL, ROLLED_BACK

    operations = README.split("## Operations", 1)[1]
    for name in (PARTIAL, ROLLED_BACK, NOTHING_FOUND):
        assert f"`{name}`" in operations, name
    for event in [f"template.{kind}" for kind in TEMPLATE_EVENTS] + [f"request.{kind}" for kind in REQUEST_EVENTS]:
        assert f"`phonesys.{event}`" in operations, event


def test_readme_configuration_lists_every_setting():
    from phonesys.settings import Settings

    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    assert [f"`PHONESYS_{name.upper()}`" for name in (f.name for f in dataclasses.fields(Settings))
            if f"| `PHONESYS_{name.upper()}` |" not in table] == []


def test_readme_documents_the_scale_out_deployment():
    from phonesys.ops.limits import DEFAULT_BULK_JOBS, GLOBAL_LIMIT, org_limit

    section = README.split("## Scale-out deployment", 1)[1].split("\n## ", 1)[0]
    for needed in ("PREFECT_API_URL", "PHONESYS_DATABASE_URL", "PHONESYS_STORAGE_URL", "PHONESYS_SOURCE_DIR",
                   "PHONESYS_BULK_JOBS", "PHONESYS_BULK_LIMITS=off", f"`{GLOBAL_LIMIT}`",
                   f"`{org_limit('<orgUuid>')}`", f"(default {DEFAULT_BULK_JOBS})", "prefect worker start",
                   "benchmarks/scale_out.py"):
        assert needed in section, needed
