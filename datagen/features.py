"""The dataset's columns, declared once: the Hugging Face ``Features`` and the record -> row mapping.

Shards are written with this schema (its Arrow form carries the ``huggingface`` metadata), the card's
``dataset_info`` is generated from it, and loaders read it back, so there is exactly one definition.
"""

from __future__ import annotations

from typing import Any

from datasets import Features, Image, List, Value

from datagen.doctypes import DOC_TYPES, LINE_ITEM_COLUMNS
from datagen.prompts import Tokenizer, ar_prompt, ar_target, chat_messages, document_text, pip_prompt, pip_target_ids, pip_targets

_STRING = Value("string")

_FIELD = {"key": _STRING, "value": _STRING, "present": Value("bool"), "word_ids": List(Value("int32"))}
_MESSAGE = {"role": _STRING, "content": List({"type": _STRING, "text": _STRING})}


def dataset_features(image: bool, pdf: bool = False) -> Features:
    """Columns of a built dataset; ``image`` is absent for layout-only (lazy) builds."""
    columns: dict[str, Any] = {}
    if image:
        columns["image"] = Image()
    if pdf:
        columns["pdf"] = Value("binary")
    columns.update(
        {
            "id": _STRING,
            "doc_type": _STRING,
            "template_id": _STRING,
            "locale": _STRING,
            "currency": _STRING,
            "seed": Value("int64"),
            "generator_version": _STRING,
            "image_size": List(Value("int32"), length=2),
            "words": List(_STRING),
            "boxes": List(List(Value("int16"), length=4)),  # 0-1000 grid
            "line_ids": List(Value("int32")),
            "fields": List(_FIELD),
            "line_items": List({c: _STRING for c in LINE_ITEM_COLUMNS}),
            "pip_prompt": _STRING,
            "pip_targets": List(_STRING),
            "pip_target_ids": List(List(Value("int32"))),
            "pip_overflow": List(_STRING),
            "ar_prompt": _STRING,
            "ar_target": _STRING,
            "messages": List(_MESSAGE),
        }
    )
    return Features(columns)


def record_to_row(
    record: dict[str, Any],
    budgets: dict[str, int],
    tokenizer: Tokenizer,
    image: bytes | None = None,
    pdf: bytes | None = None,
) -> dict[str, Any]:
    """One dataset row from a record (``datagen.record``) and the doc type's mask budgets."""
    doc_type = record["doc_type"]
    text = document_text(record["words"], record["line_ids"])
    targets = pip_targets(doc_type, record["fields"])
    target_ids, overflow = pip_target_ids(targets, DOC_TYPES[doc_type], budgets, tokenizer)
    answer = ar_target(record["fields"])
    row: dict[str, Any] = {}
    if image is not None:
        row["image"] = {"bytes": image, "path": None}
    if pdf is not None:
        row["pdf"] = pdf
    row.update(
        {
            "id": record["id"],
            "doc_type": doc_type,
            "template_id": record["template_id"],
            "locale": record["locale"],
            "currency": record["currency"],
            "seed": record["seed"],
            "generator_version": record["generator_version"],
            "image_size": record["image_size"],
            "words": record["words"],
            "boxes": record["boxes_norm"],
            "line_ids": record["line_ids"],
            "fields": record["fields"],
            "line_items": record["line_items"],
            "pip_prompt": pip_prompt(doc_type, text, budgets),
            "pip_targets": targets,
            "pip_target_ids": target_ids,
            "pip_overflow": overflow,
            "ar_prompt": ar_prompt(doc_type, text),
            "ar_target": answer,
            "messages": chat_messages(doc_type, answer),
        }
    )
    return row
