from videoespresso_hf.cli.build import _load_config
from videoespresso_hf.cli.main import build_parser


def parse(tmp_path, *extra):
    return build_parser().parse_args(["build", "v.mp4", "--out", str(tmp_path / "out"), *extra])


def test_batch_flags_switch_the_qa_stages_to_the_batch_api(tmp_path):
    assert not _load_config(parse(tmp_path)).llm_batch.enabled
    config = _load_config(parse(tmp_path, "--batch", "--batch-wait", "0"))
    settings = config.llm_batch
    assert settings.enabled
    assert settings.max_wait_s == 0


def test_folder_scan_skips_hidden_files(tmp_path):
    from videoespresso_hf.cli.build import expand_videos

    (tmp_path / "sub").mkdir()
    for name in ("a.mp4", "sub/b.MKV", "._a.mp4", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in expand_videos([str(tmp_path)])] == ["a.mp4", "b.MKV"]
