"""Consoles, one-line errors and logging of the command line (ground floor).

Every command group prints through the two consoles here and wraps its work in
:func:`friendly_errors`, so that every user error reads the same: one line
``error: <message>`` on standard error and exit status 2, never a traceback. Results go
to :data:`out` (standard output); progress, warnings and errors to :data:`console`
(standard error), so that ``--json`` output can be piped.

This module sits beside :mod:`emoconvey.errors` and imports nothing else of emoconvey,
so any command module may use it without importing :mod:`emoconvey.cli`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.markup import escape

from emoconvey.errors import EmoconveyError

__all__ = [
    "EXIT_USER_ERROR",
    "console",
    "fail",
    "friendly_errors",
    "os_error_message",
    "out",
    "print_error",
    "print_warning",
    "setup_logging",
]

EXIT_USER_ERROR: int = 2
"""Exit status of every command that stops on bad input."""

console = Console(stderr=True)
"""Standard error: progress bars, warnings, errors, log records."""

out = Console()
"""Standard output: the results a command prints (tables, JSON, paths written)."""


def print_error(message: str) -> None:
    """Print ``error: message`` on one line of standard error.

    The message is escaped, so brackets in it (``pip install "emoconvey[generate]"``,
    ``x[0]``) reach the user instead of being read as rich markup.
    """
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def print_warning(message: object) -> None:
    """Print ``warning: message`` on one line of standard error (escaped)."""
    console.print(f"[yellow]warning:[/] {escape(str(message))}", highlight=False,
                  soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print ``message`` as an error and return the exit (status 2) to raise.

    Use as ``raise fail("...") from None`` where no exception is at hand.
    """
    print_error(message)
    return typer.Exit(EXIT_USER_ERROR)


def os_error_message(exc: OSError) -> str:
    """One line saying which path an operating-system error is about, and what is wrong.

    Parameters
    ----------
    exc : OSError
        An error with ``filename`` set (as raised by :mod:`os`, :mod:`pathlib` and
        :func:`open`).

    Returns
    -------
    str
        For example ``'out' already exists (as a file); give another path`` or
        ``'missing/x.csv': the folder 'missing' does not exist``.
    """
    path = os.fsdecode(exc.filename) if exc.filename is not None else ""
    parent = os.path.dirname(path.rstrip(os.sep)) or "."
    if isinstance(exc, FileExistsError):
        what = "a file" if os.path.isfile(path) else "a folder"
        return f"{path!r} already exists (as {what}); give another path"
    if isinstance(exc, NotADirectoryError):
        return f"{path!r}: a part of this path is a file, not a folder"
    if isinstance(exc, IsADirectoryError):
        return f"{path!r} is a folder; give a file"
    if isinstance(exc, FileNotFoundError) and not os.path.isdir(parent):
        return f"{path!r}: the folder {parent!r} does not exist"
    if isinstance(exc, FileNotFoundError):
        return f"{path!r} not found"
    if isinstance(exc, PermissionError):
        return f"{path!r}: permission denied"
    return f"{path!r}: {exc.strerror or exc}"


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn user errors into one line on standard error and exit status 2.

    Catches :class:`~emoconvey.errors.EmoconveyError` (bad input) and operating-system
    errors about a named path (:class:`FileExistsError`, :class:`PermissionError`, a
    missing folder, ...); anything else is a bug and keeps its traceback. Works as a
    context manager and as a decorator (``@friendly_errors()``).

    Raises
    ------
    typer.Exit
        With status 2, after the message was printed.
    """
    try:
        yield
    except EmoconveyError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        if exc.filename is None:
            raise
        raise fail(os_error_message(exc)) from None


def setup_logging(*, verbose: bool = False) -> None:
    """Send log records to standard error through rich (INFO with ``verbose``, else WARNING)."""
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, show_time=False)],
        force=True,
    )
