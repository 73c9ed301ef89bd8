"""Train the project's subword tokenizer on generated documents and save it to ``datagen/tokenizer/``.

Why a project tokenizer
-----------------------
The documents are short, number-heavy and multilingual (German, Spanish, French, Malay, ... invoices,
receipts and forms). General-purpose tokenizers spend many tokens on exactly this material: amounts like
``1.234,50``, dates, IBANs, postcodes, street names with diacritics, and the JSON scaffolding of the
ground truth. Later stages size *masked prompts* for parallel (PIP) decoding by reserving a fixed number
of ``[mask]`` slots per field value, so every token saved on a typical value is a slot saved per key per
document, and small reference models train faster on short sequences. A small byte-level BPE (8192
entries) trained on the generator's own output keeps values at a few tokens each, never produces
``[unk]`` (any byte sequence is encodable) and decodes back to the exact input text.

What it is trained on
---------------------
For ``--docs`` documents, taken round robin over the shipped templates with seeds 0, 1, 2, ... (each
template's own locale choice), the layout only (no raster): the document's words grouped into lines
(one text per document, lines joined with ``"\\n"``), the JSON of its fields (``{"key": value or null}``
in ``DOC_TYPES`` order, ``ensure_ascii=False``) and the JSON of its line items; plus the key names of
every doc type.

Model: byte-level BPE (``tokenizers``), ByteLevel pre-tokenizer (GPT-2 split regex, no prefix space)
and decoder, no normalizer, ``min_frequency`` 2. The special tokens come first, ids 0..4:
``[pad]``, ``[unk]``, ``<s>``, ``</s>``, ``[mask]``. No post-processor is attached: encoding adds no
``<s>``/``</s>`` by itself; callers place special tokens explicitly.

Reproducing
-----------
    python scripts/train_tokenizer.py                  # defaults: --docs 20000 --vocab-size 8192
    python scripts/train_tokenizer.py --docs 20000 --vocab-size 8192 --out datagen/tokenizer

The corpus is a pure function of the templates, the generator version and ``--docs`` (the script
re-executes itself under ``PYTHONHASHSEED=0``, see below), and BPE training is deterministic, so the same
inputs give a byte-identical ``tokenizer.json``. Load it with
``transformers.AutoTokenizer.from_pretrained(<path to datagen/tokenizer>)``.
"""

from __future__ import annotations

import os
import sys

# Determinism of the corpus: some Faker providers pick from lists built from sets (e.g. it_IT
# ``city``), whose order depends on Python's per-process string hash seed. Re-run the script under a
# fixed PYTHONHASHSEED so the same --docs always gives the same corpus.
if __name__ == "__main__" and os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])

# Threads: BPE training with `tokenizers` 0.22 is deterministic regardless of the thread count (checked:
# 1- and 2-thread runs in separate processes give byte-identical tokenizer.json), so this is not needed
# for reproducibility; the trainer just defaults to one rayon thread to stay light on shared machines
# (training takes ~25 s). Set RAYON_NUM_THREADS to use more. Both must be set before the import.
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse
import json
import math
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402
from tqdm import tqdm  # noqa: E402
from transformers import PreTrainedTokenizerFast  # noqa: E402

from datagen.doctypes import DOC_TYPES  # noqa: E402
from datagen.pipeline import make_layout  # noqa: E402
from datagen.record import build_record, layout_boxes  # noqa: E402
from datagen.template import list_templates, load_template  # noqa: E402

SPECIAL_TOKENS = ["[pad]", "[unk]", "<s>", "</s>", "[mask]"]
DEFAULT_DOCS = 20_000
DEFAULT_VOCAB = 8192
DEFAULT_OUT = ROOT / "datagen" / "tokenizer"
MODEL_MAX_LENGTH = 4096


def document_texts(record: dict) -> tuple[str, str, str]:
    """(page text with one line per layout line, fields JSON, line items JSON) of one record."""
    lines: list[list[str]] = []
    previous = None
    for word, line in zip(record["words"], record["line_ids"], strict=True):
        if line != previous or not lines:
            lines.append([])
            previous = line
        lines[-1].append(word)
    page = "\n".join(" ".join(words) for words in lines)
    values = {f["key"]: f["value"] for f in record["fields"]}
    fields = json.dumps({key: values.get(key) for key in DOC_TYPES[record["doc_type"]]}, ensure_ascii=False)
    items = json.dumps(record["line_items"], ensure_ascii=False)
    return page, fields, items


