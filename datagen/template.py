"""Templates: YAML data describing a document family, validated strictly before use.

A template declares the doc type, page geometry, styling ranges, value generators for the doc type's
keys (Faker providers, choices, ranges, or safe expressions), line items, augmentation
probabilities and a tree of layout blocks. ``load_template`` checks the structure with pydantic and
then the meaning (unknown keys, providers, names in expressions, cycles, blocks that reference
undeclared fields, labels missing for a locale's language); glyph coverage needs sampled documents and
lives in ``datagen.validate``. Translated labels live once, in the label catalogue (``templates/labels/``,
one file per language); a template lists only the labels that are its own.
Every error names the file, the path inside it and the YAML line. Every size, count and depth is bounded
(``datagen.limits``), so a template that loads renders in bounded time and memory.
"""

from __future__ import annotations

import graphlib
import math
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import yaml
from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from faker.config import AVAILABLE_LOCALES
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from datagen.doctypes import DOC_TYPES, LINE_ITEM_COLUMNS, DocType
from datagen.errors import TemplateError
from datagen.expr import ExprError, parse
from datagen.fonts import Family
from datagen.limits import (
    FONT_PT,
    JITTER_PT,
    LINE_GAP,
    MARGIN_MM,
    MAX_BLOCK_DEPTH,
    MAX_DATE_OFFSET_DAYS,
    MAX_FAKER_ARG,
    MAX_ITEMS,
    MAX_LENGTH_PT,
    MAX_NUMBER,
    MAX_PLACES,
    MAX_TEMPLATE_BYTES,
    MAX_WEIGHT,
    MAX_YAML_DEPTH,
    MIN_CONTENT_MM,
    ROLL_WIDTH_MM,
    SCALE,
    within,
)
from datagen.printing import default_currency, formatter
from datagen.providers import new_faker

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
LABEL_DIR = TEMPLATE_DIR / "labels"  # the label catalogue: <lang>.yaml, label key -> variants
MM = 72 / 25.4  # points per millimetre
PAGE_SIZES_PT = {"a4": (595.28, 841.89), "letter": (612.0, 792.0)}

T = TypeVar("T")
# A list of alternatives, one drawn per document: an empty one would leave nothing to draw.
Alternatives = Annotated[list[T], Field(min_length=1)]
Amount = Annotated[tuple[float, float], within(-MAX_NUMBER, MAX_NUMBER)]
Whole = Annotated[tuple[int, int], within(-MAX_NUMBER, MAX_NUMBER)]
Days = Annotated[tuple[int, int], within(-MAX_DATE_OFFSET_DAYS, MAX_DATE_OFFSET_DAYS)]
Fraction = Annotated[tuple[float, float], within(0.0, 1.0)]
Length = Annotated[tuple[float, float], within(0.0, MAX_LENGTH_PT)]
Scale = Annotated[tuple[float, float], within(*SCALE)]
Weight = Annotated[float, Field(gt=0, le=MAX_WEIGHT, allow_inf_nan=False)]


def _check_times(value: tuple[str, str]) -> tuple[str, str]:
    for text in value:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
            raise ValueError(f"time {text!r} is not HH:MM")
    if value[0] > value[1]:
        raise ValueError(f"range [{value[0]}, {value[1]}] has low > high")
    return value


# a label catalogue key: a field's or var's name, or a label_key
LABEL_KEY = r"^[a-z][a-z0-9_]*$"


def _check_labels(value: list[str] | dict[str, list[str]]) -> list[str] | dict[str, list[str]]:
    if not value or any(not variants for variants in (value.values() if isinstance(value, dict) else [value])):
        raise ValueError("label variants must not be empty (one is drawn per document)")
    return value


TimeRange = Annotated[tuple[str, str], AfterValidator(_check_times)]
Align = Literal["left", "center", "right"]
Case = Literal["as_is", "upper", "title"]
ValueFormat = Literal["money", "percent", "number", "int", "date", "time", "text"]
MoneyStyle = Literal["plain", "symbol", "code", "nogroup"]
BARE_MONEY = ("plain", "nogroup")  # the money styles that print an amount without its currency
# Label variants: a list (every language), or a mapping from language ("en", "de", ...) to a list. A field's or
# var's languages it does not list come from the label catalogue (Template.labels_for); a block's fall back to "en".
Labels = Annotated[list[str] | dict[str, list[str]], AfterValidator(_check_labels)]


