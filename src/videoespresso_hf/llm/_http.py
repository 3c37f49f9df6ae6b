"""How the client and the batch runner read an HTTP failure: shared, private to ``videoespresso_hf.llm``."""

from __future__ import annotations

import json
import socket

import openai

from videoespresso_hf.llm.request import ErrorKind

# 408 (timeout), 409 (conflict) and 429 (rate limit) are the 4xx statuses that a later attempt can pass.
RETRYABLE_STATUS = frozenset({408, 409, 429})


class NotACompletionError(RuntimeError):
    """A 200 response that is JSON but not a chat completion: the server's fault, so retried."""


def status_kind(status_code: int | None) -> ErrorKind:
    """What an HTTP error status says about the request: a 4xx other than 408/409/429 will fail again."""
    if status_code is not None and 400 <= status_code < 500 and status_code not in RETRYABLE_STATUS:
        return ErrorKind.PERMANENT
    return ErrorKind.TRANSIENT


def is_unreachable(exc: BaseException) -> bool:
    """The endpoint could not be connected to at all (refused, unknown host): nobody is there to retry.

    The SDK raises ``APIConnectionError`` for these as for a dropped connection; the socket error that
    caused it (under the HTTP library's own wrappers) tells them apart.
    """
    if not isinstance(exc, openai.APIConnectionError) or isinstance(exc, openai.APITimeoutError):
        return False
    cause: BaseException | None = exc
    for _ in range(10):  # the chain is short: SDK error <- HTTP library errors <- socket error
        if cause is None:
            return False
        if isinstance(cause, ConnectionRefusedError | socket.gaierror):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of ``exc``'s chain (e.g. the socket error under a connection error)."""
    for _ in range(10):
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc


def is_retryable(exc: BaseException) -> bool:
    """Whether sending the same request again may succeed (429, 5xx, timeouts, connection errors, ...)."""
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return status_kind(exc.status_code) is ErrorKind.TRANSIENT
    # A body that is not JSON (or not a completion) is a broken response from the server, not a bad request.
    return isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError | NotACompletionError)


def fault_kind(exc: BaseException) -> str:
    """A short name for what went wrong with one HTTP attempt, for counting faults in summaries."""
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, openai.APIStatusError):
        return "5xx" if exc.status_code >= 500 else str(exc.status_code)
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError | NotACompletionError):
        return "malformed"  # the HTTP body was not a chat completion (cut off, not JSON, ...)
    return type(exc).__name__


def retry_after_s(exc: BaseException) -> float | None:
    """The server's ``retry-after(-ms)`` header in seconds, if it sent one."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            return None  # an HTTP-date: fall back to our own backoff
    return None
