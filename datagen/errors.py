"""Errors that the command line turns into one line on stderr and exit code 2."""

from __future__ import annotations


class DatagenError(Exception):
    """Bad input from the user: reported as one line, exit code 2, never a traceback."""


class TemplateError(DatagenError):
    """A template problem, located by file, path inside the template and (where known) line."""

    def __init__(self, file: str, path: str, message: str, line: int | None = None):
        self.file, self.path, self.message, self.line = file, path, message, line
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {path}: {message}" if path else f"{where}: {message}")
