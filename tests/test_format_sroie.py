"""SROIE import (both on-disk layouts, the real files' quirks, malformed files) and the export round trip."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from datagen.errors import DatagenError
from datagen.formats import sroie
from datagen.formats.common import Imported, Problems, Row, find_words, iter_rows, safe_name


def _image(path: Path, size: tuple[int, int] = (500, 1000), kind: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def _put(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def _keys(**values: str) -> str:
    """A key file as SROIE writes them: 4-space indented JSON."""
    return json.dumps(values, indent=4, ensure_ascii=False)


def _read(root: Path, problems: Problems | None = None) -> dict[str, Imported]:
    return {doc.record["id"]: doc for doc in sroie.read(str(root), problems or Problems(warn=lambda _: None))}


def _fields(doc: Imported) -> list[tuple[str, str | None, bool, list[int]]]:
    return [(f["key"], f["value"], f["present"], f["word_ids"]) for f in doc.record["fields"]]


# ----------------------------------------------------------------------------- the ICDAR release


@pytest.fixture
def icdar(tmp_path: Path) -> Path:
    """The ICDAR 2019 release layout: images and box files together, key files in another folder, the test
    set spread over image, ``text`` and task 3 folders; box files in UTF-8 with BOM and CRLF, or latin-1."""
    root = tmp_path / "SROIE"
    train1, train2 = root / "0325updated" / "0325updated.task1train(626p)", root / "0325updated" / "0325updated.task2train(626p)"
    _image(train1 / "X51005200931.jpg")
    box = [
        "100,10,230,10,230,30,100,30,TAN WOON YANN",  # 13 characters over 130 px: 10 px each
        "100,40,310,40,310,60,100,60,NO.53, JALAN SAGU 18,",  # TEXT with commas, 21 characters over 210 px
        "98,101,212,99,214,121,100,123,25/12/2018",  # a slightly rotated quadrilateral
        "",
        "100,130,160,130,160,150,100,150,9.00",
        "",
    ]
    _put(train1 / "X51005200931.txt", "\ufeff" + "\r\n".join(box))
    _put(train2 / "X51005200931.txt", _keys(company="TAN WOON YANN", date="25/12/2018", address="NO.53, JALAN SAGU 18,", total="9.00"))
    _image(train1 / "X51005230605.jpg", (400, 800))
    _put(
        train1 / "X51005230605.txt",
        "10,10,50,10,50,30,10,30,CAFÉ\n10,40,80,40,80,60,10,60,JALAN 1\n10,70,40,70,40,90,10,90,ALI\n".encode("latin-1"),
    )
    # no "total" (as in a few real key files), an empty date, a receipt key SROIE does not have, a stray key
    _put(train2 / "X51005230605.txt", _keys(company="CAFÉ", date="", address="JALAN 1", cashier="ALI", note="ignored"))
    _image(root / "task1&2_test(361p)" / "fulltext_test(361p)" / "X51006008083.jpg")
    _put(root / "text" / "X51006008083.txt", "10,10,60,10,60,30,10,30,TOTAL\n")
    _put(root / "task3-test(347p)" / "X51006008083.txt", _keys(company="TOTAL", date="01/01/2019", address="NOWHERE", total="1.00"))
    _put(root / "__MACOSX" / "0325updated" / "0325updated.task1train(626p)" / "._X51005200931.jpg", b"\x00\x05\x16\x07")
    return root


def test_icdar_layout_words_boxes_lines_and_fields(icdar: Path) -> None:
    problems = Problems(warn=lambda _: None)
    docs = _read(icdar, problems)
    assert problems.skipped == []
    assert list(docs) == ["X51005200931", "X51005230605", "X51006008083"]
    doc = docs["X51005200931"]
    record = doc.record
    assert (doc.split, record["doc_type"], record["image_size"]) == ("train", "receipt", [500, 1000])
    assert doc.image == (icdar / "0325updated" / "0325updated.task1train(626p)" / "X51005200931.jpg").read_bytes()
    assert record["words"] == ["TAN", "WOON", "YANN", "NO.53,", "JALAN", "SAGU", "18,", "25/12/2018", "9.00"]
    assert record["boxes"] == [
        [100, 10, 130, 30],
        [140, 10, 180, 30],
        [190, 10, 230, 30],
        [100, 40, 160, 60],
        [170, 40, 220, 60],
        [230, 40, 270, 60],
        [280, 40, 310, 60],
        [98, 99, 214, 123],
        [100, 130, 160, 150],
    ]
    assert record["boxes_norm"] == [[2 * x0, y0, 2 * x1, y1] for x0, y0, x1, y1 in record["boxes"]]  # 500 x 1000 px
    assert record["line_ids"] == [0, 0, 0, 1, 1, 1, 1, 2, 3]
    assert _fields(doc) == [
        ("company", "TAN WOON YANN", True, [0, 1, 2]),
        ("date", "25/12/2018", True, [7]),
        ("address", "NO.53, JALAN SAGU 18,", True, [3, 4, 5, 6]),
        ("total", "9.00", True, [8]),
    ]
    assert record["line_items"] == []


def test_icdar_quirks_latin1_missing_key_extra_keys(icdar: Path) -> None:
    doc = _read(icdar)["X51005230605"]
    assert doc.record["words"] == ["CAFÉ", "JALAN", "1", "ALI"]
    assert _fields(doc) == [
        ("company", "CAFÉ", True, [0]),
        ("date", None, False, []),  # "" in the key file: annotated as absent
        ("address", "JALAN 1", True, [1, 2]),
        ("total", None, False, []),  # missing from the key file: annotated as absent, not unknown
        ("cashier", "ALI", True, [3]),  # a receipt-schema key; "note" is not one and is dropped
    ]


def test_icdar_test_set_split_and_value_not_on_page(icdar: Path) -> None:
    doc = _read(icdar)["X51006008083"]
    assert doc.split == "test"  # the box file's folder ("text") names no split; the key file's does
    assert ("address", "NOWHERE", True, []) in _fields(doc)


# ----------------------------------------------------------------------------- the img/box/entities repackaging


def test_repackaged_layout_and_splits(tmp_path: Path) -> None:
    root = tmp_path / "SROIE2019"
    for split, stem in (("train", "X00016469612"), ("test", "X00016469670")):
        _image(root / split / "img" / f"{stem}.jpg")
        _put(root / split / "box" / f"{stem}.txt", "10,10,50,10,50,30,10,30,9.00\n")
        _put(root / split / "entities" / f"{stem}.txt", _keys(company="", date="", address="", total="9.00"))
    docs = _read(root)
    assert {stem: doc.split for stem, doc in docs.items()} == {"X00016469612": "train", "X00016469670": "test"}
    assert _fields(docs["X00016469612"])[3] == ("total", "9.00", True, [0])


def test_png_image_and_non_receipt_doc_type(tmp_path: Path) -> None:
    _image(tmp_path / "doc.png", (1000, 1000), "PNG")
    _put(tmp_path / "doc.txt", "0,0,10,0,10,10,0,10,INV-1\n")
    _put(tmp_path / "keys" / "doc.txt", _keys(invoice_no="INV-1", total="", doc_type="invoice"))
    doc = _read(tmp_path)["doc"]
    assert (doc.split, doc.record["doc_type"]) == ("test", "invoice")  # no folder names a split: the default
    assert _fields(doc) == [("invoice_no", "INV-1", True, [0]), ("total", None, False, [])]


def test_one_word_line_keeps_its_box_exactly(tmp_path: Path) -> None:
    # 11 characters over 25 px: sharing the width out by characters gives a right edge of 25.000000000000004,
    # which whole-pixel rounding would widen to 26; the exporter writes such one-word lines for every word
    _image(tmp_path / "a.jpg", (1000, 1000))
    _put(tmp_path / "a.txt", "0,0,25,0,25,10,0,10,RM12,345.00\n")
    _put(tmp_path / "k" / "a.txt", _keys(total="RM12,345.00"))
    assert _read(tmp_path)["a"].record["boxes"] == [[0, 0, 25, 10]]


# ----------------------------------------------------------------------------- malformed input


def _good(root: Path) -> None:
    _image(root / "train" / "img" / "GOOD.jpg")
    _put(root / "train" / "box" / "GOOD.txt", "10,10,50,10,50,30,10,30,9.00\n")
    _put(root / "train" / "entities" / "GOOD.txt", _keys(company="", date="", address="", total="9.00"))


BAD_BOX = "10,10,50,10,50,30,10,30,OK\n10,10,50,10,50,30,TEXT\n"
BAD = {
    # name: (files of document BAD, the file the report names, words of its reason)
    "line with too few coordinates": (
        {"box/BAD.txt": BAD_BOX, "entities/BAD.txt": _keys(total="1"), "img/BAD.jpg": None},
        "box/BAD.txt",
        "line 2",
    ),
    "coordinate not a number": (
        {"box/BAD.txt": "a,1,2,3,4,5,6,7,X\n", "entities/BAD.txt": _keys(total="1"), "img/BAD.jpg": None},
        "box/BAD.txt",
        "line 1",
    ),
    "truncated key file": (
        {"box/BAD.txt": "1,1,2,1,2,2,1,2,X\n", "entities/BAD.txt": '{\n    "company": "X",', "img/BAD.jpg": None},
        "entities/BAD.txt",
        "not a JSON object",
    ),
    "value not a string": (
        {"box/BAD.txt": "1,1,2,1,2,2,1,2,X\n", "entities/BAD.txt": '{"total": 9.0}', "img/BAD.jpg": None},
        "entities/BAD.txt",
        "not a string",
    ),
    "unknown doc type": (
        {"box/BAD.txt": "1,1,2,1,2,2,1,2,X\n", "entities/BAD.txt": _keys(doc_type="letter"), "img/BAD.jpg": None},
        "entities/BAD.txt",
        "unknown doc type",
    ),
    "image not an image": (
        {"box/BAD.txt": "1,1,2,1,2,2,1,2,X\n", "entities/BAD.txt": _keys(total="1"), "img/BAD.jpg": "not a jpeg"},
        "img/BAD.jpg",
        "not a readable image",
    ),
    "no key file": ({"box/BAD.txt": "1,1,2,1,2,2,1,2,X\n", "img/BAD.jpg": None}, "box/BAD.txt", "no key file"),
    "no box file": ({"entities/BAD.txt": _keys(total="1"), "img/BAD.jpg": None}, "entities/BAD.txt", "no box file"),
    "no image": ({"box/BAD.txt": "1,1,2,1,2,2,1,2,X\n", "entities/BAD.txt": _keys(total="1")}, "box/BAD.txt", "no image"),
    "two box files": (
        {"box/BAD.txt": "1,1,2,1,2,2,1,2,X\n", "img/BAD.txt": "1,1,2,1,2,2,1,2,Y\n", "entities/BAD.txt": _keys(), "img/BAD.jpg": None},
        "box/BAD.txt",
        "several box files",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_malformed_document_is_skipped_and_named(tmp_path: Path, case: str) -> None:
    files, named, reason = BAD[case]
    _good(tmp_path)
    for name, content in files.items():
        if content is None:
            _image(tmp_path / "train" / name)
        else:
            _put(tmp_path / "train" / name, content)
    problems = Problems(warn=lambda _: None)
    assert list(_read(tmp_path, problems)) == ["GOOD"]
    [(where, why)] = problems.skipped
    assert where == str(tmp_path / "train" / named)
    assert reason in why
    with pytest.raises(DatagenError, match=r"BAD\.(txt|jpg)"):
        _read(tmp_path, Problems(strict=True))


def test_missing_or_empty_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(DatagenError, match="no such directory"):
        sroie.read(str(tmp_path / "nope"), Problems())
    (tmp_path / "readme.md").write_text("nothing here")
    with pytest.raises(DatagenError, match="no SROIE files"):
        sroie.read(str(tmp_path), Problems())


# ----------------------------------------------------------------------------- export and round trip


@pytest.fixture(scope="module")
def exported(small_build: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Row], Path]:
    rows = list(iter_rows(small_build))
    out = tmp_path_factory.mktemp("sroie-out")
    assert sroie.write(rows, out) == len(rows) == 12
    return rows, out


def test_export_files(exported: tuple[list[Row], Path], tmp_path: Path) -> None:
    rows, out = exported
    receipt = next(r for r in rows if r.doc_type == "receipt")
    form = next(r for r in rows if r.doc_type == "form")
    folder, stem = out / receipt.split, safe_name(receipt.id)
    assert (folder / "img" / f"{stem}.png").read_bytes() == receipt.image
    lines = (folder / "box" / f"{stem}.txt").read_text(encoding="utf-8").splitlines()
    x0, y0, x1, y1 = receipt.boxes[0]
    assert lines[0] == f"{x0},{y0},{x1},{y0},{x1},{y1},{x0},{y1},{receipt.words[0]}"
    assert len(lines) == len(receipt.words)
    keys = json.loads((folder / "entities" / f"{stem}.txt").read_text(encoding="utf-8"))
    assert list(keys) == [f["key"] for f in receipt.fields]  # every key, schema order, no doc_type for receipts
    assert all(keys[f["key"]] == (f["value"] if f["present"] else "") for f in receipt.fields)
    form_keys = json.loads((out / form.split / "entities" / f"{safe_name(form.id)}.txt").read_text(encoding="utf-8"))
    assert form_keys["doc_type"] == "form"
    again = tmp_path / "again"
    sroie.write(rows, again)
    assert {p.relative_to(again): p.read_bytes() for p in again.rglob("*.*")} == {
        p.relative_to(out): p.read_bytes() for p in out.rglob("*.*")
    }


def test_round_trip(exported: tuple[list[Row], Path]) -> None:
    rows, out = exported
    docs = _read(out)
    assert sorted(docs) == sorted(safe_name(r.id) for r in rows)
    relinked = []
    for row in rows:
        doc = docs[safe_name(row.id)]
        record = doc.record
        assert (doc.split, record["doc_type"], doc.image) == (row.split, row.doc_type, row.image)
        assert record["words"] == row.words
        assert record["boxes_norm"] == row.boxes_norm
        assert [f["key"] for f in record["fields"]] == [f["key"] for f in row.fields]
        for got, want in zip(record["fields"], row.fields, strict=True):
            assert (got["key"], got["value"], got["present"]) == (want["key"], want["value"], want["present"])
            if got["word_ids"] != want["word_ids"]:
                # A key file carries values, not word links, so the importer links a value to its first
                # occurrence (find_words). The small build has one such case: a one-item cafe receipt whose
                # item amount "2,75 €" precedes the labelled total "2,75 €". The import is then right by its
                # own contract: the first run spelling the value, earlier than the labelled one.
                assert got["word_ids"] == find_words(row.words, want["value"])
                assert got["word_ids"][0] < want["word_ids"][0]
                relinked.append((row.id, want["key"]))
    assert len(relinked) <= 1, relinked  # ambiguity is the exception; more would hint at a matching bug


def test_export_leaves_unannotated_keys_out_and_needs_images(tmp_path: Path) -> None:
    row = Row(
        id="sroie:X1",
        split="test",
        doc_type="receipt",
        words=["9.00"],
        boxes=[(1, 2, 3, 4)],
        boxes_norm=[[1, 2, 3, 4]],
        line_ids=[0],
        fields=[
            {"key": "total", "value": "9.00", "present": True, "word_ids": [0]},
            {"key": "date", "value": None, "present": False, "word_ids": []},
        ],
        line_items=[],
        image_size=(1000, 1000),
        image=None,
        image_ext="png",
    )
    with pytest.raises(DatagenError, match="sroie:X1"):
        sroie.write([row], tmp_path / "a")
    row.image = _image(tmp_path / "x.png", (1000, 1000), "PNG")
    assert sroie.write([row], tmp_path / "b") == 1
    assert json.loads((tmp_path / "b" / "test" / "entities" / "sroie_X1.txt").read_text(encoding="utf-8")) == {"date": "", "total": "9.00"}
    with pytest.raises(DatagenError, match="sroie_X1"):
        sroie.write([row, Row(**{**vars(row), "id": "sroie/X1"})], tmp_path / "c")
