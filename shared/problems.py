"""RFC 9457 problem responses for every error, and the domain's error type.

Validation errors name each offending field (`errors[].field`, e.g.
`id_number`), so a partner's integrator can fix the request without reading
our code. Nothing is written when a request fails: handlers raise before
commit and the session rolls back.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import faults, inputs
from shared.identity import mask_text

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("problems")


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class DomainError(Exception):
    """An error the caller can act on; carries its own status and problem type."""

    status = 400
    title = "Bad request"
    type = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        status: int | None = None,
        type: str | None = None,
        title: str | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        if status:
            self.status = status
        if type:
            self.type = type
        if title:
            self.title = title


class NotFound(DomainError):
    status = 404
    title = "Not found"
    type = "not-found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    type = "conflict"


class Invalid(DomainError):
    """Well-formed but refused by a rule (a field's value is not acceptable)."""

    status = 422
    title = "Validation failed"
    type = "validation-error"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    type = "forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"
    type = "unauthorized"


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(exclude_none=True), status_code=problem.status, media_type=PROBLEM_JSON, headers=headers
    )


def _type_uri(slug: str) -> str:
    return slug if ":" in slug else f"https://minzheng.example/problems/{slug}"


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        errors = [FieldError(field=exc.field, message=exc.detail)] if exc.field else None
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(
            Problem(
                type=_type_uri(exc.type),
                title=exc.title,
                status=exc.status,
                detail=exc.detail,
                instance=request.url.path,
                errors=errors,
            ),
            headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(field=_field_name(tuple(e.get("loc", ()))), message=mask_text(str(e.get("msg", "invalid"))))
            for e in exc.errors()
        ]
        names = ", ".join(dict.fromkeys(e.field for e in errors))
        return problem_response(
            Problem(
                type=_type_uri("validation-error"),
                title="Validation failed",
                status=422,
                detail=f"invalid field(s): {names}",
                instance=request.url.path,
                errors=errors,
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            Problem(
                title=str(exc.detail) if exc.status_code != 404 else "Not found",
                status=exc.status_code,
                detail=str(exc.detail),
                instance=request.url.path,
            ),
            getattr(exc, "headers", None),
        )

    @app.exception_handler(sa_exc.SQLAlchemyError)
    async def _database(request: Request, exc: sa_exc.SQLAlchemyError) -> JSONResponse:
        return database_problem(request, exc)

    @app.exception_handler(asyncpg.PostgresError)
    async def _driver(request: Request, exc: asyncpg.PostgresError) -> JSONResponse:
        # Raised unwrapped by statements run on the driver connection itself (COPY).
        return database_problem(request, exc)

    @app.exception_handler(OSError)
    async def _unreachable(request: Request, exc: OSError) -> JSONResponse:
        # asyncpg raises ConnectionRefusedError/ConnectionResetError unwrapped when the pool (re)connects.
        return database_problem(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem_response(
            Problem(
                title="Internal error",
                status=500,
                detail="an unexpected error; it has been logged",
                instance=request.url.path,
            )
        )


def unstorable_text_problem(scope: dict[str, Any], fields: list[str]) -> JSONResponse:
    """The 422 for NUL or a lone surrogate in the path, the query or the body (see shared/inputs.py)."""
    message = "must not contain NUL (U+0000) or an unpaired surrogate"
    return problem_response(
        Problem(
            type=_type_uri("validation-error"),
            title="Validation failed",
            status=422,
            detail=f"invalid field(s): {', '.join(fields)}",
            instance=inputs.printable(scope.get("path", "")),
            errors=[FieldError(field=f, message=message) for f in fields],
        )
    )


RETRY_AFTER_SECONDS = 5


def database_problem(request: Request, exc: BaseException) -> JSONResponse:
    """What a database failure that escaped the use case means to the caller; never a bare 500 when it is not a bug.

    - unreachable, lost connection, restarting, serialization failure, deadlock: 503 with
      `Retry-After` (the same request will work shortly; nothing was committed);
    - a unique or foreign-key violation: 409. Two identical requests racing each other end
      here when a use case has no lock on its natural key; the loser wrote nothing;
    - a value the column refuses (`DataError`): 422. Models bound what they accept, so
      this is a missing bound, logged as an error to be fixed.
    Anything else is a bug: 500, logged with its traceback.
    """
    instance = request.url.path
    if faults.is_transient(exc):
        conflict = faults.met_concurrent_work(exc)
        event = "database conflict" if conflict else "database unavailable"
        log.warning(event, path=instance, error=type(exc).__name__)
        cause = "the request met concurrent work (a deadlock)" if conflict else "the database cannot be reached"
        return problem_response(
            Problem(
                type=_type_uri("service-unavailable"),
                title="Service unavailable",
                status=503,
                instance=instance,
                detail=f"{cause}; nothing was changed; try again in {RETRY_AFTER_SECONDS} s",
            ),
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, sa_exc.IntegrityError | asyncpg.IntegrityConstraintViolationError):
        log.warning("integrity error answered 409", path=instance, error=mask_text(str(getattr(exc, "orig", exc))))
        return problem_response(
            Problem(
                type=_type_uri("conflict"),
                title="Conflict",
                status=409,
                instance=instance,
                detail="conflicts with a record written at the same moment; read the current state first",
            )
        )
    if isinstance(exc, sa_exc.DataError | asyncpg.DataError):
        log.error(
            "value refused by the database answered 422", path=instance, error=mask_text(str(getattr(exc, "orig", exc)))
        )
        return problem_response(
            Problem(
                type=_type_uri("validation-error"),
                title="Validation failed",
                status=422,
                instance=instance,
                detail="a value does not fit its field",
            )
        )
    log.error("unhandled database error", path=instance, exc_info=exc)
    return problem_response(
        Problem(title="Internal error", status=500, detail="an unexpected error; it has been logged", instance=instance)
    )


# Documented on every route so OpenAPI lists the problem responses.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": desc, "content": {PROBLEM_JSON: {}}}
    for code, desc in {
        400: "The body cannot be parsed (not JSON, not UTF-8)",
        401: "Missing or invalid bearer token",
        403: "Scope or division does not allow this",
        404: "Not found (or outside the caller's division)",
        409: "Conflicts with the current state",
        422: "Validation failed; `errors` names each field",
        503: "A dependency (the database) is unavailable; retry after `Retry-After` seconds",
    }.items()
}
