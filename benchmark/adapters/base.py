"""What every model adapter provides, and the loading steps they share.

An adapter turns documents into model inputs for one model family and runs the two inference modes:
``ar`` (greedy ``generate`` with the KV cache, decoded as a ``Decoding`` says: the AR modes differ only in
speed) and ``pip`` (one forward pass over a masked prompt). The
evaluation loop (``benchmark.evaluate``) only talks to this interface, so adding a family is one file
in this package plus its entry in the registry (``benchmark.adapters``).
"""

from __future__ import annotations

import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors import SafetensorError
from transformers import LogitsProcessorList

from benchmark.constrain import AnswerConstraint, ground_pip
from benchmark.data import Document, Values
from benchmark.errors import BenchError, first_line
from benchmark.naming import model_label
from benchmark.pip import (
    attention_mask_4d,
    logit_positions,
    pip_answer,
    position_ids,
    read_span,
    slot_positions,
    split_slots,
    token_spacing,
    whole_words,
)
from datagen.doctypes import DOC_TYPES
from datagen.prompts import DOCUMENT_CLOSE, PIP_ANSWERS, SPAN_SLOTS, UNKNOWN, parse_pip

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class ModelSpec:
    """How the user asked for the model (the command line's model options)."""

    id: str
    revision: str | None = None
    device: str = "cpu"
    dtype: str = "float32"
    trust_remote_code: bool = False


@dataclass(frozen=True)
class Decoding:
    """How ``Adapter.ar`` calls ``generate``. Every setting keeps greedy decoding exact, so all give the same
    answer and differ only in speed: the AR modes of ``benchmark.evaluate`` are these settings."""

    cache_implementation: str | None = None  # None: the dynamic KV cache; "static": preallocated, what torch.compile needs
    lookup_tokens: int | None = None  # prompt-lookup decoding: tokens proposed per step from an n-gram match in the prompt
    compile: bool = False  # torch.compile the decode step (transformers does it with a static cache)
    assistant: Any = None  # assisted decoding: the draft model that proposes tokens (same vocabulary as the model)

    @property
    def assisted(self) -> bool:
        """Whether tokens are proposed and checked in one pass (prompt lookup or a draft model): transformers
        then takes one sequence a call, and a copy-head model is told where the answer starts."""
        return bool(self.lookup_tokens) or self.assistant is not None


GREEDY = Decoding()  # plain greedy ``generate``: the dynamic KV cache, eager


@dataclass
class ARResult:
    prompt: str
    output: str  # the decoded generation, special tokens removed
    new_tokens: int  # tokens generated, EOS included
    forward_passes: int | None = None  # the model's calls, counted with assisted decoding (else one a token)


@dataclass
class PIPResult:
    prompt: str
    output: str  # the predicted slot tokens as decoded, padding included, one line per key
    values: Values
    slots: int  # mask tokens filled in the one forward pass


@dataclass
class Batch:
    """Model inputs of one PIP batch and where its masks are."""

    inputs: dict[str, Any]
    positions: list[list[int]]
    prompts: list[str] = field(default_factory=list)


def local_path(model_id: str) -> Path | None:
    """The directory a model id names on disk; an id that looks like a path but is missing is an error."""
    path = Path(model_id).expanduser()
    if path.is_dir():
        return path
    if model_id.startswith((".", "/", "~")) or model_id.count("/") > 1:
        raise BenchError(f"model {model_id}: no such directory")
    return None


