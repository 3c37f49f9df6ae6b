"""The RL stage under the faults and scales SFT already survives (issue 20 item 7), and the verl reward file's
agreement with the rewards the trainer uses (item 6).

* two CPU processes under ``accelerate launch`` with the shipped ``multi_gpu`` config (gloo DDP);
* a ``kill -9`` mid-run, then the same command: it resumes from the last checkpoint without redoing steps;
* ``--push-to-hub`` (to a recording fake of the Hub API, as the SFT push test does) with a card that says what
  RL trained: base, SFT parent, rewards and weights, G, beta, lr, reasoning mode;
* rows whose video is missing or whose core frame is past the clip's end are skipped, named in the log, and
  the run finishes;
* ``integrations/verl_reward.py``, loaded by path as verl loads it, scores a table of hand-written completions
  as ``training/rewards.py`` does, component by component, and the places where it cannot (by design) say why.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from training.conftest import BAD_IDS, GOOD_IDS

from videoespresso_hf.training import rewards

VERL_FILE = Path(__file__).resolve().parents[2] / "src" / "videoespresso_hf" / "integrations" / "verl_reward.py"


# --------------------------------------------------------------------------------------------------------------
# The verl reward file against training/rewards.py


def _load_verl_file():
    """As verl's ``custom_reward_function.path`` does: a module from a file path, outside any package."""
    spec = importlib.util.spec_from_file_location("custom_module", VERL_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


T = "<think>{}</think><answer>{}</answer>"
# Rows: (answer, multiple choice, options, key-frame times, boxes as 0-1 corners, the box grid the model writes in)
MC = ("B", True, ["a cup", "a pot", "a pan"], [1.0, 4.0], [[0.1, 0.1, 0.5, 0.5]], 1000.0)
FREE = ("A red cup falls off the table.", False, [], [2.0, 6.5], [[0.2, 0.3, 0.6, 0.9], [0.5, 0.5, 0.7, 0.7]], 1000.0)
NO_BOXES = ("B", True, ["x", "y"], [3.0], [], 1000.0)
NO_TIMES = ("A cup.", False, [], [], [], 1000.0)
PIXELS = ("C", True, ["x", "y", "z"], [0.5], [[0.25, 0.25, 0.75, 0.75]], 448.0)  # Qwen2.5-VL: a square resized input
COUNT = ("5", False, [], [1.0], [], 1000.0)  # a free-form counting answer of one character
TABLE = [
    ("mc right, grounded", MC, T.format("The <obj_start>cup<obj_end><box_start>[100, 100, 500, 500]<box_end> at <t>1.2</t>s.", "B")),
    ("mc right letter forms", MC, T.format("x", "(B) a pot")),
    ("mc wrong letter", MC, T.format("x", "C")),
    ("mc lower-case letter", MC, T.format("x", "b")),
    ("mc two boxes one time", MC, T.format("<obj_start>cup<obj_end><box_start>[[100,100,500,500],[0,0,50,50]]<box_end> at <t>3.9</t>s", "B")),
    ("mc box far from any key time", MC, T.format("<obj_start>cup<obj_end><box_start>[100, 100, 500, 500]<box_end> at <t>9</t>s", "B")),
    ("mc box with no time", MC, T.format("<obj_start>cup<obj_end><box_start>[100, 100, 500, 500]<box_end>", "B")),
    ("mc time before box", MC, T.format("at <t>0.5</t>s the <obj_start>cup<obj_end><box_start>[120, 90, 480, 510]<box_end>", "B")),
    ("free-form partial", FREE, T.format("<obj_start>cup<obj_end><box_start>[200,300,600,900]<box_end> at <t>2.5</t>s then <t>7</t>", "a cup falls")),
    ("free-form exact", FREE, T.format("ok", "A red cup falls off the table.")),
    ("free-form nothing shared", FREE, T.format("ok", "blue")),
    ("free-form many times", FREE, T.format("<t>0</t> <t>2</t> <t>4.25</t> <t>-1</t> <t>30</t>", "red cup")),
    ("missing answer tag", FREE, "<think>the cup at <t>2</t>s</think> red cup"),
    ("missing think tag", MC, "<answer>B</answer>"),
    ("text after the answer", MC, T.format("<obj_start>a<obj_end><box_start>[1,2,3,4]<box_end><t>1</t>", "B") + " extra"),
    ("malformed box and time", MC, T.format("<obj_start>cup<obj_end><box_start>[1, 2, 3]<box_end> at <t>abc</t>s", "B")),
    ("unclosed tags", MC, "<think>the <obj_start>cup<box_start>[1,2,3,4] <t>1</t>"),
    ("empty completion", FREE, ""),
    ("row without boxes", NO_BOXES, T.format("<obj_start>x<obj_end><box_start>[1, 2, 3, 4]<box_end> at <t>3</t>s", "B")),
    ("row without times", NO_TIMES, T.format("<obj_start>cup<obj_end><box_start>[1, 2, 3, 4]<box_end> at <t>3</t>s", "a cup")),
    ("pixels of a square input", PIXELS, T.format("<obj_start>x<obj_end><box_start>[112, 112, 336, 336]<box_end> at <t>0.9</t>s", "C")),
    ("free-form one-character answer", COUNT, T.format("three then two: <t>1</t>", "5")),
]  # fmt: skip


def _ours(row, completion: str, trainer_state=None) -> dict[str, float | None]:
    """training/rewards.py on one completion, with the columns grpo.RLRowBuilder writes for such a row."""
    answer, choice, _, times, boxes, scale = row
    # The release ties boxes to key objects, not to one key frame: each box is on every key frame (grpo._frame_boxes).
    grounding = {"key_times": times, "key_boxes": [boxes for _ in times], "box_scale": [scale, scale]} if times else None
    columns = {"prompts": [None], "completions": [[{"role": "assistant", "content": completion}]],
               "reference_answer": [answer], "multiple_choice": [choice], "grounding": [grounding],
               "trainer_state": trainer_state}  # fmt: skip
    return {function.__name__: function(**columns)[0] for function in rewards.REWARD_FUNCTIONS}


def _verl(module, row, completion: str, **settings) -> dict[str, float]:
    """verl's call: ``compute_score(data_source, solution_str, ground_truth, extra_info)`` on the export's columns."""
    answer, _, options, times, boxes, scale = row
    extra = {"options": options, "keyframe_times": times, "boxes": [{"label": "obj", "box": box} for box in boxes]}
    return module.compute_score("videoespresso/train_video", completion, answer, extra, box_scale=scale, **settings)


def _same(ours: dict[str, float | None], theirs: dict[str, float]) -> list[str]:
    """The components that differ; a ``None`` of ours is verl's 0 with ``<name>_scored`` 0 (verl wants numbers)."""
    different = []
    for name in rewards.REWARD_NAMES:
        if ours[name] is None:
            if theirs[f"{name}_scored"] != 0.0 or theirs[name] != 0.0:
                different.append(name)
        elif theirs[f"{name}_scored"] != 1.0 or abs(theirs[name] - ours[name]) > 1e-9:
            different.append(name)
    return different


@pytest.mark.parametrize(("case", "row", "completion"), TABLE, ids=[case for case, *_ in TABLE])
def test_verl_reward_file_scores_each_component_as_the_trainer(case, row, completion):
    module = _load_verl_file()
    # No training step reaches verl: its temporal sigma is fixed, by default at 1 s, the last value of the
    # trainer's shrinking schedule (which the trainer also uses without a state): equal there.
    assert _same(_ours(row, completion), _verl(module, row, completion)) == []
    assert _same(_ours(row, completion, SimpleNamespace(global_step=9, max_steps=10)), _verl(module, row, completion)) == []
    # Earlier in training the trainer's sigma is wider; given the same sigma, verl agrees.
    for step in (0, 3, 7):
        state = SimpleNamespace(global_step=step, max_steps=10)
        sigma = rewards.temporal_sigma(state)
        assert _same(_ours(row, completion, state), _verl(module, row, completion, sigma=sigma)) == [], (step, sigma)
    ours = _ours(row, completion)
    weighted = sum(value for value in ours.values() if value is not None)
    assert abs(_verl(module, row, completion)["score"] - weighted) < 1e-9  # equal weights: the sum of the scored ones


def test_the_table_scores_real_values():
    """The table is not all zeros and Nones: each reward takes values strictly between, at and above its bounds."""
    scores = {name: {_ours(row, completion)[name] for _, row, completion in TABLE} for name in rewards.REWARD_NAMES}
    for name in rewards.REWARD_NAMES:
        real = {value for value in scores[name] if value is not None}
        assert 0.0 in real and any(value > 0 for value in real), (name, scores[name])
    assert None in scores["temporal"] and None in scores["spatial"]
    assert any(0 < value < 1 for value in scores["answer"] if value is not None)  # ROUGE-L partial credit
    assert any(0 < value < 1 for value in scores["spatial"] if value is not None)
    assert 0.5 in scores["format"] and 1.0 in scores["format"]


def test_where_the_verl_file_differs_by_design():
    """What the verl export cannot carry, and so what its reward scores differently from the trainer's."""
    module = _load_verl_file()
    completion = T.format("<obj_start>cup<obj_end><box_start>[100, 100, 500, 500]<box_end> at <t>1</t>s", "B")
    # 1. Temporal: without the trainer's step, sigma is the fixed setting, not the schedule: at step 0 of 10 the
    #    trainer's sigma is 4 s, so a claim 3 s from a key frame scores higher there than verl's default 1 s.
    far = T.format("at <t>7</t>s", "B")
    early = _ours(MC, far, SimpleNamespace(global_step=0, max_steps=10))["temporal"]
    assert early == pytest.approx(math.exp(-9 / 32)) and _verl(module, MC, far)["temporal"] == pytest.approx(math.exp(-9 / 2))
    # 2. Spatial, boxes per key frame: the trainer knows which key frame a box is on (one box per frame of an object
    #    in the release); the export lists the row's boxes without a frame, so verl scores a claim against all of
    #    them. Here the claim at 1 s copies the 4-s frame's box: the trainer gives 0, verl 1.
    per_frame = {"key_times": [1.0, 4.0], "key_boxes": [[[0.0, 0.0, 0.1, 0.1]], [[0.1, 0.1, 0.5, 0.5]]], "box_scale": [1000, 1000]}
    trainer = rewards.spatial([None], [completion], grounding=[per_frame])[0]
    extra = {"options": MC[2], "keyframe_times": [1.0, 4.0], "boxes": [[0.0, 0.0, 0.1, 0.1], [0.1, 0.1, 0.5, 0.5]]}
    assert trainer == 0.0 and module.compute_score("v", completion, "B", extra)["spatial"] == 1.0
    # 3. Box grid: the trainer reads Qwen2.5-VL boxes on the resized input's (width, height); verl's box_scale is one
    #    number, so a non-square input's boxes are read on a square grid.
    wide = {"key_times": [1.0], "key_boxes": [[[0.25, 0.25, 0.75, 0.75]]], "box_scale": [448, 224]}
    pixel_box = T.format("<obj_start>x<obj_end><box_start>[112, 56, 336, 168]<box_end> at <t>1</t>s", "B")
    assert rewards.spatial([None], [pixel_box], grounding=[wide])[0] == pytest.approx(1.0)
    square = module.compute_score("v", pixel_box, "B", {"keyframe_times": [1.0], "boxes": [[0.25, 0.25, 0.75, 0.75]]},
                                  box_scale=448.0)["spatial"]  # fmt: skip
    assert square < 0.5
    # 4. Multiple choice: the trainer has the row's flag; verl infers it from extra_info's options (the export always
    #    writes them), or from a one-letter A-J ground truth when a caller passes none.
    assert module.compute_score("v", T.format("", "B"), "B", None)["answer"] == 1.0
    assert module.compute_score("v", T.format("", "5"), "5", None)["answer"] == 1.0  # free form: "5" is no letter
    assert module.compute_score("v", T.format("", "B"), "B", {"options": []})["answer"] == 1.0  # ROUGE of "B", "B"
