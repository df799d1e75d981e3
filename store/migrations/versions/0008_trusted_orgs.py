"""organizations.trusted: whether an organization's checks may reach internal addresses

Existing installs keep their operator's organization working: the one ``vigil run``
bootstrapped (slug ``default``) becomes trusted; every other organization starts
untrusted, which is the point (see docs/security.md).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trusted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(sa.text("UPDATE organizations SET trusted = true WHERE slug = 'default'"))


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("trusted")
