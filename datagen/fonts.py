"""The bundled fonts and their metrics.

The layout engine measures text with the advance widths read once from each font file (fontTools),
so laying out a word is a sum of dictionary lookups instead of a rasterizer call per run. Both
renderers draw every word at the position the layout gave it, so the word boxes of the raster and
the PDF agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

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


@dataclass(frozen=True, eq=False)  # identity hash: one instance per file (get_font caches)
class Font:
    """One font file with its metrics in em units (multiply by the size in points)."""

    key: str  # "family" or "family-bold": the name renderers register it under
    path: Path
    advances: dict[str, float]  # character -> advance width in em
    missing_advance: float  # advance of .notdef, for characters the font lacks
    ascent: float  # above the baseline, in em (hhea)
    descent: float  # below the baseline, positive, in em (hhea)

    em_cache: dict[str, float] = field(default_factory=dict, repr=False)

    def width(self, text: str, size: float) -> float:
        """Advance width of ``text`` at ``size`` points (no kerning: renderers draw word by word).

        Words repeat across documents (labels, common values), so em widths are memoized per font.
        """
        em = self.em_cache.get(text)
        if em is None:
            adv, miss = self.advances, self.missing_advance
            em = sum(adv.get(c, miss) for c in text)
            if len(self.em_cache) < 200_000:
                self.em_cache[text] = em
        return em * size

    def covers(self, text: str) -> bool:
        return all(c in self.advances or c.isspace() for c in text)

    def missing(self, text: str) -> set[str]:
        return {c for c in text if c not in self.advances and not c.isspace()}


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
    advances = {
        chr(code): hmtx[glyph][0] / upem for code, glyph in tt.getBestCmap().items() if glyph != ".notdef" and glyph in hmtx.metrics
    }
    hhea = tt["hhea"]
    return Font(
        key=f"{family}-bold" if bold and FAMILIES[family][1] != FAMILIES[family][0] else family,
        path=path,
        advances=advances,
        missing_advance=hmtx[".notdef"][0] / upem if ".notdef" in hmtx.metrics else 0.5,
        ascent=hhea.ascent / upem,
        descent=-hhea.descent / upem,
    )
