"""Bearer tokens: every /api/v1 route knows who is calling, with which role and scope.

The token comes in the `Authorization: Bearer` header, or as `?token=` for links opened from a QR code or by a
browser's EventSource (which cannot set headers). Resolved tokens are cached briefly, so a revoked or expired token
stops working within `CACHE_S` seconds.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query

from api.deps import ContainerDep
from services.domain.access import Principal

CACHE_S = 30.0
_cache: dict[str, tuple[float, Principal | None]] = {}


def current_principal(container: ContainerDep,
                      authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
                      token: Annotated[str | None, Query(max_length=200, include_in_schema=False)] = None
                      ) -> Principal:
    raw = token
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value:
            raise _unauthorized("the Authorization header must read 'Bearer <token>'")
        raw = value.strip()
    if not raw:
        raise _unauthorized("a token is required (Authorization: Bearer <token>)")
    now = time.monotonic()
    cached = _cache.get(raw)
    if cached is not None and now - cached[0] < CACHE_S:
        principal = cached[1]
    else:
        principal = container.tokens.resolve(raw, datetime.now(UTC))
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[raw] = (now, principal)
    if principal is None or (principal.expires_at is not None and principal.expires_at <= datetime.now(UTC)):
        raise _unauthorized("the token is unknown, revoked or expired")
    return principal


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, detail=message, headers={"WWW-Authenticate": "Bearer"})


PrincipalDep = Annotated[Principal, Depends(current_principal)]
