"""Measure what a real OCR engine does to datagen's words, and write the noise model's rates.

The engine (``datagen.ocr``, ``pip install -e ".[ocr]"``) reads rendered, augmented pages of datagen's own
templates; each segment it reads is matched with the generated words whose centres it covers and aligned
with them character by character (Levenshtein edit operations). Counted: which character was read as which,
dropped and inserted characters, dropped spaces (merged words), inserted spaces (split words), and how
wide a gap between two words of a line has to be before the engine reads them as two segments. No real
dataset is read: the rates describe the engine, not a benchmark's documents.

    python scripts/calibrate_ocr_noise.py                     # 40 receipts -> datagen/ocr_noise.yaml
    python scripts/calibrate_ocr_noise.py --pages 10 --out /tmp/noise.yaml
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz.distance import Levenshtein
from tqdm import tqdm

from datagen.errors import DatagenError
from datagen.io import write_atomic
from datagen.ocr import Segment, engine_version, load_engine
from datagen.ocr_noise import NOISE_FILE, NoiseModel
from datagen.pipeline import generate
from datagen.sample import derive_seed
from datagen.template import list_templates, load_template

MIN_OCCURRENCES = 30  # a character's replacement rate is kept only when it was seen this often
MAX_DISTANCE = 0.5  # a segment whose text differs more from its words was matched wrongly: left out
GAPS = [g / 4 for g in range(1, 25)]  # candidate segment gaps, in text heights


class Counts:
    """Everything counted over the pages; ``rates`` turns it into the calibration file's content."""

    def __init__(self) -> None:
        self.chars: Counter[str] = Counter()
        self.replaced: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.deleted = self.inserted_total = self.spaces = self.spaces_dropped = self.spaces_inserted = 0
        self.inserted: Counter[str] = Counter()
        self.gaps: list[tuple[float, bool]] = []  # (gap in text heights, read as one segment)
        self.words = self.missed = self.segments = self.unmatched = self.far = 0

    def align(self, reference: str, read: str) -> None:
        self.chars.update(c for c in reference if c != " ")
        self.spaces += reference.count(" ")
        for op in Levenshtein.editops(reference, read):
            ref = reference[op.src_pos] if op.tag != "insert" else None
            got = read[op.dest_pos] if op.tag != "delete" else None
            if ref == " ":
                self.spaces_dropped += 1  # a space deleted, or read as a character (then counted as dropped)
            elif got == " ":
                self.spaces_inserted += 1
                if ref is not None:
                    self.deleted += 1
            elif op.tag == "replace":
                self.replaced[ref][got] += 1
            elif op.tag == "delete":
                self.deleted += 1
            else:
                self.inserted_total += 1
                self.inserted[got] += 1

    def rates(self) -> dict[str, Any]:
        letters = sum(self.chars.values())
        replace = {}
        for char, n in sorted(self.chars.items()):
            readings = self.replaced.get(char)
            if n >= MIN_OCCURRENCES and readings:
                replace[char] = {"p": round(sum(readings.values()) / n, 6), "as": dict(readings.most_common())}
        errors = [sum(1 for gap, joined in self.gaps if (gap <= g) != joined) for g in GAPS]
        return {
            "segment_gap": GAPS[errors.index(min(errors))] if self.gaps else 1.0,
            "rates": {
                "delete": round(self.deleted / max(letters, 1), 6),
                "insert": round(self.inserted_total / max(letters, 1), 6),
                "space_drop": round(self.spaces_dropped / max(self.spaces, 1), 6),
                "space_insert": round(self.spaces_inserted / max(letters, 1), 6),
            },
            "replace": replace,
            "inserted": dict(self.inserted.most_common()) or {".": 1},
        }


def match(words: list[str], boxes: list[list[int]], segments: list[Segment]) -> list[list[int]]:
    """For each segment, the generated words (indices, reading order) whose box centre it covers."""
    taken: set[int] = set()
    out = []
    for _, (x0, y0, x1, y1) in segments:
        inside = [i for i, (a, b, c, d) in enumerate(boxes) if i not in taken and x0 <= (a + c) / 2 <= x1 and y0 <= (b + d) / 2 <= y1]
        taken.update(inside)
        out.append(inside)
    return out


def count_page(counts: Counts, record: dict[str, Any], segments: list[Segment]) -> None:
    words, boxes, lines = record["words"], record["boxes"], record["line_ids"]
    matched = match(words, boxes, segments)
    segment_of = {i: k for k, ids in enumerate(matched) for i in ids}
    counts.words += len(words)
    counts.missed += len(words) - len(segment_of)
    counts.segments += len(segments)
    for (text, _), ids in zip(segments, matched, strict=True):
        if not ids:
            counts.unmatched += 1
            continue
        reference = " ".join(words[i] for i in ids)
        if Levenshtein.normalized_distance(reference, text) > MAX_DISTANCE:
            counts.far += 1
            continue
        counts.align(reference, text)
    for i in range(1, len(words)):
        if lines[i] == lines[i - 1] and i in segment_of and i - 1 in segment_of:
            height = max(boxes[i][3] - boxes[i][1], boxes[i - 1][3] - boxes[i - 1][1], 1)
            counts.gaps.append(((boxes[i][0] - boxes[i - 1][2]) / height, segment_of[i] == segment_of[i - 1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="rapidocr", help="OCR engine (default rapidocr)")
    parser.add_argument("--pages", type=int, default=40, help="rendered pages read by the engine (default 40)")
    parser.add_argument("--doc-types", default="receipt", help="doc types the rates are measured on and applied to (default receipt)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=1024, help="raster width of the pages (default 1024, the build default)")
    parser.add_argument("--out", type=Path, default=NOISE_FILE, help=f"calibration file (default {NOISE_FILE.name} in the package)")
    args = parser.parse_args(argv)
    try:
        engine = load_engine(args.engine)
        doc_types = tuple(args.doc_types.split(","))
        templates = [t for t in map(load_template, list_templates()) if t.doc_type in doc_types]
        if not templates:
            raise DatagenError(f"no template of doc type(s) {args.doc_types}")
    except DatagenError as exc:
        print(f"calibrate_ocr_noise: {exc}", file=sys.stderr)
        return 2
    counts = Counts()
    for page in tqdm(range(args.pages), desc=f"{args.engine} reading pages", unit="page"):
        template = templates[page % len(templates)]
        gen = generate(template, derive_seed("calibrate-ocr", args.seed, page) % 2**31, width=args.width)
        count_page(counts, gen.record, engine(gen.image))
    data = {
        "engine": engine_version(args.engine),
        "measured": f"{date.today().isoformat()}: {args.pages} pages of {', '.join(t.id for t in templates)} (seed {args.seed}, "
        f"width {args.width}, default augmentations)",
        "command": "python scripts/calibrate_ocr_noise.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "observed": {
            "characters": sum(counts.chars.values()),
            "words": counts.words,
            "words_not_read": counts.missed,
            "segments": counts.segments,
            "segments_without_words": counts.unmatched,
            "segments_left_out": counts.far,
        },
        "doc_types": list(doc_types),
        **counts.rates(),
    }
    NoiseModel.from_yaml(data)  # what is written must load
    header = "# OCR-noise rates for datagen.ocr_noise, written by scripts/calibrate_ocr_noise.py: rerun it, do not edit.\n"
    write_atomic(args.out, (header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)).encode())
    print(f"wrote {args.out}: {yaml.safe_dump({k: data[k] for k in ('observed', 'segment_gap', 'rates')}, sort_keys=False)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
