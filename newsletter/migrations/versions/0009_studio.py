"""studio: per-series sender, a revision for rendered copies, editors' series drafts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("from_address", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("reply_to", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("footer_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("postal_address", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("revision", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
    op.create_table(
        "series_draft",
        sa.Column("id", _ID, nullable=False),
        sa.Column("owner_id", _ID, nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["web_user.id"],
            name=op.f("fk_series_draft_owner_id_web_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series_draft")),
    )
    with op.batch_alter_table("series_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_series_draft_owner_id"), ["owner_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("series_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_series_draft_owner_id"))
    op.drop_table("series_draft")
    with op.batch_alter_table("series", schema=None) as batch_op:
        for column in (
            "revision",
            "postal_address",
            "footer_text",
            "reply_to",
            "from_address",
            "from_name",
        ):
            batch_op.drop_column(column)
