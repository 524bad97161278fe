"""worker heartbeats and the claiming worker of each delivery

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 06:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeat",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("beat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_heartbeat")),
    )
    op.create_index(
        op.f("ix_worker_heartbeat_beat_at"), "worker_heartbeat", ["beat_at"], unique=False
    )
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("claimed_by")
    op.drop_index(op.f("ix_worker_heartbeat_beat_at"), table_name="worker_heartbeat")
    op.drop_table("worker_heartbeat")
