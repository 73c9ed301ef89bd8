"""Bytes a document and readability of the stored page images, by resolution, colour mode and JPEG quality.

Why: a 1e6-document build with images has to fit a disk (issue #24: ≤ 50 GB, i.e. ≤ 50 kB a document),
and the bytes that can go are the ones no reader needs. This script renders the same documents (a
default build's mix of doc types, templates and locales, with the templates' augmentations) under each
setting, encodes them as ``datagen build`` does (``datagen.pipeline.encode_image``) and reports:

- kB a document, overall and per doc type, and the page width in pixels;
- ms a document to render, augment and encode it (one process; compare rows of one run only);
- with ``--ocr rapidocr`` (``pip install -e ".[ocr]"``): how much of the page a real OCR engine still
  reads, as the share of the generated words of three characters or more that occur, exactly, in what it
  read (its text joined without spaces: PP-OCR often drops the space between words, and a substring
  search does not care about reading order). The full-resolution colour row is the reference; this is the
  "no visible loss for reading" check.

A setting is ``TEXT_PX/MODE/QUALITY``: ``TEXT_PX`` is the median word's font size in pixels
(``datagen.resolution.raster_width``), or ``wNNNN`` for a fixed width in pixels.

    python scripts/bench_image_size.py                                  # bytes and time, 150 documents
    python scripts/bench_image_size.py --docs 45 --ocr rapidocr         # + OCR word recall (~10 min on 2 cores)
    python scripts/bench_image_size.py --settings w1024/RGB/90,14/L/75
"""

from __future__ import annotations

import argparse
import collections
import io
import platform
import time
from collections import Counter
from dataclasses import dataclass

from PIL import Image

from datagen import __version__
from datagen.build_plan import BuildConfig, document_spec
from datagen.ocr import load_engine
from datagen.pipeline import encode_image, generate, make_layout, raster_width

DEFAULT_SETTINGS = "w1024/RGB/90,16/L/75,14/L/90,14/L/75,14/L/60,12/L/75,12/L/60,10/L/75"


@dataclass(frozen=True)
class Setting:
    label: str
    width: int | None  # fixed pixels, or None: text-matched
    text_px: float
    mode: str
    quality: int

    @classmethod
    def parse(cls, text: str) -> Setting:
        size, mode, quality = text.split("/")
        fixed = size.startswith("w")
        return cls(text, int(size[1:]) if fixed else None, 0.0 if fixed else float(size), mode, int(quality))


def word_recall(gold: list[str], read: list[str]) -> tuple[int, int]:
    """(found, total): gold words of three or more characters that occur in the read text joined without spaces."""
    text = "".join("".join(piece.split()) for piece in read)
    wanted = [w for w in gold if len(w) >= 3]
    return sum(w in text for w in wanted), len(wanted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=150, help="documents of a default build's mix (default 150)")
    parser.add_argument("--seed", type=int, default=0, help="build seed the documents come from (default 0)")
    parser.add_argument("--settings", default=DEFAULT_SETTINGS, help=f"comma-separated TEXT_PX/MODE/QUALITY (default {DEFAULT_SETTINGS})")
    parser.add_argument("--ocr", default=None, metavar="ENGINE", help="also read every page with this OCR engine (rapidocr)")
    args = parser.parse_args()
    settings = [Setting.parse(s) for s in args.settings.split(",")]
    engine = load_engine(args.ocr) if args.ocr else None
    config = BuildConfig(n=args.docs, seed=args.seed)
    size: dict[str, Counter[str]] = collections.defaultdict(Counter)
    secs: dict[str, float] = collections.defaultdict(float)
    widths: dict[str, Counter[str]] = collections.defaultdict(Counter)
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    docs: Counter[str] = Counter()
    for g in range(args.docs):
        template, locale, seed = document_spec(config, g)
        docs[template.doc_type] += 1
        _, layout = make_layout(template, seed, locale)
        for s in settings:  # each document under every setting before the next: drift hits all rows alike
            start = time.perf_counter()
            width = s.width or raster_width(layout, text_px=s.text_px)
            gen = generate(template, seed, locale, width=width, mode=s.mode, ocr_noise=None)
            data = encode_image(gen.page_image, "jpeg", s.quality)
            secs[s.label] += time.perf_counter() - start
            size[s.label][template.doc_type] += len(data)
            widths[s.label][template.doc_type] += width
            if engine is not None:
                read = [text for text, _ in engine(Image.open(io.BytesIO(data)))]
                f, t = word_recall(gen.record["words"], read)
                found[s.label] += f
                total[s.label] += t
        print(f"\r{g + 1}/{args.docs} documents", end="", flush=True)
    print()
    kinds = sorted(docs)
    head = "| setting | kB / doc | " + " | ".join(f"{k} kB (width px)" for k in kinds) + " | ms / doc |"
    head += " OCR word recall |" if engine else ""
    print(f"datagen {__version__}, {args.docs} documents (build seed {args.seed}): " + ", ".join(f"{docs[k]} {k}" for k in kinds))
    print(f"{platform.processor() or platform.machine()}, one process; OCR: {args.ocr or 'not run'}\n")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for s in settings:
        cells = [f"{sum(size[s.label].values()) / args.docs / 1000:.1f}"]
        cells += [f"{size[s.label][k] / docs[k] / 1000:.1f} ({widths[s.label][k] / docs[k]:.0f})" for k in kinds]
        cells.append(f"{secs[s.label] / args.docs * 1000:.1f}")
        if engine:
            cells.append(f"{found[s.label] / max(1, total[s.label]):.3f}")
        print(f"| `{s.label}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
