"""Evaluation documents from a dataset: a local ``datagen build`` folder or a Hub id.

Only ``fields`` is scored, so every prompt (AR, PIP, chat) is rebuilt from the row's words and fields
for the model under test; the prompt columns a build stores (in the project's tokenizer) are not used.
The fingerprint hashes exactly what is scored (ids, doc types, gold fields), so two results files with
the same fingerprint were scored on the same documents.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import BenchError, first_line
from benchmark.metrics import Values
from datagen.doctypes import DOC_TYPES
from datagen.io import CONFIG_FILE
from datagen.prompts import document_text, word_offsets

TEXT_COLUMNS = ("id", "doc_type", "words", "line_ids", "fields")


@dataclass
class Document:
    """One evaluation document: what an adapter reads (text or image) and what is scored (gold)."""

    id: str
    doc_type: str
    text: str  # the words in reading order, one line per printed line
    gold: Values  # every key of the doc type's schema; None = absent from the document
    # (start, end) characters of ``text`` where a key's value is printed, for sources that link a field to its
    # words (generated data): the words may not spell the value when they are what an OCR engine read
    printed: dict[str, tuple[int, int]] = field(default_factory=dict)
    image: Any = None  # a PIL image, loaded only for adapters that read pixels

    def scored(self, values: Values) -> Values:
        """A prediction cut to the keys this document annotates: a model is not scored on keys the
        source never labelled (it may well print a phone number that SROIE does not annotate)."""
        return {key: values.get(key) for key in self.gold}


@dataclass
class EvalSet:
    id: str
    split: str
    fingerprint: str
    documents: list[Document]
    limit: int | None

    def inputs_digest(self, images: bool) -> str:
        """A hash of what an adapter reads: the text, and the pixels when it reads images.

        The fingerprint covers what is scored (ids, gold) only; two builds that differ in their images
        alone (``--no-augment``, ``--width``) share it, but not their predictions, so the prediction cache
        is keyed by this as well.
        """
        digest = hashlib.sha256()
        for doc in self.documents:
            digest.update(doc.text.encode())
            if images and doc.image is not None:
                digest.update(f"{doc.image.mode} {doc.image.size}".encode())
                digest.update(doc.image.tobytes())
        return digest.hexdigest()

    def doc_type_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for doc in self.documents:
            counts[doc.doc_type] = counts.get(doc.doc_type, 0) + 1
        return dict(sorted(counts.items()))


def gold_values(doc_type: str, fields: list[dict[str, Any]]) -> Values:
    """The annotated keys in schema order, each with its value or None when absent.

    A synthetic document annotates every key of its schema; one imported from a real dataset only the
    keys that dataset labels (SROIE: company, date, address, total). Only these keys are scored.
    """
    given = {f["key"]: (f["value"] if f["present"] else None) for f in fields}
    return {key: given[key] for key in DOC_TYPES[doc_type] if key in given}


def printed_spans(words: list[str], line_ids: list[int], fields: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Each present field's character span in the document text, from its ``word_ids`` (a field whose words
    are not one run in reading order has none)."""
    offsets = word_offsets(words, line_ids)
    spans = {}
    for f in fields:
        ids = f.get("word_ids") or []
        if f["present"] and ids and ids == list(range(ids[0], ids[0] + len(ids))) and ids[-1] < len(words):
            spans[f["key"]] = (offsets[ids[0]], offsets[ids[-1]] + len(words[ids[-1]]))
    return spans


def read_pages(documents: list[Document], engine_name: str) -> None:
    """Each document's text becomes what the OCR engine reads on its page (``pip-bench evaluate --ocr``)."""
    from tqdm import tqdm

    from datagen.errors import DatagenError
    from datagen.ocr import load_engine, read_words

    try:
        engine = load_engine(engine_name)
    except DatagenError as exc:
        raise BenchError(str(exc)) from None
    for doc in tqdm(documents, desc=f"{engine_name} reading pages", unit="page"):
        if doc.image is None:
            raise BenchError(f"document {doc.id} has no image for --ocr {engine_name} to read")
        words, _, lines = read_words(engine(doc.image))
        doc.text, doc.printed = document_text(words, lines), {}


def fingerprint(documents: list[Document]) -> str:
    digest = hashlib.sha256()
    for doc in documents:
        digest.update(json.dumps([doc.id, doc.doc_type, doc.gold], ensure_ascii=False, sort_keys=True).encode())
    return digest.hexdigest()


def _open_split(dataset: str, split: str, images: bool, revision: str | None) -> tuple[Any, bool]:
    """The split's rows, and whether their images are rendered on access (a layout-only build)."""
    from datasets import load_dataset

    local = Path(dataset)
    try:
        if local.is_dir():
            _check_local(local, dataset, split)
            if images and (local / CONFIG_FILE).is_file():
                from datagen.lazy import load

                splits = load(local)  # renders images on access for layout-only builds
                if split not in splits:
                    raise BenchError(f"dataset {dataset}: no split {split!r} (has: {', '.join(splits)})")
                return splits[split], "image" not in splits[split].column_names
            return load_dataset(str(local), split=split), False
        if dataset.startswith((".", "/", "~")) or local.suffix:
            raise BenchError(f"dataset {dataset}: no such directory")
        return load_dataset(dataset, split=split, revision=revision), False
    except BenchError:
        raise
    except ValueError as exc:  # an unknown split
        raise BenchError(f"dataset {dataset}: {first_line(exc)}") from None
    except Exception as exc:
        unreadable = _unreadable_file(local, split) if local.is_dir() else None
        if unreadable:
            raise BenchError(f"dataset {dataset}: cannot read {unreadable}") from None
        raise BenchError(f"dataset {dataset}: cannot load ({type(exc).__name__}: {first_line(exc)})") from None


