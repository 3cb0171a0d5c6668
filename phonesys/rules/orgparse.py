"""Reading an organization document (JSON or YAML) as strictly as an upload is read.

An org document is untrusted input, so before its schema is checked (``phonesys.rules.orgfile``):
- its size is capped (``file-too-large``, checked before the body is read) and so is its nesting
  (``document-too-deep``), so no document reaches a recursion limit or exhausts memory;
- YAML is read with a reduced schema (``phonesys.rules.orgyaml``): numbers and keys stay the text written
  unless a value is a plain decimal integer, so no octal, hex or boolean surprises;
- JSON refuses ``NaN``/``Infinity`` and integers too long to convert;
- a key given twice in one mapping (JSON or YAML) is refused (``document-duplicate-key``): which one
  would win is the parser's choice, not the author's.

``parse_document`` raises ``Refused`` for a document it cannot read at all and returns the value with
the duplicate-key problems, so the schema check can report its own problems alongside them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import yaml

from phonesys.rules.errors import Problem, Refused
from phonesys.rules.orgyaml import MAX_DEPTH, TOO_DEEP, Unacceptable, duplicate_key, join_path, parse_yaml

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def parse_document(path: Path) -> tuple[object, list[Problem]]:
    """The document's value and its duplicate-key problems; raises ``Refused`` if it is unreadable."""
    text = _read_text(path)
    is_yaml = path.suffix.lower() in {".yaml", ".yml"}
    try:
        return parse_yaml(text) if is_yaml else _parse_json(text)
    except Unacceptable as exc:
        raise Refused(_file_problem(path, exc.code, exc.message)) from None
    except (json.JSONDecodeError, yaml.YAMLError, ValueError) as exc:
        raise Refused(_file_problem(path, "document-unreadable", f"not valid {'YAML' if is_yaml else 'JSON'}: "
                                    f"{_one_line(exc)}")) from None


def _file_problem(path: Path, code: str, message: str) -> Problem:
    return Problem(code, message, "file", str(path), file=str(path))


def _read_text(path: Path) -> str:
    """The file's text; its size is checked before the body is read, and the read is bounded too."""
    if not path.is_file():
        raise Refused(_file_problem(path, "file-not-found", "no such file."))
    too_large = _file_problem(path, "file-too-large", f"the document is larger than "
                              f"{MAX_DOCUMENT_BYTES // 2**20} MB; load users with `phonesys org import-users`.")
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise Refused(too_large)
    with path.open("rb") as handle:
        body = handle.read(MAX_DOCUMENT_BYTES + 1)  # bounded even if the file grew since
    if len(body) > MAX_DOCUMENT_BYTES:
        raise Refused(too_large)
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refused(_file_problem(path, "document-unreadable", f"not UTF-8 text: {exc.reason} at byte "
                                    f"{exc.start}.")) from None


def _one_line(exc: Exception) -> str:
    """A parse error as one line: YAML's multi-line report shrinks to its position and problem."""
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError) and mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return " ".join(str(exc).split())


class _JsonObject(dict[str, object]):
    """A JSON object that remembers the keys it was given more than once."""

    duplicates: list[str]


def _json_object(pairs: list[tuple[str, object]]) -> _JsonObject:
    result = _JsonObject(pairs)
    repeated = Counter(key for key, _ in pairs) if len(result) < len(pairs) else Counter()
    result.duplicates = [key for key, times in repeated.items() if times > 1]
    return result


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _parse_json(text: str) -> tuple[object, list[Problem]]:
    try:
        value = json.loads(text, object_pairs_hook=_json_object, parse_constant=_refuse_constant)
    except RecursionError:  # the decoder stops near Python's recursion limit, far beyond MAX_DEPTH
        raise Unacceptable("document-too-deep", TOO_DEEP) from None
    problems: list[Problem] = []
    _check_json(value, "", 1, problems)
    return value, problems


def _check_json(value: object, path: str, depth: int, problems: list[Problem]) -> None:
    """Refuse nesting beyond ``MAX_DEPTH`` and collect the duplicate keys, with their paths."""
    if not isinstance(value, dict | list):
        return
    if depth > MAX_DEPTH:
        raise Unacceptable("document-too-deep", f"{path}: {TOO_DEEP}")
    items = value.items() if isinstance(value, dict) else enumerate(value)
    problems += [duplicate_key(join_path(path, key)) for key in getattr(value, "duplicates", [])]
    for key, item in items:
        _check_json(item, join_path(path, key), depth + 1, problems)
