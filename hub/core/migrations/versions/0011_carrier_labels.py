"""carrier labels (rates, label files, postage, void and refund) and tracking events

``carrier_label``: one row per label the hub buys (or is buying) for an order, unique per
(order, generation) so a double click or a retry never buys a second one; ``reference``
is the hub's idempotency reference sent to the carrier. ``tracking_event``: each tracking
event of a label, once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 00:00:00
"""

import sqlalchemy as sa
from alembic import op

from hub.core.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carrier_label",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("carrier_type", sa.String(length=32), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("rate_id", sa.String(), nullable=False),
        sa.Column("postage", sa.Numeric(precision=18, scale=4), nullable=False, server_default="0"),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("carrier_shipment_id", sa.String(), nullable=False),
        sa.Column("tracking_number", sa.String(), nullable=False),
        sa.Column("tracking_url", sa.String(), nullable=False),
        sa.Column("label_path", sa.String(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("refund_status", sa.String(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.Column("tracking_status", sa.String(), nullable=False),
        sa.Column("estimated_delivery", sa.Date(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("bought_at", UTCDateTime(), nullable=True),
        sa.Column("voided_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sales_order.id"], name=op.f("fk_carrier_label_order_id_sales_order")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipment.id"], name=op.f("fk_carrier_label_shipment_id_shipment")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_label")),
        sa.UniqueConstraint(
            "order_id", "generation", name=op.f("uq_carrier_label_order_generation")
        ),
        sa.UniqueConstraint("reference", name=op.f("uq_carrier_label_reference")),
    )
    with op.batch_alter_table("carrier_label", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carrier_label_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_carrier_label_carrier_shipment_id"),
            ["carrier_shipment_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_carrier_label_tracking_number"), ["tracking_number"], unique=False
        )
    op.create_table(
        "tracking_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["label_id"],
            ["carrier_label.id"],
            name=op.f("fk_tracking_event_label_id_carrier_label"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_event")),
        sa.UniqueConstraint(
            "label_id", "status", "occurred_at", name=op.f("uq_tracking_event_label_id")
        ),
    )
    with op.batch_alter_table("tracking_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracking_event_label_id"), ["label_id"], unique=False)


def downgrade() -> None:
    op.drop_table("tracking_event")
    op.drop_table("carrier_label")