def _check_number(value: Any, bound: float, what: str) -> None:
    """Refuse a number (not a bool) that is NaN, infinite or larger than ``bound`` in magnitude."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not (math.isfinite(value) and abs(value) <= bound):
        raise ValueError(f"{what} {value} is outside [-{bound}, {bound}]")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Gen(Strict):
    """How one value is produced: exactly one of the generator kinds, plus formatting."""

    faker: str | None = None
    args: dict[str, Any] = {}
    # alternatives (floats become exact Decimals), or language -> alternatives of equal length: the
    # same index is drawn in every language, so "Married"/"Verheiratet" is one value in two languages
    choice: list[str | int | float] | dict[str, list[str | int | float]] | None = None
    weights: list[Annotated[float, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False)]] | None = None
    int_: Whole | None = Field(None, alias="int")
    money: Amount | None = None
    decimal: Amount | None = None
    places: int = Field(2, ge=0, le=MAX_PLACES)
    date: Days | None = None  # days relative to datagen.sample.REFERENCE_DATE
    time: TimeRange | None = None  # ["07:00", "22:30"]: a time of day (to the second)
    expr: str | None = None
    format: ValueFormat | None = None  # inferred from the value's type when omitted
    case: Alternatives[Case] = ["as_is"]
    absent: float = Field(0.0, ge=0.0, le=1.0)  # probability that the value is not printed
    labels: Labels | None = None  # default label variants for pair/input blocks
    # the label catalogue's key for the languages ``labels`` does not list (default: the field's or var's
    # name), where the name differs from the label's meaning: a receipt's ``tax`` is "incl. VAT"
    label_key: Annotated[str, StringConstraints(pattern=LABEL_KEY)] | None = None

    __hash__ = object.__hash__  # identity: generators key per-generator memos (Faker pools)

    @field_validator("args")
    @classmethod
    def _faker_args(cls, v: dict[str, Any]) -> dict[str, Any]:
        """Numbers passed to Faker are lengths and counts: ``pystr(max_chars=3e8)`` builds a 300 MB string.
        Numeric ranges have their own generators (int, money, decimal), so args need no large numbers."""
        stack = list(v.items())
        while stack:
            name, value = stack.pop()
            if isinstance(value, dict):
                stack += [(f"{name}.{k}", x) for k, x in value.items()]
            elif isinstance(value, list):
                stack += [(name, x) for x in value]
            else:
                _check_number(value, MAX_FAKER_ARG, f"Faker argument {name}:")
        return v

    @field_validator("choice")
    @classmethod
    def _choice_numbers(cls, v: Any) -> Any:
        for option in [x for xs in v.values() for x in xs] if isinstance(v, dict) else v or []:
            _check_number(option, MAX_NUMBER, "choice")
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> Gen:
        kinds = [k for k in ("faker", "choice", "int_", "money", "decimal", "date", "time", "expr") if getattr(self, k) is not None]
        if len(kinds) != 1:
            names = ", ".join(k.rstrip("_") for k in kinds) or "none"
            raise ValueError(f"give exactly one of faker, choice, int, money, decimal, date, time, expr (got {names})")
        if isinstance(self.choice, dict):
            lengths = {len(v) for v in self.choice.values()}
            if len(lengths) != 1 or 0 in lengths:
                raise ValueError("choice lists for the languages must be non-empty and of equal length")
        elif self.choice == []:
            raise ValueError("choice needs at least one alternative")
        if self.weights is not None and (self.choice is None or len(self.weights) != len(self.options("en"))):
            raise ValueError("weights needs a choice list of the same length")
        if self.weights is not None and not sum(self.weights) > 0:
            raise ValueError("weights must not all be 0")
        return self

    def options(self, lang: str) -> list[str | int | float]:
        """The choice alternatives in ``lang`` (``en`` is the fallback, then the first language)."""
        if isinstance(self.choice, dict):
            return self.choice.get(lang) or self.choice.get("en") or next(iter(self.choice.values()))
        return self.choice or []

    @property
    def kind(self) -> str:
        return next(k for k in ("faker", "choice", "int_", "money", "decimal", "date", "time", "expr") if getattr(self, k) is not None)


class Items(Strict):
    count: Annotated[tuple[int, int], within(0, MAX_ITEMS)]
    columns: dict[str, Gen]


class Page(Strict):
    size: Literal["a4", "letter", "thermal"]
    width_mm: Annotated[tuple[float, float], within(*ROLL_WIDTH_MM)] | None = None  # thermal only: roll width
    margin_mm: Annotated[tuple[float, float], within(*MARGIN_MM)] = (12.0, 20.0)

    @model_validator(mode="after")
    def _thermal_width(self) -> Page:
        if (self.size == "thermal") != (self.width_mm is not None):
            raise ValueError("width_mm is required for size thermal and not allowed otherwise")
        narrowest = self.width_mm[0] if self.width_mm else PAGE_SIZES_PT[self.size][0] / MM
        if narrowest - 2 * self.margin_mm[1] < MIN_CONTENT_MM:
            raise ValueError(f"the widest margins leave under {MIN_CONTENT_MM} mm of a {narrowest:g} mm page for content")
        return self


class Style(Strict):
    fonts: Alternatives[Family]
    size_pt: Annotated[tuple[float, float], within(*FONT_PT)]
    line_gap: Annotated[tuple[float, float], within(*LINE_GAP)] = (0.15, 0.35)  # extra leading as a fraction of the font size
    jitter_pt: Annotated[tuple[float, float], within(*JITTER_PT)] = (0.0, 0.0)  # per-word random offset, for a less perfect print
    ink: Alternatives[str] = ["#000000"]
    paper: Alternatives[str] = ["#ffffff"]
    money: Alternatives[MoneyStyle] = ["plain"]
    date: Alternatives[str] = ["medium"]  # CLDR patterns ("dd/MM/yyyy") or short|medium|long
    time: Alternatives[str] = ["HH:mm"]  # CLDR patterns ("HH:mm:ss", "h:mm a") or short|medium
    label_case: Alternatives[Case] = ["as_is"]
    # the case of ALL the document's text (values, items, labels, prose): ``upper`` is a printer that
    # prints capitals only, as most thermal and dot-matrix receipt printers do; ``as_is`` keeps each
    # value's own ``case`` and the ``label_case``
    text_case: Alternatives[Case] = ["as_is"]

    @field_validator("ink", "paper")
    @classmethod
    def _colours(cls, v: list[str]) -> list[str]:
        for colour in v:
            if not (len(colour) == 7 and colour[0] == "#" and all(c in "0123456789abcdefABCDEF" for c in colour[1:])):
                raise ValueError(f"colour {colour!r} is not #rrggbb")
        return v


class BlockBase(Strict):
    p: float = Field(1.0, ge=0.0, le=1.0)  # probability that the block appears at all
    # only on documents in these locales (None: all); a block skipped for its locale draws no randomness
    locales: Alternatives[str] | None = None
    # only on documents whose var (or field) drew one of these choices: {date_at: [footer]}; blocks with
    # disjoint lists of one choice var are exclusive (a value printed in exactly one of several places).
    # A block skipped for it draws no randomness.
    when: dict[str, Alternatives[str]] | None = None


class TextBlock(BlockBase):
    type: Literal["text"]
    field: str | None = None
    var: str | None = None  # a var's value: printed, but not ground truth (a distractor)
    text: Labels | None = None  # literal text variants
    bold: float = Field(0.0, ge=0.0, le=1.0)  # probability of the bold face
    family: Alternatives[Family] | None = None
    scale: Scale = (1.0, 1.0)
    align: Alternatives[Align] = ["left"]

    @model_validator(mode="after")
    def _one_source(self) -> TextBlock:
        if sum(x is not None for x in (self.field, self.var, self.text)) != 1:
            raise ValueError("a text block needs exactly one of field, var, text")
        return self


class PairBlock(BlockBase):
    type: Literal["pair"]
    field: str | None = None
    var: str | None = None  # a var's value: printed with its label, but not ground truth
    label: Labels | None = None  # defaults to the field's (or var's) labels
    arrange: Alternatives[Literal["inline", "split", "stacked"]] = ["inline"]
    sep: Alternatives[str] = [":"]
    # more separators that name the currency (" RM", " (RM)"), drawn among ``sep`` only where the money
    # style prints amounts bare (``plain``, ``nogroup``): a label never repeats what "RM45.25" shows
    sep_currency: list[str] = []
    bold_label: float = Field(0.0, ge=0.0, le=1.0)
    bold_value: float = Field(0.0, ge=0.0, le=1.0)
    scale: Scale = (1.0, 1.0)
    align: Alternatives[Align] = ["left"]

    @model_validator(mode="after")
    def _one_source(self) -> PairBlock:
        if (self.field is None) == (self.var is None):
            raise ValueError("a pair block needs exactly one of field, var")
        return self

    @property
    def source(self) -> str:
        """The field or var whose value the block prints."""
        source = self.field if self.field is not None else self.var
        if source is None:  # pragma: no cover - _one_source requires one
            raise ValueError("a pair block needs exactly one of field, var")
        return source


class TableColumn(Strict):
    key: str
    header: Labels
    width: Weight
    align: Align = "left"


class TableBlock(BlockBase):
    type: Literal["table"]
    columns: list[TableColumn]
    style: Alternatives[Literal["grid", "lines", "plain", "two_line"]] = ["lines"]
    header: float = Field(1.0, ge=0.0, le=1.0)  # probability of a header row
    scale: Scale = (1.0, 1.0)


class RuleBlock(BlockBase):
    type: Literal["rule"]
    dashed: float = Field(0.0, ge=0.0, le=1.0)
    thickness_pt: Length = (0.5, 1.0)


class SpacerBlock(BlockBase):
    type: Literal["spacer"]
    height_pt: Length


class LogoBlock(BlockBase):
    type: Literal["logo"]
    field: str  # initials are taken from this field's value
    shape: Alternatives[Literal["circle", "square", "diamond", "bar"]] = ["circle"]
    size_pt: Length = (24.0, 40.0)
    align: Alternatives[Align] = ["left"]


class BarcodeBlock(BlockBase):
    type: Literal["barcode"]
    height_pt: Length = (18.0, 30.0)
    width: Fraction = (0.5, 0.8)  # fraction of the available width


class InputBlock(BlockBase):
    type: Literal["input"]
    field: str
    label: Labels | None = None
    arrange: Alternatives[Literal["above", "left"]] = ["above"]
    frame: Alternatives[Literal["box", "underline"]] = ["box"]
    family: Alternatives[Family] = ["hand"]  # the "handwriting" of the filled-in value
    scale: Scale = (1.0, 1.3)


class CheckboxBlock(BlockBase):
    type: Literal["checkboxes"]
    field: str  # must have a choice generator: the options are the choices
    label: Labels | None = None


class ColumnsBlock(BlockBase):
    type: Literal["columns"]
    widths: Alternatives[Weight]
    gap_pt: float = Field(12.0, ge=0, le=MAX_LENGTH_PT)
    children: list[list[Block]]
    # the columns' lines are one printed line each (line i of every column shares a line id), as a till prints
    # "19/10/2018 20:49:59 T01" in fixed columns; otherwise each column's lines are lines of their own
    same_line: bool = False

    @model_validator(mode="after")
    def _same_length(self) -> ColumnsBlock:
        if len(self.widths) != len(self.children):
            raise ValueError("widths and children need the same length")
        return self


class BoxBlock(BlockBase):
    type: Literal["box"]
    title: Labels | None = None
    padding_pt: float = Field(4.0, ge=0, le=MAX_LENGTH_PT)
    children: list[Block]


Block = Annotated[
    TextBlock
    | PairBlock
    | TableBlock
    | RuleBlock
    | SpacerBlock
    | LogoBlock
    | BarcodeBlock
    | InputBlock
    | CheckboxBlock
    | ColumnsBlock
    | BoxBlock,
    Field(discriminator="type"),
]
ColumnsBlock.model_rebuild()
BoxBlock.model_rebuild()


class Template(Strict):
    id: str
    doc_type: DocType
    description: str = ""
    locales: list[str] = Field(min_length=1)
    currency: dict[str, str] = {}  # locale -> ISO code; default: the locale's territory currency
    page: Page
    style: Style
    augment: dict[str, dict[str, Any]] = {}
    vars: dict[str, Gen] = {}
    items: Items | None = None
    fields: dict[str, Gen]
    blocks: list[Block]
    source: str = Field("", exclude=True)  # the file it came from, for error messages
    # The YAML node tree it was read from: errors found later (while sampling or laying out) name the line too.
    _root: yaml.Node | None = PrivateAttr(None)

    # Identity hash: templates key the per-template caches (evaluation order, fonts) of later stages.
    __hash__ = object.__hash__

    def error(self, loc: tuple[Any, ...], message: str) -> TemplateError:
        """A TemplateError at ``loc`` (a path such as ``("fields", "total")``) with the file and YAML line."""
        return TemplateError(self.source or self.id, _format_loc(loc, self._root), message, _line_of(self._root, loc))

    def labels_for(self, key: str, lang: str) -> list[str] | None:
        """The default label variants of field or var ``key`` in ``lang`` (``_resolve_labels``); None for an unknown key."""
        gen = self.fields.get(key) or self.vars.get(key)
        return None if gen is None else _resolve_labels(gen, key, lang)


def _resolve_labels(gen: Gen, key: str, lang: str) -> list[str] | None:
    """A template's own list wins (its wording: a receipt's ladder of totals, SROIE's English); a language it
    does not list comes from the label catalogue, so a translation is written once for every template. None
    where neither has one: loading refuses that where a block prints the label (``_Checker._check_label_languages``);
    a field labelled nowhere is printed as its key in words."""
    if isinstance(gen.labels, list):
        return gen.labels
    if gen.labels is not None and lang in gen.labels:
        return gen.labels[lang]
    return label_catalogue().get(lang, {}).get(gen.label_key or key)


# --------------------------------------------------------------------------- loading


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Follow a pydantic error location through the YAML node tree; return the 1-based line.

    Locations contain extra steps (union tags, ``function-after``) that are not in the document:
    they are skipped, so the deepest node that exists gives the line (a mapping entry's key line).
    """
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == step), None)
            if pair is not None:
                line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
    return line


