"""Object keys are untrusted text: one allowlist decides which shapes every store accepts.

A key is one or more segments joined by ``/``. A segment uses only the ASCII characters

    A-Z a-z 0-9 . _ - + ( )  and the space

which covers what people and our own code name files (``Copy (2) of users.csv``, ``+6561234567.csv``,
``20250101T120000Z``) and nothing that means something to a shell, a URL, Windows or a terminal.
A segment must not be empty, consist only of dots (``.``, ``..``, ``...``), begin or end with a space
or exceed 255 bytes (the usual file-name limit); the whole key must not start with ``/`` and must
not exceed 1024 bytes (the S3 limit). Because only ASCII is allowed, Unicode normalisation never
matters: fullwidth or lookalike slashes and dots, bidi overrides, zero-width and combining characters
are refused as they are, never folded into something else (NFKC would turn U+FF0F into a real ``/``).
Refusing is deliberate: renaming a file is cheap, a key that escapes its folder is not.
"""

from __future__ import annotations

import string
import unicodedata

from phonesys.rules.errors import Problem, Refused

MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255
ALLOWED_CHARACTERS = frozenset(string.ascii_letters + string.digits + "._-+() ")
_ALLOWED_TEXT = "letters A-Z a-z, digits, space and . _ - + ( ), with / between folders"
_UNNAMED = {"Cc": "control character", "Cs": "lone surrogate", "Co": "private-use character"}
_SHOWN = 120  # characters of a refused key quoted back (escaped), enough to recognise it


def key_problems(key: object, *, field: str = "key") -> list[Problem]:
    """Everything wrong with ``key`` (empty when it is acceptable), one Problem per kind of fault."""
    if not isinstance(key, str):
        return [Problem("object-key-not-text", f"An object key must be text, not {type(key).__name__}.",
                        field=field)]
    shown = ascii(key)[:_SHOWN]
    if not key:
        return [Problem("object-key-empty", "The object key is empty; name the file.", field=field,
                        value=shown)]
    found = [problem for problem in (_character_problem(key), _length_problem(key)) if problem is not None]
    if key.startswith("/"):
        found.append(("object-key-absolute", "The key starts with '/'; keys are relative to the store."))
    found.extend(_segment_problems(key.removeprefix("/")))
    return [Problem(code, message, field=field, value=shown) for code, message in found]


def check_key(key: object, *, field: str = "key") -> str:
    """Return ``key`` unchanged if its shape is allowed; otherwise raise Refused with every problem."""
    problems = key_problems(key, field=field)
    if problems or not isinstance(key, str):  # a key that is not text always has its problem
        raise Refused(problems)
    return key


def check_prefix(prefix: object) -> str:
    """A listing prefix: empty, a valid key, or a valid key followed by one ``/``."""
    if prefix == "":
        return ""
    if isinstance(prefix, str) and prefix.endswith("/"):
        check_key(prefix[:-1], field="prefix")
        return prefix
    return check_key(prefix, field="prefix")


def _character_problem(key: str) -> tuple[str, str] | None:
    bad = list(dict.fromkeys(ch for ch in key if ch not in ALLOWED_CHARACTERS and ch != "/"))
    if not bad:
        return None
    named = ", ".join(_describe(ch) for ch in bad[:5]) + (", ..." if len(bad) > 5 else "")
    return "object-key-character", f"The key contains {named}; keys may use only {_ALLOWED_TEXT}."


def _length_problem(key: str) -> tuple[str, str] | None:
    size = len(key.encode("utf-8", "surrogatepass"))
    if size <= MAX_KEY_BYTES:
        return None
    return "object-key-too-long", f"The key is {size} bytes long; the limit is {MAX_KEY_BYTES}."


def _segment_problems(path: str) -> list[tuple[str, str]]:
    found: dict[str, str] = {}
    for segment in path.split("/"):
        if not segment:
            found.setdefault("object-key-empty-segment",
                             "The key has an empty folder name ('//' or a trailing '/').")
        elif not segment.strip("."):
            found.setdefault("object-key-dot-segment",
                             f"The key has the folder name '{segment}'; names made of dots are not allowed.")
        elif segment != segment.strip(" "):
            found.setdefault("object-key-space-edge",
                             "A name in the key begins or ends with a space; remove it.")
        size = len(segment.encode("utf-8", "surrogatepass"))
        if size > MAX_SEGMENT_BYTES:
            found.setdefault("object-key-segment-too-long",
                             f"A name in the key is {size} bytes long; the limit is {MAX_SEGMENT_BYTES}.")
    return list(found.items())


def _describe(ch: str) -> str:
    """``U+FF0F FULLWIDTH SOLIDUS``: a code point named, never echoed raw (it may be invisible)."""
    category = unicodedata.category(ch)
    name = unicodedata.name(ch, "") or _UNNAMED.get(category, f"unnamed character ({category})")
    return f"U+{ord(ch):04X} {name}"
