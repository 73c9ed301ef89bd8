"""Pillow raster renderer: draws a Layout at a chosen pixel width.

Each word is drawn at the position the layout computed (left end of its baseline), so no text is
measured here: the naive approach of calling ``textbbox`` for every run is what
``scripts/bench_datagen.py`` compares against.

Glyphs are rasterized once per (font, pixel size) and pasted through their coverage masks at the
layout's fractional advances. ``ImageDraw.text`` advances by whole pixels, so long words drift from
the layout (8.6 px over a 16-character monospace word at 1024 px) and their ink leaves their boxes;
pasting cached glyphs keeps the ink where the ground truth says, at the same speed
(``scripts/bench_datagen.py`` measures both).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from datagen.layout import Layout, Shape


@lru_cache(maxsize=512)
def pil_font(path: Path, size_px: float) -> ImageFont.FreeTypeFont:
    # BASIC layout: no shaping engine, the same glyph advances fontTools reported to the layout.
    return ImageFont.truetype(str(path), size_px, layout_engine=ImageFont.Layout.BASIC)


def size_key(size_px: float) -> float:
    """Quantize sizes to 1/8 px so the font cache stays small; the error is far below a pixel."""
    return round(size_px * 8) / 8


def render_raster(layout: Layout, width_px: int = 1024, mode: str = "RGB") -> Image.Image:
    """Render ``layout`` to an image ``width_px`` wide (height keeps the page's aspect ratio)."""
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be RGB or L, not {mode!r}")
    scale = width_px / layout.width
    image = Image.new(mode, (width_px, max(1, round(layout.height * scale))), ink_value(layout.paper, mode))
    draw = ImageDraw.Draw(image)
    for shape in layout.shapes:
        draw_shape(draw, shape, scale, mode)
    core = image.im  # paste through the C core: Image.paste's checks cost more than the copy
    for word in layout.words:
        if word.mark:  # a check box: its shapes are already drawn
            continue
        size_px = size_key(word.size * scale)
        glyphs = _glyph_cache(word.font.path, size_px)
        advances = word.font.advances
        step = word.size * scale
        ink = ink_value(word.color, mode)
        x, y = word.pen_x * scale, round(word.baseline * scale)
        for ch in word.text:
            glyph = glyphs.get(ch)
            if glyph is None:
                glyph = glyphs[ch] = _rasterize(pil_font(word.font.path, size_px), ch)
            mask, dx, dy = glyph
            if mask is not None:
                left, top = round(x) + dx, y + dy
                core.paste(ink, (left, top, left + mask.size[0], top + mask.size[1]), mask)
            x += advances.get(ch, word.font.missing_advance) * step
    return image


@lru_cache(maxsize=256)
def _glyph_cache(path: Path, size_px: float) -> dict[str, tuple[Any, int, int]]:
    return {}


def _rasterize(font: ImageFont.FreeTypeFont, ch: str) -> tuple[Any, int, int]:
    """A glyph's coverage mask (Pillow core image) and its offset from the pen position on the baseline."""
    # whole pixels: Pillow types the box as floats, which it is only with a fractional stroke width (none here)
    left, top, right, bottom = map(int, font.getbbox(ch, anchor="ls"))
    if right <= left or bottom <= top:
        return None, 0, 0
    mask = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(mask).text((-left, -top), ch, font=font, fill=255, anchor="ls")
    return mask.im, left, top


def ink_value(hex_colour: str, mode: str) -> tuple[int, ...] | int:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    if mode == "L":
        return (r * 299 + g * 587 + b * 114) // 1000
    return (r, g, b)


def draw_shape(draw: ImageDraw.ImageDraw, shape: Shape, scale: float, mode: str) -> None:
    pts = [p * scale for p in shape.points]
    colour = ink_value(shape.color, mode)
    fill = ink_value(shape.fill, mode) if shape.fill else None
    width = max(1, round(shape.width * scale)) if shape.width > 0 else 0
    if shape.kind == "line":
        if shape.dashed:
            _dashed_line(draw, pts, colour, width, dash=4 * scale)
        else:
            draw.line(pts, fill=colour, width=width)
    elif shape.kind == "rect":
        draw.rectangle(pts, outline=colour if width else None, fill=fill, width=width)
    elif shape.kind == "ellipse":
        draw.ellipse(pts, outline=colour if width else None, fill=fill, width=width)
    else:
        draw.polygon(pts, outline=colour if width else None, fill=fill, width=width)


def _dashed_line(draw: ImageDraw.ImageDraw, pts: list[float], colour: tuple[int, ...] | int, width: int, dash: float) -> None:
    x0, y0, x1, y1 = pts
    length = max(abs(x1 - x0), abs(y1 - y0))
    steps = max(1, int(length // (2 * dash)))
    for i in range(steps + 1):
        t0, t1 = (2 * i * dash) / length if length else 0, min(1.0, (2 * i + 1) * dash / length) if length else 1
        if t0 >= 1:
            break
        draw.line([x0 + (x1 - x0) * t0, y0 + (y1 - y0) * t0, x0 + (x1 - x0) * t1, y0 + (y1 - y0) * t1], fill=colour, width=width)
