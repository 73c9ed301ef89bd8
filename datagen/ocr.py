"""Real OCR engines behind one call: a page image in, text segments with their boxes out.

Why: generated words are perfect, real model inputs are what an OCR engine reads. An engine calibrates the
fast noise model (``datagen.ocr_noise``, ``scripts/calibrate_ocr_noise.py``) and reads pages that come
without words. Engines are optional extras (``pip install -e ".[ocr]"``) whose wheels ship their own
weights and run with no network; a missing one is a one-line error naming the install command.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
from PIL import Image

from datagen.errors import DatagenError

Box = tuple[float, float, float, float]
Segment = tuple[str, Box]  # a run of text the engine read as one piece, and its axis-aligned box in pixels
Engine = Callable[[Image.Image], list[Segment]]

ENGINES = {"rapidocr": "rapidocr-onnxruntime (PP-OCRv4 detection + recognition, ONNX; weights in the wheel)"}


@cache
def load_engine(name: str) -> Engine:
    """The engine called ``name`` (see ``ENGINES``), loaded once per process."""
    if name != "rapidocr":
        raise DatagenError(f"unknown OCR engine {name!r} (known: {', '.join(ENGINES)})")
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        raise DatagenError('OCR engine rapidocr is not installed: pip install -e ".[ocr]"') from None
    engine = RapidOCR()

    def read(image: Image.Image) -> list[Segment]:
        result, _ = engine(np.asarray(image.convert("RGB")))
        return [(text, quad_to_box(quad)) for quad, text, _score in result or [] if text.strip()]

    return read


def engine_version(name: str) -> str:
    """``name`` and its package version, for provenance in cards and calibration files."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{name} (rapidocr-onnxruntime {version('rapidocr-onnxruntime')})"
    except PackageNotFoundError:
        return name


def quad_to_box(quad: object) -> Box:
    """The axis-aligned box around an engine's four corner points."""
    points = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)
