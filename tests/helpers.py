"""Shared test helpers: a small valid template the tests mutate one error at a time, and generated receipts
written as SROIE files (a real-dataset fixture that needs no real data)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from datagen.pipeline import encode_image, generate
from datagen.template import load_template_cached

SROIE_KEYS = ("company", "date", "address", "total")

MINIMAL: dict[str, Any] = {
    "id": "receipt/test-minimal",
    "doc_type": "receipt",
    "locales": ["en_US", "de_DE"],
    "page": {"size": "thermal", "width_mm": [70, 80], "margin_mm": [3, 4]},
    "style": {"fonts": ["mono"], "size_pt": [7, 8]},
    "vars": {"tax_rate": {"choice": [0.06, 0.1]}},
    "items": {
        "count": [1, 4],
        "columns": {
            "description": {"faker": "word"},
            "quantity": {"int": [1, 3]},
            "unit_price": {"money": [1, 20]},
            "amount": {"expr": "money(quantity * unit_price)"},
        },
    },
    "fields": {
        "company": {"faker": "company"},
        "address": {"faker": "address"},
        "date": {"date": [-100, 0]},
        "subtotal": {"expr": "sum(items.amount)"},
        "tax": {"expr": "money(subtotal * tax_rate)"},
        "total": {"expr": "subtotal + tax"},
        "payment_method": {"choice": ["CASH", "CARD"]},
    },
    "blocks": [
        {"type": "text", "field": "company"},
        {"type": "text", "field": "address"},
        {"type": "pair", "field": "date"},
        {
            "type": "table",
            "columns": [
                {"key": "description", "header": ["Item"], "width": 0.5},
                {"key": "quantity", "header": ["Qty"], "width": 0.1},
                {"key": "unit_price", "header": ["Price"], "width": 0.2},
                {"key": "amount", "header": ["Amount"], "width": 0.2},
            ],
        },
        {"type": "pair", "field": "subtotal", "arrange": ["split"]},
        {"type": "pair", "field": "tax", "arrange": ["split"]},
        {"type": "pair", "field": "total", "arrange": ["split"]},
        {"type": "checkboxes", "field": "payment_method"},
    ],
}


def minimal() -> dict[str, Any]:
    return copy.deepcopy(MINIMAL)


def write_template(tmp_path: Path, data: dict[str, Any] | str, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def sroie_receipts(root: Path, n: int, split: str = "test", first: int = 0) -> None:
    """Generated receipts ``first`` .. ``first + n - 1`` written as genuine SROIE files (in ``root/split``; the
    stems must differ across splits, as in the release): one box line per printed line (not per word) and
    key files with SROIE's four keys only, as in the ICDAR release."""
    template = load_template_cached("receipt/retail-invoice")
    for i in range(first, first + n):
        gen = generate(template, 100 + i, "en_MS", width=1024)
        record, stem = gen.record, f"X5100{i:04d}"
        lines: dict[int, list[int]] = {}
        for w, line in enumerate(record["line_ids"]):
            lines.setdefault(line, []).append(w)
        box_lines = []
        for ids in lines.values():
            x0 = min(record["boxes"][w][0] for w in ids)
            y0 = min(record["boxes"][w][1] for w in ids)
            x1 = max(record["boxes"][w][2] for w in ids)
            y1 = max(record["boxes"][w][3] for w in ids)
            box_lines.append(f"{x0},{y0},{x1},{y0},{x1},{y1},{x0},{y1},{' '.join(record['words'][w] for w in ids)}")
        values = {f["key"]: f["value"] for f in record["fields"] if f["key"] in SROIE_KEYS and f["present"]}
        for folder, name, data in (
            ("img", f"{stem}.jpg", encode_image(gen.image, "jpeg", 90)),
            ("box", f"{stem}.txt", "\n".join(box_lines).encode()),
            ("entities", f"{stem}.txt", json.dumps(values, indent=4).encode()),
        ):
            (root / split / folder).mkdir(parents=True, exist_ok=True)
            (root / split / folder / name).write_bytes(data)
