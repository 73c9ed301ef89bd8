"""Pillow raster renderer: draws a Layout at a chosen pixel width.

Each word is drawn at the position the layout computed (left end of its baseline), so no text is
measured here: the naive approach of calling ``textbbox`` for every run is what
``benchmark/bench_datagen.py`` compares against.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from datagen.layout import Layout, Shape


@lru_cache(maxsize=512)
def pil_font(path: Path, size_px: float) -> ImageFont.FreeTypeFont:
    # BASIC layout: no shaping engine, the same glyph advances fontTools reported to the layout.
    return ImageFont.truetype(str(path), size_px, layout_engine=ImageFont.Layout.BASIC)


def _size_key(size_px: float) -> float:
    """Quantize sizes to 1/8 px so the font cache stays small; the error is far below a pixel."""
    return round(size_px * 8) / 8


def render_raster(layout: Layout, width_px: int = 1024, mode: str = "RGB") -> Image.Image:
    """Render ``layout`` to an image ``width_px`` wide (height keeps the page's aspect ratio)."""
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be RGB or L, not {mode!r}")
    scale = width_px / layout.width
    image = Image.new(mode, (width_px, max(1, round(layout.height * scale))), _colour(layout.paper, mode))
    draw = ImageDraw.Draw(image)
    for shape in layout.shapes:
        _draw_shape(draw, shape, scale, mode)
    for word in layout.words:
        font = pil_font(word.font.path, _size_key(word.size * scale))
        draw.text((word.x0 * scale, word.baseline * scale), word.text, font=font, fill=_colour(word.color, mode), anchor="ls")
    return image


def _colour(hex_colour: str, mode: str) -> tuple[int, ...] | int:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    if mode == "L":
        return (r * 299 + g * 587 + b * 114) // 1000
    return (r, g, b)


def _draw_shape(draw: ImageDraw.ImageDraw, shape: Shape, scale: float, mode: str) -> None:
    pts = [p * scale for p in shape.points]
    colour = _colour(shape.color, mode)
    fill = _colour(shape.fill, mode) if shape.fill else None
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
