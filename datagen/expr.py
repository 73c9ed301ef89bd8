"""A tiny, safe expression language for derived template values.

Templates compute values such as ``amount = quantity * unit_price``, ``total = subtotal + tax`` or
``due = invoice_date + 30 days``. Template text is data, so it is parsed with a fixed grammar
(lark) and evaluated by walking the tree: there is no Python ``eval`` and no attribute access, and
the only callables are the few functions in ``FUNCTIONS``.

Values are ``Decimal`` (money and rates: exact), ``int`` and ``datetime.date``. Money is rounded with
``money(x)``, which rounds half-up to the document currency's minor unit, so totals add up exactly.
``cash(x)`` rounds half-up to the smallest coin of the currency (``CASH_STEPS``: the amount a cash
customer pays, after a receipt's "Rounding Adj" line), and ``up(x, step)`` rounds up to a multiple of
``step`` (the note a customer hands over). Half-up means ties away from zero, for negative amounts too.

Compiling and evaluating recurse once per tree level, so an expression is bounded in length and depth
(``datagen.limits``) before it is compiled: a 20,000-term sum or ``-----...x`` is an ExprError, not a
RecursionError. The LALR parser itself is iterative, and parentheses leave no level in the tree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

from datagen.limits import MAX_DATE_OFFSET_DAYS, MAX_EXPR_CHARS, MAX_EXPR_DEPTH

_GRAMMAR = r"""
?start: sum
?sum: product | sum ADDOP product -> binop
?product: unary | product MULOP unary -> binop
?unary: "-" unary -> neg | atom
?atom: NUMBER "days" -> days
     | NUMBER -> number
     | NAME "(" [sum ("," sum)*] ")" -> call
     | NAME "." NAME -> column
     | NAME -> name
     | "(" sum ")"