def _format_loc(loc: tuple[Any, ...], root: yaml.Node | None) -> str:
    """A readable path such as ``blocks[3].field``, keeping only steps that exist in the YAML."""
    if root is None:  # a template built in code: every step is real
        return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in loc).lstrip(".")
    out, node = "", root
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == step), None)
            if match is None:
                if isinstance(step, str) and not out:
                    out = step
                elif isinstance(step, str) and step in {"int", "args"} | set(Gen.model_fields):
                    out += f".{step}"
                continue
            out += f".{step}" if out else str(step)
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            out += f"[{step}]"
            node = node.value[step] if step < len(node.value) else None
    return out


class _TemplateLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases and bounding nesting.

    An alias (``*name``) repeats a node without repeating its text: ten lines of aliases to aliases make a
    4 KB file of a million blocks ("billion laughs"). No template needs one (the shipped ones use none),
    so aliases are refused outright rather than budgeted. The composer recurses once per nesting level,
    so ``[[[[...]]]]`` would end in a RecursionError; MAX_YAML_DEPTH stops it first.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, f"YAML aliases (*{event.anchor}) are not allowed in templates: write the value out", event.start_mark
            )
        if self._depth == MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _read_text(path: Path, shown: str) -> str:
    """The file as text: at most MAX_TEMPLATE_BYTES (parsing is linear but slow), and UTF-8, located."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_TEMPLATE_BYTES + 1)
    except OSError as exc:
        raise TemplateError(shown, "", f"cannot read: {exc.strerror}") from None
    if len(raw) > MAX_TEMPLATE_BYTES:
        line = raw[:MAX_TEMPLATE_BYTES].count(b"\n") + 1
        raise TemplateError(shown, "", f"larger than {MAX_TEMPLATE_BYTES // 1024} KiB (the limit is passed on this line)", line)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TemplateError(shown, "", f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded; save the file as UTF-8", line) from None


def _parse_yaml(text: str, shown: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for error lines) and the data, from one parse."""
    loader = None
    try:
        loader = _TemplateLoader(text)  # the reader refuses control characters right here
        root = loader.get_single_node()
        return root, None if root is None else loader.construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        if isinstance(exc, yaml.reader.ReaderError):  # a control character: located by its position
            line = text[: exc.position].count("\n") + 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TemplateError(shown, "", f"invalid YAML: {problem}", line) from None
    finally:
        if loader is not None:
            loader.dispose()


