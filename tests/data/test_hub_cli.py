"""`data download` / `data push` fail fast and clearly offline (tests never reach the Hub)."""

from __future__ import annotations

from videoespresso_hf.cli.main import main


def test_download_offline_is_a_clear_user_error(tmp_path, capsys):
    code = main(["data", "download", "--config", "bench", "--data-dir", str(tmp_path / "d"), "--annotations-only"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot download hshjerry0315/VideoEspresso-Test" in err and "HF_HUB_OFFLINE" in err


def test_push_refuses_unprepared_and_local_path_folders(bench_release, tmp_path, capsys):
    code = main(["data", "push", str(tmp_path), "--repo-id", "me/VideoEspresso"])
    assert code == 2 and "not a prepared folder" in capsys.readouterr().err
    out = tmp_path / "hub"
    assert main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(bench_release),
                 "--out", str(out)]) == 0  # fmt: skip
    capsys.readouterr()
    code = main(["data", "push", str(out), "--repo-id", "me/VideoEspresso"])
    assert code == 2 and "--embed-videos" in capsys.readouterr().err
    code = main(["data", "push", str(out), "--repo-id", "me/VideoEspresso", "--allow-local-paths"])
    assert code == 2 and "HF_HUB_OFFLINE" in capsys.readouterr().err
    # The card was re-rendered for the target repository before the upload was attempted.
    assert 'load_dataset("me/VideoEspresso", "bench"' in (out / "README.md").read_text()
