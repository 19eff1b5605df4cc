"""order lines keep a unit price to 10 decimal places (Numeric(24, 10), was (18, 4))

A spreadsheet's price 0.0000030335 was read exactly but could not be stored: the import
refused it rather than keep 0.0000. Lines now keep such a price as it is; the same 14
digits before the point as before. Order totals keep 4 places (see
hub.core.models.PRICE_SCALE).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _retype(old: sa.Numeric, new: sa.Numeric) -> None:
    with op.batch_alter_table("sales_order_line", schema=None) as batch_op:
        batch_op.alter_column(
            "unit_price",
            existing_type=old,
            type_=new,
            existing_nullable=False,
        )


def upgrade() -> None:
    _retype(sa.Numeric(18, 4), sa.Numeric(24, 10))


def downgrade() -> None:
    _retype(sa.Numeric(24, 10), sa.Numeric(18, 4))