def model_sha(spec: ModelSpec, config: Any) -> str:
    """The Hub commit of a downloaded model, or a sha256 over a local model directory's files."""
    path = local_path(spec.id)
    if path is None:
        return getattr(config, "_commit_hash", None) or f"unresolved:{spec.revision or 'main'}"
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with file.open("rb") as fh:
            for chunk in iter(partial(fh.read, 1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


# A LoRA run of ``pip-bench train`` without ``--merge`` saves a peft adapter folder: the adapters, the tokenizer (with
# its [mask]) and, in this file, what the harness reads off a PIP model's config (budgets, answer form, attention).
PIP_CONFIG_FILE = "pip_config.json"


def adapter_base(spec: ModelSpec) -> str | None:
    """The base model a peft adapter folder was trained on (``adapter_config.json``), or None for a model folder."""
    path = local_path(spec.id)
    if path is None or (path / "config.json").is_file() or not (path / "adapter_config.json").is_file():
        return None
    config = path / "adapter_config.json"
    try:
        return str(json.loads(config.read_text())["base_model_name_or_path"])
    except (OSError, ValueError, KeyError) as exc:
        raise BenchError(f"model {spec.id}: adapter_config.json names no base model ({first_line(exc)})") from None


def load_config(spec: ModelSpec) -> Any:
    from transformers import AutoConfig

    folder = local_path(spec.id)
    base = adapter_base(spec)
    if folder is not None and base is not None:  # the base model's config, with the PIP settings the adapters were trained for
        config = load_config(ModelSpec(base, trust_remote_code=spec.trust_remote_code))
        pip_file = folder / PIP_CONFIG_FILE
        try:
            settings = json.loads(pip_file.read_text()) if pip_file.is_file() else {}
        except (OSError, ValueError) as exc:
            raise BenchError(f"{pip_file}: not the PIP settings pip-bench train writes ({first_line(exc)})") from None
        for key, value in settings.items():
            setattr(config, key, value)
        return config
    try:
        return AutoConfig.from_pretrained(spec.id, revision=spec.revision, trust_remote_code=spec.trust_remote_code)
    except ValueError as exc:  # e.g. custom code without --trust-remote-code
        raise BenchError(f"model {spec.id}: {first_line(exc)}") from None
    except OSError as exc:
        raise BenchError(
            f"model {spec.id}: cannot load its config (unknown Hub id, no network, or not a model directory): {first_line(exc)}"
        ) from None


def from_pretrained(auto_class: Any, spec: ModelSpec, what: str, **kwargs: Any) -> Any:
    """``auto_class.from_pretrained`` with the user's revision and remote-code choice; errors as one line."""
    try:
        return auto_class.from_pretrained(spec.id, revision=spec.revision, trust_remote_code=spec.trust_remote_code, **kwargs)
    except (OSError, ValueError, ImportError, SafetensorError) as exc:  # SafetensorError: truncated or damaged weights
        raise BenchError(f"model {spec.id}: cannot load the {what}: {first_line(exc)}") from None


def load_model(auto_class: Any, spec: ModelSpec, tokenizer: Any = None) -> Any:
    """The model in the user's dtype, on the user's device, in eval mode. A peft adapter folder is loaded on its
    base model (its embeddings grown to the folder's tokenizer) and merged: the modes then time one plain model."""
    if spec.dtype not in DTYPES:
        raise BenchError(f"--dtype must be one of {', '.join(DTYPES)} (got {spec.dtype})")
    base = adapter_base(spec)
    if base is None:
        model = from_pretrained(auto_class, spec, "weights", dtype=DTYPES[spec.dtype])
    else:
        model = from_pretrained(
            auto_class, ModelSpec(base, trust_remote_code=spec.trust_remote_code), "base weights", dtype=DTYPES[spec.dtype]
        )
        model = _merged_adapter(model, spec, tokenizer)
    try:
        model.to(spec.device)
    except (RuntimeError, AssertionError) as exc:
        raise BenchError(f"device {spec.device}: {first_line(exc)}") from None
    return model.eval()


def _merged_adapter(model: Any, spec: ModelSpec, tokenizer: Any) -> Any:
    try:
        from peft import PeftModel
    except ImportError:
        raise BenchError(f'model {spec.id} is a peft adapter folder: pip install -e ".[lora]"') from None
    if tokenizer is not None and len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)  # the trained rows come with the adapter
    try:
        return PeftModel.from_pretrained(model, spec.id).merge_and_unload()
    except (OSError, ValueError, RuntimeError) as exc:
        raise BenchError(f"model {spec.id}: cannot load the adapter on its base model: {first_line(exc)}") from None


class Adapter(ABC):
    """One model family. Subclasses set ``name`` and implement input encoding; the modes live here."""

    name: ClassVar[str]
    reads_images: ClassVar[bool] = False  # the model reads the page image (the documents are loaded with theirs)

    def __init__(self, spec: ModelSpec, config: Any, model: Any, tokenizer: Any, mask_token_added: bool):
        self.spec, self.config, self.model, self.tokenizer = spec, config, model, tokenizer
        self.mask_token_added = mask_token_added
        self.mask_id: int = tokenizer.convert_tokens_to_ids("[mask]")
        self._forward_args = set(inspect.signature(model.forward).parameters)

    # -- what a family provides ------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def matches(cls, config: Any) -> bool:
        """Whether this adapter runs models with this config (the registry asks in order)."""

    @classmethod
    @abstractmethod
    def load(cls, spec: ModelSpec, config: Any) -> Adapter: ...

    @abstractmethod
    def ar_inputs(self, docs: Sequence[Document]) -> tuple[dict[str, Any], list[str]]:
        """Left-padded generation inputs and the prompts as text."""

    @abstractmethod
    def pip_batch(self, docs: Sequence[Document], budgets: dict[str, dict[str, int]]) -> Batch:
        """Left-padded inputs of the masked prompts and the mask positions of each row.

        Left padding puts the slots of every document of one doc type at the same positions, so the
        LM head runs on few positions (``logit_positions``) however large the batch.
        """

    def unsupported(self, mode: str) -> str | None:
        """Why this model cannot run ``mode``, or None when it can."""
        if mode == "ar-lookup" and self.reads_images:
            return (
                "prompt lookup proposes n-grams of the prompt's tokens, and an image model's prompt holds the instruction, "
                "not the document's words (transformers' assisted generation also fails on some, e.g. Idefics3)"
            )
        if mode == "ar-draft" and (self.reads_images or self.model.config.is_encoder_decoder):
            return "a draft model proposes tokens from the prompt's tokens alone; pip-bench runs ar-draft for decoder-only text models"
        if mode == "pip" and getattr(self.model.config, "_attn_implementation", None) == "flash_attention_2":
            return "flash_attention_2 takes no custom 4D attention mask; load the model with sdpa or eager attention"
        if mode == "pip" and self.pip_answer() not in PIP_ANSWERS:
            return f"config.pip_answer must be one of {', '.join(PIP_ANSWERS)} (got {self.pip_answer()!r})"
        if mode == "pip" and self.pip_answer() == "span" and "output_copy_probs" not in self._forward_args:
            return "config.pip_answer is span, but the model's forward returns no copy_probs to read spans from"
        return None

    def pip_budgets(self) -> dict[str, dict[str, int]] | None:
        """Budgets the model was trained with (``config.pip_budgets``), which then take precedence."""
        return getattr(self.config, "pip_budgets", None)

    def pip_answer(self) -> str:
        """How the model reads its masks (``benchmark.pip.pip_answer``): ``tokens`` or ``span`` (a copy-head model)."""
        return pip_answer(self.config)

    # -- the modes ---------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def accepted(self, encoded: Any) -> dict[str, Any]:
        """The tokenizer/processor outputs the model's ``forward`` takes (drops e.g. ``token_type_ids``)."""
        return {k: v for k, v in encoded.items() if k in self._forward_args}

    def _on_device(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}

    @torch.inference_mode()
    def ar(self, docs: Sequence[Document], max_new_tokens: int, decoding: Decoding = GREEDY, constraint: str = "none") -> list[ARResult]:
        """Greedy generation as ``decoding`` says; ``constraint`` (``benchmark.constrain``) may force the answer's
        JSON skeleton. Prompt lookup and a draft model run one document at a time: transformers' assisted
        generation takes one sequence a call."""
        if decoding.assisted and len(docs) > 1:
            return [result for doc in docs for result in self.ar([doc], max_new_tokens, decoding, constraint)]
        inputs, prompts = self.ar_inputs(docs)
        inputs = self._on_device(inputs)
        # an encoder-decoder's output continues its decoder prompt
        prompt_ids = inputs["decoder_input_ids"] if "decoder_input_ids" in inputs else inputs["input_ids"]
        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        extra: dict[str, Any] = {"disable_compile": not decoding.compile}
        if decoding.cache_implementation:
            extra["cache_implementation"] = decoding.cache_implementation
        if decoding.lookup_tokens:
            extra["prompt_lookup_num_tokens"] = decoding.lookup_tokens
        if decoding.assistant is not None:
            extra["assistant_model"] = decoding.assistant
        if decoding.assisted and "answer_start" in self._forward_args:
            # a copy-head model (benchmark.pointer) gets the prompt and the first proposals in one call: where the answer starts
            extra["answer_start"] = torch.full((len(docs),), prompt_ids.shape[1], device=self.device)
        if constraint != "none":
            if not eos_ids:
                raise BenchError(
                    f"model {self.spec.id}: --ar-constraint needs an EOS token to end the answer, and the generation config has none"
                )
            texts = [d.text for d in docs] if constraint == "grounded" else None
            extra["logits_processor"] = LogitsProcessorList(
                [AnswerConstraint(self.tokenizer, [d.doc_type for d in docs], texts, sorted(eos_ids))]
            )
        calls = [0]  # the model's forward passes, which assisted decoding makes fewer than tokens (else one a token: not counted)
        counting = self.model.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1)) if decoding.assisted else None
        try:
            out = self.model.generate(  # the pad token exists: ensure_pip_tokens adds one where the tokenizer had none
                **inputs,
                do_sample=False,
                max_new_tokens=max_new_tokens,
                use_cache=True,
                pad_token_id=self.tokenizer.pad_token_id,
                num_beams=1,
                **extra,
            )
        finally:
            if counting is not None:
                counting.remove()
        new = out[:, prompt_ids.shape[1] : prompt_ids.shape[1] + max_new_tokens]  # prompt lookup may accept proposals past the limit
        passes = calls[0] if counting is not None else None
        results = []
        for prompt, row in zip(prompts, new.tolist(), strict=True):
            n = next((i + 1 for i, t in enumerate(row) if t in eos_ids), len(row))
            text = self.tokenizer.decode(row[:n], skip_special_tokens=True)
            results.append(ARResult(prompt=prompt, output=text, new_tokens=n, forward_passes=passes))
        return results

    def pip_forward(self, batch: Batch, attention: str, copy_probs: bool = False) -> list[torch.Tensor]:
        """The one forward pass: per row, the logits that fill its masks (one row of logits per mask), or
        with ``copy_probs`` each mask's probabilities of copying each source (what a span answer reads)."""
        inputs = self._on_device(batch.inputs)
        padding = inputs["attention_mask"]
        inputs.setdefault("position_ids", position_ids(padding))
        inputs["attention_mask"] = attention_mask_4d(padding, [pos[0] for pos in batch.positions], attention, self.model.dtype)
        wanted, rows = logit_positions(batch.positions)
        extra = {"output_copy_probs": True} if copy_probs else {}
        if "logits_to_keep" in self._forward_args:
            out = self.model(**inputs, use_cache=False, logits_to_keep=torch.tensor(wanted, device=self.device), **extra)
        else:
            out, rows = self.model(**inputs, use_cache=False, **extra), [[p - 1 for p in pos] for pos in batch.positions]
        per_mask = out.copy_probs if copy_probs else out.logits
        return [per_mask[b, index] for b, index in enumerate(rows)]

    @torch.inference_mode()
    def pip(
        self,
        docs: Sequence[Document],
        budgets: dict[str, dict[str, int]],
        attention: str,
        constraint: str = "none",
        span_length: str = "trained",
    ) -> list[PIPResult]:
        """One forward pass; ``constraint="grounded"`` then keeps every value a run of the words (``ground_pip``).
        A span answer is read from the prompt already, so it takes no constraint; ``span_length="trained"``
        reads it within the key's longest training value (``config.pip_span_lengths``), ``"any"`` unbounded."""
        batch = self.pip_batch(docs, budgets)
        if self.pip_answer() == "span":
            if constraint != "none":
                raise BenchError(f"a span answer takes no PIP constraint (got {constraint!r})")
            lengths = (getattr(self.model.config, "pip_span_lengths", None) or {}) if span_length == "trained" else {}
            return self._pip_spans(docs, batch, attention, lengths)
        results = []
        for doc, prompt, logits in zip(docs, batch.prompts, self.pip_forward(batch, attention), strict=True):
            per_key = split_slots(logits.argmax(-1).tolist(), doc.doc_type, budgets[doc.doc_type])
            if constraint == "grounded":
                per_key = ground_pip(logits, per_key, doc.doc_type, doc.text, budgets[doc.doc_type], self.tokenizer)
            values = parse_pip(per_key, doc.doc_type, self.tokenizer)
            raw = [f"{k}: {self.tokenizer.decode(ids)}" for k, ids in zip(DOC_TYPES[doc.doc_type], per_key, strict=True)]
            results.append(PIPResult(prompt=prompt, output="\n".join(raw), values=values, slots=sum(map(len, per_key))))
        return results

    def _pip_spans(self, docs: Sequence[Document], batch: Batch, attention: str, lengths: dict[str, dict[str, int]]) -> list[PIPResult]:
        """Each key's value read from its two masks: the document's tokens from the first to the last one they
        point at, at most ``lengths[doc_type][key]`` tokens where given."""
        results = []
        for row, (doc, prompt, copy) in enumerate(
            zip(docs, batch.prompts, self.pip_forward(batch, attention, copy_probs=True), strict=True)
        ):
            ids = batch.inputs["input_ids"][row].tolist()
            limit = self._document_end(ids, batch.positions[row][0])
            values: Values = {}
            for i, key in enumerate(DOC_TYPES[doc.doc_type]):
                longest = lengths.get(doc.doc_type, {}).get(key)
                span = read_span(copy[SPAN_SLOTS * i], copy[SPAN_SLOTS * i + 1], limit, longest)
                if span is not None and self._spacing is not None:
                    span = whole_words(span, ids, self._spacing, limit)
                text = "" if span is None else " ".join(self.tokenizer.decode(ids[span[0] : span[1] + 1]).split())
                values[key] = text or None
            raw = "\n".join(f"{key}: {UNKNOWN if value is None else value}" for key, value in values.items())
            results.append(PIPResult(prompt=prompt, output=raw, values=values, slots=len(copy)))
        return results

    @cached_property
    def _spacing(self) -> tuple[list[bool], list[bool]] | None:
        return token_spacing(self.tokenizer)

    @cached_property
    def _close_ids(self) -> list[int]:
        return self.tokenizer(DOCUMENT_CLOSE, add_special_tokens=False)["input_ids"]

    def _document_end(self, ids: list[int], before: int) -> int | None:
        """The position where ``</document>`` starts in a row (its last occurrence before the first mask), so
        that spans are read from the document only; None when the tokenizer splits it otherwise in context."""
        close = self._close_ids
        n = len(close)
        for at in range(before - n, -1, -1):
            if ids[at : at + n] == close:
                return at
        return None

    def info(self) -> dict[str, Any]:
        """The model as results record it: named without the machine's paths (``benchmark.naming``)."""
        sha = model_sha(self.spec, self.config)
        return {
            "id": model_label(self.spec.id, self.spec.revision, sha, local=local_path(self.spec.id) is not None),
            "revision": self.spec.revision,
            "sha": sha,
            "adapter": self.name,
            "family": getattr(self.config, "model_type", "unknown"),
            "dtype": self.spec.dtype,
            "num_parameters": sum(p.numel() for p in self.model.parameters()),
            "mask_token_added": self.mask_token_added,
            "trust_remote_code": self.spec.trust_remote_code,
            "pip_answer": self.pip_answer(),
        }


def positions_or_error(input_ids: torch.Tensor, mask_id: int, expected: Sequence[int]) -> list[list[int]]:
    """Mask positions per row, checked against the budgets: a tokenizer that splits ``[mask]`` is a bug."""
    positions = slot_positions(input_ids, mask_id)
    for pos, n in zip(positions, expected, strict=True):
        if len(pos) != n:
            raise BenchError(f"the tokenizer turned {n} [mask] slots into {len(pos)} mask tokens; is [mask] a special token?")
    return positions
