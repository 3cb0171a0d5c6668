"""The bulk part of ``phonesys demo``: a 15,000-row upload with the mistakes real files have.

The first file carries five typical problems (Excel scientific notation, a duplicated key, a
six-digit key, a misspelt name, a name two people share); the demo shows the report, fixes them
and uploads again. After the start, another admin "meanwhile" tries to take a few of its users and
a number by hand: the template holds them since its start, so the admin is refused with the
template's name and every row is assigned.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sqlalchemy import Engine

from phonesys.demo.organization import AMBIGUOUS_NAME, DEMO_ORG_UUID, user_name
from phonesys.rules.errors import Refused
from phonesys.storage.inventory import extensions as ext_ops
from phonesys.storage.inventory import provisioning

ROWS, FIRST_USER, FIRST_KEY = 15_000, 100, 20_000
BROKEN = {3: ("number", "6.51E+09"), 10: ("ext_key", "20001"), 25: ("ext_key", "200250"),
          40: ("user", "Tnoy Q. Tan"), 55: ("user", AMBIGUOUS_NAME)}


def clean_rows() -> list[list[str]]:
    """Ext Key, User's Name, Number: every third row gets one of the org's numbers."""
    return [[str(FIRST_KEY + i), user_name(FIRST_USER + i), f"+656100{100 + i // 3:04d}" if i % 3 == 0 else ""]
            for i in range(ROWS)]


def broken_rows() -> list[list[str]]:
    rows = [list(row) for row in clean_rows()]
    for index, (column, value) in BROKEN.items():
        rows[index][{"ext_key": 0, "user": 1, "number": 2}[column]] = value
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Ext Key", "User's Name", "Number"])
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
    return path


def another_admin_meanwhile(engine: Engine) -> list[str]:
    """A colleague works by hand while the job runs: what the template holds is refused to them,
    naming the template; everything else still works. Returns what happened, one line each."""
    outsider = user_name(FIRST_USER + ROWS + 500)  # a user the template does not name
    key = provisioning.provision(engine, DEMO_ORG_UUID, 1, "900", provisioning.Assignment(user=outsider))[0]
    lines = [f"provisioned extension {key} for {outsider} (not in the template): done"]
    attempts: list[tuple[str, Callable[[], object]]] = [
        (f"gave extension {key} to {name} (row {i + 2} of the template)",
         partial(ext_ops.assign_user, engine, DEMO_ORG_UUID, key, name))
        for i, name in ((i, user_name(FIRST_USER + i)) for i in (100, 2_000))]
    number = clean_rows()[300][2]
    attempts.append((f"gave extension {key} number {number}", partial(ext_ops.set_number, engine, DEMO_ORG_UUID,
                                                                      key, number)))
    for what, attempt in attempts:
        try:
            attempt()
            lines.append(f"{what}: done")
        except Refused as refused:
            lines.append(f"{what}: refused, {refused.problems[0].code}: {refused.problems[0].message}")
    return lines
