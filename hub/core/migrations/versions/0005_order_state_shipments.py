"""order line states, version tie-break, shipments told to channels, unconfirmed listings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 14:40:00
"""

from alembic import op
import sqlalchemy as sa

from hub.core.models import UTCDateTime


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sales_order_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fulfilled_quantity', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('returned_quantity', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('stocked', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version_key', sa.String(length=96), nullable=False, server_default=''))
    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unconfirmed', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('event_at', UTCDateTime(), nullable=True))
    op.create_table(
        'shipment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('carrier', sa.String(), nullable=False),
        sa.Column('tracking_number', sa.String(), nullable=False),
        sa.Column('tracking_url', sa.String(), nullable=False),
        sa.Column('actor', sa.String(), nullable=False),
        sa.Column('shipped_at', UTCDateTime(), nullable=False),
        sa.Column('channel_state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
        sa.Column('claimed_by', sa.String(), nullable=False),
        sa.Column('claimed_until', UTCDateTime(), nullable=True),
        sa.Column('confirmed_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['order_id'], ['sales_order.id'], name=op.f('fk_shipment_order_id_sales_order')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment')),
    )
    with op.batch_alter_table('shipment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipment_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipment_channel_state'), ['channel_state'], unique=False)
    op.create_table(
        'shipment_line',
        sa.Column('shipment_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.CheckConstraint('quantity > 0', name=op.f('ck_shipment_line_quantity_positive')),
        sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_shipment_line_location_id_location')),
        sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_shipment_line_product_id_product')),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipment.id'], name=op.f('fk_shipment_line_shipment_id_shipment')),
        sa.PrimaryKeyConstraint('shipment_id', 'product_id', 'location_id', name=op.f('pk_shipment_line')),
    )


def downgrade() -> None:
    op.drop_table('shipment_line')
    with op.batch_alter_table('shipment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipment_channel_state'))
        batch_op.drop_index(batch_op.f('ix_shipment_order_id'))
    op.drop_table('shipment')
    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.drop_column('event_at')
        batch_op.drop_column('unconfirmed')
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.drop_column('version_key')
    with op.batch_alter_table('sales_order_line', schema=None) as batch_op:
        batch_op.drop_column('stocked')
        batch_op.drop_column('returned_quantity')
        batch_op.drop_column('fulfilled_quantity')
