"""``pip-bench train``: the reference AR and PIP models, small enough to train on a laptop CPU.

One file, read top to bottom like nanoGPT: the model (a small Llama built from a config, with the
project's tokenizer), the examples (built by the same prompt code the harness's ``causal-lm`` adapter
uses, so a trained model is evaluated exactly as it was trained), and the loop.

- ``--mode ar``: ``ar_prompt + "\\n"`` → the JSON answer + EOS; loss on the answer tokens only.
- ``--mode pip``: ``pip_prompt`` with every key's run of ``[mask]``; the loss is on the masks only, each
  target read from the logits one position earlier (``benchmark.pip``'s alignment) under the answer-span
  attention the harness will use. ``--pip-answer span`` (copy head only): two masks a key, trained to
  point at the value's first and last token on the document; the loss is the copy probability of the
  positions where the value is printed (any of them, when it is printed twice). ``--init`` an AR model
  first: the paper's recipe (AR base, then PIP). ``--mix-ar`` keeps a share of AR batches so the one
  model runs both modes, and its speedup is measured within one model and run.

Either way the loss is computed only where there is a label: the LM head over an 8k vocabulary is most of
a small model's cost, and most positions are prompt. Training stops at ``--steps`` or ``--time-budget``
(the learning-rate schedule follows whichever ends first) and checkpoints every few minutes, so an
interrupted run resumes where it stopped when the same command is run again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from benchmark.adapters.base import DTYPES, PIP_CONFIG_FILE
from benchmark.adapters.causal_lm import AR_SEPARATOR
from benchmark.data import Document
from benchmark.errors import BenchError, first_line
from benchmark.naming import dataset_label, portable_command
from benchmark.parallel import Processes, processes
from benchmark.pip import ATTENTION, attention_mask_4d, derive_budgets, ensure_pip_tokens, pip_answer, token_at, value_spans
from benchmark.pointer import PointerConfig, PointerForCausalLM
from datagen.build_plan import DEFAULT_TOKENIZER
from datagen.doctypes import DOC_TYPES
from datagen.io import CONFIG_FILE, write_atomic
from datagen.prompts import (
    DOCUMENT_OPEN,
    IGNORE_ID,
    MASK,
    PIP_ANSWERS,
    UNKNOWN,
    ar_prompt,
    ar_target,
    encode_all,
    pip_prompt,
    pip_target_ids,
    pip_targets,
    span_budgets,
)

CHECKPOINT_EVERY_S = 300
HEADS = ("lm", "pointer")


@dataclass
class TrainConfig:
    """Everything that decides the trained weights (hashed: a resumed run must use the same)."""

    mode: str
    dataset: str
    init: str | None = None
    add_train: tuple[str, ...] = ()  # more datasets whose train splits join the dataset's (scoring uses the dataset's split)
    train_docs: int | None = None  # only the first N training documents of each dataset (None: all), e.g. for few-shot fine-tuning
    steps: int | None = None
    time_budget_s: float | None = None
    batch_size: int = 16
    grad_accum: int = 1  # batches whose gradients add up to one optimizer step (the effective batch is their product)
    dtype: str = "float32"  # the weights' dtype; LoRA adapters stay float32 (peft's choice), the loss is float32
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 50
    weight_decay: float = 0.01
    max_len: int = 1280  # tokens; longer examples are skipped and counted
    seed: int = 0
    pip_attention: str = "bidirectional"
    pip_answer: str = "tokens"  # tokens: the masks spell the value; span: two masks point at its first and last token
    mix_ar: float = 0.0  # PIP mode: share of batches in AR format, so one model runs both modes
    head: str = "pointer"  # lm: a plain Llama; pointer: with the copy head (benchmark.pointer)
    match_length: int = 8  # pointer head: AR span copy over up to this many matched tokens (0: off)
    hidden_size: int = 256
    layers: int = 4
    heads: int = 4
    intermediate_size: int = 768
    lora: int = 0  # LoRA rank through peft, every linear layer adapted (0: all weights trained)

    def check(self) -> None:
        if self.mode not in ("ar", "pip"):
            raise BenchError(f"--mode must be ar or pip (got {self.mode})")
        if self.steps is None and self.time_budget_s is None:
            raise BenchError("give --steps N or --time-budget (e.g. 60m)")
        if (self.steps is not None and self.steps < 1) or (self.time_budget_s is not None and self.time_budget_s <= 0):
            raise BenchError("--steps and --time-budget must be positive")
        if self.train_docs is not None and self.train_docs < 1:
            raise BenchError(f"--train-docs must be at least 1 (got {self.train_docs})")
        if not 0 <= self.mix_ar < 1 or (self.mix_ar and self.mode != "pip"):
            raise BenchError("--mix-ar must be in [0, 1) and is for --mode pip")
        if self.head not in HEADS:
            raise BenchError(f"--head must be one of {', '.join(HEADS)}")
        if self.match_length < 0:
            raise BenchError("--match-length must be 0 (off) or positive")
        if self.pip_attention not in ATTENTION:
            raise BenchError(f"--pip-attention must be one of {', '.join(ATTENTION)}")
        if self.pip_answer not in PIP_ANSWERS:
            raise BenchError(f"--pip-answer must be one of {', '.join(PIP_ANSWERS)}")
        if self.lora < 0:
            raise BenchError("--lora must be 0 (train every weight) or a positive rank")
        if self.grad_accum < 1:
            raise BenchError(f"--grad-accum must be at least 1 (got {self.grad_accum})")
        if self.dtype not in DTYPES:
            raise BenchError(f"--dtype must be one of {', '.join(DTYPES)} (got {self.dtype})")
        if self.dtype == "float16" and not self.lora:
            raise BenchError(
                "--dtype float16 trains LoRA adapters only (--lora R): float16 weights updated in place underflow; use bfloat16"
            )
        if self.pip_answer == "span" and (self.mode != "pip" or self.head != "pointer"):
            raise BenchError("--pip-answer span is for --mode pip with the pointer head (a span is read from the copy head)")

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def parse_duration(text: str) -> float:
    """``90s``, ``60m``, ``1.5h`` or plain seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except (ValueError, IndexError):
        raise BenchError(f"--time-budget: expected e.g. 90s, 60m or 1.5h (got {text!r})") from None


