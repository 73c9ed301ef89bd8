"""How many pixels across a page is rendered: a fixed width, a resolution, or matched to its text.

Why a module of its own: the width decides the bytes and the time of every image a build stores, and
both the pipeline and the command line (its help text) need the rule, the command line without
importing the renderers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datagen.layout import Layout

# A text-matched page (``width=None``) puts its median word's font at this many pixels. Why 14: page
# templates at the old fixed 1024 px drew their text at 13-17 px, and a real OCR engine reads as many of a page's
# words at 14 px as at 1024 px, but a seventh fewer at 12 px (scripts/bench_image_size.py, BENCHMARKS.md),
# while receipts, 160-220 pt wide, were drawn at 32-44 px: 4-5x the pixels that reading needs. 14 px for
# 9-10 pt type is ~100-110 dpi, the resolution of the grayscale document corpora (RVL-CDIP, FUNSD).
TEXT_PX = 14.0
MAX_AUTO_WIDTH = 4096  # a template of tiny type must not turn into a poster


def raster_width(layout: Layout, width: int | None = None, dpi: int | None = None, text_px: float = TEXT_PX) -> int:
    """Pixels across the page: ``dpi`` dots per inch when given, else ``width``, else as wide as puts the
    median word's font at ``text_px`` pixels."""
    if dpi is not None:
        return max(1, round(layout.width / 72 * dpi))
    if width is not None:
        return width
    sizes = sorted(w.size for w in layout.words if not w.mark) or [12.0]
    median = sizes[len(sizes) // 2]
    return max(64, min(MAX_AUTO_WIDTH, round(layout.width * text_px / median)))
