"""final sales: a balance may go below zero by the units a shop's till handed over beyond
the stock (balance.oversold), and each such sale is kept as an oversell to investigate

A point-of-sale channel's completed sale is final: the goods left the shop. When it
arrives late (an offline till) and another channel took the unit meanwhile, intake books
the sale all the same at the shop's location and records an oversell. The CHECK
constraints now read: on hand + oversold >= 0 (was on hand >= 0; oversold is 0 for every
existing row, so nothing changes for them), reserved <= on hand unless nothing is
reserved, oversold >= 0.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 00:00:00
"""

import sqlalchemy as sa
from alembic import op

from hub.core.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("balance", schema=None, recreate="always") as batch_op:
        batch_op.add_column(
            sa.Column("oversold", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.drop_constraint(op.f("ck_balance_on_hand_not_negative"), type_="check")
        batch_op.drop_constraint(op.f("ck_balance_reserved_within_on_hand"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_balance_on_hand_not_negative"), sa.text("on_hand + oversold >= 0")
        )
        batch_op.create_check_constraint(
            op.f("ck_balance_reserved_within_on_hand"), sa.text("reserved <= on_hand OR reserved = 0")
        )
        batch_op.create_check_constraint(
            op.f("ck_balance_oversold_not_negative"), sa.text("oversold >= 0")
        )
    op.create_table(
        "oversell",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_oversell_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sales_order.id"], name=op.f("fk_oversell_order_id_sales_order")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_oversell_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_oversell_location_id_location")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oversell")),
    )
    with op.batch_alter_table("oversell", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oversell_channel"), ["channel"], unique=False)
        batch_op.create_index(batch_op.f("ix_oversell_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_table("oversell")
    with op.batch_alter_table("balance", schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint(op.f("ck_balance_oversold_not_negative"), type_="check")
        batch_op.drop_constraint(op.f("ck_balance_on_hand_not_negative"), type_="check")
        batch_op.drop_constraint(op.f("ck_balance_reserved_within_on_hand"), type_="check")
        batch_op.create_check_constraint(op.f("ck_balance_on_hand_not_negative"), sa.text("on_hand >= 0"))
        batch_op.create_check_constraint(
            op.f("ck_balance_reserved_within_on_hand"), sa.text("reserved <= on_hand")
        )
        batch_op.drop_column("oversold")
