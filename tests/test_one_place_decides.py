"""One place decides (issue 19): ``phonesys.rules`` says whether something may be done and spells
the policy, the statuses and the limits; storage only gathers facts and applies the outcome.

Read from the source, so a new ``Problem(...)`` in storage, a status typed as a string in a query,
or a limit written as a number fails here with the file and line to fix. Migrations keep their
historical literals: they describe the schema as it was when they ran.
"""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

from phonesys.rules import limits, vocabulary

ROOT = Path(__file__).resolve().parent.parent
STORAGE = ROOT / "storage"
WORDS = {word for alias in (vocabulary.Policy, vocabulary.RowStatus, vocabulary.TemplateStatus)
         for word in typing.get_args(alias)}
# A number's status words are also the license counters' names (held, available): only their SQL
# spelling, as a quoted value, is a status.
QUOTED_WORD = re.compile("'(" + "|".join(sorted(map(re.escape, WORDS | set(typing.get_args(vocabulary.NumberStatus)))))
                         + ")'")
LIMITS = {name: value for name, value in vars(limits).items() if name.isupper() and isinstance(value, int)}
# Numbers in storage equal to a limit's value by coincidence: tuning, not a rule of the domain.
NOT_LIMITS = {("storage/inventory/upsert.py", "BATCH"), ("storage/inventory/upsert.py", "COPY_FROM"),
              ("storage/inventory/decide.py", "IN_LIST_MAX"), ("storage/inventory/jobs.py", "limit"),
              ("storage/inventory/engine.py", "int")}  # seconds -> milliseconds


def storage_modules() -> list[Path]:
    return sorted(p for p in STORAGE.rglob("*.py") if "migrations" not in p.relative_to(STORAGE).parts)


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def problem_constructions(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
            and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) == "Problem"]


def test_storage_builds_no_problem_the_rules_decide_them():
    stray = [f"{relative(p)}:{line}" for p in storage_modules() for line in problem_constructions(p)]
    assert not stray, f"storage builds Problem(...); add a named function to phonesys.rules: {stray}"


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants (prose may name a status; code may not)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def spelled_words(path: Path) -> list[str]:
    """Status and policy words written as string literals, or quoted inside SQL text."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prose = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            if node.value in WORDS:
                hits.append(f"{relative(path)}:{node.lineno} {node.value!r}")
            hits += [f"{relative(path)}:{node.lineno} '{w}' in SQL" for w in QUOTED_WORD.findall(node.value)]
    return hits


def test_storage_spells_no_status_or_policy():
    hits = [hit for path in storage_modules() for hit in spelled_words(path)]
    assert not hits, f"import these from phonesys.rules.vocabulary instead: {hits}"


def _owner(parents: dict[ast.AST, ast.AST], node: ast.AST) -> str | None:
    """The name a number is given to: the assigned variable, keyword or called function."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            return node.targets[0].id
        if isinstance(node, ast.keyword) or isinstance(node, ast.arg):
            return node.arg
        if isinstance(node, ast.Call):
            return getattr(node.func, "id", None) or getattr(node.func, "attr", None)
    return None


def limit_literals(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    defaults = {id(d): a.arg for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                for a, d in [*zip(reversed(f.args.args), reversed(f.args.defaults)),
                             *zip(f.args.kwonlyargs, f.args.kw_defaults)] if d is not None}
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) is int and node.value in LIMITS.values():
            owner = defaults.get(id(node)) or _owner(parents, node)
            if (relative(path), owner) not in NOT_LIMITS:
                hits.append(f"{relative(path)}:{node.lineno} {node.value} ({owner})")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            hits += [f"{relative(path)}:{node.lineno} substr(..., {n}) in SQL"
                     for n in re.findall(r"substr\([^)]*?,\s*(\d+)\)", node.value)]
    return hits


def test_limits_are_literals_only_in_rules():
    hits = [hit for path in storage_modules() for hit in limit_literals(path)]
    assert not hits, f"import these from phonesys.rules.limits instead: {hits}"


def test_the_scans_see_what_they_look_for(tmp_path):
    """Each scan finds the shape it is meant to refuse, so a green run is not a blind one."""
    sample = tmp_path / "sample.py"
    sample.write_text('x = Problem("a-b", "m")\ny = t.c.status == "pending"\n'
                      'SQL = "SELECT CASE WHEN 1 THEN \'held\' END, substr(name, 1, 100)"\nLIMIT = 15000\n')
    assert problem_constructions(sample) == [1]
    words, numbers = spelled_words(sample), limit_literals(sample)
    assert any("'pending'" in w for w in words) and any("'held' in SQL" in w for w in words)
    assert any("substr(..., 100)" in n for n in numbers) and any("15000" in n for n in numbers)
