"""``pip-bench leaderboard``: turn a folder of results files into README.md, index.html and pareto.png/svg."""

from __future__ import annotations

from benchmark.leaderboard.commands import add_commands

__all__ = ["add_commands"]
