"""The features' state: authorities, mentions, lists, alliance members, corrections, exhibitions, zero-result searches.

Revision ID: 0003_features
Revises: 0002_jobs
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_features"
down_revision = "0002_jobs"
branch_labels = None
depends_on = None

TEXT = sa.String().with_variant(sa.String(collation="C"), "postgresql")  # compared byte by byte, as on SQLite
ID = sa.Integer().with_variant(sa.BigInteger(), "postgresql")  # 64 bits, as SQLite's INTEGER PRIMARY KEY
TABLES = ["authorities", "exhibitions", "lists", "members", "mentions",
          "proposals", "zero_results", "authority_links", "authority_names", "list_entries"]  # parents before children


def upgrade() -> None:
    op.create_table('authorities',
    sa.Column('id', TEXT, nullable=False),
    sa.Column('kind', TEXT, nullable=False),
    sa.Column('preferred', TEXT, nullable=False),
    sa.Column('merged_into', TEXT, nullable=True),
    sa.Column('initial', TEXT, nullable=True),
    sa.Column('surname', TEXT, nullable=True),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created', TEXT, nullable=False),
    sa.Column('updated', TEXT, nullable=False),
    sa.Column('record', TEXT, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authorities'))
    )
    op.create_index('authorities_by_kind', 'authorities', ['kind', 'initial'], unique=False)
    op.create_index('authorities_by_merge', 'authorities', ['merged_into'], unique=False,
                    sqlite_where=sa.text('merged_into IS NOT NULL'), postgresql_where=sa.text('merged_into IS NOT NULL'))
    op.create_table('exhibitions',
    sa.Column('id', TEXT, nullable=False),
    sa.Column('status', TEXT, nullable=False),
    sa.Column('head', sa.Integer(), nullable=False),
    sa.Column('updated', TEXT, nullable=False),
    sa.Column('published_version', sa.Integer(), nullable=True),
    sa.Column('published_at', TEXT, nullable=True),
    sa.Column('published', TEXT, nullable=True),
    sa.Column('title', TEXT, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exhibitions'))
    )
    op.create_table('lists',
    sa.Column('id', ID, nullable=False),
    sa.Column('owner', TEXT, nullable=False),
    sa.Column('name', TEXT, nullable=False),
    sa.Column('note', TEXT, server_default='', nullable=False),
    sa.Column('share', TEXT, nullable=True),
    sa.Column('created', TEXT, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lists')),
    sa.UniqueConstraint('share', name=op.f('uq_lists_share'))
    )
    op.create_index('lists_by_owner', 'lists', ['owner'], unique=False)
    op.create_table('members',
    sa.Column('name', TEXT, nullable=False),
    sa.Column('oai_url', TEXT, nullable=False),
    sa.Column('api_url', TEXT, nullable=True),
    sa.Column('token', TEXT, nullable=True),
    sa.Column('label_zh', TEXT, nullable=False),
    sa.Column('label_en', TEXT, nullable=False),
    sa.Column('added', TEXT, nullable=False),
    sa.Column('last_attempt', TEXT, nullable=True),
    sa.Column('last_success', TEXT, nullable=True),
    sa.Column('records', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', TEXT, nullable=True),
    sa.Column('harvest_from', TEXT, nullable=True),
    sa.Column('discovery_cursor', TEXT, nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_members'))
    )
    op.create_table('mentions',
    sa.Column('id', ID, nullable=False),
    sa.Column('item_id', TEXT, nullable=False),
    sa.Column('authority_id', TEXT, nullable=False),
    sa.Column('name', TEXT, nullable=False),
    sa.Column('places', TEXT, nullable=False),
    sa.Column('state', TEXT, server_default='proposed', nullable=False),
    sa.Column('decided_by', TEXT, nullable=True),
    sa.Column('decided_at', TEXT, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentions')),
    sa.UniqueConstraint('item_id', 'authority_id', name=op.f('uq_mentions_item_id'))
    )
    op.create_index('mentions_by_state', 'mentions', ['state', 'item_id'], unique=False)
    op.create_table('proposals',
    sa.Column('id', ID, nullable=False),
    sa.Column('item_id', TEXT, nullable=False),
    sa.Column('target', TEXT, nullable=False),
    sa.Column('file_id', TEXT, nullable=False),
    sa.Column('place', TEXT, nullable=False),
    sa.Column('before', TEXT, nullable=False),
    sa.Column('after', TEXT, nullable=False),
    sa.Column('note', TEXT, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', TEXT, nullable=False),
    sa.Column('proposer', TEXT, nullable=False),
    sa.Column('proposed', TEXT, nullable=False),
    sa.Column('state', TEXT, nullable=False),
    sa.Column('reviewer', TEXT, nullable=True),
    sa.Column('reviewed', TEXT, nullable=True),
    sa.Column('reason', TEXT, nullable=True),
    sa.Column('result_version', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals')),
    sqlite_autoincrement=True
    )
    op.create_index('proposals_by_item', 'proposals', ['item_id', 'state'], unique=False)
    op.create_index('proposals_by_state', 'proposals', ['state', 'id'], unique=False)
    op.create_table('zero_results',
    sa.Column('query', TEXT, nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('last', TEXT, nullable=False),
    sa.PrimaryKeyConstraint('query', name=op.f('pk_zero_results'))
    )
    op.create_index('zero_results_by_count', 'zero_results', ['count', 'last'], unique=False)
    op.create_table('authority_links',
    sa.Column('id', TEXT, nullable=False),
    sa.Column('target', TEXT, nullable=False),
    sa.Column('how', TEXT, nullable=False),
    sa.ForeignKeyConstraint(['id'], ['authorities.id'], name=op.f('fk_authority_links_id_authorities'), ondelete='CASCADE')
    )
    op.create_index('authority_links_by_id', 'authority_links', ['id'], unique=False)
    op.create_index('authority_links_by_target', 'authority_links', ['target'], unique=False)
    op.create_table('authority_names',
    sa.Column('id', TEXT, nullable=False),
    sa.Column('name', TEXT, nullable=False),
    sa.Column('type', TEXT, nullable=False),
    sa.Column('key', TEXT, nullable=False),
    sa.ForeignKeyConstraint(['id'], ['authorities.id'], name=op.f('fk_authority_names_id_authorities'), ondelete='CASCADE')
    )
    op.create_index('authority_names_by_id', 'authority_names', ['id'], unique=False)
    op.create_index('authority_names_by_key', 'authority_names', ['key'], unique=False)
    op.create_table('list_entries',
    sa.Column('id', ID, nullable=False),
    sa.Column('list_id', ID, nullable=False),
    sa.Column('item_id', TEXT, nullable=False),
    sa.Column('note', TEXT, server_default='', nullable=False),
    sa.Column('added', TEXT, nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_list_entries_list_id_lists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_entries')),
    sa.UniqueConstraint('list_id', 'item_id', name=op.f('uq_list_entries_list_id'))
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)  # (with its indexes)
