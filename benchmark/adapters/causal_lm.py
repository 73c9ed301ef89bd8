"""Any ``AutoModelForCausalLM`` reading the document's words (the OCR setting).

The model sees the words in reading order, one line per printed line (``datagen.prompts.document_text``).
A tokenizer with a chat template gets the prompt as a user turn (the PIP slots then open the assistant
turn); one without gets the plain text, which is the format the project's reference models are trained
on: ``ar_prompt + "\\n"`` then the JSON answer, and ``pip_prompt`` with the slots at its end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmark.adapters.base import Adapter, Batch, ModelSpec, from_pretrained, load_model, positions_or_error
from benchmark.data import Document
from benchmark.pip import ensure_pip_tokens
from datagen.prompts import MASK, ar_prompt, pip_instruction, pip_slots, with_document

AR_SEPARATOR = "\n"  # between the AR prompt and the answer in the plain (no chat template) format


class CausalLMAdapter(Adapter):
    name = "causal-lm"

    @classmethod
    def matches(cls, config: Any) -> bool:
        from transformers import MODEL_FOR_CAUSAL_LM_MAPPING

        return type(config) in MODEL_FOR_CAUSAL_LM_MAPPING or any(a.endswith("ForCausalLM") for a in config.architectures or [])

    @classmethod
    def load(cls, spec: ModelSpec, config: Any) -> CausalLMAdapter:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = from_pretrained(AutoTokenizer, spec, "tokenizer")
        model = load_model(AutoModelForCausalLM, spec, tokenizer)
        added = ensure_pip_tokens(tokenizer, model)
        return cls(spec, config, model, tokenizer, added)

    def _chat(self, user: str) -> str | None:
        if not getattr(self.tokenizer, "chat_template", None):
            return None
        return self.tokenizer.apply_chat_template([{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True)

    def _encode(self, texts: list[str], side: str) -> dict[str, Any]:
        self.tokenizer.padding_side = side
        # a chat template already wrote the special tokens it wants (BOS included)
        special = not getattr(self.tokenizer, "chat_template", None)
        return self.accepted(self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=special))

    def ar_inputs(self, docs: Sequence[Document]) -> tuple[dict[str, Any], list[str]]:
        prompts = []
        for doc in docs:
            plain = ar_prompt(doc.doc_type, doc.text)
            prompts.append(self._chat(plain) or plain + AR_SEPARATOR)
        return self._encode(prompts, "left"), prompts

    def pip_batch(self, docs: Sequence[Document], budgets: dict[str, dict[str, int]]) -> Batch:
        prompts = []
        for doc in docs:
            context = with_document(doc.text, pip_instruction(doc.doc_type, self.pip_answer()))
            slots = pip_slots(doc.doc_type, budgets[doc.doc_type], MASK)
            chat = self._chat(context)
            prompts.append(chat + slots if chat else context + "\n" + slots)  # the plain form is datagen's pip_prompt
        inputs = self._encode(prompts, "left")
        expected = [sum(budgets[d.doc_type].values()) for d in docs]
        return Batch(inputs=inputs, positions=positions_or_error(inputs["input_ids"], self.mask_id, expected), prompts=prompts)
