"""ICDAR 2019 SROIE (task 3, key information extraction): one image, one OCR box file and one key file
per receipt, matched by file stem.

- Box file (``X51005200931.txt``): one OCR text line per line, ``x1,y1,x2,y2,x3,y3,x4,y4,TEXT`` (a
  quadrilateral in pixels, clockwise from top-left; TEXT may itself contain commas). UTF-8, sometimes
  with a BOM, and a few real files are latin-1.
- Key file (same stem, another folder): a JSON object with ``company``, ``date``, ``address`` and
  ``total``; a few real files lack a key.

Two layouts are common and both are read, from anywhere under the folder: the ICDAR release
(``0325updated.task1train(626p)/`` holds images and box files, ``0325updated.task2train(626p)/`` the key
files; the test set comes as ``task1&2_test(361p)/`` images, ``text/`` box files and ``task3-test(347p)/``
key files, and only 347 of its 361 receipts have a key file) and the repackaging
``{train,test}/{img,box,entities}/``. Box and key files share the ``.txt`` suffix, so a file is told by
its content: a key file is a JSON object, a box file is not.

The exporter writes the repackaged layout with one box line per *word* (not per OCR line), so that
every word keeps its exact box on the way back, and a ``doc_type`` entry in the key file of
non-receipts (SROIE itself only has receipts).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagen.doctypes import DOC_TYPES
from datagen.errors import DatagenError
from datagen.formats.common import (
    Box,
    Imported,
    MalformedError,
    Problems,
    Row,
    image_size_of,
    make_record,
    quad_box,
    safe_name,
    split_of,
    split_segments,
)

SOURCE = "sroie"
SROIE_KEYS = ("company", "date", "address", "total")  # what a real key file annotates, even when it lacks one
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DOC_TYPE_ENTRY = "doc_type"  # our extension: the key file of a non-receipt names its doc type


class _FileError(MalformedError):
    """A malformed document together with the file to name in the report."""

    def __init__(self, file: Path, reason: str):
        super().__init__(reason)
        self.file = file


@dataclass
class _Files:
    """The files found for one document stem; more than one of a kind makes the document ambiguous."""

    boxes: list[Path] = field(default_factory=list)
    keys: list[Path] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)

    def all(self) -> list[Path]:
        return [*self.boxes, *self.keys, *self.images]


# ----------------------------------------------------------------------------- import


def read(path: str, problems: Problems) -> Iterator[Imported]:
    """Every document under the folder ``path`` (searched recursively), in stem order.

    The folder is checked before the first document is asked for, so a wrong path fails at once.
    """
    root = Path(path)
    if not root.is_dir():
        raise DatagenError(f"{path}: no such directory (SROIE wants a folder of images, box files and key files)")
    groups = _group(root)
    if not groups:
        raise DatagenError(f"{path}: no SROIE files found (.txt box/key files, .jpg/.png images)")
    return _documents(root, groups, problems)


def _documents(root: Path, groups: dict[str, _Files], problems: Problems) -> Iterator[Imported]:
    """The conversion loop: the one place where a malformed document is turned into a report."""
    for stem, files in groups.items():
        try:
            yield _convert(root, stem, files)
        except MalformedError as exc:
            problems.report(exc.file if isinstance(exc, _FileError) else files.all()[0], str(exc))


def _group(root: Path) -> dict[str, _Files]:
    """The source files by stem, sorted, skipping hidden files (``.DS_Store``, ``__MACOSX/._*`` copies)."""
    groups: dict[str, _Files] = {}
    for file in sorted(root.rglob("*")):
        suffix = file.suffix.lower()
        if not file.is_file() or any(part.startswith(".") for part in file.relative_to(root).parts):
            continue
        if suffix == ".txt":
            files = groups.setdefault(file.stem, _Files())
            (files.keys if _is_key_file(file) else files.boxes).append(file)
        elif suffix in IMAGE_SUFFIXES:
            groups.setdefault(file.stem, _Files()).images.append(file)
    return dict(sorted(groups.items()))


def _is_key_file(file: Path) -> bool:
    """A key file is a JSON object, so its text starts with ``{``; a box line starts with a coordinate.
    Deciding by the first character (not by parsing) keeps a truncated key file a key file, so it is
    reported as bad JSON rather than as a box file with a bad line."""
    return _text(file).lstrip().startswith("{")


def _text(file: Path) -> str:
    """A text file of the dataset: UTF-8 (BOM or not) as released, latin-1 for the few files that are not."""
    data = file.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _convert(root: Path, stem: str, files: _Files) -> Imported:
    box_file = _one("box file", files.boxes, files)
    key_file = _one("key file", files.keys, files)
    image_file = _one("image", files.images, files)
    words, boxes = _read_boxes(box_file)
    doc_type, values = _read_keys(key_file)
    image = image_file.read_bytes()
    try:
        size = image_size_of(image, image_file)
    except MalformedError as exc:
        raise _FileError(image_file, str(exc)) from None
    record = make_record(source=SOURCE, doc_id=stem, doc_type=doc_type, words=words, boxes=boxes, image_size=size, values=values)
    return Imported(split=_split(root, (box_file, key_file, image_file)), record=record, image=image)


def _one(kind: str, found: list[Path], files: _Files) -> Path:
    """The single file of ``kind`` for a document, or the reason it cannot be converted."""
    if not found:
        raise _FileError(files.all()[0], f"no {kind} for this document")
    if len(found) > 1:
        raise _FileError(found[0], f"several {kind}s for one document: {', '.join(str(f) for f in found)}")
    return found[0]


def _split(root: Path, files: Iterable[Path]) -> str:
    """The first split named by the folders of the box file, key file or image; "test" if none names one
    (the ICDAR test folders do, so only an unnamed folder falls back)."""
    for file in files:
        split = split_of(file.relative_to(root), default="")
        if split:
            return split
    return "test"


def _read_boxes(file: Path) -> tuple[list[str], list[Box]]:
    """The words of a box file in file order, each with its slice of its line's box."""
    segments: list[tuple[str, Box]] = []
    for number, line in enumerate(_text(file).splitlines(), start=1):
        if not line.strip():
            continue
        *coordinates, text = line.split(",", 8)
        try:
            numbers = [float(v) for v in coordinates]
            if len(numbers) != 8 or not all(map(math.isfinite, numbers)):
                raise ValueError(f"coordinates {', '.join(coordinates)}")
            box = quad_box(numbers)
        except ValueError as exc:
            raise _FileError(file, f"line {number}: not x1,y1,x2,y2,x3,y3,x4,y4,TEXT ({exc})") from None
        segments.append((text, box))
    return split_segments(segments)


def _read_keys(file: Path) -> tuple[str, dict[str, str | None]]:
    """The doc type and annotated values of a key file ("" and a missing SROIE key: annotated absent)."""
    try:
        content: dict[str, Any] = json.loads(_text(file))  # starts with "{" (see _is_key_file): an object if it parses
    except ValueError as exc:
        raise _FileError(file, f"key file is not a JSON object ({exc})") from None
    except RecursionError:
        raise _FileError(file, "key file is JSON nested too deeply to be a key file") from None
    doc_type = content.get(DOC_TYPE_ENTRY, "receipt")
    if not isinstance(doc_type, str) or doc_type not in DOC_TYPES:
        raise _FileError(file, f"unknown doc type {doc_type!r} (known: {', '.join(DOC_TYPES)})")
    annotated = {k: v for k, v in content.items() if k in DOC_TYPES[doc_type]}
    wrong = [k for k, v in annotated.items() if not isinstance(v, str)]
    if wrong:
        raise _FileError(file, f"value of {wrong[0]!r} is not a string")
    if doc_type == "receipt":
        annotated = {key: "" for key in SROIE_KEYS} | annotated
    return doc_type, {key: value or None for key, value in annotated.items()}


# ----------------------------------------------------------------------------- export


def write(rows: Iterable[Row], out: Path) -> int:
    """``out/{split}/img|box|entities/{stem}.*`` for every row; returns the number of documents.

    Stems are ``safe_name(id)``; two ids with the same stem would overwrite each other (and be one
    document on import), so that is an error rather than a silent loss.
    """
    stems: dict[str, str] = {}
    for row in rows:
        stem = safe_name(row.id)
        if stem in stems:
            raise DatagenError(f"documents {stems[stem]!r} and {row.id!r} both get the SROIE file name {stem!r}")
        stems[stem] = row.id
        if row.image is None:
            raise DatagenError(f"{row.id}: no image to export (SROIE needs an image file per document)")
        _write_document(row, row.image, out / row.split, stem)
    return len(stems)


def _write_document(row: Row, image: bytes, folder: Path, stem: str) -> None:
    for sub in ("img", "box", "entities"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "img" / f"{stem}.{row.image_ext}").write_bytes(image)
    (folder / "box" / f"{stem}.txt").write_text(_box_text(row), encoding="utf-8", newline="\n")
    (folder / "entities" / f"{stem}.txt").write_text(_key_text(row), encoding="utf-8", newline="\n")


def _box_text(row: Row) -> str:
    """One line per word, its box as the quadrilateral SROIE expects (clockwise from top-left)."""
    return "".join(f"{x0},{y0},{x1},{y0},{x1},{y1},{x0},{y1},{word}\n" for word, (x0, y0, x1, y1) in zip(row.words, row.boxes, strict=True))


def _key_text(row: Row) -> str:
    """The key file: every key the row annotates, in schema order, "" when annotated absent; keys the
    row does not annotate (possible for imported data) are left out so they stay unknown."""
    values = {f["key"]: f["value"] if f["present"] else "" for f in row.fields}
    content: dict[str, str] = {key: values[key] for key in DOC_TYPES[row.doc_type] if key in values}
    if row.doc_type != "receipt":
        content[DOC_TYPE_ENTRY] = row.doc_type
    return json.dumps(content, indent=4, ensure_ascii=False) + "\n"
