"""CORD v2 (naver-clova-ix/cord-v2, Donut gt_parse): a faithful Hub-style fixture imports to the expected
words, boxes, lines, fields (linked by valid_line category) and line items; malformed rows are skipped
and named; a datagen build survives export and import unchanged."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from datasets import Dataset, load_dataset
from PIL import Image

from datagen.errors import DatagenError
from datagen.formats import cord
from datagen.formats.common import Problems, iter_rows

# ----------------------------------------------------------------------------- a CORD v2 folder


def quad(x0: int, y0: int, x1: int, y1: int) -> dict[str, int]:
    """A slightly rotated quad around (x0, y0, x1, y1), keys in the scrambled order of the real files."""
    return {"x2": x1 - 1, "y3": y1 - 2, "x3": x1, "y4": y1, "x1": x0, "y1": y0 + 2, "x4": x0 + 1, "y2": y0}


def word(text: str, box: tuple[int, int, int, int], row: int | None, key: int = 0) -> dict[str, Any]:
    w = {"quad": quad(*box), "is_key": key, "row_id": row, "text": text}
    if row is None:
        del w["row_id"]
    return w


def line(category: str, group: int, *words: dict[str, Any]) -> dict[str, Any]:
    return {"words": list(words), "category": category, "group_id": group, "sub_group_id": 0}


def png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buf, format="PNG")
    return buf.getvalue()


# train/0: a two-item menu (the second with an add-on under "sub"), keys printed before values
# (is_key words), and a total equal to the subtotal: only the valid_line category tells them apart.
TRAIN_LINES = [
    line("menu.cnt", 1, word("2", (20, 40, 40, 60), 2156639)),
    line("menu.nm", 1, word("NASI", (60, 40, 120, 60), 2156639), word("GORENG", (130, 40, 220, 60), 2156639)),
    line("menu.price", 1, word("50.000", (380, 40, 460, 60), 2156639)),
    line("menu.nm", 2, word("ES", (60, 80, 90, 100), 2156640), word("TEH", (100, 80, 150, 100), 2156640)),
    line("menu.cnt", 2, word("1", (20, 80, 40, 100), 2156640)),
    line("menu.unitprice", 2, word("10.000", (250, 80, 330, 100), 2156640)),
    line("menu.price", 2, word("10.000", (380, 80, 460, 100), 2156640)),
    line("menu.sub_nm", 2, word("LESS", (80, 120, 140, 140), 2156641), word("SUGAR", (150, 120, 230, 140), 2156641)),
    line("sub_total.subtotal_price", 3, word("SUBTOTAL", (20, 200, 140, 220), 2156642, 1), word("60.000", (380, 200, 460, 220), 2156642)),
    line("sub_total.tax_price", 3, word("PB1", (20, 240, 80, 260), 2156643, 1), word("5.455", (380, 240, 460, 260), 2156643)),
    line("total.total_price", 4, word("TOTAL", (20, 300, 120, 320), 2156644, 1), word("60.000", (380, 300, 460, 320), 2156644)),
    line("total.cashprice", 4, word("CASH", (20, 340, 100, 360), 2156645, 1), word("100.000", (360, 340, 460, 360), 2156645)),
]
TRAIN_PARSE = {
    "menu": [
        {"nm": "NASI GORENG", "cnt": "2", "price": "50.000"},
        {"nm": "ES TEH", "cnt": "1", "unitprice": "10.000", "price": "10.000", "sub": {"nm": "LESS SUGAR"}},
    ],
    "sub_total": {"subtotal_price": "60.000", "tax_price": "5.455"},
    "total": {"total_price": "60.000", "cashprice": "100.000"},
}
# validation/0: a menu of one item is an object, no sub_total, and a total printed twice is a list.
VALIDATION_LINES = [
    line("menu.nm", 1, word("KOPI", (20, 40, 100, 60), 7), word("SUSU", (110, 40, 190, 60), 7)),
    line("menu.price", 1, word("25.000", (380, 40, 460, 60), 7)),
    line("total.total_price", 2, word("TOTAL", (20, 100, 120, 120), 8, 1), word("25.000", (380, 100, 460, 120), 8)),
    line("total.total_price", 3, word("25.000", (380, 160, 460, 180), 9)),
]
VALIDATION_PARSE = {"menu": {"nm": "KOPI SUSU", "price": "25.000"}, "total": {"total_price": ["25.000", "25.000"]}}
# test: no image_id, no image_size, no row ids and a blank word.
TEST_LINES = [
    line("menu.nm", 1, word("AIR", (20, 40, 80, 60), None), word(" ", (85, 40, 90, 60), None), word("MINERAL", (100, 40, 200, 60), None)),
    line("menu.price", 1, word("5.000", (380, 40, 460, 60), None)),
    line("total.total_price", 2, word("5.000", (380, 100, 460, 120), None)),
]
TEST_PARSE = {"menu": [{"nm": "AIR MINERAL", "price": "5.000"}], "total": {"total_price": "5.000"}}
SIZE = (500, 800)  # 0-1000 grid: x * 2, y * 1.25


def truth(parse: dict[str, Any], lines: list[dict[str, Any]], split: str, image_id: int | None, sized: bool = True) -> str:
    meta: dict[str, Any] = {"version": "2.0.0", "split": split}
    if image_id is not None:
        meta["image_id"] = image_id
    if sized:
        meta["image_size"] = {"width": SIZE[0], "height": SIZE[1]}
    return json.dumps({"gt_parse": parse, "meta": meta, "valid_line": lines, "roi": {}, "repeating_symbol": [], "dontcare": []})


def write_split(root: Path, name: str, truths: list[str]) -> None:
    """One parquet file as the Hub stores cord-v2's (data/{split}-00000-of-00001-{hash}.parquet)."""
    rows = {"image": [{"bytes": png(*SIZE), "path": None}] * len(truths), "ground_truth": truths}
    Dataset.from_dict(rows, features=cord.FEATURES).to_parquet(str(root / "data" / f"{name}-00000-of-00001-cc3c5779fe22e8ca.parquet"))


