"""Qwen2-VL and Qwen2.5-VL: the generic VLM adapter plus explicit multimodal rotary positions.

These models derive their 3D (temporal, height, width) rotary positions from the 2D padding mask. The
PIP pass replaces that mask with a 4D one, so the positions must be computed first, with the model's
own ``get_rope_index`` on the 2D mask, and passed as ``position_ids``.
"""

from __future__ import annotations

from typing import Any

import torch

from benchmark.adapters.base import Batch
from benchmark.adapters.vlm import VisionLanguageAdapter


class Qwen2VLAdapter(VisionLanguageAdapter):
    name = "qwen2-vl"

    @classmethod
    def matches(cls, config: Any) -> bool:
        return getattr(config, "model_type", None) in ("qwen2_vl", "qwen2_5_vl")

    def pip_forward(self, batch: Batch, attention: str, copy_probs: bool = False) -> list[torch.Tensor]:
        inputs = batch.inputs
        rope_args = {k: inputs.get(k) for k in ("image_grid_thw", "video_grid_thw")}
        if "second_per_grid_ts" in inputs:  # Qwen2.5-VL only
            rope_args["second_per_grid_ts"] = inputs["second_per_grid_ts"]
        positions, _ = self.model.model.get_rope_index(inputs["input_ids"], attention_mask=inputs["attention_mask"], **rope_args)
        return super().pip_forward(Batch({**inputs, "position_ids": positions}, batch.positions, batch.prompts), attention, copy_probs)
