"""CORD v2 (``naver-clova-ix/cord-v2``) and the Donut ``gt_parse`` convention: a Hub-style dataset whose
rows are an ``image`` and a ``ground_truth`` JSON string (``gt_parse``, ``meta``, ``valid_line``, ...).

Import. Words are the ``valid_line`` words in file order (one box each, the quad's bounding box); a
printed line is the words with one ``row_id``, wherever they stand in the file (a wrapped item name's second
line comes between its first line and that line's price). Real CORD annotates three keys of the
receipt schema: ``total`` (``total.total_price``), ``subtotal`` (``sub_total.subtotal_price``) and
``tax`` (``sub_total.tax_price``); company, date and address are anonymised away, so they stay
unannotated. The words of a value are the non-key words (``is_key`` 0) of the ``valid_line`` entries of
its category: CORD's ``gt_parse`` values are exactly those words, so the link is the source's own and not
a text search (which would tie a total of "60.000" to the first "60.000" on the receipt). Menu items
become line items (``nm``, ``cnt``, ``unitprice``, ``price``; add-ons under ``sub`` are left out).

Export. Rows written here carry ``meta.doc_type`` (and ``meta.annotated_keys``); reading them back
keeps every doc type's schema: receipts keep CORD's nested places for total, subtotal and tax, every
other key is a top-level ``gt_parse`` entry named by the key, line items are the ``menu`` of any doc type.
``valid_line`` has one entry per run of consecutive words with one label (``other`` for words of no
field) and ``row_id`` = the word's line id, so words, boxes, lines and word links survive the trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from datasets import Features, Image, Value

from datagen.doctypes import DOC_TYPES
from datagen.errors import DatagenError
from datagen.formats.common import (
    Box,
    Imported,
    MalformedError,
    Problems,
    Row,
    SplitParquetWriter,
    find_words,
    image_size_of,
    load_hub_dataset,
    make_record,
    quad_box,
    split_name,
)

SOURCE = "cord"
VERSION = "datagen"  # meta.version of the rows this module writes
OTHER = "other"  # valid_line category of words that belong to no field
FEATURES = Features({"image": Image(), "ground_truth": Value("string")})  # the columns of cord-v2

# Where CORD keeps the receipt keys it annotates: gt_parse[group][leaf], valid_line category "group.leaf".
CORD_PLACES: dict[str, tuple[str, str]] = {
    "total": ("total", "total_price"),
    "subtotal": ("sub_total", "subtotal_price"),
    "tax": ("sub_total", "tax_price"),
}
MENU_COLUMNS: dict[str, str] = {"nm": "description", "cnt": "quantity", "unitprice": "unit_price", "price": "amount"}


# ----------------------------------------------------------------------------- import


def read(path: str, problems: Problems) -> Iterator[Imported]:
    """Every row of every split of the CORD-style dataset at ``path`` (a local folder or a Hub id).

    Splits keep their names (``dev``/``val`` read as validation); a split named otherwise counts as test,
    as :func:`common.split_of` does for folders.
    """
    for split, rows in load_hub_dataset(path).items():
        if "ground_truth" not in rows.column_names:
            raise DatagenError(f"{path} split {split}: no ground_truth column (not a CORD-style dataset)")
        if "image" in rows.column_names:
            rows = rows.cast_column("image", Image(decode=False))
        name = split_name(split)
        for index, row in enumerate(rows):
            try:
                doc = _imported(name, index, row)
            except MalformedError as exc:
                problems.report(f"{path} {split}[{index}]", str(exc))
                continue
            yield doc


def _imported(split: str, index: int, row: dict[str, Any]) -> Imported:
    """One dataset row as an imported document; MalformedError says what is wrong with it."""
    truth = _json(row["ground_truth"])
    meta = _get(truth, "meta", dict, "ground_truth", {})
    parse = _get(truth, "gt_parse", dict, "ground_truth")
    image = row["image"].get("bytes") if isinstance(row.get("image"), dict) else None
    words, boxes, row_ids, entries = _valid_words(_get(truth, "valid_line", list, "ground_truth"))
    ours = "doc_type" in meta  # written by this module's exporter
    doc_type = _get(meta, "doc_type", str, "meta") if ours else "receipt"
    keys = _get(meta, "annotated_keys", list, "meta", DOC_TYPES.get(doc_type, ())) if ours else tuple(CORD_PLACES)
    if not all(isinstance(key, str) for key in keys):
        raise MalformedError("meta.annotated_keys must list key names")
    values, links = _values(doc_type, keys, parse, entries, words)
    record = make_record(
        source=SOURCE,
        doc_id=_doc_id(meta.get("image_id"), split, index, ours),
        doc_type=doc_type,
        words=words,
        boxes=boxes,
        image_size=_image_size(meta, image),
        line_ids=_line_ids(row_ids),
        values=values,
        word_ids=links,
        line_items=_line_items(parse),
    )
    return Imported(split=split, record=record, image=image)


def _values(
    doc_type: str, keys: Sequence[str], parse: dict[str, Any], entries: dict[str, list[list[int]]], words: Sequence[str]
) -> tuple[dict[str, str | None], dict[str, list[int]]]:
    """Each annotated key's value (None: annotated as absent) and, where the source links them, its words."""
    values: dict[str, str | None] = {}
    links: dict[str, list[int]] = {}
    for key in keys:
        place = _place(doc_type, key)
        found = _lookup(parse, place)
        values[key] = found[0] if found else None
        ids = _link(found, entries.get(".".join(place), []), words)
        if ids:
            links[key] = ids
    return values, links