# ----------------------------------------------------------------------------- model


def new_model(config: TrainConfig, tokenizer: Any) -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM

    llama: dict[str, Any] = {  # the config both heads share (keyword arguments of LlamaConfig)
        "vocab_size": len(tokenizer),
        "hidden_size": config.hidden_size,
        "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.layers,
        "num_attention_heads": config.heads,
        "num_key_value_heads": config.heads,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": True,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if config.head != "pointer":
        return LlamaForCausalLM(LlamaConfig(**llama))
    model = PointerForCausalLM(PointerConfig(match_length=config.match_length, **llama))
    model.set_vocabulary(tokenizer)
    return model


def load_start(config: TrainConfig, weights: bool = True) -> tuple[Any, Any, list[int]]:
    """(model, tokenizer, new token ids): ``--init`` weights, or a new model with the project's tokenizer.
    ``weights=False`` builds the model on the meta device from its config alone (no weight is read or
    allocated): what ``--dry-run`` counts.

    A model whose tokenizer has no ``[mask]`` (or no pad token) gets them the way ``pip-bench evaluate`` adds
    them (``benchmark.pip.ensure_pip_tokens``), so what is trained is what is evaluated; their embedding rows
    start at the mean of the others and are trained (with ``--lora`` too: ``new token ids``)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    source = config.init or str(DEFAULT_TOKENIZER)
    if config.init:
        _refuse_image_models(config.init)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        dtype = DTYPES[config.dtype]
        with contextlib.nullcontext() if weights else torch.device("meta"):
            if not config.init:
                model = new_model(config, tokenizer).to(dtype)
            elif weights:
                model = AutoModelForCausalLM.from_pretrained(config.init, dtype=dtype)
            else:
                model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(config.init), dtype=dtype)
    except (OSError, ValueError) as exc:
        raise BenchError(f"--init {source}: cannot load ({first_line(exc)})") from None
    if isinstance(model, PointerForCausalLM) != (config.head == "pointer"):
        raise BenchError(
            f"--init {source} is a {type(model).__name__}; pass --head {'pointer' if isinstance(model, PointerForCausalLM) else 'lm'}"
        )
    before = len(tokenizer)
    new_ids: list[int] = []
    if ensure_pip_tokens(tokenizer, model):
        new_ids = list(range(before, len(tokenizer)))
        tqdm.write(
            f"note: {source}: added {', '.join(tokenizer.convert_ids_to_tokens(new_ids))} to its tokenizer (trained from here)",
            file=sys.stderr,
        )
    return model, tokenizer, new_ids


def _refuse_image_models(init: str) -> None:
    """One line, before anything loads, for a model that reads page images: what pip-bench train cannot teach yet."""
    from benchmark.adapters import resolve
    from benchmark.adapters.base import ModelSpec, load_config

    try:
        adapter = resolve(load_config(ModelSpec(init)))
    except BenchError:
        return  # no adapter claims it: loading it as a causal LM says what is wrong
    if adapter.reads_images:
        raise BenchError(
            f"--init {init}: the {adapter.name} adapter runs it on page images; pip-bench train teaches text models only so far "
            "(training image models is issue #20's open part)"
        )


def adapted(model: Any, tokenizer: Any, new_ids: list[int], config: TrainConfig) -> Any:
    """``model`` with the run's LoRA adapters, or as it is without ``--lora``. [mask] is the one token PIP adds to a
    language: in PIP mode its embedding row is trained with the adapters."""
    if not config.lora:
        return model
    mask_id = tokenizer.convert_tokens_to_ids(MASK)
    return with_lora(model, config.lora, sorted({*new_ids, mask_id}) if config.mode == "pip" else new_ids)


def with_lora(model: Any, rank: int, new_ids: list[int]) -> Any:
    """``model`` with LoRA adapters of ``rank`` on every linear layer (peft's ``all-linear``: the attention and MLP
    projections whatever a family names them, never the output head), only they and the embedding rows of
    ``new_ids`` trainable. Why peft: the adapters, their initialisation and the merge are its job, not ours."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise BenchError('--lora needs peft: pip install -e ".[lora]"') from None
    lora = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules="all-linear", trainable_token_indices=new_ids or None)
    return get_peft_model(model, lora)


