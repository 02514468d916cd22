"""Shared input checks (emoconvey._validation) not covered through their callers."""

from __future__ import annotations

import pandas as pd
import pytest

from emoconvey._validation import check_output_file, check_output_folder, require_columns
from emoconvey.errors import DataValidationError, EmoconveyError


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


def test_raise_at_first_names_the_file_line_of_the_first_bad_row():
    import pandas as pd

    from emoconvey._validation import first_true, raise_at_first
    from emoconvey.errors import DataValidationError

    values = pd.Series([1, 2, -3, -4])
    assert first_true(values < 0) == 2 and first_true(values > 9) is None
    raise_at_first(values > 9, lambda pos: "never", name="f.csv", column="x")  # no error
    with pytest.raises(DataValidationError) as caught:
        raise_at_first(values < 0, lambda pos: f"negative: {values.iloc[pos]}",
                       name="f.csv", column="x")
    assert str(caught.value) == "f.csv, line 4, column 'x': negative: -3"
    assert (caught.value.row, caught.value.column) == (4, "x")


def test_require_unique_gives_the_repeat_and_the_first_line():
    import pandas as pd

    from emoconvey._validation import require_unique
    from emoconvey.errors import DataValidationError

    df = pd.DataFrame({"a": ["p", "q", "p", "p"], "b": ["x", "x", "y", "x"]})
    require_unique(df.iloc[:3], lambda pos, first: "never", name="f.csv")
    with pytest.raises(DataValidationError, match=r"^f.csv, line 5: row 3 repeats row 0$"):
        require_unique(df, lambda pos, first: f"row {pos} repeats row {first}", name="f.csv")
    with pytest.raises(DataValidationError, match=r"line 4, column 'a': 'p' at 2, first 0"):
        require_unique(df["a"], lambda pos, first: f"{df['a'].iloc[pos]!r} at {pos}, first "
                       f"{first}", name="f.csv", column="a")


def test_require_first_seen_records_keys_and_names_the_first_line():
    from emoconvey._validation import require_first_seen
    from emoconvey.errors import DataValidationError

    seen: dict = {}
    require_first_seen(seen, "a", 2, "never", name="f.txt")
    require_first_seen(seen, ("b", 1), 3, "never", name="f.txt")
    assert seen == {"a": 2, ("b", 1): 3}
    with pytest.raises(DataValidationError) as caught:
        require_first_seen(seen, "a", 7, "duplicated id 'a'", expected="expected each id once",
                           name="f.txt", column="id")
    assert str(caught.value) == (
        "f.txt, line 7, column 'id': duplicated id 'a' (first on line 2); expected each id once"
    )
    with pytest.raises(DataValidationError, match=r"line 9: twice \(first on line 3\)$"):
        require_first_seen(seen, ("b", 1), 9, "twice", name="f.txt")


def test_require_columns_names_the_missing_and_the_argument() -> None:
    df = pd.DataFrame({"a": [1], "b": [2]})
    require_columns(df, ["a", "b"], name="t.csv")
    with pytest.raises(DataValidationError, match=r"missing column\(s\) 'x', 'y'; found 'a', 'b'"):
        require_columns(df, ["a", "x", "y"], name="t.csv")
    with pytest.raises(DataValidationError,
                       match=r"factors: column\(s\) 'x' not found; found 'a', 'b'"):
        require_columns(df, ("a", "x"), name="t.csv", argument="factors")
    with pytest.raises(DataValidationError, match="found no columns"):
        require_columns(pd.DataFrame(), ["a"], name="t.csv")
