"""Tiny random-weight models built from configs, saved with ``save_pretrained`` (no downloads).

They exercise the real ``from_pretrained`` code paths of the adapters. The text side uses the
project's own tokenizer (``datagen/tokenizer``) with the special tokens each family needs added.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

TOKENIZER = Path(__file__).parent.parent / "datagen" / "tokenizer"

_TEXT = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 4096,
}


def _special(tokenizer: Any) -> dict[str, int]:
    return {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}


def _save(model: Any, tokenizer_or_processor: Any, path: Path, eos: int) -> Path:
    model.generation_config.eos_token_id = eos
    model.save_pretrained(path)
    tokenizer_or_processor.save_pretrained(path)
    return path


def tiny_llama(path: Path, tokenizer: Any = None, chat_template: str | None = None) -> Path:
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = tokenizer or AutoTokenizer.from_pretrained(TOKENIZER)
    if chat_template:
        tokenizer.chat_template = chat_template
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), **_TEXT, **_special(tokenizer)))
    return _save(model, tokenizer, path, tokenizer.eos_token_id)


def bare_tokenizer() -> Any:
    """A byte-level BPE tokenizer with BOS/EOS only: no pad and no ``[mask]`` token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<s>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    raw.train_from_iterator(["invoice receipt total date company address 0123456789 .,:-/"] * 20, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>")


CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}"
    "{% endif %}</s>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def tiny_idefics3(path: Path) -> Path:
    """An Idefics3 (SmolVLM's architecture) with its processor: image splitting off, 4 image tokens."""
    from transformers import AutoTokenizer, Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessor, Idefics3Processor

    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    tokenizer.add_special_tokens(
        {"additional_special_tokens": ["<fake_token_around_image>", "<image>", "<end_of_utterance>", "<global-img>"]},
        replace_additional_special_tokens=False,
    )
    images = Idefics3ImageProcessor(size={"longest_edge": 64}, max_image_size={"longest_edge": 32}, do_image_splitting=False)
    processor = Idefics3Processor(image_processor=images, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE, image_seq_len=4)
    config = Idefics3Config(
        text_config={"model_type": "llama", "vocab_size": len(tokenizer), **_TEXT, **_special(tokenizer)},
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        scale_factor=2,
    )
    torch.manual_seed(0)
    return _save(Idefics3ForConditionalGeneration(config), processor, path, tokenizer.eos_token_id)


QWEN_TOKENS = ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")


def tiny_qwen2_vl() -> tuple[Any, Any, Any]:
    """A Qwen2-VL model, its tokenizer and image processor (in memory).

    Its ``Qwen2VLProcessor`` cannot be built here: it requires a video processor, which needs
    torchvision, and no torchvision build matches this machine's torch. So the tests drive the
    adapter's forward pass with inputs encoded by the tokenizer and image processor directly.
    """
    from transformers import Qwen2TokenizerFast, Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessor

    tokenizer = Qwen2TokenizerFast(
        tokenizer_file=str(TOKENIZER / "tokenizer.json"), unk_token="[unk]", bos_token="<s>", eos_token="</s>", pad_token="[pad]"
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(QWEN_TOKENS)}, replace_additional_special_tokens=False)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN_TOKENS}
    config = Qwen2VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            **_TEXT,
            "rope_scaling": {"type": "mrope", "mrope_section": [1, 1, 2]},
            **_special(tokenizer),
        },
        vision_config={
            "depth": 1,
            "embed_dim": 32,
            "hidden_size": 32,
            "num_heads": 2,
            "mlp_ratio": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(0)
    return Qwen2VLForConditionalGeneration(config).eval(), tokenizer, Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=112 * 112)


def tiny_pointer(path: Path, match_length: int = 4) -> Path:
    """The reference models' architecture (Llama + copy head, AR span copy on), random weights."""
    from transformers import AutoTokenizer

    from benchmark.pointer import PointerConfig, PointerForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    torch.manual_seed(0)
    config = PointerConfig(vocab_size=len(tokenizer), copy_dim=16, match_length=match_length, **_TEXT, **_special(tokenizer))
    model = PointerForCausalLM(config)
    model.set_vocabulary(tokenizer)
    return _save(model, tokenizer, path, tokenizer.eos_token_id)


def tiny_donut(path: Path) -> Path:
    """A Donut-style ``VisionEncoderDecoderModel`` (Donut-Swin encoder, MBart decoder) with its processor."""
    from transformers import (
        AutoTokenizer,
        DonutImageProcessor,
        DonutProcessor,
        DonutSwinConfig,
        MBartConfig,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
    )

    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    images = DonutImageProcessor(size={"height": 64, "width": 48}, do_align_long_axis=False)
    encoder = DonutSwinConfig(image_size=[64, 48], patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[2, 2], window_size=4)
    decoder = MBartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        decoder_layers=1,
        decoder_attention_heads=2,
        decoder_ffn_dim=64,
        max_position_embeddings=4096,
        is_decoder=True,
        add_cross_attention=True,
        **_special(tokenizer),
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id, config.pad_token_id = tokenizer.bos_token_id, tokenizer.pad_token_id
    torch.manual_seed(0)
    model = VisionEncoderDecoderModel(config)
    return _save(model, DonutProcessor(image_processor=images, tokenizer=tokenizer), path, tokenizer.eos_token_id)


def tiny_florence2(path: Path) -> Path:
    """A Florence-2 (DaViT encoder, BART encoder-decoder) with its processor: 65 image tokens for 64 px."""
    from transformers import BartTokenizerFast, CLIPImageProcessor, Florence2Config, Florence2ForConditionalGeneration, Florence2Processor

    tokenizer = BartTokenizerFast(
        tokenizer_file=str(TOKENIZER / "tokenizer.json"),
        bos_token="<s>",
        eos_token="</s>",
        pad_token="[pad]",
        unk_token="[unk]",
        extra_special_tokens={"image_token": "<image>"},
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>", "[mask]"]}, replace_additional_special_tokens=False)
    images = CLIPImageProcessor(size={"height": 64, "width": 64}, crop_size={"height": 64, "width": 64}, do_center_crop=False)
    images.image_seq_length = 65  # (64 / 4 / 2)^2 patches + 1 pooled
    vision = {
        "depths": [1, 1],
        "patch_size": [7, 3],
        "patch_stride": [4, 2],
        "patch_padding": [3, 1],
        "patch_prenorm": [False, True],
        "embed_dim": [16, 32],
        "num_heads": [2, 2],
        "num_groups": [2, 2],
        "window_size": 4,
        "projection_dim": 32,
        "max_position_embeddings": 16,
        "max_temporal_embeddings": 4,
    }
    text = {
        "vocab_size": len(tokenizer),
        "d_model": 32,
        "encoder_layers": 1,
        "decoder_layers": 1,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
        "encoder_ffn_dim": 64,
        "decoder_ffn_dim": 64,
        "max_position_embeddings": 2048,
        "decoder_start_token_id": tokenizer.eos_token_id,
        **_special(tokenizer),
    }
    config = Florence2Config(text_config=text, vision_config=vision, image_token_id=tokenizer.image_token_id)
    torch.manual_seed(0)
    model = Florence2ForConditionalGeneration(config)
    return _save(model, Florence2Processor(image_processor=images, tokenizer=tokenizer), path, tokenizer.eos_token_id)
