"""route depots

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:12:40.118342
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('planned_route', schema=None) as batch_op:
        batch_op.add_column(sa.Column('start_latitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('start_longitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('end_latitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('end_longitude', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('planned_route', schema=None) as batch_op:
        batch_op.drop_column('end_longitude')
        batch_op.drop_column('end_latitude')
        batch_op.drop_column('start_longitude')
        batch_op.drop_column('start_latitude')
