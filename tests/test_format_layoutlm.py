"""LayoutLM token classification in and out: the nielsr/funsd-layoutlmv3 layout with BIO tags per key."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from datasets import ClassLabel, Dataset, Features, Image, List, Value, load_dataset
from PIL import Image as PILImage

from datagen.doctypes import DOC_TYPES
from datagen.errors import DatagenError
from datagen.formats import layoutlm
from datagen.formats.common import Problems, Row, iter_rows


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, "white").save(buffer, format="PNG")
    return buffer.getvalue()


def test_labels_are_o_then_b_and_i_of_every_key_once():
    assert layoutlm.LABELS[0] == "O" and len(layoutlm.LABELS) == len(set(layoutlm.LABELS))
    keys = {k for schema in DOC_TYPES.values() for k in schema}
    assert set(layoutlm.LABELS) == {"O"} | {f"{p}-{k}" for k in keys for p in "BI"}
    assert layoutlm.LABELS[1:5] == ["B-company", "I-company", "B-date", "I-date"]  # schema order, receipt first


def test_bio_tags_restart_where_a_field_resumes(tmp_path):
    row = Row(
        id="receipt/x:1",
        split="test",
        doc_type="receipt",
        words=["Shop", "Ltd", "Total", "9.99", "Shop", "again"],
        boxes=[(0, 0, 1, 1)] * 6,
        boxes_norm=[[0, 0, 1, 1]] * 6,
        line_ids=[0, 0, 1, 1, 2, 2],
        fields=[
            {"key": "company", "value": "Shop Ltd Shop", "present": True, "word_ids": [0, 1, 4]},
            {"key": "total", "value": "9.99", "present": True, "word_ids": [3]},
            {"key": "tax", "value": None, "present": False, "word_ids": []},
        ],
        line_items=[],
        image_size=(1000, 1000),
        image=None,
        image_ext="png",
    )
    assert layoutlm.bio_tags(row) == ["B-company", "I-company", "O", "B-total", "B-company", "O"]
    with pytest.raises(DatagenError, match="receipt/x:1: no image"):
        layoutlm.write([row], tmp_path)


FUNSD_LIKE = Features(
    {
        "id": Value("string"),
        "tokens": List(Value("string")),
        "bboxes": List(List(Value("int64"))),
        "ner_tags": List(ClassLabel(names=["O", "B-full_name", "I-full_name", "B-HEADER"])),
        "image": Image(),
    }
)


def _hub_folder(root: Path, rows: dict[str, list[dict[str, Any]]], features: Features = FUNSD_LIKE) -> Path:
    """A Hub-style dataset folder as ``push_to_hub`` leaves it: ``data/{split}-00000-of-00001.parquet``."""
    for split, examples in rows.items():
        Dataset.from_list(examples, features=features).to_parquet(str(root / "data" / f"{split}-00000-of-00001.parquet"))
    return root


def _example(doc_id: str, tags: list[int], **change: Any) -> dict[str, Any]:
    return {
        "id": doc_id,
        "tokens": ["Name:", "Ann", "Lee"],
        "bboxes": [[100, 100, 200, 120], [250, 100, 300, 120], [310, 100, 360, 120]],
        "ner_tags": tags,
        "image": {"bytes": _png((1000, 1400)), "path": None},
        **change,
    }


def test_a_dataset_without_doc_type_holds_forms_and_bad_rows_are_named(tmp_path):
    root = _hub_folder(
        tmp_path,
        {
            "train": [
                _example("0", [0, 1, 2]),
                _example("1", [3, 0, 0]),  # FUNSD's own tag set: not a key of the form schema
                _example("2", [0, 1, 2], bboxes=[[1, 2, 3, 4]]),
            ],
            "dev": [_example("0", [0, 0, 0])],
        },
    )
    problems = Problems(warn=lambda line: None)
    docs = list(layoutlm.read(str(root), problems))
    assert [(d.split, d.record["id"]) for d in docs] == [("train", "0"), ("validation", "0")]
    first = docs[0].record
    assert (first["doc_type"], first["words"], first["boxes_norm"]) == ("form", ["Name:", "Ann", "Lee"], _example("0", [])["bboxes"])
    assert first["boxes"][1] == [250, 140, 300, 168]  # pixels of the 1000 x 1400 image
    fields = {f["key"]: (f["value"], f["word_ids"]) for f in first["fields"]}
    assert fields["full_name"] == ("Ann Lee", [1, 2]) and set(fields) == set(DOC_TYPES["form"])
    assert all(not f["present"] for f in docs[1].record["fields"])  # BIO annotates every key: untagged is absent
    assert problems.skipped == [
        (f"{root} train[1] (id 1)", "tag 'B-HEADER' of token 0 is not O, B-key or I-key of the form schema"),
        (f"{root} train[2] (id 2)", "3 tokens, 1 bboxes and 3 ner_tags"),
    ]
    with pytest.raises(DatagenError, match=r"train\[1\] \(id 1\): tag 'B-HEADER'"):
        list(layoutlm.read(str(root), Problems(strict=True)))


def test_unusable_sources_are_user_errors(tmp_path):
    with pytest.raises(DatagenError, match="nope: no such dataset directory"):
        list(layoutlm.read(str(tmp_path / "nope"), Problems()))
    no_image = Features({k: v for k, v in FUNSD_LIKE.items() if k != "image"})
    example = {k: v for k, v in _example("0", [0, 0, 0]).items() if k != "image"}
    root = _hub_folder(tmp_path / "a", {"train": [example]}, no_image)
    with pytest.raises(DatagenError, match="missing columns image"):
        list(layoutlm.read(str(root), Problems()))


def test_round_trip_of_a_build(small_build, tmp_path):
    rows = list(iter_rows(small_build))
    out = tmp_path / "layoutlm"
    out.mkdir()
    assert layoutlm.write(rows, out) == len(rows)
    assert sorted(p.name for p in (out / "data").iterdir()) == ["test-00000-of-00001.parquet", "train-00000-of-00001.parquet"]
    loaded = load_dataset(str(out))
    assert loaded["train"].features == layoutlm.FEATURES
    tags = loaded["train"].features["ner_tags"].feature
    first = loaded["train"][0]
    assert first["bboxes"] == rows[0].boxes_norm and [tags.int2str(t) for t in first["ner_tags"]] == layoutlm.bio_tags(rows[0])
    docs = list(layoutlm.read(str(out), Problems(strict=True)))
    assert [(d.split, d.record["id"]) for d in docs] == [(r.split, r.id) for r in rows]
    for doc, row in zip(docs, rows, strict=True):
        assert (doc.record["doc_type"], doc.record["words"], doc.record["boxes_norm"]) == (row.doc_type, row.words, row.boxes_norm)
        assert doc.record["fields"] == row.fields
        assert doc.image == row.image
