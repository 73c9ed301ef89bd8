"""One document end to end: template -> sampled document -> layout -> renderers/augmentations -> record.

``make_layout`` is the layout-only path (what ``--image-format none`` builds use); ``generate`` adds
the raster, the augmentations and the PDF as asked.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from datagen.augment import augment
from datagen.layout import Layout, Overflow, layout_document
from datagen.limits import MAX_ATTEMPTS, MAX_LAYOUTS
from datagen.ocr_noise import NoiseModel
from datagen.record import build_record, layout_boxes
from datagen.resolution import raster_width
from datagen.sample import Document, Sampler, derive_seed
from datagen.template import Template


@dataclass
class Generated:
    doc: Document
    layout: Layout
    record: dict[str, Any]
    image: Image.Image | None = None
    pdf: bytes | None = None

    @property
    def page_image(self) -> Image.Image:
        """The page image, which only a document generated with ``raster=True`` has."""
        if self.image is None:
            raise ValueError("the document was generated without its image (raster=False)")
        return self.image


def make_layout(template: Template, seed: int, locale: str | None = None) -> tuple[Document, Layout]:
    """Sample and lay out. On a page that overflows, retry with one line item fewer; where there are none
    left to drop, draw a fresh sample of the same seed (rare: the largest font size with the longest
    values; the first 1e6 build met one form), so every seed yields a document and a build never stops.

    A retry does not sample again: the ``Sampler`` cuts its one sample to fewer items in time independent
    of the rows it drops, and an overflowing layout stops at the page's end, so a retry costs at most a
    page of layout (dropping one item at a time, re-sampling each time, made 1,000 items take 10 s).
    The kept count is still the largest that fits, so the data is what it was. MAX_LAYOUTS bounds the
    tries of a template that never fits (MAX_ATTEMPTS samples of MAX_ITEMS + 1 counts would be 3,216).
    """
    samples = tried = 0
    shown_locale = locale
    for attempt, doc in itertools.islice(_candidates(template, seed, locale), MAX_LAYOUTS):
        try:
            return doc, layout_document(doc)
        except Overflow:
            samples, tried, shown_locale = attempt + 1, tried + 1, doc.locale
    raise template.error(
        ("page",),
        f"content does not fit the page in {samples} samples ({tried} layouts), even without line items:"
        f" is the page too small for the template's font sizes and blocks? (seed {seed}, {shown_locale})",
    )


def _candidates(template: Template, seed: int, locale: str | None) -> Iterator[tuple[int, Document]]:
    """(attempt, document) in the order they are tried: each sample with all its items, then one fewer, ..."""
    for attempt in range(MAX_ATTEMPTS):
        sampler = Sampler(template, seed, locale, attempt)
        for cap in range(sampler.item_count, -1, -1):
            yield attempt, sampler.document(cap)


def generate(
    template: Template,
    seed: int,
    locale: str | None = None,
    *,
    width: int | None = 1024,
    dpi: int | None = None,
    mode: str = "RGB",
    raster: bool = True,
    pdf: bool = False,
    augmentations: bool = True,
    ocr_noise: NoiseModel | None = None,
) -> Generated:
    """Generate one document; the record's boxes refer to the returned (augmented) image.

    The raster is ``width`` pixels wide, or ``dpi`` dots per inch of the page when given, or (``width=None``)
    as wide as puts the median word at ``TEXT_PX`` pixels (``raster_width``). With ``ocr_noise``
    the record's words are what an OCR engine would read (for the doc types the model applies to); the
    image and the field values are the same either way.
    """
    doc, layout = make_layout(template, seed, locale)
    width = raster_width(layout, width, dpi)
    scale = width / layout.width
    boxes = layout_boxes(layout, scale)
    size = (width, max(1, round(layout.height * scale)))
    image = None
    if raster:
        from datagen.raster import render_raster

        image = render_raster(layout, width, mode)
        if augmentations and template.augment:
            rng = np.random.default_rng(derive_seed(template.id, seed, "augment"))
            image, boxes = augment(image, boxes, template.augment, rng)
        size = image.size
    pdf_bytes = None
    if pdf:
        from datagen.pdf import render_pdf

        pdf_bytes = render_pdf(layout)
    record = build_record(doc, layout, boxes, size)
    if ocr_noise is not None and ocr_noise.applies_to(template.doc_type):
        record = ocr_noise.apply(record, np.random.default_rng(derive_seed(template.id, seed, "ocr")))
    return Generated(doc, layout, record, image, pdf_bytes)


def encode_image(image: Image.Image, fmt: str, quality: int = 90) -> bytes:
    """Encode deterministically (no timestamps or optional chunks).

    JPEGs get optimised Huffman tables: 12% fewer bytes for ~1 ms a page. Progressive scans would save
    another 5% at ~5 ms, half the cost of drawing a page, so they stay off (scripts/bench_image_size.py)."""
    buf = io.BytesIO()
    if fmt == "png":
        image.save(buf, format="PNG", optimize=False, compress_level=6)
    elif fmt == "jpeg":
        image.save(buf, format="JPEG", quality=quality, optimize=True, progressive=False)
    else:
        raise ValueError(f"image format must be png or jpeg, not {fmt!r}")
    return buf.getvalue()
