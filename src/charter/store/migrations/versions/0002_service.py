"""Enforcement service: the durable decision log, enforced policies, bundle activations, API keys
(sha256 of each token only) and idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_api_keys',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_sha256')
    )
    op.create_table('service_policies',
    sa.Column('policy_hash', sa.String(length=64), nullable=False),
    sa.Column('policy_id', sa.String(length=64), nullable=False),
    sa.Column('policy_version', sa.String(length=64), nullable=False),
    sa.Column('policy_json', sa.Text(), nullable=False),
    sa.Column('first_active_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('policy_hash')
    )
    op.create_table('service_bundle_activations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_hash', sa.String(length=64), nullable=False),
    sa.Column('bundle_root', sa.String(length=1000), nullable=False),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
    sa.Column('engine', sa.JSON(), nullable=False),
    sa.Column('api_key_id', sa.String(length=32), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['service_api_keys.id'], ),
    sa.ForeignKeyConstraint(['policy_hash'], ['service_policies.policy_hash'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('service_decisions',
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.String(length=100), nullable=False),
    sa.Column('item_id', sa.String(length=500), nullable=False),
    sa.Column('pathway', sa.String(length=20), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('policy_id', sa.String(length=64), nullable=False),
    sa.Column('policy_version', sa.String(length=64), nullable=False),
    sa.Column('policy_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('api_key_id', sa.String(length=32), nullable=True),
    sa.Column('decision', sa.JSON(), nullable=False),
    sa.Column('item', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['service_api_keys.id'], ),
    sa.ForeignKeyConstraint(['policy_hash'], ['service_policies.policy_hash'], ),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('decision_id')
    )
    with op.batch_alter_table('service_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_service_decisions_created', ['created_at'], unique=False)
        batch_op.create_index('ix_service_decisions_item', ['item_id'], unique=False)
        batch_op.create_index('ix_service_decisions_policy', ['policy_hash', 'seq'], unique=False)
        batch_op.create_index('ix_service_decisions_route', ['pathway', 'decided_by', 'action'], unique=False)

    op.create_table('service_idempotency_keys',
    sa.Column('api_key_id', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('route', sa.String(length=100), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('decision_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['service_api_keys.id'], ),
    sa.PrimaryKeyConstraint('api_key_id', 'key')
    )


def downgrade() -> None:
    op.drop_table('service_idempotency_keys')
    with op.batch_alter_table('service_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_service_decisions_route')
        batch_op.drop_index('ix_service_decisions_policy')
        batch_op.drop_index('ix_service_decisions_item')
        batch_op.drop_index('ix_service_decisions_created')

    op.drop_table('service_decisions')
    op.drop_table('service_bundle_activations')
    op.drop_table('service_policies')
    op.drop_table('service_api_keys')