def iter_records(n_docs: int) -> Iterator[dict]:
    """``n_docs`` records, round robin over the shipped templates, seeds 0, 1, 2, ..."""
    templates = [load_template(path) for path in list_templates()]
    if not templates:
        raise SystemExit("no templates found")
    seeds = math.ceil(n_docs / len(templates))
    count = 0
    for seed in range(seeds):
        for template in templates:
            if count == n_docs:
                return
            doc, layout = make_layout(template, seed)
            yield build_record(doc, layout, layout_boxes(layout, 1.0), (max(1, round(layout.width)), max(1, round(layout.height))))
            count += 1


def build_corpus(n_docs: int) -> tuple[list[str], list[str], list[str]]:
    """The training texts in a fixed order, plus the page texts and present field values (for stats)."""
    texts: list[str] = []
    pages: list[str] = []
    values: list[str] = []
    for record in tqdm(iter_records(n_docs), total=n_docs, desc="corpus", unit="doc", mininterval=1.0):
        page, fields, items = document_texts(record)
        texts += (page, fields, items)
        pages.append(page)
        values.extend(f["value"] for f in record["fields"] if f["value"] is not None)
    for keys in DOC_TYPES.values():
        texts.append("\n".join(keys))
        texts.append(json.dumps(list(keys), ensure_ascii=False))
    return texts, pages, values


def train(texts: list[str], vocab_size: int) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=True,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tokenizer


def wrap(tokenizer: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="[unk]",
        pad_token="[pad]",
        mask_token="[mask]",
        model_max_length=MODEL_MAX_LENGTH,
        # decode must return the exact text: no " ," -> "," style clean-up
        clean_up_tokenization_spaces=False,
    )


def save(fast: PreTrainedTokenizerFast, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out))
    # keep the saved config location-independent
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.pop("name_or_path", None) is not None:
        config_path.write_text(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def stats(tokenizer: Tokenizer, pages: list[str], values: list[str]) -> dict[str, float]:
    page_lengths = [len(e.ids) for e in tokenizer.encode_batch(pages, add_special_tokens=False)]
    value_lengths = [len(e.ids) for e in tokenizer.encode_batch(values, add_special_tokens=False)]
    return {
        "tokens_per_doc": statistics.fmean(page_lengths),
        "max_tokens_per_doc": max(page_lengths),
        "tokens_per_value": statistics.fmean(value_lengths),
        "max_tokens_per_value": max(value_lengths),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=DEFAULT_DOCS, help=f"corpus documents (default {DEFAULT_DOCS})")
    parser.add_argument(
        "--vocab-size", type=int, default=DEFAULT_VOCAB, help=f"vocabulary size incl. special tokens (default {DEFAULT_VOCAB})"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default datagen/tokenizer)")
    args = parser.parse_args(argv)
    if args.docs < 1:
        parser.error("--docs must be at least 1")
    if args.vocab_size <= len(SPECIAL_TOKENS) + 256:
        parser.error(f"--vocab-size must exceed {len(SPECIAL_TOKENS) + 256} (special tokens + byte alphabet)")

    start = time.perf_counter()
    texts, pages, values = build_corpus(args.docs)
    corpus_s = time.perf_counter() - start
    start = time.perf_counter()
    tokenizer = train(texts, args.vocab_size)
    train_s = time.perf_counter() - start
    for i, token in enumerate(SPECIAL_TOKENS):
        assert tokenizer.token_to_id(token) == i, f"{token} is not id {i}"
    save(wrap(tokenizer), args.out)
    size = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    s = stats(tokenizer, pages, values)
    print(
        f"corpus {len(texts)} texts in {corpus_s:.1f}s, training {train_s:.1f}s, saved {args.out} ({size / 1024:.0f} KiB)", file=sys.stderr
    )
    print(
        f"vocab {tokenizer.get_vocab_size()} | corpus {len(pages)} docs | "
        f"{s['tokens_per_doc']:.1f} tokens/doc (max {s['max_tokens_per_doc']}) | "
        f"{s['tokens_per_value']:.2f} tokens/field value (max {s['max_tokens_per_value']})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
