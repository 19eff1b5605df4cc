"""REST API: an index for the probable-duplicate-PO check (an account's orders by PO number)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 19:00:00
"""

from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.create_index('ix_sales_order_account_po', ['account_id', 'po_number'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_order_account_po')
