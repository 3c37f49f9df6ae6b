"""The robust answer-letter rule set: which option letter a model's free-form output names.

One rule set for the whole project: the scorer's robust protocol
(:func:`videoespresso_hf.evaluation.extraction.extract_robust`) and the letter the reasoner / hybrid report
(``TwoStageOutput.letter``, ``HybridAnswer.letter``) both call :func:`extract_robust` here. This module is a
leaf (standard library only) so that ``evaluation`` and ``models`` may both import it; the reasoner reaches
it as the sibling ``models/reasoner/answer_letters.py`` (a link to this file), which ``save_pretrained``
copies next to the weights for ``trust_remote_code=True``.

Rules, in order of precedence (the first rule that decides wins); ``letters`` are the option letters
(default ``"ABCD"``):

1. ``<think>…</think>`` reasoning is removed; if a closing ``</think>`` is present, only the text after
   the last one is read. An unclosed ``<think>`` with nothing after it is unanswered.
2. **Bare letter**: the whole output is one letter, optionally wrapped or punctuated — ``B``, ``(B)``,
   ``B.``, ``b)``, ``[C]``, ``**D**``; lower case accepted.
3. **Answer phrase**: "answer is (B)", "Answer: B", "final answer: b", "the correct option is D", "I
   choose C", "option B is correct"… (case-insensitive; lower-case letters accepted here when they end a
   clause, so "the answer is a dog" is no answer). If several phrases name letters, the *last* one wins
   (models state their final answer last).
4. **Leading marker**: the output starts with a marked letter — ``(B) the man…``, ``B. The man…``,
   ``B: …``, ``B) …``.
5. **Bracketed letters**: ``(C)`` anywhere. One distinct letter decides; several distinct letters make
   the output ambiguous.
6. **Option text**: the output repeats the text of exactly one option (after normalising case,
   punctuation and spaces; an option whose text is contained in another matched option is ignored).
   Several options → ambiguous.
7. **Standalone capital letter**: a letter as a word; ``A`` and ``I`` only when followed by punctuation or
   the end (so the article "A man…" and the pronoun "I think…" never count). One distinct letter decides;
   several → ambiguous.

Otherwise the output is *unanswered*. Ambiguous outputs are unanswered too: they are never guessed. The
returned :class:`Extraction` says which rule decided (``rule``).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LETTERS", "Extraction", "extract_robust", "normalise_text", "strip_think"]

LETTERS = "ABCD"

_THINK_CLOSED_RE = re.compile(r"^.*</think\s*>", re.DOTALL | re.IGNORECASE)
_THINK_OPEN_RE = re.compile(r"<think\s*>", re.IGNORECASE)
_WORD_LETTERS = "AI"  # capital letters that are also English words ("A man", "I think")


@dataclass(frozen=True)
class Extraction:
    """The letter an output names (``None`` when unanswered) and the rule that decided it."""

    letter: str | None
    rule: str

    @property
    def answered(self) -> bool:
        return self.letter is not None


def strip_think(text: str) -> str:
    """Drop ``<think>…</think>`` reasoning; an unclosed ``<think>`` leaves nothing to read."""
    if _THINK_CLOSED_RE.search(text):
        return _THINK_CLOSED_RE.sub("", text, count=1)
    if _THINK_OPEN_RE.search(text):
        return _THINK_OPEN_RE.split(text, maxsplit=1)[0]
    return text


_PUNCTUATION_TABLE = str.maketrans({char: " " for char in string.punctuation})


def normalise_text(text: str) -> str:
    """Lower-case, punctuation to spaces, single spaces: the form option texts are compared in."""
    return " ".join(text.lower().translate(_PUNCTUATION_TABLE).split())


@dataclass(frozen=True)
class _Patterns:
    bare: re.Pattern
    phrase: re.Pattern
    leading: re.Pattern
    bracketed: re.Pattern
    standalone: re.Pattern


@functools.cache
def _patterns(letters: str) -> _Patterns:
    if not letters.isalpha() or not letters.isupper():
        raise ValueError(f"option letters must be capital letters, got {letters!r}")
    upper, lower = f"[{letters}]", f"[{letters.lower()}]"
    both = f"[{letters}{letters.lower()}]"
    plain = "".join(letter for letter in letters if letter not in _WORD_LETTERS)
    words = "".join(letter for letter in letters if letter in _WORD_LETTERS)
    standalone = [f"([{plain}])" if plain else "(?!)", f"([{words}])(?=\\s*(?:[.,;:!?)\\]]|$))" if words else "(?!)"]
    return _Patterns(
        bare=re.compile(rf"^[\s*_`\"'(\[{{]*({both})[\s*_`\"')\]}}.:,;!]*$"),
        phrase=re.compile(
            rf"""(?i:
                (?:final\s+|correct\s+|right\s+|best\s+)?answer\s*(?:is|would\s+be|should\s+be|:|=|-)?\s*(?:option\s*)?
              | (?:correct|right|best)\s+(?:option|choice)\s*(?:is|would\s+be|:)?\s*
              | (?:I\s+(?:would\s+)?(?:choose|select|pick|go\s+with))\s*(?:option\s*)?
              | (?:option|choice)\s*(?=[(\[]?{both}[)\]]?\s+(?:is|would\s+be)\s+(?:the\s+)?(?:correct|right|best|answer))
            )
            [\s*_`"'(\[{{]*
            (?:({upper})(?![A-Za-z0-9])          # a capital letter
              |({lower})(?=[\s*_`"')\]}}]*(?:[.,;:!?)\]}}]|$)))  # lower case only when it ends a clause
            """,
            re.VERBOSE,
        ),
        leading=re.compile(rf"^[\s*_`\"']*(?:\(({both})\)|\[({both})\]|({upper})\s*[.:)])"),
        bracketed=re.compile(rf"[(\[]({upper})[)\]]"),
        standalone=re.compile(rf"(?<![A-Za-z0-9'’-])(?:{standalone[0]}|{standalone[1]})(?![A-Za-z0-9'’-])"),
    )


def _unique(letters: Sequence[str], rule: str) -> Extraction | None:
    distinct = sorted(set(letters))
    if not distinct:
        return None
    if len(distinct) == 1:
        return Extraction(distinct[0], rule)
    return Extraction(None, f"ambiguous:{rule}")


def _option_text_match(text: str, option_texts: Sequence[str], letters: str) -> Extraction | None:
    haystack = f" {normalise_text(text)} "
    matched = {
        letters[index]: needle
        for index, option in enumerate(option_texts[: len(letters)])
        if (needle := normalise_text(option)) and f" {needle} " in haystack
    }
    # An option whose text sits inside another matched option's text is not separate evidence.
    kept = [
        letter
        for letter, needle in matched.items()
        if not any(other != letter and needle in matched[other] for other in matched)
    ]
    return _unique(kept, "option_text")


def extract_robust(text: object, option_texts: Sequence[str] = (), letters: str = LETTERS) -> Extraction:
    """Extract the option letter named by ``text`` (see the module docstring for the rules).

    Args:
        text: the model's output.
        option_texts: the option texts without their ``(A):`` prefixes, in letter order; enables rule 6.
        letters: the option letters that count, in order (``"ABCD"``; the reasoner passes its own).
    """
    if not isinstance(text, str) or not text.strip():
        return Extraction(None, "empty")
    body = strip_think(text).strip()
    if not body:
        return Extraction(None, "empty_after_think")
    patterns = _patterns(letters)
    if match := patterns.bare.match(body):
        return Extraction(match.group(1).upper(), "bare_letter")
    phrases = patterns.phrase.findall(body)
    if phrases:
        return Extraction("".join(phrases[-1]).upper(), "answer_phrase")
    if match := patterns.leading.match(body):
        return Extraction(next(group for group in match.groups() if group).upper(), "leading_marker")
    for decided in (
        _unique(patterns.bracketed.findall(body), "bracketed_letter"),
        _option_text_match(body, option_texts, letters),
        _unique([a or b for a, b in patterns.standalone.findall(body)], "standalone_letter"),
    ):
        if decided is not None:
            return decided
    return Extraction(None, "no_option")
