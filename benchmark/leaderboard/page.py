"""leaderboard/index.html: one self-contained page, the data embedded as JSON and drawn by inline JS.

Users may open it offline, straight from disk, so it loads nothing: no CDN, no web fonts, no fetch.
All formatting happens here in Python (shared with the README); the page's JS only sorts, filters and draws.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmark.leaderboard.collect import Row
from benchmark.leaderboard.view import COLUMNS, EMPTY, HOW_TO_ADD, NOTES, Section

TEMPLATE = Path(__file__).with_name("page.html")
SLOT = "{{DATA}}"


def _parameters(n: int) -> str:
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M" if n >= 1e6 else f"{n:,}"


def _row(row: Row, section: Section, best: dict[str, frozenset[str]]) -> dict[str, Any]:
    text = {c.key: c.text(row) for c in COLUMNS}
    return {
        "id": row.row_id,
        "run": row.file,
        "model": row.model_name,
        "family": row.family,
        "mode": row.mode,
        "speedup_vs": row.speedup_vs,
        "hardware": row.hardware,
        "f1": row.f1,
        "p50_ms": row.p50_ms,
        "values": {c.key: c.value(row) for c in COLUMNS},
        "text": text,
        "best": [c.key for c in COLUMNS if row.row_id in best[c.key]],
        "detail": f"{row.family} · {row.dtype} · {_parameters(row.num_parameters)} parameters · sha {row.model_sha[:12]} · {row.file}",
        "search": " ".join([*text.values(), row.family, row.file, section.title]).lower(),
    }


def payload(tables: Sequence[Section], colours: dict[str, str]) -> dict[str, Any]:
    """What the page's JS reads: columns, family colours and, per dataset, rows with raw and printed values."""
    sections = []
    for index, section in enumerate(tables):
        best = {c.key: section.best(c) for c in COLUMNS}
        rows = [_row(row, section, best) for row in section.rows]
        sections.append({"key": f"d{index}", "title": section.title, "note": section.note, "rows": rows})
    return {
        "columns": [{"key": c.key, "label": c.label, "best": c.best} for c in COLUMNS],
        "families": colours,
        "sections": sections,
        "notes": list(NOTES),
        "empty": EMPTY,
        "how_to_add": list(HOW_TO_ADD),
    }


def render(tables: Sequence[Section], colours: dict[str, str]) -> str:
    # "<" escaped so that no model name can close the <script> element the JSON sits in.
    data = json.dumps(payload(tables, colours), ensure_ascii=False, sort_keys=True, separators=(",", ":")).replace("<", "\\u003c")
    return TEMPLATE.read_text(encoding="utf-8").replace(SLOT, data)
