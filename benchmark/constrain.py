"""Constrained decoding: the AR answer's JSON skeleton forced, and the values of either mode grounded.

Why. A small AR model loses its answer's structure (keys repeated, a brace never closed) and writes
values that are printed nowhere (a phone number made up after a ``+``). Decoding can rule both out
without another forward pass, because the answer format is fixed and, in the OCR setting, so is where a
value may come from:

- the answer is ``datagen.prompts.ar_target``: ``json.dumps`` of every key of the doc type's schema in
  schema order, each value a non-empty string or ``null``;
- every value is printed on the page as a run of whole words, so it is a substring of the document's
  words joined by single spaces that starts and ends at word boundaries (a multi-line value's line
  break is a space in its gold text). That holds for every value of every datagen document; it need
  not hold for a dataset whose labels normalise what is printed.

AR constraints (``pip-bench evaluate --ar-constraint``):

- ``none``: free greedy decoding, the paper's AR baseline (the default);
- ``json``: the keys, separators and braces are forced; at each value the model picks ``null`` or a
  string and writes the string freely;
- ``grounded``: ``json``, and each string must stay a run of the document's words: it starts at a word's
  start, stays a substring of the words joined by spaces, and closes only at a word's end. Only for
  models that read the words: grounding an image-only model in the words would hand it the OCR.

PIP (``--pip-constraint grounded``, ``ground_pip``): the one forward pass is unchanged; where the argmax of
a key's masks spells a value that is not a run of whole words (a span copied from one token too late, two
lines joined without their space), the key gets the most likely run that is, under the same per-mask
distributions, or absent when ``unknown`` scores higher. It is the constrained argmax: a prediction that is
already grounded is already the best grounded one, so it is kept.

The AR automaton runs on bytes (each token's bytes as they append to the decoded text), so a character
that a byte-level BPE splits over two tokens is checked exactly. It is a ``LogitsProcessor`` for the
harness's greedy ``generate``: each step keeps the highest-scoring token the automaton accepts and masks
every other, so it costs a little Python per step and no model call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import torch
from transformers import LogitsProcessor

from datagen.doctypes import DOC_TYPES
from datagen.prompts import UNKNOWN, encode_all, parse_pip

CONSTRAINTS = ("none", "json", "grounded")  # AR
PIP_CONSTRAINTS = ("none", "grounded")
CANDIDATES = 64  # top-scoring tokens tried before the whole vocabulary is searched
_ESCAPES = {
    ord('"'): b'"',
    ord("\\"): b"\\",
    ord("/"): b"/",
    ord("n"): b"\n",
    ord("t"): b"\t",
    ord("r"): b"\r",
    ord("b"): b"\b",
    ord("f"): b"\f",
}
_WHITESPACE = frozenset(b" \n\t\r")


@dataclass(frozen=True)
class State:
    """Where the answer is. ``phase``: ``lit`` (inside the literal ``key`` of the skeleton at ``pos``),
    ``value`` (a value starts), ``null`` (inside ``null`` at ``pos``), ``str`` (inside a string whose
    unescaped bytes so far are ``text``), ``done`` (the closing brace was written)."""

    phase: str
    key: int = 0
    pos: int = 0
    text: bytes = b""
    escape: bool = False


START = State("lit")
DONE = State("done")


class Skeleton:
    """The byte automaton of one document's answer: ``advance`` feeds bytes, ``None`` means rejected."""

    def __init__(self, keys: Sequence[str], document: str | None):
        # literal i opens key i (the first one with the brace); the last literal closes the object
        self.literals = [(b'{"' if i == 0 else b', "') + k.encode() + b'": ' for i, k in enumerate(keys)] + [b"}"]
        # the words joined by single spaces and padded with one, so " value" marks a word start and
        # " value " a whole run of words
        self.document = f" {' '.join(document.split())} ".encode() if document is not None else None

    def advance(self, state: State, data: bytes) -> State | None:
        for byte in data:
            stepped = self._step(state, byte)
            if stepped is None:
                return None
            state = stepped
        return state

    def _step(self, s: State, byte: int) -> State | None:
        if s.phase == "lit":
            literal = self.literals[s.key]
            if byte != literal[s.pos]:
                # a tokenizer may open the answer with whitespace (e.g. SentencePiece's leading space)
                return s if s.key == 0 and s.pos == 0 and byte in _WHITESPACE else None
            if s.pos + 1 < len(literal):
                return replace(s, pos=s.pos + 1)
            return DONE if s.key == len(self.literals) - 1 else State("value", key=s.key)
        if s.phase == "value":
            if byte == ord("n"):
                return State("null", key=s.key, pos=1)
            return State("str", key=s.key) if byte == ord('"') else None
        if s.phase == "null":
            if byte != b"null"[s.pos]:
                return None
            return State("lit", key=s.key + 1) if s.pos == 3 else replace(s, pos=s.pos + 1)
        if s.phase == "str":
            if s.escape:
                char = _ESCAPES.get(byte)
                return None if char is None else self._extend(s, char)
            if byte == ord('"'):  # an absent value is null, never ""; a grounded one ends at a word's end
                ends = self.document is None or b" " + s.text + b" " in self.document
                return State("lit", key=s.key + 1) if s.text and ends else None
            if byte == ord("\\"):  # only where some escape can follow: a grounded value must not dead-end
                return replace(s, escape=True) if any(self._extend(s, c) for c in _ESCAPES.values()) else None
            return None if byte < 0x20 else self._extend(s, bytes([byte]))
        return None  # done: nothing may follow the closing brace

    def _extend(self, s: State, char: bytes) -> State | None:
        text = s.text + char
        if self.document is not None and b" " + text not in self.document:
            return None
        return replace(s, text=text, escape=False)


