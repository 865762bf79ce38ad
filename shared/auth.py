"""JWT bearer auth: who is calling, what they may do (`scope`), where (`division`).

Tokens carry `sub`, `scope` (space-separated, e.g. `registry:read pii:read`)
and `division` (340207 for the district, a 9-digit town or 12-digit community
code). FastAPI's `Security` scopes are only declarations; `require()` is what
enforces them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from shared import divisions, inputs, query_names
from shared.problems import Forbidden, Unauthorized
from shared.settings import Settings

MAX_SUB = 200
_BEARER_SCHEME = "HTTPBearer"  # the security scheme's name in the OpenAPI documents
_BEARER_DESCRIPTION = "JWT with `scope` and `division` claims"


@dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    scopes: frozenset[str]
    division: str

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def sees_pii(self) -> bool:
        return "pii:read" in self.scopes


def issue_token(settings: Settings, *, sub: str, scopes: str, division: str, ttl_seconds: int = 8 * 3600) -> str:
    divisions.validate(division)
    now = int(time.time())
    claims = {
        "sub": sub,
        "scope": scopes,
        "division": division,
        "iat": now,
        "exp": now + ttl_seconds,
        "iss": "minzheng",
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithm)


# Verified tokens, so a client's every request does not pay for the signature
# check again: (signing key, token) -> (principal, expiry), bounded.
_VERIFIED: dict[tuple[str, str], tuple[Principal, float]] = {}
_VERIFIED_MAX = 10_000


def verify(settings: Settings, token: str) -> Principal:
    """The token's principal; a token verified before is answered from memory until it expires."""
    key = (settings.jwt_secret, token)
    hit = _VERIFIED.get(key)
    if hit is not None and hit[1] > time.time():
        return hit[0]
    principal, expires = _verify(settings, token)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key] = (principal, expires)
    return principal


def _verify(settings: Settings, token: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[settings.jwt_algorithm],
            options={"require": ["sub", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    division = str(claims.get("division", ""))
    if not divisions.is_known(division):
        raise Unauthorized("token's division claim is not a division of the district")
    sub = str(claims["sub"])
    if not 0 < len(sub) <= MAX_SUB or inputs.unstorable(sub):  # it is stored as the actor (200 characters)
        raise Unauthorized(f"token's sub claim must be 1-{MAX_SUB} characters, without NUL")
    principal = Principal(sub=sub, scopes=frozenset(str(claims.get("scope", "")).split()), division=division)
    return principal, float(claims["exp"])


class BearerPrincipal(HTTPBearer):
    """A dependency: the caller's principal from the bearer token, 403 unless it grants `scope` (when one is named).

    It is the bearer scheme itself (an `HTTPBearer`, so the OpenAPI document
    declares the same `HTTPBearer` scheme on every operation as before) rather
    than a function depending on one: each level of dependencies costs FastAPI
    a resolution per request, and a read spent ~4% of its CPU on that level.
    The token is verified by `verify` (cached), so a route that takes the
    principal twice (its scope and its session) gets the same principal.
    """

    def __init__(self, scope: str | None = None) -> None:
        super().__init__(auto_error=False, scheme_name=_BEARER_SCHEME, description=_BEARER_DESCRIPTION)
        self.scope = scope

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        await query_names.refuse_unknown(request)  # here, not as a dependency of its own: one resolution less
        creds = await super().__call__(request)
        if creds is None or creds.scheme.lower() != "bearer":
            raise Unauthorized("a bearer token is required")
        principal = verify(request.app.state.settings, creds.credentials)
        request.state.principal = principal
        if self.scope is not None and not principal.has(self.scope):
            raise Forbidden(f"scope {self.scope!r} is required")
        return principal


current_principal = BearerPrincipal()
"""A dependency: the caller's principal, whatever its scopes (401 without a valid bearer token)."""


def require(scope: str):  # noqa: ANN201 - returns a dependency
    """A dependency: the caller's principal, 403 unless its token grants `scope`."""
    return Depends(BearerPrincipal(scope))
