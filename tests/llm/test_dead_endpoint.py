"""A dead endpoint is found out at once: a refused connection is not retried like a 429, and ``probe``
checks the endpoint with one cheap request before anything is paid."""

from __future__ import annotations

import socket

import pytest

from videoespresso_hf.llm import FATAL_ERRORS, EndpointUnreachableError, LLMClient

from ._helpers import caption_request


def dead_url() -> str:
    """The URL of a loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_a_refused_connection_is_fatal_at_the_first_attempt(make_config):
    waits: list[float] = []
    client = LLMClient(make_config(base_url=dead_url(), max_retries=5), sleep=waits.append)
    with pytest.raises(EndpointUnreachableError, match=r"cannot connect to http://127\.0\.0\.1:"):
        client.run(caption_request("red"))
    assert waits == []  # no backoff, no second attempt
    assert issubclass(EndpointUnreachableError, FATAL_ERRORS)


def test_probe_finds_a_dead_endpoint_and_passes_a_live_one(server, make_config):
    with pytest.raises(EndpointUnreachableError, match="does not answer"):
        LLMClient(make_config(base_url=dead_url())).probe()
    LLMClient(make_config()).probe()
    assert server.counts() == {"GET /v1/models": 1}  # one cheap request, nothing paid
