"""The model-adapter registry: which adapter runs which model.

``resolve`` asks each adapter in ``REGISTRY`` order whether it matches the model's config (vision-language
families first, so a VLM that also has a causal-LM head is run on images); ``--adapter NAME`` overrides.
Adding a family = one module here with an ``Adapter`` subclass, one line in ``REGISTRY``, one test.
"""

from __future__ import annotations

from typing import Any

import benchmark.pointer  # noqa: F401  (registers the reference models' architecture with the Auto classes)
from benchmark.adapters.base import Adapter, ModelSpec, load_config
from benchmark.adapters.causal_lm import CausalLMAdapter
from benchmark.adapters.florence2 import Florence2Adapter
from benchmark.adapters.qwen2_vl import Qwen2VLAdapter
from benchmark.adapters.vision_encoder_decoder import VisionEncoderDecoderAdapter
from benchmark.adapters.vlm import VisionLanguageAdapter
from benchmark.errors import BenchError

REGISTRY: dict[str, type[Adapter]] = {
    a.name: a for a in (Qwen2VLAdapter, Florence2Adapter, VisionEncoderDecoderAdapter, VisionLanguageAdapter, CausalLMAdapter)
}


def resolve(config: Any, name: str | None = None) -> type[Adapter]:
    if name is not None:
        if name not in REGISTRY:
            raise BenchError(f"--adapter {name}: unknown (known: {', '.join(REGISTRY)})")
        return REGISTRY[name]
    for adapter in REGISTRY.values():
        if adapter.matches(config):
            return adapter
    kind = getattr(config, "model_type", type(config).__name__)
    raise BenchError(f"no adapter runs models of type {kind!r} (known adapters: {', '.join(REGISTRY)}); pass --adapter to force one")


def load_adapter(spec: ModelSpec, name: str | None = None) -> Adapter:
    config = load_config(spec)
    return resolve(config, name).load(spec, config)
