"""A stand-in for the Hub (unreachable in tests): an ``HfApi`` that records what an upload would send."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi


class RecordingApi(HfApi):
    """Records the repo and the files of each upload instead of reaching the Hub."""

    def __init__(self):
        super().__init__(token="hf_test")
        self.uploads: list[tuple[str, dict[str, bytes], str]] = []

    def create_repo(self, repo_id, **kwargs):
        self.created = (repo_id, kwargs)
        return type("RepoUrl", (), {"repo_id": repo_id})()

    def upload_folder(self, *, repo_id, folder_path, commit_message=None, **kwargs):
        files = {
            str(p.relative_to(folder_path)): p.read_bytes()
            for p in Path(folder_path).rglob("*")
            if p.is_file()
        }
        self.uploads.append((repo_id, files, commit_message))
        return "commit"