def _check_local(local: Path, dataset: str, split: str) -> None:
    """A ``datagen build`` folder's split is checked against its shard checksums before it is scored:
    a bit flip in a shard would otherwise change the gold silently."""
    from datagen.build_state import STATE_DIR, verify_build
    from datagen.errors import DatagenError

    if (local / STATE_DIR / "build.json").is_file():
        try:
            verify_build(local, (split,))
        except DatagenError as exc:
            raise BenchError(f"dataset {exc}") from None


def _unreadable_file(local: Path, split: str) -> str | None:
    """The first parquet file of ``split`` that is not a readable Parquet file, with why (or None)."""
    import pyarrow.parquet as pq

    for path in sorted(local.rglob(f"{split}-*.parquet")):
        try:
            pq.ParquetFile(path).read()
        except Exception as exc:
            return f"{path.relative_to(local)} ({first_line(exc)})"
    return None


def source_spec(dataset: str) -> tuple[str, str] | None:
    """``("sroie", "path/to/SROIE")`` for a ``KIND:PATH`` dataset spec of an importable format, else None."""
    from datagen.formats import FORMATS

    kind, sep, path = dataset.partition(":")
    return (kind, path) if sep and kind in FORMATS and path else None


def _imported_documents(kind: str, path: str, split: str, limit: int | None, images: bool) -> list[Document]:
    """The documents of one split of a real dataset, converted in memory (``datagen import`` without the
    folder); malformed source files are skipped and named on stderr."""
    from PIL import Image

    from datagen.errors import DatagenError
    from datagen.formats.common import Problems
    from datagen.formats.convert import read_source

    documents: list[Document] = []
    splits: set[str] = set()
    try:
        for item in read_source(kind, path, Problems()):
            splits.add(item.split)
            if item.split != split or (limit is not None and len(documents) >= limit):
                continue
            record = item.record
            image = Image.open(io.BytesIO(item.image)) if images and item.image is not None else None
            if images and image is None:
                raise BenchError(f"{kind}:{path}: document {record['id']} has no image")
            documents.append(
                Document(
                    id=record["id"],
                    doc_type=record["doc_type"],
                    text=document_text(record["words"], record["line_ids"]),
                    gold=gold_values(record["doc_type"], record["fields"]),
                    printed=printed_spans(record["words"], record["line_ids"], record["fields"]),
                    image=image,
                )
            )
    except DatagenError as exc:
        raise BenchError(str(exc)) from None
    if not documents:
        found = f"has: {', '.join(sorted(splits))}" if splits else "no documents found"
        raise BenchError(f"dataset {kind}:{path}: no documents in split {split!r} ({found})")
    return documents


def load_eval_set(
    dataset: str,
    split: str = "test",
    limit: int | None = None,
    images: bool = False,
    revision: str | None = None,
    ocr: str | None = None,
) -> EvalSet:
    """The first ``limit`` rows of ``split`` as documents; checks the columns the adapters need.

    ``dataset`` is a local folder (a build or a ``datagen import``), a Hub id, or ``KIND:PATH`` for a real
    dataset in one of ``datagen.formats`` (``sroie:data/SROIE2019``), converted on the fly. With ``ocr`` the
    text is what that engine reads on each page (``read_pages``), so rows need images but no words.
    """
    if ocr is not None:
        evalset = load_eval_set(dataset, split, limit, images=True, revision=revision)
        read_pages(evalset.documents, ocr)
        if not images:
            for doc in evalset.documents:
                doc.image = None
        return evalset
    if limit is not None and limit < 1:
        raise BenchError(f"--limit must be at least 1 (got {limit})")
    spec = source_spec(dataset)
    if spec is not None:
        documents = _imported_documents(*spec, split, limit, images)
        return EvalSet(id=dataset, split=split, fingerprint=fingerprint(documents), documents=documents, limit=limit)
    rows, lazy_images = _open_split(dataset, split, images, revision)
    needed: tuple[str, ...] = (*TEXT_COLUMNS, "image") if images else TEXT_COLUMNS
    # a dataset of page images with no words can still be read: pip-bench evaluate --ocr
    wordless = images and not {"words", "line_ids"} & set(rows.column_names)
    needed = tuple(c for c in needed if not (wordless and c in ("words", "line_ids")))
    missing = [c for c in needed if c not in rows.column_names and not (c == "image" and lazy_images)]
    if missing:
        raise BenchError(f"dataset {dataset} split {split}: missing required columns: {', '.join(missing)}")
    if limit is not None:
        rows = rows.select(range(min(limit, len(rows))))
    if len(rows) == 0:
        raise BenchError(f"dataset {dataset} split {split}: no rows")
    unknown = sorted(set(rows["doc_type"]) - DOC_TYPES.keys())
    if unknown:
        raise BenchError(f"dataset {dataset}: unknown doc_type {unknown[0]!r} (known: {', '.join(DOC_TYPES)})")
    columns = [c for c in needed if c != "image"]
    table = rows.select_columns(columns).to_dict() if not images else None
    documents = []
    for i in range(len(rows)):
        row = rows[i] if table is None else {c: table[c][i] for c in columns}
        documents.append(
            Document(
                id=str(row["id"]),
                doc_type=row["doc_type"],
                text="" if wordless else document_text(row["words"], row["line_ids"]),
                gold=gold_values(row["doc_type"], row["fields"]),
                printed={} if wordless else printed_spans(row["words"], row["line_ids"], row["fields"]),
                image=row["image"] if images else None,
            )
        )
    return EvalSet(id=dataset, split=split, fingerprint=fingerprint(documents), documents=documents, limit=limit)
