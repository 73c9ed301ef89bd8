"""Any ``AutoModelForImageTextToText`` reading the page image (the OCR-free setting).

The user turn is the image plus the instruction, through the processor's chat template (the dataset's
chat format); in PIP mode the slots open the assistant turn. Processor outputs the model's ``forward``
does not take (e.g. ``mm_token_type_ids`` on versions that do not use it) are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmark.adapters.base import Adapter, Batch, ModelSpec, from_pretrained, load_model, positions_or_error
from benchmark.data import Document
from benchmark.errors import BenchError
from benchmark.pip import ensure_pip_tokens
from datagen.prompts import MASK, ar_instruction, pip_instruction, pip_slots


class VisionLanguageAdapter(Adapter):
    name = "vlm"
    reads_images = True

    def __init__(self, *args: Any, processor: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.processor = processor

    @classmethod
    def matches(cls, config: Any) -> bool:
        from transformers import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING

        return type(config) in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING

    @classmethod
    def load(cls, spec: ModelSpec, config: Any) -> VisionLanguageAdapter:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        processor = from_pretrained(AutoProcessor, spec, "processor")
        if not getattr(processor, "chat_template", None):
            raise BenchError(f"model {spec.id}: the processor has no chat template, so the image cannot be placed in the prompt")
        model = load_model(AutoModelForImageTextToText, spec)
        added = ensure_pip_tokens(processor.tokenizer, model)
        return cls(spec, config, model, processor.tokenizer, added, processor=processor)

    def _prompt(self, instruction: str) -> str:
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": instruction}]}]
        return self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def _encode(self, texts: list[str], docs: Sequence[Document], side: str) -> dict[str, Any]:
        if any(d.image is None for d in docs):
            raise BenchError("this model reads page images, but the dataset rows have none")
        self.tokenizer.padding_side = side
        images = [[d.image.convert("RGB")] for d in docs]
        encoded = self.processor(text=texts, images=images, padding=True, return_tensors="pt")
        return self.accepted(encoded)

    def ar_inputs(self, docs: Sequence[Document]) -> tuple[dict[str, Any], list[str]]:
        prompts = [self._prompt(ar_instruction(d.doc_type)) for d in docs]
        return self._encode(prompts, docs, "left"), prompts

    def pip_batch(self, docs: Sequence[Document], budgets: dict[str, dict[str, int]]) -> Batch:
        prompts = [self._prompt(pip_instruction(d.doc_type)) + pip_slots(d.doc_type, budgets[d.doc_type], MASK) for d in docs]
        inputs = self._encode(prompts, docs, "left")
        expected = [sum(budgets[d.doc_type].values()) for d in docs]
        return Batch(inputs=inputs, positions=positions_or_error(inputs["input_ids"], self.mask_id, expected), prompts=prompts)
