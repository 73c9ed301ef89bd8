"""Sample one document from a template: typed values, their printed strings, and the style.

Randomness comes from one ``random.Random`` seeded by (template id, seed); Faker values come from
a pool whose entries are pure functions of their index (see ``FakerPool``), so a document is a pure
function of (template, seed, generator version).
Generators run in declaration order; expressions run afterwards in dependency order and consume no
randomness, so the order of expression evaluation never changes the data.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import hashlib
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from datagen.errors import DatagenError
from datagen.expr import ExprError, parse
from datagen.formatting import default_currency, formatter
from datagen.providers import new_faker
from datagen.template import Gen, Template

# Dates are sampled relative to a fixed day, never "today", so data does not change with the clock.
REFERENCE_DATE = dt.date(2025, 6, 30)
MM = 72 / 25.4  # points per millimetre
PAGE_SIZES_PT = {"a4": (595.28, 841.89), "letter": (612.0, 792.0)}


@dataclass
class DocStyle:
    """The per-document choices among the template's style ranges."""

    family: str
    size: float
    line_gap: float
    jitter: float
    ink: str
    paper: str
    money: str
    date: str
    time: str
    label_case: str
    page_width: float  # points
    page_height: float | None  # points; None for a thermal roll (height = content)
    margin: float  # points


@dataclass
class Document:
    """A sampled document, before layout."""

    template: Template
    seed: int
    locale: str
    currency: str
    values: dict[str, str | None]  # printed text per declared field; None = absent (not printed)
    items: list[dict[str, str]]  # printed text per line-item column
    typed: dict[str, Any]  # the typed values (Decimal, date, int, str) of vars, fields and items
    var_values: dict[str, str | None]  # printed text per var, for distractor blocks (not ground truth)
    style: DocStyle
    rng: random.Random  # continues into the layout, for its per-block choices

    @property
    def lang(self) -> str:
        return self.locale.split("_")[0]


