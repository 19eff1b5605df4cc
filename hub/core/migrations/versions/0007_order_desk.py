"""order desk: customers, tokens, users, idempotency keys, imports

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 18:30:00
"""

from alembic import op
import sqlalchemy as sa

from hub.core.models import UTCDateTime


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('last_used_at', UTCDateTime(), nullable=True),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('name', name=op.f('uq_api_token_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    op.create_table('customer_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_number', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('vat_id', sa.String(), nullable=False),
    sa.Column('email', sa.String(), nullable=False),
    sa.Column('phone', sa.String(), nullable=False),
    sa.Column('payment_terms_days', sa.Integer(), nullable=True),
    sa.Column('credit_limit', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('notes', sa.String(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_account')),
    sa.UniqueConstraint('account_number', name=op.f('uq_customer_account_account_number'))
    )
    with op.batch_alter_table('customer_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_account_email'), ['email'], unique=False)

    op.create_table('idempotency_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=128), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('completed_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_key')),
    sa.UniqueConstraint('scope', 'key', name='uq_idempotency_key_scope')
    )
    op.create_table('order_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('orders_created', sa.Integer(), nullable=False),
    sa.Column('orders_unchanged', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_import'))
    )
    with op.batch_alter_table('order_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_import_file_sha256'), ['file_sha256'], unique=False)

    op.create_table('web_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(), nullable=False),
    sa.Column('password_hash', sa.String(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('last_login_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_user')),
    sa.UniqueConstraint('username', name=op.f('uq_web_user_username'))
    )
    op.create_table('customer_address',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('company', sa.String(), nullable=False),
    sa.Column('line1', sa.String(), nullable=False),
    sa.Column('line2', sa.String(), nullable=False),
    sa.Column('city', sa.String(), nullable=False),
    sa.Column('region', sa.String(), nullable=False),
    sa.Column('postcode', sa.String(), nullable=False),
    sa.Column('country', sa.String(), nullable=False),
    sa.Column('phone', sa.String(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['customer_account.id'], name=op.f('fk_customer_address_account_id_customer_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_address'))
    )
    with op.batch_alter_table('customer_address', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_address_account_id'), ['account_id'], unique=False)

    op.create_table('customer_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('email', sa.String(), nullable=False),
    sa.Column('phone', sa.String(), nullable=False),
    sa.Column('role', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['customer_account.id'], name=op.f('fk_customer_contact_account_id_customer_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_contact'))
    )
    with op.batch_alter_table('customer_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_contact_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_contact_email'), ['email'], unique=False)

    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=16), server_default='', nullable=False))

    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('po_number', sa.String(length=128), server_default='', nullable=False))
        batch_op.add_column(sa.Column('requested_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('bill_name', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('bill_line1', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('bill_line2', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('bill_city', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('bill_region', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('bill_postcode', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('bill_country', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('released_holds', sa.Text(), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_sales_order_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_order_customer_email'), ['customer_email'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_order_ship_postcode'), ['ship_postcode'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_sales_order_account_id_customer_account'), 'customer_account', ['account_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('sales_order', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_sales_order_account_id_customer_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_sales_order_ship_postcode'))
        batch_op.drop_index(batch_op.f('ix_sales_order_customer_email'))
        batch_op.drop_index(batch_op.f('ix_sales_order_account_id'))
        batch_op.drop_column('released_holds')
        batch_op.drop_column('bill_country')
        batch_op.drop_column('bill_postcode')
        batch_op.drop_column('bill_region')
        batch_op.drop_column('bill_city')
        batch_op.drop_column('bill_line2')
        batch_op.drop_column('bill_line1')
        batch_op.drop_column('bill_name')
        batch_op.drop_column('requested_date')
        batch_op.drop_column('po_number')
        batch_op.drop_column('account_id')

    with op.batch_alter_table('order_event', schema=None) as batch_op:
        batch_op.drop_column('origin')

    with op.batch_alter_table('customer_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_contact_email'))
        batch_op.drop_index(batch_op.f('ix_customer_contact_account_id'))

    op.drop_table('customer_contact')
    with op.batch_alter_table('customer_address', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_address_account_id'))

    op.drop_table('customer_address')
    op.drop_table('web_user')
    with op.batch_alter_table('order_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_import_file_sha256'))

    op.drop_table('order_import')
    op.drop_table('idempotency_key')
    with op.batch_alter_table('customer_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_account_email'))

    op.drop_table('customer_account')
    op.drop_table('api_token')
