"""Two-factor secrets sealed at rest: therapist_mfa.secret holds AES-256-GCM sealed text, not base32.

The column widens from 64 to 255 characters (a sealed 32-character secret is 84 base64 characters)
and every existing secret is sealed with the data key the application uses (CADENZA_DATA_KEY, else
data.key next to the SQLite file / in the data directory; see cadenza.clinic.secrets_at_rest), so
enrolled authenticators keep working. The downgrade opens them again with the same key. An offline
(--sql) upgrade cannot read rows: it only widens the column, and logins with two-factor then fail
until the secrets are sealed (reset them with `cadenza admin reset-mfa`).
"""

import sqlalchemy as sa
from alembic import context, op

from cadenza.clinic.auth import open_mfa_secret, seal_mfa_secret

revision = "0013_mfa_sealed"
down_revision = "0010_mfa"

_TABLE = sa.table("therapist_mfa", sa.column("therapist_id", sa.Integer()), sa.column("secret", sa.String()))


def _rewrite(convert) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_TABLE.c.therapist_id, _TABLE.c.secret)).all()
    url = connection.engine.url
    for therapist_id, stored in rows:
        connection.execute(_TABLE.update().where(_TABLE.c.therapist_id == therapist_id)
                           .values(secret=convert(stored, url=url)))


def upgrade() -> None:
    with op.batch_alter_table("therapist_mfa") as batch:
        batch.alter_column("secret", existing_type=sa.String(64), type_=sa.String(255), existing_nullable=False)
    if not context.is_offline_mode():
        _rewrite(seal_mfa_secret)


def downgrade() -> None:
    if not context.is_offline_mode():
        _rewrite(open_mfa_secret)
    with op.batch_alter_table("therapist_mfa") as batch:
        batch.alter_column("secret", existing_type=sa.String(255), type_=sa.String(64), existing_nullable=False)
