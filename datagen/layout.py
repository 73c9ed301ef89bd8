"""The layout engine: positions every word of a sampled document on the page.

This is the single source of geometry. It turns the template's block tree into positioned words
(box, baseline, font, size, colour, line id, the field or line-item cell it belongs to) and shapes
(rules, boxes, checkbox marks, logos, barcodes), in reading order. Both renderers only draw what
is here, and the ground truth is read from here, so images, PDFs and labels cannot disagree.

Units are PDF points with the origin at the top-left corner and y growing downwards. A word's box
spans its advance width horizontally and the font's ascent..descent vertically (a line-height box,
as OCR engines report), widened where a glyph's outline reaches past it, so it covers the word's ink.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal

from datagen.fonts import Font, get_font
from datagen.limits import MAX_ROLL_MM
from datagen.sample import Document, apply_case
from datagen.template import (
    BARE_MONEY,
    MM,
    BarcodeBlock,
    BoxBlock,
    CheckboxBlock,
    ColumnsBlock,
    InputBlock,
    Labels,
    LogoBlock,
    PairBlock,
    RuleBlock,
    SpacerBlock,
    TableBlock,
    TextBlock,
)

# Check-box states in ``words``, in the convention of OCR engines (Azure Document Intelligence's selection marks).
MARK_SELECTED = ":selected:"
MARK_UNSELECTED = ":unselected:"


@dataclass(slots=True)
class Word:
    """A positioned word. The box covers the advance box and the glyph outlines; renderers start the
    pen at ``pen_x`` on ``baseline`` (x0 is left of it when the first glyph overhangs to the left)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    baseline: float
    font: Font
    size: float
    color: str
    line: int
    field: str | None = None  # the schema key this word prints the value of
    item: tuple[int, str] | None = None  # (row, column) of the line-item cell it prints
    pen_x: float = 0.0
    mark: bool = False  # a check box's state (MARK_SELECTED / MARK_UNSELECTED): drawn as a shape, not as text


@dataclass(slots=True)
class Shape:
    kind: Literal["line", "rect", "ellipse", "polygon"]
    points: tuple[float, ...]  # line/rect/ellipse: x0, y0, x1, y1; polygon: x, y pairs
    color: str
    width: float = 0.75  # stroke width in points; 0 = no stroke
    fill: str | None = None
    dashed: bool = False


@dataclass
class Layout:
    width: float
    height: float
    paper: str
    words: list[Word] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)


class Overflow(Exception):
    """The content does not fit a fixed-size page (or the longest roll); the caller retries with fewer line items."""


@dataclass(slots=True)
class _Run:
    """Text in one font with the tags its words inherit."""

    text: str
    font: Font
    size: float
    field: str | None = None
    item: tuple[int, str] | None = None


def _pick_label(labels: Labels | None, lang: str, rng: random.Random, fallback: str) -> str:
    if labels is None:
        return fallback
    if isinstance(labels, dict):
        labels = labels.get(lang) or labels.get("en") or next(iter(labels.values()))
    return rng.choice(labels)


