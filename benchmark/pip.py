"""The PIP mechanics every adapter shares: mask token, budgets, the 4D attention mask, reading the slots.

A PIP prompt ends with one line per key, ``key: `` followed by that key's run of ``[mask]`` tokens
(``datagen.prompts.pip_slots``). ONE forward pass fills them all.

Alignment. The token that fills the mask at position ``p`` is read from the logits at ``p - 1``: the
causal LM's own next-token convention. So PIP training uses the model's standard shifted ``labels``
loss unchanged, and an AR model is a warm start (its first-token predictions are already right).

Attention. ``causal`` is the model's usual mask; ``bidirectional`` lets every token from the first mask
to the end of the sequence see every other token of that span (LLaDA-style), the prefix stays causal.
Both are passed as a float additive 4D mask (0 = attend, dtype minimum = blocked): bool masks are read
differently by eager and SDPA attention, a float mask means the same thing to both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from benchmark.data import Document
from datagen.doctypes import DOC_TYPES
from datagen.prompts import MASK, PAD, budgets_from_values, encode_all

ATTENTION = ("causal", "bidirectional")


def ensure_pip_tokens(tokenizer: Any, model: Any) -> bool:
    """Give the tokenizer ``[mask]`` (and a pad token) as special tokens when it has none; True if added.

    The new embedding rows are initialised to the mean of the old ones (transformers' default), so a
    model never trained in PIP format can still be run, but it has not learned what a mask means.
    """
    wanted: dict[str, str | list[str]] = {}
    if MASK not in tokenizer.get_vocab():
        wanted["additional_special_tokens"] = [MASK]
    if tokenizer.pad_token is None:
        wanted["pad_token"] = PAD
    if not wanted:
        return False
    tokenizer.add_special_tokens(wanted, replace_additional_special_tokens=False)
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    return True


def pip_answer(config: Any) -> str:
    """How a model reads its masks (``config.pip_answer``): ``tokens``, the default (each mask spells one
    token of the value), or ``span`` (two masks a key point at the value's first and last token)."""
    return getattr(config, "pip_answer", "tokens")


def derive_budgets(tokenizer: Any, documents: Sequence[Document]) -> dict[str, dict[str, int]]:
    """Per doc type and key, the mask budget in this tokenizer: a high percentile of gold value lengths."""
    present = [(d.doc_type, k, v) for d in documents for k, v in d.gold.items() if v is not None]
    return budgets_from_values(tokenizer, {d.doc_type for d in documents}, present)


def overflow_count(tokenizer: Any, documents: Sequence[Document], budgets: dict[str, dict[str, int]]) -> int:
    """Gold values longer than their budget: unreachable in PIP mode, so counted and reported."""
    pairs = [(budgets[d.doc_type][k], v) for d in documents for k, v in d.gold.items() if v is not None]
    return sum(len(ids) > budget for (budget, _), ids in zip(pairs, encode_all(tokenizer, [v for _, v in pairs]), strict=True))


def attention_mask_4d(padding: torch.Tensor, span_starts: Sequence[int], attention: str, dtype: torch.dtype) -> torch.Tensor:
    """(batch, 1, seq, seq) additive mask from a 2D padding mask (1 = token): causal, plus, for
    ``bidirectional``, every token from ``span_starts[row]`` to the end of the row attending to every
    other. Works for left and right padding: pad keys are never attended, and a pad query attends only
    to itself (a fully blocked row would be NaN under some attention kernels).
    """
    if attention not in ATTENTION:
        raise ValueError(f"attention must be one of {ATTENTION}, not {attention!r}")
    rows, seq_len = padding.shape
    idx = torch.arange(seq_len, device=padding.device)
    allowed = (idx[None, :] <= idx[:, None]).expand(rows, seq_len, seq_len).clone()
    if attention == "bidirectional":
        for row, start in enumerate(span_starts):
            allowed[row, start:, start:] = True
    real = padding.bool()
    allowed = torch.where(real[:, :, None], allowed & real[:, None, :], (idx[None, :] == idx[:, None])[None])
    mask = torch.zeros((rows, 1, seq_len, seq_len), dtype=dtype, device=padding.device)
    return mask.masked_fill(~allowed[:, None], torch.finfo(dtype).min)


def position_ids(padding: torch.Tensor) -> torch.Tensor:
    """Positions that skip padding (0 at each row's first token), as ``generate`` computes them."""
    return (padding.long().cumsum(-1) - 1).clamp(min=0)


def slot_positions(input_ids: torch.Tensor, mask_id: int) -> list[list[int]]:
    """Positions of the mask tokens in each row, in order."""
    return [torch.nonzero(row == mask_id).flatten().tolist() for row in input_ids]


def logit_positions(positions: Sequence[Sequence[int]]) -> tuple[list[int], list[list[int]]]:
    """Which sequence positions need logits (the one before each mask: next-token alignment), and
    for each row the index of each of its masks in that list.

    Passed to the model as ``logits_to_keep``, this computes the LM head only where a mask is read
    (the head is most of a small model's cost on a long prompt), like ``generate`` does for its prefill.
    """
    wanted = sorted({p - 1 for pos in positions for p in pos})
    where = {p: i for i, p in enumerate(wanted)}
    return wanted, [[where[p - 1] for p in pos] for pos in positions]


def split_slots(ids: Sequence[int], doc_type: str, budgets: dict[str, int]) -> list[list[int]]:
    """The flat predicted ids of a document cut into one run per key (schema order)."""
    out, start = [], 0
    for key in DOC_TYPES[doc_type]:
        out.append(list(ids[start : start + budgets[key]]))
        start += budgets[key]
    if start != len(ids):
        raise ValueError(f"{len(ids)} mask slots for a {doc_type} whose budgets sum to {start}")
    return out


# ----------------------------------------------------------------------------- span answers


def value_spans(text: str, value: str) -> list[tuple[int, int]]:
    """Every ``(start, end)`` character span of ``text`` where ``value`` is printed as a run of whole words;
    a line break in the document counts as the space between two words of the value (a multi-line
    address). What a span answer is trained to point at; several spans when a value is printed twice."""
    flat = text.replace("\n", " ")
    spans, start = [], flat.find(value)
    while value and start >= 0:
        end = start + len(value)
        if (start == 0 or flat[start - 1] == " ") and (end == len(flat) or flat[end] == " "):
            spans.append((start, end))
        start = flat.find(value, start + 1)
    return spans


def token_at(offsets: Sequence[tuple[int, int]], char: int, last: bool = False) -> int:
    """The index of the first (``last``: the last) token whose character span holds ``char``, offsets as a
    fast tokenizer gives them. A byte-level BPE may split one character into several tokens that all hold
    it (``Ë`` in ``SYRIË``): a value's span starts at the first of them and ends at the last."""
    for i, (start, end) in enumerate(offsets):
        if start <= char < end:
            while last and i + 1 < len(offsets) and offsets[i + 1][0] <= char < offsets[i + 1][1]:
                i += 1
            return i
    raise ValueError(f"no token holds character {char}")


def token_spacing(tokenizer: Any) -> tuple[list[bool], list[bool]] | None:
    """Per token id: does it begin, does it end with whitespace when decoded alone (what ``whole_words``
    reads word boundaries from); None for a tokenizer whose lone tokens decode without their spaces
    (SentencePiece strips a leading one, a word-level vocabulary has none), where spans stay as pointed."""
    texts = tokenizer.batch_decode([[i] for i in range(len(tokenizer))])
    lead = [t[:1].isspace() for t in texts]
    return (lead, [t[-1:].isspace() for t in texts]) if any(lead) else None


def whole_words(
    span: tuple[int, int], ids: Sequence[int], spacing: tuple[list[bool], list[bool]], limit: int | None = None
) -> tuple[int, int]:
    """``span`` widened to the whole words its first and last tokens belong to.

    Values are runs of whole words of the document (how datagen and the word-level benchmarks label
    them, and what span training points at), but the two masks point at tokens: on a word the model
    splits into pieces it can stop one piece early (``02/JAN/20`` for ``02/JAN/2017``). ``spacing`` is
    the tokenizer's table of which tokens begin or end with whitespace when decoded
    (``token_spacing``); a word boundary is whitespace between two tokens."""
    lead, trail = spacing
    first, last = span
    while first > 0 and not (lead[ids[first]] or trail[ids[first - 1]]):
        first -= 1
    end = len(ids) if limit is None else limit
    while last + 1 < end and not (trail[ids[last]] or lead[ids[last + 1]]):
        last += 1
    return first, last


def read_span(start: torch.Tensor, end: torch.Tensor, limit: int | None = None, longest: int | None = None) -> tuple[int, int] | None:
    """The ``(first, last)`` source positions a key's two span masks point at, from their copy
    probabilities over the sources; None when the start mask is more likely not to copy at all (the
    model answers ``unknown``). The span is the most likely pair with ``first <= last`` (the product of the
    two masks' probabilities, as extractive question answering reads spans), and lies before ``limit``
    when given (the end of the document: an answer is never read out of the instruction).

    ``longest`` bounds the span to that many tokens, as extractive QA bounds its answers (``max_answer_len``):
    the two masks point on their own, and on a document unlike the training data the end mask can settle
    on a likely-looking token lines later (a total's start on ``55.10``, its end on the GST summary's
    ``3.12``). A span model declares each key's longest training value (``config.pip_span_lengths``)."""
    if float(start.sum()) < 0.5:
        return None
    start, end = start[:limit], end[:limit]
    if longest is not None:
        # the best end in the window of ``longest`` tokens from each position: a sliding maximum by max-pooling.
        # The max of an unfolded (sources, longest) view is as fast on an idle CPU (~0.1 ms a key), but took ~7 ms
        # a key, half of a batched PIP pass, while another process kept the cores busy (its parallel reduction's
        # threads waiting on each other); max-pooling stayed at ~0.1 ms. Ties go to the first position either way.
        padded = F.pad(end, (0, longest - 1))[None, None]
        best_end, at = F.max_pool1d(padded, longest, stride=1, return_indices=True)
        first = int((start * best_end[0, 0]).argmax())
        return first, min(int(at[0, 0, first]), len(end) - 1)
    # best end at or after each position: a suffix maximum, so the pair search is linear
    best_end, where = torch.flip(end, [0]).cummax(0)
    best_end, where = torch.flip(best_end, [0]), len(end) - 1 - torch.flip(where, [0])
    first = int((start * best_end).argmax())
    return first, int(where[first])
