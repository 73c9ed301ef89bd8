"""Errors that ``pip-bench`` turns into one line on stderr and exit code 2."""

from __future__ import annotations


class BenchError(Exception):
    """Bad input from the user (model, dataset, options, output folder): one line, exit 2, no traceback."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type when the message is empty (a bare
    ``ValueError()`` from a library would otherwise leave "cannot load the tokenizer: " and nothing)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
