"""stock quantities as 64-bit integers: balances, journal deltas, order, bundle and shipment
lines, and the quantity each listing's channel confirmed

PostgreSQL's INTEGER stops at 2,147,483,647 and a receipt beyond it was a traceback; the
ledger now bounds every movement (ledger.MAX_QUANTITY) and every balance
(ledger.MAX_ON_HAND), and these columns hold any sum of them on both databases (a
channel's available-to-promise adds up several locations' balances).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 15:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

COLUMNS = {
    'balance': ('on_hand', 'reserved'),
    'movement': ('on_hand_delta', 'reserved_delta'),
    'bundle_component': ('quantity',),
    'sales_order_line': ('quantity', 'fulfilled_quantity', 'returned_quantity'),
    'shipment_line': ('quantity',),
    'listing': ('confirmed_quantity',),
}
NULLABLE = {('listing', 'confirmed_quantity')}


def _retype(old: type, new: type) -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column,
                    existing_type=old(),
                    type_=new(),
                    existing_nullable=(table, column) in NULLABLE,
                )


def upgrade() -> None:
    _retype(sa.Integer, sa.BigInteger)


def downgrade() -> None:
    _retype(sa.BigInteger, sa.Integer)
