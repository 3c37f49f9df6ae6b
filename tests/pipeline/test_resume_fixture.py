"""A build made by an earlier version of the pipeline resumes with the current code: nothing recomputed,
nothing paid again, the same dataset. The fixture (``fixtures/resume_v1``, see its README) is a finished
build folder with its state, response cache and ``build_config.json`` as that version wrote them.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from doubles.construction_responder import construction_responder
from doubles.openai_server import OpenAICompatibleServer

from videoespresso_hf.cli.main import main
from videoespresso_hf.pipeline.stages.base import clear_process_resources

FIXTURE = Path(__file__).parent / "fixtures" / "resume_v1"
OUTPUTS = (
    "frames.jsonl",
    "groups.jsonl",
    "generated/train.jsonl",
    "generated/test.jsonl",
    "generated/dropped.jsonl",
    "generated/manifest.json",
    "generated/README.md",
)
PER_VIDEO_STAGES = 9  # frames ... distractors, as the fixture's build ran them


@pytest.fixture
def old_build(tmp_path):
    root = tmp_path / "fixture"
    shutil.copytree(FIXTURE, root)
    origin = json.loads((root / "origin.json").read_text())
    expected = {name: (root / "build" / name).read_text() for name in OUTPUTS}
    yield root, origin, expected
    clear_process_resources()


def _normalised(text: str, root: Path, origin_root: str) -> str:
    # Row images point at this copy's generated/ folder; everything else still names the original paths.
    return text.replace(str(root), origin_root)


@pytest.mark.parametrize("forget", [None, "distractors"], ids=["finished", "last-stage-forgotten"])
def test_an_old_build_resumes_with_no_new_request_and_the_same_dataset(old_build, forget, capsys):
    root, origin, expected = old_build
    out = root / "build"
    if forget is not None:
        # The last per-video stage then runs again on the old code's records (answers come from its cache).
        with sqlite3.connect(out / "state.sqlite") as conn:
            conn.execute("DELETE FROM stage_results WHERE stage=?", (forget,))
    videos = sorted(str(path) for path in (root / "videos").glob("*.mp4"))
    with OpenAICompatibleServer(responder=construction_responder) as server:
        code = main(["build", *videos, "--out", str(out), "--base-url", server.base_url, "--no-progress"])
        sent = server.counts()
    printed = capsys.readouterr()
    assert code == 0, printed.err[-2000:]
    # A stage that runs again checks the endpoint once (GET /v1/models, free); nothing paid is sent.
    assert sent == ({"GET /v1/models": 1} if forget else {}), f"requests were sent again: {sent}"
    assert printed.out.rstrip().endswith(f"load it with: datasets.load_dataset({str(out / 'generated')!r})")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["videos_ok"] == origin["videos_ok"] == 2
    per_video = summary["stages"][:PER_VIDEO_STAGES]
    assert sum(stage["reused"] for stage in per_video) == 2 * PER_VIDEO_STAGES - (2 if forget else 0)
    assert sum(stage["executed"] for stage in per_video) == (2 if forget else 0)
    for name in OUTPUTS:
        written = _normalised((out / name).read_text(), root, origin["root"])
        if name == "generated/README.md":
            # The card is re-rendered at no cost; cards now also carry a digest of the data files (so that
            # `datasets` never serves a stale cache of a same-named folder). Everything else is unchanged.
            assert "Content sha256: " in written
            written = "\n".join(line for line in written.split("\n") if "Content sha256: " not in line)
        assert written == expected[name], name
