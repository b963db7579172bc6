"""What every CLI command shares: user errors become one clear message and a non-zero exit."""

from __future__ import annotations

import functools
import sys
from typing import Callable, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from charter.errors import CharterError

F = TypeVar("F", bound=Callable)

# Piped output (CI logs, files) gets a readable width instead of rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 130)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 130)

USER_ERROR_EXIT = 2


def user_errors(fn: F) -> F:
    """Turn CharterError (and unreadable files) into a located message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CharterError as exc:
            err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
            for problem in exc.problems:
                err_console.print(f"  {problem}", highlight=False, soft_wrap=True, markup=False)
            raise typer.Exit(USER_ERROR_EXIT) from None
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc.strerror))}: {escape(str(exc.filename))}", highlight=False)
            raise typer.Exit(USER_ERROR_EXIT) from None

    return wrapper  # type: ignore[return-value]


def fail(message: str) -> None:
    """Stop a command with a user-facing message (no traceback)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.stderr.flush()
    raise typer.Exit(USER_ERROR_EXIT)
