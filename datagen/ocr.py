"""Real OCR engines behind one call: a page image in, text segments with their boxes out.

Why: generated words are perfect, real model inputs are what an OCR engine reads. An engine calibrates the
fast noise model (``datagen.ocr_noise``, ``scripts/calibrate_ocr_noise.py``) and reads pages that come
without words. Engines are optional extras (``pip install -e ".[ocr]"``) whose wheels ship their own
weights and run with no network; a missing one is a one-line error naming the install command.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
from PIL import Image

from datagen.errors import DatagenError
from datagen.formats.common import Box, assign_lines, quad_box, split_segments
from datagen.record import grid_boxes

Segment = tuple[str, Box]  # a run of text the engine read as one piece, and its axis-aligned box in pixels
Engine = Callable[[Image.Image], list[Segment]]

# engine name -> the package that provides it (rapidocr: PP-OCRv4 detection + recognition, ONNX weights in the wheel)
ENGINES = {"rapidocr": "rapidocr-onnxruntime"}


@cache
def load_engine(name: str) -> Engine:
    """The engine called ``name`` (see ``ENGINES``), loaded once per process."""
    if name not in ENGINES:
        raise DatagenError(f"unknown OCR engine {name!r} (known: {', '.join(ENGINES)})")
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        raise DatagenError('OCR engine rapidocr is not installed: pip install -e ".[ocr]"') from None
    engine = RapidOCR()

    def read(image: Image.Image) -> list[Segment]:
        result, _ = engine(np.asarray(image.convert("RGB")))
        return [(text, quad_box(np.ravel(quad).tolist())) for quad, text, _score in result or [] if text.strip()]

    return read


def engine_version(name: str) -> str:
    """``name`` and its package version, for provenance in cards and calibration files."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{name} ({ENGINES[name]} {version(ENGINES[name])})"
    except PackageNotFoundError:
        return name


def ocr_record(record: dict[str, Any], segments: list[Segment]) -> dict[str, Any]:
    """``record`` with its words, boxes and lines replaced by what an engine read on its page.

    Each segment's words get their slice of its box (``split_segment``), in the engine's reading order.
    Field values stay the printed text; a field's ``word_ids`` become the read words that cover its printed
    words (a read word whose centre lies in one of them, or that holds one's centre). A present field
    that no read word covers keeps no ``word_ids``: ``unread_fields`` counts them for the card.
    """
    words, boxes, lines = read_words(segments)
    printed = np.asarray(record["boxes"], dtype=np.float64).reshape(-1, 4)
    read = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    fields = []
    for field in record["fields"]:
        mine = printed[field["word_ids"]] if field["word_ids"] else np.zeros((0, 4))
        fields.append({**field, "word_ids": _covering(read, mine)})
    pixels, norm = grid_boxes(read, tuple(record["image_size"]))
    return {**record, "words": words, "boxes": pixels, "boxes_norm": norm, "line_ids": lines, "fields": fields}


def read_words(segments: list[Segment]) -> tuple[list[str], list[Box], list[int]]:
    """The words of an engine's segments in its reading order, each with its slice of its segment's box
    (``split_segments``), and their line ids (``assign_lines``)."""
    words, boxes = split_segments(segments)
    return words, boxes, assign_lines(boxes)


def unread_fields(record: dict[str, Any]) -> list[str]:
    """The present fields of an OCR-read record that no read word covers (the engine missed their words)."""
    return [f["key"] for f in record["fields"] if f["present"] and not f["word_ids"]]


def _covering(read: np.ndarray, printed: np.ndarray) -> list[int]:
    """Indices of ``read`` boxes whose centre lies in a ``printed`` box, or that hold a printed box's centre."""
    if not len(read) or not len(printed):
        return []
    cx, cy = (read[:, 0] + read[:, 2]) / 2, (read[:, 1] + read[:, 3]) / 2
    inside = (printed[None, :, 0] <= cx[:, None]) & (cx[:, None] <= printed[None, :, 2])
    inside &= (printed[None, :, 1] <= cy[:, None]) & (cy[:, None] <= printed[None, :, 3])
    px, py = (printed[:, 0] + printed[:, 2]) / 2, (printed[:, 1] + printed[:, 3]) / 2
    holds = (read[:, None, 0] <= px[None, :]) & (px[None, :] <= read[:, None, 2])
    holds &= (read[:, None, 1] <= py[None, :]) & (py[None, :] <= read[:, None, 3])
    return np.flatnonzero((inside | holds).any(axis=1)).tolist()
