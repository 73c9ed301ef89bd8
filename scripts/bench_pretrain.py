"""What datagen pre-training is worth on real documents: few-shot fine-tuning with and without it.

For each number N of real training documents (default 25, 50, 100, 300 of ``sroie-dev/train``), two PIP
models are fine-tuned with the same recipe (``pip-bench train``'s own ``train``: same steps, batch, answer
form, architecture) and scored on the real test split with the harness (``pip-bench evaluate``):

- *pre-trained*: starts from a model trained on datagen documents only (``--init``, default ``pip-ref``);
- *from scratch*: the same architecture, randomly initialised (no synthetic data at all).

The pre-trained model is also scored as it is (N = 0, zero-shot). This is the SynthDoG/Donut question
(synthetic pre-training, then a little real data), asked of this project's data. The table goes to
stdout for BENCHMARKS.md; models and results files go under ``--work``.

    python scripts/bench_pretrain.py                               # ~8 fine-tunings of --steps each, on the CPU
    python scripts/bench_pretrain.py --sizes 25,50 --steps 100     # a smaller run
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from benchmark.adapters.base import ModelSpec
from benchmark.cli import _int_list
from benchmark.errors import BenchError
from benchmark.evaluate import EvalConfig, evaluate
from benchmark.shipped import resolve_model
from benchmark.train import TrainConfig, train
from datagen.cli import run_command

DEFAULT_DATASET = "sroie:../shared/real/sroie-dev"  # relative to the repository root (see its README)
ARCHITECTURE = {
    "hidden_size": "hidden_size",
    "num_hidden_layers": "layers",
    "num_attention_heads": "heads",
    "intermediate_size": "intermediate_size",
}


def score(model: Path | str, dataset: str, split: str, out: Path, device: str) -> dict[str, Any]:
    """PIP micro F1 and ANLS of ``model`` on ``split`` (a results file under ``out``)."""
    path = evaluate(ModelSpec(str(model), device=device), dataset, out, EvalConfig(modes=["pip"], timing_docs=0), split=split)
    metrics = json.loads(path.read_text())["modes"]["pip"]["metrics"]
    return {"f1": metrics["f1"], "anls": metrics["anls"], "results": str(path)}


def architecture_of(model: str) -> dict[str, int]:
    """The size options that rebuild ``model``'s architecture from scratch (so both arms differ only in init)."""
    config = json.loads((Path(model) / "config.json").read_text())
    return {option: config[key] for key, option in ARCHITECTURE.items()}


def fine_tune(init: str | None, args: argparse.Namespace, n: int, out: Path, size: dict[str, int]) -> Path:
    config = TrainConfig(
        mode="pip",
        dataset=args.dataset,
        init=init,
        train_docs=n,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr_init if init else args.lr_scratch,
        seed=args.seed,
        pip_answer=args.pip_answer,
        **({} if init else size),
    )
    if (out / "config.json").is_file():  # finished by an earlier run of this script
        return out
    return train(config, out, device=args.device, eval_docs=0, command="python scripts/bench_pretrain.py " + shlex.join(sys.argv[1:]))


def run(args: argparse.Namespace) -> int:
    init = resolve_model(args.init)
    if not (Path(init) / "config.json").is_file():
        raise BenchError(f"--init {args.init}: not a model folder")
    sizes = _int_list(args.sizes)
    work = Path(args.work)
    size = architecture_of(init)
    rows = [("0 (zero-shot)", score(init, args.dataset, args.split, work / "results", args.device), None)]
    for n in sizes:
        pre = fine_tune(init, args, n, work / f"pretrained-{n}", size)
        scratch = fine_tune(None, args, n, work / f"scratch-{n}", size)
        rows.append(
            (
                str(n),
                score(pre, args.dataset, args.split, work / "results", args.device),
                score(scratch, args.dataset, args.split, work / "results", args.device),
            )
        )
        print(f"N={n}: pre-trained F1 {rows[-1][1]['f1']:.3f}, from scratch F1 {rows[-1][2]['f1']:.3f}", file=sys.stderr, flush=True)
    print(f"| real training docs | datagen pre-trained (`{args.init}`) F1 / ANLS | from scratch F1 / ANLS |")
    print("|---:|---:|---:|")
    for n, pre, scratch in rows:
        other = f"{scratch['f1']:.3f} / {scratch['anls']:.3f}" if scratch else "—"
        print(f"| {n} | {pre['f1']:.3f} / {pre['anls']:.3f} | {other} |")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--init", default="pip-ref", help="the datagen-trained model (shipped name or folder; default pip-ref)")
    parser.add_argument("--dataset", default=DEFAULT_DATASET, help=f"real dataset with train and test splits (default {DEFAULT_DATASET})")
    parser.add_argument("--split", default="test", help="the split that scores (default test)")
    parser.add_argument("--sizes", default="25,50,100,300", help="numbers of real training documents (default 25,50,100,300)")
    parser.add_argument("--steps", type=int, default=300, help="training steps of every fine-tuning (default 300)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr-init", type=float, default=5e-4, help="peak learning rate from --init (pip-bench train's default)")
    parser.add_argument("--lr-scratch", type=float, default=2e-3, help="peak learning rate from scratch (pip-bench train's default)")
    parser.add_argument("--pip-answer", default="span", choices=["tokens", "span"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--work", default="runs/pretrain", help="models and results files (default runs/pretrain; rerun to resume)")
    args = parser.parse_args(argv)
    args.func = run
    return run_command("bench_pretrain", args, BenchError)


if __name__ == "__main__":
    sys.exit(main())
