"""The safe expression language: arithmetic, dates, money and cash rounding, and what it refuses."""

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


def _cash(x: str, currency: str, places: int = 2) -> Decimal:
    return parse("cash(x)").evaluate({"x": Decimal(x), "currency_code": currency, "__money_places__": places})


@pytest.mark.parametrize(
    ("currency", "cases"),
    [
        # 5 sen: 1, 2 down; 3, 4 up to 5; 6, 7 down to 5; 8, 9 up; the exact half (.025) goes up
        ("MYR", {"1.01": "1.00", "1.02": "1.00", "1.03": "1.05", "1.04": "1.05", "1.06": "1.05", "1.07": "1.05",
                 "1.08": "1.10", "1.09": "1.10", "1.05": "1.05", "1.025": "1.05", "1.0249": "1.00", "1.075": "1.10",
                 "0.02": "0.00", "0": "0.00", "99.98": "100.00"}),
        ("CHF", {"4.12": "4.10", "4.13": "4.15", "4.175": "4.20"}),
        ("CAD", {"4.12": "4.10", "4.13": "4.15"}),
        ("AUD", {"4.17": "4.15", "4.18": "4.20"}),
        ("NZD", {"4.14": "4.10", "4.15": "4.20", "4.16": "4.20", "4.05": "4.10", "4.049": "4.00"}),
        # every other currency is paid to its minor unit: cash(x) = money(x)
        ("EUR", {"4.12": "4.12", "4.125": "4.13", "4.1249": "4.12"}),
        ("USD", {"4.17": "4.17"}),
    ],
)  # fmt: skip
def test_cash_rounds_half_up_to_the_smallest_coin(currency, cases):
    for value, rounded in cases.items():
        result = _cash(value, currency)
        assert result == Decimal(rounded) and str(result) == rounded, (currency, value, result)


def test_cash_of_negative_amounts_and_other_minor_units():
    # negative amounts (a refund) round symmetrically: ties away from zero, like money()
    assert _cash("-1.03", "MYR") == Decimal("-1.05") and _cash("-1.02", "MYR") == Decimal("-1.00")
    assert _cash("-1.025", "MYR") == Decimal("-1.05") and _cash("-4.15", "NZD") == Decimal("-4.20")
    assert str(_cash("-0.02", "MYR")) == "0.00"  # not -0.00
    assert str(_cash("1234.5", "JPY", places=0)) == "1235"  # no cash step: the minor unit (yen)
    assert str(_cash("1.2345", "KWD", places=3)) == "1.235"
    with pytest.raises(ExprError, match="no value for 'currency_code'"):
        parse("cash(x)").evaluate({"x": Decimal(1), "__money_places__": 2})


def test_up_rounds_up_to_a_multiple_of_the_step():
    up = parse("up(x, step)")
    cases = [("45.20", 5, "50"), ("45.20", 10, "50"), ("45.20", 100, "100"), ("45.00", 5, "45"), ("45.01", 1, "46"),
             ("0", 5, "0"), ("0.01", "0.05", "0.05"), ("45.21", "0.05", "45.25"), ("-45.20", 10, "-40"), ("-0.01", 5, "0")]  # fmt: skip
    for x, step, expected in cases:
        assert up.evaluate({"x": Decimal(x), "step": Decimal(str(step))}) == Decimal(expected), (x, step)
    assert str(parse("money(up(x, 20))").evaluate({"x": Decimal("12.34"), "__money_places__": 2})) == "20.00"
    for step in (0, -5):
        with pytest.raises(ExprError, match="step above 0"):
            up.evaluate({"x": Decimal(1), "step": step})


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
