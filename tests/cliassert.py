"""Assertions on the CLI contract shared by the CLI test modules.

``ok`` runs a command with ``--json`` and expects success; ``refused`` runs it as text and as JSON
and checks both refuse the same way: exit 1, nothing on stdout in text mode, one stderr line per
problem (``error [file:row: ]code: message``; ``note ...`` lines may follow), and
``{"ok": false, "problems": [...]}``.
"""

from __future__ import annotations

import json
import re


def ok(cli, *args: str) -> dict:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == "", result.stderr
    document = json.loads(result.stdout)
    assert document.pop("ok") is True
    return document


def refused(cli, *args: str) -> list[dict]:
    """The problems of a refused command, after checking its text and JSON forms agree."""
    text = cli(*args)
    assert text.exit_code == 1, text.output
    assert text.stdout == "", text.stdout
    as_json = cli(*args, "--json")
    assert as_json.exit_code == 1, as_json.output
    document = json.loads(as_json.stdout)
    assert document["ok"] is False
    problems = document["problems"]
    lines = [line for line in text.stderr.splitlines() if not line.startswith("note ")]
    assert len(lines) == len(problems), text.stderr
    for line, problem in zip(lines, problems):
        where = ":".join(str(problem[k]) for k in ("file", "row") if k in problem)
        prefix = re.escape(f"{where}: ") if where else ""
        assert re.match(rf"error {prefix}{re.escape(problem['code'])}: \S", line), line
        assert problem["message"].strip()
    return problems
