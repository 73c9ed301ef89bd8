"""The OCR-noise model: words change as an engine reads them, values and their word links survive."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from datagen.build import build
from datagen.build_plan import BuildConfig
from datagen.ocr_noise import NoiseModel, noise_model
from datagen.pipeline import generate
from datagen.prompts import document_text
from datagen.template import load_template_cached


def model(**rates: float) -> NoiseModel:
    """A noise model with the given rates (others zero) and the shipped file's other settings."""
    replace = rates.pop("replace_o", 0.0)
    base = {"delete": 0.0, "insert": 0.0, "space_drop": 0.0, "space_insert": 0.0}
    return NoiseModel.from_yaml(
        {
            "engine": "test",
            "doc_types": ["receipt"],
            "segment_gap": rates.pop("segment_gap", 1.0),
            "rates": {**base, **rates},
            "replace": {"O": {"p": replace, "as": {"0": 1}}},
            "inserted": {".": 1},
        }
    )


def receipt(seed: int = 7) -> dict[str, Any]:
    return generate(load_template_cached("receipt/supermarket"), seed, raster=False).record


def field_words(record: dict[str, Any]) -> dict[str, str]:
    return {f["key"]: " ".join(record["words"][i] for i in f["word_ids"]) for f in record["fields"] if f["present"]}


def test_without_noise_only_the_boxes_become_line_level():
    record = receipt()
    read = model().apply(record, np.random.default_rng(0))
    assert read["words"] == record["words"] and read["line_ids"] == record["line_ids"]
    assert read["fields"] == record["fields"]
    # monospaced print: a segment's box shared out by characters lands close to each word's own box
    for (a, b, c, d), (w, x, y, z) in zip(read["boxes"], record["boxes"], strict=True):
        assert abs(a - w) <= 12 and abs(c - y) <= 12 and b <= x + 1 and d >= z - 1
    assert all(0 <= v <= 1000 for box in read["boxes_norm"] for v in box)


def test_dropped_spaces_merge_a_segment_and_fields_follow_their_words():
    record = receipt()
    read = model(space_drop=1.0).apply(record, np.random.default_rng(0))
    assert len(read["words"]) < len(record["words"])
    assert "".join(record["words"]) == "".join(read["words"])  # nothing but spaces was lost
    for field, value in field_words(read).items():
        gold = next(f["value"] for f in record["fields"] if f["key"] == field)
        assert gold.replace(" ", "") in value.replace(" ", "")  # the merged words holds the value (and maybe its label)
    assert [f["value"] for f in read["fields"]] == [f["value"] for f in record["fields"]]  # values stay as printed


def test_split_words_and_replaced_characters_keep_word_links():
    record = receipt()
    read = model(space_insert=1.0, replace_o=1.0).apply(record, np.random.default_rng(0))
    assert all(len(word) == 1 for word in read["words"]) and "O" not in read["words"]
    for field, value in field_words(read).items():
        gold = next(f["value"] for f in record["fields"] if f["key"] == field)
        assert value.replace(" ", "") == gold.replace(" ", "").replace("O", "0")


def test_deletions_and_insertions_change_the_text_deterministically():
    record = receipt()
    noisy = model(delete=0.05, insert=0.05)
    a, b = noisy.apply(record, np.random.default_rng(3)), noisy.apply(record, np.random.default_rng(3))
    assert a == b and a["words"] != record["words"]
    assert all(word and " " not in word for word in a["words"])
    assert len(a["boxes"]) == len(a["words"]) == len(a["line_ids"])


def test_the_shipped_calibration_loads_and_applies_to_receipts_only():
    shipped = noise_model()
    assert shipped.applies_to("receipt") and not shipped.applies_to("invoice")
    assert 0 < shipped.space_drop < 1 and shipped.engine


def test_generate_reads_receipts_with_noise_and_leaves_images_and_values_alone():
    template = load_template_cached("receipt/thermal-basic")
    clean = generate(template, 11, width=320)
    noisy = generate(template, 11, width=320, ocr_noise=model(space_drop=1.0))
    assert np.array_equal(np.asarray(clean.image), np.asarray(noisy.image))
    assert [f["value"] for f in clean.record["fields"]] == [f["value"] for f in noisy.record["fields"]]
    assert document_text(noisy.record["words"], noisy.record["line_ids"]) != document_text(clean.record["words"], clean.record["line_ids"])
    invoice = load_template_cached("invoice/classic")
    assert generate(invoice, 11, raster=False).record == generate(invoice, 11, raster=False, ocr_noise=model(space_drop=1.0)).record


@pytest.mark.parametrize("noise", [True, False])
def test_build_option_changes_receipt_words_only_and_the_card_says_so(tmp_path, noise):
    config = BuildConfig(
        n=9, seed=5, image_format="none", calibration_docs=20, splits=(("train", 1.0), ("validation", 0.0), ("test", 0.0)), ocr_noise=noise
    )
    out = tmp_path / "b"
    build(config, out, workers=1)
    rows = [row for shard in sorted((out / "data").glob("*.parquet")) for row in pq.read_table(shard).to_pylist()]
    changed = set()
    for row in rows:
        clean = generate(load_template_cached(row["template_id"]), row["seed"], row["locale"], raster=False).record
        if row["words"] != clean["words"]:
            changed.add(row["doc_type"])
        assert [f["value"] for f in row["fields"]] == [f["value"] for f in clean["fields"]]
    assert changed == ({"receipt"} if noise else set())
    assert ("as an OCR engine reads them" in (out / "README.md").read_text()) == noise
    assert json.loads((out / ".datagen" / "build.json").read_text())["config"]["ocr_noise"] is noise
