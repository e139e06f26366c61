"""The ingest and bulk jobs, their entries and leases (ingest.jobs, storage.bulk_jobs).

Revision ID: 0002_jobs
Revises: 0001_core
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_jobs"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TEXT = sa.String().with_variant(sa.String(collation="C"), "postgresql")  # compared byte by byte, as on SQLite


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("created", TEXT, nullable=False),
        sa.Column("source", TEXT, nullable=False),
        sa.Column("user", TEXT, nullable=False),
        sa.Column("options", TEXT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")))
    op.create_table(
        "entries",
        sa.Column("job_id", TEXT, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("label", TEXT, nullable=False),
        sa.Column("item_id", TEXT, nullable=False),
        sa.Column("files", TEXT, nullable=False),
        sa.Column("file_fields", TEXT, nullable=False),
        sa.Column("metadata", TEXT, nullable=False),
        sa.Column("state", TEXT, nullable=False),
        sa.Column("step", TEXT, nullable=True),
        sa.Column("file", TEXT, nullable=True),
        sa.Column("reason", TEXT, nullable=True),
        sa.Column("updated", TEXT, nullable=False),
        sa.Column("notes", TEXT, nullable=True),
        sa.Column("kind", TEXT, nullable=True),
        sa.Column("worker", TEXT, nullable=True),
        sa.Column("lease_until", TEXT, nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_entries_job_id_jobs")),
        sa.PrimaryKeyConstraint("job_id", "n", name=op.f("pk_entries")))
    op.create_index(op.f("ix_entries_item_id"), "entries", ["item_id"], unique=False)
    op.create_table(
        "bulk_jobs",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("created", TEXT, nullable=False),
        sa.Column("user", TEXT, nullable=False),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("description", TEXT, nullable=False),
        sa.Column("why", TEXT, nullable=False),
        sa.Column("undo_of", TEXT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_jobs")))
    op.create_table(
        "bulk_entries",
        sa.Column("job_id", TEXT, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("item_id", TEXT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("label", TEXT, nullable=False),
        sa.Column("before", TEXT, nullable=False),
        sa.Column("after", TEXT, nullable=False),
        sa.Column("state", TEXT, nullable=False),
        sa.Column("reason", TEXT, nullable=False),
        sa.Column("new_version", sa.Integer(), nullable=True),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("updated", TEXT, nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["bulk_jobs.id"], name=op.f("fk_bulk_entries_job_id_bulk_jobs")),
        sa.PrimaryKeyConstraint("job_id", "n", name=op.f("pk_bulk_entries")))


def downgrade() -> None:
    op.drop_table("bulk_entries")
    op.drop_table("bulk_jobs")
    op.drop_index(op.f("ix_entries_item_id"), table_name="entries")
    op.drop_table("entries")
    op.drop_table("jobs")
