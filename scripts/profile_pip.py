"""Where a batched PIP pass spends its time: building the batch, the attention mask, the forward pass, reading
the answers.

Why: PIP's advantage over AR shrinks with the batch size (issue #21), and only a breakdown says whether that is
the model's work (which grows with the batch like AR's) or the harness's own (padding, mask building, reading
spans), which can be cut. The phases are timed by wrapping the functions ``Adapter.pip`` calls, so the code
measured is the code ``pip-bench evaluate`` runs:

- ``batch``: prompts, tokenization and mask positions (``Adapter.pip_batch``);
- ``mask``: the float 4D attention mask (``benchmark.pip.attention_mask_4d``);
- ``forward``: the model's forward pass, copy head included;
- ``read``: reading each key's span (``benchmark.pip.read_span``) or tokens;
- ``other``: the rest of ``Adapter.pip`` (gathering the mask rows, widening to whole words, decoding).

    python scripts/profile_pip.py                                   # pip-ref, 256 test documents, batch 1, 8, 32
    python scripts/profile_pip.py --model MODEL --dataset DIR --docs 512 --batch-sizes 32
"""

from __future__ import annotations

import argparse
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

import benchmark.adapters.base as base
from benchmark.adapters import load_config, resolve
from benchmark.adapters.base import ModelSpec
from benchmark.cli import _int_list
from benchmark.data import load_eval_set
from benchmark.evaluate import _budgets, bucketed_batches
from benchmark.shipped import resolve_model

PHASES = ("batch", "mask", "forward", "read", "other")


@contextmanager
def timed(owner: Any, name: str, phase: str, clock: dict[str, float]) -> Iterator[None]:
    """Replace ``owner.name`` by a wrapper that adds its run time to ``clock[phase]``, for the block's length."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            clock[phase] += time.perf_counter() - start

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="pip-ref", help="a PIP model: shipped name, folder or Hub id (default pip-ref)")
    parser.add_argument("--dataset", required=True, help="a datagen build (its test split is read)")
    parser.add_argument("--docs", type=int, default=256, help="documents (default 256)")
    parser.add_argument("--batch-sizes", type=_int_list, default=(1, 8, 32), help="comma-separated (default 1,8,32)")
    parser.add_argument("--attention", default="bidirectional", help="PIP attention (default bidirectional)")
    args = parser.parse_args()
    spec = ModelSpec(resolve_model(args.model))
    config = load_config(spec)
    adapter = resolve(config, None).load(spec, config)
    evalset = load_eval_set(args.dataset, "test", args.docs, images=False)
    budgets = _budgets(adapter, evalset)
    print(
        f"{args.model} on {len(evalset.documents)} documents of {args.dataset}; torch {torch.__version__}, {torch.get_num_threads()} threads,"
    )
    print(f"{platform.processor() or platform.machine()}; ms a document in each phase (share of the pass)\n")
    print("| batch | " + " | ".join(PHASES) + " | total | docs/s |")
    print("|---:|" + "---:|" * (len(PHASES) + 2))
    for size in args.batch_sizes:
        batches = bucketed_batches(evalset.documents, size)
        adapter.pip(batches[0], budgets, args.attention)  # warm-up
        clock: dict[str, float] = defaultdict(float)
        with (
            timed(type(adapter), "pip_batch", "batch", clock),
            timed(base, "attention_mask_4d", "mask", clock),
            timed(adapter.model, "forward", "forward", clock),
            timed(base, "read_span", "read", clock),
            timed(base, "split_slots", "read", clock),
        ):
            start = time.perf_counter()
            for batch in batches:
                adapter.pip(batch, budgets, args.attention)
            total = time.perf_counter() - start
        clock["other"] = total - sum(clock[p] for p in PHASES if p != "other")
        per_doc = {p: clock[p] / len(evalset.documents) * 1000 for p in PHASES}
        cells = " | ".join(f"{per_doc[p]:.2f} ({per_doc[p] / (total / len(evalset.documents) * 1000):.0%})" for p in PHASES)
        print(f"| {size} | {cells} | {total / len(evalset.documents) * 1000:.2f} | {len(evalset.documents) / total:.1f} |")


if __name__ == "__main__":
    main()
