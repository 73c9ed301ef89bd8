"""``pip-bench``: evaluate models in AR and PIP mode, and build the leaderboard.

Bad input (unknown model or dataset, missing columns, an impossible mode, an unwritable output folder)
is reported as one line on stderr with exit code 2; nothing is left half-written.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmark import __version__
from benchmark.errors import BenchError
from benchmark.modes import DEFAULT_MODES, LOOKUP_TOKENS, MODE_HELP, QUICK_TIMING, SPAN_LENGTHS, TIMING
from benchmark.shipped import resolve_model
from datagen.cli import run_command


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from benchmark.adapters.base import ModelSpec
    from benchmark.evaluate import EvalConfig, evaluate

    config = EvalConfig(
        modes=[m.strip() for m in args.modes.split(",") if m.strip()],
        batch_size=args.batch_size,
        pip_attention=args.pip_attention,
        max_new_tokens=args.max_new_tokens,
        cache_implementation=args.cache_implementation,
        lookup_tokens=args.lookup_tokens,
        draft_model=args.draft_model,
        ar_constraint=args.ar_constraint,
        pip_constraint=args.pip_constraint,
        pip_span_length=args.pip_span_length,
        ocr=args.ocr,
        **_timing(args),
    )
    spec = ModelSpec(resolve_model(args.model), args.revision, args.device, args.dtype, args.trust_remote_code)
    path = evaluate(
        spec,
        args.dataset,
        Path(args.output_dir),
        config,
        split=args.split,
        limit=args.limit,
        adapter_name=args.adapter,
        dataset_revision=args.dataset_revision,
        log_samples=args.log_samples,
        command="pip-bench " + shlex.join(args.argv),
    )
    if path is not None:  # None: a data-parallel run's other processes, whose share the first one reports
        _print_summary(path)
    return 0


def _timing(args: argparse.Namespace) -> dict[str, Any]:
    """The timing options: those given on the command line, the rest from --quick's set or the full one."""
    preset = QUICK_TIMING if args.quick else TIMING
    return {
        "timing_docs": preset["timing_docs"] if args.timing_docs is None else args.timing_docs,
        "timing_batch_sizes": list(preset["timing_batch_sizes"] if args.timing_batch_sizes is None else args.timing_batch_sizes),
        "warmup": preset["warmup"] if args.warmup is None else args.warmup,
    }


def _print_summary(path: Path) -> None:
    import json

    data = json.loads(path.read_text())
    print(f"results: {path}")
    for mode, r in data["modes"].items():
        m, t = r["metrics"], r["timing"]
        timing = (
            f"  p50 {t['latency']['p50_ms']:.1f} ms  {t['tokens_per_doc']:.1f} tokens/doc  {t['forward_passes_per_doc']:.1f} passes/doc"
            if t
            else ""
        )
        same = f"  same answer as ar: {r['same_output_as_ar']}/{r['num_documents']}" if "same_output_as_ar" in r else ""
        print(f"{mode:>9}: F1 {m['f1']:.4f}  ANLS {m['anls']:.4f}  ANLS* {m['anls_star']:.4f}{timing}{same}")
    s = data.get("speedup")
    if s:
        for ar_mode, r in s["by_ar_mode"].items():
            ratios = "  ".join(f"b{b}: {x:.1f}x" for b, x in r["throughput"].items())
            print(f"speedup vs {ar_mode} (AR p50 / PIP p50, batch 1): {r['latency_p50']:.1f}x   throughput PIP/AR {ratios}")
        fastest = s["fastest_ar"]
        ratios = "  ".join(f"b{b}: {x:.1f}x ({fastest['throughput'][b]})" for b, x in s["throughput"].items())
        print(f"speedup vs the fastest AR, batch 1: {s['latency_p50']:.1f}x ({fastest['latency_p50']})   throughput {ratios}")


