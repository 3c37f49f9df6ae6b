"""videoespresso_hf.locations: an ``org/name`` is looked up in the local Hub cache while offline, by one folder look."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import constants

from videoespresso_hf.locations import HubReferenceError, _in_cache, resolve_reference

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _cache_repo(hub: Path, repo_id: str, repo_type: str, filename: str) -> None:
    """One cached file of ``repo_id`` laid out as ``huggingface_hub`` lays it out: a blob, ``refs/main``, and the
    snapshot's link to the blob."""
    repo = hub / f"{repo_type}s--{repo_id.replace('/', '--')}"
    (repo / "blobs").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    blob = repo / "blobs" / "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    blob.write_text("{}")
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (snapshot / filename).symlink_to(blob)


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """An HF_HOME whose hub cache holds the model org/cached-model and the dataset org/cached-data (no config.json),
    with the Hub offline."""
    hub = tmp_path / "hf_home" / "hub"
    _cache_repo(hub, "org/cached-model", "model", "config.json")
    _cache_repo(hub, "org/cached-data", "dataset", "README.md")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setattr(constants, "HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return hub


CASES = [
    ("org/cached-model", "model", True),
    ("org/cached-data", "dataset", True),
    ("org/cached-model", "dataset", False),  # same name, other repository kind
    ("org/cached-data", "model", False),
    ("org/other", "model", False),
    ("other/cached-model", "model", False),
]


@pytest.mark.parametrize(("repo_id", "repo_type", "cached"), CASES)
def test_in_cache_agrees_with_a_full_cache_scan(hub_cache, repo_id, repo_type, cached):
    scanned = {(repo.repo_id, repo.repo_type) for repo in huggingface_hub.scan_cache_dir(hub_cache).repos}
    assert ((repo_id, repo_type) in scanned) is cached  # the old rule, as the oracle
    assert _in_cache(repo_id, repo_type) is cached


def test_in_cache_without_a_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "never-created"))
    assert _in_cache("org/cached-model", "model") is False


def test_in_cache_does_not_scan_the_whole_cache(hub_cache, monkeypatch):
    def scan_cache_dir(*args, **kwargs):
        raise AssertionError("scan_cache_dir stats every cached file: too slow on a big cache")

    monkeypatch.setattr(huggingface_hub, "scan_cache_dir", scan_cache_dir)
    assert _in_cache("org/cached-model", "model") is True
    assert _in_cache("org/other", "model") is False


def test_offline_reference_resolution_reads_the_cache(hub_cache):
    assert resolve_reference("org/cached-model", "--model") == "org/cached-model"
    assert resolve_reference("org/cached-data", "--data", repo_type="dataset") == "org/cached-data"
    with pytest.raises(HubReferenceError, match="no model org/other in the Hub cache while HF_HUB_OFFLINE=1"):
        resolve_reference("org/other", "--model")
