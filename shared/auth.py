"""JWT bearer auth: who is calling, what they may do (`scope`), where (`division`).

Tokens carry `sub`, `scope` (space-separated, e.g. `registry:read pii:read`)
and `division` (340207 for the district, a 9-digit town or 12-digit community
code). FastAPI's `Security` scopes are only declarations; `require()` is what
enforces them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared import divisions, inputs
from shared.problems import Forbidden, Unauthorized
from shared.settings import Settings

MAX_SUB = 200
_bearer = HTTPBearer(auto_error=False, description="JWT with `scope` and `division` claims")


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


async def current_principal(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    principal = verify(request.app.state.settings, creds.credentials)
    request.state.principal = principal
    return principal


def require(scope: str):  # noqa: ANN201 - returns a dependency
    """A dependency: the caller's principal, 403 unless its token grants `scope`.

    It takes the bearer credentials itself rather than depending on `current_principal`: each level of
    dependencies costs FastAPI a resolution per request (a read spent ~4% of its CPU on that one level).
    The token is verified by the same `verify` (cached), so a route that also takes `current_principal`
    (through its session) gets the same principal.
    """

    async def dependency(
        request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        principal = await current_principal(request, creds)
        if not principal.has(scope):
            raise Forbidden(f"scope {scope!r} is required")
        return principal

    return Depends(dependency)