def _cmd_train(args: argparse.Namespace) -> int:
    from benchmark.train import TrainConfig, parse_duration, train

    if args.merge and not args.lora:
        raise BenchError("--merge is for --lora (a full fine-tune saves its weights already)")
    config = TrainConfig(
        mode=args.mode,
        dataset=args.dataset,
        add_train=tuple(args.add_train),
        init=resolve_model(args.init) if args.init else None,
        train_docs=args.train_docs,
        steps=args.steps,
        time_budget_s=parse_duration(args.time_budget) if args.time_budget else None,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        dtype=args.dtype,
        lr=args.lr if args.lr is not None else (5e-4 if args.init else 2e-3),
        max_len=args.max_len,
        seed=args.seed,
        pip_attention=args.pip_attention,
        pip_answer=args.pip_answer,
        mix_ar=args.mix_ar if args.mix_ar is not None else (0.25 if args.mode == "pip" else 0.0),
        head=args.head,
        lora=args.lora,
        match_length=args.match_length,
        hidden_size=args.hidden_size,
        layers=args.layers,
        heads=args.heads,
        intermediate_size=args.intermediate_size,
    )
    if args.dry_run:
        from benchmark.train_memory import describe, memory_plan

        config.check()
        print(describe(memory_plan(config), config, args.gradient_checkpointing))
        return 0
    command = "pip-bench " + shlex.join(args.argv)
    out = train(
        config,
        Path(args.out),
        device=args.device,
        eval_docs=args.eval_docs,
        command=command,
        eval_split=args.eval_split,
        merge=args.merge,
        gradient_checkpointing=args.gradient_checkpointing,
    )
    print(f"model: {out} (card: {out / 'README.md'})")
    return 0


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a reference AR or PIP model (a small Llama) on a datagen dataset")
    p.add_argument("--mode", required=True, choices=["ar", "pip"], help="what the model learns: AR (JSON answers) or PIP (masked prompts)")
    p.add_argument(
        "--dataset",
        required=True,
        help="a datagen build or import folder, or a real dataset as KIND:PATH (sroie:PATH); its train split is used",
    )
    p.add_argument(
        "--add-train",
        action="append",
        default=[],
        metavar="DATASET",
        help="another dataset whose train split joins --dataset's (repeatable), e.g. a build of one locale to weight it",
    )
    p.add_argument("--train-docs", type=int, default=None, help="only the first N training documents (default: all)")
    p.add_argument("--out", required=True, help="output model directory (save_pretrained layout)")
    p.add_argument("--init", default=None, help="start from this model directory (e.g. the AR model for PIP)")
    stop = p.add_argument_group("when to stop (give at least one; the first reached ends the run)")
    stop.add_argument("--steps", type=int, default=None, help="optimizer steps of --batch-size x --grad-accum examples")
    stop.add_argument("--time-budget", default=None, help="e.g. 60m, 1.5h, 900s")
    p.add_argument("--device", default="cpu", help="torch device: cpu (default), cuda, cuda:1, mps")
    p.add_argument("--batch-size", type=int, default=16, help="examples a batch (default 16)")
    p.add_argument(
        "--grad-accum",
        type=int,
        default=1,
        help="batches whose gradients make one optimizer step (default 1; effective batch = the product)",
    )
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default 2e-3 from scratch, 5e-4 with --init)")
    p.add_argument("--max-len", type=int, default=1280, help="longest example in tokens; longer ones are skipped and counted")
    p.add_argument("--seed", type=int, default=0, help="initial weights and example order (default 0)")
    p.add_argument(
        "--pip-attention",
        default="bidirectional",
        choices=["causal", "bidirectional"],
        help="attention over the answer span in PIP examples (default bidirectional, as the harness runs it)",
    )
    p.add_argument(
        "--pip-answer",
        default="tokens",
        choices=["tokens", "span"],
        help="PIP mode: tokens (each key's masks spell its value) or span (two masks a key point at the value's first and last "
        "token on the document: a far shorter prompt; pointer head only)",
    )
    p.add_argument("--mix-ar", type=float, default=None, help="PIP mode: share of AR batches, so the model also runs AR (default 0.25)")
    p.add_argument(
        "--lora",
        type=int,
        default=0,
        metavar="RANK",
        help='train LoRA adapters of this rank on every linear layer (peft: pip install -e ".[lora]"); saved as an adapter folder (default 0: every weight)',
    )
    p.add_argument("--merge", action="store_true", help="--lora: save the weights with the adapters merged in, not the adapter folder")
    memory = p.add_argument_group("memory")
    memory.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "bfloat16", "float16"],
        help="the weights' dtype (default float32); LoRA adapters stay float32; float16 needs --lora",
    )
    memory.add_argument(
        "--gradient-checkpointing",
        action="store_true",
        help="recompute activations in the backward pass: less memory, one more forward pass a step",
    )
    memory.add_argument(
        "--dry-run",
        action="store_true",
        help="print the memory the run would hold (weights, gradients, AdamW) from the config alone, and stop",
    )
    p.add_argument("--eval-docs", type=int, default=300, help="documents of --eval-split scored at the end (0: none)")
    p.add_argument("--eval-split", default="validation", help="the split that scores the result (default: validation)")
    size = p.add_argument_group("model architecture (new models only; --init keeps the initial model's)")
    size.add_argument(
        "--head", default="pointer", choices=["pointer", "lm"], help="pointer: LM head + copy head (default); lm: a plain Llama"
    )
    size.add_argument(
        "--match-length",
        type=int,
        default=8,
        help="pointer head, AR span copy: favour sources that continue the answer, matched over up to N tokens (0: off)",
    )
    size.add_argument("--hidden-size", type=int, default=256, help="width of the Llama (default 256)")
    size.add_argument("--layers", type=int, default=4, help="decoder layers (default 4)")
    size.add_argument("--heads", type=int, default=4, help="attention heads (default 4)")
    size.add_argument("--intermediate-size", type=int, default=768, help="MLP width (default 768)")
    p.set_defaults(func=_cmd_train)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="run a model in AR and/or PIP mode on a dataset; score and time both")
    p.add_argument("model", help="Hub model id, local model directory, or a shipped reference model: ar-ref, pip-ref, pip-ref-tokens")
    p.add_argument(
        "--dataset",
        required=True,
        help="local dataset directory (a datagen build or import), Hub dataset id, or KIND:PATH for a real dataset (sroie:, cord:, funsd:, layoutlm:)",
    )
    p.add_argument("--split", default="test", help="the dataset split to score (default test)")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N rows of the split")
    p.add_argument(
        "--modes",
        default=",".join(DEFAULT_MODES),
        help="comma-separated, timed side by side: "
        + "; ".join(f"{m}: {what}" for m, what in MODE_HELP.items())
        + f" (default: {','.join(DEFAULT_MODES)})",
    )
    p.add_argument("--batch-size", type=int, default=8, help="batch size of the scoring pass")
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1, mps")
    p.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"], help="weights' dtype (default float32)")
    p.add_argument("--revision", default=None, help="model revision (branch, tag or commit)")
    p.add_argument("--dataset-revision", default=None, help="Hub dataset revision (branch, tag or commit)")
    p.add_argument("--adapter", default=None, help="force a model adapter (default: chosen from the model's config)")
    p.add_argument("--trust-remote-code", action="store_true", help="allow the model's own Python code to run (off by default)")
    p.add_argument("--pip-attention", default="bidirectional", choices=["causal", "bidirectional"], help="attention over the answer span")
    p.add_argument("--max-new-tokens", type=int, default=512, help="AR generation limit")
    p.add_argument(
        "--ar-constraint",
        default="none",
        choices=["none", "json", "grounded"],
        help="AR decoding: free (none), the JSON skeleton forced (json), or also every value a substring of the words (grounded)",
    )
    p.add_argument(
        "--pip-constraint",
        default="none",
        choices=["none", "grounded"],
        help="PIP decoding: the masks' argmax (none), or each value the most likely run of the words where the argmax is not one (grounded)",
    )
    p.add_argument(
        "--pip-span-length",
        default="trained",
        choices=list(SPAN_LENGTHS),
        help="span answers: read each value within its key's longest value in the model's training data "
        "(trained: config.pip_span_lengths), or at any length (any)",
    )
    p.add_argument("--cache-implementation", default=None, help="the ar mode's KV cache passed to generate, e.g. static (default: dynamic)")
    p.add_argument(
        "--lookup-tokens",
        type=int,
        default=LOOKUP_TOKENS,
        help=f"ar-lookup: tokens proposed a step from the prompt (default {LOOKUP_TOKENS})",
    )
    p.add_argument(
        "--draft-model",
        default=None,
        metavar="MODEL",
        help="ar-draft: the draft model that proposes tokens (Hub id, folder or shipped name), smaller than the model "
        "and with the same tokenizer; loaded on the model's device and dtype",
    )
    p.add_argument(
        "--timing-docs",
        type=int,
        default=None,
        help=f"documents timed per mode at batch 1 (0: no timing; default {TIMING['timing_docs']}, {QUICK_TIMING['timing_docs']} with --quick)",
    )
    p.add_argument(
        "--timing-batch-sizes",
        type=_int_list,
        default=None,
        help=f"throughput batch sizes (default {','.join(map(str, TIMING['timing_batch_sizes']))}; "
        f"{','.join(map(str, QUICK_TIMING['timing_batch_sizes']))} with --quick)",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=None,
        help=f"untimed documents run first in each mode (default {TIMING['warmup']}; {QUICK_TIMING['warmup']} with --quick)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a first look: time fewer documents at batch 1 only, instead of then also batches of 8 and 32, which take most "
        "of an AR run's time on a CPU (every document is still scored; the timing options above override it)",
    )
    p.add_argument(
        "--ocr",
        default=None,
        metavar="ENGINE",
        help="read the text off each page image with this OCR engine (rapidocr; pip install -e '.[ocr]') instead of the "
        "dataset's words: for datasets with images but no words, or to measure a model on real OCR output",
    )
    p.add_argument("--output-dir", default="results", help="where the results JSON (and samples, cache) go")
    p.add_argument("--log-samples", action="store_true", help="also write samples_*.jsonl: prompt, output, parsed fields, scores")
    p.set_defaults(func=_cmd_evaluate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pip-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pip-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_evaluate(sub)
    _add_train(sub)
    from benchmark.leaderboard import add_commands as add_leaderboard

    add_leaderboard(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    return run_command("pip-bench", args, BenchError)


if __name__ == "__main__":
    sys.exit(main())
