"""The two export files: exact names and content, Excel safety, Parquet = CSV, local and S3."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from phonesys.rules.orgfile import UserEntry
from phonesys.rules.safecsv import neutralize
from phonesys.services.exports import export_extensions, export_key, export_numbers, export_timestamp
from phonesys.storage.inventory import extensions as ext_ops
from phonesys.storage.inventory.orgs import import_users
from phonesys.storage.inventory.provisioning import provision
from phonesys.storage.objects import open_object_store
from tests.bulkfixtures import make_rows, make_template, start

WHEN = datetime(2026, 11, 27, 10, 15, 0, tzinfo=UTC)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return open_object_store(str(tmp_path / "objects"))
    return open_object_store(request.getfixturevalue("s3_storage_url"))


@pytest.fixture
def populated(engine, org):
    """Extensions 101-104: users (one with a formula-like name), numbers and add-ons on some."""
    import_users(engine, org.org_uuid, [UserEntry(identity_uuid="0b9f6a1e-4c7d-4e1a-9d55-1b7e2f1c8e01",
                                                  name="=HYPERLINK(\"http://x\")")])
    provision(engine, org.org_uuid, 4, "101")
    ext_ops.assign_user(engine, org.org_uuid, "101", org.users[0].identity_uuid)
    ext_ops.assign_user(engine, org.org_uuid, "102", "0b9f6a1e-4c7d-4e1a-9d55-1b7e2f1c8e01")
    ext_ops.set_number(engine, org.org_uuid, "101", org.numbers[0])
    ext_ops.set_addons(engine, org.org_uuid, "101", ["Voicemail", "Call Recording"])
    ext_ops.edit_extension(engine, org.org_uuid, "103", directory_name="-Reception, Lobby")
    return org


def read_csv(store, key: str) -> tuple[bytes, list[list[str]]]:
    data = store.read_bytes(key)
    return data, list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_extension_export_name_and_content(engine, store, populated):
    org = populated
    result = export_extensions(engine, store, org.org_uuid, when=WHEN)
    assert result.key == (f"exports/{org.org_uuid}/{org.org_uuid}_20261127T101500Z"
                          "_license_phonesystem_provisioned_extension.csv")
    assert result.rows == 4 and result.location.endswith(result.key.split("/")[-1])
    data, rows = read_csv(store, result.key)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    assert rows == [
        ["Ext Key", "Number", "User", "Addon License", "Directory Name", "Identity UUID"],
        ["101", org.numbers[0], "User 000", "Call Recording; Voicemail", "User 000", org.users[0].identity_uuid],
        ["102", "", "'=HYPERLINK(\"http://x\")", "", "'=HYPERLINK(\"http://x\")",
         "0b9f6a1e-4c7d-4e1a-9d55-1b7e2f1c8e01"],
        ["103", "", "", "", "'-Reception, Lobby", ""],
        ["104", "", "", "", "", ""],
    ]


def test_number_export_lists_every_number_with_its_status_and_key(engine, store, populated):
    org = populated
    result = export_numbers(engine, store, org.org_uuid, when=WHEN)
    assert result.key.endswith("_20261127T101500Z_license_phonesystem_available_number.csv")
    _, rows = read_csv(store, result.key)
    assert rows[0] == ["Number", "Status", "Ext Key", "Held By Template"]
    assert rows[1:] == sorted([[org.numbers[0], "assigned", "101", ""]] +
                              [[n, "available", "", ""] for n in org.numbers[1:]])


def test_number_export_shows_held_numbers_and_can_keep_only_available(engine, store, populated):
    org = populated
    rows = make_rows(org, 2, first_user=1, first_key=500, first_number=1)
    template = make_template(engine, org, rows)
    start(engine, template)
    _, listed = read_csv(store, export_numbers(engine, store, org.org_uuid, when=WHEN).key)
    held = [r for r in listed if r[1] == "held"]
    assert held == [[org.numbers[1], "held", "500", template], [org.numbers[2], "held", "501", template]]
    only = export_numbers(engine, store, org.org_uuid, when=WHEN, available_only=True)
    _, available = read_csv(store, only.key)
    assert available[1:] == [[n, "available", "", ""] for n in sorted(org.numbers[3:])] and only.rows == len(org.numbers) - 3


def test_parquet_equals_csv(engine, store, populated, tmp_path):
    org = populated
    csv_rows = read_csv(store, export_extensions(engine, store, org.org_uuid, when=WHEN).key)[1]
    result = export_extensions(engine, store, org.org_uuid, fmt="parquet", when=WHEN)
    assert result.key.endswith(".parquet")
    table = pq.read_table(store.download(result.key, tmp_path / "x.parquet"))
    assert table.column_names == csv_rows[0]
    parquet_rows = [[neutralize_cell(v) for v in row.values()] for row in table.to_pylist()]
    assert parquet_rows == csv_rows[1:]


def neutralize_cell(value: str | None) -> str:
    """What the CSV writer makes of one raw Parquet value (nulls become empty cells)."""
    import pyarrow as pa

    return "" if value is None else neutralize(pa.array([value])).to_pylist()[0]


@pytest.mark.parametrize("cell, expected", [
    ("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("+6560000001", "+6560000001"), ("+65 6000 0001", "'+65 6000 0001"),
    ("Tony Tan", "Tony Tan"), ("a=b", "a=b"), ("", ""),
])
def test_neutralize(cell, expected):
    import pyarrow as pa

    assert neutralize(pa.array([cell])).to_pylist() == [expected]


def test_timestamp_is_utc_basic_iso():
    from datetime import timedelta, timezone

    assert export_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=8)))) == "20260101T190405Z"
    assert export_key("x", "suffix", "csv", WHEN) == "exports/x/x_20261127T101500Z_suffix.csv"


def test_cli_export_prints_location_rows_and_local_copy(cli, populated, tmp_path):
    result = cli("export", "extensions", populated.org_uuid, "--output", str(tmp_path / "copies"))
    assert result.exit_code == 0, result.output
    assert "Wrote 4 row(s) to " in result.stdout and "provisioned_extension.csv" in result.stdout
    copies = list((tmp_path / "copies").iterdir())
    assert len(copies) == 1 and copies[0].read_bytes().startswith(b"\xef\xbb\xbf\"Ext Key\"")
    refused = cli("export", "numbers", "not-a-uuid", "--json")
    assert refused.exit_code == 1 and '"code": "org-uuid-invalid"' in refused.stdout


def test_exported_csv_is_importable_by_python_csv_round_trip(engine, store, populated):
    """The file is plain RFC 4180: quotes and commas inside names survive a round trip."""
    _, rows = read_csv(store, export_extensions(engine, store, populated.org_uuid, when=WHEN).key)
    assert rows[3][4] == "'-Reception, Lobby"


def test_rows_stream_in_bounded_batches(engine, populated, monkeypatch):
    """Memory stays bounded by the batch size: rows arrive in batches of BATCH_ROWS, not all at once."""
    from phonesys.storage.inventory import exports as queries

    monkeypatch.setattr(queries, "BATCH_ROWS", 3)
    sizes = [b.num_rows for b in queries.extension_batches(engine, populated.org_uuid)]
    assert sizes == [3, 1]


def _unusable_outputs(tmp_path) -> list:
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("not a folder")
    return [a_file / "copies", a_file / "copy.csv", "/proc/phonesys-copies"]


def _stored(phonesys_env, prefix: str) -> list[str]:
    return list(open_object_store(f"{phonesys_env['PHONESYS_HOME']}/objects").list(prefix))


@pytest.mark.parametrize("command", [["export", "numbers"], ["export", "extensions"]])
def test_export_to_an_unusable_output_is_refused_before_anything_is_written(
        cli, populated, tmp_path, phonesys_env, command):
    for output in _unusable_outputs(tmp_path):
        result = cli(*command, populated.org_uuid, "--output", str(output), "--json")
        assert result.exit_code == 1, result.output
        assert '"code": "output-path-unusable"' in result.stdout, result.stdout
        text = cli(*command, populated.org_uuid, "--output", str(output))
        assert text.exit_code == 1 and text.stderr.startswith("error output-path-unusable: Cannot write"), text.output
    assert _stored(phonesys_env, "exports/") == []


def test_template_report_to_an_unusable_output_is_refused_before_a_report_is_written(
        cli, engine, org, tmp_path, phonesys_env):
    template = make_template(engine, org, make_rows(org, 3, first_number=None))
    start(engine, template)
    for output in _unusable_outputs(tmp_path):
        result = cli("template", "report", template, "--output", str(output))
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("error output-path-unusable: "), result.output
    assert _stored(phonesys_env, "reports/") == []
    result = cli("template", "report", template, "--output", str(tmp_path / "ok"))
    assert result.exit_code == 0 and len(list((tmp_path / "ok").iterdir())) == 1, result.output
