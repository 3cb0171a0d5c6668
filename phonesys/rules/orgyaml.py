"""YAML for org documents with a reduced schema, built straight from the parser's events.

A plain scalar is ``null`` (``~``, ``null``, empty), a plain decimal integer (``-?(0|[1-9][0-9]*)``)
or else its literal text. YAML 1.1 would make ``006560000003`` octal, ``0x...`` hex, ``6_560_000_004``
and ``65:60:00`` other numbers and ``yes``/``on``/``true`` booleans, stored for good; here they stay the
text the author wrote and the value rules accept or refuse them by name. Keys are always their literal
text. Refused: tags other than str/int/null/seq/map, aliases (so no "billion laughs"), complex keys,
several documents in one file, nesting deeper than ``MAX_DEPTH``. A key given twice in a mapping is
collected as a ``document-duplicate-key`` problem.

Values are built from events without PyYAML's composer: no recursion (a deep document is refused at
level ``MAX_DEPTH + 1``, never near a recursion limit), and with libyaml's parser a 20 MB document
takes seconds, not minutes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from phonesys.rules.errors import Problem

MAX_DEPTH = 20  # nested mappings/lists; a valid document needs 3 (document > users > user)
TOO_DEEP = f"the document nests lists and mappings more than {MAX_DEPTH} levels deep."
DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DIGITS_MAX = 4000  # Python refuses to convert longer digit strings; longer ones stay text
_NULL = re.compile(r"~|null|Null|NULL|")
_TAG = "tag:yaml.org,2002:"

Container = dict[str, object] | list[object]  # a mapping (keys are always text) or a list being built


class Position(Protocol):
    """Where an event starts: PyYAML's ``Mark`` and libyaml's have the same two fields."""

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


class EventSource(Protocol):
    """A YAML event parser (libyaml's ``CParser`` or PyYAML's pure-Python one)."""

    def get_event(self) -> Event | None: ...


class Unacceptable(Exception):
    """A construct the reduced schema refuses outright, with where it is."""

    def __init__(self, code: str, message: str, mark: Position | None = None):
        super().__init__(message)
        self.code = code
        self.message = f"line {mark.line + 1}, column {mark.column + 1}: {message}" if mark else message


def join_path(path: str, part: object) -> str:
    """Document paths as the schema check writes them: ``users.0.name``."""
    return f"{path}.{part}" if path else str(part)


def duplicate_key(path: str, where: str = "") -> Problem:
    parent, _, key = path.rpartition(".")
    return Problem("document-duplicate-key", f"{where}key '{key}' appears twice in {parent or 'the document'}; "
                   "keep one.", path)


class PurePythonParser(Reader, Scanner, Parser):
    """PyYAML's own event parser, for when libyaml is missing."""

    def __init__(self, text: str):
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)


EventParser: Callable[[str], EventSource]
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    EventParser = CParser
else:  # pragma: no cover - PyYAML's wheels bundle libyaml
    EventParser = PurePythonParser


def parse_yaml(text: str, parser_class: Callable[[str], EventSource] = EventParser) -> tuple[object, list[Problem]]:
    """The document's value and its duplicate-key problems; raises ``Unacceptable`` or ``YAMLError``."""
    parser, builder = parser_class(text), _Builder()
    try:
        while (event := parser.get_event()) is not None:
            builder.feed(event)
    except yaml.YAMLError as exc:  # libyaml stops flow nesting at 1,000 levels, as a scanner error
        if "nesting depth" in str(getattr(exc, "problem", "")):
            raise Unacceptable("document-too-deep", TOO_DEEP) from None
        raise
    return builder.root, builder.problems


@dataclass
class _Frame:
    container: Container
    path: str
    key: str | None = None  # a mapping's key waiting for its value
    repeated: set[str] = field(default_factory=set)


@dataclass
class _Builder:
    """Turns events into values, one open list or mapping per frame."""

    root: object = None
    problems: list[Problem] = field(default_factory=list)
    stack: list[_Frame] = field(default_factory=list)
    documents: int = 0

    def feed(self, event: Event) -> None:
        if isinstance(event, DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise Unacceptable("document-invalid", "the file holds more than one YAML document.",
                                   event.start_mark)
        elif isinstance(event, AliasEvent):
            raise Unacceptable("document-invalid", "YAML aliases (*name) are not accepted; write the value "
                               "out in full.", event.start_mark)
        elif isinstance(event, ScalarEvent):
            self._place(_scalar(event), event)
        elif isinstance(event, CollectionStartEvent):
            self._open(event)
        elif isinstance(event, CollectionEndEvent):
            self.stack.pop()

    def _open(self, event: CollectionStartEvent) -> None:
        kind = "map" if isinstance(event, MappingStartEvent) else "seq"
        if event.tag not in (None, "!", _TAG + kind):
            raise _bad_tag(event)
        if len(self.stack) >= MAX_DEPTH:
            raise Unacceptable("document-too-deep", TOO_DEEP, event.start_mark)
        container: Container = {} if isinstance(event, MappingStartEvent) else []
        self.stack.append(_Frame(container, self._place(container, event)))

    def _place(self, value: object, event: NodeEvent) -> str:
        """Put ``value`` where the document is now; returns its path."""
        if not self.stack:
            self.root = value
            return ""
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            frame.container.append(value)
            return join_path(frame.path, len(frame.container) - 1)
        if frame.key is None:
            frame.key = self._key(frame, event)
            return frame.path
        path, frame.container[frame.key], frame.key = join_path(frame.path, frame.key), value, None
        return path

    def _key(self, frame: _Frame, event: NodeEvent) -> str:
        if not isinstance(event, ScalarEvent):
            raise Unacceptable("document-invalid", "a key must be plain text.", event.start_mark)
        key = event.value  # the literal text: `007:` is the key "007", not the number 7
        if key in frame.container and key not in frame.repeated:
            frame.repeated.add(key)
            mark = event.start_mark  # always set by both parsers
            self.problems.append(duplicate_key(join_path(frame.path, key), f"line {mark.line + 1}: " if mark else ""))
        return key


def _scalar(event: ScalarEvent) -> object:
    if event.tag in (None, "!") and not event.implicit[0]:
        return event.value  # quoted, or a block scalar: always text
    tag = event.tag or (_TAG + "null" if _NULL.fullmatch(event.value) else
                        _TAG + "int" if DECIMAL.fullmatch(event.value) else _TAG + "str")
    if tag in (_TAG + "str", "!"):
        return event.value
    if tag == _TAG + "null" and _NULL.fullmatch(event.value):
        return None
    if tag == _TAG + "int" and DECIMAL.fullmatch(event.value):
        return int(event.value) if len(event.value) <= _DIGITS_MAX else event.value
    if tag == _TAG + "int":
        raise Unacceptable("document-invalid", f"{event.value[:40]!r} is not a decimal whole number.",
                           event.start_mark)
    raise _bad_tag(event)


def _bad_tag(event: CollectionStartEvent | ScalarEvent) -> Unacceptable:
    value = event.value if isinstance(event, ScalarEvent) else None
    shown = f" on {value[:40]!r}" if value is not None else ""
    tag = str(event.tag).replace(_TAG, "!!")
    return Unacceptable("document-invalid", f"the YAML tag {tag}{shown} is not accepted; use plain "
                        "text, whole numbers, lists and mappings.", event.start_mark)
