"""``--output``: where a local copy of an export or report goes, checked before any work is done.

A path that cannot take the file (below an existing file, in a read-only or virtual file system such
as ``/proc``, without permission) is refused up front with ``output-path-unusable``, so a command
never writes its object to storage and then fails on the copy. The check creates the folder the
copy would go in (as the copy would) and a throw-away file in it: permissions alone do not tell,
since root passes every permission check even where no file can be created.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from phonesys.rules.errors import Problem, Refused


def copy_target(output: Path, name: str) -> Path:
    """``output`` names a file (it has an extension) or a folder, in which the copy keeps ``name``."""
    return output / name if output.is_dir() or not output.suffix else output


def require_usable(output: Path) -> None:
    """Refuse unless a file can be written where ``output`` says (the folder is made if needed)."""
    folder = copy_target(output, "copy").parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".phonesys-probe-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise Refused(Problem("output-path-unusable", f"Cannot write a file in {folder}: {reason}. "
                              "Choose another --output.", "output", str(output))) from None
