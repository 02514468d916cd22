"""Study config files: parser errors are one line naming the file, line and column."""

from __future__ import annotations

import pytest

from emoconvey.errors import EmoconveyError
from emoconvey.survey.config import load_config


def test_bad_yaml_is_one_line_with_line_and_column(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("title: x\n  bad: [1, 2\n")
    with pytest.raises(EmoconveyError) as info:
        load_config(path)
    message = str(info.value)
    assert message == (f"{path}: line 2, column 6: not valid YAML (mapping values are not "
                       "allowed here)")
    assert info.value.__cause__ is None and "\n" not in message


def test_bad_toml_is_one_line(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text("title = \n")
    with pytest.raises(EmoconveyError, match=r"study\.toml: not a readable config file "
                       r"\(.*line 1, column 9\)") as info:
        load_config(path)
    assert "\n" not in str(info.value)
