"""HTTP plumbing shared by the blueprints: JSON bodies, the shopper identity check, and the one table from
domain errors to status codes. A 500 never carries a stack trace."""
from __future__ import annotations

import functools
import inspect
import logging
import math
import re
from typing import Callable

import azure.functions as func
import orjson

from functions.identity import (PRINCIPAL_ID_HEADER, claim_order, claim_order_async, ensure_shopper,  # noqa: F401 - used by blueprints
                                ensure_shopper_async, public_read_auth_level, shopper_auth_level)
from shared.domain import errors

MAX_BODY_BYTES = 256 * 1024
SESSION_TOKEN_HEADER = "X-Session-Token"

log = logging.getLogger("functions")

# Most specific first: the first matching class decides the status.
_STATUS: list[tuple[type[errors.DomainError], int]] = [
    (errors.PayloadTooLargeError, 413),
    (errors.ValidationError, 400),
    (errors.UnauthorizedError, 401),
    (errors.ForbiddenError, 403),
    (errors.NotFoundError, 404),
    (errors.PreconditionFailedError, 412),
    (errors.ConflictError, 409),
    (errors.UnavailableError, 503),
    (errors.PermanentFailureError, 502),
    (errors.ConfigurationError, 500),
]


def status_for(error: errors.DomainError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(orjson.dumps(body), status_code=status,
                             headers=headers, mimetype="application/json", charset="utf-8")


def error_response(status: int, code: str, message: str, details: object = None,
                   headers: dict[str, str] | None = None) -> func.HttpResponse:
    return json_response({"error": {"code": code, "message": message, "details": details}}, status, headers)


def handles_errors(handler: Callable[[func.HttpRequest], func.HttpResponse]):
    """Wrap a blueprint function (sync or async): domain errors become their status, anything else a bare 500."""
    if inspect.iscoroutinefunction(handler):
        @functools.wraps(handler)
        async def async_wrapper(req: func.HttpRequest) -> func.HttpResponse:
            try:
                return await handler(req)
            except Exception as error:  # noqa: BLE001 - turned into a response below
                return _failure_response(req, error)

        return async_wrapper

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        try:
            return handler(req)
        except Exception as error:  # noqa: BLE001 - turned into a response below
            return _failure_response(req, error)

    return wrapper


_ASCII_INTEGER = re.compile(r"-?[0-9]{1,9}")
_KEY_IN_QUERY = re.compile(r"([?&]code=)[^&#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL as logs may show it: the function key a caller sent as `code` query parameter replaced."""
    return _KEY_IN_QUERY.sub(r"\1REDACTED", url)


def _failure_response(req: func.HttpRequest, error: Exception) -> func.HttpResponse:
    if not isinstance(error, errors.DomainError):   # the last line of defence; the trace goes to the log only
        log.error("%s %s failed", req.method, redact_url(req.url), exc_info=error)
        return error_response(500, "internal_error", "the service failed to handle this request")
    status = status_for(error)
    headers = None
    if isinstance(error, errors.UnavailableError) and error.retry_after:
        headers = {"Retry-After": str(math.ceil(error.retry_after))}
    if getattr(error, "www_authenticate", None):   # 401 from the shopper identity check (RFC 6750)
        headers = {"WWW-Authenticate": error.www_authenticate}
    if status >= 500:
        log.warning("%s %s failed: %s", req.method, redact_url(req.url), error.message)
    return error_response(status, error.code, error.message, error.details, headers)


def read_json(req: func.HttpRequest) -> object:
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise errors.PayloadTooLargeError(f"the body is larger than {MAX_BODY_BYTES} bytes",
                                          {"limit": MAX_BODY_BYTES})
    try:
        # orjson refuses what must never reach a service: invalid UTF-8, lone surrogates ("\ud800"), numbers that
        # overflow to infinity (1e400), NaN / Infinity, nesting deeper than 1,024 levels.
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise errors.ValidationError("the body is not valid JSON", {"reason": str(error)}) from None


def route_param(req: func.HttpRequest, name: str) -> str:
    value = req.route_params.get(name)
    if value is None:
        raise errors.ValidationError(f"the route parameter {name} is missing")
    return value


def int_param(req: func.HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = req.params.get(name)
    if raw is None or raw == "":
        return default
    if not _ASCII_INTEGER.fullmatch(raw):   # int() also takes "٥", " 5", "5_0": not what the docs promise
        raise errors.ValidationError(f"{name} must be an integer", {"field": name})
    value = int(raw)
    if not low <= value <= high:
        raise errors.ValidationError(f"{name} must be between {low} and {high}", {"field": name})
    return value


def session_token(req: func.HttpRequest) -> str | None:
    token = req.headers.get(SESSION_TOKEN_HEADER)
    if token is not None and (len(token) > 4096 or not token.isprintable()):
        raise errors.ValidationError("X-Session-Token is malformed", {"field": SESSION_TOKEN_HEADER})
    return token or None