@cache
def _byte_decoder() -> dict[str, int]:
    from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode

    return {char: byte for byte, char in bytes_to_unicode().items()}


def _decoder_types(tokenizer: Any) -> set[str]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return set()
    decoder = json.loads(backend.to_str()).get("decoder") or {}
    return {decoder.get("type", "")} | {d.get("type", "") for d in decoder.get("decoders", [])}


def token_bytes(tokenizer: Any, size: int) -> list[bytes | None]:
    """Each id's bytes as it appends to a decoded text; None for special tokens and ids past the vocabulary.

    Byte-level BPE (GPT-2, Qwen, the project's tokenizer) spells bytes as printable characters;
    SentencePiece spells a space ``▁`` and unknown bytes ``<0xNN>``.
    """
    table: list[bytes | None] = [None] * size
    special = set(tokenizer.all_special_ids)
    byte_level = "ByteLevel" in _decoder_types(tokenizer)
    decoder = _byte_decoder()
    for token, i in tokenizer.get_vocab().items():
        if i >= size or i in special:
            continue
        if byte_level and all(c in decoder for c in token):
            table[i] = bytes(decoder[c] for c in token)
        elif len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
            table[i] = bytes([int(token[3:5], 16)])
        else:
            table[i] = token.replace("▁", " ").encode()
    return table


class AnswerConstraint(LogitsProcessor):
    """Keeps each row's greedy choice inside its document's answer automaton (greedy decoding only)."""

    def __init__(self, tokenizer: Any, doc_types: Sequence[str], documents: Sequence[str] | None, eos_ids: Sequence[int]):
        texts = documents if documents is not None else [None] * len(doc_types)
        self.skeletons = [Skeleton(DOC_TYPES[t], text) for t, text in zip(doc_types, texts, strict=True)]
        self.states: list[State | None] = [START] * len(doc_types)
        self.tokenizer = tokenizer
        self.table: tuple[bytes | None, ...] = ()  # built at the first call, sized to the logits
        self.eos = list(eos_ids)
        self.seen: int | None = None  # length of input_ids already fed (the prompt, at the first call)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if not self.table:
            self.table = _table(self.tokenizer, scores.shape[1])
        if self.seen is not None:
            for row, ids in enumerate(input_ids[:, self.seen :].tolist()):
                for token in ids:
                    self.states[row] = self._feed(row, token)
        self.seen = input_ids.shape[1]
        top = scores.topk(min(CANDIDATES, scores.shape[1]), dim=-1).indices.tolist()
        kept = torch.full_like(scores, float("-inf"))
        for row, state in enumerate(self.states):
            if state is None:  # left the automaton (cannot happen under this processor): unconstrained
                kept[row] = scores[row]
                continue
            choice = self._choose(row, state, top[row])
            if choice is None:
                choice = self._choose(row, state, scores[row].argsort(descending=True).tolist())
            kept[row, self.eos[0] if choice is None else choice] = 0.0
        # transformers types a logits processor's scores as torch.FloatTensor, a legacy tensor type no torch op returns
        return kept  # type: ignore[return-value]

    def _feed(self, row: int, token: int) -> State | None:
        state = self.states[row]
        if state is None or state == DONE:
            return state  # after the answer come EOS and padding
        data = self.table[token]
        return None if data is None else self.skeletons[row].advance(state, data)

    def _choose(self, row: int, state: State, candidates: Sequence[int]) -> int | None:
        if state == DONE:
            return self.eos[0]
        for token in candidates:
            data = self.table[token]
            if data and self.skeletons[row].advance(state, data) is not None:
                return token
        return None


@cache
def _table(tokenizer: Any, size: int) -> tuple[bytes | None, ...]:
    """``token_bytes``, built once per tokenizer and size (it walks the whole vocabulary)."""
    return tuple(token_bytes(tokenizer, size))


