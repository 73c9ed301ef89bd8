"""The safe expression language: arithmetic, dates, money rounding, and what it refuses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from datagen.expr import ExprError, parse


def test_arithmetic_precedence_and_decimals():
    env = {"a": Decimal("1.10"), "b": 3, "c": Decimal("0.2")}
    assert parse("a + b * c").evaluate(env) == Decimal("1.70")
    assert parse("(a + b) * c").evaluate(env) == Decimal("0.820")
    assert parse("-a + 2").evaluate(env) == Decimal("0.90")
    assert parse("b / 4").evaluate(env) == Decimal("0.75")


def test_money_rounds_half_up_to_currency_places():
    assert parse("money(x)").evaluate({"x": Decimal("2.345"), "__money_places__": 2}) == Decimal("2.35")
    assert parse("money(x)").evaluate({"x": Decimal("2.5"), "__money_places__": 0}) == Decimal("3")
    assert parse("round(x, 1)").evaluate({"x": Decimal("2.25")}) == Decimal("2.3")


def test_dates_and_days():
    d = dt.date(2025, 1, 31)
    assert parse("d + 30 days").evaluate({"d": d}) == dt.date(2025, 3, 2)
    assert parse("d - days(n)").evaluate({"d": d, "n": 31}) == dt.date(2024, 12, 31)


def test_sum_over_item_column_and_min_max():
    env = {"items": [{"amount": Decimal("1.25")}, {"amount": Decimal("2.75")}]}
    e = parse("sum(items.amount)")
    assert e.evaluate(env) == Decimal("4.00")
    assert e.names == {"items"} and e.columns == {("items", "amount")}
    assert parse("sum(items.amount)").evaluate({"items": []}) == 0
    assert parse("max(1, 5, 3) - min(4, 2)").evaluate({}) == 3


def test_names_are_collected_for_dependency_order():
    assert parse("money(subtotal * tax_rate) + shipping").names == {"subtotal", "tax_rate", "shipping"}


@pytest.mark.parametrize(
    "source",
    ["__import__('os')", "a.__class__", "open(1)", "a[0]", "lambda: 1", "a if b else c", "'text'", "a ** 2", "a +"],
)
def test_refuses_anything_but_the_grammar(source):
    with pytest.raises(ExprError):
        parse(source)


def test_runtime_errors_are_expr_errors():
    with pytest.raises(ExprError, match="no value for 'missing'"):
        parse("missing + 1").evaluate({})
    with pytest.raises(ExprError, match="division by zero"):
        parse("1 / x").evaluate({"x": 0})
