"""customer notifications (messages with provider id and delivery status, opt-outs, tracking tokens)

``notification_message``: one row per message to a customer, unique by its idempotency
key (order, event, kind and an optional discriminator), written before it is sent, with
the rendered text, the provider's message id and the delivery status and its times.
``notification_opt_out``: recipients (an e-mail address or phone number) who asked for
no more messages. ``tracking_token``: the unguessable token of an order's public
tracking page, with the ETA window and the driver's approach it shows.
``tracking_feedback``: delivery notes and ratings customers leave on that page.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 00:00:00
"""

import sqlalchemy as sa
from alembic import op

from hub.core.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("notifier", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("template", sa.String(length=255), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_detail", sa.Text(), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(), nullable=False),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("failed_at", UTCDateTime(), nullable=True),
        sa.Column("status_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["sales_order.id"],
            name=op.f("fk_notification_message_order_id_sales_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notification_message_idempotency_key")),
    )
    with op.batch_alter_table("notification_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_message_order_id"), ["order_id"])
        batch_op.create_index(batch_op.f("ix_notification_message_provider_id"), ["provider_id"])
        batch_op.create_index("ix_notification_message_due", ["status", "next_attempt_at"])
    op.create_table(
        "notification_opt_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_opt_out")),
        sa.UniqueConstraint("recipient", name=op.f("uq_notification_opt_out_recipient")),
    )
    op.create_table(
        "tracking_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("eta_start", UTCDateTime(), nullable=True),
        sa.Column("eta_end", UTCDateTime(), nullable=True),
        sa.Column("stops_before", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sales_order.id"], name=op.f("fk_tracking_token_order_id_sales_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_token")),
        sa.UniqueConstraint("order_id", name=op.f("uq_tracking_token_order_id")),
        sa.UniqueConstraint("token", name=op.f("uq_tracking_token_token")),
    )
    op.create_table(
        "tracking_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 1 AND rating <= 5)",
            name=op.f("ck_tracking_feedback_rating_one_to_five"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sales_order.id"], name=op.f("fk_tracking_feedback_order_id_sales_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_feedback")),
    )
    with op.batch_alter_table("tracking_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracking_feedback_order_id"), ["order_id"])


def downgrade() -> None:
    op.drop_table("tracking_feedback")
    op.drop_table("tracking_token")
    op.drop_table("notification_opt_out")
    op.drop_table("notification_message")
