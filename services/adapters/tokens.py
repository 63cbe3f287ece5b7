"""Access tokens in PostGIS. A token reads `gl_<id>_<secret>`; only an HMAC of the secret is stored, so a copy of
the database does not let anyone in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from services.domain.access import Principal, Role

from . import tables as t


class TokenStore:
    def __init__(self, engine: Engine, key: str) -> None:
        self.engine = engine
        self._key = key.encode()

    def _hash(self, secret: str) -> str:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).hexdigest()

    def issue(self, role: Role, scope: str, now: datetime, label: str = "",
              expires_at: datetime | None = None) -> str:
        """A new token; the returned string is the only copy of its secret."""
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(24)
        with self.engine.begin() as conn:
            conn.execute(insert(t.access_tokens).values(
                token_id=token_id, secret_hash=self._hash(secret), role=role.value, scope=scope, label=label,
                created_at=now, expires_at=expires_at))
        return f"gl_{token_id}_{secret}"

    def resolve(self, token: str, now: datetime) -> Principal | None:
        """The principal of a valid token; None when unknown, wrong, revoked or expired."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "gl":
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(t.access_tokens).where(t.access_tokens.c.token_id == parts[1])).first()
        if row is None or not hmac.compare_digest(row.secret_hash, self._hash(parts[2])):
            return None
        if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            return None
        return Principal(row.token_id, Role(row.role), row.scope, row.label, row.expires_at)

    def revoke(self, token_id: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(update(t.access_tokens).where(t.access_tokens.c.token_id == token_id)
                                .values(revoked_at=now))
        return bool(done.rowcount)
