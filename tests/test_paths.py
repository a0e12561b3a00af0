"""paths.py: the one reader of a text file the user names (config, prompt template, judge prompt, API keys)."""

import pytest

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.paths import read_text_file


def test_read_text_file_names_each_way_a_file_can_be_unusable(tmp_path):
    (tmp_path / "ok.txt").write_text("café {instruction}\n", encoding="utf-8")
    assert read_text_file(tmp_path / "ok.txt", "prompt template") == "café {instruction}\n"
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    cases = [(tmp_path / "missing.txt", "prompt template not found: "), (tmp_path, "is a folder, not a file"),
             (tmp_path / "latin1.txt", "prompt template " + str(tmp_path / "latin1.txt") + " is not UTF-8 text (byte 3)")]
    for path, message in cases:
        with pytest.raises(UserInputError) as raised:
            read_text_file(path, "prompt template")
        assert message in str(raised.value)


def test_every_user_text_file_goes_through_it(tmp_path):
    """A prompt template or an API key file that was not UTF-8 was a UnicodeDecodeError traceback."""
    from visual_med_alpaca.data.synthesize import load_template
    from visual_med_alpaca.serve.api import read_api_keys

    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("key-caf\xe9 {instruction}\n".encode("latin-1"))
    for read, what in ((load_template, "prompt template"), (read_api_keys, "API key file")):
        with pytest.raises(UserInputError, match=f"{what} .* is not UTF-8 text"):
            read(latin1)
        with pytest.raises(UserInputError, match=f"{what} .* is a folder"):
            read(tmp_path)