def ground_pip(
    logits: torch.Tensor, per_key: list[list[int]], doc_type: str, document: str, budgets: dict[str, int], tokenizer: Any
) -> list[list[int]]:
    """``per_key`` (each key's argmax ids) with every ungrounded value replaced by the most likely grounded one.

    ``logits`` are the document's mask logits in slot order; ``document`` the words, one line per printed
    line. Candidates are ``unknown`` and every run of the words that fits the key's budget (``Runs``); a
    candidate's score is the log-likelihood of its ids followed by padding to the end of the key's slots,
    exactly what the slots are trained to predict.
    """
    keys = DOC_TYPES[doc_type]
    padded = f" {' '.join(document.split())} "
    values = parse_pip(per_key, doc_type, tokenizer)
    todo = [i for i, key in enumerate(keys) if values[key] is not None and f" {values[key]} " not in padded]
    if not todo:
        return per_key
    pad = tokenizer.pad_token_id
    runs = Runs.of(tokenizer, document, max(budgets[keys[i]] for i in todo))
    rows, row_of, length_of = (t.to(logits.device) for t in (runs.rows, runs.row, runs.length))
    starts = [0]
    for key in keys:
        starts.append(starts[-1] + budgets[key])
    out = [list(ids) for ids in per_key]
    for i in todo:
        budget = budgets[keys[i]]
        logprobs = logits[starts[i] : starts[i] + budget].float().log_softmax(-1)  # budget x vocab
        prefix = logprobs.gather(1, rows[:, :budget].T).cumsum(0)  # [p, r]: row r's first p + 1 ids
        padding = logprobs[:, pad].flip(0).cumsum(0).flip(0)  # [p]: padding from slot p to the end
        padding = torch.cat([padding, padding.new_zeros(1)])
        fits = (length_of <= budget).nonzero().squeeze(1)
        length, row = length_of[fits], row_of[fits]
        scores = prefix[length - 1, row] + padding[length]
        best = runs.value(int(fits[int(scores.argmax())]))
        out[i] = best + [pad] * (budget - len(best))
    return out


@dataclass
class Runs:
    """Every run of a document's words up to ``width`` tokens, plus ``unknown``, as ground_pip's candidates.

    A run's value is its words joined by spaces, tokenized as a value (``pip_target_ids``). A model that
    copies from the page may instead spell a word that starts a printed line as it is printed there,
    without its leading space, so a run across a line break is a candidate twice: in that spelling too,
    with the same value. Runs are tokenized word by word (the first word as a value starts, the others
    with their leading space, or bare at a line start): for tokenizers that split at spaces before merging
    (byte-level BPE, SentencePiece) that is the run's own tokenization, and a page costs two batched calls.

    Runs that start at the same word are prefixes of one another, so they share a row: candidate ``c`` is
    spelt by the first ``length[c]`` ids of ``rows[row[c]]``, and a key scores every candidate with one
    gather and one cumulative sum over a (words x width) matrix, not one tensor per run.
    """

    rows: torch.Tensor  # R x width token ids, padded
    row: torch.Tensor  # C: the row that spells candidate c
    length: torch.Tensor  # C: how many of its ids
    spans: list[tuple[int, int] | None]  # C: words [i, j) of candidate c; None for unknown
    bare: list[list[int]]  # ids of unknown, then of each word as a value starts
    spaced: list[list[int]]  # ids of each word after a space

    @classmethod
    def of(cls, tokenizer: Any, document: str, width: int) -> Runs:
        lines = [line.split() for line in document.split("\n")]
        words = [w for line in lines for w in line]
        line_start = [k == 0 for line in lines for k in range(len(line))]
        bare = encode_all(tokenizer, [UNKNOWN, *words])
        spaced = encode_all(tokenizer, [" " + w for w in words])
        rows: list[list[int]] = [bare[0]]
        spans: list[tuple[int, int] | None] = [None]  # unknown first: it wins ties, as the slots' default
        row, length = [0], [len(bare[0])]
        for i in range(len(words)):
            value, printed = list(bare[i + 1]), list(bare[i + 1])  # the rows grow in place as the run does
            rows.append(value)
            value_row, printed_row = len(rows) - 1, None  # printed gets a row once it differs: at a line break
            for j in range(i + 1, len(words) + 1):
                if min(len(value), len(printed)) > width:
                    break
                for r, ids in ((value_row, value), (printed_row, printed)):
                    if r is not None and len(ids) <= width:
                        row.append(r)
                        length.append(len(ids))
                        spans.append((i, j))
                if j < len(words):
                    value += spaced[j]
                    if line_start[j] and printed_row is None:
                        rows.append(printed)
                        printed_row = len(rows) - 1
                    printed += bare[j + 1] if line_start[j] else spaced[j]
        pad = tokenizer.pad_token_id
        matrix = [r[:width] + [pad] * (width - len(r[:width])) for r in rows]
        return cls(torch.tensor(matrix), torch.tensor(row), torch.tensor(length), spans, bare, spaced)

    def value(self, c: int) -> list[int]:
        """Candidate ``c``'s value ids (its words joined by spaces, tokenized as a value)."""
        span = self.spans[c]
        if span is None:
            return list(self.bare[0])
        i, j = span
        return [t for ids in (self.bare[i + 1], *self.spaced[i + 1 : j]) for t in ids]
