"""driver app (drivers and their tokens, route actions with proof of delivery, position pings)

Drivers sign in with a token kept as its SHA-256, or with a one-time link (driver_link).
route_action keeps what a driver did at a stop, once per (driver, the phone's action id);
position_ping the phone's positions, once per (driver, phone time).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 00:00:00
"""

import sqlalchemy as sa
from alembic import op

from hub.core.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "driver",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("vehicle", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_prefix", sa.String(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_driver")),
        sa.UniqueConstraint("name", name=op.f("uq_driver_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_driver_token_hash")),
    )
    op.create_index(op.f("ix_driver_vehicle"), "driver", ["vehicle"], unique=False)
    op.create_table(
        "driver_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("driver_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["driver.id"], name=op.f("fk_driver_link_driver_id_driver")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_driver_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_driver_link_token_hash")),
    )
    op.create_index(op.f("ix_driver_link_driver_id"), "driver_link", ["driver_id"], unique=False)
    op.create_table(
        "route_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("driver_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("stop_seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recipient_name", sa.String(), nullable=False),
        sa.Column("signature_path", sa.String(), nullable=False),
        sa.Column("photo_path", sa.String(), nullable=False),
        sa.Column("phone_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["driver.id"], name=op.f("fk_route_action_driver_id_driver")
        ),
        sa.ForeignKeyConstraint(
            ["route_id"],
            ["planned_route.id"],
            name=op.f("fk_route_action_route_id_planned_route"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_action")),
        sa.UniqueConstraint("driver_id", "client_id", name="uq_route_action_client"),
    )
    op.create_index(
        "ix_route_action_stop", "route_action", ["route_id", "stop_seq", "phone_at"], unique=False
    )
    op.create_table(
        "position_ping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("driver_id", sa.Integer(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("phone_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["driver.id"], name=op.f("fk_position_ping_driver_id_driver")
        ),
        sa.ForeignKeyConstraint(
            ["route_id"],
            ["planned_route.id"],
            name=op.f("fk_position_ping_route_id_planned_route"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_ping")),
        sa.UniqueConstraint("driver_id", "phone_at", name="uq_position_ping_driver_time"),
    )
    op.create_index(
        "ix_position_ping_route", "position_ping", ["route_id", "phone_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_position_ping_route", table_name="position_ping")
    op.drop_table("position_ping")
    op.drop_index("ix_route_action_stop", table_name="route_action")
    op.drop_table("route_action")
    op.drop_index(op.f("ix_driver_link_driver_id"), table_name="driver_link")
    op.drop_table("driver_link")
    op.drop_index(op.f("ix_driver_vehicle"), table_name="driver")
    op.drop_table("driver")
