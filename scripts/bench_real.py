"""Synthetic → real transfer: evaluate models on real KIE datasets and print a markdown table for BENCHMARKS.md.

Each (model, dataset) pair is one ``pip-bench evaluate`` run (``benchmark.evaluate.evaluate``: the same
documents, metrics, timing and results file as the command), in AR mode and, for a model trained for it,
PIP mode (or in the ``--modes`` given, those the model supports), so a PIP model has its speedup measured side
by side on those documents. Results files go to
``--output-dir`` (the leaderboard's folder by default, where real datasets get their own sections);
the table goes to stdout, ready to paste, and BENCHMARKS.md is never rewritten.

    python scripts/bench_real.py                                   # every shipped model on sroie-dev test
    python scripts/bench_real.py pip-ref models/mine --dataset cord:naver-clova-ix/cord-v2 --modes pip

Real datasets are read as the importers read them (``KIND:PATH``: sroie, cord, funsd, layoutlm). Their
documents are for measuring only.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmark.adapters import load_config
from benchmark.adapters.base import ModelSpec
from benchmark.cli import _int_list
from benchmark.data import load_eval_set
from benchmark.errors import BenchError
from benchmark.evaluate import EvalConfig, evaluate
from benchmark.leaderboard.view import DASH
from benchmark.modes import DEFAULT_MODES, MODES
from benchmark.results import speedup_baseline
from benchmark.shipped import resolve_model, shipped_names
from datagen.cli import run_command
from datagen.doctypes import DOC_TYPES

DEFAULT_DATASET = "sroie:../shared/real/sroie-dev"  # relative to the repository root (see its README)
DEFAULT_OUTPUT = Path("leaderboard/results")


def model_modes(config: Any) -> list[str]:
    """The modes a model was trained for. ``pip-bench train`` writes a PIP model's answer form and budgets
    into its config (and trains it on AR batches too, ``--mix-ar``); any other model is AR only, since
    its ``[mask]`` would be an untrained token. Every model runs every AR mode but ``ar-draft``, which needs
    a draft model chosen for it (``pip-bench evaluate --draft-model``)."""
    trained_pip = getattr(config, "pip_answer", None) is not None or getattr(config, "pip_budgets", None) is not None
    return [m for m in MODES if (trained_pip or m != "pip") and m != "ar-draft"]


def check_model(name: str) -> str:
    """The model id to load: a shipped name, a model folder or a Hub id (``org/name``); anything else is a typo."""
    resolved = resolve_model(name)
    if resolved == name and "/" not in name and not Path(name).is_dir():
        raise BenchError(f"unknown model {name!r} (shipped: {', '.join(shipped_names())}; or a model folder, or a Hub id org/name)")
    return resolved


def _f1(metrics: dict[str, Any], key: str) -> str:
    field = metrics["per_field"].get(key)
    return DASH if field is None else f"{field['f1']:.3f}"


def table(runs: Sequence[dict[str, Any]]) -> str:
    """One markdown table row per (model, mode) of the given results files: micro F1, ANLS, F1 per scored
    key (in schema order), documents, and on the PIP row the run's speedup over its fastest AR mode (AR p50 / PIP p50,
    the mode named) when it ran PIP and AR."""
    order = [key for keys in DOC_TYPES.values() for key in keys]
    scored = {key for data in runs for mode in data["modes"].values() for key in mode["metrics"]["per_field"]}
    keys = sorted(scored, key=lambda k: (order.index(k) if k in order else len(order), k))
    lines = [
        "| model | mode | F1 | ANLS | " + " | ".join(f"F1 {k}" for k in keys) + " | docs | PIP speedup vs fastest AR (p50) |",
        "|---|---|---:|---:|" + "---:|" * len(keys) + "---:|---:|",
    ]
    for data in runs:
        speedup = data.get("speedup")
        for mode, result in data["modes"].items():
            metrics = result["metrics"]
            ratio = f"{speedup['latency_p50']:.1f}× ({speedup_baseline(speedup)})" if speedup and mode == "pip" else DASH
            cells = [data["model"]["id"], mode.upper(), f"{metrics['f1']:.3f}", f"{metrics['anls']:.3f}"]
            cells += [_f1(metrics, k) for k in keys] + [str(result["num_documents"]), ratio]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _command(model: str, dataset: str, args: argparse.Namespace, modes: list[str]) -> str:
    """The ``pip-bench evaluate`` command that makes the same results file, recorded in it."""
    argv = [model, "--dataset", dataset, "--split", args.split, "--modes", ",".join(modes), "--batch-size", str(args.batch_size)]
    argv += ["--timing-docs", str(args.timing_docs), "--timing-batch-sizes", ",".join(map(str, args.timing_batch_sizes))]
    argv += ["--max-new-tokens", str(args.max_new_tokens)] if args.max_new_tokens != EvalConfig.max_new_tokens else []
    argv += [*(["--limit", str(args.limit)] if args.limit else []), "--device", args.device, "--output-dir", str(args.output_dir)]
    return "pip-bench evaluate " + shlex.join(argv)


def _run(args: argparse.Namespace) -> int:
    models = args.models or shipped_names()
    resolved = {name: check_model(name) for name in models}
    asked = [m.strip() for m in args.modes.split(",") if m.strip()] if args.modes != "auto" else list(DEFAULT_MODES)
    EvalConfig(modes=asked).check()
    for dataset in args.dataset:  # bad paths and empty splits fail here, before any model runs
        load_eval_set(dataset, args.split, args.limit)
    for dataset in args.dataset:
        runs = []
        for name, model_id in resolved.items():
            spec = ModelSpec(model_id, device=args.device)
            supported = model_modes(load_config(spec))
            modes = [m for m in asked if m in supported]
            if not modes:
                print(f"bench_real: {name} runs {', '.join(supported)} only; skipped", file=sys.stderr)
                continue
            config = EvalConfig(
                modes=modes,
                batch_size=args.batch_size,
                max_new_tokens=args.max_new_tokens,
                timing_docs=args.timing_docs,
                timing_batch_sizes=args.timing_batch_sizes,
            )
            path = evaluate(
                spec, dataset, args.output_dir, config, split=args.split, limit=args.limit, command=_command(name, dataset, args, modes)
            )
            print(f"bench_real: {name} on {dataset}: {path}", file=sys.stderr)
            runs.append(json.loads(path.read_text()))
        if runs:
            first = runs[0]["dataset"]
            print(f"\n**{first['id']} · {first['split']}** ({first['num_documents']} documents)\n\n{table(runs)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "models", nargs="*", help=f"shipped names, model folders or Hub ids (default: every shipped model: {', '.join(shipped_names())})"
    )
    p.add_argument("--dataset", action="append", default=None, help=f"KIND:PATH of a real dataset, repeatable (default: {DEFAULT_DATASET})")
    p.add_argument("--split", default="test")
    p.add_argument(
        "--modes",
        default="auto",
        help=f"auto (ar, and pip for a model trained for it) or a list of: {', '.join(MODES)} (e.g. ar,ar-lookup,pip)",
    )
    p.add_argument("--limit", type=int, default=None, help="the first N documents of the split")
    p.add_argument("--batch-size", type=int, default=32, help="batch size of the scoring pass")
    # The table's speedup is the batch-1 p50 ratio; AR on unfamiliar real receipts often runs to its token
    # limit (~8 s a document on 2 CPU cores), so larger timing batches would cost minutes and add no column.
    p.add_argument("--timing-docs", type=int, default=30, help="documents timed per mode at batch 1 (0: no timing, no speedup)")
    p.add_argument("--timing-batch-sizes", type=_int_list, default=[1], help="throughput batch sizes (default: 1)")
    p.add_argument("--max-new-tokens", type=int, default=EvalConfig.max_new_tokens, help="AR generation limit")
    p.add_argument("--device", default="cpu")
    p.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT, help="where the results files go (default: %(default)s)")
    p.set_defaults(func=_run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.dataset = args.dataset or [DEFAULT_DATASET]
    return run_command("bench_real", args, BenchError)


if __name__ == "__main__":
    sys.exit(main())
