"""Generator throughput per core: layout-only, +raster JPEG, +PDF, against the naive approach.

The naive approach is the same pipeline with text measured the usual way, ``ImageDraw.textbbox``
on every run, instead of the advance widths cached from the font files. Both run in this process,
on the same documents (same templates and seeds), one after the other, so the ratio is fair.

Faker values come from pools that fill as documents are generated (see ``datagen.sample``); the
"cold" pass starts with empty pools, the "warm" pass uses new seeds after the pools have filled, as
in the steady state of a large build.

    python benchmark/bench_datagen.py            # ~3 minutes on a 2-core CPU
    python benchmark/bench_datagen.py --docs 300 --json results.json
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

from PIL import Image, ImageDraw

from datagen import __version__
from datagen.fonts import Font
from datagen.pipeline import encode_image, generate, make_layout
from datagen.raster import pil_font
from datagen.record import build_record, layout_boxes
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


def _jobs(templates: list[Template], n: int, first_seed: int) -> list[tuple[Template, int]]:
    return [(templates[i % len(templates)], first_seed + i // len(templates)) for i in range(n)]


def layout_only(t: Template, seed: int) -> None:
    doc, layout = make_layout(t, seed)
    build_record(doc, layout, layout_boxes(layout, 1024 / layout.width), (1024, round(layout.height * 1024 / layout.width)))


def raster_jpeg(t: Template, seed: int) -> None:
    gen = generate(t, seed, width=1024, raster=True)
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
    parser.add_argument("--docs", type=int, default=3000, help="documents per layout-only pass (raster/PDF use a tenth)")
    parser.add_argument("--doc-type", choices=["invoice", "receipt", "form"], default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    templates = [load_template(p) for p in list_templates()]
    if args.doc_type:
        templates = [t for t in templates if t.doc_type == args.doc_type]
    n_layout, n_render = args.docs, max(len(templates), args.docs // 10)
    results: dict[str, float] = {}
    # Cold first (empty Faker pools), then everything else on fresh seeds with warm pools.
    results["layout_only_cold"] = rate(layout_only, _jobs(templates, n_layout, 0))
    results["layout_only_warm"] = rate(layout_only, _jobs(templates, n_layout, 10_000))
    with naive_text_measurement():
        results["layout_only_naive"] = rate(layout_only, _jobs(templates, n_render, 20_000))
    results["raster_jpeg_1024"] = rate(raster_jpeg, _jobs(templates, n_render, 30_000))
    with naive_text_measurement():
        results["raster_jpeg_1024_naive"] = rate(raster_jpeg, _jobs(templates, n_render, 30_000))
    results["pdf"] = rate(with_pdf, _jobs(templates, n_render, 40_000))

    out = io.StringIO()
    print(f"machine: {machine()}; datagen {__version__}; templates: {len(templates)}; single process (docs/s per core)", file=out)
    for key, value in results.items():
        print(f"  {key:<24} {value:8.1f} docs/s", file=out)
    print(f"  speedup layout-only (warm) vs naive textbbox: {results['layout_only_warm'] / results['layout_only_naive']:.1f}x", file=out)
    print(
        f"  speedup raster JPEG vs naive textbbox:        {results['raster_jpeg_1024'] / results['raster_jpeg_1024_naive']:.2f}x", file=out
    )
    print(out.getvalue(), end="")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "version": __version__, "docs_per_s": results}, indent=2))


if __name__ == "__main__":
    main()
