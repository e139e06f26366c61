"""The features' state: authorities, mentions, lists, alliance members, corrections, exhibitions, zero-result searches.

Revision ID: 0003_features
Revises: 0002_jobs
"""
revision = "0003_features"
down_revision = "0002_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
