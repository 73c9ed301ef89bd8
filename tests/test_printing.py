"""Printed values: the fast money path must print exactly what Babel prints."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from types import SimpleNamespace

import pytest

from datagen.printing import default_currency, formatter

LOCALES = [
    ("en_US", "USD"),
    ("en_GB", "GBP"),
    ("en_MS", "MYR"),
    ("de_DE", "EUR"),
    ("fr_FR", "EUR"),
    ("es_ES", "EUR"),
    ("nl_NL", "EUR"),
    ("it_IT", "EUR"),
    ("ja_JP", "JPY"),
]


@pytest.mark.parametrize(("locale", "currency"), LOCALES)
def test_fast_money_matches_babel(locale, currency):
    f = formatter(locale, currency)
    assert f._fast, "fast path should agree with Babel for the shipped locales"
    rng = random.Random(0)
    quantum = Decimal(1).scaleb(-f.places)
    for _ in range(2000):
        value = Decimal(repr(rng.uniform(-5000, 2_000_000))).quantize(quantum)
        for style in ("plain", "symbol", "code", "nogroup"):
            assert f._fast_money(value, style) == f._babel_money(value, style), (value, style)


def test_examples():
    assert formatter("en_US", "USD").money(Decimal("1234.5"), "symbol") == "$1,234.50"
    assert formatter("de_DE", "EUR").money(Decimal("1234.5"), "plain") == "1.234,50"
    assert formatter("en_MS", "MYR").money(Decimal("12.5"), "code") == "MYR 12.50"
    assert formatter("ja_JP", "JPY").money(Decimal("1234"), "plain") == "1,234"
    style = SimpleNamespace(money="plain", date="d. MMMM yyyy", time="h:mm a")
    assert formatter("fr_FR", "EUR").format(Decimal("0.055"), "percent", style) == "5,5\xa0%"
    assert formatter("en_GB", "GBP").date(dt.date(2025, 3, 4), "dd/MM/yyyy") == "04/03/2025"
    assert formatter("de_DE", "EUR").format(dt.date(2025, 3, 4), None, style) == "4. März 2025"
    assert formatter("en_US", "USD").format(dt.time(14, 5), None, style).replace("\u202f", " ") == "2:05 PM"


def test_default_currency_from_territory():
    assert default_currency("de_DE") == "EUR"
    assert default_currency("en_GB") == "GBP"
