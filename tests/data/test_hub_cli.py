"""`data download` / `data push` fail fast and clearly offline (tests never reach the Hub)."""

from __future__ import annotations

from videoespresso_hf.cli.main import main


def test_download_offline_is_a_clear_user_error(tmp_path, capsys):
    code = main(["data", "download", "--config", "bench", "--data-dir", str(tmp_path / "d"), "--annotations-only"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot download hshjerry0315/VideoEspresso-Test" in err and "HF_HUB_OFFLINE" in err


def test_push_refuses_unprepared_folders_and_uploads_path_only_ones_without_a_flag(bench_release, tmp_path, capsys):
    code = main(["data", "push", str(tmp_path), "--repo-id", "me/VideoEspresso"])
    assert code == 2 and "not a prepared folder" in capsys.readouterr().err
    out = tmp_path / "hub"
    assert main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(bench_release),
                 "--out", str(out)]) == 0  # fmt: skip
    capsys.readouterr()
    # Rows with local video paths are not refused: push uploads them relative to the release (tests/data/test_push.py).
    code = main(["data", "push", str(out), "--repo-id", "me/VideoEspresso"])
    assert code == 2 and "HF_HUB_OFFLINE" in capsys.readouterr().err
    assert not (out / ".push.tmp").exists()  # the Hub copy is removed when the upload fails
    # The card was re-rendered for the target repository before the upload was attempted.
    assert 'load_dataset("me/VideoEspresso", "bench"' in (out / "README.md").read_text()
