"""The inventory opens and migrates on both backends, and the CLI answers."""

from phonesys.storage.inventory.engine import current_revision, head_revision
from phonesys.storage.inventory.usage import org_usage


def test_migrates_to_head(engine):
    assert current_revision(engine) == head_revision() is not None


def test_org_usage_of_fresh_org(engine, org):
    usage = org_usage(engine, org.org_uuid).as_dict()
    assert usage["base_licenses"] == {"total": 10, "used": 0, "held": 0, "available": 10}
    assert usage["numbers"] == {"total": 5, "assigned": 0, "held": 0, "available": 5}
    assert usage["users"] == {"total": 8, "assigned": 0, "held": 0, "unassigned": 8}


def test_cli_provision_and_show(cli, org):
    result = cli("provision", org.org_uuid, "--count", "3", "--start", "101")
    assert result.exit_code == 0, result.output
    shown = cli("org", "show", org.org_uuid, "--json")
    assert '"used": 3' in shown.stdout
