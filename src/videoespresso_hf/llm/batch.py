"""Batch mode: send requests through the OpenAI Batch API (about half the price for large runs).

Flow: the requests not already answered in the cache are written as JSONL lines
(``custom_id`` = cache key, ``method``, ``url: /v1/chat/completions``, ``body``), uploaded with
``files.create(purpose="batch")``, submitted with ``batches.create``, polled with
``batches.retrieve`` and collected from the output (and error) files into the same response cache
and ledger the synchronous client uses (billed at the batch price).

Resumable: submitted batch ids and their keys are stored in SQLite next to the cache *before* any
waiting starts, so a killed run re-attaches to its in-flight batch instead of paying again.
Malformed or schema-violating answers are resubmitted in a further batch, up to
``LLMConfig.max_parse_attempts`` rounds, then recorded as failures.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from videoespresso_hf.llm.client import LLMClient, _is_retryable, _max_output, _one_line
from videoespresso_hf.llm.ledger import estimate_call
from videoespresso_hf.llm.request import LLMRequest, LLMResult, Usage, parse_answer, request_body, request_key

logger = logging.getLogger(__name__)

CHAT_COMPLETIONS_URL = "/v1/chat/completions"
TERMINAL_STATUSES = {"completed", "failed", "expired", "cancelled"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_batches (
    batch_id TEXT PRIMARY KEY,
    input_file_id TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    n_requests INTEGER NOT NULL,
    collected INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_batch_items (
    batch_id TEXT NOT NULL,
    key TEXT NOT NULL,
    stage TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    PRIMARY KEY (batch_id, key)
);
CREATE INDEX IF NOT EXISTS llm_batch_items_key ON llm_batch_items(key);
"""


