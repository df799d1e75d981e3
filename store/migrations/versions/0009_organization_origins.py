"""organization origins: which organization created another through the API

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organization_origins",
        sa.Column("org_id", sa.String(length=32), nullable=False),
        sa.Column("created_by_org_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_organization_origins_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_org_id"],
            ["organizations.id"],
            name=op.f("fk_organization_origins_created_by_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_organization_origins")),
    )
    with op.batch_alter_table("organization_origins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_origins_created_by_org_id"),
            ["created_by_org_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("organization_origins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_origins_created_by_org_id"))
    op.drop_table("organization_origins")