def _located(exc: ValidationError, shown: str, root: yaml.Node | None) -> TemplateError:
    """Pydantic's first error as one located line: the file, the path in it and the YAML line."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    return TemplateError(shown, _format_loc(loc, root), err["msg"].removeprefix("Value error, "), _line_of(root, loc))


def load_template(path: str | Path) -> Template:
    """Read, parse and fully check one template file (structure and meaning)."""
    path = Path(path)
    shown = str(path)
    root, data = _parse_yaml(_read_text(path, shown), shown)
    if not isinstance(data, dict):
        raise TemplateError(shown, "", "a template must be a YAML mapping", 1)
    try:
        template = Template.model_validate({**data, "source": shown})
    except ValidationError as exc:
        raise _located(exc, shown, root) from None
    template._root = root
    _Checker(template).run()
    return template


def template_path(template_id_or_path: str) -> Path:
    """Resolve ``receipt/thermal-basic`` (shipped) or a path to a YAML file."""
    candidate = Path(template_id_or_path)
    if candidate.suffix in {".yaml", ".yml"}:
        return candidate
    return TEMPLATE_DIR / f"{template_id_or_path}.yaml"


def list_templates(directory: Path = TEMPLATE_DIR) -> list[Path]:
    """Every template file: ``<doc_type>/<name>.yaml``, not the label catalogue's ``labels/<lang>.yaml``."""
    return sorted(p for p in directory.glob("*/*.yaml") if p.parent.name != LABEL_DIR.name)


