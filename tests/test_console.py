"""The shared console and error layer of every command (emoconvey.console)."""

from __future__ import annotations

import errno

import pytest
import typer

from emoconvey.console import friendly_errors, os_error_message
from emoconvey.errors import EmoconveyError


def _exit_and_message(capsys, error: BaseException) -> tuple[int, str]:
    with pytest.raises(typer.Exit) as caught, friendly_errors():
        raise error
    return caught.value.exit_code, capsys.readouterr().err


def test_project_errors_are_one_escaped_line_with_status_2(capsys):
    code, err = _exit_and_message(capsys, EmoconveyError('needs pip install "emoconvey[x]"'))
    assert code == 2
    assert err == 'error: needs pip install "emoconvey[x]"\n'


def test_as_a_decorator(capsys):
    @friendly_errors()
    def command() -> None:
        raise EmoconveyError("--out: bad")

    with pytest.raises(typer.Exit):
        command()
    assert capsys.readouterr().err == "error: --out: bad\n"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: FileExistsError(errno.EEXIST, "File exists", str(d / "f")),
         "'{d}/f' already exists (as a file); give another path"),
        (lambda d: FileNotFoundError(errno.ENOENT, "No such file", str(d / "no" / "x.csv")),
         "'{d}/no/x.csv': the folder '{d}/no' does not exist"),
        (lambda d: FileNotFoundError(errno.ENOENT, "No such file", str(d / "x.csv")),
         "'{d}/x.csv' not found"),
        (lambda d: NotADirectoryError(errno.ENOTDIR, "Not a directory", str(d / "f" / "x")),
         "'{d}/f/x': a part of this path is a file, not a folder"),
        (lambda d: IsADirectoryError(errno.EISDIR, "Is a directory", str(d)),
         "'{d}' is a folder; give a file"),
        (lambda d: PermissionError(errno.EACCES, "Permission denied", str(d / "f")),
         "'{d}/f': permission denied"),
        (lambda d: OSError(errno.ENOSPC, "No space left on device", str(d / "f")),
         "'{d}/f': No space left on device"),
    ],
)
def test_os_errors_about_a_path_are_one_line(tmp_path, capsys, make, expected):
    (tmp_path / "f").write_text("x")
    exc = make(tmp_path)
    message = expected.format(d=tmp_path)
    assert os_error_message(exc) == message
    code, err = _exit_and_message(capsys, exc)
    assert (code, err) == (2, f"error: {message}\n")


def test_bugs_keep_their_traceback():
    with pytest.raises(KeyError), friendly_errors():
        raise KeyError("x")
    with pytest.raises(OSError, match="no path"), friendly_errors():
        raise OSError("no path")  # not about a named path: not ours to explain


def test_nothing_is_printed_without_an_error(capsys):
    with friendly_errors():
        pass
    assert capsys.readouterr() == ("", "")
