"""A fast OCR-noise model: a generated document's words turned into what an OCR engine reads.

Why: generated words are perfect, real inputs are not (``SDN BND``, ``27,JALAN`` for ``27, JALAN``, a
``0`` for an ``O``, boxes per printed segment rather than per word). A model trained on perfect words meets
unseen tokens on every real receipt. Running a real engine costs seconds a page; this model costs
microseconds, so 1e6-document builds can have it.

Its rates are data (``ocr_noise.yaml``), measured by ``scripts/calibrate_ocr_noise.py`` from a real engine
reading datagen's own renders, never from a real dataset. What it changes:

- **characters**: each character may be replaced by one the engine was seen to read for it (with the rate
  measured for that character), dropped, or followed by an inserted character;
- **spaces**: words of one segment may merge (a dropped space), a word may split (an inserted space);
- **boxes**: line-level, as engines give them: words closer than ``segment_gap`` text heights form one
  segment, whose box is shared out over its words by character offsets (as the SROIE importer reads real
  OCR files).

What it keeps: field values stay the printed text (the public benchmarks' convention: annotators label what
is printed, not what OCR read), and each field's ``word_ids`` follow its words through merges and splits.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from datagen.errors import DatagenError
from datagen.record import grid_boxes

NOISE_FILE = Path(__file__).with_name("ocr_noise.yaml")
SPACE, NEWLINE = ord(" "), ord("\n")


@dataclass(frozen=True)
class NoiseModel:
    """Calibrated rates (see the module docstring); ``replace[c]`` = (probability, readings, cumulative weights)."""

    engine: str
    doc_types: tuple[str, ...]
    segment_gap: float
    replace: dict[str, tuple[float, tuple[str, ...], np.ndarray]]
    delete: float
    insert: float
    inserted: tuple[tuple[str, ...], np.ndarray]
    space_drop: float
    space_insert: float

    @classmethod
    def from_yaml(cls, data: dict[str, Any]) -> NoiseModel:
        rates = data["rates"]
        replace = {}
        for char, entry in data["replace"].items():
            if len(str(char)) != 1:
                raise ValueError(f"replace: {char!r} is not one character")
            readings = tuple(entry["as"])
            replace[str(char)] = (float(entry["p"]), readings, _cumulative([entry["as"][r] for r in readings]))
        inserted = tuple(data["inserted"])
        return cls(
            engine=str(data["engine"]),
            doc_types=tuple(data["doc_types"]),
            segment_gap=float(data["segment_gap"]),
            replace=replace,
            delete=float(rates["delete"]),
            insert=float(rates["insert"]),
            inserted=(inserted, _cumulative([data["inserted"][c] for c in inserted])),
            space_drop=float(rates["space_drop"]),
            space_insert=float(rates["space_insert"]),
        )

    @cached_property
    def _replace_rates(self) -> np.ndarray:
        """Each character's replacement probability, indexed by code point (0 past the last replaced one)."""
        table = np.zeros(max(map(ord, self.replace), default=0) + 1)
        for char, (p, _, _) in self.replace.items():
            table[ord(char)] = p
        return table

    def applies_to(self, doc_type: str) -> bool:
        return doc_type in self.doc_types

    def apply(self, record: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """``record`` with OCR-read words, line-level boxes and remapped field ``word_ids`` (a new dict)."""
        words, lines = record["words"], np.asarray(record["line_ids"], dtype=np.int64)
        if not words:
            return record
        boxes = np.asarray(record["boxes"], dtype=np.float64).reshape(-1, 4)
        first_words = self._segments(boxes, lines)
        # the document as one string, a segment a line, with the generated word of every character (-1: none)
        bounds = [*first_words.tolist(), len(words)]
        text = "\n".join(" ".join(words[a:b]) for a, b in itertools.pairwise(bounds))
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        starts = np.cumsum(lengths + 1) - lengths - 1  # one separator (space or newline) after every word
        source = np.full(len(text), -1, dtype=np.int64)
        source[np.repeat(starts, lengths) + _ranks(lengths)] = np.repeat(np.arange(len(words)), lengths)
        text, source = self._read(text, source, rng)

        codes = _codes(text)
        newline = codes == NEWLINE
        gap = newline | (codes == SPACE)
        begins = np.flatnonzero(~gap & np.concatenate(([True], gap[:-1])))
        ends = np.flatnonzero(~gap & np.concatenate((gap[1:], [True]))) + 1
        segment = np.cumsum(newline)[begins]
        line_start = np.concatenate(([0], np.flatnonzero(newline) + 1))
        line_length = np.diff(np.concatenate((line_start, [len(text) + 1]))) - 1
        # a segment's box shared out by character offsets, as ``split_segment`` does for imported OCR lines
        box = np.column_stack((np.minimum.reduceat(boxes[:, :2], first_words), np.maximum.reduceat(boxes[:, 2:], first_words)))[segment]
        width, n = box[:, 2] - box[:, 0], np.maximum(line_length[segment], 1)
        x0 = box[:, 0] + width * (begins - line_start[segment]) / n
        x1 = box[:, 0] + width * (ends - line_start[segment]) / n
        new_boxes = np.column_stack((x0, box[:, 1], x1, box[:, 3]))
        # every character of a word came from some generated word; a word's sources are a run of them
        low = np.minimum.reduceat(np.where(source < 0, len(words), source), begins)
        high = np.maximum.reduceat(source, begins)
        fields = []
        for field in record["fields"]:
            ids = field["word_ids"]
            if not ids:
                fields.append(field)
                continue
            if ids[-1] - ids[0] == len(ids) - 1:  # one run of words, as almost every field is: two comparisons
                hit = (low <= ids[-1]) & (high >= ids[0])
            else:
                marked = np.zeros(len(words) + 1, dtype=np.int64)
                marked[ids] = 1
                covered = np.concatenate(([0], np.cumsum(marked)))
                hit = covered[high + 1] > covered[low]
            fields.append({**field, "word_ids": np.flatnonzero(hit).tolist()})
        pixels, norm = grid_boxes(new_boxes, tuple(record["image_size"]))
        return {
            **record,
            "words": [text[a:b] for a, b in zip(begins.tolist(), ends.tolist(), strict=True)],
            "boxes": pixels,
            "boxes_norm": norm,
            "line_ids": lines[first_words][segment].tolist(),
            "fields": fields,
        }

    def _segments(self, boxes: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """The first word of each run an engine reads as one piece: one line, gaps under ``segment_gap`` text heights."""
        heights = np.maximum(boxes[:, 3] - boxes[:, 1], 1)
        joined = (lines[1:] == lines[:-1]) & (boxes[1:, 0] - boxes[:-1, 2] <= self.segment_gap * np.maximum(heights[1:], heights[:-1]))
        return np.flatnonzero(np.concatenate(([True], ~joined)))

    def _read(self, text: str, source: np.ndarray, rng: np.random.Generator) -> tuple[str, np.ndarray]:
        """``text`` as the engine would read it, and the source word of each character read. Edits are rare:
        one vectorised draw finds the few characters that change, and only those are touched in Python."""
        codes = _codes(text)
        space, newline = codes == SPACE, codes == NEWLINE
        u, v, w = rng.random((3, len(text)))
        letter = ~space & ~newline
        # each character's chance to be replaced, dropped or followed by an insertion: one table lookup
        table = self._replace_rates
        replaced = np.where(codes < len(table), table[np.minimum(codes, len(table) - 1)], 0.0)
        edited = u < replaced + self.delete + self.insert
        events = np.flatnonzero((space & (u < self.space_drop)) | (letter & (edited | (w < self.space_insert))))
        pieces: list[str] = []
        sources: list[np.ndarray] = []
        done = 0
        for k in events.tolist():
            pieces.append(text[done:k])
            sources.append(source[done:k])
            done = k + 1
            c, came = text[k], source[k : k + 1]
            if c == " ":
                continue  # a dropped space: the two words merge
            read = c
            replace = self.replace.get(c)
            p = replace[0] if replace else 0.0
            if replace is not None and u[k] < p:
                read = _pick(replace[1], replace[2], v[k])
            elif u[k] < p + self.delete:
                read = ""
            elif u[k] < p + self.delete + self.insert:
                read = c + _pick(*self.inserted, v[k])
            if w[k] < self.space_insert:
                read += " "  # the word splits after this character
            pieces.append(read)
            sources.append(np.repeat(came, len(read)))
        pieces.append(text[done:])
        sources.append(source[done:])
        read_text = "".join(pieces)
        read_source = np.concatenate(sources)
        read_source[_codes(read_text) == SPACE] = -1
        return read_text, read_source


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def _ranks(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ..., n-1 for every n of ``lengths``, concatenated."""
    return np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _pick(readings: tuple[str, ...], cumulative: np.ndarray, u: float) -> str:
    return readings[min(int(np.searchsorted(cumulative, u, side="right")), len(readings) - 1)]


def _cumulative(weights: list[float]) -> np.ndarray:
    total = float(sum(weights))
    return np.cumsum(np.asarray(weights, dtype=np.float64)) / total


@cache
def noise_model(path: Path = NOISE_FILE) -> NoiseModel:
    """The calibrated model shipped with datagen (or another calibration file)."""
    try:
        return NoiseModel.from_yaml(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise DatagenError(f"{path}: not an OCR-noise calibration file ({exc})") from None