@cache
def load_template_cached(template_id_or_path: str) -> Template:
    return load_template(template_path(template_id_or_path))


# --------------------------------------------------------------------------- the label catalogue


def _distinct(variants: list[str]) -> list[str]:
    """A variant listed twice would be drawn twice as often: a catalogue list is a set of wordings."""
    twice = next((v for i, v in enumerate(variants) if v in variants[:i]), None)
    if twice is not None:
        raise ValueError(f"variant {twice!r} is listed twice")
    return variants


# one catalogue file: label key -> its variants in the file's language (non-empty, each with a visible character)
_LABEL_FILE = TypeAdapter(
    dict[
        Annotated[str, StringConstraints(pattern=LABEL_KEY)],
        Annotated[Alternatives[Annotated[str, StringConstraints(pattern=r"\S")]], AfterValidator(_distinct)],
    ]
)


@cache
def _faker_languages() -> frozenset[str]:
    """The languages documents are drawn in: a document's language is its Faker locale's prefix (de_DE -> de)."""
    return frozenset(locale.split("_")[0] for locale in AVAILABLE_LOCALES)


def _load_label_file(path: Path) -> dict[str, list[str]]:
    """One ``<lang>.yaml``, read like a template (bounded, no aliases) and checked, errors located."""
    shown = str(path)
    if path.stem not in _faker_languages():
        raise TemplateError(shown, "", f"{path.stem!r} is not the language of any Faker locale: name the file after one (de.yaml)", None)
    root, data = _parse_yaml(_read_text(path, shown), shown)
    if not isinstance(data, dict):
        raise TemplateError(shown, "", "a label catalogue file must be a YAML mapping from label key to variants", 1)
    try:
        return _LABEL_FILE.validate_python(data)
    except ValidationError as exc:
        raise _located(exc, shown, root) from None


