"""Configuration of the LLM client: endpoint, limits, retry policy, prices and budget.

The API key is deliberately *not* a field: only the name of the environment variable that holds it
is configuration, so dumping a config (to logs, run manifests or the cache) can never leak the key.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, FieldSerializationInfo, field_serializer

from videoespresso_hf.defaults import JUDGE_MODEL

# USD per 1M tokens (input, output) for standard (non-batch) requests, from the providers' public
# price pages at the time of writing. Matched by longest prefix, so dated snapshots such as
# dated snapshots use the "gpt-4o" row. Override or extend with ``LLMConfig.prices``.
DEFAULT_PRICES_PER_1M: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4-turbo": (10.00, 30.00),
    "o4-mini": (1.10, 4.40),
    "o3": (2.00, 8.00),
}

# The OpenAI Batch API bills half of the standard price.
BATCH_PRICE_FACTOR = 0.5

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

REDACTED = "***"

# ``model_dump(context=REDACT_SECRETS)``: the form of a config that is stored or shown (URLs redacted).
REDACT_SECRETS = {"redact_secrets": True}


def redact_url(url: str | None) -> str | None:
    """``url`` with its user-info, query values and fragment replaced by ``***``: the form to store or print.

    ``http://user:pass@host:8000/v1?key=abc`` becomes ``http://***@host:8000/v1?key=***``. Every query value
    goes (``?sig=``, ``?api-key=``, ``?code=``: no list of secret names can be complete); the scheme, host,
    port and path stay, which is what a reader needs to see where requests go. Not a URL: returned as is.
    """
    if not url:
        return url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(name, REDACTED) for name, _ in pairs], safe="*") if pairs else REDACTED
        fragment = REDACTED if parts.fragment else ""
        return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))
    except ValueError:  # e.g. an unbalanced "[" in the host: show nothing of it rather than all of it
        return REDACTED


class UnknownPriceError(ValueError):
    """A budget was set but the model has no price: the cap could not be enforced."""


class LLMConfig(BaseModel):
    """Everything that decides how requests are sent and billed.

    Args:
        model: model id sent to the endpoint (default ``defaults.JUDGE_MODEL``, or a vLLM-served HF id).
        base_url: OpenAI-compatible endpoint, e.g. ``"http://127.0.0.1:8000/v1"``. ``None`` uses
            ``$OPENAI_BASE_URL`` or OpenAI itself.
        api_key_env: name of the environment variable read (once, at client construction) for the key.
        max_concurrency: requests in flight at once in ``LLMClient.map``.
        max_retries: extra attempts after a transient failure (429, 5xx, timeout, connection error).
        max_parse_attempts: attempts per request when the answer is not valid JSON for the schema.
        timeout_s: per-request HTTP timeout.
        backoff_base_s / backoff_max_s: exponential backoff ``base * 2**attempt`` (full jitter), capped;
            a server ``Retry-After`` header wins when present (also capped).
        temperature / max_tokens: sampling parameters sent with every request (overridable per call).
        prices: USD per 1M (input, output) tokens, merged over ``DEFAULT_PRICES_PER_1M``.
        budget_usd: hard cap on paid spend recorded in the ledger; a call that could exceed it is refused.
        estimated_output_tokens: output tokens assumed for budget checks and dry runs when
            ``max_tokens`` is not set.
        cache_path: SQLite file for the response cache, the ledger and batch state (``None``: in memory).
        retry_failures: whether a request recorded as failed by an earlier run is sent again (default);
            ``False`` returns the recorded failure without paying for it again.
        batch_poll_interval_s: seconds between ``batches.retrieve`` polls in batch mode.
    """

    model_config = ConfigDict(extra="forbid")

    model: str = JUDGE_MODEL
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    max_concurrency: int = Field(default=8, ge=1)
    max_retries: int = Field(default=5, ge=0)
    max_parse_attempts: int = Field(default=3, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    temperature: float | None = 0.0
    max_tokens: int | None = None
    prices: dict[str, tuple[float, float]] = Field(default_factory=dict)
    budget_usd: float | None = Field(default=None, ge=0)
    estimated_output_tokens: int = Field(default=256, ge=0)
    cache_path: Path | None = None
    retry_failures: bool = True
    batch_poll_interval_s: float = Field(default=30.0, ge=0)

    @field_serializer("base_url")
    def _stored_base_url(self, base_url: str | None, info: FieldSerializationInfo) -> str | None:
        """Credentials in the URL never reach a file or a screen: dumps made with ``context=REDACT_SECRETS``
        (every stored or printed config) carry :func:`redact_url`'s form."""
        context = info.context or {}
        return redact_url(base_url) if context.get("redact_secrets") else base_url

    def resolved_base_url(self) -> str | None:
        return self.base_url or os.environ.get("OPENAI_BASE_URL") or None

    def endpoint_label(self) -> str:
        """Where requests go, safe to print: the redacted endpoint URL, or "the OpenAI API"."""
        return redact_url(self.resolved_base_url()) or "the OpenAI API"

    def key_destination(self) -> str:
        """Which environment variable's value goes to which host, in one line (``--print-config``, dry runs)."""
        where = self.endpoint_label()
        if os.environ.get(self.api_key_env):
            return f"API key: ${self.api_key_env} is sent to {where}"
        if self.is_loopback():
            return f"API key: ${self.api_key_env} is unset; {where} (loopback) gets a placeholder key"
        return f"API key: ${self.api_key_env} is unset (requests to {where} would be refused)"

    def is_loopback(self) -> bool:
        url = self.resolved_base_url()
        return bool(url) and urlparse(url).hostname in _LOOPBACK_HOSTS

    def price_per_1m(self) -> tuple[float, float] | None:
        """(input, output) USD per 1M tokens for ``model``, by longest matching prefix, or None."""
        table = {**DEFAULT_PRICES_PER_1M, **self.prices}
        if self.model in table:
            return table[self.model]
        matches = [name for name in table if self.model.startswith(name)]
        return table[max(matches, key=len)] if matches else None

    def cost_usd(self, input_tokens: int, output_tokens: int, *, batch: bool = False) -> float:
        """Cost of one call; 0 for a model without a price (local vLLM servers are free)."""
        price = self.price_per_1m()
        if price is None:
            return 0.0
        cost = (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
        return cost * BATCH_PRICE_FACTOR if batch else cost
