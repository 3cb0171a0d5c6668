"""Domain rules for single values: ext keys, directory names, numbers, UUIDs, names, SKUs.

Each ``check_*`` returns the canonical value or a ``Problem``; callers collect problems so that a
request reports everything wrong with it at once. The database repeats the structural rules as
CHECK constraints (see ``storage/migrations``); these functions give the friendly message first.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

from phonesys.rules.errors import Problem
from phonesys.rules.limits import COUNT_MAX as COUNT_MAX  # re-exported for orgfile
from phonesys.rules.limits import (
    DIRECTORY_NAME_MAX,
    SKU_MAX,
    TEMPLATE_NAME_MAX,
    UPLOAD_FILE_NAME_MAX,
    USER_NAME_MAX,
)
from phonesys.rules.messages import NUMBER_FORMAT, NUMBER_SCIENTIFIC

# One definition for both forms of a rule: these patterns are compiled here for the Python checks and
# written into the upload's DuckDB SQL (phonesys.rules.validation) by ``sql_full_match``; Python's re
# and DuckDB's RE2 read them the same way (tests/test_rule_agreement.py).
EXT_KEY_REGEX = r"[0-9]{3,5}"
NUMBER_REGEX = r"\+?[0-9]{1,15}"  # E.164: at most 15 digits after the +
SCIENTIFIC_REGEX = r"[0-9]([.,][0-9]+)?[eE][+-]?[0-9]+"  # 6.51E+09; 6,51E+09 in comma locales
UUID_REGEX = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # canonical text form
EXT_KEY_PATTERN = re.compile(EXT_KEY_REGEX)
# Characters that reorder how text is shown (Trojan Source): embeddings, overrides, isolates, marks.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_NUMBER_PATTERN = re.compile(NUMBER_REGEX)
_SCIENTIFIC_PATTERN = re.compile(SCIENTIFIC_REGEX)


def sql_full_match(expression: str, regex: str) -> str:
    """The SQL form of ``re.fullmatch(regex, value)`` for DuckDB."""
    if "'" in regex:
        raise ValueError(f"pattern {regex!r} cannot be written as a SQL string literal as is")
    return f"regexp_full_match({expression}, '{regex}')"


def number_text(raw: str) -> str:
    """A number cell without any blank (spaces, tabs, no-break spaces...): how both forms read it."""
    return "".join(raw.split())


def check_ext_key(raw: str, field: str = "ext_key") -> str | Problem:
    """Ext keys are 3-5 ASCII digits kept as text, so ``0101`` stays ``0101``."""
    value = raw.strip()
    if not value:
        return Problem("ext-key-required", "Ext Key is required: give 3-5 digits.", field, raw)
    if not EXT_KEY_PATTERN.fullmatch(value):
        return Problem("ext-key-format", f"Ext Key '{value}' must be 3 to 5 digits (0-9).", field, raw)
    return value


def consecutive_ext_keys(start: str, count: int) -> list[str] | list[Problem]:
    """Keys ``start .. start+count-1``; zero-padded to the start key's width (``0998`` -> ``0999``)."""
    checked = check_ext_key(start, "start")
    problems: list[Problem] = [checked] if isinstance(checked, Problem) else []
    if count < 1:
        problems.append(Problem("count-invalid", f"Count must be at least 1, got {count}.", "count", str(count)))
    if problems:
        return problems
    width, first = len(start.strip()), int(start)
    last = str(first + count - 1).zfill(width)
    if len(last) > 5:  # checked before building the list, so a huge --count cannot exhaust memory
        return [Problem("ext-key-range", f"Provisioning {count} extensions from {start} would reach "
                        f"{last}, which has more than 5 digits; lower the start or the count.",
                        "count", str(count))]
    return [str(first + i).zfill(width) for i in range(count)]


def unsafe_characters(value: str) -> list[str]:
    """Control (C0, DEL, C1) and bidi-control characters in ``value``, as ``U+001B`` code points.

    They are refused in names people see: on a terminal ESC starts an escape sequence and BEL rings,
    and bidi overrides make a name display as something else than it is.
    """
    return list(dict.fromkeys(f"U+{ord(c):04X}" for c in value if _unsafe(c)))


def _unsafe(character: str) -> bool:
    return character in BIDI_CONTROLS or unicodedata.category(character) == "Cc"


def printable(text: str) -> str:
    """``text`` with control and bidi characters written as escapes, safe to print on a terminal."""
    return "".join(f"\\u{ord(c):04x}" if _unsafe(c) else c for c in text)


