"""Errors that ``pip-bench`` turns into one line on stderr and exit code 2."""

from __future__ import annotations


class BenchError(Exception):
    """Bad input from the user (model, dataset, options, output folder): one line, exit 2, no traceback."""
