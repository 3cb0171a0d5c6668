"""The inventory: the system of record for organizations, licenses, numbers, users and extensions.

Modules, by what they change:
- ``engine``: opening the database, migrations, transactions, transient-error mapping
- ``orgs``: loading an organization, importing users; ``usage``: the figures
- ``provisioning``: creating and deleting extensions (moves base licenses)
- ``extensions``: changing one extension's user, add-ons, number, key, name
- ``views``: reading extensions; ``lookup``: resolving what a request names; ``pools``: claims
- ``results``: the typed values these hand upward (start plan, template detail, usage, what a write did)
"""
