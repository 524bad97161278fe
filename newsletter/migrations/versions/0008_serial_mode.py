"""serial mode: send slots, reader zones, rounds, timed pauses, first-part and late-joiner policies

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:15:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_part", sa.String(length=16), server_default="now", nullable=False)
        )
        batch_op.add_column(
            sa.Column("late_joiners", sa.String(length=16), server_default="next", nullable=False)
        )
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("round", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        batch_op.add_column(sa.Column("paused_until", sa.DateTime(), nullable=True))
        batch_op.create_index(
            "ix_subscription_paused_until", ["status", "paused_until"], unique=False
        )
    # The ledger's key becomes (issue, subscriber, round): a reread is a new round of rows.
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("round", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        batch_op.drop_constraint("uq_delivery_issue_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_delivery_issue_id", ["issue_id", "subscriber_id", "round"]
        )


def downgrade() -> None:
    """Downgrade schema (rows of later rounds are dropped: the old key cannot hold them)."""
    op.execute("DELETE FROM delivery WHERE round > 1")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint("uq_delivery_issue_id", type_="unique")
        batch_op.create_unique_constraint("uq_delivery_issue_id", ["issue_id", "subscriber_id"])
        batch_op.drop_column("round")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_paused_until")
        batch_op.drop_column("paused_until")
        batch_op.drop_column("round")
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.drop_column("timezone")
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_column("late_joiners")
        batch_op.drop_column("first_part")
