"""Ground truth of one document, read off its layout (never off the sampled values).

A field is present only if its words are on the page, and its value is exactly those words joined
by single spaces in reading order: what is printed is what is labelled, even when a block was
dropped by chance, a value wrapped over lines or a table column was left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from datagen import __version__
from datagen.doctypes import DOC_TYPES, LINE_ITEM_COLUMNS
from datagen.layout import Layout
from datagen.sample import Document


def layout_boxes(layout: Layout, scale: float) -> np.ndarray:
    """Word boxes in pixels of a raster ``scale`` pixels per point, shape (N, 4), float."""
    if not layout.words:
        return np.zeros((0, 4))
    return np.array([(w.x0, w.y0, w.x1, w.y1) for w in layout.words], dtype=np.float64) * scale


def grid_boxes(boxes: ArrayLike, image_size: tuple[int, int]) -> tuple[list[list[int]], list[list[int]]]:
    """Pixel boxes (N, 4) as whole pixels inside the image, and on the 0-1000 grid (LayoutLM convention).

    Whole pixels cover the box (floor the top-left, ceil the bottom-right). Shared by generated and
    imported documents so both land on the grid identically.
    """
    width, height = image_size
    size = np.array([width, height, width, height], dtype=np.float64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    pixels = np.empty_like(boxes)  # filled in place: a document's few numpy calls cost more than its arithmetic
    np.floor(boxes[:, :2], out=pixels[:, :2])
    np.ceil(boxes[:, 2:], out=pixels[:, 2:])
    np.clip(pixels, 0, size, out=pixels)
    return pixels.astype(np.int64).tolist(), np.rint(pixels * 1000 / size).astype(np.int64).tolist()


def build_record(doc: Document, layout: Layout, boxes: np.ndarray, image_size: tuple[int, int]) -> dict[str, Any]:
    """The JSON-ready ground truth. ``boxes`` are the final pixel boxes (after augmentation)."""
    width, height = image_size
    words = layout.words
    field_words: dict[str, list[int]] = {}
    cells: dict[int, dict[str, list[str]]] = {}
    for i, w in enumerate(words):
        if w.field is not None:
            field_words.setdefault(w.field, []).append(i)
        if w.item is not None:
            row, col = w.item
            cells.setdefault(row, {}).setdefault(col, []).append(w.text)
    fields = []
    for key in DOC_TYPES[doc.template.doc_type]:
        ids = field_words.get(key, [])
        fields.append({"key": key, "value": " ".join(words[i].text for i in ids) if ids else None, "present": bool(ids), "word_ids": ids})
    line_items = [{col: " ".join(cells[row].get(col, [])) for col in LINE_ITEM_COLUMNS} for row in sorted(cells)]
    abs_boxes, norm = grid_boxes(boxes, image_size)
    return {
        "id": f"{doc.template.id}:{doc.seed}",
        "doc_type": doc.template.doc_type,
        "template_id": doc.template.id,
        "locale": doc.locale,
        "currency": doc.currency,
        "seed": doc.seed,
        "generator_version": __version__,
        "image_size": [width, height],
        "page_size_pt": [round(layout.width, 2), round(layout.height, 2)],
        "fields": fields,
        "line_items": line_items,
        "words": [w.text for w in words],
        "boxes": abs_boxes,
        "boxes_norm": norm,
        "line_ids": [w.line for w in words],
    }
