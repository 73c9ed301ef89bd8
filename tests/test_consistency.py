"""Arithmetic and date consistency of sampled documents, over many seeds of every shipped template.

The identities are the domain's, not copied from the templates: a template whose totals do not add
up fails here whatever its expressions say.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from babel.numbers import get_currency_precision, parse_decimal

from datagen.expr import CASH_STEPS
from datagen.sample import sample_document
from datagen.template import list_templates, load_template

SEEDS = range(120)
TEMPLATES = [pytest.param(p, id=p.parent.name + "/" + p.stem) for p in list_templates()]


def _money(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _cash(value: Decimal, currency: str, places: int) -> Decimal:
    """A receipt's total may be the sum rounded to the smallest coin (the table is the generator's; the
    rounding is done here again, independently)."""
    step = CASH_STEPS.get(currency, Decimal(1).scaleb(-places))
    return _money((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step, places)


def parse_printed_money(text: str, locale: str) -> Decimal:
    """Read back a printed amount ("1.234,50 €", "RM12.50", "USD 1,234.50") with the locale's symbols."""
    number = re.sub(r"[^\d.,\-\s\u202f\xa0']", "", text).strip()
    number = re.sub(r"[\s\u202f\xa0]", "", number)
    return Decimal(str(parse_decimal(number, locale=locale, strict=False)))


@pytest.mark.parametrize("path", TEMPLATES)
def test_totals_add_up_and_dates_are_consistent(path):
    template = load_template(path)
    for seed in SEEDS:
        doc = sample_document(template, seed)
        v = doc.typed
        places = get_currency_precision(doc.currency)
        quantum = Decimal(1).scaleb(-places)
        for row in v.get("items", []):
            if {"quantity", "unit_price", "amount"} <= row.keys():
                assert row["amount"] == _money(row["quantity"] * row["unit_price"], places), (seed, row)
            for key in ("unit_price", "amount"):
                if key in row:
                    assert row[key].as_tuple().exponent == quantum.as_tuple().exponent
        items_sum = sum((r["amount"] for r in v.get("items", [])), Decimal(0))
        has_amounts = "items" in v and "amount" in template.items.columns
        if "total" in v and "subtotal" in v:
            expected = v["subtotal"] + v.get("tax", 0) + v.get("shipping", 0) - v.get("discount", 0)
            assert v["total"] in (expected, _cash(expected, doc.currency, places)), (seed, v)
        if has_amounts and "subtotal" in v:
            # net prices add up to the subtotal; VAT-inclusive prices (European tills) to subtotal + tax
            assert items_sum in (v["subtotal"], v["subtotal"] + v.get("tax", 0)), seed
        elif has_amounts and "total" in v and "shipping" not in v and "discount" not in v:
            assert items_sum == v["total"], seed
        for key in ("subtotal", "tax", "total", "shipping", "discount"):
            if key in v:
                assert isinstance(v[key], Decimal) and v[key] == v[key].quantize(quantum), (seed, key, v[key])
                assert v[key] >= 0, (seed, key)
        if "due_date" in v and "invoice_date" in v:
            assert v["due_date"] >= v["invoice_date"], seed
        if "date_of_birth" in v and "signature_date" in v:
            assert v["date_of_birth"] < v["signature_date"], seed


@pytest.mark.parametrize("path", TEMPLATES)
def test_printed_money_reads_back_to_the_value(path):
    template = load_template(path)
    for seed in range(40):
        doc = sample_document(template, seed)
        for key in ("subtotal", "tax", "total"):
            printed = doc.values.get(key)
            gen = template.fields.get(key)
            if printed is None or gen is None or gen.format not in (None, "money"):
                continue
            assert parse_printed_money(printed, doc.locale) == doc.typed[key], (seed, key, printed)