class _Engine:
    def __init__(self, doc: Document):
        self.doc = doc
        self.rng = doc.rng
        st = doc.style
        self.st = st
        self.out = Layout(st.page_width, st.page_height or 0.0, st.paper)
        self.next_line = 0
        # a thermal roll grows with its content, up to MAX_ROLL_MM (its raster must stay a sane size)
        self.limit = (st.page_height - st.margin) if st.page_height else MAX_ROLL_MM * MM

    # ----------------------------------------------------------- helpers

    def font(self, bold: bool = False, family: str | None = None) -> Font:
        return get_font(family or self.st.family, bold)

    def chance(self, p: float) -> bool:
        return p >= 1.0 or (p > 0.0 and self.rng.random() < p)

    def label(self, labels: Labels | None, key: str) -> str:
        """A field's (or var's) label: the block's variants, else the template's or the label catalogue's
        (``Template.labels_for``), else the key in words."""
        default = labels if labels is not None else self.doc.template.labels_for(key, self.doc.lang)
        return self.literal(default, key.replace("_", " ").capitalize())

    def literal(self, labels: Labels | None, fallback: str = "") -> str:
        """One printed variant in the document's language and label case."""
        return apply_case(_pick_label(labels, self.doc.lang, self.rng, fallback), self.st.label_case)

    def check(self, y: float) -> None:
        if y > self.limit:
            raise Overflow

    # ----------------------------------------------------------- text placement

    def place(self, runs: list[_Run], x0: float, x1: float, y: float, align: str, wrap: bool = True) -> float:
        """Place runs as words in [x0, x1] from top ``y``; wrap greedily; return the y below them.

        Each line keeps the largest size, ascent and descent of the runs with a word on it, updated as words
        join it (once per run, not per word: this and ``_emit_line`` are the hot loop of a layout-only build).
        """
        lines: list[tuple[list[tuple[str, _Run, tuple[float, ...]]], float, float, float, float]] = []
        line: list[tuple[str, _Run, tuple[float, ...]]] = []
        width = lsize = lasc = ldesc = 0.0
        avail = x1 - x0
        for run in runs:
            size, font = run.size, run.font
            space, asc, desc = font.space * size, font.ascent * size, font.descent * size
            memo, measure = font.token_cache, font.measure  # the memo's hits inline: a method call per word adds up
            joined = False  # whether a word of this run is on the current line yet
            for k, part in enumerate(run.text.split("\n")):
                if k and line:
                    lines.append((line, width, lsize, lasc, ldesc))
                    line, width = [], 0.0
                for token in part.split():
                    printed, ext = memo.get(token) or measure(token)
                    w = ext[0] * size
                    if not line or (wrap and width + (w + space) > avail):
                        if line:
                            lines.append((line, width, lsize, lasc, ldesc))
                            line = []
                        width, lsize, lasc, ldesc = w, size, asc, desc
                    else:
                        width += w + space
                        if not joined:
                            lsize, lasc, ldesc = max(lsize, size), max(lasc, asc), max(ldesc, desc)
                    joined = True
                    line.append((printed, run, ext))
        if line:
            lines.append((line, width, lsize, lasc, ldesc))
        for words, line_width, size, asc, desc in lines:
            y = self._emit_line(words, line_width, size, asc, desc, x0, x1, y, align)
        return y

    def _emit_line(
        self,
        line: list[tuple[str, _Run, tuple[float, ...]]],
        width: float,
        size: float,
        asc: float,
        desc: float,
        x0: float,
        x1: float,
        y: float,
        align: str,
    ) -> float:
        """Emit one line of measured words (``ext`` = Font.extent of each) whose tallest run has ``size``, ``asc``, ``desc``."""
        jit = self.st.jitter
        rand = self.rng.random
        lo, span = -jit, jit - -jit  # random.uniform(-jit, jit) is lo + span * random(), spelled out: called per word
        baseline = y + asc + (lo + span * rand() if jit else 0.0)
        if baseline + desc > self.limit:  # self.check, inlined
            raise Overflow
        if align == "right":
            x = x1 - width
        elif align == "center":
            x = x0 + (x1 - x0 - width) / 2
        else:
            x = x0
        line_id = self.next_line
        self.next_line += 1
        ink = self.st.ink
        append = self.out.words.append
        for token, run, (advance, ink_left, ink_right, top, bottom) in line:
            font, rsize = run.font, run.size
            left = x + (lo + span * rand()) * 0.3 if jit else x
            append(
                Word(
                    token,
                    left + ink_left * rsize,
                    baseline - top * rsize,
                    left + ink_right * rsize,
                    baseline + bottom * rsize,
                    baseline,
                    font,
                    rsize,
                    ink,
                    line_id,
                    run.field,
                    run.item,
                    left,
                )
            )
            x += (advance + font.space) * rsize
        return y + (asc + desc) + size * self.st.line_gap

    def value_run(self, key: str, font: Font, size: float) -> _Run | None:
        value = self.doc.values.get(key)
        return None if value is None else _Run(value, font, size, field=key)

    def source_run(self, block: TextBlock | PairBlock, font: Font, size: float) -> _Run | None:
        """The block's field value (tagged as ground truth) or var value (an untagged distractor)."""
        if block.field is not None:
            return self.value_run(block.field, font, size)
        if block.var is None:  # a text block of literal text
            return None
        value = self.doc.var_values.get(block.var)
        return None if value is None else _Run(value, font, size)

    # ----------------------------------------------------------- blocks

    def blocks(self, blocks: list[Any], x0: float, x1: float, y: float) -> float:
        for block in blocks:
            if block.locales is not None and self.doc.locale not in block.locales:
                continue
            if block.when is not None and not self.drawn(block.when):
                continue
            if not self.chance(block.p):
                continue
            y = getattr(self, f"block_{block.type}")(block, x0, x1, y)
        return y

    def drawn(self, when: dict[str, list[str]]) -> bool:
        """Whether every var or field named in a block's ``when`` drew one of the listed choices."""
        typed = self.doc.typed
        return all(typed.get(name) in values for name, values in when.items())

    def block_text(self, b: TextBlock, x0: float, x1: float, y: float) -> float:
        fam = self.rng.choice(b.family) if b.family else None
        font = self.font(self.chance(b.bold), fam)
        size = self.st.size * self.rng.uniform(*b.scale)
        align = self.rng.choice(b.align)
        if b.text is not None:  # prose keeps its case (label_case is for labels) unless the whole document has one
            run: _Run | None = _Run(apply_case(_pick_label(b.text, self.doc.lang, self.rng, ""), self.st.text_case), font, size)
        else:
            run = self.source_run(b, font, size)
        if run is None:
            return y
        return self.place([run], x0, x1, y, align)

    def block_pair(self, b: PairBlock, x0: float, x1: float, y: float) -> float:
        size = self.st.size * self.rng.uniform(*b.scale)
        lfont = self.font(self.chance(b.bold_label))
        vfont = self.font(self.chance(b.bold_value))
        arrange = self.rng.choice(b.arrange)
        seps = b.sep + b.sep_currency if self.st.money in BARE_MONEY else b.sep
        label = self.label(b.label, b.source) + self.rng.choice(seps)
        value = self.source_run(b, vfont, size)
        if value is None:
            return y
        lrun = _Run(label, lfont, size)
        if arrange == "stacked":
            y = self.place([lrun], x0, x1, y, self.rng.choice(b.align))
            return self.place([value], x0, x1, y, self.rng.choice(b.align))
        if arrange == "split":
            return self.split(lrun, value, x0, x1, y)
        lrun.text += " "
        return self.place([lrun, value], x0, x1, y, self.rng.choice(b.align))

    def split(self, left: _Run, right: _Run, x0: float, x1: float, y: float) -> float:
        """Label flush left and value flush right on one line (receipt totals); stack if they collide."""
        lw = left.font.width(left.text, left.size)
        rw = max(right.font.width(t, right.size) for t in right.text.split("\n"))
        gap = left.font.width("  ", left.size)
        if lw + gap + rw > x1 - x0 or "\n" in right.text:
            y = self.place([left], x0, x1, y, "left")
            return self.place([right], x0, x1, y, "right")
        first = len(self.out.words)
        line_before = self.next_line
        bottom = self.place([left], x0, x0 + lw + gap / 2, y, "left")
        self.next_line = line_before  # both halves share one line id and baseline
        baseline = self.out.words[first].baseline if len(self.out.words) > first else None
        after = len(self.out.words)
        bottom = max(bottom, self.place([right], x1 - rw - gap / 2, x1, y, "right"))
        if baseline is not None:
            for w in self.out.words[after:]:
                shift = baseline - w.baseline
                w.y0, w.y1, w.baseline = w.y0 + shift, w.y1 + shift, baseline
        return bottom

    def block_table(self, b: TableBlock, x0: float, x1: float, y: float) -> float:
        style = self.rng.choice(b.style)
        size = self.st.size * self.rng.uniform(*b.scale)
        font, bold = self.font(), self.font(True)
        pad = size * 0.3
        total = sum(c.width for c in b.columns)
        edges = [x0]
        for c in b.columns:
            edges.append(edges[-1] + (x1 - x0) * c.width / total)
        ink = self.st.ink
        if style == "two_line":
            return self._two_line_items(b, x0, x1, y, size, font)
        table_top = y
        rules = [y] if style == "grid" else []
        if self.chance(b.header):
            headers = [self.label(c.header, c.key) for c in b.columns]
            y = self._row([_Run(h, bold, size) for h in headers], b, edges, y, pad)
            rules.append(y)
        for r, item in enumerate(self.doc.items):
            runs = [_Run(item.get(c.key, ""), font, size, item=(r, c.key)) for c in b.columns]
            y = self._row(runs, b, edges, y, pad)
            if style == "grid":
                rules.append(y)
        if style == "lines" and self.doc.items:
            rules.append(y)
        for ry in rules:
            self.out.shapes.append(Shape("line", (x0, ry, x1, ry), ink, 0.6))
        if style == "grid":
            for ex in edges:
                self.out.shapes.append(Shape("line", (ex, table_top, ex, y), ink, 0.6))
        return y + pad

    def _row(self, runs: list[_Run], b: TableBlock, edges: list[float], y: float, pad: float) -> float:
        """One table row: each cell wraps inside its column; cells of a row share line ids."""
        first_line = self.next_line
        bottom, last_line = y, first_line
        for (run, col), cx0, cx1 in zip(zip(runs, b.columns, strict=True), edges, edges[1:], strict=False):
            self.next_line = first_line
            bottom = max(bottom, self.place([run], cx0 + pad, cx1 - pad, y + pad * 0.5, col.align))
            last_line = max(last_line, self.next_line)
        self.next_line = last_line
        return bottom

    def _two_line_items(self, b: TableBlock, x0: float, x1: float, y: float, size: float, font: Font) -> float:
        """Thermal style: description on one line, then "qty x unit price" and the amount."""
        keys = {c.key for c in b.columns}
        for r, item in enumerate(self.doc.items):
            y = self.place([_Run(item["description"], font, size, item=(r, "description"))], x0, x1, y, "left")
            left = []
            if "quantity" in keys:
                left.append(_Run(item["quantity"], font, size, item=(r, "quantity")))
            if "unit_price" in keys:
                left += [
                    _Run(apply_case(" x ", self.st.text_case), font, size),
                    _Run(item["unit_price"], font, size, item=(r, "unit_price")),
                ]
            amount = _Run(item.get("amount", ""), font, size, item=(r, "amount"))
            indent = font.width("  ", size)
            if left:
                first = len(self.out.words)
                y_left = self.place(left, x0 + indent, x1, y, "left")
                # keep the amount on the quantity line: give it the same line id and top
                self.next_line -= 1
                y_amount = self.place([amount], x0, x1, y, "right")
                if self.out.words[first].x1 > self.out.words[-1].x0:
                    raise Overflow  # roll too narrow for this row
                y = max(y_left, y_amount)
            else:
                y = self.place([amount], x0, x1, y, "right")
        return y

    def block_rule(self, b: RuleBlock, x0: float, x1: float, y: float) -> float:
        gap = self.st.size * 0.4
        width = self.rng.uniform(*b.thickness_pt)
        self.out.shapes.append(Shape("line", (x0, y + gap, x1, y + gap), self.st.ink, width, dashed=self.chance(b.dashed)))
        return y + 2 * gap

    def block_spacer(self, b: SpacerBlock, x0: float, x1: float, y: float) -> float:
        return y + self.rng.uniform(*b.height_pt)

    def block_logo(self, b: LogoBlock, x0: float, x1: float, y: float) -> float:
        size = self.rng.uniform(*b.size_pt)
        align = self.rng.choice(b.align)
        shape = self.rng.choice(b.shape)
        width = size * (2.5 if shape == "bar" else 1.0)
        lx = x0
        if align == "right":
            lx = x1 - width
        elif align == "center":
            lx = (x0 + x1 - width) / 2
        ink = self.st.ink
        box = (lx, y, lx + width, y + size)
        if shape == "circle":
            self.out.shapes.append(Shape("ellipse", box, ink, 0, fill=ink))
        elif shape == "diamond":
            cx, cy = lx + size / 2, y + size / 2
            self.out.shapes.append(Shape("polygon", (cx, y, lx + size, cy, cx, y + size, lx, cy), ink, 0, fill=ink))
        else:
            self.out.shapes.append(Shape("rect", box, ink, 0, fill=ink))
        source = self.doc.values.get(b.field) or ""
        initials = "".join(w[0] for w in source.split()[:3] if w[:1].isalpha()).upper() or "Co"
        font = self.font(True)
        tsize = size * 0.38
        start = len(self.out.words)
        tw = font.width(initials, tsize)
        self.place(
            [_Run(initials, font, tsize)], lx + (width - tw) / 2, lx + width, y + (size - tsize * (font.ascent + font.descent)) / 2, "left"
        )
        for w in self.out.words[start:]:
            w.color = self.st.paper
        y_end = y + size + self.st.size * 0.5
        self.check(y_end)
        return y_end

    def block_barcode(self, b: BarcodeBlock, x0: float, x1: float, y: float) -> float:
        height = self.rng.uniform(*b.height_pt)
        total = (x1 - x0) * self.rng.uniform(*b.width)
        x = x0 + ((x1 - x0) - total) / 2
        end = x + total
        unit = total / 95
        while x < end - unit:
            w = unit * self.rng.randint(1, 3)
            self.out.shapes.append(Shape("rect", (x, y, min(x + w, end), y + height), self.st.ink, 0, fill=self.st.ink))
            x += w + unit * self.rng.randint(1, 3)
        y_end = y + height + self.st.size * 0.5
        self.check(y_end)
        return y_end

    def block_input(self, b: InputBlock, x0: float, x1: float, y: float) -> float:
        """A form field: a small printed label and a hand-written value in a box or on a line."""
        size = self.st.size
        label = _Run(self.label(b.label, b.field), self.font(), size * 0.85)
        arrange = self.rng.choice(b.arrange)
        frame = self.rng.choice(b.frame)
        hand = get_font(self.rng.choice(b.family))
        vsize = size * self.rng.uniform(*b.scale)
        if arrange == "left":
            split = x0 + (x1 - x0) * 0.35
            label_bottom = self.place([label], x0, split, y + vsize * 0.3, "left")
            fx0, top = split, y
        else:
            top = label_bottom = self.place([label], x0, x1, y, "left")
            fx0 = x0
        pad = vsize * 0.3
        height = vsize * (hand.ascent + hand.descent) + 2 * pad
        value = self.value_run(b.field, hand, vsize)
        bottom = top + height
        if value is not None:
            bottom = max(bottom, self.place([value], fx0 + pad, x1 - pad, top + pad, "left") + pad)
        if frame == "box":
            self.out.shapes.append(Shape("rect", (fx0, top, x1, bottom), self.st.ink, 0.6))
        else:
            self.out.shapes.append(Shape("line", (fx0, bottom, x1, bottom), self.st.ink, 0.6))
        bottom = max(bottom, label_bottom)  # a wrapped left-hand label may be taller than the field
        self.check(bottom)
        return bottom + size * 0.4

    def block_checkboxes(self, b: CheckboxBlock, x0: float, x1: float, y: float) -> float:
        size = self.st.size
        font = self.font()
        chosen = self.doc.values.get(b.field)
        options = [str(o) for o in self.doc.template.fields[b.field].options(self.doc.lang)]
        y = self.place([_Run(self.label(b.label, b.field), font, size)], x0, x1, y, "left")
        side = size * 0.8
        x = x0
        line_h = size * (font.ascent + font.descent)
        first_line = self.next_line
        for option in options:
            tw = font.width(option, size)
            need = side + size * 0.4 + tw + size * 1.2
            if x > x0 and x + need > x1:
                x, y = x0, y + line_h * (1 + self.st.line_gap)
                first_line = self.next_line
            self.check(y + line_h)
            by = y + (line_h - side) / 2
            self.out.shapes.append(Shape("rect", (x, by, x + side, by + side), self.st.ink, 0.7))
            if option == chosen:
                self.out.shapes.append(Shape("line", (x + 1, by + 1, x + side - 1, by + side - 1), self.st.ink, 1.2))
                self.out.shapes.append(Shape("line", (x + 1, by + side - 1, x + side - 1, by + 1), self.st.ink, 1.2))
            # the box's state as a word before its option, as OCR engines report it: the state is on the page,
            # so it must be in the words too, or a text-only model could not tell which option is ticked
            mark = MARK_SELECTED if option == chosen else MARK_UNSELECTED
            self.out.words.append(
                Word(mark, x, by, x + side, by + side, by + side, font, size, self.st.ink, first_line, pen_x=x, mark=True)
            )
            tag = b.field if option == chosen else None
            self.next_line = first_line
            self.place([_Run(option, font, size, field=tag)], x + side + size * 0.4, x1, y, "left", wrap=False)
            x += need
        return y + line_h * (1 + self.st.line_gap)

    def block_columns(self, b: ColumnsBlock, x0: float, x1: float, y: float) -> float:
        total = sum(b.widths)
        usable = (x1 - x0) - b.gap_pt * (len(b.widths) - 1)
        bottom, cx = y, x0
        first = last = self.next_line
        for width, children in zip(b.widths, b.children, strict=True):
            cw = usable * width / total
            if b.same_line:
                self.next_line = first  # line i of every column is one printed line
            bottom = max(bottom, self.blocks(children, cx, cx + cw, y))
            last = max(last, self.next_line)
            cx += cw + b.gap_pt
        self.next_line = last
        return bottom

    def block_box(self, b: BoxBlock, x0: float, x1: float, y: float) -> float:
        pad = b.padding_pt
        inner_y = y + pad
        if b.title is not None:
            inner_y = self.place(
                [_Run(self.literal(b.title), self.font(True), self.st.size)],
                x0 + pad,
                x1 - pad,
                inner_y,
                "left",
            )
        bottom = self.blocks(b.children, x0 + pad, x1 - pad, inner_y) + pad
        self.check(bottom)
        self.out.shapes.append(Shape("rect", (x0, y, x1, bottom), self.st.ink, 0.8))
        return bottom + self.st.size * 0.5


def layout_document(doc: Document) -> Layout:
    """Lay out a sampled document; raises Overflow if it does not fit a fixed-size page."""
    engine = _Engine(doc)
    st = doc.style
    bottom = engine.blocks(doc.template.blocks, st.margin, st.page_width - st.margin, st.margin)
    if st.page_height is None:
        engine.out.height = bottom + st.margin
    return engine.out
