"""Pure helpers: image data URLs, chat messages, token estimates and the ledger."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from videoespresso_hf.llm import Ledger, LLMConfig, estimate_input_tokens, image_to_data_url, user_message
from videoespresso_hf.llm.messages import data_url_to_image
from videoespresso_hf.llm.request import LLMRequest, parse_answer, request_key

from ._helpers import Caption, solid_frame


def test_image_to_data_url_round_trip_png_is_lossless():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    url = image_to_data_url(frame, format="png")
    assert url.startswith("data:image/png;base64,")
    assert np.array_equal(np.asarray(data_url_to_image(url)), frame)


def test_image_to_data_url_accepts_chw_float_and_pil_and_downscales():
    chw = np.full((3, 40, 80), 0.5, dtype=np.float32)
    decoded = data_url_to_image(image_to_data_url(chw, max_side=20))
    assert decoded.size == (20, 10)
    assert abs(int(np.asarray(decoded)[5, 5, 0]) - 127) <= 2
    pil = Image.new("RGBA", (8, 8), (255, 0, 0, 255))
    assert data_url_to_image(image_to_data_url(pil)).mode == "RGB"
    with pytest.raises(ValueError, match="data URL"):
        image_to_data_url("/tmp/frame.jpg")


def test_user_message_layout():
    message = user_message("what colour?", [solid_frame("red")], detail="high")
    assert message["role"] == "user"
    assert [part["type"] for part in message["content"]] == ["text", "image_url"]
    assert message["content"][1]["image_url"]["detail"] == "high"
    assert user_message("only text") == {"role": "user", "content": "only text"}
    first = user_message("q", [solid_frame("red")], images_first=True)
    assert [part["type"] for part in first["content"]] == ["image_url", "text"]


def test_token_estimates_follow_the_documented_rule():
    assert estimate_input_tokens([{"role": "user", "content": "x" * 40}]) == 4 + 10
    low = user_message("", [solid_frame("red", 512)], detail="low")
    assert estimate_input_tokens([low]) == 4 + 85
    # high detail, 1024x1024 -> scaled to 768x768 -> 2x2 tiles of 512 -> 85 + 4 * 170
    high = user_message("", [np.zeros((1024, 1024, 3), np.uint8)], detail="high", max_side=None)
    assert estimate_input_tokens([high]) == 4 + 85 + 4 * 170


def test_cache_key_depends_on_model_prompt_version_inputs_and_schema():
    config = LLMConfig(model="gpt-4o")
    base = LLMRequest([user_message("a")], "v1", response_model=Caption)
    key = request_key(base, config)
    assert key == request_key(LLMRequest([user_message("a")], "v1", response_model=Caption), config)
    assert key != request_key(LLMRequest([user_message("b")], "v1", response_model=Caption), config)
    assert key != request_key(LLMRequest([user_message("a")], "v2", response_model=Caption), config)
    assert key != request_key(LLMRequest([user_message("a")], "v1"), config)
    assert key != request_key(base, LLMConfig(model="gpt-4o-mini"))
    assert key != request_key(
        LLMRequest([user_message("a")], "v1", response_model=Caption, params={"seed": 1}), config
    )
    # The stage is bookkeeping only: the same question under another label is the same answer.
    assert key == request_key(LLMRequest([user_message("a")], "v1", "judge", Caption), config)


def test_parse_answer_classifies_errors():
    assert parse_answer('{"caption": "x", "objects": []}', Caption)[0] == Caption(caption="x", objects=[])
    assert parse_answer('{"caption": ', Caption)[1].startswith("malformed JSON")
    assert parse_answer('{"caption": "x"}', Caption)[1] == "schema violation: objects: Field required"
    assert parse_answer(None, Caption)[1] == "empty answer"


def test_prices_longest_prefix_and_batch_discount():
    config = LLMConfig(model="gpt-4o-mini-2024-07-18")
    assert config.price_per_1m() == (0.15, 0.60)
    assert LLMConfig(model="gpt-4o-2024-08-06").price_per_1m() == (2.50, 10.00)
    assert config.cost_usd(1_000_000, 1_000_000) == pytest.approx(0.75)
    assert config.cost_usd(1_000_000, 1_000_000, batch=True) == pytest.approx(0.375)
    assert LLMConfig(model="Qwen/Qwen2.5-VL-7B-Instruct").cost_usd(10**6, 10**6) == 0.0


def test_ledger_summary_per_stage(tmp_path):
    ledger = Ledger(LLMConfig(model="gpt-4o"), tmp_path / "ledger.sqlite")
    ledger.record(key="a", stage="caption", prompt_version="v1", input_tokens=1000, output_tokens=100)
    ledger.record(key="a", stage="caption", prompt_version="v1", cached=True)
    ledger.record(
        key="b", stage="judge", prompt_version="v1", input_tokens=10, output_tokens=1, ok=False, batch=True
    )
    summary = ledger.summary()
    assert summary["caption"].calls == 2 and summary["caption"].cached_calls == 1
    assert summary["caption"].cost_usd == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)
    assert summary["judge"].failed_calls == 1
    assert summary["judge"].cost_usd == pytest.approx((10 * 2.5 + 1 * 10) / 2e6)
    assert "caption" in ledger.format_summary() and ledger.paid_calls() == 2
