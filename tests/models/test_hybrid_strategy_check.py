"""HybridVideoQA.from_pretrained checks its strategy first, by the picker's one rule (STRATEGIES), before any
checkpoint is looked at: predict's qwen-vl-utils --frames rule is a row of FRAME_RULES but no strategy."""

from __future__ import annotations

import pytest

from videoespresso_hf.frame_rules import FRAME_RULES, STRATEGIES
from videoespresso_hf.models.hybrid import CoreFramePicker, HybridVideoQA


@pytest.mark.parametrize("strategy", ["qwen_vl_utils", "nope"])
def test_a_strategy_that_is_none_is_refused_before_any_model_loads(strategy, tmp_path):
    missing = tmp_path / "no-such-reasoner"
    with pytest.raises(ValueError, match=rf"^unknown strategy '{strategy}'; choose one of {', '.join(STRATEGIES)}$"):
        HybridVideoQA.from_pretrained(missing, selector=tmp_path / "no-such-selector", strategy=strategy)
    # The same one-line refusal as the picker's (one rule for both).
    with pytest.raises(ValueError, match=rf"^unknown strategy '{strategy}'"):
        CoreFramePicker(strategy=strategy)
    assert "qwen_vl_utils" in FRAME_RULES and "qwen_vl_utils" not in STRATEGIES


def test_a_known_strategy_goes_on_to_load_and_names_the_path(tmp_path):
    missing = tmp_path / "no-such-reasoner"
    with pytest.raises((OSError, ValueError)) as error:
        HybridVideoQA.from_pretrained(missing, strategy="uniform")
    assert "unknown strategy" not in str(error.value)
