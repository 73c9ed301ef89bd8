"""Images on access for layout-only builds (``--image-format none``).

A layout-only build stores everything but the pixels (~3-8 kB a document instead of ~50 kB). Each row
keeps the template id, locale and seed, and ``build_config.json`` keeps the rendering options, so the
image can be rendered when a row is read: ``load(path)`` attaches a ``datasets`` transform that does
exactly what the eager build does (same pipeline, same augmentation seed, same encoder settings), so
the bytes are identical to those of an eager build of the same configuration.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from datasets import DatasetDict, IterableDatasetDict, load_dataset
from PIL import Image

from datagen.errors import DatagenError
from datagen.io import CONFIG_FILE
from datagen.pipeline import encode_image, generate
from datagen.template import load_template_cached


def render_image(template_id: str, seed: int, locale: str, config: dict[str, Any], image_format: str = "jpeg") -> bytes:
    """The encoded image an eager build with ``config`` stores for this document."""
    gen = generate(
        load_template_cached(template_id),
        seed,
        locale,
        width=config["width"],
        mode=config["mode"],
        raster=True,
        augmentations=config["augment"],
    )
    return encode_image(gen.page_image, image_format, config["quality"])


def _transform(config: dict[str, Any], image_format: str, decode: bool):
    def add_images(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if not {"template_id", "seed", "locale"} <= batch.keys():  # a column-only read: nothing to render
            return batch
        encoded = [
            render_image(t, s, loc, config, image_format)
            for t, s, loc in zip(batch["template_id"], batch["seed"], batch["locale"], strict=True)
        ]
        batch["image"] = [Image.open(io.BytesIO(b)) if decode else {"bytes": b, "path": None} for b in encoded]
        return batch

    return add_images


def read_config(path: str | Path) -> dict[str, Any]:
    file = Path(path) / CONFIG_FILE
    try:
        return json.loads(file.read_text())["config"]
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise DatagenError(f"{file}: not a datagen build configuration ({exc})") from None


def load(
    path: str | Path, image_format: str = "jpeg", decode: bool = True, streaming: bool = False, **kwargs: Any
) -> DatasetDict | IterableDatasetDict:
    """``load_dataset(path)`` with an ``image`` column rendered on access for layout-only builds."""
    config = read_config(path)
    ds = load_dataset(str(path), streaming=streaming, **kwargs)
    if config["image_format"] != "none":
        return ds
    fn = _transform(config, image_format, decode)
    if streaming:
        return IterableDatasetDict({name: split.map(fn, batched=True, batch_size=8) for name, split in ds.items()})
    return DatasetDict({name: split.with_transform(fn) for name, split in ds.items()})