def load_label_catalogue(directory: Path = LABEL_DIR) -> dict[str, dict[str, list[str]]]:
    """Language -> label key -> variants, from every ``<lang>.yaml`` in ``directory``."""
    return {path.stem: _load_label_file(path) for path in sorted(directory.glob("*.yaml"))}


@cache
def label_catalogue() -> dict[str, dict[str, list[str]]]:
    """The shipped catalogue, read once per process (every template's check and every label use it)."""
    return load_label_catalogue(LABEL_DIR)


# --------------------------------------------------------------------------- meaning


# Providers whose output depends on today's date or the clock (Faker's date_time provider, card expiry
# dates): a template using them would not reproduce. Templates use the date and time generators.
_CLOCK_DEPENDENT = {"credit_card_expire", "credit_card_full"}


@cache
def _clock_providers() -> frozenset[str]:
    from faker.providers.date_time import Provider as DateTimeProvider

    names = {n for n, v in vars(DateTimeProvider).items() if not n.startswith("_") and callable(v)}
    return frozenset(names - {"timezone", "pytimezone", "century", "am_pm"} | _CLOCK_DEPENDENT)


_FAKER_INFRA = {
    "seed",
    "seed_instance",
    "seed_locale",
    "add_provider",
    "get_providers",
    "provider",
    "set_formatter",
    "get_formatter",
    "set_arguments",
    "del_arguments",
    "get_arguments",
    "format",
    "parse",
}


@cache
def faker_providers(locale: str) -> frozenset[str]:
    """Public provider methods available for ``locale`` (the names a template may use)."""
    fake = new_faker(locale)
    names = {
        name
        for provider in fake.providers
        for name in dir(provider)
        if not name.startswith("_") and callable(getattr(provider, name, None))
    }
    return frozenset(names - _FAKER_INFRA)


