"""The API's error shape and the handlers that give every failure a clear response.

Error hierarchy::

    ApiError                 an error the API returns on purpose
     +-- NotFound            404 with a specific code (JOB_NOT_FOUND, ...)
     +-- Conflict            409
     +-- BadRequest          400 / 422
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
}


class ApiError(Exception):
    """An error response: HTTP status, a stable code and a message for people."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


class NotFound(ApiError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(404, code, message)


class Conflict(ApiError):
    def __init__(
        self, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(409, code, message, details)


def validation_error(
    loc: list[str], message: str, *, kind: str = "value_error"
) -> ApiError:
    """Return a 422 for one bad parameter, in the same shape FastAPI uses."""
    return ApiError(
        422,
        "VALIDATION_ERROR",
        f"Invalid {loc[-1]}: {message}",
        {"errors": [{"loc": loc, "msg": message, "type": kind}]},
    )


def error_body(
    code: str, message: str, details: Any = None, request_id: str | None = None
) -> dict[str, Any]:
    """Build the error body: the nested object, repeated at the top for stock clients."""
    inner = {
        "code": code,
        "message": message,
        "details": details,
        "request_id": request_id,
    }
    return {"code": code, "message": message, "details": details, "error": inner}


def _request_id(request: Request) -> str:
    return getattr(request.state, "request_id", None) or uuid.uuid4().hex


def _respond(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = error_body(code, message, details, _request_id(request))
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register handlers so that every error uses the one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _respond(
            request, exc.status, exc.code, exc.message, exc.details, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": list(e.get("loc", ())),
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:3])
        message = (
            f"Invalid request: {errors[0]['msg']} ({where})"
            if errors
            else "Invalid request"
        )
        return _respond(request, 422, "VALIDATION_ERROR", message, {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "ERROR")
        message = (
            exc.detail
            if isinstance(exc.detail, str)
            else code.replace("_", " ").lower()
        )
        if exc.status_code == 404 and message == "Not Found":
            message = f"No route {request.method} {request.url.path}; see /openapi.json"
        if exc.status_code == 405:
            message = f"Method {request.method} is not allowed on {request.url.path}"
        return _respond(
            request,
            exc.status_code,
            code,
            message,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = _request_id(request)
        logger.error(
            "Unhandled error in %s %s (request %s)",
            request.method,
            request.url.path,
            request_id,
            exc_info=exc,
        )
        return _respond(
            request,
            500,
            "INTERNAL_ERROR",
            f"Internal error; the server log has details under request id {request_id}",
        )
