"""``phonesys org import-users ORG CSV``: encodings, line endings, column order and case, quoting;
bad rows reported together with spreadsheet row numbers (header = row 1) and nothing imported;
re-import renames existing users."""

from __future__ import annotations

import codecs
import json

import pytest
from sqlalchemy import select

from phonesys.storage.inventory.orgs import load_org
from phonesys.storage.inventory.schema import users
from tests.cliassert import refused as refused_problems
from tests.conftest import make_document

U = [f"c5000000-0000-4000-8000-00000000000{i}" for i in range(10)]


@pytest.fixture
def acme(engine):
    document = make_document(base=5, numbers=0, users=2)
    load_org(engine, document)
    return document


@pytest.fixture
def write(tmp_path):
    def write_file(content: str | bytes, name: str = "users.csv", encoding: str = "utf-8") -> str:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return str(path)

    return write_file


def names(engine, org_uuid: str) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(select(users.c.identity_uuid, users.c.name).where(users.c.org_uuid == org_uuid))
        return dict(rows.all())


def imported(cli, org: str, path: str) -> dict:
    result = cli("org", "import-users", org, path, "--json")
    assert result.exit_code == 0, result.output
    parsed = json.loads(result.stdout)
    assert parsed.pop("ok") is True
    return parsed


def refused(cli, org: str, path: str) -> list[tuple]:
    """[(code, row, field)] of a refused import."""
    return [(p["code"], p.get("row"), p.get("field")) for p in refused_problems(cli, "org", "import-users", org, path)]


GOOD = f"Identity UUID,User's Name\n{U[0]},Tony Tan\n{U[1]},Mei Lin\n{U[2]},Jos\u00e9 M\u00fcller\n"
EXPECTED = {U[0]: "Tony Tan", U[1]: "Mei Lin", U[2]: "Jos\u00e9 M\u00fcller"}


@pytest.mark.parametrize("content", [
    pytest.param(GOOD.encode("utf-8"), id="utf-8"),
    pytest.param(codecs.BOM_UTF8 + GOOD.encode("utf-8"), id="utf-8 BOM"),
    pytest.param(GOOD.encode("utf-16"), id="utf-16 BOM (native)"),
    pytest.param(codecs.BOM_UTF16_LE + GOOD.encode("utf-16-le"), id="utf-16-le BOM"),
    pytest.param(codecs.BOM_UTF16_BE + GOOD.encode("utf-16-be"), id="utf-16-be BOM"),
    pytest.param(GOOD.replace("\n", "\r\n").encode(), id="CRLF"),
    pytest.param(codecs.BOM_UTF16_LE + GOOD.replace("\n", "\r\n").encode("utf-16-le"), id="utf-16 CRLF"),
    pytest.param(GOOD.rstrip("\n").encode(), id="no final newline"),
    pytest.param(GOOD.replace("\n", "\n\n").encode(), id="blank lines"),
    pytest.param(GOOD.replace("\n", "\n,\n").encode(), id="empty rows"),
    pytest.param(f"User's Name,Identity UUID\nTony Tan,{U[0]}\nMei Lin,{U[1]}\nJos\u00e9 M\u00fcller,{U[2]}\n".encode(),
                 id="columns swapped"),
    pytest.param(GOOD.replace("Identity UUID,User's Name", " identity uuid , USER'S NAME ").encode(),
                 id="header any case and blanks"),
    pytest.param(f'"Identity UUID","User\'s Name"\n"{U[0]}","Tony Tan"\n{U[1]},  Mei   Lin  \n'
                 f'{U[2].upper()},Jos\u00e9 M\u00fcller\n'.encode(), id="quoted, padded, upper-case UUID"),
])
def test_import_accepts(cli, engine, acme, write, content):
    assert imported(cli, acme.org_uuid, write(content)) == {"org_uuid": acme.org_uuid, "rows": 3, "added": 3,
                                                            "updated": 0}
    found = names(engine, acme.org_uuid)
    assert {k: v for k, v in found.items() if k in EXPECTED} == EXPECTED
    assert len(found) == 2 + 3


def test_quoted_names_with_commas_quotes_and_newlines(cli, engine, acme, write):
    content = (f"Identity UUID,User's Name\n{U[0]},\"Tan, Tony\"\n{U[1]},\"Lin \"\"Mei\"\"\"\n"
               f"{U[2]},\"Two\nLines\"\n{U[3]},O'Brien\n")
    assert imported(cli, acme.org_uuid, write(content))["added"] == 4
    found = names(engine, acme.org_uuid)
    assert [found[u] for u in U[:4]] == ["Tan, Tony", 'Lin "Mei"', "Two Lines", "O'Brien"]


