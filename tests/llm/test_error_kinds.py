"""Every failed result says what kind of failure it is (``ErrorKind``), set where the client caught it, so
callers decide on a type instead of parsing error messages."""

from __future__ import annotations

import sqlite3

import openai
import pytest

from videoespresso_hf.llm import (
    FATAL_ERRORS,
    BatchRunner,
    BudgetExceededError,
    ErrorKind,
    LLMClient,
    MissingAPIKeyError,
    ResponseCache,
)

from ._helpers import caption_request


@pytest.mark.parametrize(
    ("faults", "kind", "error_start"),
    [
        (["400"], ErrorKind.PERMANENT, "BadRequestError"),  # the endpoint refused this request
        (["malformed_json"] * 3, ErrorKind.PERMANENT, "malformed JSON"),  # every parse attempt failed
        (["schema_violation"] * 3, ErrorKind.PERMANENT, "schema violation"),
        (["429"] * 3, ErrorKind.TRANSIENT, "gave up after 3 attempts"),  # retries ran out
        (["500"] * 3, ErrorKind.TRANSIENT, "gave up after 3 attempts"),
    ],
)
def test_the_client_gives_each_failure_its_kind(server, make_config, faults, kind, error_start):
    server.inject_sequence(faults)
    config = make_config(max_retries=2, max_parse_attempts=3)
    result = LLMClient(config).run(caption_request("red"))
    assert result.error.startswith(error_start) and result.error_kind is kind
    # A later run that does not retry recorded failures replays the same kind from the cache.
    replayed = LLMClient(make_config(retry_failures=False)).run(caption_request("red"))
    assert replayed.cached and replayed.error == result.error and replayed.error_kind is kind


def test_a_success_has_no_error_kind(server, make_config):
    assert LLMClient(make_config()).run(caption_request("red")).error_kind is None


@pytest.mark.parametrize(("fault", "kind"), [("400", ErrorKind.PERMANENT), ("429", ErrorKind.TRANSIENT)])
def test_batch_lines_get_the_kind_of_their_status(server, make_config, fault, kind):
    server.inject(fault, times=10)  # outlasts every resubmission round
    client = LLMClient(make_config(max_parse_attempts=2))
    [result] = BatchRunner(client).run([caption_request("red")])
    assert result.error.startswith(f"batch line failed ({fault})") and result.error_kind is kind


def test_failures_in_a_cache_written_before_kinds_existed_read_as_permanent(tmp_path):
    path = tmp_path / "llm.sqlite"
    with sqlite3.connect(path) as db:  # the cache layout before the error_kind column
        db.execute(
            "CREATE TABLE llm_responses (key TEXT PRIMARY KEY, model TEXT NOT NULL, prompt_version TEXT NOT "
            "NULL, stage TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('ok', 'failed')), text TEXT, "
            "error TEXT, input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0, "
            "attempts INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL)"
        )
        db.execute("INSERT INTO llm_responses VALUES ('k1', 'm', 'v1', 's', 'failed', NULL, 'empty answer', 0, 0, 1, 0)")
        db.execute("INSERT INTO llm_responses VALUES ('k2', 'm', 'v1', 's', 'ok', 'hi', NULL, 1, 1, 1, 0)")
    cache = ResponseCache(path)
    assert cache.get("k1").error_kind is ErrorKind.PERMANENT and cache.get("k2").error_kind is None
    cache.put_failure("k3", model="m", prompt_version="v1", stage="s", error="x", error_kind=ErrorKind.TRANSIENT)
    assert cache.get("k3").error_kind is ErrorKind.TRANSIENT and cache.get("k2").text == "hi"


def test_the_fatal_errors_are_exported_once():
    for error in (openai.AuthenticationError, openai.NotFoundError, MissingAPIKeyError, BudgetExceededError):
        assert issubclass(error, FATAL_ERRORS)
    assert not issubclass(openai.RateLimitError, FATAL_ERRORS)