def _json(text: Any) -> dict[str, Any]:
    if not isinstance(text, str):
        raise MalformedError("ground_truth is not a string")
    try:
        truth = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedError(f"ground_truth is not valid JSON ({exc})") from None
    except RecursionError:
        raise MalformedError("ground_truth is JSON nested too deeply to be an annotation") from None
    if not isinstance(truth, dict):
        raise MalformedError("ground_truth is not a JSON object")
    return truth


_REQUIRED = object()


def _get(node: dict[str, Any], key: str, kind: type, where: str, default: Any = _REQUIRED) -> Any:
    """``node[key]``, checked to be a ``kind`` (or ``default`` when absent and a default is given)."""
    if key not in node:
        if default is _REQUIRED:
            raise MalformedError(f"{where} has no {key!r}")
        return default
    if not isinstance(node[key], kind):
        raise MalformedError(f"{where}.{key} is not a JSON {'object' if kind is dict else 'array' if kind is list else kind.__name__}")
    return node[key]


def _valid_words(lines: list[Any]) -> tuple[list[str], list[Box], list[Any], dict[str, list[list[int]]]]:
    """Words, boxes and row ids of ``valid_line`` in file order, and per category the value words (not
    ``is_key``) of each of its entries. Blank words are dropped: they carry no text to read or label."""
    words: list[str] = []
    boxes: list[Box] = []
    row_ids: list[Any] = []
    entries: dict[str, list[list[int]]] = {}
    for n, line in enumerate(lines):
        where = f"valid_line[{n}]"
        if not isinstance(line, dict):
            raise MalformedError(f"{where} is not a JSON object")
        value_ids = []
        for m, word in enumerate(_get(line, "words", list, where)):
            spot = f"{where}.words[{m}]"
            if not isinstance(word, dict):
                raise MalformedError(f"{spot} is not a JSON object")
            text = _get(word, "text", str, spot).strip()
            if not text:
                continue
            if not word.get("is_key"):
                value_ids.append(len(words))
            words.append(text)
            boxes.append(quad_box(_quad_points(_get(word, "quad", dict, spot), spot)))
            row_ids.append(word.get("row_id"))
        entries.setdefault(str(line.get("category", "")), []).append(value_ids)
    return words, boxes, row_ids, entries


def _quad_points(quad: dict[str, Any], where: str) -> list[float]:
    try:
        return [float(quad[f"{axis}{i}"]) for i in range(1, 5) for axis in "xy"]
    except (KeyError, TypeError, ValueError):
        raise MalformedError(f"{where}.quad needs numbers x1, y1 ... x4, y4") from None


def _line_ids(row_ids: Sequence[Any]) -> list[int] | None:
    """A line per ``row_id``, numbered from 0 in the order the rows first appear; None (make_record's
    geometric default) unless every word has an integer row id. A row's words need not be consecutive: an item
    name wrapped onto two lines puts its second line's words before the first line's price."""
    if not all(isinstance(r, int) and not isinstance(r, bool) for r in row_ids):
        return None
    lines: dict[int, int] = {}
    return [lines.setdefault(row, len(lines)) for row in row_ids]


def _place(doc_type: str, key: str) -> tuple[str, ...]:
    """The path of ``key`` in ``gt_parse`` (and, dot-joined, its valid_line category)."""
    return CORD_PLACES[key] if doc_type == "receipt" and key in CORD_PLACES else (key,)


def _as_list(node: Any) -> list[Any]:
    """CORD writes one element as itself and several as a list (a menu of one item is an object)."""
    return node if isinstance(node, list) else [] if node is None else [node]


def _lookup(node: Any, path: Sequence[str]) -> list[str]:
    """Every non-blank value at ``path``, in order: any level can be a list where CORD repeats a group or key."""
    found: list[str] = []
    for item in _as_list(node):
        if not path:
            if isinstance(item, dict | list):
                raise MalformedError(f"gt_parse value {json.dumps(item)[:60]} is not text")
            if str(item).strip():
                found.append(str(item))
        elif isinstance(item, dict) and path[0] in item:
            found += _lookup(item[path[0]], path[1:])
    return found


