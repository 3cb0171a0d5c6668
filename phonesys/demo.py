"""The demo organization and the scenario ``phonesys demo`` runs against it.

Everything is derived deterministically (UUIDv5 from fixed names) so that reruns give the same
organization; the demo starts by removing what an earlier run left behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import Engine

from phonesys.errors import NotFound
from phonesys.orgfile import OrgDocument, UserEntry
from storage.inventory import extensions as ext_ops
from storage.inventory import orgs, provisioning

DEMO_NAMESPACE = uuid.UUID("6f2b1c9e-3a57-4d0b-9a51-5b1f0e3c2d10")
DEMO_ORG_UUID = str(uuid.uuid5(DEMO_NAMESPACE, "demo-org"))
FIRST_NAMES = ["Tony", "Jane", "Wei Ling", "Arjun", "Siti", "Marcus", "Priya", "Hiroshi", "Amelia", "Kofi"]
LAST_NAMES = ["Tan", "Lim", "Ng", "Kumar", "Rahman", "Lee", "Wong", "Sato", "Chen", "Mensah"]
ADDONS = {"Call Recording": 10, "Voicemail Transcription": 5, "Contact Center Agent": 3}


def demo_document(user_count: int = 40, number_count: int = 20, base_licenses: int = 50) -> OrgDocument:
    names = [f"{first} {last}" for last in LAST_NAMES for first in FIRST_NAMES][:user_count]
    users = [UserEntry(identity_uuid=str(uuid.uuid5(DEMO_NAMESPACE, f"user-{i}")), name=name)
             for i, name in enumerate(names)]
    numbers = [f"+656000{i:04d}" for i in range(1, number_count + 1)]
    return OrgDocument(org_uuid=DEMO_ORG_UUID, name="Demo Pte Ltd", base_licenses=base_licenses,
                       addons=dict(ADDONS), numbers=numbers, users=users)


def run_demo(engine: Engine, say: Callable[[str], None]) -> str:
    """Load the demo org afresh, provision 10 extensions, assign users, add-ons and numbers."""
    try:
        orgs.delete_org(engine, DEMO_ORG_UUID)
    except NotFound:
        pass
    document = demo_document()
    orgs.load_org(engine, document)
    say(f"Loaded organization {document.name} ({DEMO_ORG_UUID}): {document.base_licenses} base licenses, "
        f"{len(document.numbers)} numbers, {len(document.users)} users")
    keys = provisioning.provision(engine, DEMO_ORG_UUID, 10, "101")
    say(f"Provisioned extensions {keys[0]}..{keys[-1]}")
    for key, user in zip(keys[:6], document.users):
        ext_ops.assign_user(engine, DEMO_ORG_UUID, key, user.name)
    say("Assigned 6 users by name")
    for key, skus in zip(keys[:3], (["Call Recording"], ["Call Recording", "Voicemail Transcription"],
                                    ["Contact Center Agent"])):
        ext_ops.set_addons(engine, DEMO_ORG_UUID, key, skus)
    for key, number in zip(keys[:4], document.numbers):
        ext_ops.set_number(engine, DEMO_ORG_UUID, key, number)
    say("Set add-ons on 3 extensions and numbers on 4")
    return DEMO_ORG_UUID
