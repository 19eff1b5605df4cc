"""order ETAs (the live view: each open order's expected arrival on its dispatched route)

order_eta keeps, per order still to be delivered, the ETA hub.core.eta recomputed from
the driver's pings and actions, the plan's arrival, whether it is late against the
promised window and how many stops the driver has before it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from hub.core.models import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_eta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("stop_seq", sa.Integer(), nullable=False),
        sa.Column("eta", UTCDateTime(), nullable=False),
        sa.Column("planned", UTCDateTime(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("stops_before", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=8), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sales_order.id"], name=op.f("fk_order_eta_order_id_sales_order")
        ),
        sa.ForeignKeyConstraint(
            ["route_id"], ["planned_route.id"], name=op.f("fk_order_eta_route_id_planned_route")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_eta")),
        sa.UniqueConstraint("order_id", name=op.f("uq_order_eta_order_id")),
    )
    op.create_index(op.f("ix_order_eta_route_id"), "order_eta", ["route_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_order_eta_route_id"), table_name="order_eta")
    op.drop_table("order_eta")
