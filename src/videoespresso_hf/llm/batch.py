"""Batch mode: send requests through the OpenAI Batch API (about half the price for large runs).

Flow: the requests not already answered in the cache are written as JSONL lines
(``custom_id`` = cache key, ``method``, ``url: /v1/chat/completions``, ``body``), uploaded with
``files.create(purpose="batch")``, submitted with ``batches.create``, polled with
``batches.retrieve`` and collected from the output (and error) files into the same response cache
and ledger the synchronous client uses (billed at the batch price).

Resumable: each uploaded input file and its keys are stored in SQLite next to the cache before the
batch is created, and the batch id as soon as it is known; a killed run re-attaches to its in-flight
batch (found by listing batches when the kill came between creating it and recording its id)
instead of paying again.
Malformed or schema-violating answers are resubmitted in a further batch, up to
``LLMConfig.max_parse_attempts`` rounds, then recorded as failures.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from videoespresso_hf.errors import one_line
from videoespresso_hf.llm._http import is_retryable, status_kind
from videoespresso_hf.llm.client import LLMClient
from videoespresso_hf.llm.ledger import estimate_body
from videoespresso_hf.llm.request import (
    ErrorKind,
    LLMRequest,
    LLMResult,
    Usage,
    parse_answer,
    request_body,
    request_key,
)

logger = logging.getLogger(__name__)

CHAT_COMPLETIONS_URL = "/v1/chat/completions"
TERMINAL_STATUSES = {"completed", "failed", "expired", "cancelled"}
# Tolerated difference between our clock and the server's when matching batches by creation time.
_CLOCK_SKEW_S = 3600

# One row per uploaded input file. ``batch_id`` is filled once ``batches.create`` answered; a row
# without it (a kill or a lost response right after creating) is re-attached by listing the batches
# and matching ``input_file_id`` before anything is created again.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_batches (
    input_file_id TEXT PRIMARY KEY,
    batch_id TEXT UNIQUE,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    n_requests INTEGER NOT NULL,
    collected INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_batch_items (
    input_file_id TEXT NOT NULL,
    key TEXT NOT NULL,
    stage TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    PRIMARY KEY (input_file_id, key)
);
CREATE INDEX IF NOT EXISTS llm_batch_items_key ON llm_batch_items(key);
"""


def batch_line(key: str, request: LLMRequest, client: LLMClient) -> dict[str, Any]:
    """One JSONL line of a Batch API input file."""
    return {
        "custom_id": key,
        "method": "POST",
        "url": CHAT_COMPLETIONS_URL,
        "body": request_body(request, client.config),
    }


