"""``phonesys sample-csv``: the two template upload layouts, ready to fill in."""

from __future__ import annotations

import codecs
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from phonesys.cli.common import console

SAMPLES = {
    "name": "Ext Key,User's Name,Number\r\n101,Tony Tan,+6512345678\r\n102,Jane Lim,\r\n",
    "uuid": "Ext Key,Identity UUID,Number\r\n101,652d2f57-6e3b-4170-8bf9-4f1e98c88b56,+6512345678\r\n"
            "102,7bccb66a-61bc-4bc0-85e6-7fd5e4b1708e,\r\n",
}


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
    output.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    console.print(f"Wrote {output} (2 sample rows by {by.value})")
