"""The question prompts of a prediction run: versioned template files, rendered one way for every backend.

``multiple_choice.official`` is the authors' ``eval/close_ended.py`` query, whitespace included: the
options are re-labelled ``(A) text`` one per line after a newline (``"\\n(A) x\\n(B) y\\n…(D) w\\n"``) and
the task name is part of the prompt, as on the leaderboard. ``open_ended.v1`` asks the same question
without options (``--open-ended``) for the LLM judge.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources

__all__ = ["MULTIPLE_CHOICE_PROMPT", "OPEN_ENDED_PROMPT", "render_prompt", "template_text"]

MULTIPLE_CHOICE_PROMPT = "multiple_choice.official"
OPEN_ENDED_PROMPT = "open_ended.v1"
_LETTERS = "ABCD"


@cache
def template_text(name: str) -> str:
    """The text of ``prompts/<name>.txt`` (recorded verbatim in the sidecar)."""
    return (resources.files("videoespresso_hf.benchmarking") / "prompts" / f"{name}.txt").read_text(encoding="utf-8")


def _official_options(options: Sequence[str]) -> str:
    # eval/close_ended.py: option_list = ["\n(A) ", "(B) ", "(C) ", "(D) "], each followed by the text and "\n".
    prefixes = ["\n(A) ", *(f"({letter}) " for letter in _LETTERS[1:])]
    return "".join(f"{prefix}{text.strip()}\n" for prefix, text in zip(prefixes, options, strict=False))


def render_prompt(name: str, *, task: str, question: str, options: Sequence[str] = ()) -> str:
    """The user text for one item under the template ``name``."""
    return template_text(name).format(task=task, question=question, options=_official_options(options))
