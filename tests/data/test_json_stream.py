from __future__ import annotations

import json

import pytest

from videoespresso_hf.data.sources import DataError, iter_json_records

ITEMS = [
    {"question": 'a "quoted", [bracketed] {braced} text', "n": 12345, "f": -1.5e3, "u": "é中文 😀"},
    {"nested": [[1, 2, 3, 4], []], "empty": {}, "null": None, "t": True},
    7,
    "a plain string, with ] and , inside",
    {"last": "x" * 50},
]


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64, 1 << 20])
def test_streamed_array_equals_json_load_at_any_chunk_size(tmp_path, chunk_size):
    path = tmp_path / "a.json"
    path.write_text("\ufeff \n" + json.dumps(ITEMS, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert list(iter_json_records(path, chunk_size=chunk_size)) == ITEMS


@pytest.mark.parametrize("chunk_size", [1, 5, 1 << 20])
def test_jsonl_and_empty_array(tmp_path, chunk_size):
    lines = tmp_path / "a.jsonl"
    lines.write_text("\n".join(json.dumps(item) for item in ITEMS if isinstance(item, dict)) + "\n\n")
    assert list(iter_json_records(lines, chunk_size=chunk_size)) == [item for item in ITEMS if isinstance(item, dict)]
    empty = tmp_path / "e.json"
    empty.write_text("[ ]")
    assert list(iter_json_records(empty)) == []


@pytest.mark.parametrize(
    ("text", "where"),
    [('[{"a": 1},\n{"b": }]', "line 2"), ('[{"a": 1}\n{"b": 2}]', "line 2"), ('[{"a": 1},\n', "line 2"),
     ('{"a": 1}\n{"b": \n', "line 2")],
)  # fmt: skip
def test_malformed_json_reports_the_line(tmp_path, text, where):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(DataError, match=f"malformed JSON.*{where}"):
        list(iter_json_records(path, chunk_size=4))


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_non_utf8_file_is_a_data_error(tmp_path, encoding):
    path = tmp_path / "a.json"
    path.write_text('[{"question": "café ?"}]', encoding=encoding)
    with pytest.raises(DataError, match="not UTF-8 text"):
        list(iter_json_records(path))