def _link(values: Sequence[str], entries: Sequence[Sequence[int]], words: Sequence[str]) -> list[int]:
    """The words the source ties to the key's value ([]: none, make_record then searches the text).

    One value: all value words of the category's entries (CORD has one entry per value; our exporter
    splits a field into one entry per run of its words). A list (the category repeats, as ``total_price``
    does on a receipt that prints its total twice): the first value is kept, so the entry whose words
    spell it, else the first entry.
    """
    if not values or not entries:
        return []
    if len(values) == 1:
        return [i for ids in entries for i in ids]
    spelled = [ids for ids in entries if ids and find_words([words[i] for i in ids], values[0]) == list(range(len(ids)))]
    return list((spelled or entries)[0])


def _line_items(parse: dict[str, Any]) -> list[dict[str, str]]:
    """Menu items as line items (first value of a repeated column); items with none of the columns are dropped."""
    items = []
    for n, item in enumerate(_as_list(parse.get("menu"))):
        if not isinstance(item, dict):
            raise MalformedError(f"gt_parse.menu[{n}] is not a JSON object")
        columns = {column: next(iter(_lookup(item, (name,))), "") for name, column in MENU_COLUMNS.items()}
        if any(columns.values()):
            items.append(columns)
    return items


def _doc_id(image_id: Any, split: str, index: int, ours: bool) -> str:
    """Our exports keep the row id (meta.image_id) as is; CORD's image ids restart in each split, so
    they are prefixed with it; a row without one is named by its index in the split."""
    if image_id is None:
        return f"{split}-{index}"
    return str(image_id) if ours else f"{split}-{image_id}"


def _image_size(meta: dict[str, Any], image: bytes | None) -> tuple[int, int]:
    """meta.image_size when given, else the image header."""
    size = meta.get("image_size")
    if isinstance(size, dict):
        try:
            return int(size["width"]), int(size["height"])
        except (KeyError, TypeError, ValueError):
            raise MalformedError("meta.image_size needs integer width and height") from None
    if image is None:
        raise MalformedError("no meta.image_size and no image to read the size from")
    return image_size_of(image, "image")


# ----------------------------------------------------------------------------- export


def write(rows: Iterable[Row], out: Path) -> int:
    """Rows as ``out/data/{split}-00000-of-00001.parquet`` with cord-v2's columns (image, ground_truth)."""
    with SplitParquetWriter(out, FEATURES) as writer:
        for row in rows:
            if row.image is None:
                raise DatagenError(f"{row.id}: no image (CORD rows carry the encoded image)")
            example = {"image": {"bytes": row.image, "path": None}, "ground_truth": json.dumps(ground_truth(row), ensure_ascii=False)}
            writer.add(row.split, example)
    return sum(writer.counts.values())


def ground_truth(row: Row) -> dict[str, Any]:
    """The CORD ``ground_truth`` object of one row (see the module docstring)."""
    size = {"width": row.image_size[0], "height": row.image_size[1]}
    return {
        "gt_parse": _gt_parse(row),
        "meta": {
            "version": VERSION,
            "split": row.split,
            "image_id": row.id,
            "image_size": size,
            "doc_type": row.doc_type,
            "annotated_keys": [f["key"] for f in row.fields],
        },
        "valid_line": _valid_line(row),
        "roi": {},  # empty: the whole image
        "repeating_symbol": [],
        "dontcare": [],
    }


def _gt_parse(row: Row) -> dict[str, Any]:
    """Line items as ``menu`` (absent columns left out, as CORD does), then each present field at its place."""
    parse: dict[str, Any] = {}
    menu = [{name: item[column] for name, column in MENU_COLUMNS.items() if item.get(column)} for item in row.line_items]
    if menu:
        parse["menu"] = menu
    for field in row.fields:
        if field["present"]:
            *groups, leaf = _place(row.doc_type, field["key"])
            node = parse
            for group in groups:
                node = node.setdefault(group, {})
            node[leaf] = field["value"]
    return parse


def _labels(row: Row) -> list[str]:
    """Each word's category: its field's (the first in schema order when fields share a word), else ``other``."""
    labels = [OTHER] * len(row.words)
    for field in reversed(row.fields):
        for i in field["word_ids"] if field["present"] else ():
            labels[i] = ".".join(_place(row.doc_type, field["key"]))
    return labels


def _valid_line(row: Row) -> list[dict[str, Any]]:
    """One entry per run of consecutive words with one label; a label's runs share a group id."""
    groups: dict[str, int] = {}
    lines = []
    for label, run in groupby(range(len(row.words)), key=_labels(row).__getitem__):
        words = []
        for i in run:
            x0, y0, x1, y1 = row.boxes[i]
            quad = {"x1": x0, "y1": y0, "x2": x1, "y2": y0, "x3": x1, "y3": y1, "x4": x0, "y4": y1}
            words.append({"quad": quad, "is_key": 0, "row_id": row.line_ids[i], "text": row.words[i]})
        lines.append({"words": words, "category": label, "group_id": groups.setdefault(label, len(groups)), "sub_group_id": 0})
    return lines
