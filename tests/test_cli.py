"""The ``videoespresso`` entry point: its help names the real commands, and failures end in one line."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from videoespresso_hf.cli.main import ISSUES_URL, build_parser, main

SRC = Path(__file__).resolve().parents[1] / "src"


def test_help_summary_lists_exactly_the_registered_commands(capsys):
    parser = build_parser()
    registered = list(parser._subparsers._group_actions[0].choices)
    assert {"score", "data", "build", "answer", "env"} <= set(registered)
    assert parser.description.endswith(": " + ", ".join(registered) + ".")
    assert main([]) == 0
    printed = capsys.readouterr().out
    assert ", ".join(registered) in " ".join(printed.split()) and ISSUES_URL in printed


def test_env_says_where_to_report_bugs(capsys):
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    assert "- transformers: " in out and f"Report bugs at {ISSUES_URL}" in out


def _bench_predictions(path: Path) -> Path:
    from videoespresso_hf.demo.releases import BENCH_ITEMS, bench_record

    path.write_text(json.dumps([dict(bench_record(*item), model_output="B") for item in BENCH_ITEMS]))
    return path


def test_output_into_a_closed_pipe_exits_quietly(tmp_path):
    """`videoespresso score … | head`: the reader leaves early; no traceback, Python's usual status 1."""
    predictions = _bench_predictions(tmp_path / "predictions.json")
    code = (
        "import os, sys\n"
        "read_end, write_end = os.pipe(); os.close(read_end); os.dup2(write_end, 1)\n"
        "from videoespresso_hf.cli.main import main\n"
        f"sys.exit(main(['score', {str(predictions)!r}]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 1 and done.stderr == "", done.stderr


@pytest.mark.slow
def test_unloadable_embedding_model_is_one_line_naming_model_and_flag(tmp_path, capsys):
    """Offline (HF_HUB_OFFLINE=1 in conftest) and not cached: the similarity protocol cannot get BGE-M3."""
    predictions = _bench_predictions(tmp_path / "predictions.json")
    argv = ["score", str(predictions), "--protocol", "similarity", "--embedding-model", "BAAI/bge-m3"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    # Paths before the Hub (videoespresso_hf.locations): named with its flag, before any load is tried.
    assert err.startswith("videoespresso score: error: --embedding-model BAAI/bge-m3: no local file or folder of that name")
    assert "HF_HUB_OFFLINE=1" in err


def test_embedding_loader_error_names_the_model_and_is_still_an_oserror(tmp_path):
    from videoespresso_hf.embeddings import EmbeddingModelError, load_text_embedder

    missing = str(tmp_path / "no-such-embedder")
    with pytest.raises(OSError) as caught:
        load_text_embedder(missing)
    assert isinstance(caught.value, EmbeddingModelError)
    assert str(caught.value).startswith(f"cannot load the embedding model {missing}: ")
    assert "\n" not in str(caught.value)


def test_ray_address_without_a_cluster_is_one_line(tmp_path, capsys, monkeypatch):
    import ray._private.services as ray_services

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    # `auto` joins any Ray instance running on this machine (another test run's, say): hide those, so the
    # case under test, no cluster at all, is what Ray sees.
    monkeypatch.setattr(ray_services, "find_gcs_addresses", functools.cache(lambda: []))  # Ray clears its cache
    monkeypatch.setattr(ray_services, "find_bootstrap_address", lambda temp_dir: None)
    (tmp_path / "v.mp4").write_bytes(b"")  # an input that exists: the cluster is checked before any video is read
    argv = ["build", str(tmp_path / "v.mp4"), "--out", str(tmp_path / "out"), "--until", "frames",
            "--runner", "ray", "--ray-address", "auto"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("videoespresso build: error: no Ray cluster at --ray-address auto")
    assert "ray start --head" in err