@pytest.fixture
def cord_v2(tmp_path: Path) -> Path:
    root = tmp_path / "cord-v2"
    (root / "data").mkdir(parents=True)
    (root / "README.md").write_text("---\nlicense: cc-by-4.0\n---\n")
    broken_word = [line("total.total_price", 1, {"is_key": 0, "row_id": 1, "text": "1.000"})]
    write_split(root, "train", [truth(TRAIN_PARSE, TRAIN_LINES, "train", 0), "{not json", truth({}, broken_word, "train", 2)])
    write_split(root, "validation", [truth(VALIDATION_PARSE, VALIDATION_LINES, "dev", 0)])
    write_split(root, "test", [truth(TEST_PARSE, TEST_LINES, "test", None, sized=False)])
    return root


def grid(x0: int, y0: int, x1: int, y1: int) -> list[int]:
    return [x0 * 2, y0 * 5 // 4, x1 * 2, y1 * 5 // 4]


def field(key: str, value: str | None, ids: list[int]) -> dict[str, Any]:
    return {"key": key, "value": value, "present": value is not None, "word_ids": ids}


def test_import_reads_words_boxes_lines_fields_and_items(cord_v2: Path):
    problems = Problems(warn=lambda _: None)
    docs = {d.record["id"]: d for d in cord.read(str(cord_v2), problems)}
    assert sorted(docs) == ["test-0", "train-0", "validation-0"]
    assert {d.split for d in docs.values()} == {"train", "validation", "test"} and docs["validation-0"].split == "validation"

    train = docs["train-0"].record
    assert docs["train-0"].image == png(*SIZE)
    assert train["doc_type"] == "receipt" and train["image_size"] == list(SIZE)
    assert train["words"] == [w["text"] for entry in TRAIN_LINES for w in entry["words"]]
    # the quad's bounding box: x from x1 to x3, y from y2 to y4
    assert train["boxes_norm"][0] == grid(20, 40, 40, 60) and train["boxes_norm"][-1] == grid(360, 340, 460, 360)
    assert train["line_ids"] == [0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    # total and subtotal are both "60.000": each is linked to its own entry's value word, not its key word
    assert train["fields"] == [field("total", "60.000", [16]), field("subtotal", "60.000", [12]), field("tax", "5.455", [14])]
    assert train["line_items"] == [
        {"description": "NASI GORENG", "quantity": "2", "unit_price": "", "amount": "50.000"},
        {"description": "ES TEH", "quantity": "1", "unit_price": "10.000", "amount": "10.000"},
    ]

    validation = docs["validation-0"].record
    # a repeated total keeps the first value and its entry; absent sub_total = subtotal and tax annotated absent
    assert validation["fields"] == [field("total", "25.000", [4]), field("subtotal", None, []), field("tax", None, [])]
    assert validation["line_items"] == [{"description": "KOPI SUSU", "quantity": "", "unit_price": "", "amount": "25.000"}]
    assert validation["line_ids"] == [0, 0, 0, 1, 1, 2]

    test = docs["test-0"].record
    assert test["words"] == ["AIR", "MINERAL", "5.000", "5.000"]  # the blank word is dropped
    assert test["image_size"] == list(SIZE)  # from the PNG header
    assert test["line_ids"] == [0, 0, 0, 1]  # no row ids: lines from the geometry (common.assign_lines)
    assert test["fields"][0] == field("total", "5.000", [3])


def test_malformed_rows_are_skipped_and_named(cord_v2: Path):
    problems = Problems(warn=lambda _: None)
    assert len(list(cord.read(str(cord_v2), problems))) == 3
    assert [where for where, _ in problems.skipped] == [f"{cord_v2} train[1]", f"{cord_v2} train[2]"]
    assert "not valid JSON" in problems.skipped[0][1] and "quad" in problems.skipped[1][1]
    with pytest.raises(DatagenError, match=r"train\[1\]: ground_truth is not valid JSON"):
        list(cord.read(str(cord_v2), Problems(strict=True)))


def test_missing_folder_or_column_is_a_user_error(tmp_path: Path):
    with pytest.raises(DatagenError, match="no such dataset directory"):
        list(cord.read(str(tmp_path / "absent"), Problems()))
    (tmp_path / "other" / "data").mkdir(parents=True)
    Dataset.from_dict({"text": ["x"]}).to_parquet(str(tmp_path / "other" / "data" / "train-00000-of-00001.parquet"))
    with pytest.raises(DatagenError, match="no ground_truth column"):
        list(cord.read(str(tmp_path / "other"), Problems()))


# ----------------------------------------------------------------------------- export


def test_export_then_import_gives_back_every_document(small_build: Path, tmp_path: Path):
    out = tmp_path / "cord"
    out.mkdir()
    rows = {r.id: r for r in iter_rows(small_build)}
    assert cord.write(iter_rows(small_build), out) == len(rows)
    assert sorted(p.name for p in (out / "data").iterdir()) == ["test-00000-of-00001.parquet", "train-00000-of-00001.parquet"]
    loaded = load_dataset(str(out))
    assert all(part.features == cord.FEATURES for part in loaded.values())
    docs = list(cord.read(str(out), Problems(strict=True)))
    assert sorted(d.record["id"] for d in docs) == sorted(rows)  # ids are kept as they are
    for doc in docs:
        row, record = rows[doc.record["id"]], doc.record
        assert doc.split == row.split and doc.image == row.image
        assert record["doc_type"] == row.doc_type
        assert record["words"] == row.words
        assert record["boxes_norm"] == row.boxes_norm
        assert record["line_ids"] == row.line_ids
        assert record["fields"] == row.fields
        assert record["line_items"] == row.line_items


def test_export_uses_cord_places_for_receipts_and_is_deterministic(small_build: Path, tmp_path: Path):
    rows = list(iter_rows(small_build))
    receipt = next(r for r in rows if r.doc_type == "receipt" and any(f["key"] == "total" and f["present"] for f in r.fields))
    gt = cord.ground_truth(receipt)
    total = next(f for f in receipt.fields if f["key"] == "total")
    assert gt["gt_parse"]["total"]["total_price"] == total["value"]
    categories = [entry["category"] for entry in gt["valid_line"] for _ in entry["words"]]
    assert [categories[i] for i in total["word_ids"]] == ["total.total_price"] * len(total["word_ids"])
    assert gt["meta"] == {
        "version": "datagen",
        "split": receipt.split,
        "image_id": receipt.id,
        "image_size": {"width": receipt.image_size[0], "height": receipt.image_size[1]},
        "doc_type": "receipt",
        "annotated_keys": [f["key"] for f in receipt.fields],
    }
    invoice = next(r for r in rows if r.doc_type == "invoice")
    assert cord.ground_truth(invoice)["gt_parse"]["total"] == next(f["value"] for f in invoice.fields if f["key"] == "total")

    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        out.mkdir()
        cord.write(iter(rows), out)
    for name in ("train", "test"):
        file = f"data/{name}-00000-of-00001.parquet"
        assert (first / file).read_bytes() == (second / file).read_bytes()


def test_partially_annotated_rows_keep_their_unannotated_keys_unannotated(small_build: Path, tmp_path: Path):
    row = next(r for r in iter_rows(small_build) if r.doc_type == "receipt")
    only_total = dataclasses.replace(row, fields=[f for f in row.fields if f["key"] == "total"])
    (tmp_path / "out").mkdir()
    cord.write([only_total], tmp_path / "out")
    (doc,) = cord.read(str(tmp_path / "out"), Problems(strict=True))
    assert doc.record["fields"] == only_total.fields


def test_a_row_without_image_is_refused(small_build: Path, tmp_path: Path):
    row = dataclasses.replace(next(iter_rows(small_build)), image=None)
    with pytest.raises(DatagenError, match=re.escape(f"{row.id}: no image")):
        cord.write([row], tmp_path)
