"""`template upload` through the CLI: accepted whole or rejected whole, errors next to the upload."""

from __future__ import annotations

from pathlib import Path

import pytest

from phonesys.storage.objects import open_object_store
from tests.cliassert import ok, refused


@pytest.fixture
def template(cli, org) -> str:
    return ok(cli, "template", "create", org.org_uuid, "--name", "Uploads")["uuid"]


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_accepted_upload_appends_rows_and_keeps_the_file(cli, org, template, tmp_path, phonesys_env):
    a = write(tmp_path, "a.csv", f"Ext Key,Identity UUID,Number\n301,{org.users[0].identity_uuid},{org.numbers[0]}\n")
    b = write(tmp_path, "b.csv", f"Ext Key,User's Name\n302,{org.users[1].name}\n")
    result = ok(cli, "template", "upload", template, a, b)
    assert result["total_users"] == 2 and [f["rows"] for f in result["files"]] == [1, 1]
    assert [f["identifier_kind"] for f in result["files"]] == ["uuid", "name"]
    store = open_object_store(Path(phonesys_env["PHONESYS_HOME"]) / "objects")
    assert store.read_bytes(result["files"][0]["object_key"]).startswith(b"Ext Key")
    users = ok(cli, "template", "users", template)["users"]
    assert [(u["ext_key"], u["number"], u["file"], u["row"]) for u in users] == [
        ("301", org.numbers[0], "a.csv", 2), ("302", None, "b.csv", 2)]
    assert ok(cli, "template", "show", template)["total_users"] == 2


def test_one_bad_file_rejects_the_whole_request(cli, org, template, tmp_path, phonesys_env):
    good = write(tmp_path, "good.csv", f"Ext Key,Identity UUID\n301,{org.users[0].identity_uuid}\n")
    bad = write(tmp_path, "bad.csv", f"Ext Key,Identity UUID\n12,{org.users[1].identity_uuid}\n301,nope\n")
    problems = refused(cli, "template", "upload", template, good, bad)
    assert [(p["file"], p["row"], p["code"]) for p in problems] == [
        ("bad.csv", 2, "ext-key-format"), ("bad.csv", 3, "ext-key-in-template"), ("bad.csv", 3, "uuid-invalid")]
    assert ok(cli, "template", "show", template)["total_users"] == 0
    as_json = cli("template", "upload", template, good, bad, "--json")
    errors = Path(__import__("json").loads(as_json.stdout)["errors_files"][0])
    assert errors.name.endswith("_bad.csv.errors.csv") and b"ext-key-format" in errors.read_bytes()


def test_rows_of_earlier_files_count_against_later_ones(cli, org, template, tmp_path):
    first = write(tmp_path, "1.csv", f"Ext Key,Identity UUID\n301,{org.users[0].identity_uuid}\n")
    ok(cli, "template", "upload", template, first)
    again = write(tmp_path, "2.csv", f"Ext Key,Identity UUID\n301,{org.users[1].identity_uuid}\n"
                                     f"302,{org.users[0].identity_uuid}\n")
    codes = {p["code"] for p in refused(cli, "template", "upload", template, again)}
    assert codes == {"ext-key-in-template", "user-in-template"}


def test_upload_from_an_object_key(cli, org, template, phonesys_env):
    store = open_object_store(Path(phonesys_env["PHONESYS_HOME"]) / "objects")
    store.write_bytes("inbox/u.csv", f"Ext Key,Identity UUID\n301,{org.users[0].identity_uuid}\n".encode())
    assert ok(cli, "template", "upload", template, "--key", "inbox/u.csv")["total_users"] == 1
    assert [p["code"] for p in refused(cli, "template", "upload", template, "--key", "../etc/passwd")] == [
        "object-key-dot-segment"]


def test_upload_needs_a_file_and_a_draft(cli, engine, org, template, tmp_path):
    assert [p["code"] for p in refused(cli, "template", "upload", template)] == ["upload-nothing"]
    assert [p["code"] for p in refused(cli, "template", "upload", template, str(tmp_path / "missing.csv"))] == [
        "file-not-found"]
    from sqlalchemy import update

    from phonesys.storage.inventory.schema import templates

    with engine.begin() as connection:
        connection.execute(update(templates).values(status="in_progress"))
    path = write(tmp_path, "a.csv", f"Ext Key,Identity UUID\n301,{org.users[0].identity_uuid}\n")
    assert [p["code"] for p in refused(cli, "template", "upload", template, path)] == ["template-action-not-allowed"]


def test_sample_csv_files_are_valid_layouts(cli, tmp_path):
    for by in ("name", "uuid"):
        result = cli("sample-csv", "--by", by, "--output", str(tmp_path / f"{by}.csv"))
        assert result.exit_code == 0
        header = (tmp_path / f"{by}.csv").read_bytes().decode("utf-8-sig").splitlines()[0]
        assert header == ("Ext Key,User's Name,Number" if by == "name" else "Ext Key,Identity UUID,Number")
