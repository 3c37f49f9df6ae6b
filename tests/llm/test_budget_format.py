"""Budgets and costs print with enough digits to be read (tiny test budgets are fractions of a cent)."""

from __future__ import annotations

import pytest

from videoespresso_hf.llm import Ledger, LLMConfig
from videoespresso_hf.llm.ledger import BudgetExceededError, format_usd


def test_tiny_budgets_print_with_significant_digits(tmp_path):
    ledger = Ledger(LLMConfig(model="gpt-4o", budget_usd=0.000001), tmp_path / "ledger.sqlite")
    with pytest.raises(BudgetExceededError, match=r"budget \$0\.00000100 would be exceeded") as error:
        ledger.reserve(0.0000123)
    assert "~$0.0000123 for the next call" in str(error.value)
    assert format_usd(12.5) == "$12.5000" and format_usd(0) == "$0.0000" and format_usd(0.0123) == "$0.0123"
