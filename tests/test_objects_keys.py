"""Key abuse: hostile keys are refused by every method of every store before any I/O, and a
symbolic link inside the local folder never lets anything be read, written, listed or deleted
outside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from phonesys.rules.errors import Refused
from phonesys.rules.object_keys import MAX_KEY_BYTES, MAX_SEGMENT_BYTES
from phonesys.storage.objects import LocalObjectStore, ObjectStore, check_key, key_problems, open_object_store
from phonesys.storage.objects import local as local_module
from phonesys.storage.objects.s3 import S3ObjectStore

GOOD_KEYS = [
    "incoming/2f0c6a8e-org/req-001/users.csv", "Copy (2) of users.csv", "+6561234567.csv",
    "exports/org/org_20250101T120000Z_license_phonesystem_provisioned_extension.csv", ".keep",
    "a", "x" * MAX_SEGMENT_BYTES, "/".join(["y" * 200] * 5) + "/" + "z" * (MAX_KEY_BYTES - 1005),
    "a b/c d.csv", "v1.2.3/file.tar.gz", "under_score/dash-name",
]

BAD_KEYS = {  # key -> the problem codes it must produce
    "": {"object-key-empty"},
    "../etc/passwd": {"object-key-dot-segment"},
    "a/../../b": {"object-key-dot-segment"},
    "./a": {"object-key-dot-segment"},
    "a/./b": {"object-key-dot-segment"},
    "..": {"object-key-dot-segment"},
    "a/...": {"object-key-dot-segment"},
    "/etc/passwd": {"object-key-absolute"},
    "//server/share": {"object-key-absolute", "object-key-empty-segment"},
    "a//b": {"object-key-empty-segment"},
    "a/": {"object-key-empty-segment"},
    "a\\..\\..\\b": {"object-key-character"},
    "C:\\Windows\\x": {"object-key-character"},
    "..\\x": {"object-key-character"},
    "a\x00b": {"object-key-character"},
    "a\nb": {"object-key-character"},
    "a\rb": {"object-key-character"},
    "a\tb": {"object-key-character"},
    "a\x1bb": {"object-key-character"},
    "a\x7fb": {"object-key-character"},
    "a\x85b": {"object-key-character"},
    "a\uff0fb": {"object-key-character"},          # FULLWIDTH SOLIDUS (NFKC makes it '/')
    "\uff0e\uff0e/x": {"object-key-character"},    # FULLWIDTH FULL STOP x2 (NFKC makes it '..')
    "\u2024\u2024/x": {"object-key-character"},    # ONE DOT LEADER x2
    "\u2025/x": {"object-key-character"},          # TWO DOT LEADER
    "a\u2215b": {"object-key-character"},          # DIVISION SLASH
    "a\u2044b": {"object-key-character"},          # FRACTION SLASH
    "a\u29f8b": {"object-key-character"},          # BIG SOLIDUS
    "a\ufe68b": {"object-key-character"},          # SMALL REVERSE SOLIDUS
    "users\u202evsc.exe": {"object-key-character"},  # RIGHT-TO-LEFT OVERRIDE
    "a\u2066b\u2069": {"object-key-character"},    # bidi isolates
    "a\u200bb": {"object-key-character"},          # ZERO WIDTH SPACE
    "a\ufeffb": {"object-key-character"},          # BYTE ORDER MARK
    "e\u0301.csv": {"object-key-character"},       # combining accent (not NFC)
    "caf\u00e9.csv": {"object-key-character"},     # NFC, but outside the ASCII allowlist
    "\u0430dmin.csv": {"object-key-character"},    # CYRILLIC a, looks like Latin a
    "a\u00a0b": {"object-key-character"},          # NO-BREAK SPACE
    "a\ud800b": {"object-key-character"},          # lone surrogate
    "%2e%2e/x": {"object-key-character"},          # URL-encoded dots are not decoded, just refused
    "~/x": {"object-key-character"},
    "a:b": {"object-key-character"},
    "a*b?": {"object-key-character"},
    "$(rm -rf)": {"object-key-character"},
    " lead.csv": {"object-key-space-edge"},
    "trail.csv ": {"object-key-space-edge"},
    "dir /x": {"object-key-space-edge"},
    "x" * (MAX_SEGMENT_BYTES + 1): {"object-key-segment-too-long"},
    "/".join(["y" * 200] * 5) + "/" + "z" * (MAX_KEY_BYTES - 1004): {"object-key-too-long"},
    "a/" * 600 + "b": {"object-key-too-long"},
}


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_allowed_shapes_pass_unchanged(key):
    assert check_key(key) == key and key_problems(key) == []


@pytest.mark.parametrize(("key", "expected"), BAD_KEYS.items(), ids=[ascii(k)[:40] for k in BAD_KEYS])
def test_hostile_keys_are_refused_with_their_reasons(key, expected):
    with pytest.raises(Refused) as refused:
        check_key(key)
    assert {problem.code for problem in refused.value.problems} == expected
    for problem in refused.value.problems:
        assert problem.field == "key" and problem.value is not None and problem.value.isascii()
        assert problem.message.isascii()  # invisible or bidi characters are named, never echoed


def test_a_bad_character_is_named_by_its_code_point():
    problem = key_problems("a\uff0fb\u202e")[0]
    assert "U+FF0F FULLWIDTH SOLIDUS" in problem.message and "U+202E RIGHT-TO-LEFT OVERRIDE" in problem.message


def test_non_text_keys_are_refused():
    for key in (None, b"a.csv", 7, Path("a.csv")):
        assert [p.code for p in key_problems(key)] == ["object-key-not-text"]


# -- every method of every store checks its keys before any I/O ---------------------------------

@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    return open_object_store(request.getfixturevalue("s3_storage_url"))


def every_method(store: ObjectStore, key: str, tmp_path: Path):
    source = tmp_path / "source.csv"
    source.write_bytes(b"x")
    return {
        "stat": lambda: store.stat(key), "read_bytes": lambda: store.read_bytes(key),
        "read_bytes_max": lambda: store.read_bytes(key, max_bytes=10),
        "download": lambda: store.download(key, tmp_path / "download.csv"),
        "write_bytes": lambda: store.write_bytes(key, b"x"), "upload": lambda: store.upload(key, source),
        "copy_from": lambda: store.copy(key, "ok.csv"), "copy_to": lambda: store.copy("ok.csv", key),
        "move_from": lambda: store.move(key, "ok.csv"), "move_to": lambda: store.move("ok.csv", key),
        "delete": lambda: store.delete(key), "location": lambda: store.location(key),
        "list": lambda: store.list(key),
    }


@pytest.mark.parametrize("key", ["../escape.csv", "a/../../b", "/abs.csv", "a\x00b", "a\uff0fb",
                                 "\u2024\u2024/x", "a\\b", "x" * 2000])
def test_every_method_refuses_hostile_keys_before_any_io(store, key, tmp_path):
    store.write_bytes("ok.csv", b"keep me")
    calls: list[str] = []
    if isinstance(store, S3ObjectStore):
        store.client.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    for name, attempt in every_method(store, key, tmp_path).items():
        with pytest.raises(Refused) as refused:
            attempt()
        assert all(p.code.startswith("object-key-") for p in refused.value.problems), name
    assert calls == []
    assert [info.key for info in store.list()] == ["ok.csv"]
    assert store.read_bytes("ok.csv") == b"keep me"
    assert not (tmp_path / "download.csv").exists() and not (tmp_path / "escape.csv").exists()


def test_list_prefix_is_checked_too(store):
    for prefix in ("../", "/", "a//", "..", "a\x00/"):
        with pytest.raises(Refused):
            store.list(prefix)
    assert list(store.list("")) == [] and list(store.list("fine/")) == []


# -- a symbolic link inside the local folder pointing outside it --------------------------------

@pytest.fixture
def trap(tmp_path):
    """A local store whose folder holds links to an outside folder and to an outside file."""
    outside = tmp_path / "outside"
    outside.mkdir()
    sentinel = outside / "sentinel.csv"
    sentinel.write_bytes(b"secret")
    store = LocalObjectStore(tmp_path / "objects")
    store.write_bytes("ok.csv", b"ok")
    store.write_bytes("real/ok.csv", b"ok")
    os.symlink(outside, store.root / "evil")
    os.symlink(sentinel, store.root / "evil.csv")
    os.symlink(outside, store.root / "real" / "deeper")
    return store, outside, sentinel


def assert_untouched(outside: Path, sentinel: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["sentinel.csv"]
    assert sentinel.read_bytes() == b"secret"


LINKED_KEYS = ["evil/sentinel.csv", "evil.csv", "real/deeper/sentinel.csv", "evil/new.csv",
               "real/deeper/new/x.csv", "evil/sub/new.csv"]


@pytest.mark.parametrize("key", LINKED_KEYS)
def test_nothing_outside_the_root_is_read_written_or_deleted(trap, key, tmp_path):
    store, outside, sentinel = trap
    for name, attempt in every_method(store, key, tmp_path).items():
        if name in ("location", "list"):
            continue
        with pytest.raises(Refused) as refused:
            attempt()
        assert [p.code for p in refused.value.problems] == ["object-outside-root"], name
    assert_untouched(outside, sentinel)
    assert store.read_bytes("ok.csv") == b"ok"  # move_to/copy_to put it there, nothing went outside
    assert not (tmp_path / "download.csv").exists()


def test_listing_does_not_descend_through_links(trap, caplog):
    store, outside, sentinel = trap
    assert [info.key for info in store.list()] == ["ok.csv", "real/ok.csv"]
    assert [info.key for info in store.list("real/")] == ["real/ok.csv"]
    assert "not following symbolic link" in caplog.text
    with pytest.raises(Refused) as refused:
        store.list("evil/")
    assert [p.code for p in refused.value.problems] == ["object-outside-root"]
    assert_untouched(outside, sentinel)


def test_links_are_not_followed_even_if_the_containment_check_is_bypassed(trap, monkeypatch, tmp_path):
    """Defence in depth: a link swapped in after the check is still refused by O_NOFOLLOW."""
    store, outside, sentinel = trap
    monkeypatch.setattr(local_module.Path, "is_relative_to", lambda self, other: True)
    for key in LINKED_KEYS:
        for name, attempt in every_method(store, key, tmp_path).items():
            if name in ("location", "list"):
                continue
            with pytest.raises(Refused) as refused:
                attempt()
            assert [p.code for p in refused.value.problems] == ["object-symlink-refused"], (key, name)
    with pytest.raises(Refused) as refused:
        store.list("evil/")
    assert [p.code for p in refused.value.problems] == ["object-symlink-refused"]
    assert [info.key for info in store.list()] == ["ok.csv", "real/ok.csv"]
    assert_untouched(outside, sentinel)


def test_links_pointing_inside_the_root_are_not_followed_either(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    store.write_bytes("data/a.csv", b"a")
    os.symlink(store.root / "data", store.root / "alias")
    os.symlink(store.root / "data" / "a.csv", store.root / "a-link.csv")
    for key in ("alias/a.csv", "a-link.csv"):
        with pytest.raises(Refused) as refused:
            store.read_bytes(key)
        assert [p.code for p in refused.value.problems] == ["object-symlink-refused"]
    with pytest.raises(Refused):
        store.delete("a-link.csv")
    assert (store.root / "a-link.csv").is_symlink()
    assert [info.key for info in store.list()] == ["data/a.csv"]


def test_a_symlink_loop_is_refused(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    os.symlink("loop-b", store.root / "loop-a")
    os.symlink("loop-a", store.root / "loop-b")
    with pytest.raises(Refused) as refused:
        store.read_bytes("loop-a/x.csv")
    assert [p.code for p in refused.value.problems] == ["object-symlink-refused"]


def test_the_root_itself_may_be_a_link(tmp_path):
    real = tmp_path / "real-root"
    real.mkdir()
    os.symlink(real, tmp_path / "root-link")
    store = LocalObjectStore(tmp_path / "root-link")
    store.write_bytes("a.csv", b"1")
    assert (real / "a.csv").read_bytes() == b"1" and [i.key for i in store.list()] == ["a.csv"]


def test_a_fifo_in_the_folder_does_not_hang_a_read(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    os.mkfifo(store.root / "pipe.csv")
    with pytest.raises(Refused):
        store.read_bytes("pipe.csv")
    assert list(store.list()) == []
