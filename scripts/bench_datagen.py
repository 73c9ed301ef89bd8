"""Generator throughput per core: layout-only, +raster JPEG, +PDF, against the naive approach.

The naive approach is what a plain Pillow generator does: measure every run with
``ImageDraw.textbbox`` and draw every word with ``ImageDraw.text``. Ours measures with advance widths
read once from the font files and pastes cached glyph masks. Both run in this process on the same
documents (same templates and seeds), one after the other, so the ratios are fair.

Faker values come from pools that fill as documents are generated (see ``datagen.sample``): the
"cold" pass starts with empty pools; then every pool is filled (what the bulk of a 1e6 build sees:
a pool has 8,192 entries per locale and provider) and the "steady" passes run.

    python scripts/bench_datagen.py                 # ~10 minutes on a 2-core CPU
    python scripts/bench_datagen.py --docs 300 --no-fill --json results.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from datagen import __version__
from datagen.fonts import Font
from datagen.layout import Layout
from datagen.ocr_noise import noise_model
from datagen.pipeline import encode_image, generate, make_layout
from datagen.raster import draw_shape, ink_value, pil_font, size_key
from datagen.record import build_record, layout_boxes
from datagen.sample import FAKER_POOL_SIZE, derive_seed, faker_pool
from datagen.template import Template, list_templates, load_template

_MEASURE = ImageDraw.Draw(Image.new("L", (1, 1)))


@contextlib.contextmanager
def naive_text_measurement(scale: float = 1024 / 595.28) -> Iterator[None]:
    """Measure every run with ``textbbox`` at raster scale (no cache), as a plain Pillow generator would."""
    original = Font.width

    def width(self: Font, text: str, size: float) -> float:
        box = _MEASURE.textbbox((0, 0), text, font=pil_font(self.path, round(size * scale * 8) / 8), anchor="ls")
        return (box[2] - box[0]) / scale

    Font.width = width  # type: ignore[method-assign]
    try:
        yield
    finally:
        Font.width = original  # type: ignore[method-assign]


def naive_render(layout: Layout, width_px: int = 1024) -> Image.Image:
    """The plain Pillow way: ``ImageDraw.text`` for every word (FreeType renders each one)."""
    scale = width_px / layout.width
    image = Image.new("RGB", (width_px, max(1, round(layout.height * scale))), ink_value(layout.paper, "RGB"))
    draw = ImageDraw.Draw(image)
    for shape in layout.shapes:
        draw_shape(draw, shape, scale, "RGB")
    for w in layout.words:
        font = pil_font(w.font.path, size_key(w.size * scale))
        draw.text((w.pen_x * scale, w.baseline * scale), w.text, font=font, fill=ink_value(w.color, "RGB"), anchor="ls")
    return image


class _EveryIndex:
    """Stands in for a document's rng when filling a pool: ``randrange`` walks every index once."""

    def __init__(self) -> None:
        self.i = -1

    def randrange(self, n: int) -> int:
        self.i = (self.i + 1) % n
        return self.i


def fill_pools(templates: list[Template]) -> int:
    """Draw every entry of every Faker pool the templates use; returns how many pools there are.

    A pool shared by several templates is walked again, but then every draw is a memo hit.
    """
    locales = set()
    for t in templates:
        gens = [*t.vars.values(), *t.fields.values(), *(t.items.columns.values() if t.items else [])]
        for locale in t.locales:
            locales.add(locale)
            for gen in gens:
                if gen.faker is not None:
                    pool, rng = faker_pool(locale), _EveryIndex()
                    for _ in range(FAKER_POOL_SIZE):
                        pool.draw(gen, rng)
    return sum(len(faker_pool(locale).memo) for locale in locales)


