"""The demo organization and the manual part of ``phonesys demo``.

Everything is derived deterministically (UUIDv5 from fixed names) so reruns give the same
organization; the demo starts by removing what an earlier run left behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import Engine

from phonesys.rules.errors import NotFound
from phonesys.rules.orgfile import OrgDocument, UserEntry
from phonesys.storage.inventory import extensions as ext_ops
from phonesys.storage.inventory import orgs, provisioning

DEMO_NAMESPACE = uuid.UUID("6f2b1c9e-3a57-4d0b-9a51-5b1f0e3c2d10")
DEMO_ORG_UUID = str(uuid.uuid5(DEMO_NAMESPACE, "demo-org"))
FIRST_NAMES = ("Tony Jane Wei Arjun Siti Marcus Priya Hiroshi Amelia Kofi Mei Rahul Aisha Daniel Nur Kenji "
               "Grace Omar Lina Ethan Farah Jun Maya Ivan Zara Leo Hana Samuel Ines Raj Yuki Noah Leila Felix "
               "Anya Tariq Chloe Minh Sofia Ravi").split()
LAST_NAMES = ("Tan Lim Ng Kumar Rahman Lee Wong Sato Chen Mensah Goh Singh Ali Koh Ong Ito Teo Yusof Cruz "
              "Park Nair Ho Low Das Chua Kim Abdullah Seah Mohan Lau Toh Reyes Bose Yeo Iyer Sim Hussain "
              "Foo Pillai Chan").split()
ADDONS = {"Call Recording": 16_000, "Voicemail Transcription": 5_000, "Contact Center Agent": 300}
USER_COUNT, NUMBER_COUNT, BASE_LICENSES = 16_000, 6_000, 16_100
AMBIGUOUS_NAME = "Wei Ling Tan"  # two people share it: a name upload must say which one


def user_name(index: int) -> str:
    first, last = FIRST_NAMES[index % 40], LAST_NAMES[(index // 40) % 40]
    middle = chr(ord("A") + (index // 1600) % 26)
    return f"{first} {middle}. {last}"


def demo_users() -> list[UserEntry]:
    users = [UserEntry(identity_uuid=str(uuid.uuid5(DEMO_NAMESPACE, f"user-{i}")), name=user_name(i))
             for i in range(USER_COUNT)]
    users += [UserEntry(identity_uuid=str(uuid.uuid5(DEMO_NAMESPACE, f"twin-{i}")), name=AMBIGUOUS_NAME)
              for i in range(2)]
    return users


def demo_numbers() -> list[str]:
    return [f"+656100{i:04d}" for i in range(NUMBER_COUNT)]


def demo_document() -> OrgDocument:
    return OrgDocument(org_uuid=DEMO_ORG_UUID, name="Demo Pte Ltd", base_licenses=BASE_LICENSES,
                       addons=dict(ADDONS), numbers=demo_numbers(), users=demo_users())


def reset_demo_org(engine: Engine) -> OrgDocument:
    try:
        orgs.delete_org(engine, DEMO_ORG_UUID)
    except NotFound:
        pass
    document = demo_document()
    orgs.load_org(engine, document)
    return document


def manual_provisioning(engine: Engine, document: OrgDocument, say: Callable[[str], None]) -> None:
    """The seed's manual flow: provision 101-110, assign users, add-ons and numbers by hand."""
    keys = provisioning.provision(engine, DEMO_ORG_UUID, 10, "101")
    for key, user in zip(keys[:6], document.users):
        ext_ops.assign_user(engine, DEMO_ORG_UUID, key, user.name)
    for key, skus in zip(keys[:3], (["Call Recording"], ["Call Recording", "Voicemail Transcription"],
                                    ["Contact Center Agent"])):
        ext_ops.set_addons(engine, DEMO_ORG_UUID, key, skus)
    for key, number in zip(keys[:4], document.numbers):
        ext_ops.set_number(engine, DEMO_ORG_UUID, key, number)
    say(f"Manual provisioning: extensions {keys[0]}..{keys[-1]}, 6 users, add-ons on 3, numbers on 4")
