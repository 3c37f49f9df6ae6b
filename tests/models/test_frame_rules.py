"""The one frame-rule table (``frame_rules.FRAME_RULES``, re-exported by ``models.strategies``): predict's
``--frames`` and ``select``'s ``--strategy`` accept exactly its rule names, each row names a selection
function of ``models.strategies``, and a rule's settings reach the hybrid backend."""

from __future__ import annotations

import subprocess
import sys

import pytest

from videoespresso_hf import frame_rules
from videoespresso_hf.cli.main import build_parser
from videoespresso_hf.frame_rules import (
    FRAME_RULES,
    STRATEGIES,
    FrameRule,
    FrameRuleKind,
    frames_rule_names,
    parse_frame_rule,
)
from videoespresso_hf.models import strategies


def _table(monkeypatch, *, add: FrameRuleKind, remove: str) -> None:
    """Replace the table by a copy with one row more and one less (rows keep their order)."""
    rows = {name: row for name, row in FRAME_RULES.items() if name != remove}
    monkeypatch.setattr(frame_rules, "FRAME_RULES", {**rows, add.strategy: add})


def _strategy_action():
    select = build_parser()._subparsers._group_actions[0].choices["select"]
    return next(action for action in select._actions if "--strategy" in action.option_strings)


def test_predict_frames_names_come_from_the_table(monkeypatch):
    assert frames_rule_names() == ("uniform", "fps", "shots", "qwen-vl-utils", "selector")
    every = FrameRuleKind("every", "uniform_selection", frames_name="every", frames_usage="every:N",
                          parse=lambda text, name, value: FrameRule("uniform", count=int(value)))  # fmt: skip
    _table(monkeypatch, add=every, remove="shots")
    assert parse_frame_rule("every:7").count == 7  # a new row is a new --frames rule
    qwen = r"qwen-vl-utils:nframes=N\|fps=X\[,min_frames=N\]\[,max_frames=N\]"
    with pytest.raises(ValueError, match=rf"'shots:3': use uniform:N, fps:X\[:N\], {qwen}, every:N or selector:PATH$"):
        parse_frame_rule("shots:3")  # a removed row is refused, and the usage lists the table's rows


def test_select_strategy_names_come_from_the_table(monkeypatch):
    action = _strategy_action()
    assert action.choices is STRATEGIES
    assert tuple(name for name, row in FRAME_RULES.items() if not row.frames_only) == STRATEGIES
    assert STRATEGIES == ("model", "uniform", "fps", "shots", "embedding", "image_text")
    assert FRAME_RULES["qwen_vl_utils"].frames_only  # lmms-eval's input rule: a --frames rule, not a strategy
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["select", "clip.mp4", "-q", "why?", "--strategy", "every"])
    assert exit_info.value.code == 2


def test_every_row_names_a_selection_function_of_the_strategies_module():
    for name, row in FRAME_RULES.items():
        assert strategies.selection_function(name) is getattr(strategies, row.function)
        assert strategies.selection_function(name).__name__ == row.function
    assert strategies.FRAME_RULES is FRAME_RULES  # re-exported, not copied


def test_the_table_loads_without_torch():
    """``predict`` parses ``--frames`` and every command's parser lists ``--strategy`` before any model library
    loads, so a bad value (or a missing path) is refused in a second; ``score`` never pays for torch."""
    code = ("import sys; from videoespresso_hf.cli.main import build_parser; build_parser(); "
            "from videoespresso_hf.benchmarking.frames import parse_frame_rule; parse_frame_rule('shots:3'); "
            "print('torch' in sys.modules)")  # fmt: skip
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


@pytest.mark.parametrize(
    ("spec", "settings"),
    [
        ("uniform:8", {"max_core_frames": 8}),
        ("shots", {"max_core_frames": 16}),
        ("fps:2", {"candidate_fps": 2.0, "max_core_frames": 128}),
        ("fps:2:5", {"candidate_fps": 2.0, "max_core_frames": 5}),  # the cap N reaches the hybrid too
        ("selector:some/selector", {}),
    ],
)
def test_a_rule_maps_onto_the_hybrid(spec, settings):
    rule = parse_frame_rule(spec)
    assert rule.hybrid_settings() == settings
    assert rule.strategy == ("model" if rule.kind == "selector" else rule.kind)
