"""What every importer and exporter shares: the imported-document record, line grouping, value→word
matching, the malformed-file policy and reading a dataset's rows back for export.

An importer turns one source document into the same record ``datagen.record.build_record`` makes for a
generated one (words in reading order, boxes on the 0-1000 grid, line ids, fields, line items), so every
prompt format, adapter and metric works on it unchanged. Two differences, both deliberate:

- ``fields`` lists only the keys the source annotates, in schema order (SROIE: company, date, address,
  total). A listed key with ``present=False`` is annotated as absent; an unlisted key is unknown and
  never scored or trained on.
- ``word_ids`` come from the source's own links where it has them (CORD, FUNSD) and otherwise from
  :func:`find_words`; a value whose words cannot be found keeps its value with ``word_ids=[]``.
"""

from __future__ import annotations

import io
import math
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagen import __version__
from datagen.doctypes import DOC_TYPES, LINE_ITEM_COLUMNS
from datagen.errors import DatagenError
from datagen.io import CONFIG_FILE
from datagen.record import grid_boxes

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels

SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "dev": "validation",
    "test": "test",
    "testing": "test",
}
# a split name not glued to other letters: "task1train" and "training_data" name one, "latest" does not
_SPLIT_WORD = re.compile(rf"(?<![a-z])({'|'.join(sorted(SPLIT_NAMES, key=len, reverse=True))})(?![a-z])")


class MalformedError(ValueError):
    """One source file (or row) cannot be converted; the message says why, :class:`Problems` says where."""


@dataclass
class Imported:
    """One converted document: its split, its record and the encoded image file (None if the source has none)."""

    split: str
    record: dict[str, Any]
    image: bytes | None = None


@dataclass
class Problems:
    """The malformed-file policy: skip and report each bad file (default), or stop at the first (``strict``).

    Why a policy: real datasets ship with a few broken files (SROIE has receipts whose key file lacks a
    key or is not UTF-8); one of them should cost that document, never the run, unless the user asks.
    """

    strict: bool = False
    warn: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    def report(self, where: str | Path, reason: str) -> None:
        if self.strict:
            raise DatagenError(f"{where}: {reason}")
        self.skipped.append((str(where), reason))
        self.warn(f"skipped {where}: {reason}")


def quad_box(points: Sequence[float]) -> Box:
    """The axis-aligned box around a quadrilateral (x1, y1, ..., x4, y4) or a box (x0, y0, x1, y1)."""
    if len(points) not in (4, 8):
        raise MalformedError(f"a box needs 4 or 8 coordinates, got {len(points)}")
    xs, ys = [float(v) for v in points[0::2]], [float(v) for v in points[1::2]]
    return min(xs), min(ys), max(xs), max(ys)


def split_segment(text: str, box: Box) -> list[tuple[str, Box]]:
    """A text segment's words, each with the slice of the segment's box that its characters span.

    OCR files of SROIE give one box per text line; the schema has one per word. Sharing the width out by
    character offsets is exact for one-word segments and close for monospaced receipt print.
    """
    words, start = [], 0
    x0, y0, x1, y1 = box
    n = max(1, len(text))
    for word in text.split():
        begin = text.index(word, start)
        start = begin + len(word)
        # width * offset / n, not offset * (width / n): exact at both ends, so a one-word segment keeps its box
        words.append((word, (x0 + (x1 - x0) * begin / n, y0, x0 + (x1 - x0) * start / n, y1)))
    return words


def split_segments(segments: Iterable[tuple[str, Box]]) -> tuple[list[str], list[Box]]:
    """The words of OCR segments in their order, each with its slice of its segment's box (``split_segment``)."""
    words: list[str] = []
    boxes: list[Box] = []
    for text, box in segments:
        for word, word_box in split_segment(text, box):
            words.append(word)
            boxes.append(word_box)
    return words, boxes


def assign_lines(boxes: Sequence[Box]) -> list[int]:
    """Line ids for boxes given in reading order: a box continues the current line when it lies to the
    right of the previous box and overlaps the line vertically by at least half the smaller height."""
    lines: list[int] = []
    top = bottom = last_x0 = 0.0
    for i, (x0, y0, _, y1) in enumerate(boxes):
        overlap = min(bottom, y1) - max(top, y0)
        if i and x0 >= last_x0 and overlap >= 0.5 * min(bottom - top, y1 - y0):
            lines.append(lines[-1])
            top, bottom = min(top, y0), max(bottom, y1)
        else:
            lines.append(lines[-1] + 1 if lines else 0)
            top, bottom = y0, y1
        last_x0 = x0
    return lines


