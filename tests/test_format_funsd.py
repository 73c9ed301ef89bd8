"""FUNSD in and out: the release's folder layout and question/answer links, and this project's exports."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from datagen.doctypes import DOC_TYPES
from datagen.errors import DatagenError
from datagen.formats import funsd
from datagen.formats.common import Problems, Row, iter_rows, safe_name

SIZE = (762, 1000)  # FUNSD scans are about 760 x 1000 pixels


def _png(size: tuple[int, int] = SIZE) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 255).save(buffer, format="PNG")
    return buffer.getvalue()


def _entity(eid: int, label: str, words: list[tuple[str, list[int]]], linking: list[list[int]] = ()) -> dict[str, Any]:
    """An entity as the release writes it (same key order: box, text, label, words, linking, id)."""
    boxes = [box for _, box in words]
    return {
        "box": [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)],
        "text": " ".join(text for text, _ in words),
        "label": label,
        "words": [{"box": box, "text": text} for text, box in words],
        "linking": [list(pair) for pair in linking],
        "id": eid,
    }


def _line(y: int, *texts: str, x: int = 60) -> list[tuple[str, list[int]]]:
    """Words left to right on one text line at height ``y``."""
    words = []
    for text in texts:
        words.append((text, [x, y, x + 12 * max(1, len(text)), y + 18]))
        x += 12 * max(1, len(text)) + 10
    return words


TRAIN_FORM = [
    _entity(0, "header", _line(40, "REGISTRATION", "FORM")),
    _entity(1, "question", _line(100, "NAME:"), [[1, 2]]),
    _entity(2, "answer", _line(100, "John", "A.", "Smith", x=200), [[1, 2]]),
    _entity(3, "question", _line(140, "Phone", "No.:"), [[3, 4]]),
    _entity(4, "answer", _line(140, "(212)", "555-0100", x=240), [[3, 4]]),
    _entity(5, "question", _line(180, "DATE:"), [[5, 6]]),  # a bare date: which key is unclear
    _entity(6, "answer", _line(180, "9/12/88", x=200), [[5, 6]]),
    _entity(7, "question", _line(220, "Address"), [[7, 8], [7, 9]]),
    _entity(8, "answer", _line(220, "120", "Park", "Avenue", x=200), [[7, 8]]),
    _entity(9, "answer", _line(250, "New", "York,", "NY", x=200), [[7, 9]]),
    _entity(10, "other", [*_line(300, "Page"), (" ", [130, 300, 134, 318]), *_line(300, "1", x=140)]),  # blank words occur
    _entity(11, "question", _line(340, "Name"), [[11, 12]]),  # a second name: the first one wins
    _entity(12, "answer", _line(340, "Jane", "Roe", x=200), [[11, 12]]),
    _entity(13, "question", _line(380, "ZIP"), [[13, 99]]),  # a link to an entity that does not exist
    _entity(14, "header", _line(420, "SECOND", "HEADER")),
]
TEST_FORM = [
    _entity(0, "question", _line(60, "SEX"), [[1, 0]]),  # the answer end listing the link first
    _entity(1, "answer", _line(60, "F", x=200), [[1, 0]]),
]


def _funsd_release(root: Path) -> Path:
    """The unpacked ``dataset.zip``: splits, annotations and images side by side, and macOS leftovers."""
    for split, stem, form in (("training_data", "0000971160", TRAIN_FORM), ("testing_data", "82092117", TEST_FORM)):
        (root / "dataset" / split / "annotations").mkdir(parents=True)
        (root / "dataset" / split / "images").mkdir(parents=True)
        (root / "dataset" / split / "annotations" / f"{stem}.json").write_text(json.dumps({"form": form}, indent=4), encoding="utf-8")
        (root / "dataset" / split / "images" / f"{stem}.png").write_bytes(_png())
    resource_fork = root / "__MACOSX" / "dataset" / "training_data" / "annotations" / "._0000971160.json"
    resource_fork.parent.mkdir(parents=True)
    resource_fork.write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    return root / "dataset"


def _fields(record: dict[str, Any]) -> dict[str, tuple[str | None, list[int]]]:
    return {f["key"]: (f["value"], f["word_ids"]) for f in record["fields"]}


def test_release_imports_linked_answers_of_known_questions(tmp_path):
    root = _funsd_release(tmp_path)
    problems = Problems()
    docs = list(funsd.read(str(root.parent), problems))
    assert problems.skipped == []  # the __MACOSX resource fork is not an annotation
    test, train = docs  # path order: testing_data, training_data
    assert (train.split, train.record["id"], train.record["doc_type"]) == ("train", "0000971160", "form")
    assert (test.split, test.record["id"]) == ("test", "82092117")
    words = train.record["words"]
    assert words[:6] == ["REGISTRATION", "FORM", "NAME:", "John", "A.", "Smith"] and " " not in words and len(words) == 27
    assert train.record["boxes"][3] == [200, 100, 248, 118]
    assert train.record["boxes_norm"][3] == [round(200 * 1000 / 762), 100, round(248 * 1000 / 762), 118]
    assert _fields(train.record) == {
        "form_title": ("REGISTRATION FORM", [0, 1]),
        "full_name": ("John A. Smith", [3, 4, 5]),
        "address": ("120 Park Avenue New York, NY", [13, 14, 15, 16, 17, 18]),
        "phone": ("(212) 555-0100", [8, 9]),
    }
    assert all(f["present"] for f in train.record["fields"])  # keys FUNSD does not mention stay unannotated
    assert _fields(test.record) == {"gender": ("F", [1])}
    assert train.image == _png()


def test_question_labels_are_normalised_and_mapped_conservatively():
    assert funsd.normalize_label("Phone No.:") == funsd.normalize_label("PHONE  NO") == "phone no"
    assert funsd.normalize_label("E-Mail Address:") == "e mail address"
    assert funsd.normalize_label("Ｚｉｐ Ｃｏｄｅ：") == "zip code"  # full-width forms (NFKC)
    labels = [label for variants in funsd.SYNONYMS.values() for label in variants]
    assert len(labels) == len(set(labels)), "a label names two keys"
    assert all(funsd.normalize_label(label) == label for label in labels)
    assert set(funsd.SYNONYMS) <= set(DOC_TYPES["form"]) - {"form_title"}
    assert not {"date", "title", "to", "from"} & set(labels)


def _write_annotation(root: Path, stem: str, text: str | bytes, image: bool = True) -> Path:
    folder = root / "training_data"
    (folder / "annotations").mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    path = folder / "annotations" / f"{stem}.json"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    if image:
        (folder / "images" / f"{stem}.png").write_bytes(_png())
    return path


def test_malformed_files_are_skipped_and_named(tmp_path):
    good = _write_annotation(tmp_path, "good", json.dumps({"form": TEST_FORM}))
    bad = {
        _write_annotation(tmp_path, "not_json", "{'form': []"): "not a UTF-8 JSON file",
        _write_annotation(tmp_path, "latin1", b'{"form": []}\xe9'): "not a UTF-8 JSON file",
        _write_annotation(tmp_path, "no_form", json.dumps({"entities": []})): "'form' is a required property",
        _write_annotation(
            tmp_path, "short_box", json.dumps({"form": [{**TEST_FORM[1], "words": [{"box": [1, 2, 3], "text": "x"}]}]})
        ): "$.form[0].words[0].box",
        _write_annotation(tmp_path, "no_image", json.dumps({"form": TEST_FORM}), image=False): "no image named no_image",
        _write_annotation(tmp_path, "twice", json.dumps({"form": [TEST_FORM[0], {**TEST_FORM[1], "id": 0}]})): "entity id 0 is used twice",
        _write_annotation(
            tmp_path, "unbounded_box", json.dumps({"form": [{**TEST_FORM[1], "words": [{"box": [1, 2, float("inf"), 9], "text": "x"}]}]})
        ): "word 0 ('x') has a box that is not finite",
        _write_annotation(tmp_path, "nested", '{"form": ' + "[" * 100_000 + "]" * 100_000 + "}"): "nested too deeply",
    }
    problems = Problems(warn=lambda line: None)
    docs = list(funsd.read(str(tmp_path), problems))
    assert [d.record["id"] for d in docs] == [good.stem]
    assert sorted(f for f, _ in problems.skipped) == sorted(str(p) for p in bad)
    for file, reason in problems.skipped:
        assert bad[Path(file)] in reason
    with pytest.raises(DatagenError, match=r"latin1\.json"):
        list(funsd.read(str(tmp_path), Problems(strict=True)))


def test_missing_or_empty_source_is_a_user_error(tmp_path):
    with pytest.raises(DatagenError, match="no such folder"):
        list(funsd.read(str(tmp_path / "nope"), Problems()))
    with pytest.raises(DatagenError, match="no FUNSD annotation files"):
        list(funsd.read(str(tmp_path), Problems()))


def _row(fields: list[dict[str, Any]], image: bytes | None = _png((1000, 1000))) -> Row:
    """Words on two lines: "Name: Ann Lee" / "Lee Street 5"."""
    words = ["Name:", "Ann", "Lee", "Lee", "Street", "5"]
    boxes = [(10, 10, 50, 20), (60, 10, 80, 20), (90, 10, 110, 20), (10, 30, 30, 40), (40, 30, 80, 40), (90, 30, 95, 40)]
    return Row(
        id="form/x:1",
        split="train",
        doc_type="form",
        words=words,
        boxes=boxes,
        boxes_norm=[list(b) for b in boxes],
        line_ids=[0, 0, 0, 1, 1, 1],
        fields=fields,
        line_items=[],
        image_size=(1000, 1000),
        image=image,
        image_ext="png",
    )


def test_export_entities_are_runs_of_one_key_on_one_line():
    row = _row(
        [
            {"key": "full_name", "value": "Ann Lee", "present": True, "word_ids": [1, 2]},
            {"key": "address", "value": "Lee Street 5", "present": True, "word_ids": [3, 4, 5]},
            {"key": "email", "value": None, "present": False, "word_ids": []},
        ]
    )
    annotation = funsd.to_funsd(row)
    assert annotation["id"] == "form/x:1" and annotation["doc_type"] == "form" and annotation["absent"] == ["email"]
    assert [(e["id"], e["label"], e["text"], e["box"], e["linking"]) for e in annotation["form"]] == [
        (0, "other", "Name:", [10, 10, 50, 20], []),
        (1, "full_name", "Ann Lee", [60, 10, 110, 20], []),
        (2, "address", "Lee Street 5", [10, 30, 95, 40], []),
    ]
    assert annotation["form"][1]["words"] == [{"box": [60, 10, 80, 20], "text": "Ann"}, {"box": [90, 10, 110, 20], "text": "Lee"}]


def test_export_keeps_unannotated_keys_unannotated(tmp_path):
    """An imported dataset annotates only some keys; its export must not turn the others into absent ones."""
    row = _row([{"key": "full_name", "value": "Ann Lee", "present": True, "word_ids": [1, 2]}])
    assert funsd.write([row], tmp_path) == 1
    (doc,) = funsd.read(str(tmp_path), Problems())
    assert [(f["key"], f["present"]) for f in doc.record["fields"]] == [("full_name", True)]


def test_export_needs_images_and_distinct_file_names(tmp_path):
    with pytest.raises(DatagenError, match="form/x:1: no image"):
        funsd.write([_row([], image=None)], tmp_path / "a")
    with pytest.raises(DatagenError, match="file name form_x_1 is taken"):
        funsd.write([_row([]), _row([])], tmp_path / "b")


def test_project_export_with_contradictions_is_malformed(tmp_path):
    annotation = funsd.to_funsd(_row([{"key": "full_name", "value": "Ann Lee", "present": True, "word_ids": [1, 2]}]))
    cases = {
        "absent_but_labelled": ({**annotation, "absent": ["full_name"]}, "absent key 'full_name' is labelled on words"),
        "absent_unknown": ({**annotation, "absent": ["total"]}, "absent key 'total' is not a form key"),
        "bad_label": (
            {**annotation, "form": [{**annotation["form"][0], "label": "question"}]},
            "label 'question' is neither 'other' nor a form key",
        ),
        "bad_type": ({**annotation, "doc_type": "letter"}, "unknown doc type 'letter'"),
    }
    for stem, (data, _) in cases.items():
        _write_annotation(tmp_path, stem, json.dumps(data))
    problems = Problems(warn=lambda line: None)
    assert list(funsd.read(str(tmp_path), problems)) == []
    assert {Path(f).stem: r for f, r in problems.skipped}.keys() == cases.keys()
    for file, reason in problems.skipped:
        assert cases[Path(file).stem][1] in reason


def test_round_trip_of_a_build(small_build, tmp_path):
    rows = list(iter_rows(small_build))
    out = tmp_path / "funsd"
    out.mkdir()
    assert funsd.write(rows, out) == len(rows)
    for row in rows:
        stem = safe_name(row.id)
        assert (out / row.split / "images" / f"{stem}.png").read_bytes() == row.image
        text = (out / row.split / "annotations" / f"{stem}.json").read_text(encoding="utf-8")
        assert text == json.dumps(funsd.to_funsd(row), indent=2, ensure_ascii=False) + "\n"
    docs = list(funsd.read(str(out), Problems(strict=True)))
    assert sorted((d.split, d.record["id"]) for d in docs) == sorted((r.split, r.id) for r in rows)
    by_id = {d.record["id"]: d for d in docs}
    for row in rows:
        doc = by_id[row.id]
        assert (doc.split, doc.record["doc_type"], doc.record["words"]) == (row.split, row.doc_type, row.words)
        assert doc.record["boxes_norm"] == row.boxes_norm
        assert doc.record["fields"] == row.fields
        assert doc.image == row.image