# ----------------------------------------------------------------------------- examples


@dataclass
class Example:
    ids: list[int]
    labels: list[int]  # IGNORE_ID where there is nothing to predict
    span_start: int  # first position of the bidirectional answer span (PIP); len(ids) for AR
    sources: dict[int, list[int]] = field(default_factory=dict)  # span answers: label position -> positions to point at ([]: none)


def ar_examples(tokenizer: Any, docs: Sequence[Document]) -> list[Example]:
    prompts = encode_all(tokenizer, [ar_prompt(d.doc_type, d.text) + AR_SEPARATOR for d in docs])
    answers = encode_all(tokenizer, [ar_target(_fields(d)) for d in docs])
    out = []
    for p, a in zip(prompts, answers, strict=True):
        target = [*a, tokenizer.eos_token_id]
        out.append(Example(p + target, [IGNORE_ID] * len(p) + target, len(p) + len(target)))
    return out


def pip_examples(tokenizer: Any, docs: Sequence[Document], budgets: dict[str, dict[str, int]]) -> list[Example]:
    mask_id = tokenizer.convert_tokens_to_ids(MASK)
    prompts = encode_all(tokenizer, [pip_prompt(d.doc_type, d.text, budgets[d.doc_type]) for d in docs])
    out = []
    for doc, ids in zip(docs, prompts, strict=True):
        targets, _ = pip_target_ids(pip_targets(doc.doc_type, _fields(doc)), DOC_TYPES[doc.doc_type], budgets[doc.doc_type], tokenizer)
        flat = iter(t for per_key in targets for t in per_key)
        labels = [next(flat) if i == mask_id else IGNORE_ID for i in ids]
        out.append(Example(ids, labels, ids.index(mask_id)))
    return out


def span_examples(tokenizer: Any, docs: Sequence[Document]) -> list[Example]:
    """Span answers: a present key's two masks point at the first and the last token of its value where it
    is printed (``value_spans``), or, when the words do not spell it (OCR noise), at the words the source
    links it to (``Document.printed``); its labels, those tokens, are the fallback target of a value found
    neither way, which the token loss still teaches. An absent key's first mask
    is trained not to copy at all (an empty list of sources; the harness then reads ``unknown``): a token
    target would be copied from the word ``unknown`` in the instruction. Its second mask has no label."""
    mask_id = tokenizer.convert_tokens_to_ids(MASK)
    prompts = [pip_prompt(d.doc_type, d.text, span_budgets(d.doc_type), answer="span") for d in docs]
    encoded = tokenizer(prompts, add_special_tokens=False, return_offsets_mapping=True)
    values = [v for d in docs for v in d.gold.values() if v is not None]
    value_ids = iter(encode_all(tokenizer, values))
    unknown = encode_all(tokenizer, [UNKNOWN])[0][0]
    out = []
    for doc, ids, offsets in zip(docs, encoded["input_ids"], encoded["offset_mapping"], strict=True):
        labels = [IGNORE_ID] * len(ids)
        sources: dict[int, list[int]] = {}
        masks = iter(i for i, t in enumerate(ids) if t == mask_id)
        for key in DOC_TYPES[doc.doc_type]:
            first, last = next(masks), next(masks)
            if key not in doc.gold:  # not annotated by the source: nothing to learn
                continue
            value = doc.gold[key]
            if value is None:
                labels[first], sources[first] = unknown, []
                continue
            own = next(value_ids)
            labels[first], labels[last] = own[0], own[-1]
            spans = value_spans(doc.text, value) or ([doc.printed[key]] if key in doc.printed else [])
            if spans:
                sources[first] = [token_at(offsets, len(DOCUMENT_OPEN) + a) for a, _ in spans]
                sources[last] = [token_at(offsets, len(DOCUMENT_OPEN) + b - 1, last=True) for _, b in spans]
        out.append(Example(ids, labels, ids.index(mask_id), sources))
    return out


