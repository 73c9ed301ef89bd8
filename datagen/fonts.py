"""The bundled fonts and their metrics.

The layout engine measures text with the advance widths read once from each font file (fontTools),
so laying out a word is a sum of dictionary lookups instead of a rasterizer call per run. Both
renderers draw every word at the position the layout gave it, so the word boxes of the raster and
the PDF agree by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from fontTools.ttLib import TTFont

FONT_DIR = Path(__file__).parent / "fonts"

# family -> (regular file, bold file). Families without a bold face reuse the regular one.
FAMILIES: dict[str, tuple[str, str]] = {
    "sans": ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    "serif": ("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf"),
    "mono": ("LiberationMono-Regular.ttf", "LiberationMono-Bold.ttf"),
    "hand": ("Breip-Regular.ttf", "Breip-Regular.ttf"),
    "marker": ("HumorSans-Regular.ttf", "HumorSans-Regular.ttf"),
}
# The same names as a type: what a template's font options accept (tests/test_template_validation.py checks that they agree).
Family = Literal["sans", "serif", "mono", "hand", "marker"]


MEMO_ENTRIES = 200_000  # per font and memo: bounds memory in a 1e6 build, where most numbers are unique


@dataclass(frozen=True, eq=False)  # identity hash: one instance per file (get_font caches)
class Font:
    """One font file with its metrics in em units (multiply by the size in points)."""

    key: str  # "family" or "family-bold": the name renderers register it under
    path: Path
    advances: dict[str, float]  # character -> advance width in em
    fallback: dict[int, str]  # str.translate table: typographic punctuation the font lacks -> ASCII
    missing_advance: float  # advance of .notdef, for characters the font lacks
    ascent: float  # above the baseline, in em (hhea)
    descent: float  # below the baseline, positive, in em (hhea)
    space: float  # advance of a space in em (word spacing); a field, not a property: the layout reads it per word
    # character -> (advance, xMin, xMax, -yMin, yMax): advances and bounds in one look-up for ``extent``'s loop;
    # a glyph without an outline (space) has bounds that never win a comparison (+inf, -inf, -inf, -inf)
    glyphs: dict[str, tuple[float, float, float, float, float]]

    em_cache: dict[str, tuple[float, float, float, float, float]] = field(default_factory=dict, repr=False)
    token_cache: dict[str, tuple[str, tuple[float, float, float, float, float]]] = field(default_factory=dict, repr=False)

    def width(self, text: str, size: float) -> float:
        """Advance width of ``text`` at ``size`` points (no kerning: renderers draw word by word)."""
        return self.extent(text)[0] * size

    def extent(self, text: str) -> tuple[float, float, float, float, float]:
        """(advance, left, right, top, bottom) of ``text`` in em, relative to its pen start on the baseline.

        left..right and top..bottom cover both the advance/line-height box and every glyph's outline:
        script fonts draw past their advances, and a word box must cover its ink. Words repeat across
        documents (labels, common values), so results are memoized per font.
        """
        hit = self.em_cache.get(text)
        if hit is not None:
            return hit
        glyphs, miss = self.glyphs, self.missing_advance
        pen = left = right = 0.0
        top, bottom = self.ascent, self.descent
        for c in text:
            glyph = glyphs.get(c)
            if glyph is None:
                pen += miss
                continue
            advance, x_min, x_max, below, above = glyph
            if pen + x_min < left:
                left = pen + x_min
            if pen + x_max > right:
                right = pen + x_max
            if below > bottom:
                bottom = below
            if above > top:
                top = above
            pen += advance
        result = (pen, left, max(right, pen), top, bottom)
        if len(self.em_cache) < MEMO_ENTRIES:
            self.em_cache[text] = result
        return result

    def measure(self, token: str) -> tuple[str, tuple[float, float, float, float, float]]:
        """(printed, extent) of a word as sampled: the ``fallback`` spelling this font prints, and its extent.

        The layout's inner loop; memoized per font on the sampled spelling, which saves the translation and
        a second look-up for the words that repeat across documents.
        """
        hit = self.token_cache.get(token)
        if hit is None:
            printed = token.translate(self.fallback)
            hit = (printed, self.extent(printed))
            if len(self.token_cache) < MEMO_ENTRIES:
                self.token_cache[token] = hit
        return hit

    def missing(self, text: str) -> set[str]:
        return {c for c in text if c not in self.advances and not c.isspace()}


# Typographic punctuation that Faker and CLDR data use (Côte d’Ivoire, 1–3) and some fonts lack.
# Printing the ASCII form is what a till or a hand would do; letters are never substituted (a font
# that cannot print a locale's letters is a template error, reported by validation).
_PUNCTUATION_FALLBACK = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": ",",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
}


@cache
def get_font(family: str, bold: bool = False) -> Font:
    """Load (once) the metrics of a bundled font; raises KeyError for an unknown family."""
    if family not in FAMILIES:
        raise KeyError(f"unknown font family {family!r} (bundled: {', '.join(FAMILIES)})")
    filename = FAMILIES[family][1 if bold else 0]
    path = FONT_DIR / filename
    tt = TTFont(path, lazy=True)
    upem = tt["head"].unitsPerEm
    hmtx = tt["hmtx"]
    glyf = tt["glyf"]
    advances, bounds = {}, {}
    for code, glyph in tt.getBestCmap().items():
        if glyph == ".notdef" or glyph not in hmtx.metrics:
            continue
        advances[chr(code)] = hmtx[glyph][0] / upem
        g = glyf[glyph]
        if g.numberOfContours:  # empty glyphs (space) have no outline and no bounds
            g.recalcBounds(glyf)
            bounds[chr(code)] = (g.xMin / upem, g.xMax / upem, g.yMin / upem, g.yMax / upem)
    hhea = tt["hhea"]
    missing_advance = hmtx[".notdef"][0] / upem if ".notdef" in hmtx.metrics else 0.5
    return Font(
        key=f"{family}-bold" if bold and FAMILIES[family][1] != FAMILIES[family][0] else family,
        path=path,
        advances=advances,
        fallback={ord(c): r for c, r in _PUNCTUATION_FALLBACK.items() if c not in advances and all(x in advances for x in r)},
        missing_advance=missing_advance,
        ascent=hhea.ascent / upem,
        descent=-hhea.descent / upem,
        space=advances.get(" ", missing_advance),
        glyphs={
            c: (a, *((b[0], b[1], -b[2], b[3]) if (b := bounds.get(c)) else (math.inf, -math.inf, -math.inf, -math.inf)))
            for c, a in advances.items()
        },
    )
