"""Typed errors raised by the public API, one class per gRPC status code.

The class names and numeric codes match ``ml_metadata.errors``, so code that
catches ``errors.NotFoundError`` keeps working with only its import changed.
One table (``_CODE_TO_CLASS``) maps codes to classes; the gRPC server and the
gRPC client both go through it.
"""

from __future__ import annotations

__all__ = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "UNAUTHENTICATED",
    "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "StatusError", "CancelledError", "UnknownError", "InvalidArgumentError",
    "DeadlineExceededError", "NotFoundError", "AlreadyExistsError",
    "PermissionDeniedError", "UnauthenticatedError", "ResourceExhaustedError",
    "FailedPreconditionError", "AbortedError", "OutOfRangeError",
    "UnimplementedError", "InternalError", "UnavailableError", "DataLossError",
    "exception_type_from_error_code", "make_exception",
]

# Canonical gRPC status codes (google.rpc.Code).
OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
PERMISSION_DENIED = 7
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
OUT_OF_RANGE = 11
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
DATA_LOSS = 15
UNAUTHENTICATED = 16


class StatusError(Exception):
    """Base class of every error the store raises.

    Attributes:
        message: Human-readable description; names the offending field.
        error_code: The canonical gRPC status code as an int.
    """

    code: int = UNKNOWN

    def __init__(self, message: str, error_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.error_code = self.code if error_code is None else error_code

    def grpc_status_code(self):
        """Returns the matching ``grpc.StatusCode`` member."""
        import grpc

        for status in grpc.StatusCode:
            if status.value[0] == self.error_code:
                return status
        return grpc.StatusCode.UNKNOWN


class CancelledError(StatusError):
    """The operation was cancelled."""

    code = CANCELLED

    def __init__(self, message: str):
        super().__init__(message, CANCELLED)

class InvalidArgumentError(StatusError):
    """The request is malformed or names a bad value."""

    code = INVALID_ARGUMENT

    def __init__(self, message: str):
        super().__init__(message, INVALID_ARGUMENT)

class DeadlineExceededError(StatusError):
    """The deadline passed before the call finished."""

    code = DEADLINE_EXCEEDED

    def __init__(self, message: str):
        super().__init__(message, DEADLINE_EXCEEDED)

class NotFoundError(StatusError):
    """A named record does not exist."""

    code = NOT_FOUND

    def __init__(self, message: str):
        super().__init__(message, NOT_FOUND)

class AlreadyExistsError(StatusError):
    """A record with the same unique key already exists."""

    code = ALREADY_EXISTS

    def __init__(self, message: str):
        super().__init__(message, ALREADY_EXISTS)

class PermissionDeniedError(StatusError):
    """The caller may not do this."""

    code = PERMISSION_DENIED

    def __init__(self, message: str):
        super().__init__(message, PERMISSION_DENIED)

class UnauthenticatedError(StatusError):
    """The caller could not be authenticated."""

    code = UNAUTHENTICATED

    def __init__(self, message: str):
        super().__init__(message, UNAUTHENTICATED)

class ResourceExhaustedError(StatusError):
    """A size or quota limit was hit."""

    code = RESOURCE_EXHAUSTED

    def __init__(self, message: str):
        super().__init__(message, RESOURCE_EXHAUSTED)

class FailedPreconditionError(StatusError):
    """The store is not in a state that allows the call (schema version, read-only, cycle)."""

    code = FAILED_PRECONDITION

    def __init__(self, message: str):
        super().__init__(message, FAILED_PRECONDITION)

class AbortedError(StatusError):
    """The call conflicted with a concurrent one; it may be retried."""

    code = ABORTED

    def __init__(self, message: str):
        super().__init__(message, ABORTED)

class OutOfRangeError(StatusError):
    """A value is out of range."""

    code = OUT_OF_RANGE

    def __init__(self, message: str):
        super().__init__(message, OUT_OF_RANGE)

class UnimplementedError(StatusError):
    """The operation or configuration is not supported."""

    code = UNIMPLEMENTED

    def __init__(self, message: str):
        super().__init__(message, UNIMPLEMENTED)

class InternalError(StatusError):
    """An invariant of the store broke."""

    code = INTERNAL

    def __init__(self, message: str):
        super().__init__(message, INTERNAL)

class UnavailableError(StatusError):
    """The storage server cannot be reached."""

    code = UNAVAILABLE

    def __init__(self, message: str):
        super().__init__(message, UNAVAILABLE)

class DataLossError(StatusError):
    """Stored data is corrupt or lost."""

    code = DATA_LOSS

    def __init__(self, message: str):
        super().__init__(message, DATA_LOSS)


class UnknownError(StatusError):
    """An error that fits no other class."""

    code = UNKNOWN

    def __init__(self, message: str, error_code: int = UNKNOWN):
        super().__init__(message, error_code)


_CODE_TO_CLASS: dict[int, type[StatusError]] = {
    cls.code: cls
    for cls in (
        CancelledError, UnknownError, InvalidArgumentError, DeadlineExceededError,
        NotFoundError, AlreadyExistsError, PermissionDeniedError, UnauthenticatedError,
        ResourceExhaustedError, FailedPreconditionError, AbortedError, OutOfRangeError,
        UnimplementedError, InternalError, UnavailableError, DataLossError,
    )
}


def exception_type_from_error_code(error_code: int) -> type[StatusError]:
    """Returns the error class for a status code.

    Raises:
        KeyError: ``error_code`` is not a known non-OK status code.
    """
    return _CODE_TO_CLASS[error_code]


def make_exception(message: str, error_code: int) -> StatusError:
    """Builds the error matching ``error_code``; unknown codes give UnknownError."""
    cls = _CODE_TO_CLASS.get(error_code)
    return cls(message) if cls is not None else UnknownError(message, error_code)
