"""One code table (``phonesys.rules.codes``): nothing the source can emit is missing from it, nothing in it
is dead, and one fact has one code.

The source scan reads every module of ``phonesys``, ``storage``, ``flows`` and ``tasks`` and takes
every kebab-case string constant as a code unless its place says it is a name: a ``name=`` keyword
(Prefect tasks, flows, blocks), an argument of ``failpoint(...)`` or of a CLI ``command(...)``, an
encoding, or one of the few words in ``NOT_CODES``. So a new ``Problem("...")``, ``Check("...")``,
``(code, message)`` pair or code constant fails this test until the table has it.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from phonesys.rules.codes import CODES, GROUPS

ROOT = Path(__file__).resolve().parent.parent
KEBAB = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+")
AUDIT_ACTION = re.compile(r"(?:org|ext|template|bulk|token|audit)\.[a-z]+(?:-[a-z]+)*")  # ext.set-number
NAME_KEYWORDS = {"name", "key", "encoding", "errors", "flow_run_name", "task_run_name"}
NAME_CALLS = {"failpoint", "command", "add_typer", "Typer", "Table", "uuid5", "lookup"}
NOT_CODES = {
    "all-or-nothing": "a bulk assignment policy",
    "bulk-assignment": "a Prefect tag",
    "template-revert": "a Prefect flow's name and tag",
    "drop-folder": "a Prefect tag",
    "drop-folder-scan": "a Prefect flow's name (an empty scan records its run under it)",
    "set-addons": "a template action, named after its command",
    "all-orgs": "part of an export flow run's name",
    "phonesys-alerts": "the notification block's name",
    "phonesys-bulk-jobs": "the global concurrency limit's name",
    "nothing-found": "a Prefect tag on scans that found nothing",
    "partially-completed": "part of an event name (phonesys.template.partially-completed)",
}


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
    return None


def _constants(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    """Kebab-case string constants with their parent node; f-string pieces count too."""
    found = []
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            if isinstance(child, ast.Constant) and isinstance(child.value, str):
                found += [(text, parent) for text in _kebab_words(child.value, parent)]
    return found


def _kebab_words(text: str, parent: ast.AST) -> list[str]:
    if KEBAB.fullmatch(text) or AUDIT_ACTION.fullmatch(text):
        return [text]
    if isinstance(parent, ast.JoinedStr):  # "error internal-error: ..." printed by hand
        return re.findall(r"error ([a-z][a-z0-9-]+):", text)
    return []


def _is_name(text: str, parent: ast.AST) -> bool:
    if text.startswith("utf-") or text in NOT_CODES:
        return True
    if isinstance(parent, ast.keyword):
        return parent.arg in NAME_KEYWORDS
    return _call_name(parent) in NAME_CALLS


def emitted_codes() -> dict[str, set[str]]:
    """code -> the source files it appears in."""
    codes: dict[str, set[str]] = defaultdict(set)
    for package in ("phonesys", "storage", "flows", "tasks"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path.name == "codes.py":
                continue
            for text, parent in _constants(ast.parse(path.read_text(), str(path))):
                if not _is_name(text, parent):
                    codes[text].add(str(path.relative_to(ROOT)))
    return codes


def test_every_code_the_source_can_emit_is_in_the_table():
    missing = {code: sorted(files) for code, files in emitted_codes().items() if code not in CODES}
    assert not missing, f"add these to phonesys/rules/codes.py (or NOT_CODES in this test if not a code): {missing}"


def test_nothing_in_the_table_is_dead():
    assert set(CODES) - set(emitted_codes()) == set()


def test_each_code_is_listed_once_with_a_one_line_meaning():
    assert len(CODES) == sum(len(group) for group in GROUPS.values())
    for code, meaning in CODES.items():
        assert (KEBAB.fullmatch(code) or AUDIT_ACTION.fullmatch(code)) and meaning.strip() and "\n" not in meaning and meaning.endswith("."), code


def test_one_fact_one_code():
    """The aliases of the past are gone from the source: each of these facts has one code."""
    for merged, kept in {"user-already-assigned": "user-assigned", "ext-key-taken": "ext-key-exists",
                         "number-in-use": "number-assigned"}.items():
        assert merged not in CODES and kept in CODES
        assert merged not in emitted_codes()


def test_the_scan_sees_every_shape_a_code_is_written_in():
    """A code as a Problem argument, a Check, a (code, message) pair, a constant, an f-string."""
    codes = emitted_codes()
    for code, where in {"ext-key-exists": "phonesys/rules/assignable.py",        # Problem("...")
                        "number-in-template": "phonesys/rules/validation/checks.py",   # Check("...")
                        "object-key-dot-segment": "phonesys/rules/object_keys.py",     # (code, message)
                        "rolled-back": "phonesys/rules/rollback.py",             # ROLLED_BACK = "..."
                        "internal-error": "phonesys/cli/__init__.py"}.items():   # f"error internal-error: ..."
        assert where in codes[code], code
