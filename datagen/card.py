"""The dataset card (README.md next to the shards) and the statistics it reports.

The YAML header is what the Hub and ``load_dataset`` read: ``configs`` maps splits to shard globs and
``dataset_info`` carries the features (from ``datagen.features``, the one declaration) and the split
sizes. The body says how the data was made (the exact command, version, config hash), the PIP mask
budgets and how many values overflowed them, field coverage, length histograms and the citation.

``ShardStats`` is what the shard writer counts in each shard (its sidecar's ``stats``) and what ``aggregate``
sums here: a statistic is added to both at once, so they live together.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datasets import Features
from datasets.info import DatasetInfo, DatasetInfosDict
from datasets.splits import SplitDict, SplitInfo
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from datagen.doctypes import DOC_TYPES
from datagen.features import dataset_features
from datagen.io import write_atomic
from datagen.ocr import engine_version
from datagen.ocr_noise import noise_model
from datagen.resolution import TEXT_PX

PIP_CITATION = """@article{wang2026pip,
  title   = {Up to 36x Speedup: Mask-based Parallel Inference Paradigm for Key Information Extraction in MLLMs},
  author  = {Wang, Xinzhong and Guo, Ya and Li, Jing and Chen, Huan and Tu, Yi and Hong, Yijie and Liu, Gongshen and Zhu, Huijia},
  journal = {arXiv preprint arXiv:2601.19613},
  year    = {2026}
}"""

STATS_FILE = "dataset_stats.json"


@dataclass
class ShardStats:
    """What ``datagen stats`` and the card report, summed over shards."""

    rows: int = 0
    doc_types: Counter = field(default_factory=Counter)
    templates: Counter = field(default_factory=Counter)
    locales: Counter = field(default_factory=Counter)
    present: Counter = field(default_factory=Counter)  # "doc_type/key" -> documents with the key present
    overflow: Counter = field(default_factory=Counter)  # "doc_type/key" -> values longer than the budget
    unread: Counter = field(default_factory=Counter)  # "doc_type/key" -> present values no word is linked to (--ocr)
    words_hist: Counter = field(default_factory=Counter)  # words per document, in bins of 25
    value_len_hist: Counter = field(default_factory=Counter)  # characters per present value, bins of 5

    def add(self, row: dict[str, Any]) -> None:
        t = row["doc_type"]
        self.rows += 1
        self.doc_types[t] += 1
        self.templates[row["template_id"]] += 1
        self.locales[row["locale"]] += 1
        self.words_hist[str(len(row["words"]) // 25 * 25)] += 1
        for f in row["fields"]:
            if f["present"]:
                self.present[f"{t}/{f['key']}"] += 1
                self.value_len_hist[str(len(f["value"]) // 5 * 5)] += 1
                if not f["word_ids"]:
                    self.unread[f"{t}/{f['key']}"] += 1
        for key in row["pip_overflow"]:
            self.overflow[f"{t}/{key}"] += 1

    def merge(self, other: dict[str, Any]) -> None:
        self.rows += other["rows"]
        for name in ("doc_types", "templates", "locales", "present", "overflow", "unread", "words_hist", "value_len_hist"):
            getattr(self, name).update(other[name])

    def to_json(self) -> dict[str, Any]:
        # not dataclasses.asdict: it rebuilds a Counter from (key, count) pairs, counting the pairs
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {k: dict(sorted(v.items())) if isinstance(v, Counter) else v for k, v in values.items()}


def aggregate(sidecars: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum the per-shard statistics, overall and per split."""
    total = ShardStats()
    per_split: dict[str, ShardStats] = {}
    for sc in sidecars:
        total.merge(sc["stats"])
        per_split.setdefault(sc["split"], ShardStats()).merge(sc["stats"])
    return {"total": total.to_json(), "splits": {k: v.to_json() for k, v in per_split.items()}}


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _histogram(hist: dict[str, int], unit: str) -> str:
    if not hist:
        return "(none)"
    peak = max(hist.values())
    rows = sorted(((int(k), v) for k, v in hist.items()))
    return (
        "```\n"
        + "\n".join(f"{lo:>5}-{lo + (25 if unit == 'words' else 5) - 1:<5} {'#' * max(1, round(40 * v / peak)):<40} {v}" for lo, v in rows)
        + "\n```"
    )


