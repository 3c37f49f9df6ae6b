"""``build_config.json`` and ``summary.json`` are replaced whole or not at all: a disk that fills up (or a
kill) while one is written leaves the previous version readable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from videoespresso_hf.pipeline.config import BuildConfig
from videoespresso_hf.pipeline.orchestrator import run_build


@pytest.fixture
def disk_fills_up(monkeypatch):
    """From now on, writing a JSON file stops half-way with ENOSPC."""
    real_write_text = Path.write_text

    def write_half(self, data, *args, **kwargs):
        if ".json" in self.name:
            real_write_text(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(28, "No space left on device")
        return real_write_text(self, data, *args, **kwargs)

    def start():
        monkeypatch.setattr(Path, "write_text", write_half)

    return start


def test_a_failed_write_keeps_the_previous_config_and_summary(tmp_path, colour_videos, make_config, disk_fills_up):
    out = tmp_path / "out"
    videos = list(colour_videos.values())
    run_build(videos, out, make_config(), until="frames", workers=1, progress=False)
    before = {name: (out / name).read_text() for name in ("build_config.json", "summary.json")}

    disk_fills_up()
    with pytest.raises(OSError, match="No space left"):
        BuildConfig(groups={"size": 7}).save(out / "build_config.json")
    with pytest.raises(OSError, match="No space left"):
        run_build(videos, out, make_config(), until="frames", workers=1, progress=False)
    after = {name: (out / name).read_text() for name in before}
    assert after == before and all(json.loads(text) for text in after.values())
