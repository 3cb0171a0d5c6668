"""``phonesys sample-csv``: the two template upload layouts, ready to fill in."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from phonesys.cli.common import console
from phonesys.rules.samples import SAMPLES, sample_bytes


class By(str, Enum):
    name = "name"
    uuid = "uuid"


def sample_csv(
    by: Annotated[By, typer.Option("--by", help="Identify users by name or by Identity UUID.")] = By.name,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Write a sample upload file: Ext Key (3-5 digits), User's Name or Identity UUID, Number (optional).

    One file uses one kind of user identifier. Files are UTF-8 with BOM so Excel keeps names intact;
    format the Number column as Text in Excel so it does not become 6.51E+09.

    Example: phonesys sample-csv --by uuid --output users-by-uuid.csv
    """
    text = SAMPLES[by.value]
    if output is None:
        sys.stdout.write(text.replace("\r\n", "\n"))
        return
    output.write_bytes(sample_bytes(by.value))
    console.print(f"Wrote {output} (2 sample rows by {by.value})")
