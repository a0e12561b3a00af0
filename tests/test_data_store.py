"""The append-only store: torn last lines, duplicate ids, one writer at a time."""

from __future__ import annotations

import pytest

from visual_med_alpaca.data.store import JsonlStore, jsonl_rows, read_jsonl, write_json_atomic, write_jsonl_atomic
from visual_med_alpaca.errors import UserInputError


def test_torn_last_line_is_cut_and_ids_are_unique(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "a", "x": 1}\n{"id": "b", "x"')  # a crash cut the second write
    assert [r["id"] for r in read_jsonl(path)] == ["a"]
    with JsonlStore(path) as store:
        assert store.ids == {"a"}
        assert store.append({"id": "b", "x": 2}) is True
        assert store.append({"id": "a", "x": 3}) is False
    assert path.read_text() == '{"id": "a", "x": 1}\n{"id": "b", "x": 2}\n'


def test_corrupt_line_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(UserInputError, match="out.jsonl line 2 is not JSON"):
        list(read_jsonl(path))


def test_a_file_a_person_wrote_must_be_whole_and_utf8(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text('{"id": "a"}\n\n{"id": "b"')  # no torn tail here: a person's typo
    assert [number for number, _ in jsonl_rows(path)] == [1]
    with pytest.raises(UserInputError, match="gold.jsonl line 3 is not JSON"):
        list(jsonl_rows(path, torn_tail_ok=False))
    path.write_bytes(b'{"id": "caf\xe9"}\n')
    with pytest.raises(UserInputError, match="line 1 is not UTF-8"):
        list(read_jsonl(path))


def test_second_writer_is_refused(tmp_path):
    path = tmp_path / "out.jsonl"
    with JsonlStore(path):
        with pytest.raises(UserInputError, match="another process"):
            JsonlStore(path)
    JsonlStore(path).close()  # free again once the first is closed


def test_a_folder_given_for_a_file_is_named_as_a_folder(tmp_path):
    """`vmed data filter FOLDER` / `synthesize --out FOLDER` said 'input file not found: FOLDER'; `data export --out
    FOLDER` wrote FOLDER.partial, left it behind and named it in the error."""
    with pytest.raises(UserInputError, match="is a folder, not a JSONL file"):
        list(read_jsonl(tmp_path))
    with pytest.raises(IsADirectoryError) as raised:
        write_json_atomic(tmp_path, {"a": 1})
    assert raised.value.filename == str(tmp_path)
    with pytest.raises(IsADirectoryError):
        write_jsonl_atomic(tmp_path, [{"id": "a"}])
    assert not list(tmp_path.parent.glob(f"{tmp_path.name}.partial"))


def test_read_records_refuses_what_is_not_an_instruction_record(tmp_path):
    """`vmed data filter` / `synthesize --input` on a JSONL a person wrote: a line that is a list or a string was
    a TypeError traceback, an "output": null or an "instruction": 5 an AttributeError mid-run. Each is one
    UserInputError naming the line; a missing or null text field reads as ""."""
    from visual_med_alpaca.data.store import read_records

    path = tmp_path / "records.jsonl"
    path.write_text('{"id": "a", "instruction": "What is gout?", "output": null}\n')
    assert list(read_records(path)) == [{"id": "a", "instruction": "What is gout?", "input": "", "output": ""}]
    for line, message in (('[1, 2]', "line 2 is not an instruction record"), ('"text"', "line 2 is not an instruction"),
                          ('{"instruction": "q"}', "line 2 is not an instruction record"),
                          ('{"id": "b", "instruction": 5}', 'line 2: "instruction" must be text, not int')):
        path.write_text('{"id": "a", "instruction": "q"}\n' + line + "\n")
        with pytest.raises(UserInputError, match=message):
            list(read_records(path))


def test_filter_and_synthesize_read_their_inputs_through_it(tmp_path):
    from visual_med_alpaca.data.config import FilterConfig, SynthesizeConfig
    from visual_med_alpaca.data.filter import filter_records
    from visual_med_alpaca.data.synthesize import select_records

    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a", "instruction": "What is gout?", "output": null}\n[1]\n')
    with pytest.raises(UserInputError, match="line 2 is not an instruction record"):
        filter_records([path], tmp_path / "kept.jsonl", tmp_path / "dropped.jsonl", FilterConfig(), progress=False)
    with pytest.raises(UserInputError, match="line 2 is not an instruction record"):
        select_records(path, SynthesizeConfig())
    path.write_text('{"id": "a", "instruction": "What is gout?", "output": null}\n')
    assert [r["id"] for r in select_records(path, SynthesizeConfig())] == ["a"]  # null output: still to answer
