"""The small error hierarchy. Adapters translate vendor exceptions into these; functions/http.py maps them to HTTP."""
from __future__ import annotations


class DomainError(Exception):
    """Base class. `code` is the stable machine-readable name sent to clients."""

    code = "error"

    def __init__(self, message: str, details: object = None):
        super().__init__(message)
        self.message = message
        self.details = details


class ValidationError(DomainError):
    code = "validation_error"


class PayloadTooLargeError(ValidationError):
    code = "payload_too_large"


class UnauthorizedError(DomainError):
    code = "unauthorized"


class ForbiddenError(DomainError):
    code = "forbidden"


class NotFoundError(DomainError):
    code = "not_found"


class ConflictError(DomainError):
    code = "conflict"


class PreconditionFailedError(ConflictError):
    """An optimistic-concurrency check (etag) failed: someone else wrote first."""

    code = "precondition_failed"


class UnavailableError(DomainError):
    """A dependency is down or throttling; the caller may retry later."""

    code = "unavailable"

    def __init__(self, message: str, details: object = None, retry_after: float | None = None):
        super().__init__(message, details)
        self.retry_after = retry_after


class PermanentFailureError(DomainError):
    """A dependency refused the request in a way that retrying will not fix."""

    code = "permanent_failure"


class ConfigurationError(DomainError):
    code = "configuration_error"
