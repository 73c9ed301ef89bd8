"""``datagen import`` and ``datagen export``: a source format into a project dataset, and back out.

Both write into a temporary sibling folder and rename it into place at the end, so the output folder
is either absent or complete: an interrupted run leaves nothing half-written (rerun it), and an
existing non-empty output folder is refused with nothing touched.

An imported dataset has the columns of a generated one (``datagen.features``), so ``load_dataset``,
``pip-bench evaluate`` and ``pip-bench train`` read it like any build. Its PIP mask budgets are chosen
from its own values, as a build chooses them from its calibration sample.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import DatasetCardData
from tqdm import tqdm

from datagen import __version__
from datagen.card import card_yaml
from datagen.errors import DatagenError
from datagen.features import dataset_features, record_to_row
from datagen.formats import FORMATS, format_module
from datagen.formats.common import Imported, Problems, iter_rows
from datagen.io import write_atomic
from datagen.prompts import BUDGET_PERCENTILE, budgets_from_values

SHARD_ROWS = 500  # imported datasets carry images (~100-300 kB each): ~100 MB shards
REPORT_FILE = "import_report.json"


@dataclass
class ImportSummary:
    documents: Counter = field(default_factory=Counter)  # split -> documents
    skipped: list[tuple[str, str]] = field(default_factory=list)
    overflow: int = 0  # values longer than their mask budget (cut in pip_target_ids, listed per row)


def read_source(kind: str, path: str, problems: Problems) -> Iterator[Imported]:
    """Every document of ``path`` in format ``kind`` (the importers' common entry point)."""
    return format_module(kind).read(path, problems)


def _check_out(out: Path) -> None:
    """``out`` must be absent or an empty folder: anything else is refused, untouched, before any work."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DatagenError(f"{out} exists and is not an empty folder; choose a new --out (nothing was written)")


@contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """A temporary folder beside ``out`` that becomes ``out`` when the block completes, and is deleted
    when it fails."""
    _check_out(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    except OSError as exc:
        raise DatagenError(f"cannot write to {out.parent}: {exc.strerror}") from None
    try:
        yield tmp
        tmp.chmod(0o755)  # mkdtemp makes 0700; outputs are meant to be shared
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def import_dataset(kind: str, path: str, out: Path, strict: bool = False, tokenizer: str = "default") -> ImportSummary:
    """Convert the ``kind`` source at ``path`` into a project dataset folder ``out`` (Hub layout + card)."""
    from datagen.build_plan import load_tokenizer

    _check_out(out)
    problems = Problems(strict=strict, warn=lambda line: tqdm.write(f"datagen: {line}", file=sys.stderr))
    docs = list(tqdm(read_source(kind, path, problems), desc=f"reading {kind} from {path}", unit="doc", disable=None))
    if not docs:
        raise DatagenError(f"{path}: no {kind} documents found ({len(problems.skipped)} skipped as malformed)")
    tok = load_tokenizer(tokenizer)
    present = [(d.record["doc_type"], f["key"], f["value"]) for d in docs for f in d.record["fields"] if f["present"]]
    budgets = budgets_from_values(tok, {d.record["doc_type"] for d in docs}, present)
    features = dataset_features(image=any(d.image is not None for d in docs))
    summary = ImportSummary(skipped=problems.skipped)
    order = sorted({d.split for d in docs}, key=["train", "validation", "test"].index)
    with _staging(out) as tmp:
        split_info = []
        for split in order:
            part = [d for d in docs if d.split == split]
            shards = math.ceil(len(part) / SHARD_ROWS)
            size = 0
            for k in range(shards):
                rows = [
                    record_to_row(d.record, budgets[d.record["doc_type"]], tok, image=d.image)
                    for d in part[k * SHARD_ROWS : (k + 1) * SHARD_ROWS]
                ]
                summary.overflow += sum(len(r["pip_overflow"]) for r in rows)
                file = tmp / "data" / f"{split}-{k:05d}-of-{shards:05d}.parquet"
                file.parent.mkdir(exist_ok=True)
                pq.write_table(pa.Table.from_pylist(rows, schema=features.arrow_schema), file, compression="zstd", row_group_size=100)
                size += file.stat().st_size
            summary.documents[split] = len(part)
            split_info.append((split, len(part), size))
        report = {
            "format": kind,
            "source": path,
            "datagen_version": __version__,
            "tokenizer": tokenizer,
            "documents": dict(summary.documents),
            "doc_types": dict(Counter(d.record["doc_type"] for d in docs)),
            "annotated_keys": _annotated(docs),
            "budgets": budgets,
            "values_over_budget": summary.overflow,
            "skipped": [{"file": f, "reason": r} for f, r in problems.skipped],
        }
        write_atomic(tmp / REPORT_FILE, json.dumps(report, indent=1, ensure_ascii=False).encode())
        write_atomic(tmp / "README.md", _card(features, split_info, report).encode())
    return summary


def _annotated(docs: list[Imported]) -> dict[str, dict[str, int]]:
    """Per doc type and key: in how many documents the key is annotated (present or absent)."""
    counts: dict[str, Counter] = {}
    for d in docs:
        counts.setdefault(d.record["doc_type"], Counter()).update(f["key"] for f in d.record["fields"])
    return {t: dict(c) for t, c in sorted(counts.items())}


def _card(features: Any, splits: list[tuple[str, int, int]], report: dict[str, Any]) -> str:
    data = DatasetCardData(
        license="other",
        pretty_name=f"{report['format']} documents in the pip-kie format",
        task_categories=["image-to-text", "token-classification"],
        tags=["key-information-extraction", "document-understanding", "datagen", report["format"]],
    )
    keys = "\n".join(f"- {t}: {', '.join(f'{k} ({n})' for k, n in per.items())}" for t, per in report["annotated_keys"].items())
    sizes = "\n".join(f"- {s}: {n:,} documents" for s, n, _ in splits)
    return f"""{card_yaml(features, splits, data)}
# {report["format"]} in the pip-kie dataset format

Converted from `{report["source"]}` ({FORMATS[report["format"]]}) by `datagen import` {report["datagen_version"]}.
The columns are those of a `datagen build` (words, boxes on a 0–1000 grid, fields, the PIP / AR / chat
prompts); see `docs/dataset-format.md` and `docs/real-datasets.md` of the pip-kie toolkit for the key mapping.

{sizes}

Keys annotated by the source (documents that annotate each; a key not listed is not annotated by the
source, so it is neither scored nor trained on):

{keys}

PIP mask budgets (tokens of `{report["tokenizer"]}`, {BUDGET_PERCENTILE}th percentile of this data's values): {json.dumps(report["budgets"])}.
Values over budget: {report["values_over_budget"]}. Files skipped as malformed: {len(report["skipped"])} (listed in `{REPORT_FILE}`).

## Licence

The licence and terms of the source dataset apply to this conversion.
"""


def export_dataset(fmt: str, dataset: Path, out: Path) -> int:
    """Write the project dataset at ``dataset`` in format ``fmt`` into ``out``; returns documents written."""
    module = format_module(fmt)
    _check_out(out)
    rows = tqdm(iter_rows(dataset), desc=f"exporting {dataset} as {fmt}", unit="doc", disable=None)
    with _staging(out) as tmp:
        return module.write(rows, tmp)