class _Checker:
    """Finds the first semantic error and raises it with its location."""

    def __init__(self, template: Template):
        self.t = template

    def fail(self, loc: tuple[Any, ...], message: str) -> NoReturn:
        raise self.t.error(loc, message)

    def run(self) -> None:
        t = self.t
        if not t.id.startswith(f"{t.doc_type}/"):
            self.fail(("id",), f"id must start with the doc type, e.g. '{t.doc_type}/{t.id.split('/')[-1]}'")
        for locale in t.currency:
            if locale not in t.locales:
                self.fail(("currency", locale), f"currency given for undeclared locale {locale!r}")
        for i, locale in enumerate(t.locales):
            self._check_locale(i, locale)
        schema = DOC_TYPES[t.doc_type]
        for key in t.fields:
            if key not in schema:
                self.fail(("fields", key), f"{key!r} is not a key of doc type {t.doc_type} (keys: {', '.join(schema)})")
            if key in t.vars:
                self.fail(("vars", key), f"{key!r} is declared both as a var and as a field")
        if t.items:
            for col in t.items.columns:
                if col not in LINE_ITEM_COLUMNS:
                    self.fail(("items", "columns", col), f"unknown line-item column {col!r} (columns: {', '.join(LINE_ITEM_COLUMNS)})")
        self._check_generators()
        self._check_blocks()
        self._check_label_languages()
        self._check_augment()

    def _check_locale(self, index: int, locale: str) -> None:
        """Faker must know the locale, and Babel must print in it (with its currency): both run per document."""
        if locale not in AVAILABLE_LOCALES:
            self.fail(("locales", index), f"unknown Faker locale {locale!r}")
        try:
            Locale.parse(locale)
        except (ValueError, UnknownLocaleError):
            self.fail(("locales", index), f"Babel has no locale {locale!r} to print dates and amounts in")
        code = self.t.currency.get(locale)
        if code is not None and code not in _iso_currencies():
            self.fail(("currency", locale), f"unknown ISO 4217 currency {code!r}")
        formatter(locale, code or default_currency(locale))  # built (and cached) now: a pair Babel cannot print fails here

    def _gens(self) -> list[tuple[tuple[Any, ...], Gen]]:
        out: list[tuple[tuple[Any, ...], Gen]] = [(("vars", k), g) for k, g in self.t.vars.items()]
        out += [(("fields", k), g) for k, g in self.t.fields.items()]
        if self.t.items:
            out += [(("items", "columns", k), g) for k, g in self.t.items.columns.items()]
        return out

    def _check_generators(self) -> None:
        t = self.t
        top_names = set(t.vars) | set(t.fields) | {"items", "currency_code"}
        item_cols = set(t.items.columns) if t.items else set()
        graph: dict[str, set[str]] = {}
        row_graph: dict[str, set[str]] = {}
        for loc, gen in self._gens():
            in_row = loc[0] == "items"
            if gen.kind == "faker":
                if gen.faker in _clock_providers():
                    self.fail(
                        (*loc, "faker"),
                        f"Faker provider {gen.faker!r} depends on today's date or the clock and would not reproduce; use the date or time generator",
                    )
                for locale in t.locales:
                    if gen.faker not in faker_providers(locale):
                        self.fail((*loc, "faker"), f"unknown Faker provider {gen.faker!r} for locale {locale}")
            if gen.kind != "expr":
                (row_graph if in_row else graph)[loc[-1]] = set()
                continue
            try:
                expr = parse(gen.expr)
            except ExprError as exc:
                self.fail((*loc, "expr"), str(exc))
            allowed = top_names | (item_cols if in_row else set())
            for name in sorted(expr.names):
                if name not in allowed:
                    self.fail((*loc, "expr"), f"unknown name {name!r} in {gen.expr!r}")
            for table, col in sorted(expr.columns):
                if table != "items" or col not in item_cols:
                    self.fail((*loc, "expr"), f"unknown column {table}.{col} in {gen.expr!r}")
            if in_row:
                row_graph[loc[-1]] = expr.names & item_cols
                # a row may use top-level vars; record them as dependencies of the item table
                graph.setdefault("items", set()).update(expr.names - item_cols)
            else:
                graph[loc[-1]] = set(expr.names)
        if t.items:
            graph.setdefault("items", set())
        for g, where in ((graph, ("fields",)), (row_graph, ("items", "columns"))):
            try:
                list(graphlib.TopologicalSorter(g).static_order())
            except graphlib.CycleError as exc:
                cycle = exc.args[1]
                first = cycle[0]
                loc = (*where, first) if first in (t.fields if where == ("fields",) else item_cols) else ("vars", first)
                self.fail(loc, f"cyclic dependency: {' -> '.join(cycle)}")

    def _check_label_languages(self) -> None:
        """Every block that prints a field's (or var's) default label finds variants in the language of each locale
        it is laid out in, the template's own or the catalogue's: a document never borrows another language's
        label, and a missing translation is found here, not in a build. A field labelled nowhere (no labels of
        its own, no catalogue entry) is printed as its name in words, as a draft template is."""
        known = {key for entries in label_catalogue().values() for key in entries}
        for section, gens in (("vars", self.t.vars), ("fields", self.t.fields)):
            for name, gen in gens.items():
                if gen.label_key is not None and gen.label_key not in known:
                    self.fail(
                        (section, name, "label_key"),
                        f"label_key {gen.label_key!r} is in no file of the label catalogue ({LABEL_DIR.name}/)",
                    )
        for name, where, locales in _default_labels(self.t.blocks, ("blocks",), self.t.locales):
            section, gen = ("fields", self.t.fields[name]) if name in self.t.fields else ("vars", self.t.vars[name])
            key = gen.label_key or name
            if gen.labels is None and key not in known:
                continue
            for locale in locales:
                lang = locale.split("_")[0]
                if _resolve_labels(gen, name, lang) is None:
                    listed = ", ".join(gen.labels) if isinstance(gen.labels, dict) else "none"
                    self.fail(
                        (section, name, "labels") if gen.labels is not None else (section, name),
                        f"no {lang!r} label for locale {locale}, in which {_format_loc(where, self.t._root)} prints it: the"
                        f" template's labels have {listed} and the catalogue's {LABEL_DIR.name}/{lang}.yaml has no {key!r}; add one to either",
                    )

    def _check_blocks(self) -> None:
        fields = self.t.fields
        item_cols = set(self.t.items.columns) if self.t.items else set()
        for block, here, _, depth in _walk_blocks(self.t.blocks, ("blocks",), self.t.locales):
            if depth > MAX_BLOCK_DEPTH:
                self.fail(here, f"blocks nested more than {MAX_BLOCK_DEPTH} deep (boxes and columns inside each other)")
            field = getattr(block, "field", None)
            if field is not None and field not in fields:
                self.fail((*here, "field"), f"block uses field {field!r}, which the template does not declare under fields")
            for j, locale in enumerate(block.locales or []):
                if locale not in self.t.locales:
                    self.fail((*here, "locales", j), f"block for locale {locale!r}, which the template does not declare under locales")
            for name, values in (block.when or {}).items():
                self._check_when((*here, "when", name), name, values)
            var = getattr(block, "var", None)
            if var is not None and var not in self.t.vars:
                self.fail((*here, "var"), f"block uses var {var!r}, which the template does not declare under vars")
            if isinstance(block, CheckboxBlock) and fields[block.field].choice is None:
                self.fail((*here, "field"), f"checkboxes need a field with a choice generator; {block.field!r} has none")
            if isinstance(block, TableBlock):
                if not self.t.items:
                    self.fail(here, "a table block needs items")
                for j, col in enumerate(block.columns):
                    if col.key not in item_cols:
                        self.fail((*here, "columns", j, "key"), f"table column {col.key!r} is not an item column")

    def _check_when(self, loc: tuple[Any, ...], name: str, values: list[str]) -> None:
        """``when`` names a var or field with a choice generator of strings, and only values it can draw."""
        gen = self.t.vars.get(name) or self.t.fields.get(name)
        if gen is None:
            self.fail(loc, f"block is laid out when {name!r} has a value, but the template declares no var or field {name!r}")
        if gen.choice is None:
            self.fail(loc, f"when needs a var or field with a choice generator; {name!r} has none")
        choices = gen.choice.values() if isinstance(gen.choice, dict) else [gen.choice]
        options = {option for options in choices for option in options if isinstance(option, str)}
        for j, value in enumerate(values):
            if value not in options:
                self.fail((*loc, j), f"{value!r} is not one of the text choices of {name!r}, so the block would never be laid out")

    def _check_augment(self) -> None:
        from datagen.augment import AUGMENTATIONS

        for name, params in self.t.augment.items():
            if name not in AUGMENTATIONS:
                self.fail(("augment", name), f"unknown augmentation {name!r} (known: {', '.join(AUGMENTATIONS)})")
            try:
                AUGMENTATIONS[name].model_validate(params)
            except ValidationError as exc:
                err = exc.errors()[0]
                self.fail(("augment", name, *err["loc"]), err["msg"].removeprefix("Value error, "))


