"""The three prompt formats built from a record: masked-prompt (PIP), autoregressive (AR) and chat.

All three share one instruction that lists every key of the doc type in the schema's order. The
OCR-style document text (the record's words in reading order, one printed line per text line) comes
first in the PIP and AR prompts; the chat format carries the image instead.

- PIP: after the instruction, each key is followed by a run of ``[mask]`` of that key's budget (in
  tokens of a named tokenizer). The target of a key is the value's tokens followed by ``[pad]`` up to
  the budget; an absent key's target is the tokens of ``unknown``. A value longer than its budget is
  cut to the budget *and reported* (``pip_overflow``), never silently. A model with a copy head may
  read the masks as a *span* instead (``answer="span"``): two masks per key that point at the value's
  first and last token on the document (``benchmark.pip.read_span``), so the prompt carries 2 slots a
  key instead of the longest value's length; datasets are written in the token form.
- AR: the same instruction; the target is the JSON object of values (absent keys are ``null``).
  A record imported from a real dataset lists only the keys that dataset annotates; its AR target
  lists those keys, and its PIP targets are None / ``IGNORE_ID`` for the others.
- chat: ``messages`` in the transformers chat-template convention (user: image + instruction,
  assistant: the AR target).

Everything is derived from ``fields`` (key, value, present), so a harness can rebuild the PIP prompt
and targets for any other tokenizer with ``pip_budgets`` + ``pip_prompt`` + ``pip_targets``.
See ``docs/dataset-format.md`` for worked examples.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from datagen.doctypes import DOC_TYPES

MASK = "[mask]"
PAD = "[pad]"
UNKNOWN = "unknown"
IGNORE_ID = -100  # the label of a slot with nothing to learn (a key the source does not annotate)


class Tokenizer(Protocol):
    """What the prompt builder needs of a Hugging Face tokenizer."""

    pad_token_id: int | None

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...
    def decode(self, ids: Sequence[int], skip_special_tokens: bool = ...) -> str: ...


def document_text(words: Sequence[str], line_ids: Sequence[int]) -> str:
    """The words in reading order, one output line per printed line."""
    lines: list[list[str]] = []
    last = None
    for word, line in zip(words, line_ids, strict=True):
        if line != last:
            lines.append([])
            last = line
        lines[-1].append(word)
    return "\n".join(" ".join(line) for line in lines)


def word_offsets(words: Sequence[str], line_ids: Sequence[int]) -> list[int]:
    """Where each word starts in ``document_text(words, line_ids)``: one separator (a space, or a line
    break) between two words either way."""
    offsets, at = [], 0
    for word in words:
        offsets.append(at)
        at += len(word) + 1
    return offsets


def instruction(doc_type: str) -> str:
    keys = ", ".join(DOC_TYPES[doc_type])
    return f"Extract the fields of this {doc_type}: {keys}. Give each value exactly as printed; a field that is not on the document is {UNKNOWN}."


DOCUMENT_OPEN = "<document>\n"  # the document's text starts right after it
DOCUMENT_CLOSE = "</document>"  # and ends right before it


def with_document(text: str, body: str) -> str:
    return f"{DOCUMENT_OPEN}{text}\n{DOCUMENT_CLOSE}\n{body}"


# ----------------------------------------------------------------------------- AR and chat


def ar_instruction(doc_type: str) -> str:
    return instruction(doc_type) + " Answer with one JSON object."


def ar_prompt(doc_type: str, text: str) -> str:
    return with_document(text, ar_instruction(doc_type))


def ar_target(fields: Sequence[dict[str, Any]]) -> str:
    return json.dumps({f["key"]: f["value"] if f["present"] else None for f in fields}, ensure_ascii=False)


def parse_ar(output: str, doc_type: str) -> tuple[dict[str, str | None], bool]:
    """Values from a model's JSON answer; (values, ok).

    The first ``{...}`` is read as one JSON object. When that fails (ok=False, counted as a parse failure),
    each key's first well-formed ``"key": "value"`` or ``"key": null`` pair is still recovered, so one
    broken value costs that field, not the whole document; keys with no well-formed pair are None.
    """
    keys = DOC_TYPES[doc_type]
    match = re.search(r"\{.*\}", output, flags=re.DOTALL)
    try:
        data = json.loads(match.group(0)) if match else None
    except (json.JSONDecodeError, RecursionError):  # a model may well print [[[[... ten thousand deep
        data = None
    ok = isinstance(data, dict)
    if not isinstance(data, dict):
        data = {}
        for key in keys:
            pair = re.search(rf'"{re.escape(key)}"\s*:\s*(null|"(?:[^"\\\n]|\\.)*")', output)
            if pair is not None:
                data[key] = json.loads(pair.group(1))
    return {k: None if data.get(k) in (None, UNKNOWN) else str(data[k]) for k in keys}, ok


def chat_messages(doc_type: str, target: str) -> list[dict[str, Any]]:
    user = [{"type": "image", "text": None}, {"type": "text", "text": ar_instruction(doc_type)}]
    return [{"role": "user", "content": user}, {"role": "assistant", "content": [{"type": "text", "text": target}]}]


# ----------------------------------------------------------------------------- PIP


PIP_ANSWERS = ("tokens", "span")
SPAN_SLOTS = 2  # a span answer: where the value starts on the document and where it ends


def pip_instruction(doc_type: str, answer: str = "tokens") -> str:
    """The PIP instruction. The span form does not list the keys: its slot lines name every key, and a
    span prompt is kept short because one pass over it is all a span model computes."""
    # The mask and pad tokens never appear in the instruction itself: every mask in the prompt is a slot.
    if answer == "span":
        return (
            f"Extract the fields of this {doc_type}. Point the two masks after each key at the first and the last token of "
            f"its value on the document; a field that is not on the document is {UNKNOWN}."
        )
    if answer != "tokens":
        raise ValueError(f"a PIP answer is one of {PIP_ANSWERS}, not {answer!r}")
    return instruction(doc_type) + " Fill the masks after each key with its value, then padding."


def span_budgets(doc_type: str) -> dict[str, int]:
    return dict.fromkeys(DOC_TYPES[doc_type], SPAN_SLOTS)


def pip_slots(doc_type: str, budgets: dict[str, int], mask: str = MASK) -> str:
    """The answer part of a PIP prompt: one line per key, ``key: `` then the key's run of masks."""
    return "".join(f"{key}: {mask * budgets[key]}\n" for key in DOC_TYPES[doc_type])