class BatchRunner:
    """Runs requests through the Batch API with the cache, ledger and budget of an :class:`LLMClient`.

    Args:
        client: supplies the endpoint, config, cache and ledger.
        poll_interval_s: seconds between polls (default ``client.config.batch_poll_interval_s``).
        max_wait_s: give up waiting after this long (None: wait for the 24 h window); a later run resumes.
        sleep: the wait function (``time.sleep``).
    """

    def __init__(
        self,
        client: LLMClient,
        *,
        poll_interval_s: float | None = None,
        max_wait_s: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.db = client.cache.db
        self.db.executescript(_SCHEMA)
        self.poll_interval_s = (
            client.config.batch_poll_interval_s if poll_interval_s is None else poll_interval_s
        )
        self.max_wait_s = max_wait_s
        self._sleep = sleep

    # ------------------------------------------------------------------ public API

    def run(self, requests: Sequence[LLMRequest]) -> list[LLMResult]:
        """Answer requests via batches; results keep the input order, failures carry ``error``.

        Raises :class:`~videoespresso_hf.llm.ledger.BudgetExceededError` before submitting a batch whose
        estimated (batch-priced) cost does not fit the budget, and ``TimeoutError`` when ``max_wait_s``
        passes (the batch stays recorded; run again to re-attach).
        """
        config = self.client.config
        keys = [request_key(request, config) for request in requests]
        unique = dict(zip(keys, requests, strict=True))
        already = {key for key, request in unique.items() if self._cached_ok(key, request)}
        for key in already:
            self.client.ledger.record(
                key=key, stage=unique[key].stage, prompt_version=unique[key].prompt_version, cached=True
            )
        # As in the synchronous client: with retry_failures=False a recorded failure is final, not re-paid.
        settled = set() if config.retry_failures else {key for key in unique if self._recorded_failure(key)}
        for _ in range(config.max_parse_attempts):
            pending = [key for key in unique if key not in settled and not self._cached_ok(key, unique[key])]
            if not pending:
                break
            in_flight = self._in_flight_submissions(pending)
            attached = {key for submission_keys in in_flight.values() for key in submission_keys}
            to_submit = [key for key in pending if key not in attached]
            if in_flight:
                logger.info(
                    "re-attaching to %d in-flight batch(es) with %d requests", len(in_flight), len(attached)
                )
            submissions = list(in_flight)
            reserved = 0.0
            if to_submit:
                reserved = self._reserve([unique[key] for key in to_submit])
                try:
                    submissions.append(self._upload(to_submit, unique))
                except BaseException:
                    self.client.ledger.release(reserved)
                    raise
            try:
                for input_file_id in submissions:
                    batch_id = self._create_or_find_batch(input_file_id)
                    self._collect(input_file_id, self._wait(batch_id), unique)
            finally:
                self.client.ledger.release(reserved)
        return [self._result(key, unique[key], cached=key in already) for key in keys]

    def in_flight(self) -> list[str]:
        """Input file ids of submitted batches not yet collected (what a resumed run re-attaches to)."""
        return [
            row["input_file_id"]
            for row in self.db.query(
                "SELECT input_file_id FROM llm_batches WHERE collected = 0 ORDER BY created_at"
            )
        ]

    # ------------------------------------------------------------------ steps

    def _cached_ok(self, key: str, request: LLMRequest) -> bool:
        entry = self.client.cache.get(key)
        return entry is not None and entry.ok and parse_answer(entry.text, request.response_model)[1] is None

    def _recorded_failure(self, key: str) -> bool:
        entry = self.client.cache.get(key)
        return entry is not None and not entry.ok

    def _in_flight_submissions(self, keys: list[str]) -> dict[str, list[str]]:
        wanted = set(keys)
        rows = self.db.query(
            "SELECT i.input_file_id, i.key FROM llm_batch_items i "
            "JOIN llm_batches b ON b.input_file_id = i.input_file_id WHERE b.collected = 0 ORDER BY b.created_at"
        )
        submissions: dict[str, list[str]] = {}
        for row in rows:
            if row["key"] in wanted:
                submissions.setdefault(row["input_file_id"], []).append(row["key"])
        return submissions

    def _reserve(self, requests: list[LLMRequest]) -> float:
        config = self.client.config
        total = 0.0
        for request in requests:
            tokens_in, tokens_out = estimate_body(request_body(request, config), config)
            total += config.cost_usd(tokens_in, tokens_out, batch=True)
        return self.client.ledger.reserve(total)

    def _upload(self, keys: list[str], requests: dict[str, LLMRequest]) -> str:
        """Upload the JSONL input file and record it with its keys; returns the input file id."""
        sdk = self.client.openai
        jsonl = "".join(json.dumps(batch_line(key, requests[key], self.client)) + "\n" for key in keys)
        upload = self._with_retries(
            lambda: sdk.files.create(
                file=("requests.jsonl", io.BytesIO(jsonl.encode()), "application/jsonl"), purpose="batch"
            )
        )
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO llm_batches (input_file_id, model, status, n_requests, created_at) VALUES (?, ?, ?, ?, ?)",
                (upload.id, self.client.config.model, "uploaded", len(keys), time.time()),
            )
            conn.executemany(
                "INSERT INTO llm_batch_items (input_file_id, key, stage, prompt_version) VALUES (?, ?, ?, ?)",
                [(upload.id, key, requests[key].stage, requests[key].prompt_version) for key in keys],
            )
        return upload.id

    def _create_or_find_batch(self, input_file_id: str) -> str:
        """The batch for an uploaded file: the recorded one, one the server already has, or a new one.

        Looking before creating means neither a kill after ``batches.create`` nor a lost response (and
        our retry) ever starts a second, paid batch for the same file.
        """
        row = self.db.query(
            "SELECT batch_id, created_at FROM llm_batches WHERE input_file_id = ?", (input_file_id,)
        )[0]
        if row["batch_id"]:
            return row["batch_id"]
        sdk = self.client.openai
        # Batches are listed newest first; anything created well before our upload cannot be ours.
        oldest_possible = row["created_at"] - _CLOCK_SKEW_S

        def find_or_create() -> Any:
            for existing in sdk.batches.list(limit=100):
                if existing.input_file_id == input_file_id:
                    logger.info("found batch %s already created for %s", existing.id, input_file_id)
                    return existing
                if existing.created_at and existing.created_at < oldest_possible:
                    break
            return sdk.batches.create(
                input_file_id=input_file_id,
                endpoint=CHAT_COMPLETIONS_URL,
                completion_window="24h",
                metadata={"source": "videoespresso_hf"},
            )

        batch = self._with_retries(find_or_create)
        self.db.execute(
            "UPDATE llm_batches SET batch_id = ?, status = ? WHERE input_file_id = ?",
            (batch.id, batch.status, input_file_id),
        )
        logger.info("batch %s holds %s", batch.id, input_file_id)
        return batch.id

    def _wait(self, batch_id: str) -> Any:
        sdk = self.client.openai
        started = time.monotonic()
        while True:
            batch = self._with_retries(lambda: sdk.batches.retrieve(batch_id))
            self.db.execute("UPDATE llm_batches SET status = ? WHERE batch_id = ?", (batch.status, batch_id))
            if batch.status in TERMINAL_STATUSES:
                return batch
            if self.max_wait_s is not None and time.monotonic() - started > self.max_wait_s:
                raise TimeoutError(
                    f"batch {batch_id} still {batch.status} after {self.max_wait_s:.0f}s; run again to resume"
                )
            self._sleep(self.poll_interval_s)

    def _collect(self, input_file_id: str, batch: Any, requests: dict[str, LLMRequest]) -> None:
        items = {
            row["key"]: row
            for row in self.db.query(
                "SELECT key, stage, prompt_version FROM llm_batch_items WHERE input_file_id = ?",
                (input_file_id,),
            )
        }
        lines = []
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                content = self._with_retries(
                    lambda file_id=file_id: self.client.openai.files.content(file_id)
                )
                lines += [line for line in content.text.splitlines() if line.strip()]
        # All or nothing: a kill half-way through would otherwise leave paid ledger rows behind that the
        # resumed run (which collects the whole file again) records a second time.
        atomic = self.db.transaction() if self.client.ledger.db is self.db else contextlib.nullcontext()
        with atomic:
            self._record_lines(lines, items, batch, requests)
            self.db.execute(
                "UPDATE llm_batches SET collected = 1, status = ? WHERE input_file_id = ?",
                (batch.status, input_file_id),
            )

    def _record_lines(
        self, lines: list[str], items: dict[str, Any], batch: Any, requests: dict[str, LLMRequest]
    ) -> None:
        config, cache, ledger = self.client.config, self.client.cache, self.client.ledger
        seen: set[str] = set()
        for line in lines:
            try:
                item = json.loads(line)
            except json.JSONDecodeError:  # its request gets "ended without a result" below
                logger.warning("batch %s: skipping an output line that is not JSON: %.80s", batch.id, line)
                continue
            key = item.get("custom_id")
            if key not in items or key in seen:
                continue
            seen.add(key)
            stage, prompt_version = items[key]["stage"], items[key]["prompt_version"]
            record = {"model": config.model, "prompt_version": prompt_version, "stage": stage}
            response = item.get("response") or {}
            body = response.get("body") or {}
            if response.get("status_code") != 200 or item.get("error"):
                error = item.get("error") or body.get("error") or {}
                message = error.get("message", "") if isinstance(error, dict) else str(error)
                cache.put_failure(
                    key,
                    error=f"batch line failed ({response.get('status_code')}): {message}",
                    error_kind=status_kind(response.get("status_code")),
                    attempts=1,
                    **record,
                )
                continue
            text = ((body.get("choices") or [{}])[0].get("message") or {}).get("content")
            usage = Usage(
                (body.get("usage") or {}).get("prompt_tokens", 0),
                (body.get("usage") or {}).get("completion_tokens", 0),
            )
            request = requests.get(key)
            error = parse_answer(text, request.response_model)[1] if request is not None else None
            ledger.record(
                key=key,
                stage=stage,
                prompt_version=prompt_version,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                batch=True,
                ok=error is None,
            )
            if error is None and text is not None:
                cache.put_ok(
                    key,
                    text=text,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    attempts=1,
                    **record,
                )
            else:
                logger.warning("batch answer %s: %s", key[:12], error)
                cache.put_failure(
                    key,
                    error=error or "empty answer",
                    error_kind=ErrorKind.PERMANENT,
                    text=text,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    attempts=1,
                    **record,
                )
        for key in items.keys() - seen:
            row = items[key]
            cache.put_failure(
                key,
                error=f"batch {batch.id} ended {batch.status} without a result",
                error_kind=ErrorKind.TRANSIENT,
                attempts=1,
                model=config.model,
                prompt_version=row["prompt_version"],
                stage=row["stage"],
            )

    def _result(self, key: str, request: LLMRequest, *, cached: bool) -> LLMResult:
        entry = self.client.cache.get(key)
        if entry is None:
            return LLMResult(key=key, error="no answer recorded", error_kind=ErrorKind.TRANSIENT)
        usage = Usage(entry.input_tokens, entry.output_tokens)
        if not entry.ok:
            return LLMResult(
                key=key,
                text=entry.text,
                usage=usage,
                error=entry.error,
                error_kind=entry.error_kind,
                attempts=entry.attempts,
            )
        parsed, error = parse_answer(entry.text, request.response_model)
        kind = None if error is None else ErrorKind.PERMANENT
        if cached:
            return LLMResult(
                key=key, text=entry.text, parsed=parsed, cached=True, error=error, error_kind=kind
            )
        cost = self.client.config.cost_usd(usage.input_tokens, usage.output_tokens, batch=True)
        return LLMResult(
            key=key,
            text=entry.text,
            parsed=parsed,
            usage=usage,
            error=error,
            error_kind=kind,
            cost_usd=cost,
            attempts=entry.attempts,
        )

    def _with_retries(self, call: Callable[[], Any]) -> Any:
        config = self.client.config
        for attempt in range(config.max_retries + 1):
            try:
                return call()
            except Exception as exc:
                if not is_retryable(exc) or attempt == config.max_retries:
                    raise
                delay = self.client._backoff_s(attempt, exc)
                logger.info(
                    "batch API retry %d/%d in %.2fs: %s",
                    attempt + 1,
                    config.max_retries,
                    delay,
                    one_line(exc),
                )
                self._sleep(delay)
        raise AssertionError("unreachable")