ADDOP: "+" | "-"
MULOP: "*" | "/"
NAME: /[a-z][a-z0-9_]*/
NUMBER: /\d+(\.\d+)?/
%import common.WS
%ignore WS
"""

_PARSER = Lark(_GRAMMAR, parser="lalr")


class ExprError(ValueError):
    """A syntax error or an unknown name/function in an expression."""


Env = Mapping[str, Any]
Compiled = Callable[[Env], Any]


def _round_to(value: Any, places: int) -> Decimal:
    quantum = Decimal(1).scaleb(-places)
    return Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)


def _sum(values: list[Any]) -> Any:
    return sum(values, Decimal(0))


# The smallest coin in circulation, where it is larger than the currency's minor unit: cash payments are
# rounded to it (Malaysia since 2008, Switzerland, Canada since 2013 and Australia since 1992: 5 cents;
# New Zealand since 2006: 10 cents). Every other currency is paid to its minor unit, so there ``cash(x)``
# is ``money(x)``.
CASH_STEPS: dict[str, Decimal] = {
    "MYR": Decimal("0.05"),
    "CHF": Decimal("0.05"),
    "CAD": Decimal("0.05"),
    "AUD": Decimal("0.05"),
    "NZD": Decimal("0.10"),
}


def _cash(env: Env, x: Any) -> Decimal:
    """``x`` rounded half-up to the document currency's cash step, with the currency's minor digits."""
    places = env["__money_places__"]
    step = CASH_STEPS.get(env["currency_code"], Decimal(1).scaleb(-places))
    return _round_to((Decimal(x) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step, places) + 0  # + 0: no -0.00


def _up(x: Any, step: Any) -> Decimal:
    """``x`` rounded up (towards +infinity) to a multiple of ``step``: up(45.20, 10) = 50."""
    step = Decimal(step)
    if not step > 0:
        raise ExprError(f"up(x, step) needs a step above 0, not {step}")
    return (Decimal(x) / step).to_integral_value(rounding=ROUND_CEILING) * step


# name -> (min args, max args, implementation). The environment key ``__money_places__`` carries the
# currency's minor-unit digits (and ``currency_code`` the currency) so that ``money`` and ``cash`` need no
# global state.
FUNCTIONS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "round": (2, 2, lambda env, x, n: _round_to(x, int(n))),
    "money": (1, 1, lambda env, x: _round_to(x, env["__money_places__"])),
    "cash": (1, 1, _cash),
    "up": (2, 2, lambda env, x, step: _up(x, step)),
    "sum": (1, 1, lambda env, xs: _sum(xs)),
    "min": (2, 8, lambda env, *xs: min(xs)),
    "max": (2, 8, lambda env, *xs: max(xs)),
    "days": (1, 1, lambda env, n: dt.timedelta(days=int(n))),
    "int": (1, 1, lambda env, x: int(x)),
}


def _binop(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if isinstance(b, (int, Decimal)) and b == 0:
        raise ExprError("division by zero")
    return Decimal(a) / Decimal(b)


class Expression:
    """A parsed expression: ``names`` (for dependency order) and ``evaluate(env)``."""

    def __init__(self, source: str):
        self.source = source
        if len(source) > MAX_EXPR_CHARS:
            raise ExprError(f"expression of {len(source)} characters; at most {MAX_EXPR_CHARS}")
        try:
            tree = _PARSER.parse(source)
        except LarkError as exc:
            first_line = str(exc).strip().splitlines()[0]
            raise ExprError(f"cannot parse expression {source!r}: {first_line}") from None
        if _depth(tree) > MAX_EXPR_DEPTH:
            raise ExprError(
                f"expression nested more than {MAX_EXPR_DEPTH} levels deep (each call, sign and term of a sum or product is a level)"
            )
        self.names: set[str] = set()
        self.columns: set[tuple[str, str]] = set()
        self._fn = self._compile(tree)

    def evaluate(self, env: Env) -> Any:
        try:
            return self._fn(env)
        except KeyError as exc:
            raise ExprError(f"{self.source!r}: no value for {exc.args[0]!r}") from None
        except (TypeError, ArithmeticError) as exc:
            raise ExprError(f"{self.source!r}: {exc}") from None

    def _compile(self, node: Tree | Token) -> Compiled:
        """Turn the tree into nested closures once, so evaluation is a few calls per node."""
        if not isinstance(node, Tree):  # the grammar puts tokens only where the rules below read them as text
            raise ExprError(f"unsupported token {node!r} in {self.source!r}")  # pragma: no cover
        kind = node.data
        kids = node.children
        if kind == "number":
            text = str(kids[0])
            const: Any = Decimal(text) if "." in text else int(text)
            return lambda env: const
        if kind == "days":
            days = int(Decimal(str(kids[0])))
            if days > MAX_DATE_OFFSET_DAYS:  # timedelta and date arithmetic end near 2.7 million days
                raise ExprError(f"{kids[0]} days in {self.source!r}: at most {MAX_DATE_OFFSET_DAYS} days")
            delta = dt.timedelta(days=days)
            return lambda env: delta
        if kind == "name":
            name = str(kids[0])
            self.names.add(name)
            return lambda env: env[name]
        if kind == "column":
            table, col = str(kids[0]), str(kids[1])
            self.names.add(table)
            self.columns.add((table, col))
            return lambda env: [row[col] for row in env[table]]
        if kind == "neg":
            inner = self._compile(kids[0])
            return lambda env: -inner(env)
        if kind == "binop":
            left, op, right = self._compile(kids[0]), str(kids[1]), self._compile(kids[2])
            return lambda env: _binop(op, left(env), right(env))
        if kind == "call":
            fname = str(kids[0])
            args = [self._compile(k) for k in kids[1:] if k is not None]
            if fname not in FUNCTIONS:
                raise ExprError(f"unknown function {fname!r} in {self.source!r} (known: {', '.join(sorted(FUNCTIONS))})")
            lo, hi, impl = FUNCTIONS[fname]
            if not lo <= len(args) <= hi:
                raise ExprError(f"{fname}() takes {lo}..{hi} arguments in {self.source!r}")
            return lambda env: impl(env, *(a(env) for a in args))
        raise ExprError(f"unsupported construct {kind!r} in {self.source!r}")  # pragma: no cover


def _depth(tree: Tree) -> int:
    """Levels of the tree, counted without recursion (the point is to refuse trees too deep to recurse)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack += [(kid, level + 1) for kid in node.children if isinstance(kid, Tree)]
    return deepest


@lru_cache(maxsize=4096)
def parse(source: str) -> Expression:
    """Parse (and cache) an expression; raises ExprError with a one-line message."""
    return Expression(source)
