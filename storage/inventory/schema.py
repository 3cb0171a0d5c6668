"""Table definitions the queries are written against (SQLAlchemy Core).

The DDL itself lives in the Alembic migrations (``storage/migrations/versions``), which add the
dialect-specific CHECK constraints; ``tests/test_migrations.py`` proves the two agree. Counters
(``base_used``, ``addon_pools.used``) exist so that a single conditional UPDATE can claim a license
atomically; the CHECKs make oversubscription impossible even for buggy callers. Tables with an id
are ``sqlite_autoincrement`` so that SQLite, like PostgreSQL's sequences, never gives an id out twice:
ledgers keep ids, and an id handed out again would name a stranger. The audit log's and the reverts'
tables are in ``schema_audit.py``, on the same ``metadata``.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    cast,
    func,
    text,
)

from phonesys.rules.limits import (
    AUDIT_ACTOR_MAX,
    DIRECTORY_NAME_MAX,
    ORG_NAME_MAX,
    REASON_MAX_CHARS,
    SKU_MAX,
    TEMPLATE_NAME_MAX,
    TOKEN_NAME_MAX,
    USER_NAME_MAX,
)
from phonesys.rules.vocabulary import DRAFT, PENDING

metadata = MetaData()

organizations = Table(
    "organizations",
    metadata,
    Column("org_uuid", String(36), primary_key=True),
    Column("name", String(ORG_NAME_MAX), nullable=False),
    Column("base_total", Integer, nullable=False, server_default="0"),
    Column("base_used", Integer, nullable=False, server_default="0"),
    Column("base_held", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.current_timestamp()),
    CheckConstraint("base_total >= 0", name="ck_org_base_total"),
    CheckConstraint("base_used >= 0 AND base_used <= base_total", name="ck_org_base_used"),
    CheckConstraint("base_held >= 0 AND base_used + base_held <= base_total", name="ck_org_base_held"),
)

addon_pools = Table(
    "addon_pools",
    metadata,
    Column("org_uuid", String(36), ForeignKey("organizations.org_uuid"), nullable=False),
    Column("sku", String(SKU_MAX), nullable=False),
    Column("total", Integer, nullable=False, server_default="0"),
    Column("used", Integer, nullable=False, server_default="0"),
    Column("held", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("org_uuid", "sku", name="pk_addon_pools"),
    CheckConstraint("total >= 0", name="ck_addon_total"),
    CheckConstraint("used >= 0 AND used <= total", name="ck_addon_used"),
    CheckConstraint("held >= 0 AND used + held <= total", name="ck_addon_held"),
)

users = Table(
    "users",
    metadata,
    Column("identity_uuid", String(36), primary_key=True),
    Column("org_uuid", String(36), ForeignKey("organizations.org_uuid"), nullable=False),
    Column("name", String(USER_NAME_MAX), nullable=False),
    Column("name_key", String(USER_NAME_MAX), nullable=False),
    UniqueConstraint("org_uuid", "identity_uuid", name="uq_users_org_identity"),
    Index("ix_users_org_name_key", "org_uuid", "name_key"),
)

numbers = Table(
    "numbers",
    metadata,
    Column("number", String(16), primary_key=True),
    Column("org_uuid", String(36), ForeignKey("organizations.org_uuid"), nullable=False),
    UniqueConstraint("org_uuid", "number", name="uq_numbers_org_number"),
)

extensions = Table(
    "extensions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_uuid", String(36), ForeignKey("organizations.org_uuid"), nullable=False),
    Column("ext_key", String(5), nullable=False),
    Column("directory_name", String(DIRECTORY_NAME_MAX), nullable=True),
    Column("identity_uuid", String(36), nullable=True),
    Column("number", String(16), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.current_timestamp()),
    Column("template_uuid", String(36), nullable=True),  # the template whose bulk run made it; NULL: by hand
    UniqueConstraint("org_uuid", "ext_key", name="uq_extensions_org_key"),
    UniqueConstraint("identity_uuid", name="uq_extensions_user"),
    UniqueConstraint("number", name="uq_extensions_number"),
    ForeignKeyConstraint(["org_uuid", "identity_uuid"], ["users.org_uuid", "users.identity_uuid"],
                         name="fk_extensions_user"),
    ForeignKeyConstraint(["org_uuid", "number"], ["numbers.org_uuid", "numbers.number"],
                         name="fk_extensions_number"),
    Index("ix_extensions_org_template", "org_uuid", "template_uuid"),
    # what the licenses view counts, each from an index of just those extensions, not a table scan
    Index("ix_extensions_org_with_user", "org_uuid", sqlite_where=text("identity_uuid IS NOT NULL"),
          postgresql_where=text("identity_uuid IS NOT NULL")),
    Index("ix_extensions_org_with_number", "org_uuid", sqlite_where=text("number IS NOT NULL"),
          postgresql_where=text("number IS NOT NULL")),
    sqlite_autoincrement=True,
)
# pages of extensions in numeric key order (``0101`` after ``100``, before ``102``) read in index order
Index("ix_extensions_org_key_order", extensions.c.org_uuid, cast(extensions.c.ext_key, Integer),
      extensions.c.ext_key)

extension_addons = Table(
    "extension_addons",
    metadata,
    Column("extension_id", Integer, ForeignKey("extensions.id"), nullable=False),
    Column("org_uuid", String(36), nullable=False),
    Column("sku", String(SKU_MAX), nullable=False),
    PrimaryKeyConstraint("extension_id", "sku", name="pk_extension_addons"),
    ForeignKeyConstraint(["org_uuid", "sku"], ["addon_pools.org_uuid", "addon_pools.sku"],
                         name="fk_extension_addons_pool"),
    Index("ix_extension_addons_org_sku", "org_uuid", "sku"),
)

templates = Table(
    "templates",
    metadata,
    Column("template_uuid", String(36), primary_key=True),
    Column("org_uuid", String(36), ForeignKey("organizations.org_uuid"), nullable=False),
    Column("name", String(TEMPLATE_NAME_MAX), nullable=False),
    Column("status", String(16), nullable=False, server_default=DRAFT),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.current_timestamp()),
    Column("policy", String(16), nullable=True),
    Column("chunk_size", Integer, nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("report_key", String(1024), nullable=True),
    Column("export_key", String(1024), nullable=True),
    Column("started_by", String(AUDIT_ACTOR_MAX), nullable=True),  # the actor who started it; its bulk rows are theirs
    Column("cancelled_at", DateTime(timezone=True), nullable=True),  # ended by `template cancel`
    UniqueConstraint("org_uuid", "template_uuid", name="uq_templates_org_template"),
    Index("ix_templates_org", "org_uuid"),
)

template_addons = Table(
    "template_addons",
    metadata,
    Column("template_uuid", String(36), ForeignKey("templates.template_uuid"), nullable=False),
    Column("org_uuid", String(36), nullable=False),
    Column("sku", String(SKU_MAX), nullable=False),
    PrimaryKeyConstraint("template_uuid", "sku", name="pk_template_addons"),
    ForeignKeyConstraint(["org_uuid", "sku"], ["addon_pools.org_uuid", "addon_pools.sku"],
                         name="fk_template_addons_pool"),
)

template_files = Table(
    "template_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("template_uuid", String(36), ForeignKey("templates.template_uuid"), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("object_key", String(1024), nullable=True),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("identifier_kind", String(8), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False, server_default=func.current_timestamp()),
    Index("ix_template_files_template", "template_uuid"),
    sqlite_autoincrement=True,
)

template_rows = Table(
    "template_rows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("template_uuid", String(36), ForeignKey("templates.template_uuid"), nullable=False),
    Column("file_id", Integer, ForeignKey("template_files.id"), nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("ext_key", String(5), nullable=False),
    Column("identity_uuid", String(36), nullable=False),
    Column("user_name", String(USER_NAME_MAX), nullable=False),
    Column("number", String(16), nullable=True),
    Column("status", String(8), nullable=False, server_default=PENDING),
    Column("reason_code", String(64), nullable=True),
    Column("reason", String(REASON_MAX_CHARS), nullable=True),
    Column("extension_id", Integer, nullable=True),
    Column("processed_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("template_uuid", "ext_key", name="uq_template_rows_key"),
    UniqueConstraint("template_uuid", "identity_uuid", name="uq_template_rows_user"),
    UniqueConstraint("template_uuid", "number", name="uq_template_rows_number"),
    Index("ix_template_rows_template_status", "template_uuid", "status"),
    sqlite_autoincrement=True,
)

# One row per pending row of an in-progress template: what it holds until the row is decided.
row_holds = Table(
    "row_holds",
    metadata,
    Column("row_id", Integer, ForeignKey("template_rows.id"), primary_key=True),
    Column("template_uuid", String(36), ForeignKey("templates.template_uuid"), nullable=False),
    Column("org_uuid", String(36), ForeignKey("organizations.org_uuid"), nullable=False),
    Column("ext_key", String(5), nullable=False),
    Column("identity_uuid", String(36), nullable=False),
    Column("number", String(16), nullable=True),
    UniqueConstraint("org_uuid", "ext_key", name="uq_row_holds_key"),
    UniqueConstraint("identity_uuid", name="uq_row_holds_user"),
    UniqueConstraint("number", name="uq_row_holds_number"),
    Index("ix_row_holds_template", "template_uuid"),
)

dropfolder_requests = Table(
    "dropfolder_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("manifest_key", String(1024), nullable=False),
    Column("version", String(300), nullable=False),
    Column("org_uuid", String(36), nullable=False),
    Column("request_name", String(255), nullable=False),
    Column("status", String(16), nullable=False, server_default="claimed"),
    Column("template_uuid", String(36), nullable=True),
    Column("status_key", String(1024), nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=False, server_default=func.current_timestamp()),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("manifest_key", "version", name="uq_dropfolder_manifest_version"),
    Index("ix_dropfolder_template", "template_uuid"),
    sqlite_autoincrement=True,
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(TOKEN_NAME_MAX), nullable=False),
    Column("org_uuid", String(36), nullable=True),  # NULL: an operator token, every organization
    Column("role", String(16), nullable=False),
    Column("hash", String(64), nullable=False),  # SHA-256 of the secret; the secret is never stored
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.current_timestamp()),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("hash", name="uq_api_tokens_hash"),
    UniqueConstraint("org_uuid", "name", name="uq_api_tokens_org_name"),
    Index("uq_api_tokens_operator_name", "name", unique=True, sqlite_where=text("org_uuid IS NULL"),
          postgresql_where=text("org_uuid IS NULL")),
    sqlite_autoincrement=True,
)
