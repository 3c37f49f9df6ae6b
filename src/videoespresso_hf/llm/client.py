"""The one way the library talks to LLMs/VLMs: any OpenAI-compatible chat-completions endpoint.

Responsibilities, in the order a request meets them: the response cache (a hit costs no HTTP call),
the budget cap (checked before each paid attempt), retries with exponential backoff and jitter on
429/5xx/timeouts/connection errors (our policy; the SDK's own retries are off), structured-output
validation with pydantic (a malformed or schema-violating answer is asked again, then recorded as a
failure), and the ledger (every paid attempt and every cache hit is a row).
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import openai
from openai.types.chat import ChatCompletion
from pydantic import BaseModel

from videoespresso_hf.errors import one_line
from videoespresso_hf.llm._http import (
    NotACompletionError,
    fault_kind,
    is_retryable,
    is_unreachable,
    retry_after_s,
    root_cause,
    status_kind,
)
from videoespresso_hf.llm.cache import ResponseCache
from videoespresso_hf.llm.config import LLMConfig, UnknownPriceError
from videoespresso_hf.llm.ledger import (
    BudgetExceededError,
    CostEstimate,
    Ledger,
    estimate_body,
    estimate_cost,
)
from videoespresso_hf.llm.request import (
    ErrorKind,
    LLMRequest,
    LLMResult,
    Usage,
    parse_answer,
    request_body,
    request_key,
)
from videoespresso_hf.sqlite import Database

logger = logging.getLogger(__name__)

# Sent to loopback servers (tests, a local vLLM) when no key is in the environment; they ignore it.
LOOPBACK_DUMMY_KEY = "sk-loopback-no-key"



class MissingAPIKeyError(RuntimeError):
    """No API key in the environment for a non-loopback endpoint."""


class EndpointUnreachableError(ConnectionError):
    """The endpoint refuses connections or does not answer: every request would fail alike."""


# The errors of kind ErrorKind.FATAL: the configuration is wrong (key, permissions, model name, prices) or
# the budget is spent, so every further request would fail alike. Raised, never returned in a result.
FATAL_ERRORS: tuple[type[Exception], ...] = (
    openai.AuthenticationError,
    openai.PermissionDeniedError,
    openai.NotFoundError,
    MissingAPIKeyError,
    EndpointUnreachableError,
    BudgetExceededError,
    UnknownPriceError,
)


class _RequestFailed(RuntimeError):
    """This request failed for good: retries ran out (transient), or the endpoint rejected it (permanent)."""

    def __init__(self, message: str, attempts: int, kind: ErrorKind) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.kind = kind


class LLMClient:
    """Chat completions with cache, retries, structured output, bounded concurrency and a cost ledger.

    Args:
        config: endpoint, limits, prices and the cache location.
        cache / ledger: explicit stores; by default both live in ``config.cache_path`` (SQLite).
        sleep: the function used to wait between retries (``time.sleep``).

    The API key is read once here from ``$<config.api_key_env>`` and handed to the openai client only;
    it is never stored in the config, the cache, the ledger or log messages.
    """

    def __init__(
        self,
        config: LLMConfig,
        *,
        cache: ResponseCache | None = None,
        ledger: Ledger | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        db = Database(config.cache_path) if cache is None or ledger is None else None
        self.cache = cache if cache is not None else ResponseCache(db=db)
        self.ledger = ledger if ledger is not None else Ledger(config, db=db)
        self._sleep = sleep
        api_key = os.environ.get(config.api_key_env) or (LOOPBACK_DUMMY_KEY if config.is_loopback() else None)
        # Without a key we can still answer from the cache and estimate costs; HTTP calls fail clearly.
        self._openai: openai.OpenAI | None = None
        if api_key is not None:
            self._openai = openai.OpenAI(
                api_key=api_key,
                base_url=config.resolved_base_url(),
                timeout=config.timeout_s,
                max_retries=0,  # the retry policy is ours (and tested), not the SDK's
            )

    def __repr__(self) -> str:
        return f"LLMClient(model={self.config.model!r}, base_url={self.config.endpoint_label()!r})"

    @property
    def openai(self) -> openai.OpenAI:
        """The underlying SDK client (for batch mode); raises if no API key is configured."""
        if self._openai is None:
            raise MissingAPIKeyError(
                f"no API key: set ${self.config.api_key_env} (the key is only ever read from the environment)"
            )
        return self._openai

    def close(self) -> None:
        if self._openai is not None:
            self._openai.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ public API

    def probe(self) -> None:
        """Check with one cheap, unpaid request (``GET /models``, no retries) that the endpoint answers.

        Raises:
            EndpointUnreachableError: nothing answers at the endpoint (refused, unknown host, timed out).
            openai.AuthenticationError / openai.PermissionDeniedError: the key is not accepted.
            MissingAPIKeyError: no API key for a remote endpoint.

        Any other HTTP status means a server is there (some OpenAI-compatible servers list no models).
        """
        try:
            self.openai.with_options(timeout=min(self.config.timeout_s, 10.0)).models.list()
        except (openai.AuthenticationError, openai.PermissionDeniedError):
            raise
        except openai.APIConnectionError as exc:  # includes timeouts
            where = self.config.endpoint_label()
            raise EndpointUnreachableError(f"{where} does not answer: {one_line(root_cause(exc))}") from exc
        except openai.APIStatusError:
            return

    def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        prompt_version: str,
        stage: str = "default",
        response_model: type[BaseModel] | None = None,
        **params: Any,
    ) -> LLMResult:
        """Answer one chat request; see :meth:`run`."""
        return self.run(LLMRequest(messages, prompt_version, stage, response_model, params))

    def run(self, request: LLMRequest) -> LLMResult:
        """Answer one request from the cache or the endpoint.

        Returns a result whose ``error`` is set when retries or parse attempts ran out (also recorded in
        the cache as a failure). Raises :class:`~videoespresso_hf.llm.ledger.BudgetExceededError` before
        a call that could exceed the budget, and the SDK's authentication/permission/not-found errors,
        which no retry can fix.
        """
        return self._run(request_key(request, self.config), request)

    def _run(self, key: str, request: LLMRequest) -> LLMResult:
        entry = self.cache.get(key)
        if entry is not None and entry.ok:
            parsed, error = parse_answer(entry.text, request.response_model)
            if error is None:
                self.ledger.record(
                    key=key, stage=request.stage, prompt_version=request.prompt_version, cached=True
                )
                return LLMResult(key=key, text=entry.text, parsed=parsed, cached=True)
        if entry is not None and not entry.ok and not self.config.retry_failures:
            return LLMResult(
                key=key,
                text=entry.text,
                cached=True,
                error=entry.error,
                error_kind=entry.error_kind,
                attempts=0,
            )
        return self._call(key, request)

    def map(
        self,
        requests: Sequence[LLMRequest],
        *,
        max_concurrency: int | None = None,
        progress: bool | Callable[[int, int], None] = False,
    ) -> list[LLMResult]:
        """Answer many requests with at most ``max_concurrency`` in flight; results keep the input order.

        Identical requests are sent once. A failed request is a result with ``error`` set, never an
        exception; :class:`BudgetExceededError` and configuration errors stop the run: requests not yet
        started are cancelled, the ones in flight finish and are cached, then the error is raised.

        Args:
            progress: ``True`` for a tqdm bar, or a callback ``(done, total)``.
        """
        requests = list(requests)
        keys = [request_key(request, self.config) for request in requests]
        unique: dict[str, LLMRequest] = {}
        for key, request in zip(keys, requests, strict=True):
            unique.setdefault(key, request)
        workers = max(1, min(max_concurrency or self.config.max_concurrency, len(unique) or 1))
        bar = None
        if progress is True:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(unique), desc=f"llm {self.config.model}", unit="req")
        done = 0
        results: dict[str, LLMResult] = {}
        try:
            # Leaving the pool's block waits for the calls in flight, so their answers are cached.
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm") as pool:
                futures = {pool.submit(self._run, key, request): key for key, request in unique.items()}
                pending: set[Future[LLMResult]] = set(futures)
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        error = future.exception()
                        if error is not None:
                            for other in pending:
                                other.cancel()
                            raise error
                        results[futures[future]] = future.result()
                        done += 1
                        if bar is not None:
                            bar.update(1)
                        elif callable(progress):
                            progress(done, len(unique))
        finally:
            if bar is not None:
                bar.close()
        return [results[key] for key in keys]

    def estimate(self, requests: Iterable[LLMRequest], *, estimated: set[str] | None = None) -> CostEstimate:
        """Dry run: the estimated cost of the requests not already answered in the cache. No HTTP.

        A request identical to an earlier one counts as cached, as :meth:`map` sends it once and the cache
        answers the copies. ``estimated`` carries the keys seen across calls (e.g. the videos of one dry
        run) and is extended with these requests' keys.
        """
        estimated = set() if estimated is None else estimated
        to_send, cached = [], 0
        for request in requests:
            key = request_key(request, self.config)
            entry = self.cache.get(key)
            if key in estimated or (entry is not None and entry.ok):
                cached += 1
            else:
                to_send.append(request_body(request, self.config))
            estimated.add(key)
        return estimate_cost(to_send, self.config, cached=cached)

    # ------------------------------------------------------------------ internals

    def _call(self, key: str, request: LLMRequest) -> LLMResult:
        body = request_body(request, self.config)
        estimate_in, estimate_out = estimate_body(body, self.config)
        estimated_cost = self.config.cost_usd(estimate_in, estimate_out)
        attempts, paid, text, usage, parsed, error = 0, 0.0, None, Usage(), None, None
        faults: Counter[str] = Counter()  # what went wrong on the way, by kind, absorbed or not
        kind = ErrorKind.PERMANENT  # unless the endpoint failed us: the answer itself stayed unusable
        for parse_attempt in range(1, self.config.max_parse_attempts + 1):
            reserved = self.ledger.reserve(estimated_cost)
            # The reservation is held until the real cost is in the ledger: released any earlier, a
            # concurrent call could reserve against a total that misses this one and overspend the cap.
            try:
                try:
                    completion, tries = self._send(body, faults)
                except _RequestFailed as exc:
                    attempts, error, text, kind = attempts + exc.attempts, str(exc), None, exc.kind
                    break
                attempts += tries
                text, this_usage = self._read(completion, estimate_in)
                usage = Usage(
                    usage.input_tokens + this_usage.input_tokens, usage.output_tokens + this_usage.output_tokens
                )
                parsed, error = parse_answer(text, request.response_model)
                paid += self.ledger.record(
                    key=key,
                    stage=request.stage,
                    prompt_version=request.prompt_version,
                    input_tokens=this_usage.input_tokens,
                    output_tokens=this_usage.output_tokens,
                    ok=error is None,
                )
            finally:
                self.ledger.release(reserved)
            if error is None:
                break
            faults["malformed_answer"] += 1
            if parse_attempt < self.config.max_parse_attempts:
                logger.warning("llm %s: %s; asking again", key[:12], error)
        stored = {
            "model": self.config.model,
            "prompt_version": request.prompt_version,
            "stage": request.stage,
            "text": text,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "attempts": attempts,
        }
        if error is None:
            self.cache.put_ok(key, **stored)
        else:
            logger.warning("llm %s failed after %d attempts: %s", key[:12], attempts, error)
            self.cache.put_failure(key, error=error or "unknown error", error_kind=kind, **stored)
        return LLMResult(
            key=key,
            text=text,
            parsed=parsed,
            usage=usage,
            error=error,
            error_kind=None if error is None else kind,
            cost_usd=paid,
            attempts=attempts,
            faults=dict(faults),
        )

    def _send(self, body: dict[str, Any], faults: Counter[str]) -> tuple[ChatCompletion, int]:
        """POST the body, retrying transient failures; returns (completion, attempts used).

        Each failed attempt is counted in ``faults`` by :func:`fault_kind`, so retries that end well
        still show in the build summary instead of vanishing inside the client.

        Raises ``_RequestFailed`` when retries run out or the endpoint rejects this request (4xx), and
        the fatal SDK errors (authentication, permission, unknown model) as they are.
        """
        client = self.openai
        for attempt in range(self.config.max_retries + 1):
            try:
                completion = client.post("/chat/completions", body=body, cast_to=ChatCompletion)
                if not getattr(completion, "choices", None):
                    raise NotACompletionError(f"response is not a chat completion: {str(completion)[:200]}")
                return completion, attempt + 1
            except FATAL_ERRORS:
                raise
            except Exception as exc:
                faults[fault_kind(exc)] += 1
                if is_unreachable(exc):  # a refused connection is not a busy server: waiting will not help
                    where = self.config.endpoint_label()
                    message = f"cannot connect to {where}: {one_line(root_cause(exc))}"
                    raise EndpointUnreachableError(message) from exc
                if not is_retryable(exc):
                    if isinstance(exc, openai.APIStatusError):  # 400 & co.: this request is wrong, not the run
                        kind = status_kind(exc.status_code)
                        raise _RequestFailed(one_line(exc), attempt + 1, kind) from exc
                    raise
                if attempt == self.config.max_retries:
                    message = f"gave up after {attempt + 1} attempts: {one_line(exc)}"
                    raise _RequestFailed(message, attempt + 1, ErrorKind.TRANSIENT) from exc
                delay = self._backoff_s(attempt, exc)
                logger.info(
                    "llm retry %d/%d in %.2fs: %s",
                    attempt + 1,
                    self.config.max_retries,
                    delay,
                    one_line(exc),
                )
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _backoff_s(self, attempt: int, exc: BaseException) -> float:
        retry_after = retry_after_s(exc)
        if retry_after is not None:
            return min(retry_after, self.config.backoff_max_s)
        ceiling = min(self.config.backoff_max_s, self.config.backoff_base_s * 2**attempt)
        return random.uniform(0.0, ceiling)  # full jitter spreads concurrent retries apart

    @staticmethod
    def _read(completion: ChatCompletion, estimated_input: int) -> tuple[str | None, Usage]:
        message = completion.choices[0].message
        text = message.content
        usage = completion.usage
        if usage is None:  # some servers omit usage: bill the estimate rather than nothing
            return text, Usage(estimated_input, max(1, len(text or "") // 4))
        return text, Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0)