def batch_line(key: str, request: LLMRequest, client: LLMClient) -> dict[str, Any]:
    """One JSONL line of a Batch API input file."""
    return {"custom_id": key, "method": "POST", "url": CHAT_COMPLETIONS_URL,
            "body": request_body(request, client.config)}


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
        self.poll_interval_s = client.config.batch_poll_interval_s if poll_interval_s is None else poll_interval_s
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
            self.client.ledger.record(key=key, stage=unique[key].stage, prompt_version=unique[key].prompt_version,
                                      cached=True)
        for _ in range(config.max_parse_attempts):
            pending = [key for key in unique if not self._cached_ok(key, unique[key])]
            if not pending:
                break
            in_flight = self._in_flight_batches(pending)
            attached = {key for batch_keys in in_flight.values() for key in batch_keys}
            to_submit = [key for key in pending if key not in attached]
            if in_flight:
                logger.info("re-attaching to %d in-flight batch(es) with %d requests", len(in_flight), len(attached))
            batch_ids = list(in_flight)
            reserved = 0.0
            if to_submit:
                reserved = self._reserve([unique[key] for key in to_submit])
                try:
                    batch_ids.append(self._submit(to_submit, unique))
                except BaseException:
                    self.client.ledger.release(reserved)
                    raise
            try:
                for batch_id in batch_ids:
                    self._collect(self._wait(batch_id), unique)
            finally:
                self.client.ledger.release(reserved)
        return [self._result(key, unique[key], cached=key in already) for key in keys]

    def in_flight(self) -> list[str]:
        """Ids of submitted batches not yet collected (what a resumed run re-attaches to)."""
        return [row["batch_id"] for row in self.db.query("SELECT batch_id FROM llm_batches WHERE collected = 0")]

    # ------------------------------------------------------------------ steps

    def _cached_ok(self, key: str, request: LLMRequest) -> bool:
        entry = self.client.cache.get(key)
        return entry is not None and entry.ok and parse_answer(entry.text, request.response_model)[1] is None

    def _in_flight_batches(self, keys: list[str]) -> dict[str, list[str]]:
        wanted = set(keys)
        rows = self.db.query(
            "SELECT i.batch_id, i.key FROM llm_batch_items i JOIN llm_batches b ON b.batch_id = i.batch_id "
            "WHERE b.collected = 0 ORDER BY b.created_at"
        )
        batches: dict[str, list[str]] = {}
        for row in rows:
            if row["key"] in wanted:
                batches.setdefault(row["batch_id"], []).append(row["key"])
        return batches

    def _reserve(self, requests: list[LLMRequest]) -> float:
        config = self.client.config
        total = 0.0
        for request in requests:
            body = request_body(request, config)
            tokens_in, tokens_out = estimate_call(request.messages, config, _max_output(body))
            total += config.cost_usd(tokens_in, tokens_out, batch=True)
        return self.client.ledger.reserve(total)

    def _submit(self, keys: list[str], requests: dict[str, LLMRequest]) -> str:
        sdk = self.client.openai
        jsonl = "".join(json.dumps(batch_line(key, requests[key], self.client)) + "\n" for key in keys)
        upload = self._with_retries(
            lambda: sdk.files.create(file=("requests.jsonl", io.BytesIO(jsonl.encode()), "application/jsonl"),
                                     purpose="batch")
        )
        batch = self._with_retries(
            lambda: sdk.batches.create(input_file_id=upload.id, endpoint=CHAT_COMPLETIONS_URL, completion_window="24h",
                                       metadata={"source": "videoespresso_hf"})
        )
        # Recorded before any waiting: from here on a killed run re-attaches instead of resubmitting.
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO llm_batches (batch_id, input_file_id, model, status, n_requests, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (batch.id, upload.id, self.client.config.model, batch.status, len(keys), time.time()),
            )
            conn.executemany(
                "INSERT INTO llm_batch_items (batch_id, key, stage, prompt_version) VALUES (?, ?, ?, ?)",
                [(batch.id, key, requests[key].stage, requests[key].prompt_version) for key in keys],
            )
        logger.info("submitted batch %s with %d requests", batch.id, len(keys))
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
                raise TimeoutError(f"batch {batch_id} still {batch.status} after {self.max_wait_s:.0f}s; run again to resume")
            self._sleep(self.poll_interval_s)

    def _collect(self, batch: Any, requests: dict[str, LLMRequest]) -> None:
        config, cache, ledger = self.client.config, self.client.cache, self.client.ledger
        items = {row["key"]: row for row in self.db.query(
            "SELECT key, stage, prompt_version FROM llm_batch_items WHERE batch_id = ?", (batch.id,))}
        seen: set[str] = set()
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = self._with_retries(lambda file_id=file_id: self.client.openai.files.content(file_id))
            for line in content.text.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
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
                    cache.put_failure(key, error=f"batch line failed ({response.get('status_code')}): {message}",
                                      attempts=1, **record)
                    continue
                text = ((body.get("choices") or [{}])[0].get("message") or {}).get("content")
                usage = Usage((body.get("usage") or {}).get("prompt_tokens", 0),
                              (body.get("usage") or {}).get("completion_tokens", 0))
                request = requests.get(key)
                error = parse_answer(text, request.response_model)[1] if request is not None else None
                ledger.record(key=key, stage=stage, prompt_version=prompt_version, input_tokens=usage.input_tokens,
                              output_tokens=usage.output_tokens, batch=True, ok=error is None)
                if error is None and text is not None:
                    cache.put_ok(key, text=text, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                                 attempts=1, **record)
                else:
                    logger.warning("batch answer %s: %s", key[:12], error)
                    cache.put_failure(key, error=error or "empty answer", text=text, input_tokens=usage.input_tokens,
                                      output_tokens=usage.output_tokens, attempts=1, **record)
        for key in items.keys() - seen:
            row = items[key]
            cache.put_failure(key, error=f"batch {batch.id} ended {batch.status} without a result", attempts=1,
                              model=config.model, prompt_version=row["prompt_version"], stage=row["stage"])
        self.db.execute("UPDATE llm_batches SET collected = 1, status = ? WHERE batch_id = ?", (batch.status, batch.id))

    def _result(self, key: str, request: LLMRequest, *, cached: bool) -> LLMResult:
        entry = self.client.cache.get(key)
        if entry is None:
            return LLMResult(key=key, error="no answer recorded")
        usage = Usage(entry.input_tokens, entry.output_tokens)
        if not entry.ok:
            return LLMResult(key=key, text=entry.text, usage=usage, error=entry.error, attempts=entry.attempts)
        parsed, error = parse_answer(entry.text, request.response_model)
        if cached:
            return LLMResult(key=key, text=entry.text, parsed=parsed, cached=True, error=error)
        cost = self.client.config.cost_usd(usage.input_tokens, usage.output_tokens, batch=True)
        return LLMResult(key=key, text=entry.text, parsed=parsed, usage=usage, error=error, cost_usd=cost,
                         attempts=entry.attempts)

    def _with_retries(self, call: Callable[[], Any]) -> Any:
        config = self.client.config
        for attempt in range(config.max_retries + 1):
            try:
                return call()
            except Exception as exc:
                if not _is_retryable(exc) or attempt == config.max_retries:
                    raise
                delay = self.client._backoff_s(attempt, exc)
                logger.info("batch API retry %d/%d in %.2fs: %s", attempt + 1, config.max_retries, delay,
                            _one_line(exc))
                self._sleep(delay)
        raise AssertionError("unreachable")