def pip_prompt(doc_type: str, text: str, budgets: dict[str, int], mask: str = MASK, answer: str = "tokens") -> str:
    return with_document(text, pip_instruction(doc_type, answer) + "\n" + pip_slots(doc_type, budgets, mask))


def parse_pip_prompt(prompt: str, doc_type: str, mask: str = MASK) -> dict[str, int]:
    """Budgets back from a PIP prompt (the round trip the harness relies on)."""
    budgets = {}
    for key in DOC_TYPES[doc_type]:
        match = re.search(rf"^{re.escape(key)}: ((?:{re.escape(mask)})+)$", prompt, flags=re.MULTILINE)
        if match is None:
            raise ValueError(f"PIP prompt has no mask run for key {key!r}")
        budgets[key] = len(match.group(1)) // len(mask)
    return budgets


def pip_targets(doc_type: str, fields: Sequence[dict[str, Any]]) -> list[str | None]:
    """Per key of the schema (in order), the text the masks must spell: the value, or ``unknown`` when the
    field is absent, or None when ``fields`` does not list the key at all.

    Synthetic records list every key. A record imported from a real dataset lists only the keys that
    dataset annotates (SROIE annotates four receipt keys): its other keys have no target, so they are
    neither trained on nor scored.
    """
    given = {f["key"]: f for f in fields}
    return [(given[k]["value"] if given[k]["present"] else UNKNOWN) if k in given else None for k in DOC_TYPES[doc_type]]