def _fold(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def find_words(words: Sequence[str], value: str) -> list[int]:
    """The ids of the first run of consecutive words that spells ``value`` (ignoring case, Unicode
    width forms and spaces), or [] when no run does. Why spaces are ignored: real annotations join
    OCR segments differently ("NO.2,JALAN" vs "NO.2, JALAN")."""
    target = _fold(value)
    if not target:
        return []
    folded = [_fold(w) for w in words]
    for start, first in enumerate(folded):
        if not first or not target.startswith(first):
            continue
        text, end = "", start
        while end < len(folded) and len(text) < len(target):
            text += folded[end]
            end += 1
            if not target.startswith(text):
                break
        if text == target:
            return list(range(start, end))
    return []


def make_record(
    *,
    source: str,
    doc_id: str,
    doc_type: str,
    words: Sequence[str],
    boxes: Sequence[Box],
    image_size: tuple[int, int],
    line_ids: Sequence[int] | None = None,
    values: Mapping[str, str | None],
    word_ids: Mapping[str, Sequence[int]] | None = None,
    line_items: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """The record of an imported document (``build_record``'s layout; see the module docstring).

    ``values`` maps each annotated key to its value (None: annotated as absent); ``boxes`` are pixels of
    an image ``image_size`` wide and high; ``line_ids`` default to :func:`assign_lines`.
    """
    if doc_type not in DOC_TYPES:
        raise MalformedError(f"unknown doc type {doc_type!r} (known: {', '.join(DOC_TYPES)})")
    unknown = [k for k in values if k not in DOC_TYPES[doc_type]]
    if unknown:
        raise MalformedError(f"key {unknown[0]!r} is not in the {doc_type} schema")
    if len(words) != len(boxes):
        raise MalformedError(f"{len(words)} words but {len(boxes)} boxes")
    for i, box in enumerate(boxes):  # JSON's Infinity and NaN parse in Python; clamped, they would pass as a real box
        if not all(math.isfinite(v) for v in box):
            raise MalformedError(f"word {i} ({words[i]!r}) has a box that is not finite: {list(box)}")
    width, height = image_size
    if width <= 0 or height <= 0:
        raise MalformedError(f"image size must be positive, got {width}x{height}")
    pixels, norm = grid_boxes(boxes, image_size)
    lines = list(line_ids) if line_ids is not None else assign_lines(boxes)
    links = word_ids or {}
    fields = []
    for key in DOC_TYPES[doc_type]:
        if key not in values:
            continue
        value = values[key]
        value = " ".join(value.split()) if value is not None else None
        present = bool(value)
        ids = list(links[key]) if key in links else (find_words(words, value) if value else [])
        fields.append({"key": key, "value": value if present else None, "present": present, "word_ids": ids if present else []})
    return {
        "id": doc_id,
        "doc_type": doc_type,
        "template_id": source,
        "locale": "",
        "currency": "",
        "seed": 0,
        "generator_version": __version__,
        "image_size": [int(width), int(height)],
        "fields": fields,
        "line_items": [{c: str(item.get(c) or "") for c in LINE_ITEM_COLUMNS} for item in line_items],
        "words": list(words),
        "boxes": pixels,
        "boxes_norm": norm,
        "line_ids": lines,
    }


def split_of(relative: Path, default: str = "test") -> str:
    """The split a file belongs to by its folder names: the first folder that names a split (``train``,
    ``training_data``, ``0325updated.task1train(626p)``, ``val``, ``testing_data``...), else ``default``."""
    for part in relative.parts[:-1]:
        match = _SPLIT_WORD.search(part.lower())
        if match:
            return SPLIT_NAMES[match.group(1)]
    return default


def split_name(name: str) -> str:
    """A Hub dataset's split name in the project's terms (``dev``/``val`` are validation); any other
    name counts as test, as :func:`split_of` does for folders."""
    return SPLIT_NAMES.get(name.lower(), "test")


_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def load_hub_dataset(path: str) -> Any:
    """All splits (a ``DatasetDict``) of a local dataset folder or, for an ``owner/name`` that is no
    folder here, a Hub dataset; anything else is a one-line error naming ``path``."""
    from datasets import load_dataset

    local = Path(path)
    if not local.is_dir() and (local.exists() or not _HUB_ID.fullmatch(path)):
        raise DatagenError(f"{path}: no such dataset directory")
    try:
        return load_dataset(path)
    except Exception as exc:
        raise load_error(path, exc) from None


def load_error(path: str | Path, exc: Exception) -> DatagenError:
    """One line for whatever ``datasets`` raised (missing files, network, bad parquet: many types)."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return DatagenError(f"{path}: cannot load as a dataset ({type(exc).__name__}: {first})")


class SplitParquetWriter:
    """Examples into ``out/data/{split}-00000-of-00001.parquet``, one file per split, in row groups of
    ``row_group`` (so a split's images are never all in memory). Use as a context manager; ``counts``
    holds the examples written per split. The schema carries ``features``, so ``load_dataset(out)``
    decodes the columns back to their types."""

    def __init__(self, out: Path, features: Any, row_group: int = 100):
        self.out, self.features, self.row_group = out / "data", features, row_group
        self.counts: dict[str, int] = {}
        self._writers: dict[str, Any] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}

    def path(self, split: str) -> Path:
        return self.out / f"{split}-00000-of-00001.parquet"

    def add(self, split: str, example: dict[str, Any]) -> None:
        batch = self._pending.setdefault(split, [])
        batch.append(example)
        self.counts[split] = self.counts.get(split, 0) + 1
        if len(batch) == self.row_group:
            self._flush(split)

    def _flush(self, split: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = self.features.arrow_schema
        if split not in self._writers:
            self.out.mkdir(parents=True, exist_ok=True)
            self._writers[split] = pq.ParquetWriter(self.path(split), schema, compression="zstd")
        self._writers[split].write_table(pa.Table.from_pylist(self._pending.pop(split), schema=schema))

    def __enter__(self) -> SplitParquetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                for split in list(self._pending):
                    self._flush(split)
        finally:
            for writer in self._writers.values():
                writer.close()


def image_size_of(data: bytes, where: str | Path) -> tuple[int, int]:
    """Width and height from an encoded image's header (the pixels are not decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError) as exc:
        raise MalformedError(f"not a readable image ({exc})") from None


# ----------------------------------------------------------------------------- export side


@dataclass
class Row:
    """One dataset row as exporters read it: boxes back in pixels of the row's image, image bytes encoded."""

    id: str
    split: str
    doc_type: str
    words: list[str]
    boxes: list[tuple[int, int, int, int]]  # pixels
    boxes_norm: list[list[int]]  # 0-1000, as stored
    line_ids: list[int]
    fields: list[dict[str, Any]]
    line_items: list[dict[str, str]]
    image_size: tuple[int, int]
    image: bytes | None
    image_ext: str  # "jpg" or "png": the encoded image's format


def pixel_boxes(norm: Sequence[Sequence[int]], image_size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """0-1000 boxes back in whole pixels. Exact inverse of :func:`grid_boxes` for images at least 1000
    pixels on each side (the rounding error then stays under half a grid unit); smaller images can move
    a box by one grid unit on the way back."""
    width, height = image_size
    return [(round(a * width / 1000), round(b * height / 1000), round(c * width / 1000), round(d * height / 1000)) for a, b, c, d in norm]


def _image_ext(data: bytes) -> str:
    return "png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "jpg"


def iter_rows(dataset: str | Path, images: bool = True) -> Iterator[Row]:
    """Every row of a local dataset folder (a ``datagen build``, a ``datagen import``), split by split.

    Layout-only builds render their images on access (``datagen.lazy``), so they export like eager ones.
    """
    from datasets import load_dataset

    path = Path(dataset)
    if not path.is_dir():
        raise DatagenError(f"{dataset}: no such dataset directory")
    try:
        if (path / CONFIG_FILE).is_file():
            from datagen.lazy import load

            splits = load(path, decode=False)
        else:
            splits = load_dataset(str(path))
    except DatagenError:
        raise
    except Exception as exc:
        raise load_error(dataset, exc) from None
    for split, rows in splits.items():
        missing = [c for c in ("id", "doc_type", "words", "boxes", "line_ids", "fields", "image_size") if c not in rows.column_names]
        if missing:
            raise DatagenError(f"{dataset} split {split}: missing columns {', '.join(missing)} (not a datagen dataset)")
        if images and "image" in rows.column_names:
            from datasets import Image as ImageFeature

            rows = rows.cast_column("image", ImageFeature(decode=False)) if "image" in rows.features else rows
        for row in rows:
            image = row.get("image") if images else None
            data = image["bytes"] if isinstance(image, dict) else None
            size = (int(row["image_size"][0]), int(row["image_size"][1]))
            yield Row(
                id=row["id"],
                split=split,
                doc_type=row["doc_type"],
                words=row["words"],
                boxes=pixel_boxes(row["boxes"], size),
                boxes_norm=row["boxes"],
                line_ids=row["line_ids"],
                fields=row["fields"],
                line_items=row.get("line_items") or [],
                image_size=size,
                image=data,
                image_ext=_image_ext(data) if data else "png",
            )


def safe_name(doc_id: str) -> str:
    """A file stem for a document id (``receipt/thermal-basic:17`` -> ``receipt_thermal-basic_17``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in doc_id)
