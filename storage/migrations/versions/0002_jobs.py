"""The ingest and bulk jobs, their entries and leases.

Revision ID: 0002_jobs
Revises: 0001_core
"""
revision = "0002_jobs"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