def longest_spans(
    tokenizer: Any, examples: Sequence[Example], docs: Sequence[Document], own: dict[str, dict[str, int]] | None = None
) -> dict[str, dict[str, int]]:
    """Per doc type and key, the most tokens of a span the masks are trained to point at (``span_examples``,
    one example per document, in order), merged with what an ``--init`` model declares (``own``): the bound
    the harness reads spans within (``benchmark.pip.read_span``)."""
    mask_id = tokenizer.convert_tokens_to_ids(MASK)
    longest = {doc_type: dict(per_key) for doc_type, per_key in (own or {}).items()}
    for doc, example in zip(docs, examples, strict=True):
        masks = [i for i, t in enumerate(example.ids) if t == mask_id]
        for key, first, last in zip(DOC_TYPES[doc.doc_type], masks[::2], masks[1::2], strict=True):
            for a, b in zip(example.sources.get(first, []), example.sources.get(last, []), strict=True):
                per_key = longest.setdefault(doc.doc_type, {})
                per_key[key] = max(per_key.get(key, 0), b - a + 1)
    return {doc_type: dict(sorted(per_key.items())) for doc_type, per_key in sorted(longest.items())}


def _fields(doc: Document) -> list[dict[str, Any]]:
    return [{"key": k, "value": v, "present": v is not None} for k, v in doc.gold.items()]


def batches(examples: Sequence[Example], batch_size: int, rng: random.Random) -> list[list[Example]]:
    """One epoch of batches of similar length (little padding), in random order."""
    order = list(examples)
    rng.shuffle(order)
    chunk = batch_size * 32
    out: list[list[Example]] = []
    for i in range(0, len(order), chunk):
        part = sorted(order[i : i + chunk], key=lambda e: len(e.ids))
        out.extend(part[j : j + batch_size] for j in range(0, len(part), batch_size))
    rng.shuffle(out)
    return out


