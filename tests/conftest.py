"""Fixtures shared across test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagen.build import build
from datagen.build_plan import BuildConfig


@pytest.fixture(scope="session")
def small_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-document eager build (PNG images 1024 px wide, every doc type, train/validation/test) for
    the exporters: images at least 1000 px a side make 0-1000 boxes survive the trip to pixels exactly, and
    exact words (no OCR noise) let formats that store a value as its words (FUNSD, LayoutLM) give it back."""
    out = tmp_path_factory.mktemp("small-build")
    config = BuildConfig(
        n=12,
        seed=31,
        image_format="png",
        width=1024,
        calibration_docs=30,
        shard_size=6,
        splits=(("train", 0.5), ("validation", 0.0), ("test", 0.5)),
        ocr_noise=False,
    )
    build(config, out, workers=1)
    return out
