"""Sample one document from a template: typed values, their printed strings, and the style.

Randomness comes from one ``random.Random`` seeded by (template id, seed); Faker values come from
a pool whose entries are pure functions of their index (see ``FakerPool``), so a document is a pure
function of (template, seed, generator version).
Generators run in declaration order; expressions run afterwards in dependency order and consume no
randomness, so the order of expression evaluation never changes the data.

A page that overflows is laid out again with fewer line items (``datagen.pipeline.make_layout``). The rows
are drawn from their own generator and every random choice after them is independent of the values, so a
``Sampler`` draws a sample once and cuts it to any number of items in time independent of the rows it
drops: the document with ``k`` items is exactly the one a sample capped at ``k`` would have given.
A generator that fails at run time is a TemplateError naming its file, path and line.
"""

from __future__ import annotations

import datetime as dt
import graphlib
import hashlib
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from datagen.errors import DatagenError
from datagen.expr import parse
from datagen.limits import MAX_VALUE_CHARS
from datagen.printing import default_currency, formatter
from datagen.providers import new_faker
from datagen.template import MM, PAGE_SIZES_PT, Gen, Template

# Dates are sampled relative to a fixed day, never "today", so data does not change with the clock.
REFERENCE_DATE = dt.date(2025, 6, 30)
# What a generator may raise on values a template allows but cannot use (a string formatted as money,
# Decimal precision or a date range exhausted by an expression): reported as the generator's error.
_GENERATOR_ERRORS = (TypeError, ValueError, AttributeError, ArithmeticError)


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
    text_case: str  # the whole document's case (Style.text_case); label_case and every value follow it
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
        provider = gen.faker
        if provider is None:
            raise ValueError(f"not a Faker generator: {gen!r}")
        args_key = _args_key(gen)
        table = self.memo.setdefault((provider, args_key), {})
        index = rng.randrange(FAKER_POOL_SIZE)
        value = table.get(index)
        if value is None:
            self.fake.seed_instance(derive_seed(self.locale, provider, args_key, index))
            try:
                value = getattr(self.fake, provider)(**gen.args)
            except Exception as exc:  # third-party code run with the template's arguments: any failure is theirs
                raise ValueError(f"Faker {provider}() failed: {type(exc).__name__}: {exc}") from None
            chars = len(str(value))  # the args bound keeps this call cheap; this bound keeps the value printable
            if chars > MAX_VALUE_CHARS:
                raise ValueError(f"Faker {provider}() gave a value of {chars} characters; at most {MAX_VALUE_CHARS}")
            table[index] = value
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
    if template.items is None:
        return ()
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
            exact = Decimal(repr(value))
            if gen.format == "money":  # 2.4 -> 2.40: a price has the currency's minor digits
                exact = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            return exact
        return value
    if gen.int_ is not None:
        return rng.randint(*gen.int_)
    bounds = gen.money if gen.money is not None else gen.decimal
    if bounds is not None:
        lo, hi = bounds
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


def _label_case(drawn: str, text_case: str) -> str:
    """Labels follow a document printed all in one case; else the template's drawn ``label_case``."""
    return drawn if text_case == "as_is" else text_case


def sample_style(template: Template, rng: random.Random, text_case: str) -> DocStyle:
    s, page = template.style, template.page
    if page.width_mm is not None:  # size thermal (Page requires a roll width there only): as long as the document
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
        label_case=_label_case(rng.choice(s.label_case), text_case),
        text_case=text_case,
        page_width=width,
        page_height=height,
        margin=_uniform(rng, page.margin_mm) * MM,
    )


