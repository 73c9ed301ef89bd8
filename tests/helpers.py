"""Shared test helpers: a small valid template the tests mutate one error at a time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

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
