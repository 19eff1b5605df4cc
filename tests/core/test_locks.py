"""Job locks on PostgreSQL: one holder per job within a schema, none across schemas."""

from __future__ import annotations

import os
import uuid

import sqlalchemy as sa

from hub.core.locks import job_lock

PG_URL = os.environ.get(
    "HUB_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def test_a_job_lock_excludes_within_a_schema_and_not_across_schemas(postgres_url):
    other = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{other}"'))
    separator = "&" if "?" in PG_URL else "?"
    here, same, elsewhere = (
        sa.create_engine(postgres_url),
        sa.create_engine(postgres_url),
        sa.create_engine(f"{PG_URL}{separator}options=-csearch_path%3D{other}"),
    )
    try:
        with (
            job_lock(here, "pull:shop") as first,
            job_lock(same, "pull:shop") as second,
            job_lock(elsewhere, "pull:shop") as third,
        ):
            assert (first, second, third) == (True, False, True)
        with job_lock(same, "pull:shop") as again:
            assert again
    finally:
        for engine in (here, same, elsewhere):
            engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{other}" CASCADE'))
        admin.dispose()