def _jobs(templates: list[Template], n: int, first_seed: int) -> list[tuple[Template, int]]:
    return [(templates[i % len(templates)], first_seed + i // len(templates)) for i in range(n)]


def layout_only(t: Template, seed: int) -> dict[str, Any]:
    doc, layout = make_layout(t, seed)
    return build_record(doc, layout, layout_boxes(layout, 1024 / layout.width), (1024, round(layout.height * 1024 / layout.width)))


def layout_only_ocr_noise(t: Template, seed: int) -> None:
    """What a layout-only build does per document by default: the record, then OCR-like words for receipts."""
    record, noise = layout_only(t, seed), noise_model()
    if noise.applies_to(t.doc_type):
        noise.apply(record, np.random.default_rng(derive_seed(t.id, seed, "ocr")))


def raster_jpeg(t: Template, seed: int) -> None:
    gen = generate(t, seed, width=1024, raster=True, augmentations=False)
    encode_image(gen.image, "jpeg", 90)


def raster_jpeg_naive(t: Template, seed: int) -> None:
    _, layout = make_layout(t, seed)
    encode_image(naive_render(layout), "jpeg", 90)


def raster_jpeg_augmented(t: Template, seed: int) -> None:
    gen = generate(t, seed, width=1024, raster=True, augmentations=True)
    encode_image(gen.image, "jpeg", 90)


def with_pdf(t: Template, seed: int) -> None:
    generate(t, seed, width=1024, raster=False, pdf=True)


def rate(fn: Callable[[Template, int], None], jobs: list[tuple[Template, int]]) -> float:
    start = time.perf_counter()
    for t, seed in jobs:
        fn(t, seed)
    return len(jobs) / (time.perf_counter() - start)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=3000, help="documents per layout-only pass (raster/PDF passes use a tenth)")
    parser.add_argument("--no-fill", action="store_true", help="skip filling the Faker pools before the steady passes")
    parser.add_argument("--doc-type", choices=["invoice", "receipt", "form"], default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    templates = [load_template(p) for p in list_templates()]
    if args.doc_type:
        templates = [t for t in templates if t.doc_type == args.doc_type]
    n_layout, n_render = args.docs, max(len(templates), args.docs // 10)
    results: dict[str, float] = {}
    results["layout_only_cold"] = rate(layout_only, _jobs(templates, n_layout, 0))
    if not args.no_fill:
        start = time.perf_counter()
        pools = fill_pools(templates)
        print(f"filled {pools} Faker pools in {time.perf_counter() - start:.0f} s", flush=True)
    results["layout_only_steady"] = rate(layout_only, _jobs(templates, n_layout, 200_000))
    results["layout_only_ocr_noise"] = rate(layout_only_ocr_noise, _jobs(templates, n_layout, 200_000))
    with naive_text_measurement():
        results["layout_only_naive"] = rate(layout_only, _jobs(templates, n_render, 300_000))
    results["raster_jpeg_1024"] = rate(raster_jpeg, _jobs(templates, n_render, 400_000))
    with naive_text_measurement():
        results["raster_jpeg_1024_naive"] = rate(raster_jpeg_naive, _jobs(templates, n_render, 400_000))
    results["raster_jpeg_1024_augmented"] = rate(raster_jpeg_augmented, _jobs(templates, n_render, 400_000))
    results["pdf"] = rate(with_pdf, _jobs(templates, n_render, 500_000))

    out = io.StringIO()
    print(f"machine: {machine()}; datagen {__version__}; templates: {len(templates)}; single process (docs/s per core)", file=out)
    for key, value in results.items():
        print(f"  {key:<28} {value:8.1f} docs/s", file=out)
    ratios = {
        "layout-only (steady) vs naive textbbox": results["layout_only_steady"] / results["layout_only_naive"],
        "layout-only without vs with OCR noise (same documents)": results["layout_only_steady"] / results["layout_only_ocr_noise"],
        "raster JPEG vs naive textbbox + draw.text": results["raster_jpeg_1024"] / results["raster_jpeg_1024_naive"],
    }
    for name, ratio in ratios.items():
        print(f"  speedup {name}: {ratio:.1f}x", file=out)
    print(out.getvalue(), end="")
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine(), "version": __version__, "docs_per_s": results, "speedups": ratios}, indent=2)
        )


if __name__ == "__main__":
    main()
