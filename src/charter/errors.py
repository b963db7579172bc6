"""Errors a user can cause, carrying where they happened so the CLI can say it in one line."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Location:
    """Where in a user's file something is: file, 1-based line/column, and document path."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            parts.append(where)
        if self.path:
            parts.append(self.path)
        return " ".join(parts) if parts else "<unknown>"


@dataclass(frozen=True)
class Problem:
    """One located problem: the message a policy author or data owner can act on."""

    message: str
    location: Location = field(default_factory=Location)
    code: str = "error"

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class CharterError(Exception):
    """A user-caused error: the CLI prints it without a traceback and exits non-zero."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return self.message + "\n" + "\n".join(f"  {p}" for p in self.problems)
