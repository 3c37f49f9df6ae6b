from videoespresso_hf.pipeline.job import expand_videos, resolve_config


def test_batch_settings_switch_the_qa_stages_to_the_batch_api(tmp_path):
    assert not resolve_config(out=tmp_path / "out").llm_batch.enabled
    config = resolve_config(out=tmp_path / "out", batch=True, batch_wait=0)
    settings = config.llm_batch
    assert settings.enabled
    assert settings.max_wait_s == 0


def test_folder_scan_skips_hidden_files(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.mp4", "sub/b.MKV", "._a.mp4", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in expand_videos([str(tmp_path)])] == ["a.mp4", "b.MKV"]