def _walk_blocks(
    blocks: list[Any], loc: tuple[Any, ...], locales: list[str], depth: int = 1
) -> Iterator[tuple[Any, tuple[Any, ...], list[str], int]]:
    """(block, its path, the locales it can be laid out in, its nesting depth) of every block, parents before their
    children: one walk of the tree for every check. A block's locales are its own ``locales`` within its parents'."""
    for i, block in enumerate(blocks):
        here = (*loc, i)
        laid_out = [locale for locale in locales if locale in block.locales] if block.locales else locales
        yield block, here, laid_out, depth
        if isinstance(block, ColumnsBlock):
            for j, column in enumerate(block.children):
                yield from _walk_blocks(column, (*here, "children", j), laid_out, depth + 1)
        if isinstance(block, BoxBlock):
            yield from _walk_blocks(block.children, (*here, "children"), laid_out, depth + 1)


def _default_labels(blocks: list[Any], loc: tuple[Any, ...], locales: list[str]) -> Iterator[tuple[str, tuple[Any, ...], list[str]]]:
    """(field or var, block path, locales) of each block that prints a field's default label (it has no ``label`` of
    its own), with the locales it can be laid out in. A label is needed only there: an en_MS-only line of a receipt
    needs no German."""
    for block, here, laid_out, _ in _walk_blocks(blocks, loc, locales):
        if isinstance(block, (PairBlock, InputBlock, CheckboxBlock)) and block.label is None:
            yield (block.source if isinstance(block, PairBlock) else block.field), here, laid_out


@cache
def _iso_currencies() -> frozenset[str]:
    return frozenset(list_currencies())