def derive_seed(*parts: object) -> int:
    """A 64-bit seed from any parts; stable across processes (unlike ``hash``)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


# Faker values are drawn from a memoized pool of this many entries per (locale, provider, args).
# Entry i is a pure function of (locale, provider, args, i), so pooling keeps determinism while a
# large build calls Faker at most FAKER_POOL_SIZE times per provider instead of once per value
# (Faker costs 20-100 us a call; a document needs dozens of values).
FAKER_POOL_SIZE = 8192


class FakerPool:
    """One Faker instance per locale plus the memo of its pooled values."""

    def __init__(self, locale: str):
        self.locale = locale
        self.lang = locale.split("_")[0]
        self.fake = new_faker(locale)  # building a Faker costs milliseconds: one per locale
        self.memo: dict[tuple[str, str], dict[int, Any]] = {}

    def draw(self, gen: Gen, rng: random.Random) -> Any:
        args_key = _args_key(gen)
        table = self.memo.setdefault((gen.faker, args_key), {})
        index = rng.randrange(FAKER_POOL_SIZE)
        value = table.get(index)
        if value is None:
            self.fake.seed_instance(derive_seed(self.locale, gen.faker, args_key, index))
            value = table[index] = getattr(self.fake, gen.faker)(**gen.args)
        return value


@cache
def _args_key(gen: Gen) -> str:
    return repr(sorted(gen.args.items()))


@cache
def faker_pool(locale: str) -> FakerPool:
    return FakerPool(locale)


@cache
def _expression_order(template: Template) -> tuple[str, ...]:
    """Top-level names with an expression (plus ``items``) in dependency order."""
    graph: dict[str, list[str]] = {}
    for name, gen in (*template.vars.items(), *template.fields.items()):
        if gen.expr is not None:
            graph[name] = sorted(parse(gen.expr).names)
    if template.items:
        cols = template.items.columns
        deps = {n for g in cols.values() if g.expr is not None for n in parse(g.expr).names} - set(cols)
        graph["items"] = sorted(deps)
    order = graphlib.TopologicalSorter(graph).static_order()
    return tuple(n for n in order if n in graph)


@cache
def _row_order(template: Template) -> tuple[str, ...]:
    cols = template.items.columns
    graph = {k: sorted(parse(g.expr).names & set(cols)) if g.expr else [] for k, g in cols.items()}
    return tuple(graphlib.TopologicalSorter(graph).static_order())


def _uniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    return rng.uniform(bounds[0], bounds[1])


def _draw(gen: Gen, rng: random.Random, fake: FakerPool, places: int) -> Any:
    """Run a non-expression generator (``fake`` also gives the document's language)."""
    if gen.faker is not None:
        return fake.draw(gen, rng)
    if gen.choice is not None:
        options = gen.options(fake.lang)
        value = rng.choices(options, weights=gen.weights)[0] if gen.weights else rng.choice(options)
        if isinstance(value, float):
            value = Decimal(repr(value))
            if gen.format == "money":  # 2.4 -> 2.40: a price has the currency's minor digits
                value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return value
    if gen.int_ is not None:
        return rng.randint(*gen.int_)
    if gen.money is not None or gen.decimal is not None:
        lo, hi = gen.money or gen.decimal
        digits = places if gen.money is not None else gen.places
        raw = Decimal(repr(rng.uniform(lo, hi)))
        return raw.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if gen.date is not None:
        return REFERENCE_DATE + dt.timedelta(days=rng.randint(*gen.date))
    if gen.time is not None:
        lo, hi = (int(t[:2]) * 3600 + int(t[3:]) * 60 for t in gen.time)
        second = rng.randint(lo, hi)
        return dt.time(second // 3600, second // 60 % 60, second % 60)
    raise AssertionError(gen)  # pragma: no cover - Gen validates that one kind is set


def apply_case(text: str, case: str) -> str:
    if case == "upper":
        return text.upper()
    if case == "title":
        return text.title()
    return text


def sample_style(template: Template, rng: random.Random) -> DocStyle:
    s, page = template.style, template.page
    if page.size == "thermal":
        width, height = _uniform(rng, page.width_mm) * MM, None
    else:
        width, height = PAGE_SIZES_PT[page.size]
    return DocStyle(
        family=rng.choice(s.fonts),
        size=_uniform(rng, s.size_pt),
        line_gap=_uniform(rng, s.line_gap),
        jitter=_uniform(rng, s.jitter_pt),
        ink=rng.choice(s.ink),
        paper=rng.choice(s.paper),
        money=rng.choice(s.money),
        date=rng.choice(s.date),
        time=rng.choice(s.time),
        label_case=rng.choice(s.label_case),
        page_width=width,
        page_height=height,
        margin=_uniform(rng, page.margin_mm) * MM,
    )


def sample_document(template: Template, seed: int, locale: str | None = None, item_cap: int | None = None, attempt: int = 0) -> Document:
    """Sample values and style. ``item_cap`` limits line items and ``attempt`` > 0 draws a fresh sample
    for the same seed (both used when a page overflows)."""
    rng = random.Random(derive_seed(template.id, seed, attempt) if attempt else derive_seed(template.id, seed))
    if locale is None:
        locale = rng.choice(template.locales)
    elif locale not in template.locales:
        raise DatagenError(f"template {template.id} does not support locale {locale!r} (supports: {', '.join(template.locales)})")
    currency = template.currency.get(locale) or default_currency(locale)
    fmt = formatter(locale, currency)
    fake = faker_pool(locale)
    item_rng = random.Random(rng.getrandbits(64))

    env: dict[str, Any] = {"currency_code": currency, "__money_places__": fmt.places}
    gens = {**template.vars, **template.fields}
    where = "vars/fields"
    try:
        for name, gen in gens.items():
            if gen.expr is None:
                where = name
                env[name] = _draw(gen, rng, fake, fmt.places)
        for name in _expression_order(template):
            where = name
            if name == "items":
                env["items"] = _sample_items(template, item_rng, fake, env, item_cap)
            else:
                env[name] = parse(gens[name].expr).evaluate(env)
    except (ExprError, TypeError, ValueError, AttributeError) as exc:
        raise DatagenError(f"{template.source or template.id}: {where}: {exc}") from None

    style = sample_style(template, rng)
    printed: dict[str, str | None] = {}
    for key, gen in gens.items():
        absent = gen.absent > 0 and rng.random() < gen.absent
        text = fmt.format(env[key], gen.format, style)
        printed[key] = None if absent else apply_case(text, rng.choice(gen.case))
    values = {k: printed[k] for k in template.fields}
    var_values = {k: printed[k] for k in template.vars}
    items = []
    if template.items:
        cols = template.items.columns
        for row in env.get("items", []):
            items.append({k: apply_case(fmt.format(row[k], cols[k].format, style), rng.choice(cols[k].case)) for k in cols})
    typed = {k: v for k, v in env.items() if not k.startswith("__")}
    return Document(template, seed, locale, currency, values, items, typed, var_values, style, rng)


def _sample_items(template: Template, rng: random.Random, fake: FakerPool, env: dict[str, Any], cap: int | None) -> list[dict[str, Any]]:
    items = template.items
    lo, hi = items.count
    n = rng.randint(lo, hi)
    if cap is not None:
        n = min(n, cap)
    places = env["__money_places__"]
    rows = []
    for _ in range(n):
        row: dict[str, Any] = {}
        for col, gen in items.columns.items():
            if gen.expr is None:
                row[col] = _draw(gen, rng, fake, places)
        scope = {**env, **row}
        for col in _row_order(template):
            gen = items.columns[col]
            if gen.expr is not None:
                scope[col] = row[col] = parse(gen.expr).evaluate(scope)
        rows.append(row)
    return rows
