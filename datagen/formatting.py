"""Locale-aware printing of typed values (money, percentages, dates) with Babel's CLDR data.

The ground truth is the printed string, so this module decides exactly what a value looks like on
the page. Babel patterns and locales are parsed once per (locale, currency) and reused: formatting
runs for every value of every document, and re-parsing would dominate the generator's time.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import get_currency_precision, get_currency_symbol, get_territory_currencies, parse_pattern


@cache
def default_currency(locale: str) -> str:
    territory = Locale.parse(locale).territory
    currencies = get_territory_currencies(territory) if territory else []
    return currencies[0] if currencies else "USD"


class Formatter:
    """Prints values for one (locale, currency) in the styles templates may choose from."""

    def __init__(self, locale: str, currency: str):
        self.locale = Locale.parse(locale)
        self.currency = currency
        self.places = get_currency_precision(currency)
        digits = "0" * self.places
        frac = f".{digits}" if self.places else ""
        self._grouped = parse_pattern(f"#,##0{frac}")
        self._plain = parse_pattern(f"0{frac}")
        self._currency = self.locale.currency_formats["standard"]
        self._percent = parse_pattern("#,##0.##%")
        self._number = parse_pattern("#,##0.##")
        self.symbol = get_currency_symbol(currency, locale=self.locale)

    def money(self, value: Decimal, style: str) -> str:
        if style == "symbol":
            return self._currency.apply(value, self.locale, currency=self.currency, currency_digits=True)
        if style == "code":
            return f"{self.currency} {self._grouped.apply(value, self.locale)}"
        if style == "nogroup":
            return self._plain.apply(value, self.locale)
        return self._grouped.apply(value, self.locale)

    def date(self, value: dt.date, pattern: str) -> str:
        return format_date(value, format=pattern, locale=self.locale)

    def format(self, value: Any, kind: str | None, money_style: str, date_pattern: str) -> str:
        """Print ``value`` as ``kind`` (inferred from its type when None)."""
        if kind is None:
            kind = _infer_kind(value)
        if kind == "money":
            return self.money(Decimal(value), money_style)
        if kind == "percent":
            return self._percent.apply(Decimal(value), self.locale)
        if kind == "number":
            return self._number.apply(Decimal(value), self.locale)
        if kind == "date":
            return self.date(value, date_pattern)
        return str(value)


def _infer_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "text"
    if isinstance(value, Decimal):
        return "money"
    if isinstance(value, int):
        return "int"
    if isinstance(value, dt.date):
        return "date"
    return "text"


@cache
def formatter(locale: str, currency: str) -> Formatter:
    return Formatter(locale, currency)
