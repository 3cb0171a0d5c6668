"""The sample upload files: one per user identifier (``phonesys sample-csv``, the API's sample download).

Kept here, below every front end, so the CLI and the HTTP API hand out the very same bytes.
"""

from __future__ import annotations

import codecs
from typing import Final, Literal, get_args

SampleKind = Literal["name", "uuid"]
SAMPLE_KINDS: Final[tuple[SampleKind, ...]] = get_args(SampleKind)
SAMPLES: Final[dict[str, str]] = {
    "name": "Ext Key,User's Name,Number\r\n101,Tony Tan,+6512345678\r\n102,Jane Lim,\r\n",
    "uuid": "Ext Key,Identity UUID,Number\r\n101,652d2f57-6e3b-4170-8bf9-4f1e98c88b56,+6512345678\r\n"
            "102,7bccb66a-61bc-4bc0-85e6-7fd5e4b1708e,\r\n",
}


def sample_bytes(kind: str) -> bytes:
    """The file as saved: UTF-8 with a BOM (Excel then keeps names such as ``Nguyễn`` intact), CRLF."""
    return codecs.BOM_UTF8 + SAMPLES[kind].encode("utf-8")


def sample_file_name(kind: str) -> str:
    return f"phonesys_sample_by_{kind}.csv"
