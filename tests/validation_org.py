"""A small organization as an InventorySnapshot, built straight from Arrow tables (no database).

Users: Tony, Jane, José Álvarez, Ann, "Tony, Jr.", "Line Break" are free; Sam Lee twice and
John Smith seven times are ambiguous; Bob holds extension 200; Zoe is free but already in the
template. Numbers +6512345601..09 are available, +6512345600 belongs to extension 200,
+6512345610 is available but already in the template. Existing extension keys: 200 and 0300.
The template holds one row from first.csv row 2: 150, Zoe, +6512345610.
"""

from __future__ import annotations

import uuid

import pyarrow as pa

from phonesys.rules.validation import TEMPLATE_ROWS_SCHEMA, InventorySnapshot
from phonesys.rules.values import name_key

_SEED = uuid.UUID("00000000-0000-0000-0000-00000000f00d")
FREE = ["Tony", "Jane", "José Álvarez", "Ann", "Tony, Jr.", "Line Break", "Zoe"]
AMBIGUOUS = ["Sam Lee", "Sam  lee"] + ["John Smith"] * 7
ASSIGNED = {"Bob": "200"}


def uid(name: str, index: int = 0) -> str:
    return str(uuid.uuid5(_SEED, f"{name}/{index}"))


def users_table() -> pa.Table:
    names, uuids, exts = [], [], []
    counts: dict[str, int] = {}
    for name in FREE + AMBIGUOUS + list(ASSIGNED):
        index = counts[name] = counts.get(name, -1) + 1
        names.append(name)
        uuids.append(uid(name, index))
        exts.append(ASSIGNED.get(name))
    return pa.table({"identity_uuid": uuids, "name": names, "name_key": [name_key(n) for n in names],
                     "assigned_ext": pa.array(exts, pa.string())})


def snapshot(*, template_row_limit: int = 15_000, template: bool = True) -> InventorySnapshot:
    numbers = [f"+65123456{i:02d}" for i in range(11)]
    template_rows = pa.table({"ext_key": ["150"], "identity_uuid": [uid("Zoe")], "number": ["+6512345610"],
                              "file_name": ["first.csv"], "row": [2]}, schema=TEMPLATE_ROWS_SCHEMA)
    return InventorySnapshot(
        users=users_table(),
        numbers=pa.table({"number": numbers, "assigned_ext": ["200"] + [None] * 10}),
        ext_keys=pa.table({"ext_key": ["200", "0300"]}),
        template_rows=template_rows if template else TEMPLATE_ROWS_SCHEMA.empty_table(),
        template_row_limit=template_row_limit,
    )
