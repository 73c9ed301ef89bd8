"""One document end to end: template -> sampled document -> layout -> renderers/augmentations -> record.

``make_layout`` is the layout-only path (what ``--image-format none`` builds use); ``generate`` adds
the raster, the augmentations and the PDF as asked.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from datagen.augment import augment
from datagen.errors import DatagenError
from datagen.layout import Layout, Overflow, layout_document
from datagen.record import build_record, layout_boxes
from datagen.sample import Document, derive_seed, sample_document
from datagen.template import Template


@dataclass
class Generated:
    doc: Document
    layout: Layout
    record: dict[str, Any]
    image: Image.Image | None = None
    pdf: bytes | None = None


MAX_ATTEMPTS = 16  # fresh samples of one seed before a template is declared too big for its page


def make_layout(template: Template, seed: int, locale: str | None = None) -> tuple[Document, Layout]:
    """Sample and lay out. On a fixed-size page that overflows, retry with fewer line items; where there
    are none left to drop, draw a fresh sample of the same seed (rare: the largest font size with the
    longest values; the first 1e6 build met one form), so every seed yields a document and a build never stops."""
    cap, attempt = None, 0
    while True:
        doc = sample_document(template, seed, locale, item_cap=cap, attempt=attempt)
        try:
            return doc, layout_document(doc)
        except Overflow:
            if doc.items:
                cap = len(doc.items) - 1
                continue
            attempt, cap = attempt + 1, None
            if attempt == MAX_ATTEMPTS:
                raise DatagenError(
                    f"{template.source or template.id}: seed {seed}: content does not fit the page in {MAX_ATTEMPTS} samples,"
                    " even without line items (page too small for the template's font sizes?)"
                ) from None


def generate(
    template: Template,
    seed: int,
    locale: str | None = None,
    *,
    width: int = 1024,
    dpi: int | None = None,
    mode: str = "RGB",
    raster: bool = True,
    pdf: bool = False,
    augmentations: bool = True,
) -> Generated:
    """Generate one document; the record's boxes refer to the returned (augmented) image.

    The raster is ``width`` pixels wide, or ``dpi`` dots per inch of the page when given.
    """
    doc, layout = make_layout(template, seed, locale)
    if dpi is not None:
        width = max(1, round(layout.width / 72 * dpi))
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
    return Generated(doc, layout, build_record(doc, layout, boxes, size), image, pdf_bytes)


def encode_image(image: Image.Image, fmt: str, quality: int = 90) -> bytes:
    """Encode deterministically (no timestamps or optional chunks)."""
    buf = io.BytesIO()
    if fmt == "png":
        image.save(buf, format="PNG", optimize=False, compress_level=6)
    elif fmt == "jpeg":
        image.save(buf, format="JPEG", quality=quality, optimize=False, progressive=False)
    else:
        raise ValueError(f"image format must be png or jpeg, not {fmt!r}")
    return buf.getvalue()