def encode_all(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text, without special tokens: one batched call into a fast tokenizer's Rust
    backend (a per-text ``encode`` costs ~0.1 ms of Python overhead, 15 times per document)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        # A padded ``tokenizer(..., padding=True)`` call leaves padding switched on in the backend, and
        # transformers only resets it on its own next call: switch it off, or every id list comes back padded.
        if backend.padding is not None:
            backend.no_padding()
        if backend.truncation is not None:
            backend.no_truncation()
        return [e.ids for e in backend.encode_batch(list(texts), add_special_tokens=False)]
    return [tokenizer.encode(t, add_special_tokens=False) for t in texts]


def pip_target_ids(
    targets: Sequence[str | None], keys: Sequence[str], budgets: dict[str, int], tokenizer: Tokenizer
) -> tuple[list[list[int]], list[str]]:
    """Token ids per key padded to the budget, and the keys whose value did not fit (cut, reported).

    A key without a target (None: not annotated) gets ``IGNORE_ID`` at every slot, the label that
    PyTorch's cross-entropy and Hugging Face trainers skip.
    """
    pad = tokenizer.pad_token_id
    if pad is None:
        raise ValueError("the tokenizer has no pad token")
    known = [t for t in targets if t is not None]
    encoded = iter(encode_all(tokenizer, known))
    out, overflow = [], []
    for key, target in zip(keys, targets, strict=True):
        if target is None:
            out.append([IGNORE_ID] * budgets[key])
            continue
        ids = next(encoded)
        if len(ids) > budgets[key]:
            overflow.append(key)
            ids = ids[: budgets[key]]
        out.append(ids + [pad] * (budgets[key] - len(ids)))
    return out, overflow


def parse_pip(ids_per_key: Sequence[Sequence[int]], doc_type: str, tokenizer: Tokenizer) -> dict[str, str | None]:
    """Values from the tokens predicted at each key's masks: strip padding, decode, map ``unknown``."""
    pad = tokenizer.pad_token_id
    values: dict[str, str | None] = {}
    for key, ids in zip(DOC_TYPES[doc_type], ids_per_key, strict=True):
        kept = list(ids)
        while kept and kept[-1] == pad:
            kept.pop()
        text = tokenizer.decode([i for i in kept if i != pad], skip_special_tokens=False).strip()
        values[key] = None if text in ("", UNKNOWN) else text
    return values


BUDGET_PERCENTILE = 99.5  # of value lengths: long enough for almost every value, never sized to one document


def budgets_from_values(
    tokenizer: Tokenizer, doc_types: Iterable[str], values: Sequence[tuple[str, str, str]], percentile: float = BUDGET_PERCENTILE
) -> dict[str, dict[str, int]]:
    """Per doc type and key, the mask budget for a dataset's present values ``(doc_type, key, value)``
    in ``tokenizer``'s tokens. A dataset-level statistic (see :func:`compute_budgets`), never one
    document's length, so a prompt does not reveal how long any one answer is."""
    unknown = len(encode_all(tokenizer, [UNKNOWN])[0])
    lengths: dict[str, dict[str, list[int]]] = {t: {k: [] for k in DOC_TYPES[t]} for t in sorted(set(doc_types))}
    for (doc_type, key, _), ids in zip(values, encode_all(tokenizer, [v for _, _, v in values]), strict=True):
        lengths[doc_type][key].append(len(ids))
    return {t: compute_budgets(per_key, unknown, percentile) for t, per_key in lengths.items()}


def compute_budgets(token_lengths: Mapping[str, Iterable[int]], unknown_len: int, percentile: float = 99.5) -> dict[str, int]:
    """Per-key mask budget: the ``percentile`` of present values' token lengths, at least ``unknown``."""
    budgets = {}
    for key, lengths in token_lengths.items():
        ordered = sorted(lengths)
        if ordered:
            rank = max(0, math.ceil(percentile / 100 * len(ordered)) - 1)
            budgets[key] = max(ordered[rank], unknown_len)
        else:
            budgets[key] = unknown_len
    return budgets
