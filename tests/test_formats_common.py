"""What all importers and exporters share: line grouping, value->word matching, boxes on the grid and
back, the malformed-file policy, annotated-only scoring, and the atomic import/export commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.data import Document, gold_values
from datagen.cli import main
from datagen.errors import DatagenError
from datagen.formats.common import MalformedError, Problems, assign_lines, find_words, make_record, pixel_boxes, split_of, split_segment
from datagen.prompts import IGNORE_ID, pip_target_ids, pip_targets
from datagen.record import grid_boxes


def test_assign_lines_follows_rows_and_breaks_on_a_step_left_or_down():
    boxes = [(10, 10, 50, 30), (60, 12, 90, 31), (10, 40, 40, 60), (200, 41, 240, 60), (100, 42, 150, 61)]
    # same row to the right: same line; next row: new line; a box left of the previous one: new line
    assert assign_lines(boxes) == [0, 0, 1, 1, 2]


def test_split_segment_shares_the_box_by_characters():
    words = split_segment("AB  CD", (0, 0, 60, 10))
    assert [w for w, _ in words] == ["AB", "CD"]
    assert words[0][1] == (0, 0, 20, 10) and words[1][1] == (40, 0, 60, 10)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("no.2, jalan x", [1, 2, 3]),  # case-insensitive
        ("NO.2,JALAN X", [1, 2, 3]),  # spaces ignored: annotations join segments differently
        ("9.00", [5]),
        ("JALAN Y", []),
        ("", []),
    ],
)
def test_find_words(value, expected):
    assert find_words(["TOTAL", "NO.2,", "JALAN", "X", "RM", "9.00"], value) == expected


def test_split_of_reads_folder_names():
    assert split_of(Path("0325updated.task1train(626p)/X51.txt")) == "train"
    assert split_of(Path("dataset/testing_data/annotations/a.json")) == "test"
    assert split_of(Path("val/box/a.txt")) == "validation"
    assert split_of(Path("latest/a.txt")) == "test"  # "latest" is no split name; the default applies
    assert split_of(Path("a.txt"), default="train") == "train"


def test_grid_boxes_round_trip_exactly_from_1000_pixels():
    size = (1017, 1439)
    pixels = [(x, y, x + 37, y + 11) for x, y in [(0, 0), (3, 999), (512, 700), (980, 1420)]]
    _, norm = grid_boxes(pixels, size)
    back = pixel_boxes(norm, size)
    assert grid_boxes(back, size)[1] == norm


def test_make_record_lists_annotated_keys_only_and_links_words():
    record = make_record(
        source="sroie",
        doc_id="X1",
        doc_type="receipt",
        words=["SHOP", "SDN", "BHD", "TOTAL", "9.00"],
        boxes=[(0, 0, 40, 10), (45, 0, 70, 10), (75, 0, 99, 10), (0, 20, 40, 30), (60, 20, 99, 30)],
        image_size=(100, 50),
        values={"total": "9.00", "company": "SHOP SDN BHD", "date": None},
    )
    assert [f["key"] for f in record["fields"]] == ["company", "date", "total"]  # schema order, annotated only
    assert record["fields"][0]["word_ids"] == [0, 1, 2] and record["fields"][2]["word_ids"] == [4]
    assert record["fields"][1] == {"key": "date", "value": None, "present": False, "word_ids": []}
    assert record["line_ids"] == [0, 0, 0, 1, 1]
    assert record["boxes_norm"][4] == [600, 400, 990, 600]
    with pytest.raises(MalformedError, match="'invoice_no' is not in the receipt schema"):
        make_record(source="s", doc_id="x", doc_type="receipt", words=[], boxes=[], image_size=(1, 1), values={"invoice_no": "1"})


def test_unannotated_keys_are_neither_trained_nor_scored(tmp_path):
    fields = [
        {"key": "company", "value": "SHOP", "present": True, "word_ids": [0]},
        {"key": "total", "value": None, "present": False, "word_ids": []},
    ]
    targets = pip_targets("receipt", fields)
    assert targets[:4] == ["SHOP", None, None, "unknown"] and set(targets[4:]) == {None}

    class Chars:
        pad_token_id = 0

        def encode(self, text, add_special_tokens=False):
            return [ord(c) for c in text]

    budgets = dict.fromkeys(
        ("company", "date", "address", "total", "time", "phone", "receipt_no", "cashier", "subtotal", "tax", "payment_method"), 8
    )
    ids, overflow = pip_target_ids(targets, list(budgets), budgets, Chars())
    assert ids[1] == [IGNORE_ID] * 8 and ids[0][:4] == [ord(c) for c in "SHOP"] and not overflow
    gold = gold_values("receipt", fields)
    assert gold == {"company": "SHOP", "total": None}
    doc = Document(id="x", doc_type="receipt", text="", gold=gold)
    assert doc.scored({"company": "SHOP", "phone": "555", "total": None}) == {"company": "SHOP", "total": None}


def test_problems_skip_and_name_files_or_stop_when_strict():
    seen: list[str] = []
    lenient = Problems(warn=seen.append)
    lenient.report("a/b.txt", "not JSON")
    assert lenient.skipped == [("a/b.txt", "not JSON")] and seen == ["skipped a/b.txt: not JSON"]
    with pytest.raises(DatagenError, match=r"^a/b.txt: not JSON$"):
        Problems(strict=True).report("a/b.txt", "not JSON")


def test_import_and_export_refuse_a_non_empty_output_and_touch_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["import", "sroie", str(tmp_path), "--out", str(out)]) == 2
    assert main(["export", "cord", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("exists and is not an empty folder") == 2
    assert [p.name for p in out.iterdir()] == ["keep.txt"] and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_bad_sources_are_one_line_errors(tmp_path, capsys):
    assert main(["import", "sroie", str(tmp_path / "missing"), "--out", str(tmp_path / "o1")]) == 2
    assert main(["export", "sroie", str(tmp_path / "missing"), "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("datagen: error: ") and "missing" in line for line in err)
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()
