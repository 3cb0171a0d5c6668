"""Creating and deleting extensions, the two operations that move base licenses.

Provisioning is all or nothing: every key must be well formed and free and enough unprovisioned
base licenses must remain, otherwise nothing is created and every problem is reported. Deleting an
extension returns its base license, add-ons and number to their pools and frees its user.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, select

from phonesys.errors import Problem, Refused, refuse_if
from phonesys.rules import consecutive_ext_keys
from storage.inventory.engine import write_transaction
from storage.inventory.lookup import get_extension, lock_org
from storage.inventory.pools import base_shortfall, claim_base, release_addons, release_base
from storage.inventory.schema import extension_addons, extensions
from storage.inventory.upsert import chunked


def provision(engine: Engine, org_ref: str, count: int, start: str) -> list[str]:
    """Create ``count`` consecutive extensions from ``start``; returns the new keys."""
    keys = consecutive_ext_keys(start, count)
    problems: list[Problem] = [k for k in keys if isinstance(k, Problem)]
    keys_ok = not problems
    with write_transaction(engine) as connection:
        try:
            org = lock_org(connection, org_ref)
        except Refused as refused:  # report a bad org together with bad keys / count
            raise type(refused)(refused.problems + problems) from None
        if keys_ok:
            problems += [Problem("ext-key-taken", f"Extension {key} already exists; choose another start.",
                                 "start", key) for key in _taken(connection, org.org_uuid, keys)]
        if count >= 1 and org.base_total - org.base_used < count:
            problems.append(base_shortfall(connection, org.org_uuid, count))
        refuse_if(problems)
        claim_base(connection, org.org_uuid, count)
        connection.execute(extensions.insert(), [{"org_uuid": org.org_uuid, "ext_key": k} for k in keys])
    return keys


def delete_extension(engine: Engine, org_ref: str, ext_key: str) -> dict:
    """Remove an extension and give back everything it held; returns what was released."""
    with write_transaction(engine) as connection:
        org = lock_org(connection, org_ref)
        ext = get_extension(connection, org.org_uuid, ext_key)
        addons = connection.execute(select(extension_addons.c.sku).where(
            extension_addons.c.extension_id == ext.id)).scalars().all()
        connection.execute(delete(extension_addons).where(extension_addons.c.extension_id == ext.id))
        release_addons(connection, org.org_uuid, addons)
        connection.execute(delete(extensions).where(extensions.c.id == ext.id))
        release_base(connection, org.org_uuid, 1)
    return {"ext_key": ext.ext_key, "released": {"base_licenses": 1, "addons": sorted(addons),
                                                 "number": ext.number, "user": ext.identity_uuid}}


def _taken(connection, org_uuid: str, keys: list[str]) -> list[str]:
    taken: list[str] = []
    for batch in chunked(keys):
        taken += connection.execute(select(extensions.c.ext_key).where(
            extensions.c.org_uuid == org_uuid, extensions.c.ext_key.in_(batch))).scalars().all()
    return sorted(taken)
