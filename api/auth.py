"""Bearer tokens: every /api/v1 route knows who is calling, with which role and scope.

The token comes in the `Authorization: Bearer` header, or as `?token=` for links opened from a QR code or by a
browser's EventSource (which cannot set headers). Resolved tokens are cached briefly, so a revoked or expired token
stops working within `CACHE_S` seconds.

Two limits apply here (api/ratelimit.py): a client address that presented too many unknown, revoked or expired
tokens is refused (429) until its window passes, whatever it presents next, so tokens cannot be guessed; and each
token's POST and PUT requests (submissions) draw from a bucket of their own.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request

from api.deps import ContainerDep
from api.ratelimit import RateLimits, TooManyRequests
from services.domain.access import Forbidden, Principal, Role

CACHE_S = 30.0
SUBMISSIONS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_cache: dict[str, tuple[float, Principal | None]] = {}


def current_principal(request: Request, container: ContainerDep,
                      authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
                      token: Annotated[str | None, Query(max_length=200, include_in_schema=False)] = None
                      ) -> Principal:
    limits: RateLimits = request.app.state.limits
    address = request.client.host if request.client else "unknown"
    raw = token
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value:
            raise _unauthorized("the Authorization header must read 'Bearer <token>'")
        raw = value.strip()
    if not raw:
        raise _unauthorized("a token is required (Authorization: Bearer <token>)")
    try:
        limits.logins.check(address)
    except TooManyRequests as exc:
        raise _too_many(exc) from None
    principal = _resolve(container, raw)
    if principal is None or (principal.expires_at is not None and principal.expires_at <= datetime.now(UTC)):
        limits.logins.failed(address)
        raise _unauthorized("the token is unknown, revoked or expired")
    if request.method in SUBMISSIONS:
        try:
            limits.submissions.take(principal.token_id)
        except TooManyRequests as exc:
            raise _too_many(exc) from None
    return principal


def _resolve(container: ContainerDep, raw: str) -> Principal | None:
    now = time.monotonic()
    cached = _cache.get(raw)
    if cached is not None and now - cached[0] < CACHE_S:
        return cached[1]
    principal = container.tokens.resolve(raw, datetime.now(UTC))
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[raw] = (now, principal)
    return principal


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def _too_many(exc: TooManyRequests) -> HTTPException:
    return HTTPException(429, detail=exc.message, headers={"Retry-After": str(exc.retry_after_s)})


PrincipalDep = Annotated[Principal, Depends(current_principal)]

OFFICIALS = (Role.COORDINATOR, Role.DISTRICT, Role.COMMUNE)


def current_official(container: ContainerDep, principal: PrincipalDep) -> Principal:
    """The caller of a read of district data: a coordinator of this deployment's province, or a district or commune
    official of one of its districts (sales points and drivers have reports and route sheets of their own)."""
    principal.require_role(*OFFICIALS)
    if principal.role is Role.COORDINATOR:
        if principal.scope != container.province_code:
            raise Forbidden(f"a coordinator token for {principal.scope} cannot read province "
                            f"{container.province_code}")
    else:
        district = principal.district_of_scope(container.admin)
        if district is None or container.admin.province_of(district) != container.province_code:
            raise Forbidden(f"a {principal.role.value} token for {principal.scope} cannot read province "
                            f"{container.province_code}")
    return principal


OfficialDep = Annotated[Principal, Depends(current_official)]