def card_yaml(features: Features, splits: list[tuple[str, int, int]], data: DatasetCardData) -> str:
    """The YAML header the Hub and ``load_dataset`` read: ``dataset_info`` (features, split sizes) and
    ``configs`` (split -> ``data/{split}-*.parquet``), added to ``data``. ``splits``: (name, rows, bytes)."""
    split_dict = SplitDict()
    for name, rows, size in splits:
        split_dict.add(SplitInfo(name=name, num_bytes=size, num_examples=rows))
    total_bytes = sum(size for _, _, size in splits)
    info = DatasetInfo(features=features, splits=split_dict, download_size=total_bytes, dataset_size=total_bytes)
    DatasetInfosDict({"default": info}).to_dataset_card_data(data)
    MetadataConfigs({"default": {"data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s, _, _ in splits]}}).to_dataset_card_data(
        data
    )
    return f"---\n{data.to_yaml()}\n---\n"


def card_text(state: dict[str, Any], sidecars: list[dict[str, Any]], stats: dict[str, Any]) -> str:
    config = state["config"]
    features = dataset_features(image=config["image_format"] != "none", pdf=config["pdf"])
    splits = [
        (name, stats["splits"][name]["rows"], sum(sc["bytes"] for sc in sidecars if sc["split"] == name))
        for name, _ in config["splits"]
        if name in stats["splits"]
    ]
    locales = sorted(stats["total"]["locales"])
    data = DatasetCardData(
        license="cc-by-4.0",
        pretty_name=f"pip-kie synthetic documents ({stats['total']['rows']:,})",
        language=sorted({loc.split("_")[0] for loc in locales}),
        task_categories=["image-to-text", "token-classification"],
        tags=["key-information-extraction", "document-understanding", "synthetic", "parallel-inference", "datagen"],
    )
    return f"{card_yaml(features, splits, data)}\n{_body(state, stats)}"


def statistics_markdown(state: dict[str, Any], stats: dict[str, Any]) -> str:
    """Splits, mask budgets with coverage and overflow, counts and histograms (card and ``datagen stats``)."""
    config, total = state["config"], stats["total"]
    budget_rows = []
    for doc_type, per_key in state["budgets"].items():
        n_type = total["doc_types"].get(doc_type, 0)
        for key in DOC_TYPES[doc_type]:
            present = total["present"].get(f"{doc_type}/{key}", 0)
            over = total["overflow"].get(f"{doc_type}/{key}", 0)
            budget_rows.append((doc_type, key, per_key[key], f"{present / n_type:.1%}" if n_type else "-", over))
    split_rows = [(name, s["rows"]) for name, s in stats["splits"].items()]
    return f"""{_table(("split", "documents"), split_rows)}

## Masked-prompt budgets and field coverage

Budgets are in tokens of `{config["tokenizer"]}` (the toolkit's tokenizer when `default`), the
{config["budget_percentile"]}th percentile of value lengths in a calibration sample of the same
configuration. Values longer than their budget are cut to it and listed in the row's `pip_overflow`:
the last column counts them.

{_table(("doc type", "key", "budget (tokens)", "present", "values over budget"), budget_rows)}

## Statistics

{_table(("doc type", "documents"), sorted(total["doc_types"].items()))}

{_table(("template", "documents"), sorted(total["templates"].items()))}

{_table(("locale", "documents"), sorted(total["locales"].items()))}

Words per document:

{_histogram(total["words_hist"], "words")}

Characters per present field value:

{_histogram(total["value_len_hist"], "chars")}
{_unread_markdown(total)}"""


def _unread_markdown(total: dict[str, Any]) -> str:
    """Present values that no read word covers (an OCR build whose engine missed their words): never dropped
    silently, their ``word_ids`` are empty and they are counted here."""
    unread = total.get("unread") or {}
    if not unread:
        return ""
    rows = sorted((key, n, f"{n / total['present'][key]:.1%}") for key, n in unread.items())
    return f"""
Present values the OCR engine did not read (no read word covers them; `word_ids` empty):

{_table(("doc type/key", "values", "of present"), rows)}
"""


def _body(state: dict[str, Any], stats: dict[str, Any]) -> str:
    config, total = state["config"], stats["total"]
    lazy_note = (
        "Images are not stored (`--image-format none`): `datagen.lazy.load(path)` renders them on access, byte-identical to an eager build.\n"
        if config["image_format"] == "none"
        else ""
    )
    return f"""# pip-kie synthetic key-information-extraction documents

{total["rows"]:,} synthetic invoices, receipts and forms generated by `datagen` {state["generator_version"]}
(the pip-kie toolkit), with exact ground truth: every key of the doc type's schema (value as printed, or
absent), line items, words with boxes on a 0–1000 grid, field→word links, and three prompt formats for
training and evaluating key-information extraction: **masked-prompt (PIP)**, **autoregressive (AR)** and
**chat** (transformers convention). The format is specified in `docs/dataset-format.md` of the toolkit.

## Load

```python
from datasets import load_dataset
ds = load_dataset("path/or/hub-id")              # or streaming=True
```
{lazy_note}
## How it was generated

```
{state.get("command") or "datagen build"}
```

- generator version `{state["generator_version"]}`, configuration hash `{state["config_hash"]}`, seed {config["seed"]}
- doc types: {", ".join(config["doc_types"])}; locales: {", ".join(sorted(total["locales"]))}
- images: {_images_line(config)}
- {_words_line(config)}
- the same command with the same version writes byte-identical shards

{statistics_markdown(state, stats)}
## Licence

The data is released under CC BY 4.0. It is synthetic: names, companies and addresses come from Faker
and do not describe real people or businesses. Fonts used to render it are under the SIL Open Font License.

## Citation

The masked-prompt format follows the PIP paper:

```bibtex
{PIP_CITATION}
```
"""


def write_card(out: Path, state: dict[str, Any], sidecars: list[dict[str, Any]]) -> Path:
    stats = aggregate(sidecars)
    write_atomic(out / STATS_FILE, json.dumps(stats, indent=1).encode())
    path = out / "README.md"
    write_atomic(path, card_text(state, sidecars, stats).encode())
    return path


def read_card_yaml(path: Path) -> dict[str, Any]:
    """The card's YAML header as a dict (what the Hub parses)."""
    return DatasetCard.load(path).data.to_dict()


def _images_line(config: dict[str, Any]) -> str:
    """How the pages were stored, with the text-matched width spelled out (a bare "None px" says nothing)."""
    if config["image_format"] == "none":
        return f"none stored: rendered on access ({config['mode']}, {_width_text(config)}), augmentations {_on(config['augment'])}"
    quality = f", quality {config['quality']}" if config["image_format"] == "jpeg" else ""
    return f"{config['image_format']}{quality}, {config['mode']}, {_width_text(config)}, augmentations {_on(config['augment'])}"


def _width_text(config: dict[str, Any]) -> str:
    width = config["width"]
    return f"{width} px wide" if width is not None else f"each page as wide as puts its median word at {TEXT_PX:g} px"


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def _words_line(config: dict[str, Any]) -> str:
    """How the ``words`` column was made: as generated, or as an OCR engine would read them."""
    if config.get("ocr"):
        return (
            f"words: read on each rendered page by the OCR engine {engine_version(config['ocr'])} (`--ocr`), one box per word's "
            "slice of its segment; field values stay the printed text, linked to the read words that cover them"
        )
    if not config.get("ocr_noise"):
        return "words: exactly as printed (`--no-ocr-noise`)"
    model = noise_model()
    return (
        f"words: {', '.join(model.doc_types)} as an OCR engine reads them (`datagen.ocr_noise`, rates measured with {model.engine}: "
        "confused, dropped and inserted characters, merged and split words, line-level boxes); field values stay the "
        "printed text, every other doc type's words are exactly as printed"
    )
