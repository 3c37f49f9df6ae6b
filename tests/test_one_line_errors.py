"""Every failure the library reports is one line, even for errors without a message or with many lines."""

from __future__ import annotations

import re
from pathlib import Path

from videoespresso_hf.errors import LIMIT, first_line, one_line

SRC = Path(__file__).resolve().parents[1] / "src" / "videoespresso_hf"


def test_first_line_skips_blank_lines_and_names_an_error_without_message():
    assert (
        first_line(OSError("\n  no file named model.safetensors  \nTried: a, b, c"))
        == "no file named model.safetensors"
    )
    assert first_line(KeyError()) == "KeyError"  # str(KeyError()) == "": indexing its lines raised IndexError
    assert first_line(ValueError("   \n \n")) == "ValueError"


def test_one_line_prefixes_the_type_and_cuts_long_messages():
    assert one_line(TimeoutError()) == "TimeoutError"
    assert (
        one_line(RuntimeError("CUDA out of memory.\nTried to allocate 2 GiB"))
        == "RuntimeError: CUDA out of memory."
    )
    long = one_line(ValueError("x" * 1000))
    assert long == "ValueError: " + "x" * LIMIT


def test_no_module_takes_the_first_line_of_an_error_by_hand():
    # `str(error).splitlines()[0]` raises IndexError on an error without a message, inside an except block.
    by_hand = re.compile(r"str\(\w+\)(\.strip\(\))?\.splitlines\(\)\[0\]")
    found = [
        f"{path.relative_to(SRC)}:{number}"
        for path in SRC.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if by_hand.search(line)
    ]
    assert not found, f"use videoespresso_hf.errors.first_line: {found}"
