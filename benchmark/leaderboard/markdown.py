"""leaderboard/README.md: the tables as GitHub renders them, with the Pareto plot on top."""

from __future__ import annotations

import re
from collections.abc import Sequence

from benchmark.leaderboard.view import COLUMNS, EMPTY, HOW_TO_ADD, NOTES, Section

_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str) -> str:
    """A newline (or any control character) in user text would end a table row or a paragraph early."""
    return _CONTROL.sub(" ", text)


def escape(text: str) -> str:
    """Model ids and hardware names are user text: a ``|`` would split a cell, a ``*`` start emphasis,
    a newline end the row."""
    return _SPECIAL.sub(r"\\\1", one_line(text))


def _table(section: Section) -> list[str]:
    lines = [
        "| " + " | ".join(c.label for c in COLUMNS) + " |",
        "|" + "|".join("---:" if c.best else "---" for c in COLUMNS) + "|",
    ]
    best = {c.key: section.best(c) for c in COLUMNS}
    for row in section.rows:
        cells = [escape(c.text(row)) for c in COLUMNS]
        cells = [f"**{cell}**" if row.row_id in best[c.key] else cell for c, cell in zip(COLUMNS, cells, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render(tables: Sequence[Section], num_files: int) -> str:
    lines = ["# Leaderboard", ""]
    if not tables:
        lines += [EMPTY, "", HOW_TO_ADD[0], "", "```bash", HOW_TO_ADD[1], "```"]
        return "\n".join(lines) + "\n"
    lines += [
        "![F1 against p50 latency per model and mode, with the Pareto front](pareto.png)",
        "",
        f"Built by `pip-bench leaderboard build` from {num_files} results file{'s' if num_files != 1 else ''}. "
        "Sortable, filterable version: [index.html](index.html) (a single file; open it in a browser).",
    ]
    for section in tables:
        lines += ["", f"## {escape(section.title)}", "", f"{one_line(section.note)}.", "", *_table(section)]
    lines += ["", *(f"- {note}" for note in NOTES)]
    return "\n".join(lines) + "\n"