def check_directory_name(raw: str) -> str | Problem:
    value = raw.strip()
    if len(value) > DIRECTORY_NAME_MAX:
        return Problem("directory-name-too-long", f"Directory name has {len(value)} characters; "
                       f"the limit is {DIRECTORY_NAME_MAX}.", "directory_name", raw[:120])
    unsafe = unsafe_characters(value)
    if unsafe:
        return Problem("directory-name-control-char", "Directory name contains control or bidi "
                       f"characters ({', '.join(unsafe[:5])}); remove them.", "directory_name", raw[:120])
    return value


def check_number(raw: str, field: str = "number") -> str | Problem:
    """Numbers are stored as E.164 (``+6560000001``); a missing ``+`` (Excel strips it) is restored.

    The stored form is exactly ``+`` and the digits given, as an upload computes it in SQL; a number
    phonenumbers would write differently (a trunk 0 after the country code) is refused with the form
    to use, so a number never has two spellings."""
    value = number_text(raw)
    if _SCIENTIFIC_PATTERN.fullmatch(value):
        return Problem("number-scientific-notation", NUMBER_SCIENTIFIC.format(label="Number", value=raw), field, raw)
    if not _NUMBER_PATTERN.fullmatch(value):
        return Problem("number-format", NUMBER_FORMAT.format(label="Number", value=raw), field, raw)
    e164 = "+" + value.lstrip("+")
    import phonenumbers  # here: its metadata costs a read command a tenth of a second it never needs

    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        return Problem("number-invalid", f"Number '{raw}' is not a possible international phone "
                       "number; write it with its country code, e.g. +6560000001.", field, raw)
    canonical = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if canonical != e164:
        return Problem("number-invalid", f"Number '{raw}' is not in international form; write it as "
                       f"{canonical}.", field, raw)
    return e164


def check_uuid(raw: str, field: str) -> str | Problem:
    """UUIDs are stored lower-case and hyphenated whatever case or braces they arrive in."""
    try:
        return str(uuid.UUID(raw.strip()))
    except (ValueError, AttributeError):
        return Problem("uuid-invalid", f"'{raw}' is not a valid UUID "
                       "(expected e.g. 652d2f57-6e3b-4170-8bf9-4f1e98c88b56).", field, raw)


def name_key(name: str) -> str:
    """How user names are matched: trimmed, inner whitespace collapsed, case-folded, NFKC."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def check_user_name(raw: str, field: str = "name") -> str | Problem:
    value = " ".join(raw.split())
    if not value:
        return Problem("user-name-required", "User's name is required.", field, raw)
    if len(value) > USER_NAME_MAX:
        return Problem("user-name-too-long", f"User's name has {len(value)} characters; the limit "
                       f"is {USER_NAME_MAX}.", field, raw[:120])
    unsafe = unsafe_characters(value)
    if unsafe:
        return Problem("user-name-control-char", "User's name contains control or bidi characters "
                       f"({', '.join(unsafe[:5])}); remove them.", field, raw[:120])
    return value


def check_template_name(raw: str) -> str | Problem:
    return check_printable_name(raw, "template-name-invalid", "Template name", TEMPLATE_NAME_MAX)


def check_printable_name(raw: str, code: str, what: str, limit: int) -> str | Problem:
    """A name people type and others read back (template, token): inner whitespace collapsed, 1 to
    ``limit`` characters, nothing that would hide or reorder text on a screen."""
    value = " ".join(raw.split())
    if not value or len(value) > limit or unsafe_characters(value):
        return Problem(code, f"{what} must be 1-{limit} printable characters (no control or bidi characters).",
                       "name", raw[:120])
    return value


def check_sku(raw: str, field: str = "addon") -> str | Problem:
    value = " ".join(raw.split())
    if not value or len(value) > SKU_MAX or unsafe_characters(value):
        return Problem("addon-sku-invalid", f"Add-on name '{raw[:120]}' must be 1-{SKU_MAX} printable "
                       "characters.", field, raw[:120])
    return value


def split_checked(results: list[object]) -> tuple[list[object], list[Problem]]:
    """Separate canonical values from problems in a list of ``check_*`` results."""
    values = [r for r in results if not isinstance(r, Problem)]
    problems = [r for r in results if isinstance(r, Problem)]
    return values, problems


def upload_file_name(raw: str) -> str:
    """The name an uploaded file is known by: its last path part (a browser may send ``C:\\x\\a.csv``,
    anyone ``../../a.csv``), control and bidi characters as ``_``, at most ``UPLOAD_FILE_NAME_MAX``
    bytes keeping the end (``.csv``); never empty, never ``.`` or ``..``."""
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join("_" if _unsafe(c) else c for c in base).strip()
    while len(name.encode()) > UPLOAD_FILE_NAME_MAX:
        name = name[1:]
    return "upload.csv" if name.strip(".") == "" else name
