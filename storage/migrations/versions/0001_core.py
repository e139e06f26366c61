"""The core tables: catalog (items, collections, membership, originals, authority links, audit
events) and accounts (accounts, tokens, sessions, login failures, auth events).

Revision ID: 0001_core
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None

TEXT = sa.String().with_variant(sa.String(collation="C"), "postgresql")  # compared byte by byte, as on SQLite


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', TEXT, nullable=False),
    sa.Column('display_name', TEXT, nullable=False),
    sa.Column('roles', TEXT, nullable=False),
    sa.Column('password_hash', TEXT, nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('username', name=op.f('uq_accounts_username'))
    )
    op.create_table('auth_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', TEXT, nullable=False),
    sa.Column('user', TEXT, nullable=False),
    sa.Column('action', TEXT, nullable=False),
    sa.Column('detail', TEXT, nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_events'))
    )
    op.create_index('ix_auth_events_action', 'auth_events', ['action', 'user', 'detail', 'at'], unique=False)
    op.create_table('collections',
    sa.Column('id', TEXT, nullable=False),
    sa.Column('parent', TEXT, nullable=True),
    sa.Column('title', TEXT, nullable=False),
    sa.Column('visibility', TEXT, nullable=False),
    sa.Column('embargo_until', TEXT, nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created', TEXT, nullable=False),
    sa.Column('updated', TEXT, nullable=False),
    sa.Column('record', TEXT, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collections'))
    )
    op.create_table('events',
    sa.Column('at', TEXT, nullable=False),
    sa.Column('user', TEXT, nullable=False),
    sa.Column('action', TEXT, nullable=False),
    sa.Column('object_id', TEXT, nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('message', TEXT, nullable=False),
    sa.UniqueConstraint('object_id', 'version', 'action', 'at', name=op.f('uq_events_object_id'))
    )
    op.create_index(op.f('ix_events_object_id'), 'events', ['object_id'], unique=False)
    op.create_table('items',
    sa.Column('id', TEXT, nullable=False),
    sa.Column('kind', TEXT, nullable=False),
    sa.Column('title', TEXT, nullable=False),
    sa.Column('visibility', TEXT, nullable=False),
    sa.Column('embargo_until', TEXT, nullable=True),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.Column('year_start', sa.Integer(), nullable=True),
    sa.Column('year_end', sa.Integer(), nullable=True),
    sa.Column('holding_library', TEXT, nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created', TEXT, nullable=False),
    sa.Column('updated', TEXT, nullable=False),
    sa.Column('record', TEXT, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items'))
    )
    op.create_index(op.f('ix_items_updated'), 'items', ['updated'], unique=False)
    op.create_table('login_failures',
    sa.Column('username', TEXT, nullable=False),
    sa.Column('address', TEXT, nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', TEXT, nullable=True),
    sa.Column('last', TEXT, nullable=False),
    sa.PrimaryKeyConstraint('username', 'address', name=op.f('pk_login_failures'))
    )
    op.create_table('sessions',
    sa.Column('hash', TEXT, nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created', TEXT, nullable=False),
    sa.PrimaryKeyConstraint('hash', name=op.f('pk_sessions'))
    )
    op.create_table('tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', TEXT, nullable=False),
    sa.Column('scopes', TEXT, nullable=False),
    sa.Column('hash', TEXT, nullable=False),
    sa.Column('created', TEXT, nullable=False),
    sa.Column('created_by', TEXT, nullable=False),
    sa.Column('revoked', TEXT, nullable=True),
    sa.Column('last_used', TEXT, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tokens')),
    sa.UniqueConstraint('hash', name=op.f('uq_tokens_hash'))
    )
    op.create_table('item_collections',
    sa.Column('item_id', TEXT, nullable=False),
    sa.Column('collection_id', TEXT, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_collections_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'collection_id', name=op.f('pk_item_collections'))
    )
    op.create_index(op.f('ix_item_collections_collection_id'), 'item_collections', ['collection_id'], unique=False)
    op.create_table('item_links',
    sa.Column('item_id', TEXT, nullable=False),
    sa.Column('authority_id', TEXT, nullable=False),
    sa.Column('how', TEXT, nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_links_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'authority_id', 'how', name=op.f('pk_item_links'))
    )
    op.create_index(op.f('ix_item_links_authority_id'), 'item_links', ['authority_id'], unique=False)
    op.create_table('originals',
    sa.Column('sha256', TEXT, nullable=False),
    sa.Column('item_id', TEXT, nullable=False),
    sa.Column('file_id', TEXT, nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_originals_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'file_id', name=op.f('pk_originals'))
    )
    op.create_index(op.f('ix_originals_sha256'), 'originals', ['sha256'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_originals_sha256'), table_name='originals')
    op.drop_table('originals')
    op.drop_index(op.f('ix_item_links_authority_id'), table_name='item_links')
    op.drop_table('item_links')
    op.drop_index(op.f('ix_item_collections_collection_id'), table_name='item_collections')
    op.drop_table('item_collections')
    op.drop_table('tokens')
    op.drop_table('sessions')
    op.drop_table('login_failures')
    op.drop_index(op.f('ix_items_updated'), table_name='items')
    op.drop_table('items')
    op.drop_index(op.f('ix_events_object_id'), table_name='events')
    op.drop_table('events')
    op.drop_table('collections')
    op.drop_index('ix_auth_events_action', table_name='auth_events')
    op.drop_table('auth_events')
    op.drop_table('accounts')
