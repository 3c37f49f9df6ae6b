"""The one OpenAI-compatible LLM/VLM client of videoespresso_hf.

Typical use::

    from videoespresso_hf.llm import LLMClient, LLMConfig, LLMRequest, user_message

    client = LLMClient(LLMConfig(model="gpt-4o-mini", cache_path="work/llm.sqlite", budget_usd=5))
    requests = [LLMRequest([user_message("Describe the frames.", frames)], prompt_version="caption-v1",
                           stage="caption", response_model=Caption) for frames in clips]
    print(client.estimate(requests))          # dry run: no HTTP
    results = client.map(requests)            # cached, retried, bounded, in input order
    print(client.ledger.format_summary())

Batch mode (OpenAI Batch API, half price, resumable): :class:`videoespresso_hf.llm.batch.BatchRunner`.
"""

from videoespresso_hf.llm.batch import BatchRunner
from videoespresso_hf.llm.cache import CacheEntry, ResponseCache
from videoespresso_hf.llm.client import FATAL_ERRORS, EndpointUnreachableError, LLMClient, MissingAPIKeyError
from videoespresso_hf.llm.config import (
    DEFAULT_PRICES_PER_1M,
    REDACT_SECRETS,
    LLMConfig,
    UnknownPriceError,
    redact_url,
)
from videoespresso_hf.llm.ledger import BudgetExceededError, CostEstimate, Ledger, estimate_input_tokens
from videoespresso_hf.llm.messages import (
    assistant_message,
    image_part,
    image_to_data_url,
    system_message,
    text_part,
    user_message,
)
from videoespresso_hf.llm.request import ErrorKind, LLMRequest, LLMResult, Usage, request_key

__all__ = [
    "DEFAULT_PRICES_PER_1M",
    "FATAL_ERRORS",
    "REDACT_SECRETS",
    "BatchRunner",
    "BudgetExceededError",
    "CacheEntry",
    "CostEstimate",
    "EndpointUnreachableError",
    "ErrorKind",
    "LLMClient",
    "LLMConfig",
    "LLMRequest",
    "LLMResult",
    "Ledger",
    "MissingAPIKeyError",
    "ResponseCache",
    "UnknownPriceError",
    "Usage",
    "assistant_message",
    "estimate_input_tokens",
    "image_part",
    "image_to_data_url",
    "redact_url",
    "request_key",
    "system_message",
    "text_part",
    "user_message",
]
