"""Donut-style vision encoder-decoders (``VisionEncoderDecoderModel``): the page image goes to the
encoder, the prompt is the decoder's prefix.

As with Donut's task prompts (``<s_cord-v2>``), the instruction is written into the decoder after its start
token and the answer follows it. In PIP mode the slots follow the PIP instruction there and the ONE decoder
forward pass fills them, under the answer-span attention given as a float 4D ``decoder_attention_mask``.
These decoders (MBart, BART, …) take learned absolute positions that left padding would shift, so each call
runs per doc type (equal prompt lengths, no padding) and puts the results back in the documents' order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch

from benchmark.adapters.base import (
    GREEDY,
    Adapter,
    ARResult,
    Batch,
    Decoding,
    ModelSpec,
    PIPResult,
    from_pretrained,
    load_model,
    positions_or_error,
)
from benchmark.adapters.causal_lm import AR_SEPARATOR
from benchmark.data import Document
from benchmark.errors import BenchError
from benchmark.pip import attention_mask_4d, ensure_pip_tokens
from datagen.prompts import MASK, ar_instruction, pip_instruction, pip_slots

R = TypeVar("R")


class VisionEncoderDecoderAdapter(Adapter):
    name = "vision-encoder-decoder"
    reads_images = True

    def __init__(self, *args: Any, processor: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.processor = processor
        configs = (self.model.config, self.model.generation_config, self.model.config.get_text_config())
        self.start_id = next((c.decoder_start_token_id for c in configs if getattr(c, "decoder_start_token_id", None) is not None), None)
        if self.start_id is None:
            raise BenchError(f"model {self.spec.id}: the config has no decoder_start_token_id, so the decoder prompt cannot start")

    @classmethod
    def matches(cls, config: Any) -> bool:
        return getattr(config, "model_type", None) == "vision-encoder-decoder"

    @classmethod
    def load(cls, spec: ModelSpec, config: Any) -> VisionEncoderDecoderAdapter:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        processor = from_pretrained(AutoProcessor, spec, "processor")
        tokenizer = getattr(processor, "tokenizer", None)
        if tokenizer is None:
            raise BenchError(f"model {spec.id}: the processor has no tokenizer (a Donut-style model ships image processor + tokenizer)")
        model = load_model(AutoModelForImageTextToText, spec)
        added = ensure_pip_tokens(tokenizer, cls.embeddings_owner(model))
        return cls(spec, config, model, tokenizer, added, processor=processor)

    @staticmethod
    def embeddings_owner(model: Any) -> Any:
        """The module whose token embeddings grow when ``[mask]`` is added (the wrapper cannot resize them)."""
        return model.decoder

    def _images(self, docs: Sequence[Document]) -> list[Any]:
        if any(d.image is None for d in docs):
            raise BenchError("this model reads page images, but the dataset rows have none")
        return [d.image.convert("RGB") for d in docs]

    def _pixels(self, docs: Sequence[Document]) -> torch.Tensor:
        return self.processor.image_processor(self._images(docs), return_tensors="pt")["pixel_values"].to(self.model.dtype)

    def _decoder_ids(self, texts: list[str]) -> torch.Tensor:
        encoded = [[self.start_id, *self.tokenizer.encode(t, add_special_tokens=False)] if t else [self.start_id] for t in texts]
        if len({len(ids) for ids in encoded}) > 1:
            raise BenchError("decoder prompts of one batch differ in length (the adapter batches one doc type at a time)")
        return torch.tensor(encoded)

    def _inputs(self, docs: Sequence[Document], instructions: list[str], answers: list[str]) -> tuple[dict[str, Any], list[str]]:
        """Model inputs and the prompts as text, for an instruction per document and the start of its
        answer (the PIP slots; empty for AR). Donut reads the instruction in its decoder, the answer after it."""
        prompts = [i + AR_SEPARATOR + a for i, a in zip(instructions, answers, strict=True)]
        return {"pixel_values": self._pixels(docs), "decoder_input_ids": self._decoder_ids(prompts)}, prompts

    def ar_inputs(self, docs: Sequence[Document]) -> tuple[dict[str, Any], list[str]]:
        return self._inputs(docs, [ar_instruction(d.doc_type) for d in docs], [""] * len(docs))

    def pip_batch(self, docs: Sequence[Document], budgets: dict[str, dict[str, int]]) -> Batch:
        slots = [pip_slots(d.doc_type, budgets[d.doc_type], MASK) for d in docs]
        inputs, prompts = self._inputs(docs, [pip_instruction(d.doc_type) for d in docs], slots)
        expected = [sum(budgets[d.doc_type].values()) for d in docs]
        return Batch(inputs=inputs, positions=positions_or_error(inputs["decoder_input_ids"], self.mask_id, expected), prompts=prompts)

    def pip_forward(self, batch: Batch, attention: str, copy_probs: bool = False) -> list[torch.Tensor]:
        inputs = self._on_device(batch.inputs)
        ids = inputs["decoder_input_ids"]
        first = [pos[0] for pos in batch.positions]
        inputs["decoder_attention_mask"] = attention_mask_4d(torch.ones_like(ids), first, attention, self.model.dtype)
        extra = {"output_copy_probs": True} if copy_probs else {}
        out = self.model(**inputs, use_cache=False, **extra)
        per_mask = out.copy_probs if copy_probs else out.logits
        return [per_mask[b, [p - 1 for p in pos]] for b, pos in enumerate(batch.positions)]

    def unsupported(self, mode: str) -> str | None:
        from transformers import VisionEncoderDecoderModel

        if mode == "ar-static" and isinstance(self.model, VisionEncoderDecoderModel):
            # seen with transformers 4.57: the second generate call checks a cross-attention layer never filled
            return "transformers cannot reuse a static cache across generate calls of a VisionEncoderDecoderModel ('StaticLayer' has no max_batch_size)"
        return super().unsupported(mode)

    def ar(self, docs: Sequence[Document], max_new_tokens: int, decoding: Decoding = GREEDY, constraint: str = "none") -> list[ARResult]:
        ar = super().ar
        return _per_doc_type(docs, lambda group: ar(group, max_new_tokens, decoding, constraint))

    def pip(
        self,
        docs: Sequence[Document],
        budgets: dict[str, dict[str, int]],
        attention: str,
        constraint: str = "none",
        span_length: str = "trained",
    ) -> list[PIPResult]:
        pip = super().pip
        return _per_doc_type(docs, lambda group: pip(group, budgets, attention, constraint, span_length))


def _per_doc_type(docs: Sequence[Document], run: Callable[[list[Document]], list[R]]) -> list[R]:
    """``run`` on each doc type's documents (one call each), results in the order of ``docs``."""
    out: dict[int, R] = {}
    for doc_type in dict.fromkeys(d.doc_type for d in docs):
        index = [i for i, d in enumerate(docs) if d.doc_type == doc_type]
        out.update(zip(index, run([docs[i] for i in index]), strict=True))
    return [out[i] for i in range(len(docs))]