def collate(batch: Sequence[Example], pad_id: int, attention: str | None) -> dict[str, torch.Tensor]:
    """Right-padded tensors; a float 4D mask for PIP (the harness's mask), a 2D one and where each answer
    starts for AR."""
    width = max(len(e.ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_ID, dtype=torch.long)
    for row, e in enumerate(batch):
        ids[row, : len(e.ids)] = torch.tensor(e.ids)
        labels[row, : len(e.labels)] = torch.tensor(e.labels)
    padding = (torch.arange(width)[None, :] < torch.tensor([len(e.ids) for e in batch])[:, None]).long()
    positions = torch.arange(width).expand(len(batch), width)
    if attention is None:
        answer_start = torch.tensor([next(i for i, label in enumerate(e.labels) if label != IGNORE_ID) for e in batch])
        return {"input_ids": ids, "attention_mask": padding, "labels": labels, "position_ids": positions, "answer_start": answer_start}
    mask = attention_mask_4d(padding, [e.span_start for e in batch], attention, torch.float32)
    out = {"input_ids": ids, "attention_mask": mask, "labels": labels, "position_ids": positions}
    if any(e.sources for e in batch):
        # one row per label, in torch.nonzero's (row-major) order: the sources its position should point at,
        # and whether it has a list at all (an empty one: copy nothing)
        labelled = [e.sources.get(i) for e in batch for i, label in enumerate(e.labels) if label != IGNORE_ID]
        out["span_sources"] = torch.zeros((len(labelled), width), dtype=torch.bool)
        out["span_listed"] = torch.tensor([where is not None for where in labelled])
        for row, where in enumerate(labelled):
            out["span_sources"][row, where or []] = True
    return out


def shifted_loss(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of each labelled token against the logits one position earlier, LM head on those rows
    only; a span mask with a list of sources is scored on the copy probability it puts on them, or, when the
    list is empty (an absent key), on the probability of not copying at all. A peft model is unwrapped: its
    adapters sit inside the base model's own layers."""
    model = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = model.model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"]
    ).last_hidden_state
    rows, cols = torch.nonzero(batch["labels"] != IGNORE_ID, as_tuple=True)
    if not isinstance(model, PointerForCausalLM):
        return F.cross_entropy(model.lm_head(hidden[rows, cols - 1]).float(), batch["labels"][rows, cols])
    logits, copy = model.logits_at(hidden, batch["input_ids"], batch["attention_mask"], rows, cols - 1, batch.get("answer_start"))
    logits, copy = logits.float(), copy.float()  # bfloat16 weights: the loss and its log-probabilities stay float32
    loss = F.cross_entropy(logits, batch["labels"][rows, cols], reduction="none")
    if "span_sources" in batch:
        sources = batch["span_sources"]
        right = torch.where(sources.any(-1), (copy * sources).sum(-1), 1 - copy.sum(-1))
        loss = torch.where(batch["span_listed"], -right.clamp_min(1e-20).log(), loss)
    return loss.mean()


# ----------------------------------------------------------------------------- the loop


def learning_rate(config: TrainConfig, step: int, progress: float) -> float:
    """Linear warm-up, then cosine decay to ``min_lr_ratio`` over the run's progress (steps or time)."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine)


def _progress(config: TrainConfig, step: int, elapsed: float) -> float:
    parts = []
    if config.steps:
        parts.append(step / config.steps)
    if config.time_budget_s:
        parts.append(elapsed / config.time_budget_s)
    return max(parts)


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(
    config: TrainConfig,
    out: Path,
    device: str = "cpu",
    eval_docs: int = 300,
    command: str = "pip-bench train",
    eval_split: str = "validation",
    merge: bool = False,
    gradient_checkpointing: bool = False,
) -> Path:
    """Train, save a Hugging Face model directory with its card, and score it on ``eval_split``. A ``--lora`` run
    saves its peft adapter folder, or with ``merge`` the weights with the adapters folded in. Gradient
    checkpointing is not part of the config: it changes the memory a step takes, not the weights it makes."""
    from benchmark.data import load_eval_set

    config.check()
    if eval_docs > 0:  # a split that is not there must fail now, not after the training it would score
        try:
            load_eval_set(config.dataset, eval_split, limit=1)
        except BenchError as exc:
            raise BenchError(f"{str(exc).rstrip('.')}; score another split with --eval-split, or none with --eval-docs 0") from None
    procs = processes(device)  # several under torchrun / accelerate launch: each takes a share of every batch
    where = procs.device or device  # this process's own GPU in a multi-GPU run
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)  # the same in every process, so all of them draw the same batches
    model, tokenizer, new_ids = load_start(config)
    docs = load_eval_set(config.dataset, "train", limit=config.train_docs).documents
    docs += [doc for extra in config.add_train for doc in load_eval_set(extra, "train", limit=config.train_docs).documents]
    budgets = None
    streams = {"ar": _kept(ar_examples(tokenizer, docs), config.max_len)} if config.mode == "ar" or config.mix_ar > 0 else {}
    if config.mode == "pip" and config.pip_answer == "span":
        budgets = {t: span_budgets(t) for t in sorted({d.doc_type for d in docs})}
        examples = span_examples(tokenizer, docs)
        model.config.pip_span_lengths = longest_spans(tokenizer, examples, docs, getattr(model.config, "pip_span_lengths", None))
        streams["pip"] = _kept(examples, config.max_len)
        _report_unprinted(streams["pip"], docs)
    elif config.mode == "pip":  # an AR --init declares no budgets; a token-answer PIP --init keeps its own
        own = getattr(model.config, "pip_budgets", None) if pip_answer(model.config) == "tokens" else None
        budgets = own or derive_budgets(tokenizer, docs)
        streams["pip"] = _kept(pip_examples(tokenizer, docs, budgets), config.max_len)
    if config.mode == "pip" and isinstance(model, PointerForCausalLM):
        model.config.span_copy = config.pip_answer == "tokens"  # a span's two masks each point on their own

    if gradient_checkpointing:  # activations recomputed in the backward pass instead of kept: less memory, more time
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = adapted(model, tokenizer, new_ids, config)
    model.to(where).train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.dim() >= 2]
    no_decay = [p for p in trainable if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=config.lr
    )

    checkpoint = out / ".train" / f"checkpoint-{config.digest()}.pt"
    step, elapsed, tokens, losses = 0, 0.0, 0, []
    epochs: dict[str, list[list[Example]]] = {name: [] for name in streams}
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, elapsed, tokens, losses = state["step"], state["elapsed"], state["tokens"], state["losses"]
        rng.setstate(state["rng"])
        epochs = {name: [[streams[name][i] for i in batch] for batch in left] for name, left in state["epochs"].items()}
        tqdm.write(f"resuming from step {step} ({elapsed / 60:.1f} min trained)", file=sys.stderr)
    loss_of = procs.wrap(_Loss(model))

    start, last_save = time.perf_counter() - elapsed, time.perf_counter()
    bar = tqdm(desc=f"train {config.mode}", unit="step", initial=step, total=config.steps, disable=not procs.main)
    while _progress(config, step, elapsed) < 1.0:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step, _progress(config, step, elapsed))
        optimizer.zero_grad(set_to_none=True)
        loss = 0.0
        for _ in range(config.grad_accum):  # each batch's mean loss, their gradients summed over grad_accum batches
            name = "ar" if config.mode == "ar" or rng.random() < config.mix_ar else "pip"
            if not epochs[name]:
                epochs[name] = batches(streams[name], config.batch_size, rng)
            attention = config.pip_attention if name == "pip" else None
            rows, weight = _share(epochs[name].pop(), procs)
            batch = {k: v.to(where) for k, v in collate(rows, tokenizer.pad_token_id, attention).items()}
            part = loss_of(batch) * weight / config.grad_accum
            part.backward()
            loss += part.item()
            tokens += int(batch["input_ids"].numel())
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        step += 1
        losses.append(round(procs.total(loss) / procs.count, 4))  # the whole batch's loss, as one process has it
        elapsed = procs.first(time.perf_counter() - start)
        bar.update(1)
        bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}", tok_s=f"{tokens / elapsed:.0f}", min=f"{elapsed / 60:.1f}")
        if procs.main and time.perf_counter() - last_save > CHECKPOINT_EVERY_S:
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "rng": rng.getstate()}
            state["epochs"] = _batch_indices(epochs, streams)  # the epochs' remaining order: a resumed run goes on as this one
            _save_checkpoint(checkpoint, {**state, "step": step, "elapsed": elapsed, "tokens": tokens, "losses": losses})
            last_save = time.perf_counter()
    bar.close()
    tokens = int(procs.total(tokens))

    if config.lora and merge:  # the adapters folded into the weights: a plain model folder, evaluated like any other
        model = model.merge_and_unload()
    summary = {
        "parameters": sum(p.numel() for p in model.parameters()),
        "trained_parameters": sum(p.numel() for p in trainable),
        "lora_saved": "merged into the weights"
        if merge
        else "saved as a peft adapter folder, loaded on its base model by `pip-bench evaluate`",
        "architecture": {
            k: getattr(model.config, k) for k in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
        },
        "steps": step,
        "processes": procs.count,
        "minutes": round(elapsed / 60, 1),
        "tokens": tokens,
        "tokens_per_s": round(tokens / max(elapsed, 1e-9)),
        "examples": {name: len(stream) for name, stream in streams.items()},
        "final_loss": _mean_tail(losses),
        "memory": peak_memory(torch.device(where)),
    }
    if procs.main:
        tqdm.write(f"trained: {summary['minutes']} min, {summary['tokens_per_s']:,} tokens/s, {summary['memory']}", file=sys.stderr)
        _save_model(model, tokenizer, config, budgets, out)
    procs.wait()  # saved before any process loads it to validate
    scores = _validate(out, config, eval_docs, device, eval_split, streams.get("ar", []))  # data parallel too
    if procs.main:
        _write_card(out, config, summary, scores, command, device, eval_split)
        checkpoint.unlink(missing_ok=True)
    return out


def peak_memory(device: torch.device) -> str:
    """What the run held at its peak, for the log and the card: the process's resident memory and, on CUDA, the
    most the allocator held on the device (what ``--dry-run`` estimates, plus activations). In a data-parallel run,
    the first process's."""
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    shown = f"peak resident memory {rss:.2f} GiB"
    if device.type == "cuda":
        shown += f", peak GPU memory allocated {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB"
    return shown


class _Loss(torch.nn.Module):
    """The model and its loss as one module. Why: a data-parallel wrapper (DDP) averages the gradients of what
    runs through its forward, and the loss reads the model's hidden states and heads, not its ``forward``."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return shifted_loss(self.model, batch)


def _share(batch: list[Example], procs: Processes) -> tuple[list[Example], float]:
    """This process's rows of a batch, and the weight of their mean loss. Why a weight: each process averages
    over its own labelled tokens, DDP averages the processes' gradients, and the weights (labelled tokens of the
    share x processes / labelled tokens of the batch) make that the gradient of the whole batch's mean, as one
    process computes it. A process left without a row (a batch smaller than the processes) still runs the step,
    on one row weighed zero, since every process must join each gradient average."""
    if procs.count == 1:
        return batch, 1.0
    rows = procs.share(batch)
    if not rows:
        return batch[:1], 0.0

    def labelled(examples: Sequence[Example]) -> int:
        return sum(label != IGNORE_ID for e in examples for label in e.labels)

    return rows, labelled(rows) * procs.count / labelled(batch)


def _batch_indices(epochs: dict[str, list[list[Example]]], streams: dict[str, list[Example]]) -> dict[str, list[list[int]]]:
    """Each stream's batches still to run, as positions in the stream: what a checkpoint stores so that when and
    whether a run checkpoints (every few minutes of wall clock) never changes which batch comes next."""
    where = {name: {id(example): i for i, example in enumerate(stream)} for name, stream in streams.items()}
    return {name: [[where[name][id(e)] for e in batch] for batch in left] for name, left in epochs.items()}


def _report_unprinted(examples: Sequence[Example], docs: Sequence[Document]) -> None:
    """Say how many present values are not printed as a run of whole words (trained on their tokens only)."""
    present = sum(v is not None for d in docs for v in d.gold.values())
    pointed = sum(bool(where) for e in examples for where in e.sources.values()) // 2  # a value has two masks
    tqdm.write(f"span answers: {pointed} of {present} present values are printed as a run of words to point at", file=sys.stderr)


def _kept(examples: list[Example], max_len: int) -> list[Example]:
    kept = [e for e in examples if len(e.ids) <= max_len]
    if not kept:
        raise BenchError(f"every training example is longer than --max-len {max_len}")
    if len(kept) < len(examples):
        tqdm.write(f"note: {len(examples) - len(kept)} of {len(examples)} examples longer than {max_len} tokens skipped", file=sys.stderr)
    return kept


def _mean_tail(losses: list[float], n: int = 50) -> float | None:
    tail = losses[-n:]
    return round(sum(tail) / len(tail), 4) if tail else None


def _save_model(model: Any, tokenizer: Any, config: TrainConfig, budgets: dict[str, dict[str, int]] | None, out: Path) -> None:
    """A plain Hugging Face directory, float32 weights stored in float16 (half the size; evaluated in float32)
    and bfloat16 ones as they are (their range overflows float16); or, for a peft model, its adapter folder: the
    adapters, the tokenizer, and the PIP settings its base config lacks."""
    model.eval()
    pip = {"pip_budgets": budgets, "pip_attention": config.pip_attention, "pip_answer": config.pip_answer} if config.mode == "pip" else {}
    if hasattr(model, "peft_config"):
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        write_atomic(out / PIP_CONFIG_FILE, json.dumps(pip, indent=1).encode())
        return
    for key, value in pip.items():
        setattr(model.config, key, value)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.to("cpu", torch.float16 if config.dtype == "float32" else DTYPES[config.dtype]).save_pretrained(out)
    model.to(torch.float32)
    tokenizer.save_pretrained(out)


def answer_cap(examples: Sequence[Example]) -> int | None:
    """The AR generation limit of the validation: the longest trained answer (EOS included) plus a quarter.

    Why: a model that is barely trained (``--steps 5``, a smoke run) never emits EOS and generates to the harness's
    limit (512 tokens), which took 6 of a 7.7-minute run. No answer it was taught is longer than the longest trained
    one, so one that runs a quarter past it is wrong however it ends; a trained model stops well before.
    """
    lengths = [sum(label != IGNORE_ID for label in e.labels) for e in examples]
    return math.ceil(1.25 * max(lengths)) if lengths else None


def _validate(out: Path, config: TrainConfig, limit: int, device: str, split: str, ar_trained: Sequence[Example]) -> dict[str, Any] | None:
    """Field scores on the first ``limit`` documents of ``split``, with the harness itself (AR answers cut at the
    ``answer_cap`` of the AR examples trained on)."""
    if limit <= 0:
        return None
    from benchmark.adapters.base import ModelSpec
    from benchmark.evaluate import EvalConfig, evaluate

    modes = ["ar", "pip"] if config.mix_ar > 0 else [config.mode]
    eval_config = EvalConfig(modes=modes, timing_docs=0, pip_attention=config.pip_attention)
    cap = answer_cap(ar_trained)
    if cap is not None:
        eval_config.max_new_tokens = min(cap, eval_config.max_new_tokens)
    path = evaluate(ModelSpec(str(out), device=device), config.dataset, out / ".train" / "eval", eval_config, split=split, limit=limit)
    if path is None:  # not the first of several processes: that one reports the validation
        return None
    results = json.loads(path.read_text())["modes"]
    return {mode: _summary(r) | ({"max_new_tokens": eval_config.max_new_tokens} if mode == "ar" else {}) for mode, r in results.items()}


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    by_type = {t: m["f1"] for t, m in result["by_doc_type"].items()}
    return {"documents": result["num_documents"], "f1": result["metrics"]["f1"], "anls": result["metrics"]["anls"], "by_doc_type": by_type}


def _provenance(dataset: Path) -> list[str]:
    """How the training data was built, when it is a local datagen build (so the card alone reproduces it)."""
    try:
        state = json.loads((dataset / CONFIG_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return []
    return [
        f"- dataset built with `{portable_command(state['command'])}` (datagen {state['generator_version']}, config {state['config_hash']})"
    ]


def _architecture(config: TrainConfig) -> str:
    if config.head == "pointer":
        return "Llama with a copy (pointer) head (`benchmark.pointer`; `import benchmark.pointer` registers it with `AutoModelForCausalLM`)"
    return "Llama"


def _answer_form(config: TrainConfig) -> str:
    if config.mode == "ar":
        return "autoregressive JSON"
    if config.pip_answer == "span":
        return "ONE forward pass over a masked prompt (PIP), two masks a key pointing at the value's first and last token on the document (span answers)"
    return "ONE forward pass over a masked prompt (PIP)"


def _processes(count: int) -> str:
    return f" x {count} processes (data parallel, each a share of every batch)" if count > 1 else ""


def _write_card(
    out: Path, config: TrainConfig, summary: dict[str, Any], scores: dict[str, Any] | None, command: str, device: str, split: str
) -> None:
    import platform

    import transformers

    from benchmark import __version__

    # a card ships with the weights: it names folders, never the paths of the machine that trained them
    dataset = dataset_label(config.dataset)
    added = [dataset_label(extra) for extra in config.add_train]
    shown = {**asdict(config), "dataset": dataset, "add_train": added, "init": portable_command(config.init) if config.init else None}
    lines = [
        "---",
        "library_name: transformers",
        "license: apache-2.0",
        "pipeline_tag: text-generation",
        "tags: [key-information-extraction, pip, parallel-decoding, synthetic-data]",
        "---",
        f"# pip-kie reference {config.mode.upper()} model",
        "",
        f"A {summary['parameters'] / 1e6:.1f}M-parameter {_architecture(config)} trained by `pip-bench train` (pip-kie {__version__}) to extract "
        f"every field of a document from its words in {_answer_form(config)}.",
        "",
        "## How it was trained",
        "",
        f"```\n{portable_command(command)}\n```",
        "",
        f"- dataset: `{dataset}`{''.join(f' + `{a}`' for a in added)} (train split{'s' if added else ''}); examples: "
        + ", ".join(f"{n} {k}" for k, n in summary["examples"].items()),
        f"- {summary['steps']} steps in {summary['minutes']} min on {device}{_processes(summary['processes'])} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), "
        f"{summary['tokens']} tokens ({summary['tokens_per_s']:,} tokens/s), final loss {summary['final_loss']}",
        f"- memory: {summary['memory']}",
        *[line for source in (config.dataset, *config.add_train) for line in _provenance(Path(source))],
        f"- architecture (the model's own config; with `--init` the size options below are unused): {summary['architecture']}",
        f"- trained parameters: {summary['trained_parameters']:,} of {summary['parameters']:,}"
        + (f" (LoRA rank {config.lora} on every linear layer through peft, {summary['lora_saved']})" if config.lora else ""),
        f"- torch {torch.__version__}, transformers {transformers.__version__}",
        f"- config: `{json.dumps(shown)}`",
        "",
        f"## Scores ({split} split, `pip-bench` harness)",
        "",
    ]
    for mode, s in (scores or {}).items():
        by_type = ", ".join(f"{t} {f:.4f}" for t, f in s["by_doc_type"].items())
        cut = f" (answers cut at {s['max_new_tokens']} tokens, the longest trained answer + 25%)" if "max_new_tokens" in s else ""
        lines.append(
            f"- {mode.upper()} mode, {s['documents']} documents{cut}: field F1 {s['f1']:.4f}, ANLS {s['anls']:.4f}; "
            f"F1 by doc type: {by_type}"
        )
    if not scores:
        lines.append("Not scored (`--eval-docs 0`).")
    lines += ["", f"Evaluate it: `pip-bench evaluate {out.name} --dataset {dataset} --modes {','.join(scores or [config.mode])}`", ""]
    write_atomic(out / "README.md", "\n".join(lines).encode())