def test_imported_users_can_be_assigned_by_name(cli, acme, write):
    imported(cli, acme.org_uuid, write(GOOD))
    cli("provision", acme.org_uuid, "-n", "1", "-s", "101")
    result = cli("ext", "assign-user", acme.org_uuid, "101", "jos\u00e9 m\u00fcller", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["user"]["identity_uuid"] == U[2]


def test_reimport_renames_and_adds(cli, engine, acme, write):
    imported(cli, acme.org_uuid, write(GOOD))
    again = f"Identity UUID,User's Name\n{U[0].upper()},Anthony Tan\n{U[1]},Mei Lin\n{U[3]},Ana Lim\n"
    assert imported(cli, acme.org_uuid, write(again)) == {"org_uuid": acme.org_uuid, "rows": 3, "added": 1,
                                                          "updated": 2}
    found = names(engine, acme.org_uuid)
    assert (found[U[0]], found[U[1]], found[U[2]], found[U[3]]) == ("Anthony Tan", "Mei Lin", "Jos\u00e9 M\u00fcller",
                                                                    "Ana Lim")


def test_header_only_imports_nothing(cli, acme, write):
    assert imported(cli, acme.org_uuid, write("Identity UUID,User's Name\n"))["rows"] == 0


def test_text_output(cli, acme, write):
    result = cli("org", "import-users", acme.org_uuid, write(GOOD))
    assert result.exit_code == 0 and "3 added, 0 updated" in result.stdout


H = "Identity UUID,User's Name\n"
BAD_FILES = [
    # (id, content, [(code, row, field)])
    ("bad uuid", H + f"{U[0]},Tony\nnot-a-uuid,Mei\n", [("uuid-invalid", 3, "Identity UUID")]),
    ("empty name", H + f"{U[0]},Tony\n{U[1]},\n{U[2]},   \n",
     [("user-name-required", 3, "User's Name"), ("user-name-required", 4, "User's Name")]),
    ("name too long", H + f"{U[0]},{'x' * 201}\n", [("user-name-too-long", 2, "User's Name")]),
    ("name with ESC and bidi", H + f"{U[0]},Tony\x1b[2JTan\n{U[1]},Mei\u202eLin\n",
     [("user-name-control-char", 2, "User's Name"), ("user-name-control-char", 3, "User's Name")]),
    ("empty uuid", H + ",Tony\n", [("uuid-invalid", 2, "Identity UUID")]),
    ("bad uuid and empty name on one row", H + "zzz,\n",
     [("uuid-invalid", 2, "Identity UUID"), ("user-name-required", 2, "User's Name")]),
    ("duplicate uuid", H + f"{U[0]},Tony\n{U[1]},Mei\n{U[0].upper()},Tony again\n",
     [("user-duplicate", 4, "Identity UUID")]),
    ("ragged rows", H + f"{U[0]},Tony,extra\n{U[1]}\n{U[2]},Ok\n", [("row-ragged", 2, None), ("row-ragged", 3, None)]),
    ("unclosed quote", H + f'{U[0]},"Tony\n', [("csv-malformed", 2, None)]),
    ("unclosed quote swallows the rest", H + f'{U[0]},Ok\n{U[1]},"Tony\n{U[2]},Mei\n{U[3]},Ana\n',
     [("csv-malformed", 3, None)]),
    ("text after quote", H + f'{U[0]},"Tony"x\n{U[1]},Mei\n', [("csv-malformed", 2, None)]),
    ("broken quote after a multi-line cell", H + f'{U[0]},"Two\nLines"\n{U[1]},"Tony"x\n',
     [("csv-malformed", 3, None)]),
    ("bad rows before a broken quote", H + f'bad,Tony\n{U[1]},"Mei"x\n',
     [("uuid-invalid", 2, "Identity UUID"), ("csv-malformed", 3, None)]),
    ("broken quote in header", '"Identity UUID"x,User\'s Name\n', [("csv-malformed", 1, None)]),
    ("unknown column", f"Identity UUID,User's Name,Email\n{U[0]},Tony,t@x\n", [("header-unknown-column", 1, "Email")]),
    ("missing column", f"Identity UUID\n{U[0]}\n", [("header-missing-column", 1, "User's Name")]),
    ("duplicate column", f"Identity UUID,User's Name,identity uuid\n{U[0]},Tony,{U[1]}\n",
     [("header-duplicate-column", 1, "identity uuid")]),
    ("wrong header", f"UUID,Name\n{U[0]},Tony\n",
     [("header-unknown-column", 1, "UUID"), ("header-unknown-column", 1, "Name"),
      ("header-missing-column", 1, "Identity UUID"), ("header-missing-column", 1, "User's Name")]),
    ("no header", f"{U[0]},Tony\n",
     [("header-unknown-column", 1, U[0]), ("header-unknown-column", 1, "Tony"),
      ("header-missing-column", 1, "Identity UUID"), ("header-missing-column", 1, "User's Name")]),
    ("empty file", "", [("file-empty", None, None)]),
    ("cp1252 bytes", (H + f"{U[0]},Tony\n{U[1]},Jos\u00e9\n").encode("cp1252"), [("encoding-unsupported", 3, None)]),
    ("many problems at once", H + f"{U[0]},Tony\nbad,\n{U[0]},Dup\n{U[1]}\n{U[2]},Fine\n",
     [("uuid-invalid", 3, "Identity UUID"), ("user-name-required", 3, "User's Name"),
      ("user-duplicate", 4, "Identity UUID"), ("row-ragged", 5, None)]),
    ("row numbers count blank lines", H + f"\n{U[0]},Tony\n\nbad,Mei\n", [("uuid-invalid", 5, "Identity UUID")]),
    ("row numbers count multi-line cells", H + f'{U[0]},"Two\nLines"\nbad,Mei\n', [("uuid-invalid", 3, "Identity UUID")]),
]


@pytest.mark.parametrize("content, expected", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_file_reports_every_problem_and_imports_nothing(cli, engine, acme, write, content, expected):
    before = names(engine, acme.org_uuid)
    assert refused(cli, acme.org_uuid, write(content)) == expected
    assert names(engine, acme.org_uuid) == before


def test_problems_name_the_file(cli, acme, write):
    result = cli("org", "import-users", acme.org_uuid, write(H + "bad,Tony\n"), "--json")
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["file"], problem["row"], problem["value"]) == ("users.csv", 2, "bad")


def test_cp1252_hint(cli, acme, write):
    result = cli("org", "import-users", acme.org_uuid, write((H + f"{U[0]},Jos\u00e9\n").encode("cp1252")), "--json")
    assert "CSV UTF-8" in json.loads(result.stdout)["problems"][0]["message"]


def test_missing_file(cli, acme, tmp_path):
    result = cli("org", "import-users", acme.org_uuid, str(tmp_path / "nope.csv"), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["problems"][0]["code"] == "file-not-found"


def test_user_of_another_org_is_refused(cli, engine, acme, write):
    other = make_document(base=1, numbers=0, users=2)
    load_org(engine, other)
    theirs = other.users[1].identity_uuid
    before = names(engine, acme.org_uuid), names(engine, other.org_uuid)
    assert refused(cli, acme.org_uuid, write(H + f"{U[0]},Tony\n{theirs},Stolen\n")) == \
        [("user-in-other-org", None, "Identity UUID")]
    assert (names(engine, acme.org_uuid), names(engine, other.org_uuid)) == before


@pytest.mark.parametrize("org_ref, code", [("00000000-0000-4000-8000-000000000000", "org-not-found"),
                                           ("acme", "org-uuid-invalid")])
def test_unknown_org(cli, engine, acme, write, org_ref, code):
    before = names(engine, acme.org_uuid)
    assert refused(cli, org_ref, write(GOOD)) == [(code, None, "org")]
    assert names(engine, acme.org_uuid) == before


def test_large_import_is_one_batch_of_work(cli, engine, acme, write):
    """20,000 rows load through the CLI (the 100,000-row timing lives in the benchmarks)."""
    rows = "".join(f"{i:08x}-0000-4000-8000-{i:012x},User {i}\n" for i in range(20_000))
    assert imported(cli, acme.org_uuid, write(H + rows))["added"] == 20_000
    assert len(names(engine, acme.org_uuid)) == 20_002


def test_large_reimport_renames_and_adds_in_one_statement(cli, engine, acme, write):
    """Past 1,000 rows PostgreSQL loads through COPY and a temporary table: names still update and
    new users still add, and the name keys used for matching follow the new names."""
    uuid_of = [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(1_500)]
    imported(cli, acme.org_uuid, write(H + "".join(f"{u},User {i}\n" for i, u in enumerate(uuid_of[:1_200]))))
    again = H + "".join(f"{u},Renamed  {i}\n" for i, u in enumerate(uuid_of))
    assert imported(cli, acme.org_uuid, write(again)) == {"org_uuid": acme.org_uuid, "rows": 1_500, "added": 300,
                                                          "updated": 1_200}
    found = names(engine, acme.org_uuid)
    assert [found[u] for u in uuid_of[::299]] == [f"Renamed {i}" for i in range(0, 1_500, 299)]
    with engine.connect() as connection:
        keys = dict(connection.execute(select(users.c.identity_uuid, users.c.name_key)
                                       .where(users.c.identity_uuid == uuid_of[7])).all())
    assert keys == {uuid_of[7]: "renamed 7"}
