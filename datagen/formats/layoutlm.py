"""Token classification for LayoutLM-style models: words, 0-1000 boxes, BIO tags per key, the image.

The columns are those of ``nielsr/funsd-layoutlmv3`` (``id``, ``tokens``, ``bboxes``, ``ner_tags``,
``image``) plus ``doc_type``, so LayoutLMv3 fine-tuning scripts written for FUNSD run unchanged. The tag
set is the same for every doc type (:data:`LABELS`): one model can learn all three schemas.

A word is tagged ``B-key`` where its field starts or resumes (the previous word is not in it) and
``I-key`` where it continues; BIO cannot say "not annotated", so on import every key of the doc type
is annotated and untagged keys are absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from datasets import ClassLabel, Features, Image, List, Value
from huggingface_hub import DatasetCardData

from datagen.card import card_yaml
from datagen.doctypes import DOC_TYPES
from datagen.errors import DatagenError
from datagen.formats.common import (
    Imported,
    MalformedError,
    Problems,
    Row,
    SplitParquetWriter,
    image_size_of,
    load_hub_dataset,
    make_record,
    pixel_boxes,
    split_name,
)

SOURCE = "layoutlm"
DEFAULT_DOC_TYPE = "form"  # datasets without a doc_type column (FUNSD-like) hold forms

LABELS: list[str] = list(dict.fromkeys(["O", *(f"{p}-{key}" for keys in DOC_TYPES.values() for key in keys for p in ("B", "I"))]))
FEATURES = Features(
    {
        "id": Value("string"),
        "doc_type": Value("string"),
        "tokens": List(Value("string")),
        "bboxes": List(List(Value("int64"))),  # 0-1000 grid
        "ner_tags": List(ClassLabel(names=LABELS)),
        "image": Image(),
    }
)


def bio_tags(row: Row) -> list[str]:
    """The row's tag per word: ``B-key``/``I-key`` for the words of a present field, ``O`` elsewhere."""
    tags = ["O"] * len(row.words)
    for f in row.fields:
        ids = set(f["word_ids"])  # empty for an absent field
        for i in sorted(ids):
            tags[i] = f"{'I' if i - 1 in ids else 'B'}-{f['key']}"
    return tags


# ----------------------------------------------------------------------------- export


def write(rows: Iterable[Row], out: Path) -> int:
    """``out/data/{split}-00000-of-00001.parquet`` per split and a card (``README.md``) declaring them."""
    with SplitParquetWriter(out, FEATURES) as writer:
        for row in rows:
            if row.image is None:
                raise DatagenError(f"{row.id}: no image to export (LayoutLM datasets need one per document; build with images)")
            writer.add(row.split, FEATURES.encode_example(_example(row)))
    splits = [(split, n, writer.path(split).stat().st_size) for split, n in writer.counts.items()]
    data = DatasetCardData(task_categories=["token-classification"], tags=["key-information-extraction", "layoutlm", "datagen"])
    (out / "README.md").write_text(card_yaml(FEATURES, splits, data) + _CARD_BODY, encoding="utf-8")
    return sum(writer.counts.values())


_CARD_BODY = """
# Token classification export of a pip-kie dataset

Columns as in `nielsr/funsd-layoutlmv3` plus `doc_type`: `tokens` (words), `bboxes` (0-1000 grid),
`ner_tags` (BIO per field key; one tag set for all doc types) and `image`. Written by `datagen export layoutlm`.
"""


def _example(row: Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "doc_type": row.doc_type,
        "tokens": row.words,
        "bboxes": row.boxes_norm,
        "ner_tags": bio_tags(row),
        "image": {"bytes": row.image, "path": None},
    }


# ----------------------------------------------------------------------------- import


def read(path: str, problems: Problems) -> Iterator[Imported]:
    """Every row of every split of the dataset at ``path`` (a local folder or a Hub id); a split whose
    name is not train, validation or test (or a synonym) counts as test, as in ``common.split_of``."""
    for name, rows in load_hub_dataset(path).items():
        split = split_name(name)
        missing = [c for c in ("tokens", "bboxes", "ner_tags", "image") if c not in rows.column_names]
        if missing:
            raise DatagenError(f"{path} split {name}: missing columns {', '.join(missing)} (not a token classification dataset)")
        tags = rows.features["ner_tags"]
        if not isinstance(getattr(tags, "feature", None), ClassLabel):
            raise DatagenError(f"{path} split {name}: ner_tags is not a list of class labels")
        for index, row in enumerate(rows.cast_column("image", Image(decode=False))):
            doc_id = str(row["id"]) if row.get("id") is not None else f"{name}-{index}"
            try:
                record, image = convert(row, doc_id, tags.feature.names)
            except MalformedError as exc:
                problems.report(f"{path} {name}[{index}] (id {doc_id})", str(exc))
                continue
            yield Imported(split=split, record=record, image=image)


def convert(row: dict[str, Any], doc_id: str, names: list[str]) -> tuple[dict[str, Any], bytes]:
    """The record and image bytes of one row whose ``ner_tags`` index ``names``."""
    doc_type = row.get("doc_type") or DEFAULT_DOC_TYPE
    schema = DOC_TYPES.get(doc_type)
    if schema is None:
        raise MalformedError(f"unknown doc type {doc_type!r} (known: {', '.join(DOC_TYPES)})")
    tokens, bboxes, tags = row["tokens"], row["bboxes"], row["ner_tags"]
    if not len(tokens) == len(bboxes) == len(tags):
        raise MalformedError(f"{len(tokens)} tokens, {len(bboxes)} bboxes and {len(tags)} ner_tags")
    if any(len(box) != 4 for box in bboxes):
        raise MalformedError("a bbox needs 4 coordinates")
    image = _image_bytes(row["image"])
    size = image_size_of(image, doc_id)
    links = _tagged_words([_tag_name(t, names) for t in tags], schema, doc_type)
    values = {key: " ".join(tokens[i] for i in ids) or None for key, ids in links.items()}
    record = make_record(
        source=SOURCE,
        doc_id=doc_id,
        doc_type=doc_type,
        words=tokens,
        boxes=pixel_boxes(bboxes, size),
        image_size=size,
        values=values,
        word_ids=links,
    )
    return record, image


def _tag_name(tag: int | None, names: list[str]) -> str:
    if not isinstance(tag, int) or not 0 <= tag < len(names):
        raise MalformedError(f"ner_tag {tag} is not one of the {len(names)} class labels")
    return names[tag]


def _tagged_words(tags: list[str], schema: tuple[str, ...], doc_type: str) -> dict[str, list[int]]:
    """Per key of the schema, the indices of the words tagged ``B-key`` or ``I-key`` (spans merged)."""
    links: dict[str, list[int]] = {key: [] for key in schema}
    for i, tag in enumerate(tags):
        if tag == "O":
            continue
        prefix, _, key = tag.partition("-")
        if prefix not in ("B", "I") or key not in links:
            raise MalformedError(f"tag {tag!r} of token {i} is not O, B-key or I-key of the {doc_type} schema")
        links[key].append(i)
    return links


def _image_bytes(image: dict[str, Any] | None) -> bytes:
    """The encoded image of an undecoded ``Image`` cell: embedded bytes, or the local file it names."""
    if image and image.get("bytes"):
        return image["bytes"]
    if image and image.get("path") and Path(image["path"]).is_file():
        return Path(image["path"]).read_bytes()
    raise MalformedError("no image (needed for the page size)")
