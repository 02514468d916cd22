"""Shared input checks (emoconvey._validation) not covered through their callers."""

from __future__ import annotations

import pytest

from emoconvey._validation import check_output_file, check_output_folder
from emoconvey.errors import EmoconveyError


def test_check_output_file(tmp_path):
    assert check_output_file(None, name="--out") is None
    assert check_output_file(str(tmp_path / "a.csv"), name="--out") == tmp_path / "a.csv"
    with pytest.raises(EmoconveyError, match=r"^--out: '.*' is a folder; give a file name$"):
        check_output_file(tmp_path, name="--out")
    with pytest.raises(EmoconveyError, match="the folder '.*missing' does not exist"):
        check_output_file(tmp_path / "missing" / "a.csv", name="--out")
    (tmp_path / "f").write_text("x")
    with pytest.raises(EmoconveyError, match=r"'.*f' is a file, not a folder"):
        check_output_file(tmp_path / "f" / "a.csv", name="--out")


def test_check_output_folder(tmp_path):
    assert check_output_folder(tmp_path / "new" / "deeper", name="--out") == (
        tmp_path / "new" / "deeper")
    assert check_output_folder(tmp_path, name="--out") == tmp_path
    (tmp_path / "f").write_text("x")
    with pytest.raises(EmoconveyError, match=r"^--out: '.*f' is a file; give a folder$"):
        check_output_folder(tmp_path / "f", name="--out")
    with pytest.raises(EmoconveyError, match=r"'.*f' \(part of '.*f/x'\) is a file"):
        check_output_folder(tmp_path / "f" / "x", name="--out")