class Sampler:
    """One sample of (template, seed, attempt), cut to any number of line items by ``document``.

    Everything random is drawn here, once: the values, all ``n`` rows, the style, and the per-value
    printing choices. Only what depends on the rows kept is left to ``document``: the expressions over
    the items (subtotal, total), the printed values and the random state the layout continues from,
    which is the state after the kept rows' choices (recorded per row).
    """

    def __init__(self, template: Template, seed: int, locale: str | None = None, attempt: int = 0):
        rng = random.Random(derive_seed(template.id, seed, attempt) if attempt else derive_seed(template.id, seed))
        if locale is None:
            locale = rng.choice(template.locales)
        elif locale not in template.locales:
            raise DatagenError(f"template {template.id} does not support locale {locale!r} (supports: {', '.join(template.locales)})")
        self.template, self.seed, self.locale = template, seed, locale
        self.currency = template.currency.get(locale) or default_currency(locale)
        self.fmt = fmt = formatter(locale, self.currency)
        fake = faker_pool(locale)
        item_rng = random.Random(rng.getrandbits(64))

        self.env: dict[str, Any] = {"currency_code": self.currency, "__money_places__": fmt.places}
        self.gens = gens = {**template.vars, **template.fields}
        order = _expression_order(template)
        split = order.index("items") + 1 if "items" in order else 0
        self.after_items = order[split:]  # expressions evaluated per item count (all of them when there are no items)
        self.rows: list[dict[str, Any]] = []
        self.where: tuple[str, ...] = ()
        with self.located():
            for name, gen in gens.items():
                if gen.expr is None:
                    self.where = self.loc(name)
                    self.env[name] = _draw(gen, rng, fake, fmt.places)
            for name in order[:split]:
                if name == "items":
                    self.rows = self._sample_items(item_rng, fake)
                else:
                    self.where = self.loc(name)
                    self.env[name] = parse(gens[name].expr).evaluate(self.env)

        # drawn from its own stream, so that templates printing as_is only sample as before it existed
        text_case = random.Random(derive_seed(template.id, seed, attempt, "text_case")).choice(template.style.text_case)
        self.style = style = sample_style(template, rng, text_case)
        # None: absent; else the case it is printed in. Drawn in the order sample_document always drew them.
        self.cases = {k: None if g.absent > 0 and rng.random() < g.absent else rng.choice(g.case) for k, g in gens.items()}
        self.printed_rows: list[dict[str, str]] = []
        self.states = [rng.getstate()]  # the random state after the first k rows' printing choices
        if template.items:
            cols = template.items.columns
            with self.located():
                for row in self.rows:
                    printed = {}
                    for k, gen in cols.items():
                        self.where = ("items", "columns", k)
                        printed[k] = apply_case(apply_case(fmt.format(row[k], gen.format, style), rng.choice(gen.case)), text_case)
                    self.printed_rows.append(printed)
                    self.states.append(rng.getstate())

    def loc(self, name: str) -> tuple[str, str]:
        return ("vars" if name in self.template.vars else "fields", name)

    @contextmanager
    def located(self) -> Iterator[None]:
        """Report a generator's failure as a TemplateError at the generator (``self.where``)."""
        try:
            yield
        except _GENERATOR_ERRORS as exc:
            raise self.template.error(self.where, f"{exc} (seed {self.seed}, {self.locale})") from None

    @property
    def item_count(self) -> int:
        return len(self.rows)

    def _sample_items(self, rng: random.Random, fake: FakerPool) -> list[dict[str, Any]]:
        items = self.template.items
        if items is None:  # items are sampled only for a template that has them
            return []
        n = rng.randint(*items.count)
        places = self.env["__money_places__"]
        rows = []
        for _ in range(n):
            row: dict[str, Any] = {}
            for col, gen in items.columns.items():
                if gen.expr is None:
                    self.where = ("items", "columns", col)
                    row[col] = _draw(gen, rng, fake, places)
            scope = {**self.env, **row}
            for col in _row_order(self.template):
                gen = items.columns[col]
                if gen.expr is not None:
                    self.where = ("items", "columns", col)
                    scope[col] = row[col] = parse(gen.expr).evaluate(scope)
            rows.append(row)
        return rows

    def document(self, item_cap: int | None = None) -> Document:
        """The document with the first ``min(n, item_cap)`` rows (all ``n`` when ``item_cap`` is None)."""
        t = self.template
        k = self.item_count if item_cap is None else min(item_cap, self.item_count)
        env = dict(self.env)
        if t.items:
            env["items"] = self.rows[:k]
        printed: dict[str, str | None] = {}
        with self.located():
            for name in self.after_items:
                self.where = self.loc(name)
                env[name] = parse(self.gens[name].expr).evaluate(env)
            for key, gen in self.gens.items():
                self.where = self.loc(key)
                text = self.fmt.format(env[key], gen.format, self.style)
                case = self.cases[key]
                printed[key] = None if case is None else apply_case(apply_case(text, case), self.style.text_case)
        rng = random.Random()
        rng.setstate(self.states[k])
        values = {key: printed[key] for key in t.fields}
        var_values = {key: printed[key] for key in t.vars}
        typed = {key: v for key, v in env.items() if not key.startswith("__")}
        return Document(t, self.seed, self.locale, self.currency, values, self.printed_rows[:k], typed, var_values, self.style, rng)


def sample_document(template: Template, seed: int, locale: str | None = None, item_cap: int | None = None, attempt: int = 0) -> Document:
    """Sample values and style. ``item_cap`` limits line items and ``attempt`` > 0 draws a fresh sample
    for the same seed (both used when a page overflows)."""
    return Sampler(template, seed, locale, attempt).document(item_cap)
