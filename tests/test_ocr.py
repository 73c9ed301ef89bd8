"""OCR-read records: a real engine's words replace the generated ones; values stay, word links follow the boxes."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

import datagen.shard_writer as shard_writer
from datagen.build import build
from datagen.build_plan import BuildConfig
from datagen.errors import DatagenError
from datagen.ocr import load_engine, ocr_record, unread_fields
from datagen.pipeline import generate
from datagen.template import load_template_cached

RECORD = {
    "words": ["ACME", "SDN", "BHD", "TOTAL", "4.50"],
    "boxes": [[10, 10, 60, 30], [70, 10, 100, 30], [110, 10, 140, 30], [10, 50, 60, 70], [200, 50, 240, 70]],
    "line_ids": [0, 0, 0, 1, 1],
    "image_size": [300, 100],
    "fields": [
        {"key": "company", "value": "ACME SDN BHD", "present": True, "word_ids": [0, 1, 2]},
        {"key": "total", "value": "4.50", "present": True, "word_ids": [4]},
        {"key": "date", "value": "01/02/2018", "present": True, "word_ids": []},
        {"key": "phone", "value": None, "present": False, "word_ids": []},
    ],
}


def test_read_words_replace_the_generated_ones_and_fields_follow_their_boxes():
    segments = [("ACMESDN BND", (8.0, 8.0, 142.0, 32.0)), ("TOTAL", (8.0, 48.0, 62.0, 72.0)), ("4.5O", (198.0, 48.0, 242.0, 72.0))]
    read = ocr_record(RECORD, segments)
    assert read["words"] == ["ACMESDN", "BND", "TOTAL", "4.5O"] and read["line_ids"] == [0, 0, 1, 1]
    links = {f["key"]: [read["words"][i] for i in f["word_ids"]] for f in read["fields"]}
    assert links == {"company": ["ACMESDN", "BND"], "total": ["4.5O"], "date": [], "phone": []}
    assert [f["value"] for f in read["fields"]] == [f["value"] for f in RECORD["fields"]]  # values as printed
    assert unread_fields(read) == ["date"]
    assert all(0 <= v <= 1000 for box in read["boxes_norm"] for v in box) and len(read["boxes"]) == 4


def test_a_missed_field_is_counted_not_dropped():
    read = ocr_record(RECORD, [("TOTAL", (8.0, 48.0, 62.0, 72.0))])  # the engine read one word
    assert unread_fields(read) == ["company", "total", "date"]
    assert all(f["present"] == g["present"] for f, g in zip(read["fields"], RECORD["fields"], strict=True))


def test_unknown_engine_is_refused_before_any_work():
    with pytest.raises(DatagenError, match="unknown OCR engine 'tesseract'"):
        BuildConfig(n=3, ocr="tesseract")
    with pytest.raises(DatagenError, match="unknown OCR engine"):
        load_engine("tesseract")


def test_an_ocr_build_stores_the_engines_words_and_counts_what_it_missed(tmp_path, monkeypatch):
    """A stand-in engine (the real one is an optional extra) that reads the top half of every page as one line."""

    def engine(image):
        width, height = image.size
        return [("READ TEXT", (0.0, 0.0, float(width), height / 2))]

    monkeypatch.setattr(shard_writer, "load_engine", lambda name: engine)
    config = BuildConfig(n=6, seed=3, image_format="jpeg", width=256, calibration_docs=10, ocr="rapidocr")
    build(config, tmp_path / "b", workers=1)
    rows = [r for shard in sorted((tmp_path / "b" / "data").glob("*.parquet")) for r in pq.read_table(shard).to_pylist()]
    assert len(rows) == 6 and all(row["words"] == ["READ", "TEXT"] for row in rows)
    for row in rows:
        clean = generate(load_template_cached(row["template_id"]), row["seed"], row["locale"], raster=False).record
        assert [f["value"] for f in row["fields"]] == [f["value"] for f in clean["fields"]]
    card = (tmp_path / "b" / "README.md").read_text()
    assert "read on each rendered page by the OCR engine rapidocr" in card
    assert "Present values the OCR engine did not read" in card  # the bottom halves' fields
    state = json.loads((tmp_path / "b" / ".datagen" / "build.json").read_text())
    assert state["config"]["ocr"] == "rapidocr" and "ocr_engine" in state["inputs"]


def test_evaluate_reads_the_text_off_the_pages_with_ocr(small_build, tmp_path, monkeypatch):
    import datagen.ocr
    from benchmark.cli import main

    monkeypatch.setattr(datagen.ocr, "load_engine", lambda name: lambda image: [("QZX READ", (0.0, 0.0, 100.0, 20.0))])
    out = tmp_path / "results"
    args = ["evaluate", "pip-ref", "--dataset", str(small_build), "--limit", "2", "--modes", "pip", "--timing-docs", "0"]
    assert main([*args, "--ocr", "rapidocr", "--log-samples", "--output-dir", str(out)]) == 0
    (results,) = out.glob("results_*.json")
    assert json.loads(results.read_text())["config"]["ocr"] == "rapidocr"
    (samples,) = out.glob("samples_*.jsonl")
    prompts = [json.loads(line)["prompt"] for line in samples.read_text().splitlines()]
    assert prompts and all("<document>\nQZX READ\n</document>" in p for p in prompts)


def test_a_dataset_of_page_images_without_words_is_read_with_ocr(small_build, tmp_path, monkeypatch):
    import datagen.ocr
    from benchmark.data import load_eval_set

    table = pq.read_table(next((small_build / "data").glob("test-*.parquet"))).select(["id", "doc_type", "fields", "image"])
    (tmp_path / "pages" / "data").mkdir(parents=True)
    pq.write_table(table, tmp_path / "pages" / "data" / "test-00000-of-00001.parquet")
    monkeypatch.setattr(datagen.ocr, "load_engine", lambda name: lambda image: [("READ", (0.0, 0.0, 50.0, 20.0))])
    docs = load_eval_set(str(tmp_path / "pages"), "test", ocr="rapidocr").documents
    assert len(docs) == table.num_rows and all(d.text == "READ" and d.image is None and d.gold for d in docs)
