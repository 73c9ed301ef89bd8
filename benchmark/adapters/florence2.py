"""Florence-2: an encoder-decoder that reads the page image and the instruction in its encoder.

Its processor puts the image tokens before the prompt text, as in Florence-2's own tasks (``<OCR>`` becomes
"What is the text in the image?"). The decoder starts empty for AR; in PIP mode it holds the slots
(``key: [mask]…``), which the ONE decoder forward pass fills. Everything else, per-doc-type batching for
the decoder's learned positions included, is the Donut-style adapter's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmark.adapters.vision_encoder_decoder import VisionEncoderDecoderAdapter
from benchmark.data import Document


class Florence2Adapter(VisionEncoderDecoderAdapter):
    name = "florence2"

    @classmethod
    def matches(cls, config: Any) -> bool:
        return getattr(config, "model_type", None) == "florence2"

    @staticmethod
    def embeddings_owner(model: Any) -> Any:
        return model

    def _inputs(self, docs: Sequence[Document], instructions: list[str], answers: list[str]) -> tuple[dict[str, Any], list[str]]:
        self.tokenizer.padding_side = "right"  # the encoder's learned positions start at its first token
        encoder = self.processor(text=instructions, images=self._images(docs), padding=True, return_tensors="pt")
        inputs = {**self.accepted(encoder), "decoder_input_ids": self._decoder_ids(answers)}
        inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)
        return inputs, [i + "\n" + a for i, a in zip(instructions, answers, strict=True)]
