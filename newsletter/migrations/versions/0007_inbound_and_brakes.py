"""inbound mail (DSN, ARF, mailto unsubscribe) read back, and the per-issue automatic brake

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbound_mail",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", BIG_ID, nullable=True),
        sa.Column("issue_id", BIG_ID, nullable=True),
        sa.Column("subscriber_id", BIG_ID, nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["delivery.id"],
            name=op.f("fk_inbound_mail_delivery_id_delivery"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issue.id"],
            name=op.f("fk_inbound_mail_issue_id_issue"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name=op.f("fk_inbound_mail_subscriber_id_subscriber"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_mail")),
        sa.UniqueConstraint("key", name=op.f("uq_inbound_mail_key")),
    )
    with op.batch_alter_table("inbound_mail") as batch:
        batch.create_index("ix_inbound_mail_issue_outcome", ["issue_id", "outcome"], unique=False)
        batch.create_index("ix_inbound_mail_subscriber", ["subscriber_id"], unique=False)
    with op.batch_alter_table("issue") as batch:
        batch.add_column(sa.Column("braked_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("brake_reason", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("brake_baseline", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issue") as batch:
        batch.drop_column("brake_baseline")
        batch.drop_column("brake_reason")
        batch.drop_column("braked_at")
    with op.batch_alter_table("inbound_mail") as batch:
        batch.drop_index("ix_inbound_mail_subscriber")
        batch.drop_index("ix_inbound_mail_issue_outcome")
    op.drop_table("inbound_mail")
